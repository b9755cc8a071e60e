//! The risk engine through the public API: per typology, a scripted abuse sequence that must be
//! stopped (with its decision and reason code) next to an honest look-alike that must pass;
//! challenges, cases, appeals and account actions; rule reloads, shadow rules and replay.

use super::{ALICE, BOB, Ledger, SHOP, amount, funding};
use engine::Engine;
use model::kind;
use model::risk::catalog;
use model::risk::{
    AccountAction, CaseStatus, DecisionKind, EventKind, Evidence, EvidenceKind, Label, Party, RuleSet, RuleStatus, Tie,
    TieKind, Typology,
};
use model::{
    Accepted, Command, CommandId, CommandKind, Currency, IdentityLevel, MerchantCategory, MerchantId,
    MerchantVerification, Outcome, Rejection, UserId,
};

const DEFAULT_RULES: &str = include_str!("../../../../rules/default.toml");
const GIFT_CARDS: MerchantId = MerchantId(20);
const RECHARGE: MerchantId = MerchantId(21);
const SMALL_SHOP: MerchantId = MerchantId(22);
const SCHOOL: MerchantId = MerchantId(23);
const HOUR_MS: u64 = 60 * 60 * 1000;
const DAY_MS: u64 = 24 * HOUR_MS;

fn default_rules() -> RuleSet {
    toml::from_str(DEFAULT_RULES).expect("the default rule pack parses")
}

fn tie(kind: TieKind, token: u64) -> Tie {
    Tie { kind, token }
}

impl Ledger {
    /// The base ledger with the default rules, limits of ¥10,000 and risk-relevant merchants.
    fn with_rules() -> Ledger {
        let mut ledger = Ledger::new();
        ledger.ok(CommandKind::InstallRules(kind::InstallRules { rules: Box::new(default_rules()) }));
        for user in [ALICE, BOB] {
            ledger.ok(CommandKind::SetCreditLimit(kind::SetCreditLimit { user, limit_minor: 1_000_000 }));
            ledger.link(Party::User(user), tie(TieKind::Device, 1_000 + user.0));
        }
        for (merchant, category, verification) in [
            (GIFT_CARDS, MerchantCategory::VirtualGoods, MerchantVerification::Certified),
            (RECHARGE, MerchantCategory::Recharge, MerchantVerification::Certified),
            (SMALL_SHOP, MerchantCategory::Other, MerchantVerification::Uncertified),
            (SCHOOL, MerchantCategory::Tuition, MerchantVerification::Certified),
        ] {
            ledger.open_merchant(merchant, category, verification);
        }
        // Alice and Bob are established customers when a scenario starts, not accounts opened
        // the same day (which `e_takeover_drain_to_new_account` and `e_mule_cash_out` read).
        ledger.wait(30 * DAY_MS);
        ledger
    }

    fn open_merchant(&mut self, merchant: MerchantId, category: MerchantCategory, verification: MerchantVerification) {
        let currency = Currency::CNY;
        self.ok(CommandKind::OpenMerchant(kind::OpenMerchant {
            merchant,
            currency,
            category,
            verification,
            partner: false,
        }));
    }

    /// Opens a user with a credit limit and a balance.
    fn open_user(&mut self, user: UserId, limit_minor: u64, balance_minor: u64) {
        self.ok(CommandKind::OpenUser(kind::OpenUser { user, currency: Currency::CNY, identity: IdentityLevel::Full }));
        self.ok(CommandKind::SetCreditLimit(kind::SetCreditLimit { user, limit_minor }));
        if balance_minor > 0 {
            self.ok(CommandKind::TopUp(kind::TopUp { user, amount: amount(balance_minor) }));
        }
    }

    fn link(&mut self, party: Party, tie: Tie) {
        self.ok(CommandKind::LinkTie(kind::LinkTie { party, tie }));
    }

    fn pay(&mut self, user: UserId, merchant: MerchantId, credit_minor: u64) -> (CommandId, Outcome) {
        self.run(CommandKind::Pay(kind::Pay { user, merchant, funding: funding(credit_minor, 0) }))
    }

    fn wait(&mut self, ms: u64) {
        self.time_ms += ms;
    }

    /// The decision on the last command, which must have been scored.
    fn decision(&self) -> (DecisionKind, Vec<String>) {
        let decision = self.engine.last_decision().expect("the last command was scored");
        (decision.kind, decision.reasons.clone())
    }

    #[track_caller]
    fn expect_decision(&self, kind: DecisionKind, reason: &str) {
        let (decided, reasons) = self.decision();
        assert_eq!(decided, kind, "reasons {reasons:?}");
        match reason {
            "" => assert!(reasons.is_empty(), "no reason expected, got {reasons:?}"),
            reason => assert!(reasons.iter().any(|given| given == reason), "{reason} not in {reasons:?}"),
        }
    }
}

// a. Buy-then-refund cycling.

fn buy_and_refund_fast(ledger: &mut Ledger, user: UserId, merchant: MerchantId, credit_minor: u64) {
    let (payment, outcome) = ledger.pay(user, merchant, credit_minor);
    assert!(outcome.is_ok(), "{outcome:?}");
    ledger.wait(HOUR_MS);
    ledger.ok(CommandKind::Refund(kind::Refund { payment, merchant, amount: amount(credit_minor) }));
}

/// Two rounds of gift-card cycling by a user who also returned a parcel the slow way (so the
/// early step-up, which wants every refund fast and cash-like, stays silent).
fn cycle_twice_among_returns(ledger: &mut Ledger) {
    let (parcel, _) = ledger.pay(ALICE, SHOP, 100_000);
    ledger.wait(3 * DAY_MS);
    ledger.ok(CommandKind::Refund(kind::Refund { payment: parcel, merchant: SHOP, amount: amount(100_000) }));
    buy_and_refund_fast(ledger, ALICE, GIFT_CARDS, 200_000);
    buy_and_refund_fast(ledger, ALICE, GIFT_CARDS, 200_000);
}

#[test]
fn a_second_round_of_cycling_is_stepped_up() {
    let mut ledger = Ledger::with_rules();
    buy_and_refund_fast(&mut ledger, ALICE, GIFT_CARDS, 200_000);
    // Every refund so far was a gift card returned within the hour, and it is all they spent.
    let (challenge, outcome) = ledger.pay(ALICE, GIFT_CARDS, 200_000);
    assert!(matches!(outcome, Ok(Accepted::Challenged { .. })), "{outcome:?}");
    ledger.expect_decision(DecisionKind::Challenge, "refund_cycling");
    assert!(ledger.engine.user(ALICE).unwrap().risk.watchlisted());
    assert!(ledger.engine.parked(challenge).is_some(), "the purchase waits for step-up verification");
}

#[test]
fn refund_cycling_is_held_then_denied() {
    let mut ledger = Ledger::with_rules();
    cycle_twice_among_returns(&mut ledger);
    let (case, outcome) = ledger.pay(ALICE, GIFT_CARDS, 200_000);
    assert_eq!(outcome, Ok(Accepted::HeldForReview { case }));
    ledger.expect_decision(DecisionKind::Review, "refund_cycling");
    let readings = &ledger.engine.last_decision().unwrap().readings;
    assert!(readings.iter().any(|reading| reading.feature == "user.fast_liquid_refunds_30d" && reading.value == "2"));
    assert!(ledger.engine.user(ALICE).unwrap().risk.watchlisted());
    assert_eq!(ledger.engine.user(ALICE).unwrap().account.credit_held_minor, 200_000, "the payment is held, not taken");
    // The analyst rejects it as cycling: the hold is released and the label kept.
    ledger.ok(CommandKind::DecideCase(kind::DecideCase {
        case,
        approve: false,
        label: Label::Fraud(Typology::RefundCycling),
    }));
    assert_eq!(ledger.engine.user(ALICE).unwrap().account.credit_held_minor, 0);
    assert_eq!(ledger.engine.case(case).unwrap().label, Some(Label::Fraud(Typology::RefundCycling)));
    // The next attempt meets both the pattern and the watch-list: refused.
    let (_, outcome) = ledger.pay(ALICE, GIFT_CARDS, 100_000);
    assert_eq!(outcome, Err(Rejection::RiskDenied));
    ledger.expect_decision(DecisionKind::Deny, "refund_cycling");
    let fired: Vec<String> =
        ledger.engine.last_decision().unwrap().fired.iter().map(|rule| rule.rule.clone()).collect();
    assert!(fired.contains(&"a_refund_cycling_watchlisted".to_owned()), "{fired:?}");
}

/// A user watched for refund cycling who turns to other goods is stepped up on a large draw of
/// their credit line; the same purchase by someone not watched passes.
#[test]
fn a_watched_cycler_turning_to_other_goods_is_stepped_up_on_a_large_draw() {
    let mut ledger = Ledger::with_rules();
    buy_and_refund_fast(&mut ledger, ALICE, GIFT_CARDS, 200_000);
    ledger.pay(ALICE, GIFT_CARDS, 200_000).1.unwrap();
    assert!(ledger.engine.user(ALICE).unwrap().risk.watchlisted(), "watched for cycling");
    ledger.wait(DAY_MS);
    for user in [ALICE, BOB] {
        let (_, outcome) = ledger.pay(user, SHOP, 600_000);
        let decision = ledger.decision();
        match user == ALICE {
            true => assert_eq!(decision, (DecisionKind::Challenge, vec!["refund_cycling".to_owned()]), "{outcome:?}"),
            false => assert_eq!(decision.0, DecisionKind::Allow, "{outcome:?} {decision:?}"),
        }
    }
}

