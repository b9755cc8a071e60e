//! Outcomes: what a command did, or the typed reason it was rejected, and the postings it made.

use crate::money::Currency;
use serde::{Deserialize, Serialize};

/// A business rejection. Each has a stable code clients can match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rejection {
    /// The user id is not open.
    UnknownUser,
    /// The merchant id is not open.
    UnknownMerchant,
    /// No captured payment has this id.
    UnknownPayment,
    /// No live authorization has this id.
    UnknownAuthorization,
    /// A user with this id is already open.
    UserExists,
    /// A merchant with this id is already open.
    MerchantExists,
    /// A payment or authorization with this id already exists.
    PaymentExists,
    /// The accounts involved hold different currencies.
    CurrencyMismatch,
    /// The credit line's available amount is too small.
    InsufficientCredit,
    /// The balance is too small.
    InsufficientBalance,
    /// The merchant's settlement account is too small for the refund or payout.
    InsufficientMerchantFunds,
    /// The refund would exceed what was captured and not yet refunded.
    RefundExceedsCapture,
    /// The capture exceeds the authorized amount.
    CaptureExceedsAuthorization,
    /// The authorization expired before this command.
    AuthorizationExpired,
    /// The payment or authorization belongs to another merchant.
    MerchantMismatch,
    /// The user's credit line is frozen.
    CreditFrozen,
    /// The command id was used before with a different body.
    IdempotencyConflict,
    /// A credit limit below what the user has used and held.
    LimitBelowUsed,
    /// A repayment larger than what is owed.
    Overpayment,
    /// A transfer whose payer and payee are the same user.
    SelfTransfer,
    /// A payment whose funding parts are both zero or out of range.
    InvalidAmount,
    /// An expiry that is not after the command's time.
    InvalidExpiry,
    /// A product file that breaks a product rule.
    InvalidProduct,
    /// A product version not above the installed one, or taking effect before it or in the past.
    ProductVersionOrder,
    /// No credit product is installed yet.
    NoProduct,
    /// The product offers no instalment plan with that many periods.
    InstalmentPlanNotOffered,
    /// The purchase is already on a statement; only unbilled purchases convert.
    PaymentAlreadyBilled,
    /// The purchase is already an instalment plan.
    AlreadyInstalment,
    /// No credit-funded amount is left to convert or pay off.
    NothingToConvert,
    /// The user has no live instalment plan with this id.
    UnknownInstalmentPlan,
    /// The product does not offer credit withdrawal.
    WithdrawalNotOffered,
    /// The user's identity verification is below the product's minimum for withdrawal.
    WithdrawalIdentity,
    /// The account is younger than the product's minimum age for withdrawal.
    WithdrawalAccountTooNew,
    /// The user's credit score is below the product's minimum for withdrawal.
    WithdrawalScoreTooLow,
    /// The user was past due beyond what the product allows in the last 12 months.
    WithdrawalPastDue,
    /// The amount exceeds the product's per-withdrawal cap.
    WithdrawalTransactionCap,
    /// The amount would exceed the product's daily withdrawal cap.
    WithdrawalDailyCap,
    /// The amount would exceed the product's monthly withdrawal cap.
    WithdrawalMonthlyCap,
    /// The month's withdrawals would exceed the product's share of the credit line.
    WithdrawalShareCap,
    /// Another withdrawal is waiting for its verification; verify it or let it expire first.
    WithdrawalPending,
    /// The user has no command waiting for verification with this id.
    UnknownChallenge,
    /// The verification came after the challenge expired; request the withdrawal again.
    ChallengeExpired,
    /// Nothing is billed and unpaid (or the minimum is already paid).
    NothingDue,
    /// A sum that would overflow a 64-bit balance.
    AmountOverflow,
    /// The risk engine denied the command.
    RiskDenied,
    /// No case has this id.
    UnknownCase,
    /// The case is already decided; an appeal reopens it.
    CaseClosed,
    /// An appeal with no text and no evidence, or over the size limits.
    InvalidAppeal,
    /// The account action to lift is not in force.
    ActionNotInForce,
    /// A rules file that does not compile or breaks a limit.
    InvalidRules,
    /// A rules version not above the one in force.
    RulesVersionOrder,
    /// The payment or hold is held for review by an open case: only the case decision moves it.
    HeldByCase,
    /// A merchant charged a user who granted it no mandate (or took it back).
    NoMandate,
    /// A merchant's charge is over the mandate's cap per payment or per month.
    MandateCapExceeded,
    /// No rules proposal waits under this id.
    UnknownProposal,
    /// A rules proposal already waits under this id.
    ProposalExists,
    /// A rules proposal's own proposer tried to approve it: activation takes a second key.
    SelfApproval,
}

