//! Risk data: ties, decisions and their ladder, account actions, typologies and labels,
//! evidence, cases and appeals, the feature catalog rules read and the rule set as journaled.
//! The risk engine (in `engine`) computes these; the edges map them to their formats.

pub mod catalog;
mod ruleset;

use crate::command::{ActorId, CommandKind, MerchantId, UserId};
use serde::{Deserialize, Serialize};

pub use ruleset::{
    CHALLENGE_TTL_MAX_MS, CompiledRule, CompiledRules, EXPRESSION_MAX_BYTES, RULES_MAX, RuleSet, RuleSource,
    RuleStatus, RulesError, Thresholds,
};

/// Points a `lower_score` action takes off the credit score (and lifting it gives back).
pub const SCORE_PENALTY_POINTS: i32 = 50;
/// The most appeals a case takes.
pub const APPEALS_MAX: usize = 8;
/// The most evidence references one appeal carries.
pub const EVIDENCE_MAX: usize = 10;
/// The longest evidence reference, in characters (Unicode scalar values, as JSON Schema's
/// `maxLength` counts them; at most 4 bytes each).
pub const REFERENCE_MAX_CHARS: usize = 200;
/// The longest appeal text, in characters (as [`REFERENCE_MAX_CHARS`]).
pub const APPEAL_TEXT_MAX_CHARS: usize = 2000;

/// Whether an appeal's evidence and text are within bounds and not empty. The API checks it
/// before a command is journaled (an oversized appeal never reaches the journal); the engine
/// checks it again, as it checks every command.
pub fn appeal_within_bounds(evidence: &[Evidence], text: &str) -> bool {
    evidence.len() <= EVIDENCE_MAX
        && evidence
            .iter()
            .all(|item| !item.reference.is_empty() && item.reference.chars().count() <= REFERENCE_MAX_CHARS)
        && text.chars().count() <= APPEAL_TEXT_MAX_CHARS
        && !(evidence.is_empty() && text.trim().is_empty())
}

/// What a tie is: an identifier two accounts can share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieKind {
    /// A device fingerprint.
    Device,
    /// A phone number.
    Phone,
    /// A national identity.
    Identity,
    /// A bank card.
    BankCard,
    /// A payout or stored-value account (a wallet, a game or merchant account, where money lands).
    PayoutAccount,
    /// A delivery address (a keyed hash of the normalised address): whom an order is for. It
    /// names its accounts but never ties them into a group — a building's address or a parcel
    /// locker is shared by strangers — and adding one is no binding change.
    DeliveryAddress,
    /// Who owns a merchant (a token for the owning person, linked to the merchant and to the
    /// owner's user accounts): ties them, so credit spent at one's own shop is spent at a tied
    /// merchant, but is no binding change — opening a shop is not taking over an account.
    Owner,
}

impl TieKind {
    /// Every kind, in declaration order; [`TieKind::name`] of each is a rule symbol.
    pub const ALL: [TieKind; 7] = [
        TieKind::Device,
        TieKind::Phone,
        TieKind::Identity,
        TieKind::BankCard,
        TieKind::PayoutAccount,
        TieKind::DeliveryAddress,
        TieKind::Owner,
    ];

    /// The stable snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            TieKind::Device => "device",
            TieKind::Phone => "phone",
            TieKind::Identity => "identity",
            TieKind::BankCard => "bank_card",
            TieKind::PayoutAccount => "payout_account",
            TieKind::DeliveryAddress => "delivery_address",
            TieKind::Owner => "owner",
        }
    }

    /// Whether two accounts sharing it are tied (joined into one group): every kind but a
    /// delivery address, which only names its accounts.
    pub fn ties_accounts(self) -> bool {
        self != TieKind::DeliveryAddress
    }

    /// Whether a user linking one is a login or binding the takeover features watch (a new
    /// device, a second phone or card): every kind that ties accounts but ownership of a shop.
    pub fn is_binding(self) -> bool {
        self.ties_accounts() && self != TieKind::Owner
    }
}

/// An identifier accounts can share: its kind and an opaque token (a keyed hash of the number,
/// never the number itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tie {
    /// What kind of identifier.
    pub kind: TieKind,
    /// The identifier's token.
    pub token: u64,
}

/// A user or a merchant: either side of a tie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// A user.
    User(UserId),
    /// A merchant.
    Merchant(MerchantId),
}

/// The decision ladder, mildest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// The command proceeds.
    Allow,
    /// The command waits for a step-up verification (`VerifyChallenge`) or expires.
    Challenge,
    /// Funds are held (or the command parked) and a case opened for an analyst.
    Review,
    /// The command is refused.
    Deny,
}