/// A cycler who waits two days before each refund is still caught: a gift card is rarely
/// returned at all, however late. Parcels returned as slowly, then one gift card bought, pass.
#[test]
fn slow_gift_card_refunds_are_cycling_but_slow_parcel_returns_are_not() {
    let rounds = |merchant: MerchantId| {
        let mut ledger = Ledger::with_rules();
        let mut decisions = Vec::new();
        for _ in 0..3 {
            let (payment, outcome) = ledger.pay(ALICE, merchant, 200_000);
            decisions.push(ledger.decision().0);
            if outcome.is_ok_and(|accepted| matches!(accepted, Accepted::Split { .. })) {
                ledger.wait(2 * DAY_MS);
                ledger.ok(CommandKind::Refund(kind::Refund { payment, merchant, amount: amount(200_000) }));
            }
        }
        let _then = ledger.pay(ALICE, GIFT_CARDS, 100_000);
        decisions.push(ledger.decision().0);
        decisions
    };
    use DecisionKind::{Allow, Challenge, Deny};
    assert_eq!(rounds(GIFT_CARDS), [Allow, Challenge, Deny, Deny], "stepped up at the second round");
    assert_eq!(rounds(SHOP), [Allow, Allow, Allow, Allow]);
}

#[test]
fn a_genuine_refund_does_not_look_like_cycling() {
    let mut ledger = Ledger::with_rules();
    // A slow refund of physical goods, then one quick refund of a wrong gift card.
    let (payment, _) = ledger.pay(ALICE, SHOP, 300_000);
    ledger.wait(3 * DAY_MS);
    ledger.ok(CommandKind::Refund(kind::Refund { payment, merchant: SHOP, amount: amount(300_000) }));
    buy_and_refund_fast(&mut ledger, ALICE, GIFT_CARDS, 50_000);
    let (_, outcome) = ledger.pay(ALICE, GIFT_CARDS, 50_000);
    assert!(matches!(outcome, Ok(Accepted::Split { .. })), "{outcome:?}");
    ledger.expect_decision(DecisionKind::Allow, "");
}

// b. Colluding merchant.

const COLLUDER: MerchantId = MerchantId(30);
const CARL: UserId = UserId(30);

/// Carl owns an uncertified shop: its payout account is Carl's bank card.
fn carl_owns_the_colluder(ledger: &mut Ledger) {
    ledger.open_merchant(COLLUDER, MerchantCategory::PhysicalGoods, MerchantVerification::Uncertified);
    ledger.open_user(CARL, 0, 1_000_000);
    ledger.link(Party::User(CARL), tie(TieKind::BankCard, 77));
    ledger.link(Party::Merchant(COLLUDER), tie(TieKind::BankCard, 77));
}

#[test]
fn money_back_from_a_colluding_merchant_is_denied() {
    let mut ledger = Ledger::with_rules();
    carl_owns_the_colluder(&mut ledger);
    let (_, outcome) = ledger.pay(ALICE, COLLUDER, 300_000);
    assert!(outcome.is_ok(), "nothing ties Alice to the shop yet: {outcome:?}");
    ledger.wait(DAY_MS);
    let (_, outcome) =
        ledger.run(CommandKind::Transfer(kind::Transfer { from: CARL, to: ALICE, amount: amount(280_000) }));
    assert_eq!(outcome, Err(Rejection::RiskDenied));
    ledger.expect_decision(DecisionKind::Deny, "merchant_money_back");
    assert_eq!(ledger.engine.user(ALICE).unwrap().account.balance_minor, 0, "no cash reached the payer");
    // The payee's freeze does not lapse: the beneficiary of a cash-out is not its victim.
    let alice = ledger.engine.user(ALICE).unwrap();
    assert!(alice.account.credit_frozen);
    let freeze = alice.risk.actions_in_force().find(|(action, _)| *action == AccountAction::FreezeCredit);
    assert_eq!(freeze, Some((AccountAction::FreezeCredit, None)), "kept until lifted");
}

#[test]
fn credit_paid_to_a_merchant_tied_to_the_payer_is_held() {
    let mut ledger = Ledger::with_rules();
    ledger.open_merchant(COLLUDER, MerchantCategory::PhysicalGoods, MerchantVerification::Uncertified);
    ledger.link(Party::User(ALICE), tie(TieKind::Phone, 5));
    ledger.link(Party::Merchant(COLLUDER), tie(TieKind::Phone, 5));
    let (case, outcome) = ledger.pay(ALICE, COLLUDER, 300_000);
    assert_eq!(outcome, Ok(Accepted::HeldForReview { case }));
    ledger.expect_decision(DecisionKind::Review, "merchant_tied_to_payer");
    // Reviewed and found honest (the owner's own staff purchase): approval captures it.
    let (_, approved) =
        ledger.ok(CommandKind::DecideCase(kind::DecideCase { case, approve: true, label: Label::NotFraud }));
    assert_eq!(approved, Accepted::Split { credit_minor: 300_000, balance_minor: 0 });
    assert_eq!(ledger.settlement(COLLUDER), 300_000);
    assert_eq!(ledger.engine.case(case).unwrap().status, CaseStatus::Approved);
}

#[test]
fn credit_spent_at_the_payers_own_shop_is_held_and_owning_it_is_no_binding_change() {
    let mut ledger = Ledger::with_rules();
    ledger.open_merchant(COLLUDER, MerchantCategory::PhysicalGoods, MerchantVerification::Uncertified);
    let owner = tie(TieKind::Owner, ALICE.0);
    ledger.link(Party::Merchant(COLLUDER), owner);
    ledger.link(Party::User(ALICE), owner);
    // A second shop she owns with a partner: another owner token on her account.
    ledger.link(Party::User(ALICE), tie(TieKind::Owner, 9_999));
    let alice = ledger.engine.user(ALICE).unwrap();
    assert_eq!(alice.risk.binding_changed_at_ms, None, "opening a shop is not a changed binding");
    assert_eq!(alice.risk.new_device_at_ms, None);
    let (case, outcome) = ledger.pay(ALICE, COLLUDER, 300_000);
    assert_eq!(outcome, Ok(Accepted::HeldForReview { case }));
    ledger.expect_decision(DecisionKind::Review, "merchant_tied_to_payer");
    let (_, outcome) = ledger.pay(BOB, COLLUDER, 300_000);
    assert!(outcome.is_ok(), "the owner's tie does not reach a customer: {outcome:?}");
}

#[test]
fn a_merchant_paying_a_supplier_and_a_friend_paying_back_dinner_pass() {
    let mut ledger = Ledger::with_rules();
    carl_owns_the_colluder(&mut ledger);
    ledger.pay(BOB, COLLUDER, 300_000).1.unwrap();
    // The shop's owner pays a supplier, who never bought from the shop.
    ledger.run(CommandKind::Transfer(kind::Transfer { from: CARL, to: ALICE, amount: amount(280_000) })).1.unwrap();
    ledger.expect_decision(DecisionKind::Allow, "");
    // Alice paid dinner with credit; Bob pays his half back.
    ledger.pay(ALICE, SHOP, 20_000).1.unwrap();
    ledger.ok(CommandKind::TopUp(kind::TopUp { user: BOB, amount: amount(10_000) }));
    ledger.run(CommandKind::Transfer(kind::Transfer { from: BOB, to: ALICE, amount: amount(10_000) })).1.unwrap();
    ledger.expect_decision(DecisionKind::Allow, "");
}

