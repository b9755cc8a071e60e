//! Commands: the only way state changes. Each carries a client-chosen id (the idempotency
//! key) and the time it happened; the engine never reads a clock.

use crate::money::{Amount, Currency};
use crate::product::Product;
use crate::risk::{AccountAction, Evidence, Label, Party, RuleSet, Tie};
use serde::{Deserialize, Serialize};

/// Identifies a user (a holder of a credit line and a balance).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserId(pub u64);

/// Identifies a merchant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MerchantId(pub u64);

/// A client-chosen command id. It is the idempotency key, and the id of the payment or
/// authorization the command creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CommandId(pub u64);

/// How far a user's identity has been verified (实名认证 level).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityLevel {
    /// Nothing verified beyond a phone number.
    Unverified,
    /// Name and national id checked.
    Basic,
    /// Basic plus a face or bank-card check.
    Full,
}

/// What a merchant sells; risk treats categories differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantCategory {
    /// Physical goods.
    PhysicalGoods,
    /// Virtual goods and gift cards.
    VirtualGoods,
    /// Phone, game or wallet recharge / top-up.
    Recharge,
    /// Education and tuition.
    Tuition,
    /// Utilities.
    Utilities,
    /// Subscriptions.
    Subscriptions,
    /// Anything else.
    Other,
}

/// Whether a merchant passed the platform's verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantVerification {
    /// Not verified.
    Uncertified,
    /// Verified (licence and owner checked).
    Certified,
}

/// How a payment is funded: a part from the credit line, a part from the balance.
/// Either part may be zero, not both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Funding {
    /// Minor units drawn on the credit line.
    pub credit_minor: u64,
    /// Minor units taken from the balance (余额).
    pub balance_minor: u64,
}

impl Funding {
    /// The sum of `parts` per source (refunds of one payment: never more than it captured).
    pub fn total(parts: impl IntoIterator<Item = Funding>) -> Funding {
        parts.into_iter().fold(Funding { credit_minor: 0, balance_minor: 0 }, |sum, part| Funding {
            credit_minor: sum.credit_minor.checked_add(part.credit_minor).expect("refunds stay within a payment"),
            balance_minor: sum.balance_minor.checked_add(part.balance_minor).expect("refunds stay within a payment"),
        })
    }
}

/// Where a repayment of credit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepaySource {
    /// From the user's balance (余额).
    Balance,
    /// From the user's bank card, through the platform's bank clearing account.
    Bank,
}

/// The declared purpose of a credit withdrawal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalPurpose {
    /// Everyday spending.
    DailyExpenses,
    /// Education and training.
    Education,
    /// Medical costs.
    Medical,
    /// Travel.
    Travel,
    /// Home and furnishing.
    Home,
    /// Anything else.
    Other,
}

/// One command: id, time and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// Idempotency key; also names the payment or authorization the command creates.
    pub id: CommandId,
    /// When the command happened, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Who sent it, for the audit trail; never part of a retry's fingerprint (the same command
    /// sent again with another key replays).
    pub actor: ActorId,
    /// Whether a merchant sent it on its own (then a payment needs the user's mandate).
    pub initiator: Initiator,
    /// What to do.
    pub kind: CommandKind,
}

/// Who asked for a command: the platform (the user's own app, an operator) or a merchant. A
/// merchant moves a user's money only under a mandate the user granted through the platform
/// (免密支付): a payment agreement with caps per payment and per month, revocable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Initiator {
    /// The platform's app or an operator, for the user.
    #[default]
    Platform,
    /// A merchant's own gateway.
    Merchant,
}

/// The API key that sent a command, by its public id (`clk_<id>_…`, eight hex digits, as a
/// number); never the key itself. [`ActorId::SERVER`] for what the server does on its own
/// (ticks) and for history imported without a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ActorId(pub u32);

impl ActorId {
    /// The server itself, or no key.
    pub const SERVER: ActorId = ActorId(0);
}

