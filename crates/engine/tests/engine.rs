//! Engine behaviour through its public API: hand-worked scenarios and property tests.

use engine::Engine;
use model::kind;
use model::product::Product;
use model::{
    Accepted, Amount, Command, CommandId, CommandKind, Currency, Funding, IdentityLevel, MerchantCategory, MerchantId,
    MerchantVerification, Outcome, Rejection, RepaySource, UserId,
};
use proptest::prelude::*;

mod risk;

const ALICE: UserId = UserId(1);
const BOB: UserId = UserId(2);
const SHOP: MerchantId = MerchantId(10);
const OTHER_SHOP: MerchantId = MerchantId(11);

/// A test ledger that numbers commands and advances time by one second per command.
struct Ledger {
    engine: Engine,
    next_id: u64,
    time_ms: u64,
    /// Every command applied, in order.
    log: Vec<Command>,
}

fn amount(minor: u64) -> Amount {
    Amount::new(minor).expect("test amounts are positive")
}

fn funding(credit_minor: u64, balance_minor: u64) -> Funding {
    Funding { credit_minor, balance_minor }
}

impl Ledger {
    /// Alice and Bob (CNY, limit 10,000 for Alice), and two merchants.
    fn new() -> Ledger {
        let mut ledger = Ledger { engine: Engine::default(), next_id: 1, time_ms: 1_700_000_000_000, log: Vec::new() };
        for user in [ALICE, BOB] {
            ledger.ok(CommandKind::OpenUser(kind::OpenUser {
                user,
                currency: Currency::CNY,
                identity: IdentityLevel::Full,
            }));
        }
        for merchant in [SHOP, OTHER_SHOP] {
            ledger.ok(CommandKind::OpenMerchant(kind::OpenMerchant {
                merchant,
                currency: Currency::CNY,
                category: MerchantCategory::PhysicalGoods,
                verification: MerchantVerification::Certified,
                partner: false,
            }));
        }
        ledger.ok(CommandKind::SetCreditLimit(kind::SetCreditLimit { user: ALICE, limit_minor: 10_000 }));
        ledger
    }

    fn run(&mut self, kind: CommandKind) -> (CommandId, Outcome) {
        self.run_from(model::Initiator::Platform, kind)
    }

    /// Runs a command sent by `initiator` (a merchant's own key, or the platform).
    fn run_from(&mut self, initiator: model::Initiator, kind: CommandKind) -> (CommandId, Outcome) {
        let id = CommandId(self.next_id);
        self.next_id += 1;
        self.time_ms += 1_000;
        (id, self.run_as_initiated(id, initiator, kind))
    }

    fn run_as(&mut self, id: CommandId, kind: CommandKind) -> Outcome {
        self.run_as_initiated(id, model::Initiator::Platform, kind)
    }

    fn run_as_initiated(&mut self, id: CommandId, initiator: model::Initiator, kind: CommandKind) -> Outcome {
        let mut postings = Vec::new();
        let command =
            Command { actor: model::ActorId::SERVER, initiator, id, time_ms: self.time_ms, kind: kind.clone() };
        let outcome = self.engine.apply(&command, 0, &mut postings);
        self.log.push(command);
        let sum: i64 = postings.iter().map(|posting| posting.amount_minor).sum();
        assert_eq!(sum, 0, "postings of {kind:?} must balance: {postings:?}");
        if outcome.is_err() {
            assert!(postings.is_empty(), "a rejected command posts nothing");
        }
        self.engine.check_invariants().expect("invariants hold after every command");
        outcome
    }

    fn ok(&mut self, kind: CommandKind) -> (CommandId, Accepted) {
        let (id, outcome) = self.run(kind.clone());
        (id, outcome.unwrap_or_else(|rejection| panic!("{kind:?} rejected: {}", rejection.code())))
    }

    fn rejected(&mut self, kind: CommandKind, expected: Rejection) {
        let (id, outcome) = self.run(kind.clone());
        assert_eq!(outcome, Err(expected), "{kind:?}");
        assert_eq!(
            self.engine.first_sequence(id),
            Some(self.engine.commands_applied()),
            "the rejection is remembered for retries"
        );
    }

    /// (credit used, balance) of a user.
    fn position(&self, user: UserId) -> (i64, u64) {
        let user = self.engine.user(user).expect("user is open");
        (user.account.credit_used_minor, user.account.balance_minor)
    }

    fn settlement(&self, merchant: MerchantId) -> u64 {
        self.engine.merchant(merchant).expect("merchant is open").account.settlement_minor
    }
}

#[test]
fn split_payment_then_partial_refunds_restore_credit_first_and_never_into_balance() {
    let mut ledger = Ledger::new();
    ledger.ok(CommandKind::TopUp(kind::TopUp { user: ALICE, amount: amount(500) }));
    let (payment, _) =
        ledger.ok(CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(3_000, 400) }));
    assert_eq!(ledger.position(ALICE), (3_000, 100));
    assert_eq!(ledger.settlement(SHOP), 3_400);
    // A refund of 3,200 goes 3,000 back to the line and only the remaining 200 to the balance.
    let (_, split) = ledger.ok(CommandKind::Refund(kind::Refund { payment, merchant: SHOP, amount: amount(3_200) }));
    assert_eq!(split, Accepted::Split { credit_minor: 3_000, balance_minor: 200 });
    assert_eq!(ledger.position(ALICE), (0, 300));
    ledger.rejected(
        CommandKind::Refund(kind::Refund { payment, merchant: SHOP, amount: amount(201) }),
        Rejection::RefundExceedsCapture,
    );
    ledger.rejected(
        CommandKind::Refund(kind::Refund { payment, merchant: OTHER_SHOP, amount: amount(1) }),
        Rejection::MerchantMismatch,
    );
    ledger.ok(CommandKind::Refund(kind::Refund { payment, merchant: SHOP, amount: amount(200) }));
    assert_eq!(ledger.position(ALICE), (0, 500));
    assert_eq!(ledger.settlement(SHOP), 0);
}

#[test]
fn refund_after_repayment_leaves_a_credit_balance_on_the_line_not_cash() {
    let mut ledger = Ledger::new();
    let (payment, _) =
        ledger.ok(CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(2_000, 0) }));
    ledger.ok(CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(2_000), source: RepaySource::Bank }));
    ledger.ok(CommandKind::Refund(kind::Refund { payment, merchant: SHOP, amount: amount(2_000) }));
    // The line now carries a 2,000 credit balance; the cash balance is untouched.
    assert_eq!(ledger.position(ALICE), (-2_000, 0));
    ledger.rejected(
        CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(1), source: RepaySource::Bank }),
        Rejection::Overpayment,
    );
    ledger.rejected(
        CommandKind::WithdrawToBank(kind::WithdrawToBank { user: ALICE, amount: amount(1) }),
        Rejection::InsufficientBalance,
    );
}

#[test]
fn credit_limit_frozen_and_balance_bounds() {
    let mut ledger = Ledger::new();
    ledger.rejected(
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(10_001, 0) }),
        Rejection::InsufficientCredit,
    );
    ledger.rejected(
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(0, 1) }),
        Rejection::InsufficientBalance,
    );
    ledger.rejected(
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(0, 0) }),
        Rejection::InvalidAmount,
    );
    ledger.rejected(
        CommandKind::Pay(kind::Pay { user: UserId(99), merchant: SHOP, funding: funding(1, 0) }),
        Rejection::UnknownUser,
    );
    ledger.rejected(
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: MerchantId(99), funding: funding(1, 0) }),
        Rejection::UnknownMerchant,
    );
    ledger.ok(CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(10_000, 0) }));
    ledger.rejected(
        CommandKind::SetCreditLimit(kind::SetCreditLimit { user: ALICE, limit_minor: 9_999 }),
        Rejection::LimitBelowUsed,
    );
    ledger.ok(CommandKind::SetCreditLimit(kind::SetCreditLimit { user: ALICE, limit_minor: 20_000 }));
    ledger.ok(CommandKind::SetCreditFrozen(kind::SetCreditFrozen { user: ALICE, frozen: true }));
    ledger.rejected(
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(1, 0) }),
        Rejection::CreditFrozen,
    );
    ledger.ok(CommandKind::SetCreditFrozen(kind::SetCreditFrozen { user: ALICE, frozen: false }));
    ledger.ok(CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(10_000, 0) }));
    assert_eq!(ledger.position(ALICE), (20_000, 0));
}

