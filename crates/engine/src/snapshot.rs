//! Snapshots: a canonical encoding of the whole state, and its hash.
//!
//! The encoding never depends on hash-map iteration order: vectors keep their insertion order
//! and keyed maps are written sorted by key, so the same state always encodes to the same bytes
//! and [`Engine::state_hash`] compares states bit for bit.

use crate::apply::{CreditLine, Engine};
use crate::mandates::Mandate;
use credit::billing::Billing;
use credit::calendar::Calendar;
use credit::score::CreditScore;
use credit::withdrawal::Challenge;
use credit::withdrawal::Challenges;
use credit::withdrawal::WithdrawalTotals;
use ledger::idempotency::{RememberedIds, RememberedSnapshot};
use ledger::provenance::{Origins, Provenance};
use ledger::{Authorization, Ledger, LedgerRecords, MerchantAccount, Payment, UserAccount};
use model::Currency;
use model::product::Product;
use model::risk::{Case, Parked, Party, Proposal, RuleSet, Tie};
use model::{CommandId, Funding, MerchantId, UserId};
use model::{IdentityLevel, MerchantCategory, MerchantVerification};
use risk::features::{MerchantRisk, UserRisk};
use risk::{Risk, RiskRecords};
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The snapshot format version; bump on any change to the encoded layout or to the meaning of a
/// stored value (version 17: rules proposals waiting for approval, cases' assignees; 16: a watch-list's reason may be pass_through, before other; 15: when
/// a user's attempt was last refused; 14: the watch-list is its reason alone; 13: a watch-list
/// keeps what it is for; 12: a user's outgoing transfers keep their amounts; 11: refunds of
/// cash-like goods are counted however late; 10: orders for others are a ring of their own).
pub const SNAPSHOT_VERSION: u32 = 17;

/// One user as the snapshot lays it out: the account, then the credit line and the risk record
/// (kept apart by slot in the engine), then the balance's provenance. Borrowed when written,
/// owned when read.
#[derive(Serialize, Deserialize)]
struct UserRecord<'a> {
    id: UserId,
    currency: Currency,
    identity: IdentityLevel,
    limit_minor: u64,
    credit_used_minor: i64,
    credit_held_minor: u64,
    balance_minor: u64,
    balance_held_minor: u64,
    credit_frozen: bool,
    opened_at_ms: u64,
    billing: Cow<'a, Billing>,
    score: Cow<'a, CreditScore>,
    withdrawals: Cow<'a, WithdrawalTotals>,
    risk: Cow<'a, UserRisk>,
    provenance: Cow<'a, Provenance>,
}

/// One merchant as the snapshot lays it out, as [`UserRecord`] does a user.
#[derive(Serialize, Deserialize)]
struct MerchantRecord<'a> {
    id: MerchantId,
    currency: Currency,
    category: MerchantCategory,
    verification: MerchantVerification,
    partner: bool,
    settlement_minor: u64,
    opened_at_ms: u64,
    risk: Cow<'a, MerchantRisk>,
    provenance: Cow<'a, Origins>,
}

impl UserRecord<'_> {
    fn of<'a>(account: &'a UserAccount, line: &'a CreditLine, risk: &'a UserRisk) -> UserRecord<'a> {
        UserRecord {
            id: account.id,
            currency: account.currency,
            identity: account.identity,
            limit_minor: account.limit_minor,
            credit_used_minor: account.credit_used_minor,
            credit_held_minor: account.credit_held_minor,
            balance_minor: account.balance_minor,
            balance_held_minor: account.balance_held_minor,
            credit_frozen: account.credit_frozen,
            opened_at_ms: account.opened_at_ms,
            billing: Cow::Borrowed(&line.billing),
            score: Cow::Borrowed(&line.score),
            withdrawals: Cow::Borrowed(&line.withdrawals),
            risk: Cow::Borrowed(risk),
            provenance: Cow::Borrowed(&account.provenance),
        }
    }

    fn into_parts(self) -> (UserAccount, CreditLine, UserRisk) {
        let account = UserAccount {
            id: self.id,
            currency: self.currency,
            identity: self.identity,
            limit_minor: self.limit_minor,
            credit_used_minor: self.credit_used_minor,
            credit_held_minor: self.credit_held_minor,
            balance_minor: self.balance_minor,
            balance_held_minor: self.balance_held_minor,
            credit_frozen: self.credit_frozen,
            opened_at_ms: self.opened_at_ms,
            provenance: self.provenance.into_owned(),
        };
        let line = CreditLine {
            billing: self.billing.into_owned(),
            score: self.score.into_owned(),
            withdrawals: self.withdrawals.into_owned(),
        };
        (account, line, self.risk.into_owned())
    }
}