/// Money provenance: a payout carries what of the settlement was drawn by accounts tied to the
/// merchant, however long ago, whatever else the shop sold since, and even when the tie shows
/// only after the purchases (the payout account linked just before the payout).
#[test]
fn a_payout_of_credit_drawn_by_the_merchants_owner_is_held_but_customers_money_passes() {
    let mut ledger = Ledger::with_rules();
    ledger.open_merchant(COLLUDER, MerchantCategory::PhysicalGoods, MerchantVerification::Uncertified);
    ledger.open_user(CARL, 1_000_000, 0);
    ledger.link(Party::User(CARL), tie(TieKind::BankCard, 77));
    // Three customers buy at the shop.
    for customer in [BOB, UserId(41), UserId(42)] {
        if customer != BOB {
            ledger.open_user(customer, 1_000_000, 0);
        }
        assert!(matches!(ledger.pay(customer, COLLUDER, 60_000).1, Ok(Accepted::Split { .. })));
    }
    // Carl draws his line at the shop weeks apart, in uneven amounts.
    for (credit, days) in [(310_000, 0), (170_000, 12), (240_000, 9)] {
        ledger.wait(days * DAY_MS);
        assert!(matches!(ledger.pay(CARL, COLLUDER, credit).1, Ok(Accepted::Split { .. })));
    }
    ledger.wait(20 * DAY_MS);
    ledger.link(Party::Merchant(COLLUDER), tie(TieKind::BankCard, 77));
    let (_, outcome) =
        ledger.run(CommandKind::PayoutMerchant(kind::PayoutMerchant { merchant: COLLUDER, amount: amount(700_000) }));
    assert!(matches!(outcome, Ok(Accepted::HeldForReview { .. })), "{outcome:?}");
    let decision = ledger.engine.last_decision().unwrap();
    let fired: Vec<&str> = decision.fired.iter().map(|rule| rule.rule.as_str()).collect();
    assert_eq!(fired, ["b_payout_of_own_credit"], "the 7-day and one-customer rules miss it");
    let read = |name: &str| {
        let reading = decision.readings.iter().find(|reading| reading.feature == name).expect("read");
        reading.value.parse::<f64>().expect("a number")
    };
    // 720,000 of the 900,000 settled was Carl's credit: 560,000 of the 700,000 paid out (the
    // units lost to rounding down go to the first places: Bob's and user 41's).
    assert_eq!(read("event.returning_credit_share"), 0.8);

    // The look-alike: a shop whose owner bought there once, paying out its customers' money.
    let honest = MerchantId(31);
    ledger.open_merchant(honest, MerchantCategory::PhysicalGoods, MerchantVerification::Uncertified);
    assert!(matches!(ledger.pay(CARL, honest, 20_000).1, Ok(Accepted::Split { .. })));
    for customer in 50..62 {
        ledger.open_user(UserId(customer), 1_000_000, 0);
        ledger.pay(UserId(customer), honest, 55_000).1.unwrap();
        ledger.wait(DAY_MS);
    }
    ledger.link(Party::Merchant(honest), tie(TieKind::BankCard, 77));
    let (_, outcome) =
        ledger.run(CommandKind::PayoutMerchant(kind::PayoutMerchant { merchant: honest, amount: amount(600_000) }));
    assert_eq!(outcome, Ok(Accepted::Done));
    ledger.expect_decision(DecisionKind::Allow, "");
}

/// Money provenance on a path inside the platform: a shop hands a payer's credit back to the
/// payer's wallet (or a wallet tied to the payer) weeks later; cashback to a customer passes.
#[test]
fn a_shop_paying_back_its_payers_credit_is_denied_but_cashback_passes() {
    let mut ledger = Ledger::with_rules();
    ledger.open_merchant(COLLUDER, MerchantCategory::PhysicalGoods, MerchantVerification::Certified);
    let twin = UserId(62);
    ledger.open_user(twin, 0, 0);
    ledger.link(Party::User(twin), tie(TieKind::Phone, 88));
    for customer in 70..76 {
        ledger.open_user(UserId(customer), 1_000_000, 0);
        assert!(matches!(ledger.pay(UserId(customer), COLLUDER, 40_000).1, Ok(Accepted::Split { .. })));
    }
    assert!(matches!(ledger.pay(ALICE, COLLUDER, 450_000).1, Ok(Accepted::Split { .. })));
    ledger.wait(16 * DAY_MS);
    // Alice's phone shows on the twin account only now; the shop pays the twin most of it back.
    ledger.link(Party::User(ALICE), tie(TieKind::Phone, 88));
    let back =
        CommandKind::MerchantTransfer(kind::MerchantTransfer { merchant: COLLUDER, to: twin, amount: amount(400_000) });
    assert_eq!(ledger.run(back).1, Err(Rejection::RiskDenied));
    ledger.expect_decision(DecisionKind::Deny, "merchant_money_back");
    assert!(ledger.engine.user(twin).unwrap().account.credit_frozen, "the beneficiary's line is frozen");
    // Cashback: 2 % of what a customer spent, to that customer.
    let cashback = CommandKind::MerchantTransfer(kind::MerchantTransfer {
        merchant: COLLUDER,
        to: UserId(70),
        amount: amount(800),
    });
    assert_eq!(ledger.run(cashback).1, Ok(Accepted::Done));
    ledger.expect_decision(DecisionKind::Allow, "");
    assert_eq!(ledger.engine.user(UserId(70)).unwrap().account.balance_minor, 800);
}

// c. Proxy purchase.

fn buy_for_others(ledger: &mut Ledger, payback_ppm: u64) {
    for stranger in 1..=3u64 {
        let user = UserId(100 + stranger);
        ledger.open_user(user, 0, 1_000_000);
        let beneficiary = tie(TieKind::Phone, 9_000 + stranger);
        ledger.link(Party::User(user), beneficiary);
        let kind = CommandKind::PayFor(kind::PayFor {
            user: ALICE,
            merchant: SHOP,
            funding: funding(100_000, 0),
            beneficiary,
        });
        ledger.run(kind).1.unwrap();
        ledger.wait(HOUR_MS);
        let payback = amount(100_000 * payback_ppm / 1_000_000);
        ledger.run(CommandKind::Transfer(kind::Transfer { from: user, to: ALICE, amount: payback })).1.unwrap();
    }
}

#[test]
fn proxy_purchases_paid_back_at_a_discount_are_held() {
    let mut ledger = Ledger::with_rules();
    buy_for_others(&mut ledger, 930_000);
    ledger.open_user(UserId(104), 0, 0);
    let beneficiary = tie(TieKind::Phone, 9_004);
    ledger.link(Party::User(UserId(104)), beneficiary);
    let kind =
        CommandKind::PayFor(kind::PayFor { user: ALICE, merchant: SHOP, funding: funding(100_000, 0), beneficiary });
    let (case, outcome) = ledger.run(kind);
    assert_eq!(outcome, Ok(Accepted::HeldForReview { case }));
    ledger.expect_decision(DecisionKind::Review, "proxy_purchase");
    let (case, outcome) =
        ledger.run(CommandKind::WithdrawToBank(kind::WithdrawToBank { user: ALICE, amount: amount(279_000) }));
    assert_eq!(outcome, Ok(Accepted::HeldForReview { case }));
    ledger.expect_decision(DecisionKind::Review, "proxy_purchase");
    assert_eq!(ledger.engine.user(ALICE).unwrap().account.balance_minor, 279_000, "the cash-out waits for the analyst");
    ledger.ok(CommandKind::DecideCase(kind::DecideCase {
        case,
        approve: false,
        label: Label::Fraud(Typology::ProxyPurchase),
    }));
    assert_eq!(
        ledger.engine.user(ALICE).unwrap().account.balance_minor,
        279_000,
        "a rejected withdrawal moves nothing"
    );
}

#[test]
fn tickets_for_friends_paid_back_in_full_pass() {
    let mut ledger = Ledger::with_rules();
    buy_for_others(&mut ledger, 1_000_000);
    let beneficiary = tie(TieKind::Phone, 9_004);
    let kind =
        CommandKind::PayFor(kind::PayFor { user: ALICE, merchant: SHOP, funding: funding(100_000, 0), beneficiary });
    ledger.run(kind).1.unwrap();
    ledger.expect_decision(DecisionKind::Allow, "");
    ledger.run(CommandKind::WithdrawToBank(kind::WithdrawToBank { user: ALICE, amount: amount(300_000) })).1.unwrap();
    ledger.expect_decision(DecisionKind::Allow, "");
}

/// Alice orders ¥1,000 on credit for a client named by `beneficiary` (linked to the client's
/// account) `rounds` times, `apart_ms` apart; the client pays each back at 92 % two hours later.
/// Returns the decision on each order.
fn orders_paid_back_at_a_discount(
    ledger: &mut Ledger,
    beneficiary: Tie,
    rounds: usize,
    apart_ms: u64,
) -> Vec<DecisionKind> {
    let client = UserId(112);
    ledger.open_user(client, 0, 2_000_000);
    ledger.link(Party::User(client), beneficiary);
    let mut decisions = Vec::new();
    for _ in 0..rounds {
        let kind = CommandKind::PayFor(kind::PayFor {
            user: ALICE,
            merchant: SHOP,
            funding: funding(100_000, 0),
            beneficiary,
        });
        let _held_or_not = ledger.run(kind);
        decisions.push(ledger.decision().0);
        ledger.wait(2 * HOUR_MS);
        ledger
            .run(CommandKind::Transfer(kind::Transfer { from: client, to: ALICE, amount: amount(92_000) }))
            .1
            .unwrap();
        ledger.wait(apart_ms);
    }
    decisions
}