#[test]
fn authorization_capture_release_and_expiry() {
    let mut ledger = Ledger::new();
    let (hold, _) = ledger.ok(CommandKind::Authorize(kind::Authorize {
        user: ALICE,
        merchant: SHOP,
        funding: funding(6_000, 0),
        hold_ms: 60_000,
    }));
    ledger.rejected(
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(4_001, 0) }),
        Rejection::InsufficientCredit,
    );
    ledger.rejected(
        CommandKind::Capture(kind::Capture { authorization: hold, merchant: SHOP, amount: amount(6_001) }),
        Rejection::CaptureExceedsAuthorization,
    );
    ledger.rejected(
        CommandKind::Capture(kind::Capture { authorization: hold, merchant: OTHER_SHOP, amount: amount(1) }),
        Rejection::MerchantMismatch,
    );
    ledger.ok(CommandKind::Capture(kind::Capture { authorization: hold, merchant: SHOP, amount: amount(5_000) }));
    // Capturing 5,000 of 6,000 releases the other 1,000.
    assert_eq!(ledger.engine.user(ALICE).map(|user| user.account.credit_available_minor()), Some(5_000));
    ledger.rejected(
        CommandKind::Release(kind::Release { authorization: hold, merchant: SHOP }),
        Rejection::UnknownAuthorization,
    );
    ledger.ok(CommandKind::Refund(kind::Refund { payment: hold, merchant: SHOP, amount: amount(5_000) }));

    let (lapsing, _) = ledger.ok(CommandKind::Authorize(kind::Authorize {
        user: ALICE,
        merchant: SHOP,
        funding: funding(1_000, 0),
        hold_ms: 5_000,
    }));
    ledger.time_ms += 10_000;
    ledger.rejected(
        CommandKind::Capture(kind::Capture { authorization: lapsing, merchant: SHOP, amount: amount(1) }),
        Rejection::AuthorizationExpired,
    );
    let (_, expired) = ledger.ok(CommandKind::Tick);
    assert_eq!(expired, Accepted::Ticked { authorizations: 1, statements: 0 });
    assert_eq!(ledger.engine.user(ALICE).map(|user| user.account.credit_available_minor()), Some(10_000));
    for hold_ms in [0, engine::AUTHORIZATION_MAX_MS + 1] {
        ledger.rejected(
            CommandKind::Authorize(kind::Authorize { user: ALICE, merchant: SHOP, funding: funding(1, 0), hold_ms }),
            Rejection::InvalidExpiry,
        );
    }
}

#[test]
fn transfers_withdrawals_payouts_and_repayments_move_money_exactly() {
    let mut ledger = Ledger::new();
    ledger.ok(CommandKind::TopUp(kind::TopUp { user: BOB, amount: amount(1_000) }));
    ledger.ok(CommandKind::Transfer(kind::Transfer { from: BOB, to: ALICE, amount: amount(700) }));
    ledger.rejected(
        CommandKind::Transfer(kind::Transfer { from: BOB, to: ALICE, amount: amount(301) }),
        Rejection::InsufficientBalance,
    );
    ledger.rejected(
        CommandKind::Transfer(kind::Transfer { from: BOB, to: BOB, amount: amount(1) }),
        Rejection::SelfTransfer,
    );
    ledger.ok(CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(900, 0) }));
    ledger.ok(CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(600), source: RepaySource::Balance }));
    assert_eq!(ledger.position(ALICE), (300, 100));
    ledger.ok(CommandKind::WithdrawToBank(kind::WithdrawToBank { user: ALICE, amount: amount(100) }));
    ledger.ok(CommandKind::PayoutMerchant(kind::PayoutMerchant { merchant: SHOP, amount: amount(900) }));
    ledger.rejected(
        CommandKind::PayoutMerchant(kind::PayoutMerchant { merchant: SHOP, amount: amount(1) }),
        Rejection::InsufficientMerchantFunds,
    );
    assert_eq!(ledger.engine.bank_clearing(), &[(Currency::CNY, 1_000 - 100 - 900)]);
}

#[test]
fn retries_return_the_first_outcome_and_a_changed_body_is_refused() {
    let mut ledger = Ledger::new();
    let pay = CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(1_000, 0) });
    let (id, first) = ledger.ok(pay.clone());
    let sequence = ledger.engine.first_sequence(id);
    assert_eq!(ledger.run_as(id, pay), Ok(first));
    assert_eq!(ledger.position(ALICE), (1_000, 0), "a retry moves no money");
    let changed = CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(1_001, 0) });
    assert_eq!(ledger.run_as(id, changed), Err(Rejection::IdempotencyConflict));
    assert_eq!(ledger.position(ALICE), (1_000, 0));
    assert_eq!(ledger.engine.first_sequence(id), sequence, "the conflict leaves the original remembered");
    let payment = ledger.engine.payment(id).map(|payment| payment.captured.credit_minor);
    assert_eq!(payment, Some(1_000), "and its payment untouched");
    // A rejected command's retry returns the same rejection even after the cause is gone.
    let (refused, _) = ledger.run(CommandKind::TopUp(kind::TopUp { user: UserId(77), amount: amount(1) }));
    ledger.ok(CommandKind::OpenUser(kind::OpenUser {
        user: UserId(77),
        currency: Currency::CNY,
        identity: IdentityLevel::Basic,
    }));
    assert_eq!(
        ledger.run_as(refused, CommandKind::TopUp(kind::TopUp { user: UserId(77), amount: amount(1) })),
        Err(Rejection::UnknownUser)
    );
}

#[test]
fn currencies_never_mix() {
    let mut ledger = Ledger::new();
    let usd = Currency::parse("USD").expect("valid code");
    ledger.ok(CommandKind::OpenUser(kind::OpenUser { user: UserId(3), currency: usd, identity: IdentityLevel::Full }));
    ledger.ok(CommandKind::TopUp(kind::TopUp { user: UserId(3), amount: amount(10) }));
    ledger.rejected(
        CommandKind::Transfer(kind::Transfer { from: UserId(3), to: ALICE, amount: amount(1) }),
        Rejection::CurrencyMismatch,
    );
    ledger.rejected(
        CommandKind::Pay(kind::Pay { user: UserId(3), merchant: SHOP, funding: funding(0, 1) }),
        Rejection::CurrencyMismatch,
    );
}

#[test]
fn snapshot_restores_the_identical_state() {
    let mut ledger = Ledger::new();
    ledger.ok(CommandKind::TopUp(kind::TopUp { user: ALICE, amount: amount(50) }));
    ledger.ok(CommandKind::Authorize(kind::Authorize {
        user: ALICE,
        merchant: SHOP,
        funding: funding(10, 5),
        hold_ms: 60_000,
    }));
    let restored = Engine::restore(&ledger.engine.snapshot()).expect("snapshot restores");
    assert_eq!(restored.state_hash(), ledger.engine.state_hash());
    assert!(Engine::restore(&[1, 2, 3]).is_err());
}

proptest! {
    /// A command id applied again is answered from memory when the body is the same, and refused
    /// as a conflict when any part of it differs (the fingerprint tells them apart).
    #[test]
    fn a_reused_id_is_a_retry_exactly_when_the_body_is_the_same(
        (_, _, first) in command_strategy(3),
        (_, _, second) in command_strategy(3),
        same in any::<bool>(),
    ) {
        prop_assume!(!matches!(first, CommandKind::Tick) && !matches!(second, CommandKind::Tick));
        let second = if same { first.clone() } else { second };
        let mut engine = Engine::default();
        let id = CommandId(7);
        let outcome = engine.apply(&Command { actor: model::ActorId::SERVER, initiator: model::Initiator::Platform, id, time_ms: 1_000, kind: first.clone() }, 0, &mut Vec::new());
        let again = engine.apply(&Command { actor: model::ActorId::SERVER, initiator: model::Initiator::Platform, id, time_ms: 2_000, kind: second.clone() }, 0, &mut Vec::new());
        match first == second {
            true => prop_assert_eq!(again, outcome),
            false => prop_assert_eq!(again, Err(Rejection::IdempotencyConflict)),
        }
    }
}

