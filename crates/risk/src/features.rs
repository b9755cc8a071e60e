//! Online features: aggregates kept on each user and merchant as events apply, and the feature
//! catalog rules read.
//!
//! Memory is bounded per account: the short windows (1 hour to 7 days) read rings of the latest
//! [`RECENT_MAX`] purchases, inflows, payees and payers, so a count over a short window saturates
//! at that many; the 30-day windows read one bucket per UTC day, at most [`DAYS_KEPT`].

use crate::decide::ScoredEvent;
use crate::{Books, Risk};
use ledger::provenance::Origins;
use ledger::{Captured, Ledger, Refunded};
use model::risk::catalog::{Feature, Side};
use model::risk::{EventKind, Tie};
use model::{IdentityLevel, MerchantCategory, MerchantId, MerchantVerification, UserId};
use rules::{Type, Value};
use serde::{Deserialize, Serialize};

/// Entries each ring keeps.
pub const RECENT_MAX: usize = 16;
/// Day buckets kept: the 30-day windows.
pub const DAYS_KEPT: u32 = 30;
/// A refund this soon after its purchase is a fast refund.
pub const FAST_REFUND_MS: u64 = 24 * HOUR_MS;
/// An amount that is a multiple of this many minor units is round (100 CNY).
pub const ROUND_UNIT_MINOR: u64 = 10_000;
/// A credit payment using at least this share of the available credit is near the limit (ppm).
pub const NEAR_LIMIT_PPM: u64 = 800_000;

const HOUR_MS: u64 = 60 * 60 * 1000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// The latest entries of a kind, oldest overwritten first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ring<T> {
    items: Vec<T>,
    next: u8,
}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Ring { items: Vec::new(), next: 0 }
    }
}

impl<T> Ring<T> {
    fn push(&mut self, item: T) {
        if self.items.len() < RECENT_MAX {
            self.items.push(item);
        } else {
            self.items[self.next as usize] = item;
            self.next = ((self.next as usize + 1) % RECENT_MAX) as u8;
        }
    }

    /// The entries, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// Asks the CPU for the entries (see [`ledger::prefetch`]).
    fn prefetch(&self) {
        ledger::prefetch::slice(&self.items);
    }

    /// The entry pushed last.
    fn last(&self) -> Option<&T> {
        match self.items.len() < RECENT_MAX {
            true => self.items.last(),
            false => self.items.get((self.next as usize + RECENT_MAX - 1) % RECENT_MAX),
        }
    }
}

/// A credit or balance purchase, as the user's recent-purchase ring keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    /// When it was captured.
    pub time_ms: u64,
    /// The merchant paid.
    pub merchant: MerchantId,
    /// The credit-funded part.
    pub credit_minor: u64,
}

/// An order for someone not tied to the payer, made or attempted: a held, challenged or refused
/// order still asked for the payer's money on a stranger's behalf, and its payback still comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderForOther {
    /// When it was asked for.
    pub time_ms: u64,
    /// Its price, credit and balance.
    pub amount_minor: u64,
    /// The part asked of the credit line.
    pub credit_minor: u64,
    /// Whom it was for: who should pay it back.
    pub beneficiary: Tie,
}

/// Money that came in by P2P transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inflow {
    /// When.
    pub time_ms: u64,
    /// From whom.
    pub from: UserId,
    /// Minor units received.
    pub amount_minor: u64,
}

/// Money sent by P2P transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outflow {
    /// When.
    pub time_ms: u64,
    /// To whom.
    pub to: UserId,
    /// Minor units sent.
    pub amount_minor: u64,
}

/// A user's activity on one UTC day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDay {
    /// Days since the epoch (UTC).
    pub day: u32,
    /// Credit-funded purchase amount.
    pub credit_minor: u64,
    /// Purchase amount, credit and balance.
    pub spend_minor: u64,
    /// Refunds received (counts saturate at `u16::MAX` a day).
    pub refunds: u16,
    /// Refunds within [`FAST_REFUND_MS`] of their purchase.
    pub fast_refunds: u16,
    /// Of those, refunds of virtual goods or recharges (gift cards and top-ups: cash-like).
    pub fast_liquid_refunds: u16,
    /// Refunds of virtual goods or recharges however late: cash-like goods are rarely returned
    /// at all.
    pub liquid_refunds: u16,
    /// Refunded amount.
    pub refund_minor: u64,
}

/// A merchant's activity on one UTC day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantDay {
    /// Days since the epoch (UTC).
    pub day: u32,
    /// Captured sales.
    pub sales_minor: u64,
    /// The credit-funded part of the sales.
    pub credit_minor: u64,
    /// Refunds paid.
    pub refund_minor: u64,
    /// Paid out to the bank.
    pub payout_minor: u64,
}