/// A friend who pays one order back in full is settling up: a gift from them that happens to be
/// near the price of another order is no discounted payback. A client who pays every order back
/// at a discount is, even after the orders start being held (an order held for review still
/// asked for credit on the client's behalf, and its payback still comes).
#[test]
fn a_friends_gifts_are_no_payback_but_a_clients_discounts_pair_even_with_orders_held() {
    let mut ledger = Ledger::with_rules();
    let friend = UserId(111);
    ledger.open_user(friend, 0, 1_000_000);
    let phone = tie(TieKind::Phone, 9_111);
    ledger.link(Party::User(friend), phone);
    for price in [100_000, 150_000] {
        let kind = CommandKind::PayFor(kind::PayFor {
            user: ALICE,
            merchant: SHOP,
            funding: funding(price, 0),
            beneficiary: phone,
        });
        ledger.run(kind).1.unwrap();
        ledger.wait(HOUR_MS);
    }
    // Paid back the first order in full, then a gift of ¥1,200: 80 % of the second.
    for gift in [100_000, 120_000] {
        ledger.run(CommandKind::Transfer(kind::Transfer { from: friend, to: ALICE, amount: amount(gift) })).1.unwrap();
        ledger.wait(HOUR_MS);
    }
    let kind = CommandKind::PayFor(kind::PayFor {
        user: ALICE,
        merchant: SHOP,
        funding: funding(100_000, 0),
        beneficiary: phone,
    });
    ledger.run(kind).1.unwrap();
    ledger.expect_decision(DecisionKind::Allow, "");

    let mut ledger = Ledger::with_rules();
    let decisions = orders_paid_back_at_a_discount(&mut ledger, tie(TieKind::Phone, 9_112), 5, DAY_MS);
    use DecisionKind::{Allow, Challenge, Review};
    assert_eq!(decisions, [Allow, Challenge, Review, Review, Review], "caught from the first discount on");
    // Watched for proxy purchase, the buyer's next order naming nobody is stepped up too.
    assert_eq!(
        model::risk::catalog::WATCH_REASONS[usize::from(ledger.engine.user(ALICE).unwrap().risk.watch_reason)],
        "proxy_purchase"
    );
    ledger.pay(ALICE, SHOP, 50_000).1.unwrap();
    ledger.expect_decision(Challenge, "proxy_purchase");
}

/// A proxy buyer serving a client every twelve days is still pairing orders with
/// discounted paybacks: the third order is held, the paybacks counted over a statement cycle.
#[test]
fn a_slow_proxy_buyer_serving_a_client_every_few_weeks_is_caught() {
    let mut ledger = Ledger::with_rules();
    let decisions = orders_paid_back_at_a_discount(&mut ledger, tie(TieKind::Phone, 9_114), 3, 12 * DAY_MS);
    assert_eq!(decisions, [DecisionKind::Allow, DecisionKind::Challenge, DecisionKind::Review]);
}

/// A delivery address names whom an order is for, so a client's discounted paybacks pair with
/// the orders shipped to them; but it ties no one: a shop and a customer who share a parcel
/// locker's address are strangers.
#[test]
fn a_delivery_address_pairs_paybacks_but_ties_no_accounts() {
    let mut ledger = Ledger::with_rules();
    let decisions = orders_paid_back_at_a_discount(&mut ledger, tie(TieKind::DeliveryAddress, 9_113), 3, DAY_MS);
    assert_eq!(decisions, [DecisionKind::Allow, DecisionKind::Challenge, DecisionKind::Review]);

    let locker = tie(TieKind::DeliveryAddress, 9_200);
    ledger.link(Party::Merchant(SMALL_SHOP), locker);
    ledger.link(Party::User(BOB), locker);
    assert!(matches!(ledger.pay(BOB, SMALL_SHOP, 30_000).1, Ok(Accepted::Split { .. })));
    ledger.expect_decision(DecisionKind::Allow, "");
    // A second address is an order shipped elsewhere, not a changed binding (takeover features).
    ledger.link(Party::User(BOB), tie(TieKind::DeliveryAddress, 9_201));
    assert_eq!(ledger.engine.user(BOB).unwrap().risk.binding_changed_at_ms, None, "an address is no binding");
}

// d. Self-settling recharge.

#[test]
fn a_recharge_into_the_payers_own_wallet_is_denied_but_their_phone_is_fine() {
    let mut ledger = Ledger::with_rules();
    let wallet = tie(TieKind::PayoutAccount, 4_242);
    let phone = tie(TieKind::Phone, 4_343);
    // The wallet belongs to Alice's second account, tied to her by identity.
    ledger.open_user(UserId(40), 0, 0);
    ledger.link(Party::User(ALICE), tie(TieKind::Identity, 1));
    ledger.link(Party::User(UserId(40)), tie(TieKind::Identity, 1));
    ledger.link(Party::User(UserId(40)), wallet);
    ledger.link(Party::User(ALICE), phone);
    let recharge = |beneficiary| {
        CommandKind::PayFor(kind::PayFor { user: ALICE, merchant: RECHARGE, funding: funding(200_000, 0), beneficiary })
    };
    assert_eq!(ledger.run(recharge(wallet)).1, Err(Rejection::RiskDenied));
    ledger.expect_decision(DecisionKind::Deny, "self_recharge");
    ledger.run(recharge(phone)).1.unwrap();
    ledger.expect_decision(DecisionKind::Allow, "");
}

/// Once a recharge's value was caught reaching the payer's twin, the payer's next recharge on
/// credit is held; a customer whose tied account is in good standing recharges freely.
#[test]
fn the_next_recharge_of_a_caught_twins_drawer_is_held_but_others_pass() {
    let mut ledger = Ledger::with_rules();
    let twin = UserId(63);
    ledger.open_user(twin, 0, 0);
    ledger.link(Party::User(twin), tie(TieKind::Device, 1_000 + ALICE.0));
    // Bob shares his device with a sister in good standing.
    ledger.open_user(UserId(64), 0, 0);
    ledger.link(Party::User(UserId(64)), tie(TieKind::Device, 1_000 + BOB.0));
    for payer in [ALICE, BOB] {
        assert!(matches!(ledger.pay(payer, RECHARGE, 200_000).1, Ok(Accepted::Split { .. })));
    }
    ledger.wait(3 * HOUR_MS);
    let credited =
        CommandKind::MerchantTransfer(kind::MerchantTransfer { merchant: RECHARGE, to: twin, amount: amount(200_000) });
    assert_eq!(ledger.run(credited).1, Err(Rejection::RiskDenied));
    assert!(ledger.engine.user(twin).unwrap().risk.watchlisted());
    ledger.wait(DAY_MS);
    let (case, outcome) = ledger.pay(ALICE, RECHARGE, 200_000);
    assert_eq!(outcome, Ok(Accepted::HeldForReview { case }));
    ledger.expect_decision(DecisionKind::Review, "self_recharge");
    assert!(matches!(ledger.pay(BOB, RECHARGE, 200_000).1, Ok(Accepted::Split { .. })));
    ledger.expect_decision(DecisionKind::Allow, "");
}

// e. Account takeover.

#[test]
fn a_takeover_spend_and_cash_out_are_held_and_the_line_frozen() {
    let mut ledger = Ledger::with_rules();
    ledger.ok(CommandKind::TopUp(kind::TopUp { user: ALICE, amount: amount(200_000) }));
    ledger.wait(30 * DAY_MS);
    // The tool logs in from a new device and spends nearly the whole line on gift cards.
    ledger.link(Party::User(ALICE), tie(TieKind::Device, 666));
    let (case, outcome) = ledger.pay(ALICE, GIFT_CARDS, 950_000);
    assert_eq!(outcome, Ok(Accepted::HeldForReview { case }));
    ledger.expect_decision(DecisionKind::Review, "account_takeover");
    assert!(ledger.engine.user(ALICE).unwrap().account.credit_frozen, "credit use is frozen");
    // Cash leaving is challenged: the real owner can verify, the tool cannot.
    let (_, outcome) =
        ledger.run(CommandKind::Transfer(kind::Transfer { from: ALICE, to: UserId(2), amount: amount(150_000) }));
    assert!(matches!(outcome, Ok(Accepted::Challenged { .. })), "{outcome:?}");
    ledger.expect_decision(DecisionKind::Challenge, "account_takeover");
    // The real owner appeals: the analyst confirms the takeover; the freeze stays until lifted.
    let evidence = vec![Evidence { kind: EvidenceKind::Other, reference: "police-report-17".into() }];
    ledger.ok(CommandKind::AppealCase(kind::AppealCase { case, evidence, text: "my phone was stolen".into() }));
    ledger.ok(CommandKind::DecideCase(kind::DecideCase {
        case,
        approve: false,
        label: Label::Fraud(Typology::AccountTakeover),
    }));
    assert_eq!(ledger.engine.case(case).unwrap().appeals.len(), 1);
    ledger.ok(CommandKind::LiftAction(kind::LiftAction { user: ALICE, action: AccountAction::FreezeCredit }));
    assert!(!ledger.engine.user(ALICE).unwrap().account.credit_frozen);
    ledger.rejected(
        CommandKind::LiftAction(kind::LiftAction { user: ALICE, action: AccountAction::FreezeCredit }),
        Rejection::ActionNotInForce,
    );
}