/// A random command over a small id space, so commands collide, conflict and interact.
fn command_strategy(users: u64) -> impl Strategy<Value = (u64, u64, CommandKind)> {
    let user = (0u64..users).prop_map(UserId);
    let merchant = (0u64..3).prop_map(MerchantId);
    let small = 1u64..5_000;
    let kind = prop_oneof![
        (user.clone(), any::<bool>()).prop_map(|(user, usd)| CommandKind::OpenUser(kind::OpenUser {
            user,
            currency: if usd { Currency::parse("USD").expect("valid") } else { Currency::CNY },
            identity: IdentityLevel::Basic
        })),
        merchant.clone().prop_map(|merchant| CommandKind::OpenMerchant(kind::OpenMerchant {
            merchant,
            currency: Currency::CNY,
            category: MerchantCategory::VirtualGoods,
            verification: MerchantVerification::Uncertified,
            partner: false
        })),
        (user.clone(), 0u64..20_000)
            .prop_map(|(user, limit_minor)| CommandKind::SetCreditLimit(kind::SetCreditLimit { user, limit_minor })),
        (user.clone(), any::<bool>())
            .prop_map(|(user, frozen)| CommandKind::SetCreditFrozen(kind::SetCreditFrozen { user, frozen })),
        (user.clone(), small.clone())
            .prop_map(|(user, minor)| CommandKind::TopUp(kind::TopUp { user, amount: amount(minor) })),
        (user.clone(), merchant.clone(), 0u64..4_000, 0u64..2_000)
            .prop_map(|(user, merchant, c, b)| CommandKind::Pay(kind::Pay { user, merchant, funding: funding(c, b) })),
        (user.clone(), merchant.clone(), 0u64..4_000, 0u64..2_000, 1u64..100_000).prop_map(
            |(user, merchant, c, b, ahead)| {
                CommandKind::Authorize(kind::Authorize { user, merchant, funding: funding(c, b), hold_ms: ahead })
            }
        ),
        (0u64..60, merchant.clone(), small.clone()).prop_map(|(id, merchant, minor)| CommandKind::Capture(
            kind::Capture { authorization: CommandId(id), merchant, amount: amount(minor) }
        )),
        (0u64..60, merchant.clone())
            .prop_map(|(id, merchant)| CommandKind::Release(kind::Release { authorization: CommandId(id), merchant })),
        (0u64..60, merchant.clone(), small.clone()).prop_map(|(id, merchant, minor)| CommandKind::Refund(
            kind::Refund { payment: CommandId(id), merchant, amount: amount(minor) }
        )),
        (user.clone(), user.clone(), small.clone())
            .prop_map(|(from, to, minor)| CommandKind::Transfer(kind::Transfer { from, to, amount: amount(minor) })),
        (user.clone(), small.clone()).prop_map(|(user, minor)| CommandKind::WithdrawToBank(kind::WithdrawToBank {
            user,
            amount: amount(minor)
        })),
        (merchant.clone(), small.clone()).prop_map(|(merchant, minor)| CommandKind::PayoutMerchant(
            kind::PayoutMerchant { merchant, amount: amount(minor) }
        )),
        (merchant.clone(), user.clone(), small.clone()).prop_map(|(merchant, to, minor)| {
            CommandKind::MerchantTransfer(kind::MerchantTransfer { merchant, to, amount: amount(minor) })
        }),
        (merchant.clone(), merchant.clone(), small.clone()).prop_map(|(merchant, to, minor)| {
            CommandKind::MerchantToMerchant(kind::MerchantToMerchant { merchant, to, amount: amount(minor) })
        }),
        (user.clone(), merchant, small.clone()).prop_map(|(user, agent, minor)| CommandKind::AgentCashOut(
            kind::AgentCashOut { user, agent, amount: amount(minor) }
        )),
        (user.clone(), small.clone()).prop_map(|(user, minor)| CommandKind::RecordRefusedAttempt(
            kind::RecordRefusedAttempt { user, amount: amount(minor) }
        )),
        (user.clone(), small, any::<bool>()).prop_map(|(user, minor, bank)| CommandKind::Repay(kind::Repay {
            user,
            amount: amount(minor),
            source: if bank { RepaySource::Bank } else { RepaySource::Balance }
        })),
        Just(CommandKind::Tick),
        (user.clone(), 0u64..60, prop::sample::select(vec![3u8, 4, 6, 9, 12])).prop_map(|(user, payment, periods)| {
            CommandKind::ConvertToInstalments(kind::ConvertToInstalments { user, payment: CommandId(payment), periods })
        }),
        (user.clone(), 0u64..60, any::<bool>()).prop_map(|(user, plan, bank)| CommandKind::PayOffInstalments(
            kind::PayOffInstalments {
                user,
                plan: CommandId(plan),
                source: if bank { RepaySource::Bank } else { RepaySource::Balance }
            }
        )),
        (user.clone(), 1u64..200_000).prop_map(|(user, minor)| withdraw(user, minor)),
        (user.clone(), 0u64..60).prop_map(|(user, id)| CommandKind::VerifyWithdrawal(kind::VerifyWithdrawal {
            user,
            withdrawal: CommandId(id)
        })),
        (user.clone(), -100i32..200)
            .prop_map(|(user, points)| CommandKind::AdjustScore(kind::AdjustScore { user, points })),
        (user.clone(), prop::sample::select(vec![3u8, 5, 12])).prop_map(|(user, periods)| {
            CommandKind::ConvertStatementToInstalments(kind::ConvertStatementToInstalments { user, periods })
        }),
        (user.clone(), any::<bool>(), any::<bool>()).prop_map(|(user, in_full, bank)| CommandKind::RepayStatement(
            kind::RepayStatement { user, source: if bank { RepaySource::Bank } else { RepaySource::Balance }, in_full }
        )),
        risk_command_strategy(users),
    ];
    (0u64..60, 0u64..2_000, kind)
}