/// Risk aggregates and account-action flags kept on a user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRisk {
    /// The user's tie group (0: none).
    pub group: u32,
    /// Tie kinds the user has bound, a bit per `TieKind`.
    pub bound_kinds: u8,
    /// When a phone, card, identity or payout account was last added next to an existing one.
    pub binding_changed_at_ms: Option<u64>,
    /// When a device was last added next to an existing one.
    pub new_device_at_ms: Option<u64>,
    /// When a money movement of the user was last refused: denied by the rules, or a refused
    /// attempt another system recorded.
    pub refused_at_ms: Option<u64>,
    /// The latest device.
    pub device: Option<u64>,
    /// Accounts sharing the latest device (kept current as others link it).
    pub device_accounts: u16,
    /// When the latest fast refund came.
    pub fast_refund_at_ms: Option<u64>,
    /// When the latest refund of virtual goods or a recharge came.
    pub liquid_refund_at_ms: Option<u64>,
    /// The latest purchases.
    pub purchases: Ring<Purchase>,
    /// The latest orders for others, made or attempted.
    pub orders_for_others: Ring<OrderForOther>,
    /// The latest incoming transfers.
    pub inflows: Ring<Inflow>,
    /// The latest outgoing transfers.
    pub payees: Ring<Outflow>,
    /// Day buckets, oldest first, at most [`DAYS_KEPT`].
    pub days: Vec<UserDay>,
    /// On the watch-list, and what for, by [`model::risk::catalog::WATCH_REASONS`] (0: not on it; the first reason
    /// while on it).
    pub watch_reason: u8,
    /// Credit frozen by a risk action (lifted by `LiftAction`).
    pub frozen_by_risk: bool,
    /// The limit before a risk cut, restored when the cut is lifted.
    pub cut_from_limit_minor: Option<u64>,
    /// The score was lowered by a risk action.
    pub score_lowered: bool,
    /// When each risk action in force lapses, by `AccountAction::index`: 0 when it is not in
    /// force, `risk::KEPT` when a case decided as fraud keeps it.
    pub lapse_at_ms: [u64; 4],
}

/// Risk aggregates kept on a merchant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantRisk {
    /// The merchant's tie group (0: none).
    pub group: u32,
    /// Day buckets, oldest first, at most [`DAYS_KEPT`].
    pub days: Vec<MerchantDay>,
    /// The latest payers, with the time.
    pub payers: Ring<(u64, UserId)>,
    /// The latest payers whose credit payment was round and near their available credit.
    pub ring_payers: Ring<(u64, UserId)>,
}

/// The bucket for `day`, appended if missing; buckets older than the window are dropped.
fn day_bucket<T: Default + Copy>(days: &mut Vec<T>, day: u32, day_of: fn(&T) -> u32, new: fn(u32) -> T) -> &mut T {
    if days.last().is_none_or(|last| day_of(last) != day) {
        days.retain(|bucket| day_of(bucket) + DAYS_KEPT > day);
        days.push(new(day));
    }
    days.last_mut().expect("a bucket was just ensured")
}

pub(crate) fn utc_day(time_ms: u64) -> u32 {
    (time_ms / DAY_MS) as u32
}

impl UserRisk {
    /// Whether the user is on the watch-list.
    pub fn watchlisted(&self) -> bool {
        self.watch_reason != 0
    }

    /// The account actions in force on the user, each with when it lapses (`None`: kept until
    /// an analyst lifts it).
    pub fn actions_in_force(&self) -> impl Iterator<Item = (model::risk::AccountAction, Option<u64>)> + '_ {
        model::risk::AccountAction::ALL.into_iter().filter_map(|action| match self.lapse_at_ms[action.index()] {
            0 => None,
            crate::KEPT => Some((action, None)),
            lapse_at_ms => Some((action, Some(lapse_at_ms))),
        })
    }

    /// Asks the CPU for the aggregates on the heap (see [`ledger::prefetch`]): the rings, and of
    /// the day buckets only the latest, which the ledger writes (asking for all 30 cost more
    /// instructions than the rarer 30-day reads saved waiting).
    pub(crate) fn prefetch(&self) {
        self.purchases.prefetch();
        self.inflows.prefetch();
        self.payees.prefetch();
        if let Some(latest) = self.days.last() {
            ledger::prefetch::record(latest);
        }
    }

    fn day(&mut self, day: u32) -> &mut UserDay {
        day_bucket(&mut self.days, day, |bucket| bucket.day, |day| UserDay { day, ..UserDay::default() })
    }

    /// Records a captured purchase.
    pub(crate) fn on_purchase(&mut self, purchase: Purchase, total_minor: u64) {
        let bucket = self.day(utc_day(purchase.time_ms));
        bucket.credit_minor = bucket.credit_minor.saturating_add(purchase.credit_minor);
        bucket.spend_minor = bucket.spend_minor.saturating_add(total_minor);
        self.purchases.push(purchase);
    }

    /// Records a refund of a purchase captured at `captured_at_ms`; `liquid` when the merchant
    /// sells virtual goods or recharges.
    pub(crate) fn on_refund(&mut self, now_ms: u64, captured_at_ms: u64, amount_minor: u64, liquid: bool) {
        let bucket = self.day(utc_day(now_ms));
        bucket.refunds = bucket.refunds.saturating_add(1);
        let fast = now_ms.saturating_sub(captured_at_ms) < FAST_REFUND_MS;
        bucket.fast_refunds = bucket.fast_refunds.saturating_add(u16::from(fast));
        bucket.fast_liquid_refunds = bucket.fast_liquid_refunds.saturating_add(u16::from(fast && liquid));
        bucket.liquid_refunds = bucket.liquid_refunds.saturating_add(u16::from(liquid));
        bucket.refund_minor = bucket.refund_minor.saturating_add(amount_minor);
        if fast {
            self.fast_refund_at_ms = Some(now_ms);
        }
        if liquid {
            self.liquid_refund_at_ms = Some(now_ms);
        }
    }

    /// Records an order for someone not tied to the user when it is asked for, whatever the
    /// decision.
    pub(crate) fn on_order_for_other(&mut self, order: OrderForOther) {
        self.orders_for_others.push(order);
    }

    /// Records an incoming transfer.
    pub(crate) fn on_inflow(&mut self, inflow: Inflow) {
        self.inflows.push(inflow);
    }

    /// Records an outgoing transfer.
    pub(crate) fn on_payee(&mut self, outflow: Outflow) {
        self.payees.push(outflow);
    }
}