/// General behaviour: a wallet taken over from a new device and drained to an account opened the
/// day before is held, whatever the amounts; the owner moving savings to an old account from a
/// new phone, or sending a little to a friend who just joined, passes the drain rule.
#[test]
fn a_wallet_drained_to_a_day_old_account_is_held_but_savings_to_an_old_one_pass() {
    let drain = |payee_opened_days_ago: u64, share_per_mille: u64| {
        let mut ledger = Ledger::with_rules();
        ledger.ok(CommandKind::TopUp(kind::TopUp { user: ALICE, amount: amount(73_210) }));
        ledger.wait(40 * DAY_MS);
        let payee = UserId(60);
        ledger.open_user(payee, 0, 0);
        ledger.wait(payee_opened_days_ago * DAY_MS + 3 * HOUR_MS);
        ledger.link(Party::User(ALICE), tie(TieKind::Device, 667));
        ledger.wait(2 * HOUR_MS);
        let amount_minor = 73_210 * share_per_mille / 1_000;
        let (_, outcome) =
            ledger.run(CommandKind::Transfer(kind::Transfer { from: ALICE, to: payee, amount: amount(amount_minor) }));
        let decision = ledger.engine.last_decision().expect("scored").clone();
        (outcome, decision.fired.into_iter().map(|rule| rule.rule).collect::<Vec<_>>())
    };
    let (outcome, fired) = drain(0, 960);
    assert!(matches!(outcome, Ok(Accepted::HeldForReview { .. })), "{outcome:?} {fired:?}");
    assert!(fired.contains(&"e_takeover_drain_to_new_account".to_owned()), "{fired:?}");
    for (days, share) in [(400, 960), (0, 300)] {
        let (_, fired) = drain(days, share);
        assert!(!fired.contains(&"e_takeover_drain_to_new_account".to_owned()), "{days} days, {share}‰: {fired:?}");
    }
}

/// General behaviour: an account opened today passing straight on what it just received is held
/// (a mule, or a laundering hop); a newcomer withdrawing part of a gift passes.
#[test]
fn a_day_old_account_cashing_out_what_it_just_received_is_held_but_part_of_a_gift_passes() {
    let received_then_withdrawn = |withdrawn_minor: u64| {
        let mut ledger = Ledger::with_rules();
        ledger.ok(CommandKind::TopUp(kind::TopUp { user: BOB, amount: amount(200_000) }));
        ledger.wait(40 * DAY_MS);
        let newcomer = UserId(61);
        ledger.open_user(newcomer, 0, 0);
        ledger.wait(2 * HOUR_MS);
        ledger
            .run(CommandKind::Transfer(kind::Transfer { from: BOB, to: newcomer, amount: amount(50_000) }))
            .1
            .expect("a gift");
        ledger.wait(5 * HOUR_MS);
        let (_, outcome) = ledger
            .run(CommandKind::WithdrawToBank(kind::WithdrawToBank { user: newcomer, amount: amount(withdrawn_minor) }));
        let fired: Vec<String> =
            ledger.engine.last_decision().expect("scored").fired.iter().map(|rule| rule.rule.clone()).collect();
        (outcome, fired)
    };
    let (outcome, fired) = received_then_withdrawn(49_000);
    assert!(matches!(outcome, Ok(Accepted::HeldForReview { .. })), "{outcome:?} {fired:?}");
    assert_eq!(fired, ["e_mule_cash_out"]);
    let (outcome, fired) = received_then_withdrawn(20_000);
    assert_eq!((outcome, fired), (Ok(Accepted::Done), Vec::<String>::new()));
}

/// General behaviour: money gathered from several senders and passed on within hours to a payee
/// never paid is a laundering collector's; a shop owner paying a supplier out of a large balance
/// after customers' transfers came in is not, nor is a friend passing one sender's money on (too
/// common in mobile money to hold).
#[test]
fn money_collected_from_many_and_passed_on_is_held_but_an_owner_paying_a_supplier_passes() {
    let forwarded = |balance_minor: u64, senders: u64| {
        let mut ledger = Ledger::with_rules();
        let (collector, onward) = (UserId(121), UserId(122));
        ledger.open_user(collector, 0, balance_minor);
        ledger.open_user(onward, 0, 0);
        for sender in 0..senders {
            ledger.open_user(UserId(140 + sender), 0, 200_000);
        }
        ledger.wait(40 * DAY_MS);
        for sender in 0..senders {
            let paid = CommandKind::Transfer(kind::Transfer {
                from: UserId(140 + sender),
                to: collector,
                amount: amount(100_000),
            });
            ledger.run(paid).1.expect("sent");
        }
        ledger.wait(3 * HOUR_MS);
        let onward_minor = 100_000 * senders * 95 / 100;
        let (_, outcome) = ledger.run(CommandKind::Transfer(kind::Transfer {
            from: collector,
            to: onward,
            amount: amount(onward_minor),
        }));
        (outcome, ledger.decision())
    };
    let (outcome, (kind, reasons)) = forwarded(10_000, 3);
    assert!(matches!(outcome, Ok(Accepted::HeldForReview { .. })), "{outcome:?} {reasons:?}");
    assert_eq!((kind, reasons), (DecisionKind::Review, vec!["pass_through".to_owned()]));
    for (balance_minor, senders) in [(2_000_000, 3), (10_000, 1)] {
        let (outcome, decision) = forwarded(balance_minor, senders);
        assert_eq!((outcome, decision), (Ok(Accepted::Done), (DecisionKind::Allow, Vec::new())), "{senders} senders");
    }
}

/// Once a collector is caught passing money through, it is on the watch-list for it, and so is
/// the account it paid: the accounts feeding it most of what they hold, and either of them
/// relaying again, are held, whatever the payee; a member paying small dues into it passes, and
/// so does a listed account paying out days after the money came.
#[test]
fn a_caught_collector_is_watched_its_feeders_and_relays_held_and_small_dues_pass() {
    let mut ledger = Ledger::with_rules();
    let (collector, onward, member) = (UserId(121), UserId(122), UserId(139));
    for user in [collector, onward] {
        ledger.open_user(user, 0, 10_000);
    }
    ledger.open_user(member, 0, 5_000_000);
    for sender in 0..3 {
        ledger.open_user(UserId(140 + sender), 0, 0);
    }
    ledger.wait(40 * DAY_MS);
    let round = |ledger: &mut Ledger| {
        let mut outcomes = Vec::new();
        for sender in 0..3 {
            let smurf = UserId(140 + sender);
            ledger.ok(CommandKind::TopUp(kind::TopUp { user: smurf, amount: amount(100_000) }));
            outcomes.push(
                ledger
                    .run(CommandKind::Transfer(kind::Transfer { from: smurf, to: collector, amount: amount(99_000) }))
                    .1,
            );
        }
        outcomes
    };
    let first = round(&mut ledger);
    assert!(first.iter().all(|outcome| *outcome == Ok(Accepted::Done)), "nothing is known yet: {first:?}");
    ledger.wait(3 * HOUR_MS);
    let pass_on = CommandKind::Transfer(kind::Transfer { from: collector, to: onward, amount: amount(290_000) });
    let (_, outcome) = ledger.run(pass_on.clone());
    assert!(matches!(outcome, Ok(Accepted::HeldForReview { .. })), "{outcome:?}");
    ledger.expect_decision(DecisionKind::Review, "pass_through");
    for user in [collector, onward] {
        assert_eq!(
            ledger.engine.user(user).unwrap().risk.watch_reason as usize,
            catalog::WATCH_REASONS.iter().position(|name| *name == catalog::PASS_THROUGH).unwrap()
        );
    }
    ledger.wait(DAY_MS);
    let second = round(&mut ledger);
    assert!(
        second.iter().all(|outcome| matches!(outcome, Ok(Accepted::HeldForReview { .. }))),
        "feeders held: {second:?}"
    );
    let dues = CommandKind::Transfer(kind::Transfer { from: member, to: collector, amount: amount(20_000) });
    assert_eq!(ledger.run(dues).1, Ok(Accepted::Done), "a small part of the member's balance");
    // The collector relays what it has from the member to the same payee: no longer first-seen.
    ledger.wait(HOUR_MS);
    let (_, outcome) =
        ledger.run(CommandKind::Transfer(kind::Transfer { from: collector, to: onward, amount: amount(19_000) }));
    assert!(matches!(outcome, Ok(Accepted::HeldForReview { .. })), "{outcome:?}");
    ledger.expect_decision(DecisionKind::Review, "pass_through");
    // Days after the money came, a listed account paying out is not relaying it.
    ledger.wait(3 * DAY_MS);
    let (_, outcome) =
        ledger.run(CommandKind::Transfer(kind::Transfer { from: collector, to: member, amount: amount(15_000) }));
    assert_eq!(outcome, Ok(Accepted::Done));
}

