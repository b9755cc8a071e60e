//! The feature catalog: every feature a rule can read, with its name, type, side and meaning.
//! It is the schema rules compile against; the risk engine computes each feature's value.

use super::{TieKind, Typology};
use rules::Type;

/// Whose state a feature reads, which says where it is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The event itself, or the event's user and counterparty together.
    Event,
    /// The event's user (a default value when the event has none).
    User,
    /// The event's merchant (a default value when the event has none).
    Merchant,
}

macro_rules! catalog {
    ($($variant:ident = $side:ident $name:literal : $type:expr, $doc:literal;)*) => {
        /// Every feature a rule can read.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u16)]
        pub enum Feature {
            $(#[doc = $doc] $variant,)*
        }

        impl Feature {
            /// Every feature, by slot.
            pub const ALL: &'static [Feature] = &[$(Feature::$variant,)*];

            /// The name rules use.
            pub fn name(self) -> &'static str {
                match self { $(Feature::$variant => $name,)* }
            }

            /// Whose state it reads.
            pub fn side(self) -> Side {
                match self { $(Feature::$variant => Side::$side,)* }
            }

            /// The type.
            pub fn ty(self) -> Type {
                match self { $(Feature::$variant => $type,)* }
            }

            /// What it measures.
            pub fn doc(self) -> &'static str {
                match self { $(Feature::$variant => $doc,)* }
            }
        }
    };
}

/// Names of `event.kind`.
pub const EVENT_KINDS: &[&str] =
    &["pay", "authorize", "transfer", "withdraw_to_bank", "request_withdrawal", "payout_merchant", "merchant_transfer"];
/// Names of `event.beneficiary_kind`: `none` (the order is for the payer), then each tie kind's
/// name by its position in [`TieKind::ALL`], as the feature reads `kind as u16 + 1`.
pub const BENEFICIARY_KINDS: &[&str] = &{
    let mut names = ["none"; TieKind::ALL.len() + 1];
    let mut index = 0;
    while index < TieKind::ALL.len() {
        names[index + 1] = TieKind::ALL[index].name();
        index += 1;
    }
    names
};
/// Names of `merchant.category` ("none" when the event has no merchant).
pub const CATEGORIES: &[&str] =
    &["none", "physical_goods", "virtual_goods", "recharge", "tuition", "utilities", "subscriptions", "other"];
/// The reason code of the rules that catch money passed straight through an account (a
/// laundering collector or layer): a watch-list reason of its own, so the accounts that feed such
/// an account can be asked about.
pub const PASS_THROUGH: &str = "pass_through";

/// Names of `user.watch_reason`: the cash-out typologies a watch-list may be for, then
/// [`PASS_THROUGH`], then `other` for a rule whose reason names none of them.
pub const WATCH_REASONS: &[&str] = &{
    let schemes = Typology::SCHEMES;
    let mut names = ["none"; Typology::SCHEMES.len() + 3];
    let mut index = 0;
    while index < schemes.len() {
        names[index + 1] = schemes[index].name();
        index += 1;
    }
    names[schemes.len() + 1] = PASS_THROUGH;
    names[schemes.len() + 2] = Typology::Other.name();
    names
};

/// The [`WATCH_REASONS`] symbol of a rule's reason code: never 0, which stands for no watch-list.
pub fn watch_reason_symbol(reason: &str) -> u8 {
    let named = WATCH_REASONS[1..WATCH_REASONS.len() - 1].iter().position(|name| *name == reason);
    named.map_or(WATCH_REASONS.len() as u8 - 1, |index| index as u8 + 1)
}

/// Names of `user.identity`.
pub const IDENTITY_LEVELS: &[&str] = &["none", "unverified", "basic", "full"];

