//! The records double entry keeps: a user's two accounts, a merchant's settlement account, a
//! captured payment and a live hold.

use crate::provenance::{Origins, Provenance};
use model::{Currency, Funding, IdentityLevel, MerchantCategory, MerchantId, MerchantVerification, UserId};
use serde::{Deserialize, Serialize};

/// A user's two ledger accounts: the credit line (limit, used, held) and the balance (余额).
/// What else the platform knows of a user lives beside it by slot, in the crates above.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAccount {
    /// The user's id.
    pub id: UserId,
    /// Currency of both accounts.
    pub currency: Currency,
    /// Identity verification level.
    pub identity: IdentityLevel,
    /// The credit limit in minor units (at most `Amount::MAX`).
    pub limit_minor: u64,
    /// Credit used (owed); negative when refunds exceeded what was owed (a credit balance).
    pub credit_used_minor: i64,
    /// Credit held by live authorizations and pending withdrawals.
    pub credit_held_minor: u64,
    /// Balance (余额) in minor units.
    pub balance_minor: u64,
    /// Balance held by live authorizations.
    pub balance_held_minor: u64,
    /// Whether using the credit line is frozen.
    pub credit_frozen: bool,
    /// When the user was opened.
    pub opened_at_ms: u64,
    /// What of the balance was drawn on credit lines, and by whom (at most `balance_minor`).
    pub provenance: Provenance,
}

impl UserAccount {
    /// Credit that can still be drawn: limit − used − held (may exceed the limit after refunds).
    pub fn credit_available_minor(&self) -> i128 {
        self.limit_minor as i128 - self.credit_used_minor as i128 - self.credit_held_minor as i128
    }

    /// Balance not held by authorizations.
    pub fn balance_available_minor(&self) -> u64 {
        self.balance_minor - self.balance_held_minor
    }
}

/// A merchant and its settlement account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantAccount {
    /// The merchant's id.
    pub id: MerchantId,
    /// Currency of the settlement account.
    pub currency: Currency,
    /// What it sells.
    pub category: MerchantCategory,
    /// Verification level.
    pub verification: MerchantVerification,
    /// Whether it is a platform partner.
    pub partner: bool,
    /// Money owed to the merchant, in minor units.
    pub settlement_minor: u64,
    /// When the merchant was opened.
    pub opened_at_ms: u64,
    /// What of the settlement account was drawn on credit lines, and by whom (at most
    /// `settlement_minor`); kept inline, as nearly every merchant holds some and merchants are
    /// few next to users.
    pub provenance: Origins,
}

/// A captured payment, never changed once captured: its refunds are records of their own
/// ([`crate::Ledger::refunds`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The paying user.
    pub user: UserId,
    /// The merchant paid.
    pub merchant: MerchantId,
    /// When it was captured.
    pub captured_at_ms: u64,
    /// What was captured, by funding source.
    pub captured: Funding,
}

/// A live hold of funds for a merchant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    /// The user whose funds are held.
    pub user: UserId,
    /// The merchant the hold is for.
    pub merchant: MerchantId,
    /// Held amounts by funding source.
    pub funding: Funding,
    /// When the hold lapses.
    pub expires_at_ms: u64,
}