/// General behaviour: money split among several payees as it arrives (fan-out) is held from the
/// third payee on; someone paying three friends out of savings right after a small gift passes.
#[test]
fn money_split_among_payees_as_it_arrives_is_held_but_paying_friends_from_savings_passes() {
    let split = |own_minor: u64, received_minor: u64| {
        let mut ledger = Ledger::with_rules();
        let layer = UserId(131);
        ledger.open_user(layer, 0, own_minor);
        ledger.ok(CommandKind::TopUp(kind::TopUp { user: BOB, amount: amount(2_000_000) }));
        for payee in 132..=134 {
            ledger.open_user(UserId(payee), 0, 0);
        }
        ledger.wait(40 * DAY_MS);
        ledger
            .run(CommandKind::Transfer(kind::Transfer { from: BOB, to: layer, amount: amount(received_minor) }))
            .1
            .expect("sent");
        let mut decisions = Vec::new();
        for payee in 132..=134 {
            ledger.wait(10 * 60 * 1000);
            let part = amount(received_minor / 4);
            let _held_or_not =
                ledger.run(CommandKind::Transfer(kind::Transfer { from: layer, to: UserId(payee), amount: part }));
            decisions.push(ledger.decision());
        }
        decisions
    };
    let held = split(0, 900_000);
    assert_eq!(held[2], (DecisionKind::Review, vec!["pass_through".to_owned()]), "{held:?}");
    assert!(held[..2].iter().all(|(kind, _)| *kind == DecisionKind::Allow), "{held:?}");
    let savings = split(3_000_000, 100_000);
    assert!(savings.iter().all(|(kind, _)| *kind == DecisionKind::Allow), "{savings:?}");
}

/// Bug: risk actions never lapsed, so a takeover's victim was refused weeks after the freeze
/// (90 % of the false positives on independent streams). A freeze lapses after a week unless a
/// case decided as fraud keeps it.
#[test]
fn a_victims_freeze_lapses_but_confirmed_fraud_keeps_it() {
    let frozen_then_later = |decide: Option<Label>| {
        let mut ledger = Ledger::with_rules();
        ledger.wait(30 * DAY_MS);
        ledger.link(Party::User(ALICE), tie(TieKind::Device, 666));
        let (case, outcome) = ledger.pay(ALICE, GIFT_CARDS, 950_000);
        assert_eq!(outcome, Ok(Accepted::HeldForReview { case }));
        assert!(ledger.engine.user(ALICE).unwrap().account.credit_frozen, "the takeover rule froze the line");
        if let Some(label) = decide {
            ledger.ok(CommandKind::DecideCase(kind::DecideCase { case, approve: false, label }));
        }
        let next = ledger.engine.next_tick_ms();
        match decide {
            Some(Label::Fraud(_)) => assert_eq!(next, None, "a kept freeze never lapses"),
            _ => assert!(next.is_some_and(|at| at <= ledger.time_ms + 7 * DAY_MS), "the server wakes for the lapse"),
        }
        ledger.wait(8 * DAY_MS);
        ledger.ok(CommandKind::Tick);
        let (_, groceries) = ledger.pay(ALICE, SHOP, 8_000);
        (ledger, groceries)
    };
    // Nobody decided the case (or it was not fraud): a week later the owner buys groceries.
    let (ledger, groceries) = frozen_then_later(None);
    assert!(matches!(groceries, Ok(Accepted::Split { .. })), "{groceries:?}");
    assert_eq!(ledger.engine.user(ALICE).unwrap().risk.lapse_at_ms, [0; 4], "nothing else in force");
    let (_, groceries) = frozen_then_later(Some(Label::NotFraud));
    assert!(matches!(groceries, Ok(Accepted::Split { .. })), "{groceries:?}");
    // Confirmed fraud: the freeze stays until an analyst lifts it.
    let (mut ledger, groceries) = frozen_then_later(Some(Label::Fraud(Typology::AccountTakeover)));
    assert_eq!(groceries, Err(Rejection::CreditFrozen));
    ledger.wait(400 * DAY_MS);
    ledger.ok(CommandKind::Tick);
    assert!(ledger.engine.user(ALICE).unwrap().account.credit_frozen);
    ledger.ok(CommandKind::LiftAction(kind::LiftAction { user: ALICE, action: AccountAction::FreezeCredit }));
}

#[test]
fn a_new_phone_then_groceries_and_a_small_transfer_pass() {
    let mut ledger = Ledger::with_rules();
    ledger.ok(CommandKind::TopUp(kind::TopUp { user: ALICE, amount: amount(200_000) }));
    ledger.link(Party::User(ALICE), tie(TieKind::Device, 667));
    ledger.pay(ALICE, SHOP, 20_000).1.unwrap();
    ledger.expect_decision(DecisionKind::Allow, "");
    ledger.run(CommandKind::Transfer(kind::Transfer { from: ALICE, to: BOB, amount: amount(10_000) })).1.unwrap();
    ledger.expect_decision(DecisionKind::Allow, "");
}

// f. Rings.

/// Users 50 and 51 each pay the small uncertified shop a round ¥5,000, their whole line: the
/// first ring-like payments are challenged, and each passes the step-up.
fn two_ring_payers_stepped_up(ledger: &mut Ledger) {
    for member in 0..2u64 {
        let user = UserId(50 + member);
        ledger.open_user(user, 500_000, 0);
        let (challenge, outcome) = ledger.pay(user, SMALL_SHOP, 500_000);
        assert!(matches!(outcome, Ok(Accepted::Challenged { .. })), "{outcome:?}");
        ledger.expect_decision(DecisionKind::Challenge, "ring");
        ledger.ok(CommandKind::VerifyChallenge(kind::VerifyChallenge { user, challenge }));
    }
}

#[test]
fn a_ring_at_a_small_merchant_is_stopped_but_parents_paying_school_fees_pass() {
    let mut ledger = Ledger::with_rules();
    two_ring_payers_stepped_up(&mut ledger);
    for member in 2..4u64 {
        let user = UserId(50 + member);
        ledger.open_user(user, 500_000, 0);
        // Two rules agree (a ring-like payer, and two before it): refused.
        assert_eq!(ledger.pay(user, SMALL_SHOP, 500_000).1, Err(Rejection::RiskDenied));
        ledger.expect_decision(DecisionKind::Deny, "ring");
    }
    // The shop pays out what two payers' credit became: a ring and a one-customer shop at once.
    let (_, outcome) =
        ledger.run(CommandKind::PayoutMerchant(kind::PayoutMerchant { merchant: SMALL_SHOP, amount: amount(900_000) }));
    assert_eq!(outcome, Err(Rejection::RiskDenied));
    ledger.expect_decision(DecisionKind::Deny, "ring");
    for parent in 0..4u64 {
        let user = UserId(60 + parent);
        ledger.open_user(user, 500_000, 0);
        ledger.pay(user, SCHOOL, 500_000).1.unwrap();
        ledger.expect_decision(DecisionKind::Allow, "");
    }
}

/// A watch-list keeps what it is for: a payer watch-listed by a ring rule who later returns a
/// gift card and buys another is not held as a cycler, as one watched for cycling would be.
#[test]
fn a_watch_list_for_a_ring_is_no_sign_of_refund_cycling() {
    let mut ledger = Ledger::with_rules();
    two_ring_payers_stepped_up(&mut ledger);
    let payer = UserId(52);
    ledger.open_user(payer, 500_000, 0);
    assert_eq!(ledger.pay(payer, SMALL_SHOP, 500_000).1, Err(Rejection::RiskDenied));
    let watched = &ledger.engine.user(payer).unwrap().risk;
    assert_eq!((watched.watchlisted(), catalog::WATCH_REASONS[usize::from(watched.watch_reason)]), (true, "ring"));
    // Ordinary spending, then a gift card returned two days later and another bought.
    assert!(matches!(ledger.pay(payer, SHOP, 300_000).1, Ok(Accepted::Split { .. })));
    let (card, _) = ledger.pay(payer, GIFT_CARDS, 50_000);
    ledger.wait(2 * DAY_MS);
    ledger.ok(CommandKind::Refund(kind::Refund { payment: card, merchant: GIFT_CARDS, amount: amount(50_000) }));
    assert!(matches!(ledger.pay(payer, GIFT_CARDS, 50_000).1, Ok(Accepted::Split { .. })));
    ledger.expect_decision(DecisionKind::Allow, "");
}

// Challenges, reloads, shadow rules, replay.

/// The default pack's next version with one rule only: its first, now reading `expression` on
/// the events of `kind`, scoring `score`, with no account actions.
fn one_rule(expression: &str, kind: EventKind, score: i32) -> RuleSet {
    let mut rules = default_rules();
    rules.version += 1;
    rules.rules.truncate(1);
    let rule = &mut rules.rules[0];
    (rule.expression, rule.applies_to, rule.score) = (expression.into(), vec![kind], score);
    rule.account_actions.clear();
    rules
}

/// A transfer has no merchant: its merchant features read as 0, false and `"none"`, as
/// docs/rules.md says, while the sender's are computed.
#[test]
fn an_absent_side_reads_as_zero_false_or_none() {
    let mut ledger = Ledger::with_rules();
    let expression = "merchant.category == \"none\" && !merchant.certified && merchant.sales_30d_minor == 0 \
                      && merchant.credit_share_30d == 0.0 && user.credit_limit_minor > 0";
    ledger.ok(CommandKind::InstallRules(kind::InstallRules {
        rules: Box::new(one_rule(expression, EventKind::Transfer, 100)),
    }));
    ledger.ok(CommandKind::TopUp(kind::TopUp { user: ALICE, amount: amount(5_000) }));
    let (_, outcome) =
        ledger.run(CommandKind::Transfer(kind::Transfer { from: ALICE, to: BOB, amount: amount(1_000) }));
    assert_eq!(outcome, Err(Rejection::RiskDenied));
    let fired = &ledger.engine.last_decision().unwrap().fired;
    assert_eq!(fired.len(), 1, "{fired:?}");
}

