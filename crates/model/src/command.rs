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
    /// [`kind::OpenUser`].
    OpenUser(kind::OpenUser),
    /// [`kind::OpenMerchant`].
    OpenMerchant(kind::OpenMerchant),
    /// [`kind::SetCreditLimit`].
    SetCreditLimit(kind::SetCreditLimit),
    /// [`kind::SetCreditFrozen`].
    SetCreditFrozen(kind::SetCreditFrozen),
    /// [`kind::TopUp`].
    TopUp(kind::TopUp),
    /// [`kind::Pay`].
    Pay(kind::Pay),
    /// [`kind::Authorize`].
    Authorize(kind::Authorize),
    /// [`kind::Capture`].
    Capture(kind::Capture),
    /// [`kind::Release`].
    Release(kind::Release),
    /// [`kind::Refund`].
    Refund(kind::Refund),
    /// [`kind::Transfer`].
    Transfer(kind::Transfer),
    /// [`kind::WithdrawToBank`].
    WithdrawToBank(kind::WithdrawToBank),
    /// [`kind::PayoutMerchant`].
    PayoutMerchant(kind::PayoutMerchant),
    /// [`kind::Repay`].
    Repay(kind::Repay),
    /// Advances time: authorizations whose expiry has passed are released; at each day
    /// boundary of the product's calendar, cycles close into statements and overdue
    /// statements accrue their daily penalty.
    Tick,
    /// [`kind::InstallProduct`].
    InstallProduct(kind::InstallProduct),
    /// [`kind::ConvertToInstalments`].
    ConvertToInstalments(kind::ConvertToInstalments),
    /// [`kind::PayOffInstalments`].
    PayOffInstalments(kind::PayOffInstalments),
    /// [`kind::RequestWithdrawal`].
    RequestWithdrawal(kind::RequestWithdrawal),
    /// [`kind::VerifyWithdrawal`].
    VerifyWithdrawal(kind::VerifyWithdrawal),
    /// [`kind::AdjustScore`].
    AdjustScore(kind::AdjustScore),
    /// [`kind::SetScoreFrozen`].
    SetScoreFrozen(kind::SetScoreFrozen),
    /// [`kind::RepayStatement`].
    RepayStatement(kind::RepayStatement),
    /// [`kind::ConvertStatementToInstalments`].
    ConvertStatementToInstalments(kind::ConvertStatementToInstalments),
    /// [`kind::ReviewCreditLine`].
    ReviewCreditLine(kind::ReviewCreditLine),
    /// [`kind::PayFor`].
    PayFor(kind::PayFor),
    /// [`kind::LinkTie`].
    LinkTie(kind::LinkTie),
    /// [`kind::InstallRules`].
    InstallRules(kind::InstallRules),
    /// [`kind::VerifyChallenge`].
    VerifyChallenge(kind::VerifyChallenge),
    /// [`kind::DecideCase`].
    DecideCase(kind::DecideCase),
    /// [`kind::AppealCase`].
    AppealCase(kind::AppealCase),
    /// [`kind::LiftAction`].
    LiftAction(kind::LiftAction),
    /// [`kind::GrantMandate`].
    GrantMandate(kind::GrantMandate),
    /// [`kind::RevokeMandate`].
    RevokeMandate(kind::RevokeMandate),
    /// [`kind::MerchantTransfer`].
    MerchantTransfer(kind::MerchantTransfer),
    /// [`kind::AgentCashOut`].
    AgentCashOut(kind::AgentCashOut),
    /// [`kind::MerchantToMerchant`].
    MerchantToMerchant(kind::MerchantToMerchant),
    /// [`kind::RecordRefusedAttempt`].
    RecordRefusedAttempt(kind::RecordRefusedAttempt),
    /// [`kind::ProposeRules`].
    ProposeRules(kind::ProposeRules),
    /// [`kind::ApproveRules`].
    ApproveRules(kind::ApproveRules),
    /// [`kind::AssignCase`].
    AssignCase(kind::AssignCase),
}