impl Rejection {
    /// The stable, snake_case code of the rejection.
    pub fn code(self) -> &'static str {
        match self {
            Rejection::UnknownUser => "unknown_user",
            Rejection::UnknownMerchant => "unknown_merchant",
            Rejection::UnknownPayment => "unknown_payment",
            Rejection::UnknownAuthorization => "unknown_authorization",
            Rejection::UserExists => "user_exists",
            Rejection::MerchantExists => "merchant_exists",
            Rejection::PaymentExists => "payment_exists",
            Rejection::CurrencyMismatch => "currency_mismatch",
            Rejection::InsufficientCredit => "insufficient_credit",
            Rejection::InsufficientBalance => "insufficient_balance",
            Rejection::InsufficientMerchantFunds => "insufficient_merchant_funds",
            Rejection::RefundExceedsCapture => "refund_exceeds_capture",
            Rejection::CaptureExceedsAuthorization => "capture_exceeds_authorization",
            Rejection::AuthorizationExpired => "authorization_expired",
            Rejection::MerchantMismatch => "merchant_mismatch",
            Rejection::CreditFrozen => "credit_frozen",
            Rejection::IdempotencyConflict => "idempotency_conflict",
            Rejection::LimitBelowUsed => "limit_below_used",
            Rejection::Overpayment => "overpayment",
            Rejection::SelfTransfer => "self_transfer",
            Rejection::InvalidAmount => "invalid_amount",
            Rejection::InvalidExpiry => "invalid_expiry",
            Rejection::InvalidProduct => "invalid_product",
            Rejection::ProductVersionOrder => "product_version_order",
            Rejection::NoProduct => "no_product",
            Rejection::InstalmentPlanNotOffered => "instalment_plan_not_offered",
            Rejection::PaymentAlreadyBilled => "payment_already_billed",
            Rejection::AlreadyInstalment => "already_instalment",
            Rejection::NothingToConvert => "nothing_to_convert",
            Rejection::UnknownInstalmentPlan => "unknown_instalment_plan",
            Rejection::WithdrawalNotOffered => "withdrawal_not_offered",
            Rejection::WithdrawalIdentity => "withdrawal_identity",
            Rejection::WithdrawalAccountTooNew => "withdrawal_account_too_new",
            Rejection::WithdrawalScoreTooLow => "withdrawal_score_too_low",
            Rejection::WithdrawalPastDue => "withdrawal_past_due",
            Rejection::WithdrawalTransactionCap => "withdrawal_cap_transaction",
            Rejection::WithdrawalDailyCap => "withdrawal_cap_day",
            Rejection::WithdrawalMonthlyCap => "withdrawal_cap_month",
            Rejection::WithdrawalShareCap => "withdrawal_cap_share",
            Rejection::WithdrawalPending => "withdrawal_pending",
            Rejection::UnknownChallenge => "unknown_challenge",
            Rejection::ChallengeExpired => "challenge_expired",
            Rejection::NothingDue => "nothing_due",
            Rejection::AmountOverflow => "amount_overflow",
            Rejection::RiskDenied => "risk_denied",
            Rejection::UnknownCase => "unknown_case",
            Rejection::CaseClosed => "case_closed",
            Rejection::InvalidAppeal => "invalid_appeal",
            Rejection::ActionNotInForce => "action_not_in_force",
            Rejection::InvalidRules => "invalid_rules",
            Rejection::RulesVersionOrder => "rules_version_order",
            Rejection::UnknownProposal => "unknown_proposal",
            Rejection::ProposalExists => "proposal_exists",
            Rejection::SelfApproval => "self_approval",
            Rejection::HeldByCase => "held_by_case",
            Rejection::NoMandate => "no_mandate",
            Rejection::MandateCapExceeded => "mandate_cap_exceeded",
        }
    }

    /// A sentence a person can act on.
    pub fn message(self) -> &'static str {
        match self {
            Rejection::UnknownUser => "no user with this id is open; open it first",
            Rejection::UnknownMerchant => "no merchant with this id is open; open it first",
            Rejection::UnknownPayment => "no captured payment has this id",
            Rejection::UnknownAuthorization => "no live authorization has this id (captured, released or never made)",
            Rejection::UserExists => "a user with this id is already open",
            Rejection::MerchantExists => "a merchant with this id is already open",
            Rejection::PaymentExists => "a payment or authorization with this command id already exists; use a new id",
            Rejection::CurrencyMismatch => "the accounts involved hold different currencies",
            Rejection::InsufficientCredit => "the credit line's available amount is smaller than the credit part",
            Rejection::InsufficientBalance => "the balance is smaller than the amount",
            Rejection::InsufficientMerchantFunds => "the merchant's settlement account holds less than the amount",
            Rejection::RefundExceedsCapture => "the refund exceeds what was captured and not yet refunded",
            Rejection::CaptureExceedsAuthorization => "the capture exceeds the authorized amount",
            Rejection::AuthorizationExpired => "the authorization expired and its hold was released",
            Rejection::MerchantMismatch => "the payment or authorization belongs to another merchant",
            Rejection::CreditFrozen => "the user's credit line is frozen",
            Rejection::IdempotencyConflict => "this command id was already used with a different body; use a new id",
            Rejection::LimitBelowUsed => "the new limit is below the credit used (fees and penalties aside) and held",
            Rejection::Overpayment => "the repayment exceeds what is owed on the credit line",
            Rejection::SelfTransfer => "payer and payee are the same user",
            Rejection::InvalidAmount => "the credit and balance parts must be at most 2^63-1 each and not both zero",
            Rejection::InvalidExpiry => "the authorization must expire after the command's time",
            Rejection::InvalidProduct => "the product breaks a product rule; run `creditline product check` on it",
            Rejection::NoProduct => "no credit product is installed; install one with POST /v1/products",
            Rejection::InstalmentPlanNotOffered => "the product offers no instalment plan with that many periods",
            Rejection::PaymentAlreadyBilled => {
                "the purchase is already on a statement; only unbilled purchases convert"
            }
            Rejection::AlreadyInstalment => "the purchase is already an instalment plan",
            Rejection::NothingToConvert => "no credit-funded amount is left to convert or pay off",
            Rejection::UnknownInstalmentPlan => "the user has no live instalment plan with this id",
            Rejection::WithdrawalNotOffered => "the product does not offer credit withdrawal",
            Rejection::WithdrawalIdentity => {
                "the user's identity verification is below the product's minimum for withdrawal"
            }
            Rejection::WithdrawalAccountTooNew => {
                "the account is younger than the product's minimum age for withdrawal"
            }
            Rejection::WithdrawalScoreTooLow => "the user's credit score is below the product's minimum for withdrawal",
            Rejection::WithdrawalPastDue => {
                "the user was past due beyond what the product allows in the last 12 months"
            }
            Rejection::WithdrawalTransactionCap => "the amount exceeds the product's per-withdrawal cap",
            Rejection::WithdrawalDailyCap => "the amount would exceed the product's daily withdrawal cap",
            Rejection::WithdrawalMonthlyCap => "the amount would exceed the product's monthly withdrawal cap",
            Rejection::WithdrawalShareCap => {
                "the month's withdrawals would exceed the product's share of the credit line"
            }
            Rejection::WithdrawalPending => {
                "another withdrawal is waiting for its verification; verify it or let it expire first"
            }
            Rejection::UnknownChallenge => "the user has no command waiting for verification with this id",
            Rejection::ChallengeExpired => {
                "the verification came after the challenge expired; request the withdrawal again"
            }
            Rejection::NothingDue => "nothing billed is unpaid (or the minimum is already paid)",
            Rejection::ProductVersionOrder => {
                "a new product needs a higher version, taking effect now or later and not before the installed one"
            }
            Rejection::AmountOverflow => "the amount would overflow a 64-bit balance",
            Rejection::RiskDenied => "the risk engine denied this command; the decision lists its reasons",
            Rejection::UnknownCase => "no case has this id",
            Rejection::CaseClosed => "the case is already decided; an appeal reopens it",
            Rejection::InvalidAppeal => {
                "an appeal needs text or evidence: at most 10 references of 1-200 bytes, 2000 bytes of text, 8 appeals a case"
            }
            Rejection::ActionNotInForce => "that account action is not in force for this user",
            Rejection::InvalidRules => "the rules file does not compile; run `creditline rules check` on it",
            Rejection::RulesVersionOrder => "a new rules file needs a version above the one in force",
            Rejection::UnknownProposal => "no rules proposal waits under this id (approved or never made)",
            Rejection::ProposalExists => "a rules proposal already waits under this command id",
            Rejection::SelfApproval => "a rules proposal must be approved by another key than the one that proposed it",
            Rejection::HeldByCase => "this payment is held for review; only the case decision captures or releases it",
            Rejection::NoMandate => {
                "the user has granted this merchant no mandate: a merchant charges a user only under one (POST /v1/mandates, by the platform)"
            }
            Rejection::MandateCapExceeded => "over the mandate's cap per payment or per month",
        }
    }
}