/// Risk commands: the default rules, ties over a few tokens (so groups form and merge), orders
/// for others, challenges verified, cases decided and appealed, actions lifted.
fn risk_command_strategy(users: u64) -> impl Strategy<Value = CommandKind> {
    use model::risk::{AccountAction, EvidenceKind, Label, Party, Tie, TieKind, Typology};
    let user = (0u64..users).prop_map(UserId);
    let tie = (prop::sample::select(TieKind::ALL.to_vec()), 0u64..4).prop_map(|(kind, token)| Tie { kind, token });
    let party = prop_oneof![
        (0u64..users).prop_map(|id| Party::User(UserId(id))),
        (0u64..3).prop_map(|id| Party::Merchant(MerchantId(id)))
    ];
    let action = prop::sample::select(vec![
        AccountAction::FreezeCredit,
        AccountAction::CutLine,
        AccountAction::LowerScore,
        AccountAction::WatchList,
    ]);
    let rules: model::risk::RuleSet =
        toml::from_str(include_str!("../../../rules/default.toml")).expect("the default rules parse");
    let proposed = rules.clone();
    prop_oneof![
        Just(CommandKind::InstallRules(kind::InstallRules { rules: Box::new(rules) })),
        (party, tie.clone()).prop_map(|(party, tie)| CommandKind::LinkTie(kind::LinkTie { party, tie })),
        (user.clone(), 0u64..3, 0u64..4_000, tie).prop_map(|(user, merchant, credit, beneficiary)| {
            CommandKind::PayFor(kind::PayFor {
                user,
                merchant: MerchantId(merchant),
                funding: funding(credit, 1),
                beneficiary,
            })
        }),
        (user.clone(), 0u64..60).prop_map(|(user, id)| CommandKind::VerifyChallenge(kind::VerifyChallenge {
            user,
            challenge: CommandId(id)
        })),
        (0u64..60, any::<bool>()).prop_map(|(id, approve)| CommandKind::DecideCase(kind::DecideCase {
            case: CommandId(id),
            approve,
            label: if approve { Label::NotFraud } else { Label::Fraud(Typology::Ring) }
        })),
        (0u64..60).prop_map(|id| CommandKind::AppealCase(kind::AppealCase {
            case: CommandId(id),
            evidence: vec![model::risk::Evidence { kind: EvidenceKind::Receipt, reference: "r-1".into() }],
            text: String::new()
        })),
        (user, action).prop_map(|(user, action)| CommandKind::LiftAction(kind::LiftAction { user, action })),
        (4u32..7).prop_map(move |version| CommandKind::ProposeRules(kind::ProposeRules {
            rules: Box::new(model::risk::RuleSet { version, ..proposed.clone() })
        })),
        (0u64..60).prop_map(|id| CommandKind::ApproveRules(kind::ApproveRules { proposal: CommandId(id) })),
        (0u64..60, proptest::option::of(0u32..3)).prop_map(|(id, to)| CommandKind::AssignCase(kind::AssignCase {
            case: CommandId(id),
            to: to.map(model::ActorId)
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Random command sequences never break an invariant, and replaying them (whole, one command
    /// at a time without the batch look-ahead, or from a snapshot taken midway) gives the same
    /// outcomes and state hash.
    #[test]
    fn random_commands_keep_invariants_and_replay_identically(script in proptest::collection::vec(command_strategy(6), 1..300)) {
        let commands: Vec<Command> = script.iter().enumerate().map(|(index, (id, jitter, kind))| Command {
            actor: model::ActorId(*id as u32 % 3),
            initiator: model::Initiator::Platform,
            id: CommandId(*id),
            time_ms: 1_000_000 + index as u64 * 1_000 + jitter,
            kind: kind.clone(),
        }).collect();
        let mut live = Engine::default();
        let (mut outcomes, mut postings) = (Vec::new(), Vec::new());
        let middle = commands.len() / 2;
        live.apply_batch(&commands[..middle], &mut outcomes, &mut postings);
        live.check_invariants().map_err(TestCaseError::fail)?;
        let snapshot = live.snapshot();
        live.apply_batch(&commands[middle..], &mut outcomes, &mut postings);
        live.check_invariants().map_err(TestCaseError::fail)?;
        for index in 0..commands.len() as u32 {
            let sum: i64 = postings.iter().filter(|posting| posting.command_index == index).map(|posting| posting.amount_minor).sum();
            prop_assert_eq!(sum, 0);
        }

        let mut replayed = Engine::default();
        let mut replay_outcomes = Vec::new();
        replayed.apply_batch(&commands, &mut replay_outcomes, &mut Vec::new());
        prop_assert_eq!(&replay_outcomes, &outcomes);
        prop_assert_eq!(replayed.state_hash(), live.state_hash());

        let mut one_by_one = Engine::default();
        let single_outcomes: Vec<_> = commands.iter().map(|command| one_by_one.apply(command, 0, &mut Vec::new())).collect();
        prop_assert_eq!(&single_outcomes, &outcomes);
        prop_assert_eq!(one_by_one.state_hash(), live.state_hash());

        let mut resumed = Engine::restore(&snapshot).map_err(|error| TestCaseError::fail(error.to_string()))?;
        resumed.apply_batch(&commands[middle..], &mut Vec::new(), &mut Vec::new());
        prop_assert_eq!(resumed.state_hash(), live.state_hash());
    }
}

/// What the queries show of the ids the property tests use (users 0..6, merchants 0..3,
/// commands 0..60), apart from what every command moves (time, remembered ids).
fn books(engine: &Engine) -> String {
    let users: Vec<_> = (0..6).map(|id| engine.user(UserId(id))).collect();
    let merchants: Vec<_> = (0..3).map(|id| engine.merchant(MerchantId(id))).collect();
    let records: Vec<_> = (0..60)
        .map(CommandId)
        .map(|id| {
            let case = engine.case(id).map(|case| format!("{case:?}"));
            (engine.payment(id), engine.refunds(id), engine.authorization(id), case, engine.parked(id))
        })
        .collect();
    let platform = (engine.bank_clearing(), engine.fee_income(), engine.products().len(), engine.next_tick_ms());
    let rules = engine.rules().map(|rules| rules.version);
    format!("{users:?}\n{merchants:?}\n{records:?}\n{platform:?}\n{rules:?}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A command refused past the risk screen changes nothing anyone can read and posts
    /// nothing: its handler's check found the refusal before its commit wrote anything. (A
    /// risk decision is left out: a denial may take account actions by design.)
    #[test]
    fn a_refused_command_changes_nothing(script in proptest::collection::vec(command_strategy(6), 1..300)) {
        let mut engine = Engine::default();
        let mut postings = Vec::new();
        let mut refused = 0;
        for (index, (id, jitter, kind)) in script.into_iter().enumerate() {
            let time_ms = 1_000_000 + index as u64 * 1_000 + jitter;
            let command = Command { actor: model::ActorId(1), initiator: model::Initiator::Platform, id: CommandId(id), time_ms, kind };
            let before = books(&engine);
            postings.clear();
            let outcome = engine.apply(&command, 0, &mut postings);
            if outcome.is_err() && engine.last_decision().is_none() {
                refused += 1;
                prop_assert_eq!(&books(&engine), &before, "{:?} refused with {:?} changed the books", command.kind, outcome);
                prop_assert!(postings.is_empty(), "{:?} refused with {:?} posted {:?}", command.kind, outcome, postings);
            }
        }
        prop_assert!(refused > 0 || engine.commands_applied() < 20, "random commands meet refusals");
    }
}

/// The shipped default product (products/huabei.toml).
fn huabei() -> Product {
    let text = include_str!("../../../products/huabei.toml");
    let product: Product = toml::from_str(text).expect("the shipped product parses");
    product.validate().expect("the shipped product is valid");
    product
}

/// Milliseconds of a 2026 date and hour in China time (UTC+8).
fn china_2026(month: u32, day: u32, hour: u64) -> u64 {
    let days_before_month = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334][month as usize - 1];
    let local_day = 20_454 + days_before_month + u64::from(day) - 1;
    local_day * 86_400_000 - 8 * 3_600_000 + hour * 3_600_000
}

impl Ledger {
    /// Alice and a shop under the default product, installed on 2026-01-01 00:00 China time.
    fn with_product() -> Ledger {
        let mut ledger = Ledger::new();
        ledger.time_ms = china_2026(1, 1, 0) - 1_000;
        let effective_at_ms = china_2026(1, 1, 0);
        ledger.ok(CommandKind::InstallProduct(kind::InstallProduct {
            product: Box::new(huabei()),
            effective_at_ms: Some(effective_at_ms),
        }));
        ledger.ok(CommandKind::SetCreditLimit(kind::SetCreditLimit { user: ALICE, limit_minor: 1_000_000 }));
        ledger
    }

    /// Runs a command at a given time.
    fn at(&mut self, time_ms: u64, kind: CommandKind) -> (CommandId, Accepted) {
        self.time_ms = time_ms - 1_000;
        self.ok(kind)
    }

    fn billing(&self, user: UserId) -> engine::Billing {
        self.engine.user(user).expect("user is open").credit.billing.clone()
    }

    fn fee_income(&self) -> i64 {
        self.engine.fee_income().iter().map(|(_, position)| -position).sum()
    }
}

/// A month of purchases and a refund, paid in full before the due date: no charge at all.
///
/// Jan 5 pay ¥300.00, Jan 20 pay ¥200.00, Jan 25 refund ¥50.00 of the first.
/// Feb 1 00:00 the cycle closes: purchases 50,000 − refunds 5,000 = 45,000 fen owed.
/// Minimum = max(floor 10,000, 10 % × 45,000 = 4,500) = 10,000 fen, due by Feb 10 (inclusive).
/// Feb 9 repay 45,000: nothing owed; ticks to Feb 15 charge nothing.
#[test]
fn a_month_of_purchases_repaid_in_full_costs_nothing() {
    let mut ledger = Ledger::with_product();
    let (first, _) = ledger.at(
        china_2026(1, 5, 10),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(30_000, 0) }),
    );
    ledger.at(
        china_2026(1, 20, 10),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(20_000, 0) }),
    );
    ledger.at(
        china_2026(1, 25, 10),
        CommandKind::Refund(kind::Refund { payment: first, merchant: SHOP, amount: amount(5_000) }),
    );
    let (_, ticked) = ledger.at(china_2026(2, 1, 0) + 1_000, CommandKind::Tick);
    assert_eq!(ticked, Accepted::Ticked { authorizations: 0, statements: 1 });

    let statement = ledger.billing(ALICE).statements[0].clone();
    assert_eq!((statement.number, statement.opening_balance_minor, statement.closing_balance_minor), (1, 0, 45_000));
    assert_eq!((statement.activity.purchases_minor, statement.activity.refunds_minor), (50_000, 5_000));
    assert_eq!(statement.minimum_due_minor, 10_000);
    assert_eq!(statement.closed_at_ms, china_2026(2, 1, 0));
    assert_eq!(statement.due_before_ms, china_2026(2, 11, 0), "due on the 10th, inclusive");

    ledger.at(
        china_2026(2, 9, 12),
        CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(45_000), source: RepaySource::Bank }),
    );
    ledger.at(china_2026(2, 15, 0) + 1_000, CommandKind::Tick);
    let billing = ledger.billing(ALICE);
    assert_eq!((billing.owed_minor(), billing.penalties_minor, billing.worst_days_past_due), (0, 0, 0));
    assert_eq!(ledger.fee_income(), 0);
}

