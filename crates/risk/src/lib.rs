//! The risk engine inside the ledger: every scored command gets a [`Decision`](model::risk::Decision) before it posts.
//!
//! - [`features`]: online aggregates kept on each user and merchant as ledger facts arrive
//!   (velocity windows, refunds, inflows, ring payers), and the values of the catalog's features.
//! - [`ties`]: devices, phones, identities, bank cards and payout accounts that tie accounts into
//!   linked groups, so "accounts tied to X" is one lookup.
//! - [`decide`]: scoring, the decision ladder and the account actions it takes.
//! - [`cases`]: cases and appeals, and the commands parked for a step-up verification.
//!
//! The data it reads and produces (rule sets, decisions, cases, the feature catalog) is
//! [`model::risk`]. It reads the ledger and the credit lines and writes them only through their
//! operations (a freeze, a cut line, a lowered score); what to run, hold or refuse it returns to
//! the engine, so a decision and the money movement it allows are one step of the engine's
//! `apply` and the same journal replays to the same decisions bit for bit.

#![warn(missing_docs)]

pub mod cases;
pub mod decide;
pub mod features;
pub mod ties;

use credit::CreditLine;
use features::{MerchantRisk, UserRisk};
use ledger::Ledger;
use ledger::table::Map;
use model::CommandId;
use model::risk::{AccountAction, Case, CompiledRules, Parked, Party, Proposal, RuleSet, Tie};
use std::collections::{BTreeMap, BTreeSet};

pub use decide::{CASE_HOLD_MS, ScoredEvent, evaluate, in_force};

/// `UserRisk::lapse_at_ms` of an action a case decided as fraud keeps until it is lifted.
pub const KEPT: u64 = u64::MAX;

/// What the rules read besides risk's own records: the accounts, the credit lines (by the
/// users' slots) and the time of the command being scored.
#[derive(Clone, Copy)]
pub struct Books<'a> {
    /// Accounts, payments and provenance.
    pub ledger: &'a Ledger,
    /// Each user's credit line, by the user's slot.
    pub lines: &'a [CreditLine],
    /// Risk's own records.
    pub risk: &'a Risk,
    /// Milliseconds since the Unix epoch.
    pub now_ms: u64,
}

impl<'a> Books<'a> {
    /// Whether two parties are the same or tied (see [`Risk::tied`]).
    pub fn tied(&self, left: Party, right: Party) -> bool {
        self.risk.tied(self.ledger, left, right)
    }

    /// Members of the party's group (see [`Risk::tied_parties`]).
    pub fn tied_parties(&self, party: Party) -> &'a [Party] {
        self.risk.tied_parties(self.ledger, party)
    }

    /// Whether a tie belongs to the party or to an account tied to it.
    pub fn tie_belongs_to(&self, tie: Tie, party: Party) -> bool {
        self.risk.tie_belongs_to(self.ledger, tie, party)
    }
}

/// The risk state: one record per user and per merchant (by the ledger's slots), the rules in
/// force, the tie graph, cases, parked commands and the lapse queue of account actions.
///
/// Invariants ([`Risk::check`]): a record per account; `lapses` holds exactly the users' lapse
/// times; an action's lapse is recorded iff it is in force; every group member points back to
/// its group.
#[derive(Default)]
pub struct Risk {
    pub(crate) users: Vec<UserRisk>,
    pub(crate) merchants: Vec<MerchantRisk>,
    pub(crate) rules: Option<Box<CompiledRules>>,
    pub(crate) ties: ties::Ties,
    /// By the id of the command that opened them.
    pub(crate) cases: BTreeMap<CommandId, Case>,
    /// Commands waiting for step-up verification; they share the ledger's expiry queue.
    pub(crate) parked: Map<CommandId, Parked>,
    /// (lapse time, user slot, action) of every account action that lapses: derived from the
    /// users' `lapse_at_ms`, so snapshots rebuild it.
    pub(crate) lapses: BTreeSet<(u64, u32, AccountAction)>,
    /// Rules files waiting for a second key's approval, by the proposing command's id.
    pub(crate) proposals: BTreeMap<CommandId, Proposal>,
}

/// Risk's part of a snapshot, in the order [`Risk::restore`] takes it.
pub struct RiskRecords {
    /// By user slot.
    pub users: Vec<UserRisk>,
    /// By merchant slot.
    pub merchants: Vec<MerchantRisk>,
    /// The rules in force, compiled.
    pub rules: Option<CompiledRules>,
    /// Parties by tie, in the order they linked.
    pub ties: Vec<(Tie, Vec<Party>)>,
    /// Members by group id − 1.
    pub groups: Vec<Vec<Party>>,
    /// Cases by the id of the command that opened them.
    pub cases: BTreeMap<CommandId, Case>,
    /// Commands parked for verification.
    pub parked: Vec<(CommandId, Parked)>,
    /// Rules proposals waiting for approval.
    pub proposals: BTreeMap<CommandId, Proposal>,
}