/// Every feature of the catalog reads on every kind of event, with or without a merchant or a
/// user: one rule that holds whatever the values (each feature tested against both sides of a
/// constant, all joined by `&&`) fires and records a reading of each.
#[test]
fn every_feature_reads_on_every_kind_of_event() {
    use model::risk::catalog::Feature;
    use rules::Type;
    let tautology = |feature: Feature| match feature.ty() {
        Type::Bool => format!("({0} || !{0})", feature.name()),
        Type::Int => format!("({0} >= 0 || {0} < 0)", feature.name()),
        Type::Double => format!("({0} >= 0.0 || {0} < 0.0)", feature.name()),
        Type::Symbol(names) => format!("({0} == \"{1}\" || {0} != \"{1}\")", feature.name(), names[0]),
    };
    let expression = Feature::ALL.iter().map(|feature| tautology(*feature)).collect::<Vec<_>>().join(" && ");
    let events = [
        (EventKind::Pay, CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(1_000, 0) })),
        (EventKind::Transfer, CommandKind::Transfer(kind::Transfer { from: ALICE, to: BOB, amount: amount(1_000) })),
        (
            EventKind::WithdrawToBank,
            CommandKind::WithdrawToBank(kind::WithdrawToBank { user: ALICE, amount: amount(1_000) }),
        ),
        (
            EventKind::PayoutMerchant,
            CommandKind::PayoutMerchant(kind::PayoutMerchant { merchant: SHOP, amount: amount(1_000) }),
        ),
        (
            EventKind::WithdrawToBank,
            CommandKind::AgentCashOut(kind::AgentCashOut { user: ALICE, agent: SHOP, amount: amount(1_000) }),
        ),
        (
            EventKind::PayoutMerchant,
            CommandKind::MerchantToMerchant(kind::MerchantToMerchant {
                merchant: SHOP,
                to: GIFT_CARDS,
                amount: amount(1_000),
            }),
        ),
    ];
    for (kind, command) in events {
        let mut ledger = Ledger::with_rules();
        ledger.ok(CommandKind::InstallRules(kind::InstallRules { rules: Box::new(one_rule(&expression, kind, 100)) }));
        let (_, outcome) = ledger.run(command);
        assert_eq!(outcome, Err(Rejection::RiskDenied), "{kind:?}");
        let decision = ledger.engine.last_decision().unwrap();
        assert_eq!(decision.fired.len(), 1, "{kind:?}");
        assert_eq!(decision.readings.len(), Feature::ALL.len(), "{kind:?}");
    }
}

/// A refused attempt, recorded from another system or this engine's own denial, is what
/// `user.ms_since_refused_attempt` reads; a cash-out at an agent is scored as money leaving the
/// user, the agent its merchant, and moves the balance to the agent's settlement account.
#[test]
fn a_cash_out_just_after_a_refused_attempt_is_seen_and_the_agent_holds_the_money() {
    let mut ledger = Ledger::with_rules();
    let rule = "user.ms_since_refused_attempt < 3600000 && merchant.category == \"other\"";
    ledger.ok(CommandKind::InstallRules(kind::InstallRules {
        rules: Box::new(one_rule(rule, EventKind::WithdrawToBank, 100)),
    }));
    for user in [ALICE, BOB] {
        ledger.ok(CommandKind::TopUp(kind::TopUp { user, amount: amount(50_000) }));
    }
    let cash_out =
        |user| CommandKind::AgentCashOut(kind::AgentCashOut { user, agent: SMALL_SHOP, amount: amount(20_000) });
    ledger.ok(cash_out(BOB));
    assert_eq!(
        (ledger.settlement(SMALL_SHOP), ledger.engine.user(BOB).unwrap().account.balance_minor),
        (20_000, 30_000)
    );
    // A gateway refused Alice's transfer: nothing moved, but her cash-out minutes later is seen.
    ledger.ok(CommandKind::RecordRefusedAttempt(kind::RecordRefusedAttempt { user: ALICE, amount: amount(45_000) }));
    assert_eq!(ledger.engine.user(ALICE).unwrap().account.balance_minor, 50_000);
    ledger.wait(10 * 60 * 1000);
    let (_, outcome) = ledger.run(cash_out(ALICE));
    assert_eq!(outcome, Err(Rejection::RiskDenied));
    let alice = ledger.engine.user(ALICE).unwrap();
    assert_eq!(alice.risk.refused_at_ms, Some(ledger.time_ms), "the engine's own denial is a refused attempt too");
    assert_eq!((alice.account.balance_minor, ledger.settlement(SMALL_SHOP)), (50_000, 20_000));
    // To the bank there is no agent (merchant "none"); hours later the refusal is old news.
    ledger.ok(CommandKind::WithdrawToBank(kind::WithdrawToBank { user: ALICE, amount: amount(1_000) }));
    ledger.wait(2 * HOUR_MS);
    ledger.ok(cash_out(ALICE));
    assert_eq!(ledger.settlement(SMALL_SHOP), 40_000);
    ledger.rejected(
        CommandKind::AgentCashOut(kind::AgentCashOut { user: ALICE, agent: SMALL_SHOP, amount: amount(30_000) }),
        Rejection::InsufficientBalance,
    );
}

/// The default pack's `g_retry_after_refusal` (shadow) sees a wallet drained to a new payee
/// minutes after a gateway blocked it, and not the owner who, after a declined card, pays a
/// friend she paid before, nor a drain with no refusal before it.
#[test]
fn a_drain_to_a_new_payee_after_a_block_is_seen_and_the_owners_retry_is_not() {
    let fired = |ledger: &Ledger| {
        let decision = ledger.engine.last_decision().expect("scored");
        decision.fired.iter().any(|fired| fired.rule == "g_retry_after_refusal" && fired.shadow)
    };
    let mut ledger = Ledger::with_rules();
    ledger.open_user(CARL, 0, 0);
    // Carl's account is days old: no account opened for the drain (e_takeover_drain_to_new_account).
    ledger.wait(3 * DAY_MS);
    for user in [ALICE, BOB] {
        ledger.ok(CommandKind::TopUp(kind::TopUp { user, amount: amount(100_000) }));
    }
    ledger.ok(CommandKind::Transfer(kind::Transfer { from: BOB, to: CARL, amount: amount(1_000) }));
    assert!(!fired(&ledger), "no refusal yet");
    for user in [ALICE, BOB] {
        ledger.ok(CommandKind::RecordRefusedAttempt(kind::RecordRefusedAttempt { user, amount: amount(90_000) }));
    }
    ledger.wait(5 * 60 * 1000);
    let (_, outcome) =
        ledger.run(CommandKind::Transfer(kind::Transfer { from: ALICE, to: CARL, amount: amount(95_000) }));
    assert_eq!(outcome, Ok(Accepted::Done), "shadow: the outcome is the pack's without it");
    assert!(fired(&ledger), "{:?}", ledger.engine.last_decision());
    ledger.run(CommandKind::Transfer(kind::Transfer { from: BOB, to: CARL, amount: amount(95_000) })).1.unwrap();
    assert!(!fired(&ledger), "a payee Bob paid before");
    ledger.wait(2 * HOUR_MS);
    ledger.ok(CommandKind::RecordRefusedAttempt(kind::RecordRefusedAttempt { user: ALICE, amount: amount(1_000) }));
    ledger.run(CommandKind::WithdrawToBank(kind::WithdrawToBank { user: ALICE, amount: amount(1_000) })).1.unwrap();
    assert!(!fired(&ledger), "a little of the balance");
}

/// A merchant paying another merchant moves settlement with its provenance and is scored as
/// money leaving the payer; a merchant cannot pay itself.
#[test]
fn a_merchant_paying_another_is_scored_as_a_payout() {
    let mut ledger = Ledger::with_rules();
    let rule = "merchant.category == \"virtual_goods\" && event.amount_minor >= 10000";
    ledger.ok(CommandKind::InstallRules(kind::InstallRules {
        rules: Box::new(one_rule(rule, EventKind::PayoutMerchant, 100)),
    }));
    ledger.pay(ALICE, GIFT_CARDS, 30_000).1.unwrap();
    let pay = |amount_minor| {
        CommandKind::MerchantToMerchant(kind::MerchantToMerchant {
            merchant: GIFT_CARDS,
            to: SCHOOL,
            amount: amount(amount_minor),
        })
    };
    ledger.ok(pay(5_000));
    assert_eq!((ledger.settlement(GIFT_CARDS), ledger.settlement(SCHOOL)), (25_000, 5_000));
    let (_, outcome) = ledger.run(pay(20_000));
    assert_eq!(outcome, Err(Rejection::RiskDenied));
    assert_eq!(ledger.settlement(SCHOOL), 5_000);
    let itself = CommandKind::MerchantToMerchant(kind::MerchantToMerchant {
        merchant: SCHOOL,
        to: SCHOOL,
        amount: amount(1_000),
    });
    ledger.rejected(itself, Rejection::SelfTransfer);
    ledger.engine.check_invariants().unwrap();
}