/// Nothing paid on a ¥1,234.56 statement: three overdue days cost 3 × ¥0.62.
///
/// A merchant's own charge needs the user's mandate: capped per payment and per calendar month
/// (the month's count starts again in the next month), revocable; the mandate survives a
/// snapshot; the platform's own payments need none.
#[test]
fn merchant_charges_follow_the_mandate_caps_month_by_month() {
    use model::Initiator::Merchant;
    let mut ledger = Ledger::with_product();
    let charge =
        |credit_minor| CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(credit_minor, 0) });
    ledger.time_ms = china_2026(1, 10, 9);
    assert_eq!(ledger.run_from(Merchant, charge(100)).1, Err(Rejection::NoMandate));
    ledger.ok(CommandKind::GrantMandate(kind::GrantMandate {
        user: ALICE,
        merchant: SHOP,
        per_payment_max_minor: 300,
        per_month_max_minor: 500,
    }));
    assert!(ledger.run_from(Merchant, charge(300)).1.is_ok());
    assert_eq!(ledger.run_from(Merchant, charge(301)).1, Err(Rejection::MandateCapExceeded));
    assert!(ledger.run_from(Merchant, charge(200)).1.is_ok());
    assert_eq!(ledger.run_from(Merchant, charge(1)).1, Err(Rejection::MandateCapExceeded), "January's 500 used");
    let restored = Engine::restore(&ledger.engine.snapshot()).expect("restores");
    assert_eq!(restored.state_hash(), ledger.engine.state_hash(), "the mandate and its count are state");
    ledger.time_ms = china_2026(2, 3, 9);
    assert!(ledger.run_from(Merchant, charge(300)).1.is_ok(), "February counts from zero");
    ledger.ok(CommandKind::RevokeMandate(kind::RevokeMandate { user: ALICE, merchant: SHOP }));
    assert_eq!(ledger.run_from(Merchant, charge(1)).1, Err(Rejection::NoMandate));
    ledger.ok(charge(1_000));
    ledger.rejected(
        CommandKind::GrantMandate(kind::GrantMandate {
            user: ALICE,
            merchant: SHOP,
            per_payment_max_minor: 600,
            per_month_max_minor: 500,
        }),
        Rejection::InvalidAmount,
    );
}

/// Bug: once penalties had pushed a late payer's credit used past the limit, a payment from the
/// balance alone was refused `insufficient_credit`: a purchase that touches no credit is not
/// judged by the credit line.
#[test]
fn a_balance_payment_goes_through_when_penalties_put_the_line_past_its_limit() {
    let mut ledger = Ledger::with_product();
    let available = ledger.engine.user(ALICE).map(|user| user.account.credit_available_minor()).expect("alice") as u64;
    ledger.at(
        china_2026(1, 10, 9),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(available, 0) }),
    );
    ledger.at(china_2026(2, 1, 0) + 1_000, CommandKind::Tick);
    ledger.at(china_2026(2, 14, 0) + 1_000, CommandKind::Tick);
    assert!(
        ledger.engine.user(ALICE).map(|user| user.account.credit_available_minor()) < Some(0),
        "penalties past the limit"
    );
    ledger.at(china_2026(2, 14, 1), CommandKind::TopUp(kind::TopUp { user: ALICE, amount: amount(500) }));
    let (_, outcome) = ledger.at(
        china_2026(2, 14, 2),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(0, 500) }),
    );
    assert_eq!(outcome, Accepted::Split { credit_minor: 0, balance_minor: 500 });
    ledger.rejected(
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(1, 0) }),
        Rejection::InsufficientCredit,
    );
}

/// Jan 10 pay 123,456 fen. Feb 1 statement: 123,456 owed, minimum = max(10,000,
/// 10 % × 123,456 = 12,345.6 → 12,346) = 12,346 fen, due by Feb 10.
/// Unpaid at the end of Feb 11, 12 and 13: each day 0.05 % × 123,456 = 61.728 → 62 fen
/// (half up), 186 fen in all, 3 days past due. Feb 14 repay 123,642 = 123,456 + 186:
/// penalties first, then principal; the account is current again, its worst lateness 3 days.
#[test]
fn a_late_repayment_pays_the_daily_penalty_to_the_fen() {
    let mut ledger = Ledger::with_product();
    ledger.at(
        china_2026(1, 10, 9),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(123_456, 0) }),
    );
    ledger.at(china_2026(2, 1, 0) + 1_000, CommandKind::Tick);
    assert_eq!(ledger.billing(ALICE).statements[0].minimum_due_minor, 12_346);

    ledger.at(china_2026(2, 11, 0) + 1_000, CommandKind::Tick);
    assert_eq!(ledger.billing(ALICE).penalties_minor, 0, "the 10th is still on time");
    ledger.at(china_2026(2, 14, 0) + 1_000, CommandKind::Tick);
    let billing = ledger.billing(ALICE);
    assert_eq!((billing.penalties_minor, billing.days_past_due, billing.past_due_principal_minor), (186, 3, 123_456));
    assert_eq!(ledger.position(ALICE).0, 123_642);
    assert_eq!(ledger.fee_income(), 186);

    ledger.at(
        china_2026(2, 14, 10),
        CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(123_642), source: RepaySource::Bank }),
    );
    let billing = ledger.billing(ALICE);
    assert_eq!(
        (billing.owed_minor(), billing.penalties_minor, billing.days_past_due, billing.worst_days_past_due),
        (0, 0, 0, 3)
    );
    ledger.rejected(
        CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(1), source: RepaySource::Bank }),
        Rejection::Overpayment,
    );
}

/// Paying the minimum keeps the account current (no days past due), while the unpaid rest
/// still costs the daily charge.
///
/// Statement of 50,000 fen, minimum 10,000, paid on Feb 10. The 40,000 left become past due
/// on Feb 11: 0.05 % × 40,000 = 20 fen a day for Feb 11–13 = 60 fen; days past due stay 0.
#[test]
fn paying_the_minimum_keeps_the_account_current() {
    let mut ledger = Ledger::with_product();
    ledger.at(
        china_2026(1, 10, 9),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(50_000, 0) }),
    );
    ledger.at(china_2026(2, 1, 0) + 1_000, CommandKind::Tick);
    ledger.at(
        china_2026(2, 10, 20),
        CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(10_000), source: RepaySource::Bank }),
    );
    ledger.at(china_2026(2, 14, 0) + 1_000, CommandKind::Tick);
    let billing = ledger.billing(ALICE);
    assert_eq!((billing.penalties_minor, billing.days_past_due, billing.owed_minor()), (60, 0, 40_060));

    // March's statement carries the rest: 40,000 + 18 days (Feb 11–28) × 20 fen = 40,360;
    // minimum max(10,000, 10 % × 40,360 = 4,036) = 10,000.
    ledger.at(china_2026(3, 1, 0) + 1_000, CommandKind::Tick);
    let march = ledger.billing(ALICE).statements[1].clone();
    assert_eq!((march.number, march.opening_balance_minor, march.minimum_due_minor), (2, 40_360, 10_000));
    assert_eq!(march.activity.penalties_minor, 20 * 18, "Feb 11 to Feb 28, 18 days at 20 fen");
}

