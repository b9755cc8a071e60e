//! The risk engine inside the ledger: every scored command gets a [`Decision`] before it posts.
//!
//! - [`features`]: online aggregates kept on each user and merchant as events apply (velocity
//!   windows, refunds, inflows, ring payers), and the values of the catalog's features.
//! - `ties`: devices, phones, identities, bank cards and payout accounts that tie accounts into
//!   linked groups, so "accounts tied to X" is one lookup.
//! - `decide`: scoring, the decision ladder, account actions, risk challenges, cases and appeals.
//!
//! The data it reads and produces (rule sets, decisions, cases, the feature catalog) is
//! [`model::risk`]. A decision and the money movement it allows are one step of
//! [`crate::Engine::apply`], so the same journal replays to the same decisions bit for bit.

pub(crate) mod decide;
pub mod features;
pub(crate) mod ties;

use ledger::table::ShardedMap;
use model::CommandId;
use model::risk::{AccountAction, Case, CompiledRules, Decision, Parked};
use std::collections::BTreeMap;

pub use decide::CASE_HOLD_MS;

/// `UserRisk::lapse_at_ms` of an action a case decided as fraud keeps until it is lifted.
pub const KEPT: u64 = u64::MAX;

/// The lapse queue the users' records imply (restored snapshots rebuild it; invariants compare).
pub(crate) fn lapses_of(users: &[features::UserRisk]) -> std::collections::BTreeSet<(u64, u32, AccountAction)> {
    let mut lapses = std::collections::BTreeSet::new();
    for (slot, risk) in users.iter().enumerate() {
        for action in AccountAction::ALL {
            let lapse_at_ms = risk.lapse_at_ms[action.index()];
            if lapse_at_ms != 0 && lapse_at_ms != KEPT {
                lapses.insert((lapse_at_ms, slot as u32, action));
            }
        }
    }
    lapses
}

/// The engine's risk state beyond what lives on users and merchants.
#[derive(Default)]
pub(crate) struct RiskState {
    /// Each user's aggregates and account-action flags, by the user's slot.
    pub(crate) users: Vec<features::UserRisk>,
    /// Each merchant's aggregates, by the merchant's slot.
    pub(crate) merchants: Vec<features::MerchantRisk>,
    /// The rules in force, compiled.
    pub(crate) rules: Option<Box<CompiledRules>>,
    /// The tie graph.
    pub(crate) ties: ties::Ties,
    /// Cases by the id of the command that opened them.
    pub(crate) cases: BTreeMap<CommandId, Case>,
    /// Commands waiting for step-up verification; they share the engine's `expiries`.
    pub(crate) parked: ShardedMap<CommandId, Parked>,
    /// The decision on the last applied command, if it was scored; not part of the state.
    pub(crate) last_decision: Option<Decision>,
    /// (lapse time, user slot, action) of every account action that lapses: derived from the
    /// users' `lapse_at_ms`, so snapshots rebuild it.
    pub(crate) lapses: std::collections::BTreeSet<(u64, u32, AccountAction)>,
}