catalog! {
    EventKindName = Event "event.kind": Type::Symbol(EVENT_KINDS), "The scored command: pay (also pay_for), authorize, transfer, withdraw_to_bank (also a cash-out at an agent, the agent its merchant), request_withdrawal, payout_merchant (also a merchant paying another merchant), merchant_transfer.";
    EventAmount = Event "event.amount_minor": Type::Int, "The amount the event moves, in minor units.";
    EventCredit = Event "event.credit_minor": Type::Int, "The part drawn on the credit line (a credit withdrawal: all of it).";
    EventRound = Event "event.round_amount": Type::Bool, "The amount is a multiple of 10,000 minor units (100 CNY).";
    EventCreditToAvailable = Event "event.credit_to_available": Type::Double, "The credit part over the credit available before the event (0 without a credit part).";
    EventBeneficiaryKind = Event "event.beneficiary_kind": Type::Symbol(BENEFICIARY_KINDS), "What kind of account the order or recharge is for (none: the payer).";
    EventBeneficiaryTied = Event "event.beneficiary_tied_to_payer": Type::Bool, "The beneficiary belongs to the payer or an account tied to the payer.";
    EventCounterpartyTied = Event "event.counterparty_tied_to_payer": Type::Bool, "The merchant paid, or the payee of a transfer, is tied to the payer.";
    EventCounterpartyFirstSeen = Event "event.counterparty_first_seen": Type::Bool, "The merchant (or payee) is not among the payer's latest 16 purchases (or payees).";
    EventLoopback = Event "event.loopback_minor": Type::Int, "Money flowing back: for a transfer, credit the payee (or accounts tied to it) spent in 7 days at merchants tied to the payer; for a payout, credit that accounts tied to the merchant spent there in 7 days; for a merchant's transfer to a user, credit the user (or accounts tied to them) spent at that merchant in 7 days (of each one's latest 16 purchases).";
    EventCreditShare = Event "event.credit_share": Type::Double, "Money provenance (ADR 0009): the share of what a transfer, a merchant's transfer to a user, a withdrawal to a bank or a payout moves that was drawn on credit lines, whatever path it took since (0 for other events).";
    EventReturningCreditShare = Event "event.returning_credit_share": Type::Double, "The share of what it moves that was drawn by the receiving side or an account tied to it (the user withdrawing, the payee, the merchant paid out): credit coming back to its drawer's group.";
    EventReturningCreditHops = Event "event.returning_credit_hops": Type::Int, "The most moves between accounts (refunds to a balance, transfers) that returning credit made after reaching a merchant (0 if none returns).";
    EventReturningCreditAge = Event "event.returning_credit_age_ms": Type::Int, "Milliseconds since the earliest returning credit was drawn (2^63-1 if none returns).";
    EventPayeeWatchReason = Event "event.payee_watch_reason": Type::Symbol(WATCH_REASONS), "General behaviour: what a transfer's payee is on the watch-list for, as user.watch_reason reads it for the user (`none` off the list, and for events without a payee): money fed to an account already caught passing money through.";
    EventPayeeAgeDays = Event "event.payee_age_days": Type::Int, "General behaviour: days since a transfer's payee opened (0 for other events): money drained to an account opened yesterday.";
    EventDrainShare = Event "event.drain_share": Type::Double, "The share of what the account could move that the event moves: a transfer's or withdrawal's amount over the balance available, a payment's credit part over the credit available (as event.credit_to_available), a payout's over the settlement account.";
    EventDrainShare24h = Event "event.drain_share_24h": Type::Double, "A transfer's or withdrawal's amount, with what the user sent by transfer in the last 24 hours, over the balance available with that sent added back: the share of what the account held a day ago, or received since, that has left within the day (whole or in parts); other events as event.drain_share.";
    EventFlowThrough24h = Event "event.flow_through_24h": Type::Double, "A transfer's or withdrawal's amount, with what the user sent by transfer in the last 24 hours, over the P2P money received in that time (of the latest 16 transfers each way; 0 with none received): money passed straight on, whole or in parts.";
    UserAgeDays = User "user.age_days": Type::Int, "Days since the user opened.";
    UserIdentity = User "user.identity": Type::Symbol(IDENTITY_LEVELS), "Identity verification level.";
    UserScore = User "user.score": Type::Int, "Credit score.";
    UserWatchlisted = User "user.watchlisted": Type::Bool, "The user is on the watch-list.";
    UserWatchReason = User "user.watch_reason": Type::Symbol(WATCH_REASONS), "What the watch-list is for: the typology named by the reason of the rule that put the user on it (the highest-scoring such rule; the first while the user stays on the list; `other` if its reason names none; `none` off the list). A rule can ask for its own typology's watch-list, not one another rule set.";
    UserTiedAccounts = User "user.tied_accounts": Type::Int, "Other accounts in the user's tie group.";
    UserTiedWatchlisted = User "user.tied_watchlisted": Type::Int, "Other users in the user's tie group on the watch-list: a second account of someone caught.";
    UserSinceBindingChange = User "user.ms_since_binding_change": Type::Int, "Milliseconds since a phone, card, identity or payout account was added next to an existing one (2^63-1 if never).";
    UserSinceNewDevice = User "user.ms_since_new_device": Type::Int, "Milliseconds since a device was added next to an existing one (2^63-1 if never).";
    UserSinceRefusedAttempt = User "user.ms_since_refused_attempt": Type::Int, "Milliseconds since a money movement of the user was refused: denied by these rules, or blocked by another system (a recorded refused attempt); 2^63-1 if never.";
    UserPayments1h = User "user.payments_1h": Type::Int, "Purchases in the last hour (of the latest 16).";
    UserCreditSpend24h = User "user.credit_spend_24h_minor": Type::Int, "Credit-funded purchases in the last 24 hours (of the latest 16).";
    UserCreditSpend30d = User "user.credit_spend_30d_minor": Type::Int, "Credit-funded purchases in the last 30 days.";
    UserRefunds30d = User "user.refunds_30d": Type::Int, "Refunds received in the last 30 days.";
    UserFastRefunds30d = User "user.fast_refunds_30d": Type::Int, "Refunds within 24 hours of their purchase, last 30 days.";
    UserFastLiquidRefunds30d = User "user.fast_liquid_refunds_30d": Type::Int, "Of those, refunds of virtual goods or recharges (cash-like goods), last 30 days.";
    UserSinceFastRefund = User "user.ms_since_fast_refund": Type::Int, "Milliseconds since the latest such refund (2^63-1 if never): a cheap first test before the 30-day counts.";
    UserLiquidRefunds30d = User "user.liquid_refunds_30d": Type::Int, "Refunds of virtual goods or recharges however late, last 30 days: a cycler can wait days to refund, but cash-like goods are rarely returned at all.";
    UserSinceLiquidRefund = User "user.ms_since_liquid_refund": Type::Int, "Milliseconds since the latest such refund (2^63-1 if never).";
    UserRefundRatio30d = User "user.refund_ratio_30d": Type::Double, "Refunded over spent (credit and balance), last 30 days (0 when nothing spent).";
    UserBeneficiaries7d = User "user.beneficiaries_7d": Type::Int, "Distinct beneficiaries not tied to the user that the user's orders, made or attempted, were for, last 7 days (of the latest 16).";
    UserCreditForOthers7d = User "user.credit_for_others_7d_minor": Type::Int, "Credit asked for orders for others (not tied to the user), made or attempted, last 7 days (of the latest 16).";
    UserInflow7d = User "user.inflow_7d_minor": Type::Int, "P2P money received in the last 7 days (of the latest 16 transfers).";
    UserInflowSenders7d = User "user.inflow_senders_7d": Type::Int, "Distinct senders of that money.";
    UserSinceInflow = User "user.ms_since_inflow": Type::Int, "Milliseconds since the latest P2P money received (2^63-1 if never).";
    UserPayees1h = User "user.payees_1h": Type::Int, "Distinct payees of the user's transfers in the last hour (of the latest 16): fan-out.";
    UserPayees7d = User "user.payees_7d": Type::Int, "Distinct payees in the last 7 days (of the latest 16).";
    UserInflowToCreditForOthers7d = User "user.inflow_to_credit_for_others_7d": Type::Double, "P2P money received over credit asked for orders for others, last 7 days (0 when none asked).";
    UserDiscountedPaybacks30d = User "user.discounted_paybacks_30d": Type::Int, "P2P transfers received in the last 30 days (a statement cycle: a proxy buyer may serve a client a week or two apart) from the owner of an order's beneficiary (or an account tied to it), each returning half to 99.5 % of the price of one order for them made or attempted up to 7 days before, from a sender who paid none of them back in full (of the latest 16 of each): a client paying a proxy buyer the discounted price. Friends settling a shared bill pay all of it back.";
    UserLimit = User "user.credit_limit_minor": Type::Int, "The credit limit.";
    MerchantCategoryName = Merchant "merchant.category": Type::Symbol(CATEGORIES), "What the merchant sells.";
    MerchantCertified = Merchant "merchant.certified": Type::Bool, "The merchant passed verification.";
    MerchantPartner = Merchant "merchant.partner": Type::Bool, "The merchant is a platform partner.";
    MerchantAgeDays = Merchant "merchant.age_days": Type::Int, "Days since the merchant opened.";
    MerchantTiedAccounts = Merchant "merchant.tied_accounts": Type::Int, "Other accounts in the merchant's tie group.";
    MerchantSales30d = Merchant "merchant.sales_30d_minor": Type::Int, "Captured sales, last 30 days.";
    MerchantCreditShare30d = Merchant "merchant.credit_share_30d": Type::Double, "Share of those sales paid with credit.";
    MerchantRefundRatio30d = Merchant "merchant.refund_ratio_30d": Type::Double, "Refunds over sales, last 30 days.";
    MerchantPayers24h = Merchant "merchant.payers_24h": Type::Int, "Distinct payers in the last 24 hours (of the latest 16).";
    MerchantDistinctPayersRecent = Merchant "merchant.distinct_payers_recent": Type::Int, "Distinct payers among the merchant's latest 16 payments (1: one customer pays for everything).";
    MerchantRingPayers7d = Merchant "merchant.ring_payers_7d": Type::Int, "Distinct payers whose credit payment, made or attempted, was round and used 80% or more of their available credit, last 7 days (of the latest 16).";
    MerchantPayout24h = Merchant "merchant.payout_24h_minor": Type::Int, "Paid out to the bank today and yesterday (UTC).";
    PairPurchases = Event "pair.purchases_recent": Type::Int, "The user's purchases at this merchant among their latest 16.";
    DeviceAccounts = Event "device.accounts": Type::Int, "Accounts sharing the user's latest device.";
}

/// The feature catalog as a rules schema.
pub struct Catalog;

/// The schema rules compile against.
pub const CATALOG: Catalog = Catalog;

impl rules::Schema for Catalog {
    fn feature(&self, name: &str) -> Option<(u16, Type)> {
        Feature::ALL
            .iter()
            .position(|feature| feature.name() == name)
            .map(|slot| (slot as u16, Feature::ALL[slot].ty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tie_kind_names_its_beneficiary_kind() {
        // The feature reads a kind's discriminant: `ALL` must list the kinds in declaration order.
        for kind in TieKind::ALL {
            assert_eq!(BENEFICIARY_KINDS[kind as usize + 1], kind.name());
        }
    }
}