#[test]
fn product_versions_only_move_forward() {
    let mut ledger = Ledger::with_product();
    let later = ledger.time_ms + 86_400_000;
    ledger.rejected(
        CommandKind::InstallProduct(kind::InstallProduct { product: Box::new(huabei()), effective_at_ms: Some(later) }),
        Rejection::ProductVersionOrder,
    );
    let mut next = huabei();
    next.version = 2;
    let past = ledger.time_ms - 1;
    ledger.rejected(
        CommandKind::InstallProduct(kind::InstallProduct {
            product: Box::new(next.clone()),
            effective_at_ms: Some(past),
        }),
        Rejection::ProductVersionOrder,
    );
    next.billing.utc_offset_minutes = 0;
    ledger.rejected(
        CommandKind::InstallProduct(kind::InstallProduct {
            product: Box::new(next.clone()),
            effective_at_ms: Some(later),
        }),
        Rejection::InvalidProduct,
    );
    next.billing.utc_offset_minutes = 480;
    next.billing.statement_day = 40;
    ledger.rejected(
        CommandKind::InstallProduct(kind::InstallProduct {
            product: Box::new(next.clone()),
            effective_at_ms: Some(later),
        }),
        Rejection::InvalidProduct,
    );
    next.billing.statement_day = 5;
    ledger.ok(CommandKind::InstallProduct(kind::InstallProduct {
        product: Box::new(next),
        effective_at_ms: Some(later),
    }));
    assert_eq!(ledger.engine.product_at(later).map(|product| product.version), Some(2));
    assert_eq!(ledger.engine.product_at(later - 1).map(|product| product.version), Some(1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A year of random activity under the default product — purchases, refunds, repayments,
    /// holds, ticks across statement and due dates — never creates or loses money, never lets
    /// principal pass the line, keeps the billing buckets equal to what each line owes, and
    /// replays (whole, or from a snapshot taken midway) to the same state.
    #[test]
    fn a_year_of_billing_keeps_invariants_and_replays(
        script in proptest::collection::vec((command_strategy(40), 0u64..3 * 86_400_000), 1..400),
        overpayment in prop::sample::select(vec![
            model::product::Overpayment::Refuse,
            model::product::Overpayment::ReturnToBalance,
            model::product::Overpayment::KeepAsCredit,
        ]),
    ) {
        let start_ms = china_2026(1, 1, 0);
        let mut product = huabei();
        product.billing.overpayment = overpayment;
        let install = CommandKind::InstallProduct(kind::InstallProduct { product: Box::new(product), effective_at_ms: Some(start_ms) });
        let mut commands = vec![Command { actor: model::ActorId::SERVER, initiator: model::Initiator::Platform, id: CommandId(1_000_000), time_ms: start_ms, kind: install }];
        let mut time_ms = start_ms;
        for ((id, _, kind), gap_ms) in script {
            time_ms += gap_ms;
            commands.push(Command { actor: model::ActorId::SERVER, initiator: model::Initiator::Platform, id: CommandId(id), time_ms, kind });
        }
        let mut live = Engine::default();
        let mut snapshot = None;
        for (index, batch) in commands.chunks(16).enumerate() {
            live.apply_batch(batch, &mut Vec::new(), &mut Vec::new());
            live.check_invariants().map_err(TestCaseError::fail)?;
            if index == commands.len() / 32 {
                snapshot = Some(((index + 1) * 16, live.snapshot()));
            }
        }
        let mut replayed = Engine::default();
        replayed.apply_batch(&commands, &mut Vec::new(), &mut Vec::new());
        prop_assert_eq!(replayed.state_hash(), live.state_hash());
        if let Some((applied, bytes)) = snapshot {
            let mut resumed = Engine::restore(&bytes).map_err(|error| TestCaseError::fail(error.to_string()))?;
            resumed.apply_batch(&commands[applied.min(commands.len())..], &mut Vec::new(), &mut Vec::new());
            prop_assert_eq!(resumed.state_hash(), live.state_hash());
        }
    }
}

fn plan_of(ledger: &Ledger) -> Vec<(u64, u64)> {
    let billing = ledger.billing(ALICE);
    let plan = billing.plans.first().expect("a live plan");
    plan.schedule().iter().map(|period| (period.principal_minor, period.fee_minor)).collect()
}

/// ¥6,000.00 in 6 periods at 4.5 %, two periods paid, then paid off early.
///
/// Each period bills 600,000 / 6 = 100,000 fen principal and 4.5 % × 100,000 = 4,500 fen fee:
/// 104,500 a month (¥1,045.00), 27,000 fees over the plan. Feb 1 and Mar 1 statements bill
/// periods 1 and 2 (minimum max(10,000, 10,450) = 10,450), both paid in full. Mar 6 pays the
/// remaining 400,000 off: the four unbilled fees (18,000) lapse; the platform earned 9,000.
#[test]
fn a_six_period_instalment_bills_its_schedule_and_pays_off_early() {
    let mut ledger = Ledger::with_product();
    let (purchase, _) = ledger.at(
        china_2026(1, 5, 10),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(600_000, 0) }),
    );
    let (plan, _) = ledger.at(
        china_2026(1, 6, 10),
        CommandKind::ConvertToInstalments(kind::ConvertToInstalments { user: ALICE, payment: purchase, periods: 6 }),
    );
    assert_eq!(plan_of(&ledger), vec![(100_000, 4_500); 6]);
    ledger.rejected(
        CommandKind::ConvertToInstalments(kind::ConvertToInstalments { user: ALICE, payment: purchase, periods: 6 }),
        Rejection::AlreadyInstalment,
    );
    ledger.rejected(
        CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(1), source: RepaySource::Bank }),
        Rejection::Overpayment,
    );

    ledger.at(china_2026(2, 1, 0) + 1_000, CommandKind::Tick);
    let february = ledger.billing(ALICE).statements[0].clone();
    assert_eq!(
        (february.activity.purchases_minor, february.activity.instalments_minor, february.activity.fees_minor),
        (0, 100_000, 4_500)
    );
    assert_eq!((february.minimum_due_minor, february.closing_balance_minor), (10_450, 604_500));
    ledger.at(
        china_2026(2, 9, 10),
        CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(104_500), source: RepaySource::Bank }),
    );
    ledger.at(china_2026(3, 1, 0) + 1_000, CommandKind::Tick);
    assert_eq!(ledger.billing(ALICE).statements[1].activity.instalments_minor, 100_000);
    ledger.at(
        china_2026(3, 5, 10),
        CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(104_500), source: RepaySource::Bank }),
    );
    assert_eq!(plan_of(&ledger), vec![(100_000, 4_500); 4]);

    ledger.at(
        china_2026(3, 6, 10),
        CommandKind::PayOffInstalments(kind::PayOffInstalments { user: ALICE, plan, source: RepaySource::Bank }),
    );
    let billing = ledger.billing(ALICE);
    assert_eq!((billing.owed_minor(), billing.plans.len()), (0, 0));
    assert_eq!(ledger.fee_income(), 9_000);
    ledger.rejected(
        CommandKind::PayOffInstalments(kind::PayOffInstalments { user: ALICE, plan, source: RepaySource::Bank }),
        Rejection::UnknownInstalmentPlan,
    );
}

/// A partial refund of a 3-period instalment purchase unwinds the unbilled schedule.
///
/// ¥3,000.00 in 3 periods at 2.3 %: 100,000 + 2,300 fee a month. Feb 1 bills period 1. Feb 5
/// the merchant refunds ¥1,500.00: it comes off the plan's unbilled 200,000, leaving 50,000 over
/// the 2 periods left — 25,000 each, fee 2.3 % × 25,000 = 575. Fees over the plan: 2,300 + 2 ×
/// 575 = 3,450 instead of 6,900. Fees already billed stay.
#[test]
fn a_partial_refund_of_an_instalment_purchase_unwinds_its_schedule() {
    let mut ledger = Ledger::with_product();
    let (purchase, _) = ledger.at(
        china_2026(1, 5, 10),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(300_000, 0) }),
    );
    ledger.at(
        china_2026(1, 5, 11),
        CommandKind::ConvertToInstalments(kind::ConvertToInstalments { user: ALICE, payment: purchase, periods: 3 }),
    );
    ledger.rejected(
        CommandKind::ConvertToInstalments(kind::ConvertToInstalments { user: ALICE, payment: purchase, periods: 4 }),
        Rejection::InstalmentPlanNotOffered,
    );
    ledger.at(china_2026(2, 1, 0) + 1_000, CommandKind::Tick);
    ledger.at(
        china_2026(2, 5, 10),
        CommandKind::Refund(kind::Refund { payment: purchase, merchant: SHOP, amount: amount(150_000) }),
    );
    assert_eq!(plan_of(&ledger), vec![(25_000, 575); 2]);
    ledger.at(
        china_2026(2, 8, 10),
        CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(102_300), source: RepaySource::Bank }),
    );
    for (month, due) in [(3, 25_575), (4, 25_575)] {
        ledger.at(china_2026(month, 1, 0) + 1_000, CommandKind::Tick);
        ledger.at(
            china_2026(month, 5, 10),
            CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(due), source: RepaySource::Bank }),
        );
    }
    let billing = ledger.billing(ALICE);
    assert_eq!((billing.owed_minor(), billing.plans.len(), billing.worst_days_past_due), (0, 0, 0));
    assert_eq!(ledger.fee_income(), 3_450);
    // A purchase already on a statement no longer converts.
    let (late, _) = ledger.at(
        china_2026(4, 10, 10),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(1_000, 0) }),
    );
    ledger.at(china_2026(5, 1, 0) + 1_000, CommandKind::Tick);
    ledger.rejected(
        CommandKind::ConvertToInstalments(kind::ConvertToInstalments { user: ALICE, payment: late, periods: 3 }),
        Rejection::PaymentAlreadyBilled,
    );
}