impl DecisionKind {
    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            DecisionKind::Allow => "allow",
            DecisionKind::Challenge => "challenge",
            DecisionKind::Review => "review",
            DecisionKind::Deny => "deny",
        }
    }
}

/// An action on the account beyond the one command; each is reversible by `LiftAction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountAction {
    /// Freezes the use of the credit line.
    FreezeCredit,
    /// Cuts the credit limit down to what is committed, so no new credit can be drawn.
    CutLine,
    /// Lowers the credit score by [`SCORE_PENALTY_POINTS`].
    LowerScore,
    /// Puts the user on the watch-list (`user.watchlisted` for rules, flagged for analysts).
    WatchList,
}

impl AccountAction {
    /// Every action, by [`AccountAction::index`].
    pub const ALL: [AccountAction; 4] =
        [AccountAction::FreezeCredit, AccountAction::CutLine, AccountAction::LowerScore, AccountAction::WatchList];

    /// Its place in [`AccountAction::ALL`] and in `UserRisk::lapse_at_ms`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// How long the action stays in force after a rule last took it, unless an analyst lifts
    /// it sooner or a case decided as fraud keeps it: a freeze a week (an open case is reviewed
    /// within days, and a takeover's victim is not refused for weeks), a cut line a statement
    /// cycle, a lowered score and the watch-list 90 days (three times the rules' longest window).
    pub fn lapse_ms(self) -> u64 {
        const DAY_MS: u64 = 24 * 60 * 60 * 1000;
        match self {
            AccountAction::FreezeCredit => 7 * DAY_MS,
            AccountAction::CutLine => 30 * DAY_MS,
            AccountAction::LowerScore | AccountAction::WatchList => 90 * DAY_MS,
        }
    }
}

/// The kinds of command the risk engine scores; each name is a rule symbol (`event.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `Pay` or `PayFor`.
    Pay,
    /// `Authorize`.
    Authorize,
    /// A P2P `Transfer`.
    Transfer,
    /// `WithdrawToBank`.
    WithdrawToBank,
    /// An official credit withdrawal request.
    RequestWithdrawal,
    /// `PayoutMerchant`.
    PayoutMerchant,
    /// `MerchantTransfer`: a merchant paying a user's balance.
    MerchantTransfer,
}

impl EventKind {
    /// Every scored kind, in declaration order.
    pub const ALL: [EventKind; 7] = [
        EventKind::Pay,
        EventKind::Authorize,
        EventKind::Transfer,
        EventKind::WithdrawToBank,
        EventKind::RequestWithdrawal,
        EventKind::PayoutMerchant,
        EventKind::MerchantTransfer,
    ];

    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Pay => "pay",
            EventKind::Authorize => "authorize",
            EventKind::Transfer => "transfer",
            EventKind::WithdrawToBank => "withdraw_to_bank",
            EventKind::RequestWithdrawal => "request_withdrawal",
            EventKind::PayoutMerchant => "payout_merchant",
            EventKind::MerchantTransfer => "merchant_transfer",
        }
    }
}

/// The cash-out typologies (PRODUCT.md 10 a–f), for rules' documentation and case labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Typology {
    /// a. Buy-then-refund cycling.
    RefundCycling,
    /// b. A colluding merchant sends the money back.
    ColludingMerchant,
    /// c. Proxy purchase (代买) for strangers who pay back.
    ProxyPurchase,
    /// d. Self-settling recharge.
    SelfRecharge,
    /// e. Account takeover by instant cash-out tools.
    AccountTakeover,
    /// f. A ring of users and a small merchant.
    Ring,
    /// Fraud of another kind.
    Other,
}

impl Typology {
    /// The six cash-out schemes (every typology but [`Typology::Other`]), in PRODUCT.md order.
    pub const SCHEMES: [Typology; 6] = [
        Typology::RefundCycling,
        Typology::ColludingMerchant,
        Typology::ProxyPurchase,
        Typology::SelfRecharge,
        Typology::AccountTakeover,
        Typology::Ring,
    ];

    /// The name used in labels, event files, reports and JSON (`refund_cycling`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Typology::RefundCycling => "refund_cycling",
            Typology::ColludingMerchant => "colluding_merchant",
            Typology::ProxyPurchase => "proxy_purchase",
            Typology::SelfRecharge => "self_recharge",
            Typology::AccountTakeover => "account_takeover",
            Typology::Ring => "ring",
            Typology::Other => "other",
        }
    }
}

/// An analyst's verdict on a case: the label the evaluator reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// The event was honest.
    NotFraud,
    /// The event was fraud of this typology.
    Fraud(Typology),
}

/// What a piece of appeal evidence is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// A receipt or invoice.
    Receipt,
    /// A refund record.
    Refund,
    /// Anything else.
    Other,
}