impl MerchantRisk {
    /// Asks the CPU for the aggregates on the heap, as [`UserRisk::prefetch`] does.
    pub(crate) fn prefetch(&self) {
        self.payers.prefetch();
        self.ring_payers.prefetch();
        if let Some(latest) = self.days.last() {
            ledger::prefetch::record(latest);
        }
    }

    fn day(&mut self, day: u32) -> &mut MerchantDay {
        day_bucket(&mut self.days, day, |bucket| bucket.day, |day| MerchantDay { day, ..MerchantDay::default() })
    }

    /// Records a captured sale; `ring_like` when it was round and near the payer's available credit.
    pub(crate) fn on_sale(&mut self, now_ms: u64, payer: UserId, total_minor: u64, credit_minor: u64, ring_like: bool) {
        let bucket = self.day(utc_day(now_ms));
        bucket.sales_minor = bucket.sales_minor.saturating_add(total_minor);
        bucket.credit_minor = bucket.credit_minor.saturating_add(credit_minor);
        self.payers.push((now_ms, payer));
        if ring_like {
            self.note_ring_payer(now_ms, payer);
        }
    }

    /// Records a payer whose credit payment (made or attempted) was round and near their limit.
    /// A payment the rules saw as an attempt and that then posts, in the same command, is one
    /// entry, not two.
    pub(crate) fn note_ring_payer(&mut self, now_ms: u64, payer: UserId) {
        if self.ring_payers.last() != Some(&(now_ms, payer)) {
            self.ring_payers.push((now_ms, payer));
        }
    }

    /// Records a refund paid.
    pub(crate) fn on_refund(&mut self, now_ms: u64, amount_minor: u64) {
        let bucket = self.day(utc_day(now_ms));
        bucket.refund_minor = bucket.refund_minor.saturating_add(amount_minor);
    }

    /// Records a payout to the bank.
    pub(crate) fn on_payout(&mut self, now_ms: u64, amount_minor: u64) {
        let bucket = self.day(utc_day(now_ms));
        bucket.payout_minor = bucket.payout_minor.saturating_add(amount_minor);
    }
}

/// Whether a credit payment is round and near the payer's available credit (ring behaviour).
pub(crate) fn ring_like(total_minor: u64, credit_minor: u64, available_before_minor: i128) -> bool {
    let round = total_minor.is_multiple_of(ROUND_UNIT_MINOR);
    let near = available_before_minor > 0
        && (credit_minor as i128) * 1_000_000 >= available_before_minor * NEAR_LIMIT_PPM as i128;
    round && near
}

/// Feature values for one event: a few filled in when it is made, the rest computed on first
/// read.
pub(crate) struct Context<'a> {
    books: Books<'a>,
    event: &'a ScoredEvent,
    cache: [Option<Value>; Feature::ALL.len()],
}

/// A feature of a side the event does not have (a transfer's merchant, a payout's user): 0,
/// false or the first name (`"none"`), as docs/rules.md says.
fn absent(feature: Feature) -> Value {
    match feature.ty() {
        Type::Bool => Value::Bool(false),
        Type::Double => Value::Double(0.0),
        Type::Symbol(_) => Value::Symbol(0),
        Type::Int => Value::Int(0),
    }
}

fn ratio(numerator: u64, denominator: u64) -> Value {
    Value::Double(if denominator == 0 { 0.0 } else { numerator as f64 / denominator as f64 })
}

fn int(value: u64) -> Value {
    Value::Int(i64::try_from(value).unwrap_or(i64::MAX))
}

fn since(now_ms: u64, at_ms: Option<u64>) -> Value {
    at_ms.map_or(Value::Int(i64::MAX), |at_ms| int(now_ms.saturating_sub(at_ms)))
}

/// Distinct items among a ring's entries (at most [`RECENT_MAX`]), counted on the stack: this
/// runs while a command is scored, where a heap allocation per feature read is not wanted.
fn distinct<T: PartialEq + Copy>(items: impl Iterator<Item = T>) -> u64 {
    let mut seen = [None; RECENT_MAX];
    let mut count = 0;
    for item in items.take(RECENT_MAX) {
        if !seen[..count].contains(&Some(item)) {
            seen[count] = Some(item);
            count += 1;
        }
    }
    count as u64
}

impl rules::Features for Context<'_> {
    /// A cached value inline; computing one is out of line (most reads after the first hit).
    #[inline]
    fn value(&mut self, slot: u16) -> Value {
        match self.cache[slot as usize] {
            Some(value) => value,
            None => self.fill(slot),
        }
    }
}