fn withdraw(user: UserId, minor: u64) -> CommandKind {
    CommandKind::RequestWithdrawal(kind::RequestWithdrawal {
        user,
        amount: amount(minor),
        purpose: model::WithdrawalPurpose::DailyExpenses,
    })
}

/// The official withdrawal under the default product: refused by each rule in turn, then
/// granted (small at once, large after a step-up verification), and billed like purchases.
///
/// Rules: score ≥ 650, identity full, account ≥ 180 days, never late in 12 months; caps ¥5,000 a
/// withdrawal, ¥10,000 a day, ¥20,000 a month and 30 % of the line a month; fee 1 %; step-up from
/// ¥1,000; a challenge lives 5 minutes. Alice (opened in 2023) scores 600 at opening and 660
/// (600 + 60 for tenure) once rescored.
#[test]
fn withdrawal_is_refused_by_each_rule_then_granted_and_billed() {
    let mut ledger = Ledger::with_product();
    let jan = |day: u32, hour: u64| china_2026(1, day, hour);
    ledger.time_ms = jan(2, 9);
    ledger.rejected(withdraw(ALICE, 50_000), Rejection::WithdrawalScoreTooLow);
    ledger.ok(CommandKind::AdjustScore(kind::AdjustScore { user: ALICE, points: 0 }));
    assert_eq!(ledger.engine.user(ALICE).map(|user| user.credit.score.score), Some(660));
    let carol = UserId(3);
    ledger.ok(CommandKind::OpenUser(kind::OpenUser {
        user: carol,
        currency: Currency::CNY,
        identity: IdentityLevel::Basic,
    }));
    ledger.rejected(withdraw(carol, 50_000), Rejection::WithdrawalIdentity);
    let dave = UserId(4);
    ledger.ok(CommandKind::OpenUser(kind::OpenUser {
        user: dave,
        currency: Currency::CNY,
        identity: IdentityLevel::Full,
    }));
    ledger.rejected(withdraw(dave, 50_000), Rejection::WithdrawalAccountTooNew);
    ledger.ok(CommandKind::SetCreditFrozen(kind::SetCreditFrozen { user: ALICE, frozen: true }));
    ledger.rejected(withdraw(ALICE, 50_000), Rejection::CreditFrozen);
    ledger.ok(CommandKind::SetCreditFrozen(kind::SetCreditFrozen { user: ALICE, frozen: false }));
    ledger.rejected(withdraw(ALICE, 500_001), Rejection::WithdrawalTransactionCap);
    // The line is ¥10,000, so at most ¥3,000 a month may be withdrawn.
    ledger.rejected(withdraw(ALICE, 300_001), Rejection::WithdrawalShareCap);

    // ¥500 lands at once; the ¥5 fee goes on the line.
    let (_, small) = ledger.ok(withdraw(ALICE, 50_000));
    assert_eq!(small, Accepted::Withdrawn { amount_minor: 50_000, fee_minor: 500 });
    assert_eq!(ledger.position(ALICE), (50_500, 50_000));
    // ¥2,000 waits for the step-up: ¥2,020 is held meanwhile.
    let (challenge, held) = ledger.ok(withdraw(ALICE, 200_000));
    assert_eq!(held, Accepted::Challenged { expires_at_ms: ledger.time_ms + 300_000 });
    assert_eq!(ledger.engine.user(ALICE).map(|user| user.account.credit_held_minor), Some(202_000));
    ledger.rejected(withdraw(ALICE, 10_000), Rejection::WithdrawalPending);
    let (_, verified) =
        ledger.ok(CommandKind::VerifyWithdrawal(kind::VerifyWithdrawal { user: ALICE, withdrawal: challenge }));
    assert_eq!(verified, Accepted::Withdrawn { amount_minor: 200_000, fee_minor: 2_000 });
    ledger.rejected(withdraw(ALICE, 60_000), Rejection::WithdrawalShareCap);

    // A challenge nobody verifies lapses and releases its hold.
    ledger.ok(CommandKind::SetCreditLimit(kind::SetCreditLimit { user: ALICE, limit_minor: 10_000_000 }));
    let (lapsing, _) = ledger.ok(withdraw(ALICE, 100_000));
    ledger.time_ms += 301_000;
    ledger.ok(CommandKind::Tick);
    assert_eq!(ledger.engine.user(ALICE).map(|user| user.account.credit_held_minor), Some(0));
    ledger.rejected(
        CommandKind::VerifyWithdrawal(kind::VerifyWithdrawal { user: ALICE, withdrawal: lapsing }),
        Rejection::UnknownChallenge,
    );

    // Daily cap: ¥2,500 + ¥5,000 today, then ¥3,000 more would pass ¥10,000.
    let (big, _) = ledger.ok(withdraw(ALICE, 500_000));
    ledger.ok(CommandKind::VerifyWithdrawal(kind::VerifyWithdrawal { user: ALICE, withdrawal: big }));
    ledger.rejected(withdraw(ALICE, 300_000), Rejection::WithdrawalDailyCap);
    // Monthly cap: the next day ¥5,000 twice (the day's cap, exactly) reaches ¥17,500 for the
    // month; the day after, ¥3,000 more would pass ¥20,000.
    ledger.time_ms = jan(3, 9);
    for _ in 0..2 {
        let (next, _) = ledger.ok(withdraw(ALICE, 500_000));
        ledger.ok(CommandKind::VerifyWithdrawal(kind::VerifyWithdrawal { user: ALICE, withdrawal: next }));
    }
    ledger.time_ms = jan(4, 9);
    ledger.rejected(withdraw(ALICE, 300_000), Rejection::WithdrawalMonthlyCap);
    // In the "excellent" band the caps are half as much again: ¥7,500 at once.
    ledger.ok(CommandKind::AdjustScore(kind::AdjustScore { user: BOB, points: 200 }));
    ledger.ok(CommandKind::SetCreditLimit(kind::SetCreditLimit { user: BOB, limit_minor: 10_000_000 }));
    ledger.rejected(withdraw(BOB, 750_001), Rejection::WithdrawalTransactionCap);
    let (_, excellent) = ledger.ok(withdraw(BOB, 750_000));
    assert_eq!(excellent, Accepted::Challenged { expires_at_ms: ledger.time_ms + 300_000 });

    // Feb 1: the statement shows ¥17,500 of withdrawals and ¥175 of fees, repaid like purchases.
    ledger.at(china_2026(2, 1, 0) + 1_000, CommandKind::Tick);
    let statement = ledger.billing(ALICE).statements[0].clone();
    assert_eq!((statement.activity.withdrawals_minor, statement.activity.fees_minor), (1_750_000, 17_500));
    assert_eq!(statement.closing_balance_minor, 1_767_500);
    assert_eq!(ledger.fee_income(), 17_500);
}