/// Everything the ledger can be asked to do. New kinds are only ever appended: the journal
/// encodes a kind by its position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandKind {
    /// Opens a user with an empty credit line and an empty balance.
    OpenUser {
        /// The new user.
        user: UserId,
        /// Currency of both of the user's accounts.
        currency: Currency,
        /// Identity verification level.
        identity: IdentityLevel,
    },
    /// Opens a merchant with an empty settlement account.
    OpenMerchant {
        /// The new merchant.
        merchant: MerchantId,
        /// Currency of the settlement account.
        currency: Currency,
        /// What it sells.
        category: MerchantCategory,
        /// Verification level.
        verification: MerchantVerification,
        /// Whether it is a platform partner.
        partner: bool,
    },
    /// Grants or changes a credit line; the new limit may not be below what is used and held.
    SetCreditLimit {
        /// The user.
        user: UserId,
        /// The new limit in minor units.
        limit_minor: u64,
    },
    /// Freezes or unfreezes the use of a user's credit line.
    SetCreditFrozen {
        /// The user.
        user: UserId,
        /// True to freeze.
        frozen: bool,
    },
    /// Money arrives from the user's bank into the balance.
    TopUp {
        /// The user.
        user: UserId,
        /// How much.
        amount: Amount,
    },
    /// Pays a merchant at once from credit, balance or both.
    Pay {
        /// The paying user.
        user: UserId,
        /// The merchant paid.
        merchant: MerchantId,
        /// The split between credit and balance.
        funding: Funding,
    },
    /// Holds funds for a merchant until captured, released or expired.
    Authorize {
        /// The user whose funds are held.
        user: UserId,
        /// The merchant the hold is for.
        merchant: MerchantId,
        /// The split between credit and balance.
        funding: Funding,
        /// How long the hold lasts from the command's time, in milliseconds (1 to
        /// `AUTHORIZATION_MAX_MS`). A duration, not an instant, so that a retry of the same
        /// request is the same command and replays instead of conflicting.
        hold_ms: u64,
    },
    /// Captures up to the authorized amount (credit part first); the rest is released.
    Capture {
        /// The authorization (the id of the command that created it).
        authorization: CommandId,
        /// The merchant the authorization belongs to.
        merchant: MerchantId,
        /// How much to capture.
        amount: Amount,
    },
    /// Releases an authorization without capturing.
    Release {
        /// The authorization.
        authorization: CommandId,
        /// The merchant the authorization belongs to.
        merchant: MerchantId,
    },
    /// Refunds part or all of a captured payment: credit part first, back where it came from.
    Refund {
        /// The payment (the id of the command that paid or authorized it).
        payment: CommandId,
        /// The merchant the payment belongs to.
        merchant: MerchantId,
        /// How much to refund.
        amount: Amount,
    },
    /// Moves balance from one user to another (P2P).
    Transfer {
        /// The payer.
        from: UserId,
        /// The payee.
        to: UserId,
        /// How much.
        amount: Amount,
    },
    /// Sends balance out to the user's bank.
    WithdrawToBank {
        /// The user.
        user: UserId,
        /// How much.
        amount: Amount,
    },
    /// Pays a merchant's settlement account out to its bank.
    PayoutMerchant {
        /// The merchant.
        merchant: MerchantId,
        /// How much.
        amount: Amount,
    },
    /// Repays used credit; never more than is owed.
    Repay {
        /// The user.
        user: UserId,
        /// How much.
        amount: Amount,
        /// Where the money comes from.
        source: RepaySource,
    },
    /// Advances time: authorizations whose expiry has passed are released; at each day
    /// boundary of the product's calendar, cycles close into statements and overdue
    /// statements accrue their daily penalty.
    Tick,
    /// Installs a credit product version, applying from `effective_at_ms` (not in the past).
    InstallProduct {
        /// The validated product rules.
        product: Box<Product>,
        /// When the version starts to apply, milliseconds since the Unix epoch; `None` means at
        /// this command's time.
        effective_at_ms: Option<u64>,
    },
    /// Converts an unbilled credit purchase into an instalment plan (分期); the command's id
    /// names the plan.
    ConvertToInstalments {
        /// The user who paid.
        user: UserId,
        /// The purchase (its payment id).
        payment: CommandId,
        /// 3, 6, 9 or 12, as the product offers.
        periods: u8,
    },
    /// Pays an instalment plan's unbilled principal off early; its unbilled fees lapse.
    PayOffInstalments {
        /// The user.
        user: UserId,
        /// The plan (the id of the command that created it).
        plan: CommandId,
        /// Where the money comes from.
        source: RepaySource,
    },
    /// Requests an official credit withdrawal to the balance; large ones wait for a step-up
    /// verification (the command's id names the challenge).
    RequestWithdrawal {
        /// The user.
        user: UserId,
        /// How much lands in the balance (the fee comes on top).
        amount: Amount,
        /// The declared purpose.
        purpose: WithdrawalPurpose,
    },
    /// Completes a challenged withdrawal: the user passed the step-up verification.
    VerifyWithdrawal {
        /// The user.
        user: UserId,
        /// The challenge (the id of the request).
        withdrawal: CommandId,
    },
    /// Moves a user's credit score by `points` (negative lowers it), for risk actions and
    /// analysts; reversible by an opposite adjustment.
    AdjustScore {
        /// The user.
        user: UserId,
        /// Points to add; negative to lower.
        points: i32,
    },
    /// Freezes (or unfreezes) automatic rescoring of a user's credit score.
    SetScoreFrozen {
        /// The user.
        user: UserId,
        /// True to freeze.
        frozen: bool,
    },
    /// Pays the bill (自动还款 / "pay my statement"): everything billed and unpaid, or only what
    /// is still missing of the latest minimum payment.
    RepayStatement {
        /// The user.
        user: UserId,
        /// Where the money comes from.
        source: RepaySource,
        /// True for the whole billed balance, false for the rest of the minimum.
        in_full: bool,
    },
    /// Converts the latest statement's billed principal, before its due date, into an instalment
    /// plan (账单分期); the command's id names the plan.
    ConvertStatementToInstalments {
        /// The user.
        user: UserId,
        /// 3, 6, 9 or 12, as the product offers.
        periods: u8,
    },
    /// Reviews a credit line under the product's line policy: raised when the user's record
    /// earns it, cut when above the score band's maximum.
    ReviewCreditLine {
        /// The user.
        user: UserId,
    },
    /// Pays a merchant for a beneficiary: an order shipped to someone else, a recharge credited
    /// to a phone or account. Otherwise exactly `Pay`.
    PayFor {
        /// The paying user.
        user: UserId,
        /// The merchant paid.
        merchant: MerchantId,
        /// The split between credit and balance.
        funding: Funding,
        /// Who or what the order is for.
        beneficiary: Tie,
    },
    /// Links a device, phone, identity, bank card or payout account to a user or merchant (a
    /// login from a device, a binding added or changed); accounts sharing one become tied.
    LinkTie {
        /// The user or merchant.
        party: Party,
        /// The identifier.
        tie: Tie,
    },
    /// Installs a rules file; it must compile and carry a higher version than the one in force.
    InstallRules {
        /// The rules.
        rules: Box<RuleSet>,
    },
    /// Completes a command the risk engine challenged: the user passed the step-up verification.
    VerifyChallenge {
        /// The user.
        user: UserId,
        /// The challenged command's id.
        challenge: CommandId,
    },
    /// An analyst's verdict on a case: approve (what was held goes through) or reject.
    DecideCase {
        /// The case (the id of the command that opened it).
        case: CommandId,
        /// True to approve.
        approve: bool,
        /// The label the evaluator learns from.
        label: Label,
    },
    /// A user's appeal: evidence and text attached to a case.
    AppealCase {
        /// The case.
        case: CommandId,
        /// Receipts, refund records and other references.
        evidence: Vec<Evidence>,
        /// The user's own words.
        text: String,
    },
    /// Reverses a risk account action (an analyst's command).
    LiftAction {
        /// The user.
        user: UserId,
        /// The action to lift.
        action: AccountAction,
    },
    /// The user lets a merchant charge them without asking each time (a mandate, 免密支付), up
    /// to `per_payment_max_minor` a payment and `per_month_max_minor` a calendar month of the
    /// product's time zone. Granting again replaces the caps.
    GrantMandate {
        /// The user granting it.
        user: UserId,
        /// The merchant allowed to charge.
        merchant: MerchantId,
        /// Most a single payment or hold may be, in minor units.
        per_payment_max_minor: u64,
        /// Most all of a month's payments and holds may be, in minor units.
        per_month_max_minor: u64,
    },
    /// The user takes a mandate back: the merchant can no longer charge them.
    RevokeMandate {
        /// The user.
        user: UserId,
        /// The merchant.
        merchant: MerchantId,
    },
    /// A merchant sends money from its settlement account to a user's balance: cashback, a
    /// seller's goodwill payment, a disbursement — and a colluding merchant's money back, which
    /// is why it is scored.
    MerchantTransfer {
        /// The merchant paying.
        merchant: MerchantId,
        /// The user paid.
        to: UserId,
        /// How much.
        amount: Amount,
    },
    /// A user hands balance to an agent (a merchant) for cash, as mobile money's cash-out works:
    /// the balance moves to the agent's settlement account, with its provenance. Scored as money
    /// leaving the user (`withdraw_to_bank`), the agent its merchant.
    AgentCashOut {
        /// The user cashing out.
        user: UserId,
        /// The agent paying the cash.
        agent: MerchantId,
        /// How much.
        amount: Amount,
    },
    /// A merchant sends money from its settlement account to another merchant's: a supplier, a
    /// franchise's head office — or a shell layering money, which is why it is scored, as money
    /// leaving the payer (`payout_merchant`).
    MerchantToMerchant {
        /// The merchant paying.
        merchant: MerchantId,
        /// The merchant paid.
        to: MerchantId,
        /// How much.
        amount: Amount,
    },
    /// Another system refused a user's attempt to move money before it reached this ledger (a
    /// bank declined the card, a gateway or an upstream rule blocked a transfer): nothing moves,
    /// but the risk features see when (`user.ms_since_refused_attempt`), as they see this
    /// engine's own denials.
    RecordRefusedAttempt {
        /// The user who attempted it.
        user: UserId,
        /// How much the attempt was for.
        amount: Amount,
    },
}