impl Risk {
    /// Rebuilds the state from a snapshot's records (the lapse queue is derived from the users).
    pub fn restore(records: RiskRecords) -> Risk {
        let RiskRecords { users, merchants, rules, ties, groups, cases, parked, proposals } = records;
        let lapses = lapses_of(&users);
        let mut risk =
            Risk { lapses, users, merchants, rules: rules.map(Box::new), cases, proposals, ..Risk::default() };
        risk.ties.parties.extend(ties);
        risk.ties.groups = groups;
        for (id, command) in parked {
            risk.parked.insert(id, command);
        }
        risk
    }

    /// Adds the record of a user just opened in the ledger (the next slot).
    pub fn open_user(&mut self) {
        self.users.push(UserRisk::default());
    }

    /// Adds the record of a merchant just opened in the ledger (the next slot).
    pub fn open_merchant(&mut self) {
        self.merchants.push(MerchantRisk::default());
    }

    /// Users' records by slot.
    pub fn users(&self) -> &[UserRisk] {
        &self.users
    }

    /// Merchants' records by slot.
    pub fn merchants(&self) -> &[MerchantRisk] {
        &self.merchants
    }

    /// Rules proposals waiting for approval, by the proposing command's id.
    pub fn proposals(&self) -> &BTreeMap<CommandId, Proposal> {
        &self.proposals
    }

    /// Whether rules are installed (without them nothing is scored).
    #[inline]
    pub fn has_rules(&self) -> bool {
        self.rules.is_some()
    }

    /// The rule set in force.
    pub fn rules(&self) -> Option<&RuleSet> {
        self.rules.as_ref().map(|rules| &rules.source)
    }

    /// The tie graph: parties by tie (unordered) and members by group id − 1.
    pub fn ties(&self) -> (impl Iterator<Item = (&Tie, &Vec<Party>)>, &[Vec<Party>]) {
        (self.ties.parties.iter(), &self.ties.groups)
    }

    /// Cases by the id of the command that opened them.
    pub fn cases(&self) -> &BTreeMap<CommandId, Case> {
        &self.cases
    }

    /// The command parked under `id`.
    pub fn parked(&self, id: CommandId) -> Option<&Parked> {
        self.parked.get(&id)
    }

    /// Every parked command (unordered).
    pub fn all_parked(&self) -> impl Iterator<Item = (&CommandId, &Parked)> {
        self.parked.iter()
    }

    /// How many commands are parked.
    pub fn parked_count(&self) -> usize {
        self.parked.len()
    }

    /// The earliest lapse of an account action, if any lapses.
    pub fn next_lapse_ms(&self) -> Option<u64> {
        self.lapses.first().map(|(lapse_at_ms, _, _)| *lapse_at_ms)
    }

    /// Asks the CPU for a user's record and, once there, what it points to (see
    /// [`ledger::prefetch`]).
    #[inline]
    pub fn prefetch_user(&self, slot: usize, aggregates: bool) {
        match aggregates {
            true => self.users[slot].prefetch(),
            false => ledger::prefetch::record(&self.users[slot]),
        }
    }

    /// [`Risk::prefetch_user`] for a merchant.
    #[inline]
    pub fn prefetch_merchant(&self, slot: usize, aggregates: bool) {
        match aggregates {
            true => self.merchants[slot].prefetch(),
            false => ledger::prefetch::record(&self.merchants[slot]),
        }
    }

    /// Checks risk's invariants against the ledger's accounts.
    pub fn check(&self, ledger: &Ledger) -> Result<(), String> {
        if self.users.len() != ledger.users().len() || self.merchants.len() != ledger.merchants().len() {
            return Err(format!(
                "{} users and {} merchants, {} and {} risk records",
                ledger.users().len(),
                ledger.merchants().len(),
                self.users.len(),
                self.merchants.len()
            ));
        }
        if lapses_of(&self.users) != self.lapses {
            return Err("the risk-action lapse queue differs from the users' records".into());
        }
        for (user, risk) in ledger.users().iter().zip(&self.users) {
            for action in AccountAction::ALL {
                let recorded = risk.lapse_at_ms[action.index()] != 0;
                if recorded != in_force(risk, action) {
                    return Err(format!("user {}: {action:?} in force and its lapse disagree", user.id.0));
                }
            }
        }
        self.check_ties(ledger)
    }
}

/// The lapse queue the users' records imply.
fn lapses_of(users: &[UserRisk]) -> BTreeSet<(u64, u32, AccountAction)> {
    let mut lapses = BTreeSet::new();
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