/// Features read straight off the event and its accounts' records, filled in when a context is
/// made: nearly every rule opens with one of them, and each costs a few instructions where a
/// first read costs a call to compute it.
const FILLED_UP_FRONT: [Feature; 9] = [
    Feature::EventKindName,
    Feature::EventAmount,
    Feature::EventCredit,
    Feature::EventRound,
    Feature::EventBeneficiaryKind,
    Feature::DeviceAccounts,
    Feature::UserWatchlisted,
    Feature::MerchantCategoryName,
    Feature::MerchantCertified,
];

impl<'a> Context<'a> {
    /// The context of `event`, with the features [`FILLED_UP_FRONT`] filled in.
    pub(crate) fn new(books: Books<'a>, event: &'a ScoredEvent) -> Context<'a> {
        let mut context = Context { books, event, cache: [None; Feature::ALL.len()] };
        for feature in FILLED_UP_FRONT {
            context.cache[feature as usize] = Some(context.compute(feature));
        }
        context
    }

    #[inline(never)]
    fn fill(&mut self, slot: u16) -> Value {
        let value = self.compute(Feature::ALL[slot as usize]);
        self.cache[slot as usize] = Some(value);
        value
    }

    fn compute(&self, feature: Feature) -> Value {
        match feature.side() {
            Side::Event => self.event_feature(feature),
            Side::User => self.user_feature(feature),
            Side::Merchant => self.merchant_feature(feature),
        }
    }

    fn event_feature(&self, feature: Feature) -> Value {
        let (books, event) = (self.books, self.event);
        let user = event.user.map(|slot| &books.ledger.users()[slot]);
        let risk = event.user.map(|slot| &books.risk.users[slot]);
        match feature {
            Feature::EventKindName => Value::Symbol(event.kind as u16),
            Feature::EventAmount => int(event.amount_minor),
            Feature::EventCredit => int(event.credit_minor),
            Feature::EventRound => Value::Bool(event.amount_minor.is_multiple_of(ROUND_UNIT_MINOR)),
            Feature::EventCreditToAvailable => match user {
                Some(user) if event.credit_minor > 0 => {
                    let available = user.credit_available_minor().max(0) as u64;
                    if available == 0 { Value::Double(f64::INFINITY) } else { ratio(event.credit_minor, available) }
                }
                _ => Value::Double(0.0),
            },
            Feature::EventBeneficiaryKind => Value::Symbol(event.beneficiary.map_or(0, |tie| tie.kind as u16 + 1)),
            Feature::EventBeneficiaryTied => Value::Bool(match (event.beneficiary, user) {
                (Some(tie), Some(user)) => books.tie_belongs_to(tie, model::risk::Party::User(user.id)),
                _ => false,
            }),
            Feature::EventCounterpartyTied => {
                let other_group = match (event.merchant, event.payee) {
                    (Some(merchant), _) => books.risk.merchants[merchant].group,
                    (None, Some(payee)) => books.risk.users[payee].group,
                    _ => 0,
                };
                Value::Bool(risk.is_some_and(|risk| risk.group != 0 && risk.group == other_group))
            }
            Feature::EventCounterpartyFirstSeen => Value::Bool(match (risk, event.merchant, event.payee) {
                (Some(risk), Some(merchant), _) => {
                    let id = books.ledger.merchants()[merchant].id;
                    !risk.purchases.iter().any(|purchase| purchase.merchant == id)
                }
                (Some(risk), None, Some(payee)) => {
                    let id = books.ledger.users()[payee].id;
                    !risk.payees.iter().any(|outflow| outflow.to == id)
                }
                _ => false,
            }),
            Feature::EventLoopback => int(self.loopback_minor()),
            Feature::EventCreditShare => match self.moving_credit() {
                Some((slice, _)) => ratio(slice.credit_minor(), event.amount_minor),
                None => Value::Double(0.0),
            },
            Feature::EventPayeeWatchReason => {
                Value::Symbol(event.payee.map_or(0, |payee| u16::from(books.risk.users[payee].watch_reason)))
            }
            Feature::EventPayeeAgeDays => match event.payee {
                Some(payee) => int(books.now_ms.saturating_sub(books.ledger.users()[payee].opened_at_ms) / DAY_MS),
                None => Value::Int(0),
            },
            Feature::EventDrainShare => match (event.kind, user, event.merchant) {
                (EventKind::Transfer | EventKind::WithdrawToBank, Some(user), _) => {
                    ratio(event.amount_minor, user.balance_available_minor())
                }
                (EventKind::PayoutMerchant, _, Some(merchant)) => {
                    ratio(event.amount_minor, books.ledger.merchants()[merchant].settlement_minor)
                }
                _ => self.event_feature(Feature::EventCreditToAvailable),
            },
            Feature::EventDrainShare24h => match (event.kind, user.zip(risk)) {
                (EventKind::Transfer | EventKind::WithdrawToBank, Some((user, risk))) => {
                    let sent_minor = sent_since(risk, books.now_ms.saturating_sub(DAY_MS));
                    let held_minor = user.balance_available_minor().saturating_add(sent_minor);
                    ratio(event.amount_minor.saturating_add(sent_minor), held_minor)
                }
                _ => self.event_feature(Feature::EventDrainShare),
            },
            Feature::EventFlowThrough24h => match (event.kind, risk) {
                (EventKind::Transfer | EventKind::WithdrawToBank, Some(risk)) => {
                    let horizon = books.now_ms.saturating_sub(DAY_MS);
                    let inflows = risk.inflows.iter().filter(|inflow| inflow.time_ms >= horizon);
                    let sent_minor = sent_since(risk, horizon);
                    ratio(
                        event.amount_minor.saturating_add(sent_minor),
                        inflows.map(|inflow| inflow.amount_minor).sum(),
                    )
                }
                _ => Value::Double(0.0),
            },
            Feature::EventReturningCreditShare => ratio(self.returning_credit().0, event.amount_minor),
            Feature::EventReturningCreditHops => int(u64::from(self.returning_credit().1)),
            Feature::EventReturningCreditAge => since(books.now_ms, self.returning_credit().2),
            Feature::PairPurchases => match (risk, event.merchant) {
                (Some(risk), Some(merchant)) => {
                    let id = books.ledger.merchants()[merchant].id;
                    int(risk.purchases.iter().filter(|purchase| purchase.merchant == id).count() as u64)
                }
                _ => Value::Int(0),
            },
            Feature::DeviceAccounts => Value::Int(risk.map_or(0, |risk| i64::from(risk.device_accounts))),
            other => unreachable!("{} is not an event feature", other.name()),
        }
    }

    /// The provenance slice the event would move, and who receives it: the withdrawing user, the
    /// payee of a transfer, the merchant paid out. `None` for other events, and for amounts the
    /// account does not hold (the handler refuses those).
    fn moving_credit(&self) -> Option<(Origins, model::risk::Party)> {
        let (books, event) = (self.books, self.event);
        let (provenance, held, receiver) = match (event.kind, event.user, event.merchant, event.payee) {
            (EventKind::Transfer, Some(from), _, Some(to)) => {
                let (payer, payee) = (&books.ledger.users()[from], &books.ledger.users()[to]);
                (payer.provenance.origins(), payer.balance_minor, model::risk::Party::User(payee.id))
            }
            (EventKind::WithdrawToBank, Some(slot), _, _) => {
                let user = &books.ledger.users()[slot];
                (user.provenance.origins(), user.balance_minor, model::risk::Party::User(user.id))
            }
            (EventKind::PayoutMerchant, _, Some(slot), _) => {
                let merchant = &books.ledger.merchants()[slot];
                (Some(&merchant.provenance), merchant.settlement_minor, model::risk::Party::Merchant(merchant.id))
            }
            (EventKind::MerchantTransfer, _, Some(slot), Some(to)) => {
                let merchant = &books.ledger.merchants()[slot];
                (
                    Some(&merchant.provenance),
                    merchant.settlement_minor,
                    model::risk::Party::User(books.ledger.users()[to].id),
                )
            }
            _ => return None,
        };
        let mut origins = *provenance?;
        (event.amount_minor <= held).then(|| (origins.take(event.amount_minor, held), receiver))
    }

    /// What of the moving slice was drawn by the receiver or an account tied to it: (minor units,
    /// most hops, earliest draw time).
    fn returning_credit(&self) -> (u64, u8, Option<u64>) {
        let Some((slice, receiver)) = self.moving_credit() else { return (0, 0, None) };
        let returning = slice.named().filter(|origin| self.books.tied(model::risk::Party::User(origin.user), receiver));
        returning.fold((0, 0, None), |(amount, hops, earliest): (u64, u8, Option<u64>), origin| {
            let earliest = Some(earliest.map_or(origin.drawn_at_ms, |at: u64| at.min(origin.drawn_at_ms)));
            (amount + origin.amount_minor, hops.max(origin.hops), earliest)
        })
    }

    /// See [`Feature::EventLoopback`]. Money can only loop back through a tie group holding a
    /// merchant, so senders and merchants outside one (nearly all) answer 0 at once; a merchant's
    /// transfer to a user is looped back when the user's own group paid that merchant.
    fn loopback_minor(&self) -> u64 {
        let (books, event) = (self.books, self.event);
        let holds_merchant = |group: u32| {
            group != 0
                && books.risk.ties.groups[group as usize - 1]
                    .iter()
                    .any(|member| matches!(member, model::risk::Party::Merchant(_)))
        };
        let horizon = books.now_ms.saturating_sub(7 * DAY_MS);
        let recent_credit_at = |user: UserId, merchant: &dyn Fn(MerchantId) -> bool| -> u64 {
            let Some(slot) = books.ledger.user_slot(user) else { return 0 };
            let purchases = books.risk.users[slot as usize].purchases.iter();
            purchases
                .filter(|purchase| purchase.time_ms >= horizon && merchant(purchase.merchant))
                .map(|purchase| purchase.credit_minor)
                .sum()
        };
        let group_users = |party: model::risk::Party| -> Vec<UserId> {
            let members = books.tied_parties(party);
            let mut users: Vec<UserId> = members
                .iter()
                .filter_map(|member| match member {
                    model::risk::Party::User(user) => Some(*user),
                    model::risk::Party::Merchant(_) => None,
                })
                .collect();
            if let model::risk::Party::User(user) = party
                && users.is_empty()
            {
                users.push(user);
            }
            users
        };
        let credit_of_group_at = |party: model::risk::Party, merchant: &dyn Fn(MerchantId) -> bool| -> u64 {
            group_users(party).into_iter().map(|user| recent_credit_at(user, merchant)).sum()
        };
        match (event.kind, event.user, event.payee, event.merchant) {
            (EventKind::Transfer, Some(sender), Some(payee), _) if holds_merchant(books.risk.users[sender].group) => {
                let sender = model::risk::Party::User(books.ledger.users()[sender].id);
                let tied_to_sender = |merchant: MerchantId| books.tied(sender, model::risk::Party::Merchant(merchant));
                credit_of_group_at(model::risk::Party::User(books.ledger.users()[payee].id), &tied_to_sender)
            }
            (EventKind::PayoutMerchant, _, _, Some(merchant))
                if holds_merchant(books.risk.merchants[merchant].group) =>
            {
                let id = books.ledger.merchants()[merchant].id;
                credit_of_group_at(model::risk::Party::Merchant(id), &|paid| paid == id)
            }
            (EventKind::MerchantTransfer, _, Some(payee), Some(merchant)) => {
                let id = books.ledger.merchants()[merchant].id;
                credit_of_group_at(model::risk::Party::User(books.ledger.users()[payee].id), &|paid| paid == id)
            }
            _ => 0,
        }
    }

    fn merchant_feature(&self, feature: Feature) -> Value {
        let books = self.books;
        let Some(slot) = self.event.merchant else { return absent(feature) };
        let (merchant, risk) = (&books.ledger.merchants()[slot], &books.risk.merchants[slot]);
        let now_ms = books.now_ms;
        let today = utc_day(now_ms);
        let window = |days: u32| risk.days.iter().filter(move |bucket| bucket.day + days > today);
        let payers_since = |ring: &Ring<(u64, UserId)>, window_ms: u64| {
            let horizon = now_ms.saturating_sub(window_ms);
            int(distinct(ring.iter().filter(|(time_ms, _)| *time_ms >= horizon).map(|(_, payer)| *payer)))
        };
        match feature {
            Feature::MerchantCategoryName => Value::Symbol(category_symbol(merchant.category)),
            Feature::MerchantCertified => Value::Bool(merchant.verification == MerchantVerification::Certified),
            Feature::MerchantPartner => Value::Bool(merchant.partner),
            Feature::MerchantAgeDays => int(now_ms.saturating_sub(merchant.opened_at_ms) / DAY_MS),
            Feature::MerchantTiedAccounts => {
                int(books.tied_parties(model::risk::Party::Merchant(merchant.id)).len().saturating_sub(1) as u64)
            }
            Feature::MerchantSales30d => int(window(DAYS_KEPT).map(|bucket| bucket.sales_minor).sum()),
            Feature::MerchantCreditShare30d => {
                let (credit, sales) = window(DAYS_KEPT).fold((0u64, 0u64), |(credit, sales), bucket| {
                    (credit.saturating_add(bucket.credit_minor), sales.saturating_add(bucket.sales_minor))
                });
                ratio(credit, sales)
            }
            Feature::MerchantRefundRatio30d => {
                let (refunds, sales) = window(DAYS_KEPT).fold((0u64, 0u64), |(refunds, sales), bucket| {
                    (refunds.saturating_add(bucket.refund_minor), sales.saturating_add(bucket.sales_minor))
                });
                ratio(refunds, sales)
            }
            Feature::MerchantPayers24h => payers_since(&risk.payers, DAY_MS),
            Feature::MerchantDistinctPayersRecent => payers_since(&risk.payers, u64::MAX),
            Feature::MerchantRingPayers7d => payers_since(&risk.ring_payers, 7 * DAY_MS),
            Feature::MerchantPayout24h => int(window(2).map(|bucket| bucket.payout_minor).sum()),
            other => unreachable!("{} is not a merchant feature", other.name()),
        }
    }

    fn user_feature(&self, feature: Feature) -> Value {
        let books = self.books;
        let Some(slot) = self.event.user else { return absent(feature) };
        let (user, risk) = (&books.ledger.users()[slot], &books.risk.users[slot]);
        let now_ms = books.now_ms;
        let today = utc_day(now_ms);
        let month = || risk.days.iter().filter(move |bucket| bucket.day + DAYS_KEPT > today);
        let week_horizon = now_ms.saturating_sub(7 * DAY_MS);
        let for_others = || risk.orders_for_others.iter().filter(move |order| order.time_ms >= week_horizon);
        let inflows = || risk.inflows.iter().filter(move |inflow| inflow.time_ms >= week_horizon);
        match feature {
            Feature::UserAgeDays => int(now_ms.saturating_sub(user.opened_at_ms) / DAY_MS),
            Feature::UserIdentity => Value::Symbol(match user.identity {
                IdentityLevel::Unverified => 1,
                IdentityLevel::Basic => 2,
                IdentityLevel::Full => 3,
            }),
            Feature::UserScore => Value::Int(i64::from(books.lines[slot].score.score)),
            Feature::UserWatchlisted => Value::Bool(risk.watchlisted()),
            Feature::UserWatchReason => Value::Symbol(u16::from(risk.watch_reason)),
            Feature::UserTiedAccounts => {
                int(books.tied_parties(model::risk::Party::User(user.id)).len().saturating_sub(1) as u64)
            }
            Feature::UserTiedWatchlisted => {
                let others =
                    books.tied_parties(model::risk::Party::User(user.id)).iter().filter_map(|party| match party {
                        model::risk::Party::User(other) if *other != user.id => books.ledger.user_slot(*other),
                        _ => None,
                    });
                int(others.filter(|slot| books.risk.users[*slot as usize].watchlisted()).count() as u64)
            }
            Feature::UserSinceBindingChange => since(now_ms, risk.binding_changed_at_ms),
            Feature::UserSinceNewDevice => since(now_ms, risk.new_device_at_ms),
            Feature::UserSinceRefusedAttempt => since(now_ms, risk.refused_at_ms),
            Feature::UserPayments1h => {
                int(risk.purchases.iter().filter(|purchase| purchase.time_ms + HOUR_MS > now_ms).count() as u64)
            }
            Feature::UserCreditSpend24h => int(risk
                .purchases
                .iter()
                .filter(|purchase| purchase.time_ms + DAY_MS > now_ms)
                .map(|p| p.credit_minor)
                .sum()),
            Feature::UserCreditSpend30d => int(month().map(|bucket| bucket.credit_minor).sum()),
            Feature::UserRefunds30d => int(month().map(|bucket| u64::from(bucket.refunds)).sum()),
            Feature::UserFastRefunds30d => int(month().map(|bucket| u64::from(bucket.fast_refunds)).sum()),
            Feature::UserSinceFastRefund => since(now_ms, risk.fast_refund_at_ms),
            Feature::UserLiquidRefunds30d => int(month().map(|bucket| u64::from(bucket.liquid_refunds)).sum()),
            Feature::UserSinceLiquidRefund => since(now_ms, risk.liquid_refund_at_ms),
            Feature::UserFastLiquidRefunds30d => int(month().map(|bucket| u64::from(bucket.fast_liquid_refunds)).sum()),
            Feature::UserRefundRatio30d => {
                let (refunds, spent) = month().fold((0u64, 0u64), |(refunds, spent), bucket| {
                    (refunds.saturating_add(bucket.refund_minor), spent.saturating_add(bucket.spend_minor))
                });
                ratio(refunds, spent)
            }
            Feature::UserBeneficiaries7d => int(distinct(for_others().map(|order| order.beneficiary))),
            Feature::UserCreditForOthers7d => int(for_others().map(|order| order.credit_minor).sum()),
            Feature::UserInflow7d => int(inflows().map(|inflow| inflow.amount_minor).sum()),
            Feature::UserInflowSenders7d => int(distinct(inflows().map(|inflow| inflow.from))),
            Feature::UserSinceInflow => since(now_ms, risk.inflows.iter().map(|inflow| inflow.time_ms).max()),
            Feature::UserPayees1h => {
                int(distinct(risk.payees.iter().filter(|sent| sent.time_ms + HOUR_MS > now_ms).map(|sent| sent.to)))
            }
            Feature::UserPayees7d => {
                int(distinct(risk.payees.iter().filter(|sent| sent.time_ms >= week_horizon).map(|sent| sent.to)))
            }
            Feature::UserInflowToCreditForOthers7d => {
                ratio(inflows().map(|inflow| inflow.amount_minor).sum(), for_others().map(|p| p.credit_minor).sum())
            }
            Feature::UserDiscountedPaybacks30d => {
                int(discounted_paybacks(books, risk, now_ms.saturating_sub(30 * DAY_MS)))
            }
            Feature::UserLimit => int(user.limit_minor),
            other => unreachable!("{} is not a user feature", other.name()),
        }
    }

    /// The values of the features the fired rules name, as evidence: as read, or computed now
    /// for one a rule short-circuited past (features have no effects, so the value is the one
    /// the rule would have read).
    pub(crate) fn readings(&self, slots: impl Iterator<Item = u16>) -> Vec<model::risk::Reading> {
        let mut slots: Vec<u16> = slots.collect();
        slots.sort_unstable();
        slots.dedup();
        slots
            .into_iter()
            .map(|slot| {
                let feature = Feature::ALL[slot as usize];
                let value = match (self.cache[slot as usize].unwrap_or_else(|| self.compute(feature)), feature.ty()) {
                    (Value::Bool(value), _) => value.to_string(),
                    (Value::Int(value), _) => value.to_string(),
                    (Value::Double(value), _) => value.to_string(),
                    (Value::Symbol(index), Type::Symbol(names)) => names[index as usize].to_owned(),
                    (value, ty) => unreachable!("{} is {ty:?}, computed as {value:?}", feature.name()),
                };
                model::risk::Reading { feature: feature.name().to_owned(), value }
            })
            .collect()
    }
}