/// What an accepted command did, beyond its postings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Accepted {
    /// The command took effect; its postings say how.
    Done,
    /// Money moved split between credit and balance (payment, capture, refund).
    Split {
        /// Minor units on the credit line.
        credit_minor: u64,
        /// Minor units on the balance.
        balance_minor: u64,
    },
    /// The command waits for its step-up verification until `expires_at_ms` (a large credit
    /// withdrawal, or a risk challenge).
    Challenged {
        /// When the challenge lapses, ms since the epoch.
        expires_at_ms: u64,
    },
    /// The risk engine held the command for review and opened a case.
    HeldForReview {
        /// The case (the command's own id).
        case: crate::command::CommandId,
    },
    /// A line review set the limit (unchanged when `from` equals `to`).
    LineReviewed {
        /// The limit before.
        from_minor: u64,
        /// The limit after.
        to_minor: u64,
    },
    /// A bill was paid: this much.
    Repaid {
        /// Minor units repaid.
        amount_minor: u64,
    },
    /// A withdrawal landed in the balance.
    Withdrawn {
        /// Minor units credited to the balance.
        amount_minor: u64,
        /// The fee charged to the credit line.
        fee_minor: u64,
    },
    /// What a tick did.
    Ticked {
        /// Expired authorizations released.
        authorizations: u32,
        /// Statements closed.
        statements: u32,
    },
}

