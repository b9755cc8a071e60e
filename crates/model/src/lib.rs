//! The credit-line domain as data, below every other creditline crate but `rules`.
//!
//! Ids and money ([`Amount`]: integer minor units, checked arithmetic), one [`CommandKind`]
//! variant per command, [`Outcome`]s and [`Rejection`]s with stable codes, double-entry
//! [`Posting`]s, credit [`product`]s and risk [`risk::RuleSet`]s as validated data, the decisions
//! and cases the risk engine produces, and the journal [`codec`]. Nothing here holds state or does
//! I/O: the engine crate applies commands, the edges (server, sim, cli) map these types to their
//! formats.

#![warn(missing_docs)]

pub mod calendar;
pub mod codec;
mod command;
mod money;
mod outcome;
pub mod product;
pub mod risk;

pub use command::{
    ActorId, Command, CommandId, CommandKind, Funding, IdentityLevel, Initiator, MerchantCategory, MerchantId,
    MerchantVerification, RepaySource, UserId, WithdrawalPurpose, kind,
};
pub use money::{Amount, Currency};
pub use outcome::{Accepted, AccountKey, AccountKind, Outcome, Posting, Rejection};