/// Lateness in the last twelve months refuses withdrawal, whatever the score.
#[test]
fn withdrawal_is_refused_after_lateness() {
    let mut ledger = Ledger::with_product();
    ledger.ok(CommandKind::SetCreditLimit(kind::SetCreditLimit { user: BOB, limit_minor: 1_000_000 }));
    ledger.at(
        china_2026(1, 10, 9),
        CommandKind::Pay(kind::Pay { user: BOB, merchant: SHOP, funding: funding(50_000, 0) }),
    );
    ledger.at(china_2026(2, 13, 0) + 1_000, CommandKind::Tick);
    ledger.at(
        china_2026(2, 13, 10),
        CommandKind::Repay(kind::Repay { user: BOB, amount: amount(50_050), source: RepaySource::Bank }),
    );
    ledger.ok(CommandKind::AdjustScore(kind::AdjustScore { user: BOB, points: 100 }));
    let bob = ledger.engine.user(BOB).expect("open");
    assert_eq!((bob.credit.billing.days_past_due, bob.credit.billing.worst_days_past_due), (0, 2));
    assert!(
        bob.credit.score.score >= 650,
        "score {} with reasons {:?}",
        bob.credit.score.score,
        bob.credit.score.history.last()
    );
    ledger.rejected(withdraw(BOB, 10_000), Rejection::WithdrawalPastDue);
}

/// Paying the bill: the minimum first, then the rest in full; nothing is left to pay after.
///
/// Statement 45,000 (Jan purchases), minimum 10,000. Pay the minimum: 10,000. Pay in full:
/// the remaining 35,000. Asking again: nothing is due.
#[test]
fn repaying_the_statement_pays_the_minimum_or_the_whole_bill() {
    let mut ledger = Ledger::with_product();
    ledger.rejected(
        CommandKind::RepayStatement(kind::RepayStatement { user: ALICE, source: RepaySource::Bank, in_full: true }),
        Rejection::NothingDue,
    );
    ledger.at(
        china_2026(1, 5, 10),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(45_000, 0) }),
    );
    ledger.at(china_2026(2, 1, 0) + 1_000, CommandKind::Tick);
    ledger.at(
        china_2026(2, 2, 10),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(7_000, 0) }),
    );
    let (_, minimum) = ledger.at(
        china_2026(2, 3, 10),
        CommandKind::RepayStatement(kind::RepayStatement { user: ALICE, source: RepaySource::Bank, in_full: false }),
    );
    assert_eq!(minimum, Accepted::Repaid { amount_minor: 10_000 });
    ledger.rejected(
        CommandKind::RepayStatement(kind::RepayStatement { user: ALICE, source: RepaySource::Bank, in_full: false }),
        Rejection::NothingDue,
    );
    let (_, rest) = ledger.at(
        china_2026(2, 4, 10),
        CommandKind::RepayStatement(kind::RepayStatement { user: ALICE, source: RepaySource::Bank, in_full: true }),
    );
    assert_eq!(rest, Accepted::Repaid { amount_minor: 35_000 });
    let billing = ledger.billing(ALICE);
    assert_eq!((billing.billed_minor(), billing.owed_minor()), (0, 7_000), "February's purchase is not billed yet");
}

/// The product decides what a repayment above the debt does: refused, returned to the balance,
/// or kept on the line as a credit balance.
#[test]
fn overpayment_follows_the_product_rule() {
    for (rule, expected) in [
        (model::product::Overpayment::Refuse, None),
        (model::product::Overpayment::ReturnToBalance, Some((0, 4_000))),
        (model::product::Overpayment::KeepAsCredit, Some((-4_000, 0))),
    ] {
        let mut ledger = Ledger::new();
        let mut product = huabei();
        product.billing.overpayment = rule;
        let effective_at_ms = ledger.time_ms + 1_000;
        ledger.ok(CommandKind::InstallProduct(kind::InstallProduct {
            product: Box::new(product),
            effective_at_ms: Some(effective_at_ms),
        }));
        ledger.ok(CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(6_000, 0) }));
        let repay = CommandKind::Repay(kind::Repay { user: ALICE, amount: amount(10_000), source: RepaySource::Bank });
        match expected {
            None => ledger.rejected(repay, Rejection::Overpayment),
            Some(position) => {
                let (_, outcome) = ledger.ok(repay);
                let applied = if rule == model::product::Overpayment::KeepAsCredit { 10_000 } else { 6_000 };
                assert_eq!(outcome, Accepted::Repaid { amount_minor: applied });
                assert_eq!(ledger.position(ALICE), position, "{rule:?}: (credit used, balance)");
            }
        }
    }
}

/// A statement converted into 3 instalments (账单分期) before its due date: nothing is overdue,
/// and the next statements bill 100,000 + 2.3 % × 100,000 = 102,300 fen each.
#[test]
fn a_statement_converted_into_instalments_is_billed_by_period() {
    let mut ledger = Ledger::with_product();
    ledger.at(
        china_2026(1, 5, 10),
        CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(300_000, 0) }),
    );
    ledger.at(china_2026(2, 1, 0) + 1_000, CommandKind::Tick);
    let (plan, _) = ledger.at(
        china_2026(2, 3, 10),
        CommandKind::ConvertStatementToInstalments(kind::ConvertStatementToInstalments { user: ALICE, periods: 3 }),
    );
    ledger.rejected(
        CommandKind::ConvertStatementToInstalments(kind::ConvertStatementToInstalments { user: ALICE, periods: 3 }),
        Rejection::NothingToConvert,
    );
    ledger.at(china_2026(2, 20, 0) + 1_000, CommandKind::Tick);
    let billing = ledger.billing(ALICE);
    assert_eq!((billing.penalties_minor, billing.days_past_due, billing.plans[0].id), (0, 0, plan));
    for month in [3, 4, 5] {
        ledger.at(china_2026(month, 1, 0) + 1_000, CommandKind::Tick);
        let statement = ledger.billing(ALICE).statements.last().cloned().expect("a statement");
        assert_eq!(
            (statement.activity.instalments_minor, statement.activity.fees_minor),
            (100_000, 2_300),
            "month {month}"
        );
        ledger.at(
            china_2026(month, 5, 10),
            CommandKind::RepayStatement(kind::RepayStatement { user: ALICE, source: RepaySource::Bank, in_full: true }),
        );
    }
    assert_eq!((ledger.billing(ALICE).owed_minor(), ledger.fee_income()), (0, 6_900));
}

/// Line reviews: no raise before three on-time statements; then +20 % up to the band's maximum;
/// a score that falls into a lower band cuts the line to that band's maximum, never below what
/// is used.
#[test]
fn line_reviews_follow_the_score_band_and_the_repayment_record() {
    let mut ledger = Ledger::with_product();
    ledger.ok(CommandKind::AdjustScore(kind::AdjustScore { user: ALICE, points: 0 }));
    let review = CommandKind::ReviewCreditLine(kind::ReviewCreditLine { user: ALICE });
    assert_eq!(ledger.ok(review.clone()).1, Accepted::LineReviewed { from_minor: 1_000_000, to_minor: 1_000_000 });
    for month in [1, 2, 3] {
        ledger.at(
            china_2026(month, 5, 10),
            CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(10_000, 0) }),
        );
        ledger.at(china_2026(month + 1, 1, 0) + 1_000, CommandKind::Tick);
        ledger.at(
            china_2026(month + 1, 5, 10),
            CommandKind::RepayStatement(kind::RepayStatement { user: ALICE, source: RepaySource::Bank, in_full: true }),
        );
    }
    ledger.at(china_2026(4, 12, 0) + 1_000, CommandKind::Tick);
    assert_eq!(ledger.billing(ALICE).on_time_statements, 3);
    assert_eq!(ledger.ok(review.clone()).1, Accepted::LineReviewed { from_minor: 1_000_000, to_minor: 1_200_000 });
    // Alice owes ¥800 when her score drops into the "poor" band (at most ¥500): cut to ¥800.
    ledger.ok(CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(80_000, 0) }));
    ledger.ok(CommandKind::AdjustScore(kind::AdjustScore { user: ALICE, points: -300 }));
    assert_eq!(ledger.engine.user(ALICE).map(|user| product_band(&user.credit.score)), Some("poor".to_owned()));
    assert_eq!(ledger.ok(review).1, Accepted::LineReviewed { from_minor: 1_200_000, to_minor: 80_000 });
}

fn product_band(score: &engine::score::CreditScore) -> String {
    huabei().band(score.score).name.clone()
}