/// The result of one command: accepted or rejected with a stable code.
pub type Outcome = Result<Accepted, Rejection>;

/// Which ledger account a posting touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AccountKind {
    /// A user's credit line: debit balance = credit used (a receivable of the platform).
    UserCredit,
    /// A user's balance (余额): credit balance = money the platform owes the user.
    UserBalance,
    /// A merchant's settlement account: credit balance = money owed to the merchant.
    MerchantSettlement,
    /// The platform's position at its bank, per currency (owner 0).
    BankClearing,
    /// Fees and penalties the platform earned, per currency (owner 0).
    FeeIncome,
}

impl AccountKind {
    /// A stable name used in account addresses.
    pub fn name(self) -> &'static str {
        match self {
            AccountKind::UserCredit => "credit",
            AccountKind::UserBalance => "balance",
            AccountKind::MerchantSettlement => "settlement",
            AccountKind::BankClearing => "bank_clearing",
            AccountKind::FeeIncome => "fee_income",
        }
    }
}

/// A ledger account's address: its kind, owner id and currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountKey {
    /// What kind of account.
    pub kind: AccountKind,
    /// The owning user or merchant id; 0 for platform accounts.
    pub owner: u64,
    /// The account's currency.
    pub currency: Currency,
}

impl AccountKey {
    /// The address as text: `user:42:credit`, `merchant:7:settlement`, `platform:CNY:bank_clearing`.
    pub fn address(&self) -> String {
        match self.kind {
            AccountKind::UserCredit | AccountKind::UserBalance => format!("user:{}:{}", self.owner, self.kind.name()),
            AccountKind::MerchantSettlement => format!("merchant:{}:{}", self.owner, self.kind.name()),
            AccountKind::BankClearing | AccountKind::FeeIncome => {
                format!("platform:{}:{}", self.currency, self.kind.name())
            }
        }
    }
}

/// One leg of a double entry: positive amounts are debits, negative are credits.
/// The postings of one command always sum to zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// Index of the command in its batch.
    pub command_index: u32,
    /// The account touched.
    pub account: AccountKey,
    /// Signed amount in minor units: debit positive, credit negative.
    pub amount_minor: i64,
}
