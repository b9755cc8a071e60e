//! Golden files: the journal payload bytes of every command kind and the snapshot of a scripted
//! history, as written by the code that produced them. A journal or snapshot written today must
//! read the same way after any restructuring, so these bytes may only change with a new journal
//! or snapshot version. `GOLDEN_WRITE=1 cargo test -p engine --test golden` rewrites them.

use engine::Engine;
use model::kind;
use model::product::Product;
use model::risk::{AccountAction, Evidence, EvidenceKind, Label, Party, RuleSet, Tie, TieKind, Typology};
use model::{
    ActorId, Amount, Command, CommandId, CommandKind, Currency, Funding, IdentityLevel, Initiator, MerchantCategory,
    MerchantId, MerchantVerification, RepaySource, UserId, WithdrawalPurpose, codec,
};
use std::fmt::Write as _;
use std::path::PathBuf;

const ALICE: UserId = UserId(1);
const BOB: UserId = UserId(2);
const SHOP: MerchantId = MerchantId(10);
const AGENT: MerchantId = MerchantId(11);
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;
/// 2025-06-01 00:00 UTC: the users open seven months before the product applies, so the
/// withdrawal's account-age rule passes.
const OPENED_MS: u64 = 1_748_736_000_000;
/// 2026-01-01 00:00 China time.
const PRODUCT_FROM_MS: u64 = 1_767_196_800_000;

/// Rules that challenge a large withdrawal to the bank and hold a large credit purchase for an
/// analyst (freezing the line), with a shadow rule beside them.
const RULES: &str = r#"
version = 1

[decision]
challenge_at = 40
review_at = 70
deny_at = 100
challenge_ttl_ms = 600000

[[rules]]
id = "large_cash_out"
description = "A large withdrawal to the bank."
applies_to = ["withdraw_to_bank"]
expression = "event.amount_minor >= 20000"
score = 40
reason = "large_cash_out"
status = "active"

[[rules]]
id = "large_credit_purchase"
description = "A large credit purchase, frozen until an analyst decides."
applies_to = ["pay", "authorize"]
expression = "event.credit_minor >= 400000"
score = 70
account_actions = ["freeze_credit"]
reason = "large_credit_purchase"
status = "active"

[[rules]]
id = "round_amount"
description = "A round amount, watched in shadow."
applies_to = ["pay"]
expression = "event.round_amount"
score = 10
reason = "round_amount"
status = "shadow"
"#;

fn amount(minor: u64) -> Amount {
    Amount::new(minor).expect("golden amounts are positive")
}

fn credit(minor: u64) -> Funding {
    Funding { credit_minor: minor, balance_minor: 0 }
}

/// A history that numbers its commands and stamps them a minute apart unless told otherwise.
struct History {
    commands: Vec<Command>,
    time_ms: u64,
}

impl History {
    fn push(&mut self, kind: CommandKind) -> CommandId {
        self.push_from(Initiator::Platform, kind)
    }

    fn push_from(&mut self, initiator: Initiator, kind: CommandKind) -> CommandId {
        let id = CommandId(self.commands.len() as u64 + 1);
        self.time_ms += 60_000;
        self.commands.push(Command { id, time_ms: self.time_ms, actor: ActorId(7), initiator, kind });
        id
    }

    fn at(&mut self, time_ms: u64) {
        assert!(time_ms >= self.time_ms, "a history only moves forward");
        self.time_ms = time_ms;
    }
}

