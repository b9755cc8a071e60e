//! The creditline engine: a pure, deterministic state machine over the credit-line ledger.
//!
//! [`Engine::apply`] takes a [`Command`] and returns an [`Outcome`], appending the double-entry
//! [`Posting`]s it made. The engine does no I/O, reads no clock (time arrives on each command)
//! and uses no randomness, so replaying the same commands rebuilds the same state bit for bit
//! ([`Engine::state_hash`]). Money is [`Amount`]: integer minor units with checked arithmetic.
//!
//! Business rejections are values ([`Rejection`], each with a stable code), never panics.

#![warn(missing_docs)]

mod billing;
pub mod calendar;
pub mod codec;
mod command;
mod idempotency;
mod instalments;
mod invariants;
mod ledger;
mod mandates;
mod money;
mod outcome;
mod prefetch;
pub mod product;
mod products;
pub mod provenance;
mod queries;
pub mod risk;
pub mod score;
mod snapshot;
mod table;
mod withdrawal;

pub use billing::{Billing, CycleActivity, Statement};
pub use command::{
    ActorId, Command, CommandId, CommandKind, Funding, IdentityLevel, Initiator, MerchantCategory, MerchantId,
    MerchantVerification, RepaySource, UserId, WithdrawalPurpose,
};
pub use idempotency::IDEMPOTENCY_WINDOW_MS;
pub use instalments::{InstalmentPlanState, ScheduledPeriod};
pub use ledger::{AUTHORIZATION_MAX_MS, Authorization, Engine, Merchant, Payment, User};
pub use money::{Amount, Currency};
pub use outcome::{Accepted, AccountKey, AccountKind, Outcome, Posting, Rejection};
pub use prefetch::Lookahead;
pub use queries::Counts;
pub use snapshot::{SNAPSHOT_VERSION, SnapshotError};
pub use withdrawal::{Challenge, WithdrawalTotals};
