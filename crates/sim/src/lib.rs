//! Simulation and evaluation: the evidence that the risk engine catches abuse without bothering
//! honest people.
//!
//! - [`events`]: the versioned JSON Lines event format (docs/events.md) — everything that happens
//!   on a wallet/credit platform, each event optionally labelled with its ground truth — its
//!   parser and its mapping onto engine commands.
//! - [`population`]: a seeded, deterministic, agent-based population in virtual time: honest users
//!   and merchants, and abusers of every cash-out typology, some of them disguised.
//! - [`evaluate`]: feeds events through a fresh engine and scores its decisions against the
//!   labels: precision, recall and F1 per typology, honest friction, money stopped.
//! - [`report`]: the evaluation as a self-contained HTML page with charts.
//! - [`convert`]: a generic mobile-money log (cash-in, cash-out, debit, payment, transfer rows
//!   with opening balances) converted into events.
//!
//! The engine never reads a label: labels stay in this crate.

#![warn(missing_docs)]

pub mod convert;
pub mod evaluate;
pub mod events;
pub mod population;
pub mod report;