/// Every command kind at least once, in an order under which each is accepted, leaving an open
/// hold, a pending challenge and an open case behind for the snapshot.
fn history() -> Vec<Command> {
    let product: Product = toml::from_str(include_str!("../../../products/huabei.toml")).expect("huabei parses");
    let rules: RuleSet = toml::from_str(RULES).expect("the golden rules parse");
    let mut history = History { commands: Vec::new(), time_ms: OPENED_MS };
    for user in [ALICE, BOB] {
        history.push(CommandKind::OpenUser(kind::OpenUser {
            user,
            currency: Currency::CNY,
            identity: IdentityLevel::Full,
        }));
    }
    for (merchant, category) in [(SHOP, MerchantCategory::PhysicalGoods), (AGENT, MerchantCategory::Other)] {
        history.push(CommandKind::OpenMerchant(kind::OpenMerchant {
            merchant,
            currency: Currency::CNY,
            category,
            verification: MerchantVerification::Certified,
            partner: false,
        }));
    }
    history.at(PRODUCT_FROM_MS - HOUR_MS);
    history.push(CommandKind::InstallProduct(kind::InstallProduct {
        product: Box::new(product),
        effective_at_ms: Some(PRODUCT_FROM_MS),
    }));
    history.at(PRODUCT_FROM_MS + 4 * DAY_MS);
    for user in [ALICE, BOB] {
        history.push(CommandKind::SetCreditLimit(kind::SetCreditLimit { user, limit_minor: 1_000_000 }));
    }
    history.push(CommandKind::SetCreditFrozen(kind::SetCreditFrozen { user: BOB, frozen: true }));
    history.push(CommandKind::SetCreditFrozen(kind::SetCreditFrozen { user: BOB, frozen: false }));
    history.push(CommandKind::TopUp(kind::TopUp { user: ALICE, amount: amount(100_000) }));
    let purchase = history.push(CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: credit(10_000) }));
    let authorization = history.push(CommandKind::Authorize(kind::Authorize {
        user: ALICE,
        merchant: SHOP,
        funding: Funding { credit_minor: 3_000, balance_minor: 2_000 },
        hold_ms: DAY_MS,
    }));
    history.push(CommandKind::Capture(kind::Capture { authorization, merchant: SHOP, amount: amount(5_000) }));
    let released = history.push(CommandKind::Authorize(kind::Authorize {
        user: ALICE,
        merchant: SHOP,
        funding: credit(1_000),
        hold_ms: DAY_MS,
    }));
    history.push(CommandKind::Release(kind::Release { authorization: released, merchant: SHOP }));
    history.push(CommandKind::Refund(kind::Refund { payment: purchase, merchant: SHOP, amount: amount(2_000) }));
    history.push(CommandKind::Transfer(kind::Transfer { from: ALICE, to: BOB, amount: amount(1_000) }));
    history.push(CommandKind::WithdrawToBank(kind::WithdrawToBank { user: BOB, amount: amount(500) }));
    history.push(CommandKind::PayoutMerchant(kind::PayoutMerchant { merchant: SHOP, amount: amount(1_000) }));
    history.push(CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(1_000), source: RepaySource::Balance }));
    let instalment = history.push(CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: credit(30_000) }));
    let plan = history.push(CommandKind::ConvertToInstalments(kind::ConvertToInstalments {
        user: ALICE,
        payment: instalment,
        periods: 3,
    }));
    history.push(CommandKind::PayOffInstalments(kind::PayOffInstalments {
        user: ALICE,
        plan,
        source: RepaySource::Bank,
    }));
    history.push(CommandKind::AdjustScore(kind::AdjustScore { user: ALICE, points: 100 }));
    let withdrawal = history.push(CommandKind::RequestWithdrawal(kind::RequestWithdrawal {
        user: ALICE,
        amount: amount(150_000),
        purpose: WithdrawalPurpose::Travel,
    }));
    history.push(CommandKind::VerifyWithdrawal(kind::VerifyWithdrawal { user: ALICE, withdrawal }));
    history.push(CommandKind::SetScoreFrozen(kind::SetScoreFrozen { user: BOB, frozen: true }));
    history.push(CommandKind::Pay(kind::Pay { user: BOB, merchant: SHOP, funding: credit(50_000) }));
    history.at(PRODUCT_FROM_MS + 31 * DAY_MS + HOUR_MS);
    history.push(CommandKind::Tick);
    history.push(CommandKind::RepayStatement(kind::RepayStatement {
        user: ALICE,
        source: RepaySource::Bank,
        in_full: false,
    }));
    history.push(CommandKind::ConvertStatementToInstalments(kind::ConvertStatementToInstalments {
        user: BOB,
        periods: 6,
    }));
    history.push(CommandKind::ReviewCreditLine(kind::ReviewCreditLine { user: ALICE }));
    let phone = Tie { kind: TieKind::Phone, token: 13_800_000_000 };
    history.push(CommandKind::PayFor(kind::PayFor {
        user: ALICE,
        merchant: SHOP,
        funding: credit(1_000),
        beneficiary: phone,
    }));
    history.push(CommandKind::LinkTie(kind::LinkTie {
        party: Party::User(ALICE),
        tie: Tie { kind: TieKind::Device, token: 1_001 },
    }));
    history.push(CommandKind::LinkTie(kind::LinkTie {
        party: Party::Merchant(SHOP),
        tie: Tie { kind: TieKind::PayoutAccount, token: 6_222 },
    }));
    history.push(CommandKind::InstallRules(kind::InstallRules { rules: Box::new(rules.clone()) }));
    let challenge =
        history.push(CommandKind::WithdrawToBank(kind::WithdrawToBank { user: ALICE, amount: amount(30_000) }));
    history.push(CommandKind::VerifyChallenge(kind::VerifyChallenge { user: ALICE, challenge }));
    let case = history.push(CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: credit(400_000) }));
    history.push(CommandKind::AppealCase(kind::AppealCase {
        case,
        evidence: vec![Evidence { kind: EvidenceKind::Receipt, reference: "R-2026-0042".into() }],
        text: "A sofa for the new flat.".into(),
    }));
    history.push(CommandKind::DecideCase(kind::DecideCase {
        case,
        approve: false,
        label: Label::Fraud(Typology::Other),
    }));
    history.push(CommandKind::LiftAction(kind::LiftAction { user: ALICE, action: AccountAction::FreezeCredit }));
    history.push(CommandKind::GrantMandate(kind::GrantMandate {
        user: ALICE,
        merchant: SHOP,
        per_payment_max_minor: 10_000,
        per_month_max_minor: 50_000,
    }));
    history.push_from(
        Initiator::Merchant,
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: credit(2_000) }),
    );
    history.push(CommandKind::RevokeMandate(kind::RevokeMandate { user: ALICE, merchant: SHOP }));
    history.push(CommandKind::MerchantTransfer(kind::MerchantTransfer {
        merchant: SHOP,
        to: BOB,
        amount: amount(500),
    }));
    history.push(CommandKind::AgentCashOut(kind::AgentCashOut { user: BOB, agent: AGENT, amount: amount(200) }));
    history.push(CommandKind::MerchantToMerchant(kind::MerchantToMerchant {
        merchant: SHOP,
        to: AGENT,
        amount: amount(300),
    }));
    history.push(CommandKind::RecordRefusedAttempt(kind::RecordRefusedAttempt { user: BOB, amount: amount(1_000) }));
    // Left open for the snapshot: a hold, a challenge and a case whose label is still unknown.
    history.push(CommandKind::Authorize(kind::Authorize {
        user: BOB,
        merchant: SHOP,
        funding: credit(1_000),
        hold_ms: DAY_MS,
    }));
    history.push(CommandKind::WithdrawToBank(kind::WithdrawToBank { user: ALICE, amount: amount(25_000) }));
    let open_case = history.push(CommandKind::Pay(kind::Pay { user: BOB, merchant: SHOP, funding: credit(450_000) }));
    history.push(CommandKind::AppealCase(kind::AppealCase {
        case: open_case,
        evidence: Vec::new(),
        text: "Mine.".into(),
    }));
    // Four-eyes: key 7 proposes version 2, key 8 approves it; version 3 is left waiting.
    let newer = |version| Box::new(RuleSet { version, ..rules.clone() });
    let proposal = history.push(CommandKind::ProposeRules(kind::ProposeRules { rules: newer(2) }));
    history.push(CommandKind::ApproveRules(kind::ApproveRules { proposal }));
    history.commands.last_mut().expect("the approval").actor = ActorId(8);
    history.push(CommandKind::ProposeRules(kind::ProposeRules { rules: newer(3) }));
    history.push(CommandKind::AssignCase(kind::AssignCase { case: open_case, to: Some(ActorId(8)) }));
    history.commands
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

