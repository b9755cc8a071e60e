//! The creditline engine: a pure, deterministic state machine over the credit-line ledger.
//!
//! [`Engine::apply`] takes a [`model::Command`] and returns a [`model::Outcome`], appending the
//! double-entry [`model::Posting`]s it made. The engine does no I/O, reads no clock (time arrives on each command)
//! and uses no randomness, so replaying the same commands rebuilds the same state bit for bit
//! ([`Engine::state_hash`]). Money is [`model::Amount`]: integer minor units with checked arithmetic.
//!
//! Business rejections are values ([`model::Rejection`], each with a stable code), never panics.

#![warn(missing_docs)]

mod apply;
mod invariants;
mod kinds;
mod mandates;
mod prefetch;
mod queries;
mod screen;
mod snapshot;

pub use apply::{Engine, Merchant, User};
pub use credit::billing::{Billing, CycleActivity, Statement};
pub use credit::instalments::{InstalmentPlanState, ScheduledPeriod};
pub use credit::withdrawal::{Challenge, WithdrawalTotals};
pub use credit::{CreditLine, score};
pub use ledger::idempotency::IDEMPOTENCY_WINDOW_MS;
pub use ledger::{AUTHORIZATION_MAX_MS, Authorization, MerchantAccount, Payment, UserAccount, provenance};
pub use prefetch::{Hint, Lookahead};
pub use queries::Counts;
pub use risk::CASE_HOLD_MS;
pub use risk::features::{MerchantRisk, UserRisk};
pub use snapshot::{SNAPSHOT_VERSION, SnapshotError};