/// One reference a user attaches to an appeal. Unknown fields are refused, as in every API body.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// What it is.
    pub kind: EvidenceKind,
    /// Where it is: a receipt number, a refund command id, a document reference.
    pub reference: String,
}

/// A feature value a decision read, kept as evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The feature's name (`user.refund_ratio_30d`).
    pub feature: String,
    /// Its value, as text (`0.75`, `3`, `true`, `virtual_goods`).
    pub value: String,
}

/// A rule that fired on an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredRule {
    /// The rule's id.
    pub rule: String,
    /// Its reason code.
    pub reason: String,
    /// The score it added (shadow rules add nothing, but their score is recorded).
    pub score: i32,
    /// True for a shadow rule: recorded, never enforced.
    pub shadow: bool,
}

/// The decision on one scored event and the evidence for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// What was decided.
    pub kind: DecisionKind,
    /// The sum of the active fired rules' scores.
    pub score: i32,
    /// The rules version in force.
    pub rules_version: u32,
    /// Reason codes of the active rules that fired, sorted, without repeats.
    pub reasons: Vec<String>,
    /// Every rule that fired, active and shadow, in file order.
    pub fired: Vec<FiredRule>,
    /// The features the fired rules name, with their values when the event was scored.
    pub readings: Vec<Reading>,
    /// Account actions taken on the event's user.
    pub actions: Vec<AccountAction>,
    /// Account actions taken on the payee of a transfer.
    pub counterparty_actions: Vec<AccountAction>,
}

impl Decision {
    /// The decision on an event no rule fired on: `kind` as the thresholds give for a score of 0.
    pub fn unfired(kind: DecisionKind, rules_version: u32) -> Decision {
        Decision {
            kind,
            score: 0,
            rules_version,
            reasons: Vec::new(),
            fired: Vec::new(),
            readings: Vec::new(),
            actions: Vec::new(),
            counterparty_actions: Vec::new(),
        }
    }

    /// Whether the decision is worth recording: a rule fired or the command was not allowed.
    pub fn is_notable(&self) -> bool {
        self.kind != DecisionKind::Allow || !self.fired.is_empty()
    }
}

/// A rules file proposed for activation, waiting for a second key's approval (four-eyes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The rules file.
    pub rules: RuleSet,
    /// The key that proposed it (it may not approve it).
    pub proposed_by: ActorId,
    /// When.
    pub proposed_at_ms: u64,
}

/// One appeal on a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    /// When it was filed.
    pub at_ms: u64,
    /// Who filed it (the platform's key, on the user's behalf).
    pub filed_by: ActorId,
    /// References to receipts, refunds and other evidence.
    pub evidence: Vec<Evidence>,
    /// The user's own words.
    pub text: String,
}

/// What a case keeps of the command it stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Held {
    /// A payment turned into an authorization: captured on approval, released on rejection.
    Payment {
        /// The merchant paid.
        merchant: MerchantId,
    },
    /// An authorization the command asked for: released on rejection.
    Authorization {
        /// The merchant the hold is for, who may capture it on approval.
        merchant: MerchantId,
    },
    /// A command that moves no held funds: executed on approval, dropped on rejection.
    Parked(Box<CommandKind>),
    /// Nothing held (a denial with account actions, or a case already decided).
    Nothing,
}

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Waiting for an analyst.
    Open,
    /// Approved: what was held went through.
    Approved,
    /// Rejected: what was held was released or dropped.
    Rejected,
}

impl CaseStatus {
    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Approved => "approved",
            CaseStatus::Rejected => "rejected",
        }
    }
}

/// A case: a decision an analyst must work, its evidence, appeals and outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The user (or, for a payout, the merchant) concerned.
    pub party: Party,
    /// When it was opened.
    pub opened_at_ms: u64,
    /// The decision that opened it, with its evidence.
    pub decision: Decision,
    /// What is held.
    pub held: Held,
    /// Where it stands.
    pub status: CaseStatus,
    /// The analyst's label, once decided.
    pub label: Option<Label>,
    /// Appeals, oldest first.
    pub appeals: Vec<Appeal>,
    /// When it was last decided.
    pub decided_at_ms: Option<u64>,
    /// Who sent the command the case stopped.
    pub opened_by: ActorId,
    /// Who last decided it.
    pub decided_by: Option<ActorId>,
    /// The analyst working it (claimed or assigned), if anyone.
    pub assigned_to: Option<ActorId>,
}

/// A command waiting for its step-up verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parked {
    /// The user who must verify.
    pub user: UserId,
    /// The command to run once verified.
    pub kind: CommandKind,
    /// When the challenge lapses.
    pub expires_at_ms: u64,
}