/// Compares `actual` with the golden file, or writes it under `GOLDEN_WRITE=1`.
fn check(name: &str, actual: &[u8]) {
    let path = golden(name);
    if std::env::var_os("GOLDEN_WRITE").is_some() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("creates the golden directory");
        std::fs::write(&path, actual).expect("writes the golden file");
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert!(expected == actual, "{name} differs from its golden file; a format change needs a new version");
}

/// The history's commands, one journal payload per line (`position name hex`), and the outcome
/// each got: every command kind appears, and each is accepted.
#[test]
fn journal_payloads_of_every_command_kind_are_unchanged() {
    let commands = history();
    let mut engine = Engine::default();
    let (mut payloads, mut outcomes) = (String::new(), String::new());
    let mut seen = std::collections::BTreeSet::new();
    for (index, command) in commands.iter().enumerate() {
        let mut bytes = Vec::new();
        codec::encode_batch(std::slice::from_ref(command), &mut bytes);
        assert_eq!(codec::decode_batch(&bytes).as_deref(), Ok(std::slice::from_ref(command)));
        let hex = bytes.iter().fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
        writeln!(payloads, "{index} {} {hex}", command.kind.name()).expect("writes to a string");
        seen.insert(command.kind.name());
        let outcome = engine.apply(command, 0, &mut Vec::new());
        writeln!(outcomes, "{index} {} {outcome:?}", command.kind.name()).expect("writes to a string");
    }
    assert_eq!(seen.len(), KINDS, "every command kind appears in the golden history: {seen:?}");
    check("commands.txt", payloads.as_bytes());
    check("outcomes.txt", outcomes.as_bytes());
}

/// How many command kinds there are: the journal encodes a kind by its place, so the byte after
/// the last place must not decode as a kind.
const KINDS: usize = 41;

#[test]
fn no_command_kind_past_the_last_place() {
    // A one-command batch: length 1, id 1, time 0, actor 0, initiator 0, then the kind's place.
    let batch = |place: u8| vec![1, 1, 0, 0, 0, place];
    assert!(codec::decode_batch(&batch(14)).is_ok(), "place 14 is the field-less tick");
    let past = u8::try_from(KINDS).expect("fewer than 128 kinds");
    assert!(codec::decode_batch(&batch(past)).is_err(), "a kind was added: raise KINDS and the golden history");
}

/// The snapshot after the history: the same bytes, and restoring them gives the same state.
#[test]
fn snapshot_of_the_history_is_unchanged() {
    let mut engine = Engine::default();
    engine.apply_batch(&history(), &mut Vec::new(), &mut Vec::new());
    let snapshot = engine.snapshot();
    check("snapshot.bin", &snapshot);
    let restored = Engine::restore(&snapshot).expect("the snapshot restores");
    assert_eq!(restored.state_hash(), engine.state_hash());
    check("state_hash.txt", format!("{:016x}\n", engine.state_hash()).as_bytes());
}