impl MerchantRecord<'_> {
    fn of<'a>(account: &'a MerchantAccount, risk: &'a MerchantRisk) -> MerchantRecord<'a> {
        MerchantRecord {
            id: account.id,
            currency: account.currency,
            category: account.category,
            verification: account.verification,
            partner: account.partner,
            settlement_minor: account.settlement_minor,
            opened_at_ms: account.opened_at_ms,
            risk: Cow::Borrowed(risk),
            provenance: Cow::Borrowed(&account.provenance),
        }
    }

    fn into_parts(self) -> (MerchantAccount, MerchantRisk) {
        let account = MerchantAccount {
            id: self.id,
            currency: self.currency,
            category: self.category,
            verification: self.verification,
            partner: self.partner,
            settlement_minor: self.settlement_minor,
            opened_at_ms: self.opened_at_ms,
            provenance: self.provenance.into_owned(),
        };
        (account, self.risk.into_owned())
    }
}

#[derive(Serialize)]
struct SnapshotRef<'a> {
    version: u32,
    now_ms: u64,
    commands_applied: u64,
    users: Vec<UserRecord<'a>>,
    merchants: Vec<MerchantRecord<'a>>,
    bank_clearing: &'a [(Currency, i64)],
    fee_income: &'a [(Currency, i64)],
    products: &'a [(u64, Product)],
    billed_through_day: Option<i64>,
    payments: Vec<(CommandId, &'a Payment)>,
    authorizations: Vec<(CommandId, &'a Authorization)>,
    challenges: Vec<(CommandId, &'a Challenge)>,
    refunds: Vec<(CommandId, &'a Vec<(CommandId, Funding)>)>,
    remembered: RememberedSnapshot,
    rules: Option<&'a RuleSet>,
    ties: Vec<(Tie, &'a Vec<Party>)>,
    groups: &'a [Vec<Party>],
    cases: &'a BTreeMap<CommandId, Case>,
    parked: Vec<(CommandId, &'a Parked)>,
    mandates: &'a BTreeMap<(UserId, MerchantId), Mandate>,
    proposals: &'a BTreeMap<CommandId, Proposal>,
}

#[derive(Deserialize)]
struct SnapshotOwned {
    version: u32,
    now_ms: u64,
    commands_applied: u64,
    users: Vec<UserRecord<'static>>,
    merchants: Vec<MerchantRecord<'static>>,
    bank_clearing: Vec<(Currency, i64)>,
    fee_income: Vec<(Currency, i64)>,
    products: Vec<(u64, Product)>,
    billed_through_day: Option<i64>,
    payments: Vec<(CommandId, Payment)>,
    authorizations: Vec<(CommandId, Authorization)>,
    challenges: Vec<(CommandId, Challenge)>,
    refunds: Vec<(CommandId, Vec<(CommandId, Funding)>)>,
    remembered: RememberedSnapshot,
    rules: Option<RuleSet>,
    ties: Vec<(Tie, Vec<Party>)>,
    groups: Vec<Vec<Party>>,
    cases: BTreeMap<CommandId, Case>,
    parked: Vec<(CommandId, Parked)>,
    mandates: BTreeMap<(UserId, MerchantId), Mandate>,
    proposals: BTreeMap<CommandId, Proposal>,
}

/// Why a snapshot could not be restored.
#[derive(Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// The bytes do not decode.
    Malformed(String),
    /// The snapshot was written by another format version.
    Version(u32),
    /// The decoded state breaks an invariant.
    Invariant(String),
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::Malformed(reason) => write!(formatter, "snapshot does not decode: {reason}"),
            SnapshotError::Version(version) => {
                write!(formatter, "snapshot version {version}, expected {SNAPSHOT_VERSION}")
            }
            SnapshotError::Invariant(reason) => write!(formatter, "snapshot breaks an invariant: {reason}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

fn sorted<'a, K: Ord + Copy + 'a, V, B: Borrow<K>>(map: impl Iterator<Item = (B, &'a V)>) -> Vec<(K, &'a V)> {
    let mut entries: Vec<(K, &V)> = map.map(|(id, value)| (*id.borrow(), value)).collect();
    entries.sort_unstable_by_key(|(id, _)| *id);
    entries
}

impl Engine {
    /// Encodes the whole state canonically.
    pub fn snapshot(&self) -> Vec<u8> {
        let (ties, groups) = self.risk.ties();
        let snapshot = SnapshotRef {
            version: SNAPSHOT_VERSION,
            now_ms: self.now_ms,
            commands_applied: self.commands_applied,
            users: (self.ledger.users().iter().zip(&self.lines).zip(self.risk.users()))
                .map(|((account, line), risk)| UserRecord::of(account, line, risk))
                .collect(),
            merchants: (self.ledger.merchants().iter().zip(self.risk.merchants()))
                .map(|(account, risk)| MerchantRecord::of(account, risk))
                .collect(),
            bank_clearing: self.ledger.bank_clearing(),
            fee_income: self.ledger.fee_income(),
            products: self.calendar.products(),
            billed_through_day: self.calendar.billed_through_day(),
            payments: sorted(self.ledger.payments()),
            authorizations: sorted(self.ledger.authorizations()),
            challenges: sorted(self.challenges.iter()),
            refunds: sorted(self.ledger.all_refunds()),
            remembered: self.remembered.to_snapshot(),
            rules: self.risk.rules(),
            ties: sorted(ties),
            groups,
            cases: self.risk.cases(),
            parked: sorted(self.risk.all_parked()),
            mandates: &self.mandates,
            proposals: self.risk.proposals(),
        };
        // Encoding into a growable vector fails only on allocation failure, which aborts anyway.
        postcard::to_allocvec(&snapshot).expect("encoding to a vector cannot fail")
    }

    /// A 64-bit hash of the canonical encoding: equal states, equal hashes.
    pub fn state_hash(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&self.snapshot())
    }

    /// Rebuilds an engine from [`Engine::snapshot`] bytes and checks its invariants.
    pub fn restore(bytes: &[u8]) -> Result<Engine, SnapshotError> {
        let owned: SnapshotOwned =
            postcard::from_bytes(bytes).map_err(|error| SnapshotError::Malformed(error.to_string()))?;
        if owned.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version(owned.version));
        }
        let mut engine = Engine { now_ms: owned.now_ms, commands_applied: owned.commands_applied, ..Engine::default() };
        let (mut users, mut user_risks) =
            (Vec::with_capacity(owned.users.len()), Vec::with_capacity(owned.users.len()));
        for user in owned.users {
            let (account, line, risk) = user.into_parts();
            users.push(account);
            engine.lines.push(line);
            user_risks.push(risk);
        }
        let count = owned.merchants.len();
        let (mut merchants, mut merchant_risks) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for merchant in owned.merchants {
            let (account, risk) = merchant.into_parts();
            merchants.push(account);
            merchant_risks.push(risk);
        }
        engine.ledger = Ledger::restore(LedgerRecords {
            users,
            merchants,
            bank_clearing: owned.bank_clearing,
            fee_income: owned.fee_income,
            payments: owned.payments,
            authorizations: owned.authorizations,
            refunds: owned.refunds,
        });
        engine.calendar = Calendar::restore(owned.products, owned.billed_through_day, &engine.lines);
        engine.challenges = Challenges::restore(owned.challenges, &mut engine.ledger);
        let rules = owned.rules.map(|rules| rules.compile());
        let rules = rules.transpose().map_err(|error| SnapshotError::Invariant(format!("rules: {error}")))?;
        for (id, parked) in &owned.parked {
            engine.ledger.schedule(parked.expires_at_ms, *id);
        }
        engine.risk = Risk::restore(RiskRecords {
            users: user_risks,
            merchants: merchant_risks,
            rules,
            ties: owned.ties,
            groups: owned.groups,
            cases: owned.cases,
            parked: owned.parked,
            proposals: owned.proposals,
        });
        engine.remembered = RememberedIds::from_snapshot(owned.remembered);
        engine.mandates = owned.mandates;
        engine.check_invariants().map_err(SnapshotError::Invariant)?;
        Ok(engine)
    }
}