/// The evidence holds the value of every feature a fired rule names, also one the rule never read
/// because its first term decided: the value it would have read.
#[test]
fn evidence_holds_every_named_feature_read_or_not() {
    let value_of = |expression: &str| {
        let mut ledger = Ledger::with_rules();
        ledger.ok(CommandKind::InstallRules(kind::InstallRules {
            rules: Box::new(one_rule(expression, EventKind::Pay, 100)),
        }));
        let (_, outcome) =
            ledger.run(CommandKind::Pay(kind::Pay { user: ALICE, merchant: SHOP, funding: funding(1_000, 0) }));
        assert_eq!(outcome, Err(Rejection::RiskDenied), "{expression}");
        let readings = &ledger.engine.last_decision().unwrap().readings;
        let reading = readings.iter().find(|reading| reading.feature == "user.credit_limit_minor");
        reading.map(|reading| reading.value.clone()).expect("the named feature has a reading")
    };
    let read = value_of("user.credit_limit_minor >= 0 && event.amount_minor > 0");
    let passed_over = value_of("event.amount_minor > 0 || user.credit_limit_minor < 0");
    assert_eq!(passed_over, read);
    assert_ne!(read, "0", "the fixture gives Alice a credit line");
}

#[test]
fn a_challenge_waits_for_verification_or_expires() {
    let mut ledger = Ledger::with_rules();
    let rules = one_rule("event.amount_minor >= 500000", EventKind::Pay, 40);
    ledger.ok(CommandKind::InstallRules(kind::InstallRules { rules: Box::new(rules) }));
    let (challenge, outcome) = ledger.pay(ALICE, GIFT_CARDS, 600_000);
    assert!(matches!(outcome, Ok(Accepted::Challenged { .. })), "{outcome:?}");
    assert_eq!(ledger.engine.user(ALICE).unwrap().account.credit_used_minor, 0, "nothing moves before verification");
    ledger.rejected(
        CommandKind::VerifyChallenge(kind::VerifyChallenge { user: BOB, challenge }),
        Rejection::UnknownChallenge,
    );
    let (_, verified) = ledger.ok(CommandKind::VerifyChallenge(kind::VerifyChallenge { user: ALICE, challenge }));
    assert_eq!(verified, Accepted::Split { credit_minor: 600_000, balance_minor: 0 });
    let (challenge, _) = ledger.pay(ALICE, GIFT_CARDS, 500_000);
    ledger.wait(11 * 60 * 1000);
    ledger.ok(CommandKind::Tick);
    ledger.rejected(
        CommandKind::VerifyChallenge(kind::VerifyChallenge { user: ALICE, challenge }),
        Rejection::UnknownChallenge,
    );
    assert!(ledger.engine.parked(challenge).is_none());
}

#[test]
fn a_bad_rules_file_is_refused_and_the_old_rules_keep_running() {
    let mut ledger = Ledger::with_rules();
    let mut broken = default_rules();
    let in_force = broken.version;
    broken.version = in_force + 1;
    let index = broken.rules.iter().position(|rule| rule.id == "b_money_back_to_payer").unwrap();
    broken.rules[index].expression = "event.loopback_minor > \"a lot\"".into();
    let error = broken.validate().expect_err("a string is not a number");
    assert_eq!(error.rule, Some(index));
    assert!(error.message.contains("b_money_back_to_payer"), "{}", error.message);
    ledger.rejected(CommandKind::InstallRules(kind::InstallRules { rules: Box::new(broken) }), Rejection::InvalidRules);
    ledger.rejected(
        CommandKind::InstallRules(kind::InstallRules { rules: Box::new(default_rules()) }),
        Rejection::RulesVersionOrder,
    );
    assert_eq!(ledger.engine.rules().unwrap().version, in_force);
    ledger.pay(ALICE, SHOP, 1_000).1.unwrap();
    assert_eq!(ledger.engine.last_decision().unwrap().rules_version, in_force);
}

/// A command log per typology script, each from a fresh engine.
fn scenario_logs() -> Vec<Vec<Command>> {
    let tests: [fn() -> Ledger; 4] = [
        || {
            let mut ledger = Ledger::with_rules();
            cycle_twice_among_returns(&mut ledger);
            let _held = ledger.pay(ALICE, GIFT_CARDS, 200_000);
            ledger
        },
        || {
            let mut ledger = Ledger::with_rules();
            buy_for_others(&mut ledger, 930_000);
            let _held =
                ledger.run(CommandKind::WithdrawToBank(kind::WithdrawToBank { user: ALICE, amount: amount(279_000) }));
            ledger
        },
        || {
            let mut ledger = Ledger::with_rules();
            ledger.link(Party::User(ALICE), tie(TieKind::Device, 666));
            let _held = ledger.pay(ALICE, GIFT_CARDS, 950_000);
            ledger
        },
        || {
            let mut ledger = Ledger::with_rules();
            for member in 0..4u64 {
                ledger.open_user(UserId(50 + member), 500_000, 0);
                let _maybe_held = ledger.pay(UserId(50 + member), SMALL_SHOP, 500_000);
            }
            let _held = ledger.run(CommandKind::PayoutMerchant(kind::PayoutMerchant {
                merchant: SMALL_SHOP,
                amount: amount(1_000_000),
            }));
            ledger
        },
    ];
    tests.iter().map(|script| script().log).collect()
}

/// Replays a log: outcomes, decisions (as debug text) and the final state hash.
fn replay(log: &[Command], change: impl Fn(&CommandKind) -> CommandKind) -> (Vec<Outcome>, Vec<String>, Engine) {
    let mut engine = Engine::default();
    let (mut outcomes, mut decisions) = (Vec::new(), Vec::new());
    for command in log {
        let command = Command { kind: change(&command.kind), ..command.clone() };
        outcomes.push(engine.apply(&command, 0, &mut Vec::new()));
        decisions.push(format!("{:?}", engine.last_decision()));
    }
    (outcomes, decisions, engine)
}

#[test]
fn the_same_log_and_rules_replay_to_the_same_decisions_bit_for_bit() {
    for log in scenario_logs() {
        let (outcomes, decisions, engine) = replay(&log, Clone::clone);
        let stopped = |decision: &String| {
            ["kind: Challenge", "kind: Review", "kind: Deny"].iter().any(|kind| decision.contains(kind))
        };
        assert!(decisions.iter().any(stopped), "the log exercises decisions");
        let (again_outcomes, again_decisions, again) = replay(&log, Clone::clone);
        assert_eq!((outcomes, decisions), (again_outcomes, again_decisions));
        assert_eq!(engine.state_hash(), again.state_hash());
        let restored = Engine::restore(&engine.snapshot()).expect("the snapshot restores");
        assert_eq!(restored.state_hash(), engine.state_hash());
    }
}

#[test]
fn shadow_rules_are_recorded_but_never_change_an_outcome() {
    let without_rules = |kind: &CommandKind| match kind {
        CommandKind::InstallRules(kind::InstallRules { .. }) => CommandKind::Tick,
        other => other.clone(),
    };
    let all_shadow = |kind: &CommandKind| match kind {
        CommandKind::InstallRules(kind::InstallRules { rules }) => {
            let mut rules = rules.clone();
            rules.rules.iter_mut().for_each(|rule| rule.status = RuleStatus::Shadow);
            CommandKind::InstallRules(kind::InstallRules { rules })
        }
        other => other.clone(),
    };
    for log in scenario_logs() {
        let (plain, _, plain_engine) = replay(&log, without_rules);
        let (shadow, decisions, shadow_engine) = replay(&log, all_shadow);
        for (index, (plain, shadow)) in plain.iter().zip(&shadow).enumerate() {
            if !matches!(log[index].kind, CommandKind::InstallRules(kind::InstallRules { .. })) {
                assert_eq!(plain, shadow, "command {index}: {:?}", log[index].kind);
            }
        }
        assert!(
            decisions.iter().any(|decision| decision.contains("shadow: true")),
            "shadow rules fired and were recorded"
        );
        assert!(!decisions.iter().any(|decision| decision.contains("kind: Review")), "and decided nothing");
        // The plain run replaced each rules install by a tick, which leaves no idempotency record.
        let counts = |engine: &Engine| engine::Counts { remembered_ids: 0, ..engine.counts() };
        assert_eq!(counts(&plain_engine), counts(&shadow_engine));
        for user in [ALICE, BOB] {
            let (plain, shadow) = (plain_engine.user(user).unwrap(), shadow_engine.user(user).unwrap());
            let position = |user: engine::User| {
                (user.account.credit_used_minor, user.account.balance_minor, user.account.credit_frozen)
            };
            assert_eq!(position(plain), position(shadow));
        }
    }
}