/// What the user sent by P2P transfer since `horizon` (of the latest 16 transfers).
fn sent_since(risk: &UserRisk, horizon: u64) -> u64 {
    risk.payees.iter().filter(|outflow| outflow.time_ms >= horizon).map(|outflow| outflow.amount_minor).sum()
}

/// See [`Feature::UserDiscountedPaybacks30d`]: inflows since `horizon` from the owner of an
/// earlier order's beneficiary, each counted once. A sender who paid one of their orders back in
/// full is settling up as a friend does, and their other transfers (gifts, shares of a bill) are
/// not paybacks. An inflow is judged only while the order ring still holds every order it could
/// pay back: with one evicted, the order it paid in full may be gone.
fn discounted_paybacks(books: Books<'_>, risk: &UserRisk, horizon: u64) -> u64 {
    const PAIR_MS: u64 = 7 * DAY_MS;
    let orders = &risk.orders_for_others;
    let full = orders.iter().count() == RECENT_MAX;
    let seen_since = if full { orders.iter().map(|order| order.time_ms).min().unwrap_or(0) } else { 0 };
    // Per mille of the order's price the transfer returns, when its sender may pay that order back.
    let returned = |inflow: &Inflow, order: &OrderForOther| {
        let paired = order.time_ms <= inflow.time_ms
            && inflow.time_ms - order.time_ms <= PAIR_MS
            && order.amount_minor > 0
            && books.tie_belongs_to(order.beneficiary, model::risk::Party::User(inflow.from));
        paired.then(|| u128::from(inflow.amount_minor) * 1000 / u128::from(order.amount_minor))
    };
    let shares = |inflow: Inflow| orders.iter().filter_map(move |order| returned(&inflow, order));
    let pays_in_full = |inflow: &Inflow| shares(*inflow).any(|share| (995..=1005).contains(&share));
    let settles_up = |sender: UserId| risk.inflows.iter().any(|inflow| inflow.from == sender && pays_in_full(inflow));
    let discounted = |inflow: &&Inflow| {
        inflow.time_ms.saturating_sub(PAIR_MS) >= seen_since
            && shares(**inflow).any(|share| (500..995).contains(&share))
            && !settles_up(inflow.from)
    };
    risk.inflows.iter().filter(|inflow| inflow.time_ms >= horizon).filter(discounted).count() as u64
}