impl CommandKind {
    /// A stable name for the command kind, used in logs, metrics and the read model.
    pub fn name(&self) -> &'static str {
        match self {
            CommandKind::OpenUser(kind::OpenUser { .. }) => "open_user",
            CommandKind::OpenMerchant(kind::OpenMerchant { .. }) => "open_merchant",
            CommandKind::SetCreditLimit(kind::SetCreditLimit { .. }) => "set_credit_limit",
            CommandKind::SetCreditFrozen(kind::SetCreditFrozen { .. }) => "set_credit_frozen",
            CommandKind::TopUp(kind::TopUp { .. }) => "top_up",
            CommandKind::Pay(kind::Pay { .. }) => "pay",
            CommandKind::Authorize(kind::Authorize { .. }) => "authorize",
            CommandKind::Capture(kind::Capture { .. }) => "capture",
            CommandKind::Release(kind::Release { .. }) => "release",
            CommandKind::Refund(kind::Refund { .. }) => "refund",
            CommandKind::Transfer(kind::Transfer { .. }) => "transfer",
            CommandKind::WithdrawToBank(kind::WithdrawToBank { .. }) => "withdraw_to_bank",
            CommandKind::PayoutMerchant(kind::PayoutMerchant { .. }) => "payout_merchant",
            CommandKind::Repay(kind::Repay { .. }) => "repay",
            CommandKind::Tick => "tick",
            CommandKind::InstallProduct(kind::InstallProduct { .. }) => "install_product",
            CommandKind::ConvertToInstalments(kind::ConvertToInstalments { .. }) => "convert_to_instalments",
            CommandKind::PayOffInstalments(kind::PayOffInstalments { .. }) => "pay_off_instalments",
            CommandKind::RequestWithdrawal(kind::RequestWithdrawal { .. }) => "request_withdrawal",
            CommandKind::VerifyWithdrawal(kind::VerifyWithdrawal { .. }) => "verify_withdrawal",
            CommandKind::AdjustScore(kind::AdjustScore { .. }) => "adjust_score",
            CommandKind::SetScoreFrozen(kind::SetScoreFrozen { .. }) => "set_score_frozen",
            CommandKind::RepayStatement(kind::RepayStatement { .. }) => "repay_statement",
            CommandKind::ConvertStatementToInstalments(kind::ConvertStatementToInstalments { .. }) => {
                "convert_statement_to_instalments"
            }
            CommandKind::ReviewCreditLine(kind::ReviewCreditLine { .. }) => "review_credit_line",
            CommandKind::PayFor(kind::PayFor { .. }) => "pay_for",
            CommandKind::LinkTie(kind::LinkTie { .. }) => "link_tie",
            CommandKind::InstallRules(kind::InstallRules { .. }) => "install_rules",
            CommandKind::VerifyChallenge(kind::VerifyChallenge { .. }) => "verify_challenge",
            CommandKind::DecideCase(kind::DecideCase { .. }) => "decide_case",
            CommandKind::AppealCase(kind::AppealCase { .. }) => "appeal_case",
            CommandKind::LiftAction(kind::LiftAction { .. }) => "lift_action",
            CommandKind::GrantMandate(kind::GrantMandate { .. }) => "grant_mandate",
            CommandKind::RevokeMandate(kind::RevokeMandate { .. }) => "revoke_mandate",
            CommandKind::MerchantTransfer(kind::MerchantTransfer { .. }) => "merchant_transfer",
            CommandKind::AgentCashOut(kind::AgentCashOut { .. }) => "agent_cash_out",
            CommandKind::MerchantToMerchant(kind::MerchantToMerchant { .. }) => "merchant_to_merchant",
            CommandKind::RecordRefusedAttempt(kind::RecordRefusedAttempt { .. }) => "record_refused_attempt",
            CommandKind::ProposeRules(kind::ProposeRules { .. }) => "propose_rules",
            CommandKind::ApproveRules(kind::ApproveRules { .. }) => "approve_rules",
            CommandKind::AssignCase(kind::AssignCase { .. }) => "assign_case",
        }
    }
}