impl CommandKind {
    /// A stable name for the command kind, used in logs, metrics and the read model.
    pub fn name(&self) -> &'static str {
        match self {
            CommandKind::OpenUser { .. } => "open_user",
            CommandKind::OpenMerchant { .. } => "open_merchant",
            CommandKind::SetCreditLimit { .. } => "set_credit_limit",
            CommandKind::SetCreditFrozen { .. } => "set_credit_frozen",
            CommandKind::TopUp { .. } => "top_up",
            CommandKind::Pay { .. } => "pay",
            CommandKind::Authorize { .. } => "authorize",
            CommandKind::Capture { .. } => "capture",
            CommandKind::Release { .. } => "release",
            CommandKind::Refund { .. } => "refund",
            CommandKind::Transfer { .. } => "transfer",
            CommandKind::WithdrawToBank { .. } => "withdraw_to_bank",
            CommandKind::PayoutMerchant { .. } => "payout_merchant",
            CommandKind::Repay { .. } => "repay",
            CommandKind::Tick => "tick",
            CommandKind::InstallProduct { .. } => "install_product",
            CommandKind::ConvertToInstalments { .. } => "convert_to_instalments",
            CommandKind::PayOffInstalments { .. } => "pay_off_instalments",
            CommandKind::RequestWithdrawal { .. } => "request_withdrawal",
            CommandKind::VerifyWithdrawal { .. } => "verify_withdrawal",
            CommandKind::AdjustScore { .. } => "adjust_score",
            CommandKind::SetScoreFrozen { .. } => "set_score_frozen",
            CommandKind::RepayStatement { .. } => "repay_statement",
            CommandKind::ConvertStatementToInstalments { .. } => "convert_statement_to_instalments",
            CommandKind::ReviewCreditLine { .. } => "review_credit_line",
            CommandKind::PayFor { .. } => "pay_for",
            CommandKind::LinkTie { .. } => "link_tie",
            CommandKind::InstallRules { .. } => "install_rules",
            CommandKind::VerifyChallenge { .. } => "verify_challenge",
            CommandKind::DecideCase { .. } => "decide_case",
            CommandKind::AppealCase { .. } => "appeal_case",
            CommandKind::LiftAction { .. } => "lift_action",
            CommandKind::GrantMandate { .. } => "grant_mandate",
            CommandKind::RevokeMandate { .. } => "revoke_mandate",
            CommandKind::MerchantTransfer { .. } => "merchant_transfer",
            CommandKind::AgentCashOut { .. } => "agent_cash_out",
            CommandKind::MerchantToMerchant { .. } => "merchant_to_merchant",
            CommandKind::RecordRefusedAttempt { .. } => "record_refused_attempt",
        }
    }
}