fn category_symbol(category: MerchantCategory) -> u16 {
    match category {
        MerchantCategory::PhysicalGoods => 1,
        MerchantCategory::VirtualGoods => 2,
        MerchantCategory::Recharge => 3,
        MerchantCategory::Tuition => 4,
        MerchantCategory::Utilities => 5,
        MerchantCategory::Subscriptions => 6,
        MerchantCategory::Other => 7,
    }
}

/// The ledger's facts as the features observe them.
impl Risk {
    /// A captured payment: the payer's purchase and the merchant's sale.
    #[inline]
    pub fn on_captured(&mut self, ledger: &Ledger, captured: &Captured, now_ms: u64) {
        let Captured { user, merchant, funding, available_before_minor } = *captured;
        let total = funding.credit_minor + funding.balance_minor;
        let merchant_id = ledger.merchants()[merchant].id;
        let purchase = Purchase { time_ms: now_ms, merchant: merchant_id, credit_minor: funding.credit_minor };
        self.users[user].on_purchase(purchase, total);
        let ring = funding.credit_minor > 0 && ring_like(total, funding.credit_minor, available_before_minor);
        let payer = ledger.users()[user].id;
        self.merchants[merchant].on_sale(now_ms, payer, total, funding.credit_minor, ring);
    }

    /// A refund of `amount_minor`: fast and liquid refunds count towards the refund typologies.
    #[inline]
    pub fn on_refunded(&mut self, ledger: &Ledger, refunded: &Refunded, amount_minor: u64, now_ms: u64) {
        let Refunded { user, merchant, captured_at_ms, .. } = *refunded;
        let liquid = matches!(
            ledger.merchants()[merchant].category,
            MerchantCategory::VirtualGoods | MerchantCategory::Recharge
        );
        self.users[user].on_refund(now_ms, captured_at_ms, amount_minor, liquid);
        self.merchants[merchant].on_refund(now_ms, amount_minor);
    }