/// One struct per command kind: what each [`CommandKind`] carries.
pub mod kind {
    use super::{
        AccountAction, Amount, CommandId, Currency, Deserialize, Evidence, Funding, IdentityLevel, Label,
        MerchantCategory, MerchantId, MerchantVerification, Party, Product, RepaySource, RuleSet, Serialize, Tie,
        UserId, WithdrawalPurpose,
    };

    /// Opens a user with an empty credit line and an empty balance.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct OpenUser {
        /// The new user.
        pub user: UserId,
        /// Currency of both of the user's accounts.
        pub currency: Currency,
        /// Identity verification level.
        pub identity: IdentityLevel,
    }

    /// Opens a merchant with an empty settlement account.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct OpenMerchant {
        /// The new merchant.
        pub merchant: MerchantId,
        /// Currency of the settlement account.
        pub currency: Currency,
        /// What it sells.
        pub category: MerchantCategory,
        /// Verification level.
        pub verification: MerchantVerification,
        /// Whether it is a platform partner.
        pub partner: bool,
    }

    /// Grants or changes a credit line; the new limit may not be below what is used and held.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SetCreditLimit {
        /// Whose line; an unknown user is refused (`unknown_user`), as in every command naming one.
        pub user: UserId,
        /// The new limit in minor units.
        pub limit_minor: u64,
    }

    /// Freezes or unfreezes the use of a user's credit line.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SetCreditFrozen {
        /// Whose line.
        pub user: UserId,
        /// True to freeze.
        pub frozen: bool,
    }

    /// Money arrives from the user's bank into the balance.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct TopUp {
        /// Whose balance receives the money.
        pub user: UserId,
        /// What arrives, in the user's currency.
        pub amount: Amount,
    }

    /// Pays a merchant at once from credit, balance or both.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Pay {
        /// The paying user.
        pub user: UserId,
        /// The merchant paid.
        pub merchant: MerchantId,
        /// The split between credit and balance.
        pub funding: Funding,
    }

    /// Holds funds for a merchant until captured, released or expired.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Authorize {
        /// The user whose funds are held.
        pub user: UserId,
        /// The merchant the hold is for.
        pub merchant: MerchantId,
        /// The split between credit and balance.
        pub funding: Funding,
        /// How long the hold lasts from the command's time, in milliseconds (1 to
        /// `AUTHORIZATION_MAX_MS`). A duration, not an instant, so that a retry of the same
        /// request is the same command and replays instead of conflicting.
        pub hold_ms: u64,
    }

    /// Captures up to the authorized amount (credit part first); the rest is released.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Capture {
        /// The authorization (the id of the command that created it).
        pub authorization: CommandId,
        /// The merchant the authorization belongs to.
        pub merchant: MerchantId,
        /// How much to capture.
        pub amount: Amount,
    }

    /// Releases an authorization without capturing.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Release {
        /// The authorization.
        pub authorization: CommandId,
        /// The merchant the authorization belongs to.
        pub merchant: MerchantId,
    }

    /// Refunds part or all of a captured payment: credit part first, back where it came from.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Refund {
        /// The payment (the id of the command that paid or authorized it).
        pub payment: CommandId,
        /// The merchant the payment belongs to.
        pub merchant: MerchantId,
        /// How much to refund.
        pub amount: Amount,
    }

    /// Moves balance from one user to another (P2P).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Transfer {
        /// The payer.
        pub from: UserId,
        /// The payee.
        pub to: UserId,
        /// What moves, from the payer's available balance.
        pub amount: Amount,
    }

    /// Sends balance out to the user's bank.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct WithdrawToBank {
        /// Whose balance pays out.
        pub user: UserId,
        /// What leaves, from the available balance.
        pub amount: Amount,
    }

    /// Pays a merchant's settlement account out to its bank.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct PayoutMerchant {
        /// Whose settlement account pays out.
        pub merchant: MerchantId,
        /// What leaves, at most the settlement balance.
        pub amount: Amount,
    }

    /// Repays used credit; never more than is owed.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Repay {
        /// Whose line is repaid.
        pub user: UserId,
        /// What is offered; the line takes what the product's overpayment rule lets it.
        pub amount: Amount,
        /// Where the money comes from.
        pub source: RepaySource,
    }

    /// Installs a credit product version, applying from `effective_at_ms` (not in the past).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct InstallProduct {
        /// The validated product rules.
        pub product: Box<Product>,
        /// When the version starts to apply, milliseconds since the Unix epoch; `None` means at
        /// this command's time.
        pub effective_at_ms: Option<u64>,
    }

    /// Converts an unbilled credit purchase into an instalment plan (分期); the command's id
    /// names the plan.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ConvertToInstalments {
        /// The user who paid.
        pub user: UserId,
        /// The purchase (its payment id).
        pub payment: CommandId,
        /// 3, 6, 9 or 12, as the product offers.
        pub periods: u8,
    }

    /// Pays an instalment plan's unbilled principal off early; its unbilled fees lapse.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct PayOffInstalments {
        /// Who owns the plan.
        pub user: UserId,
        /// The plan (the id of the command that created it).
        pub plan: CommandId,
        /// Where the money comes from.
        pub source: RepaySource,
    }

    /// Requests an official credit withdrawal to the balance; large ones wait for a step-up
    /// verification (the command's id names the challenge).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RequestWithdrawal {
        /// Whose line it draws on.
        pub user: UserId,
        /// How much lands in the balance (the fee comes on top).
        pub amount: Amount,
        /// The declared purpose.
        pub purpose: WithdrawalPurpose,
    }

    /// Completes a challenged withdrawal: the user passed the step-up verification.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct VerifyWithdrawal {
        /// Who requested it: only they can verify.
        pub user: UserId,
        /// The challenge (the id of the request).
        pub withdrawal: CommandId,
    }

    /// Moves a user's credit score by `points` (negative lowers it), for risk actions and
    /// analysts; reversible by an opposite adjustment.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AdjustScore {
        /// Whose score.
        pub user: UserId,
        /// Points to add; negative to lower.
        pub points: i32,
    }

    /// Freezes (or unfreezes) automatic rescoring of a user's credit score.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SetScoreFrozen {
        /// Whose score.
        pub user: UserId,
        /// True to freeze.
        pub frozen: bool,
    }

    /// Pays the bill (自动还款 / "pay my statement"): everything billed and unpaid, or only what
    /// is still missing of the latest minimum payment.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RepayStatement {
        /// Whose bill.
        pub user: UserId,
        /// Where the money comes from.
        pub source: RepaySource,
        /// True for the whole billed balance, false for the rest of the minimum.
        pub in_full: bool,
    }

    /// Converts the latest statement's billed principal, before its due date, into an instalment
    /// plan (账单分期); the command's id names the plan.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ConvertStatementToInstalments {
        /// Whose latest statement.
        pub user: UserId,
        /// 3, 6, 9 or 12, as the product offers.
        pub periods: u8,
    }

    /// Reviews a credit line under the product's line policy: raised when the user's record
    /// earns it, cut when above the score band's maximum.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ReviewCreditLine {
        /// Whose line.
        pub user: UserId,
    }

    /// Pays a merchant for a beneficiary: an order shipped to someone else, a recharge credited
    /// to a phone or account. Otherwise exactly `Pay`.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct PayFor {
        /// The paying user.
        pub user: UserId,
        /// The merchant paid.
        pub merchant: MerchantId,
        /// The split between credit and balance.
        pub funding: Funding,
        /// Who or what the order is for.
        pub beneficiary: Tie,
    }

    /// Links a device, phone, identity, bank card or payout account to a user or merchant (a
    /// login from a device, a binding added or changed); accounts sharing one become tied.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct LinkTie {
        /// The user or merchant.
        pub party: Party,
        /// The identifier.
        pub tie: Tie,
    }

    /// Installs a rules file; it must compile and carry a higher version than the one in force.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct InstallRules {
        /// The rules.
        pub rules: Box<RuleSet>,
    }

    /// Completes a command the risk engine challenged: the user passed the step-up verification.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct VerifyChallenge {
        /// Who sent the challenged command: only they can verify.
        pub user: UserId,
        /// The challenged command's id.
        pub challenge: CommandId,
    }

    /// An analyst's verdict on a case: approve (what was held goes through) or reject.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct DecideCase {
        /// The case (the id of the command that opened it).
        pub case: CommandId,
        /// True to approve.
        pub approve: bool,
        /// The label the evaluator learns from.
        pub label: Label,
    }

    /// A user's appeal: evidence and text attached to a case.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AppealCase {
        /// The case.
        pub case: CommandId,
        /// Receipts, refund records and other references.
        pub evidence: Vec<Evidence>,
        /// The user's own words.
        pub text: String,
    }

    /// Reverses a risk account action (an analyst's command).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct LiftAction {
        /// Who the action is on.
        pub user: UserId,
        /// The action to lift.
        pub action: AccountAction,
    }

    /// The user lets a merchant charge them without asking each time (a mandate, 免密支付), up
    /// to `per_payment_max_minor` a payment and `per_month_max_minor` a calendar month of the
    /// product's time zone. Granting again replaces the caps.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct GrantMandate {
        /// The user granting it.
        pub user: UserId,
        /// The merchant allowed to charge.
        pub merchant: MerchantId,
        /// Most a single payment or hold may be, in minor units.
        pub per_payment_max_minor: u64,
        /// Most all of a month's payments and holds may be, in minor units.
        pub per_month_max_minor: u64,
    }

    /// The user takes a mandate back: the merchant can no longer charge them.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RevokeMandate {
        /// Who granted it.
        pub user: UserId,
        /// Who may no longer charge.
        pub merchant: MerchantId,
    }

    /// A merchant sends money from its settlement account to a user's balance: cashback, a
    /// seller's goodwill payment, a disbursement — and a colluding merchant's money back, which
    /// is why it is scored.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct MerchantTransfer {
        /// The merchant paying.
        pub merchant: MerchantId,
        /// The user paid.
        pub to: UserId,
        /// What moves, at most the settlement balance.
        pub amount: Amount,
    }

    /// A user hands balance to an agent (a merchant) for cash, as mobile money's cash-out works:
    /// the balance moves to the agent's settlement account, with its provenance. Scored as money
    /// leaving the user (`withdraw_to_bank`), the agent its merchant.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AgentCashOut {
        /// The user cashing out.
        pub user: UserId,
        /// The agent paying the cash.
        pub agent: MerchantId,
        /// What moves, from the available balance.
        pub amount: Amount,
    }

    /// A merchant sends money from its settlement account to another merchant's: a supplier, a
    /// franchise's head office — or a shell layering money, which is why it is scored, as money
    /// leaving the payer (`payout_merchant`).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct MerchantToMerchant {
        /// The merchant paying.
        pub merchant: MerchantId,
        /// The merchant paid.
        pub to: MerchantId,
        /// What moves, at most the payer's settlement balance.
        pub amount: Amount,
    }

    /// Another system refused a user's attempt to move money before it reached this ledger (a
    /// bank declined the card, a gateway or an upstream rule blocked a transfer): nothing moves,
    /// but the risk features see when (`user.ms_since_refused_attempt`), as they see this
    /// engine's own denials.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RecordRefusedAttempt {
        /// The user who attempted it.
        pub user: UserId,
        /// How much the attempt was for.
        pub amount: Amount,
    }

    /// An admin proposes a rules file for activation under four-eyes: it waits, under this
    /// command's id, until another key approves it ([`ApproveRules`]); until then the rules in
    /// force keep running. Checked as an install is (it must compile, with a higher version).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ProposeRules {
        /// The rules file.
        pub rules: Box<crate::risk::RuleSet>,
    }

    /// A second admin approves a proposed rules file: it is installed now, if it is still newer
    /// than the rules in force. The proposer cannot approve their own proposal.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ApproveRules {
        /// The proposal (the id of the `ProposeRules` command).
        pub proposal: CommandId,
    }

    /// An open case is claimed by or assigned to an analyst's key, or released to the queue:
    /// who works it, for the queue's "next unassigned" and its filters. Anyone may still decide it.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AssignCase {
        /// The case.
        pub case: CommandId,
        /// The key to work it (its journal id); `None` gives it back to the queue.
        pub to: Option<crate::ActorId>,
    }
}