    /// A P2P transfer between two users' balances, by slot.
    #[inline]
    pub fn on_transfer(&mut self, ledger: &Ledger, (from, to): (usize, usize), amount_minor: u64, now_ms: u64) {
        let (from_id, to_id) = (ledger.users()[from].id, ledger.users()[to].id);
        self.users[to].on_inflow(Inflow { time_ms: now_ms, from: from_id, amount_minor });
        self.users[from].on_payee(Outflow { time_ms: now_ms, to: to_id, amount_minor });
    }

    /// Money out of a merchant's settlement account: to its bank or another merchant.
    #[inline]
    pub fn on_merchant_payout(&mut self, slot: usize, amount_minor: u64, now_ms: u64) {
        self.merchants[slot].on_payout(now_ms, amount_minor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_counts_each_value_once() {
        assert_eq!(distinct([3, 1, 3, 2, 1].into_iter()), 3);
        assert_eq!(distinct(std::iter::empty::<u64>()), 0);
        let full: Vec<u64> = (0..RECENT_MAX as u64).rev().collect();
        assert_eq!(distinct(full.iter().copied()), RECENT_MAX as u64, "a full ring of distinct entries");
    }

    #[test]
    fn a_ring_keeps_the_latest_entries_and_knows_the_last() {
        let mut ring = Ring::default();
        assert_eq!(ring.last(), None);
        for value in 0..(RECENT_MAX as u32 * 2 + 3) {
            ring.push(value);
            assert_eq!(ring.last(), Some(&value));
        }
        let mut kept: Vec<u32> = ring.iter().copied().collect();
        kept.sort_unstable();
        let first = RECENT_MAX as u32 + 3;
        assert_eq!(kept, (first..first + RECENT_MAX as u32).collect::<Vec<_>>());
    }

    #[test]
    fn a_payment_seen_by_the_rules_and_then_posted_is_one_ring_payer() {
        let mut merchant = MerchantRisk::default();
        merchant.note_ring_payer(5, UserId(1));
        merchant.on_sale(5, UserId(1), 100_000, 100_000, true);
        merchant.note_ring_payer(6, UserId(1));
        assert_eq!(merchant.ring_payers.iter().count(), 2);
    }
}
