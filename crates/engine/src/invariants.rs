//! Whole-state invariants: run after every batch in tests and simulation, and by `creditline check`.

use crate::apply::Engine;
use model::{Amount, Currency};
use std::collections::BTreeMap;

impl Engine {
    /// Checks every ledger invariant; the error names the first one broken, precisely.
    ///
    /// - Per currency, the debit-positive balances of all accounts sum to zero.
    /// - Credit used (fees and penalties aside) plus held never exceeds the limit; held balance
    ///   never exceeds the balance; the billing buckets sum to the credit used.
    /// - Each user's holds equal the sum of their live authorizations, and every authorization has
    ///   exactly one expiry entry.
    /// - No payment has more refunded than captured, per funding source.
    /// - Tie groups and the accounts' group fields agree; groups stay within their bound.
    /// - An account's credit-derived money never exceeds its balance; a balance's allocated
    ///   provenance is not empty; origins are named once.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut sums: BTreeMap<Currency, i128> = BTreeMap::new();
        let mut holds: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        for (currency, position) in self.ledger.bank_clearing().iter().chain(self.ledger.fee_income()) {
            *sums.entry(*currency).or_default() += *position as i128;
        }
        if self.lines.len() != self.ledger.users().len() {
            return Err(format!("{} user accounts, {} credit lines", self.ledger.users().len(), self.lines.len()));
        }
        self.risk.check(&self.ledger)?;
        for (user, line) in self.ledger.users().iter().zip(&self.lines) {
            *sums.entry(user.currency).or_default() += user.credit_used_minor as i128 - user.balance_minor as i128;
            let committed = credit::committed_minor(user, line);
            if committed > user.limit_minor as i128 {
                return Err(format!(
                    "user {}: credit used (fees and penalties aside) + held = {committed} exceeds limit {}",
                    user.id.0, user.limit_minor
                ));
            }
            if line.billing.owed_minor() != user.credit_used_minor {
                return Err(format!(
                    "user {}: billing buckets sum to {}, the credit line owes {}",
                    user.id.0,
                    line.billing.owed_minor(),
                    user.credit_used_minor
                ));
            }
            if user.balance_held_minor > user.balance_minor || user.balance_minor > Amount::MAX {
                return Err(format!(
                    "user {}: balance {} with {} held is out of bounds",
                    user.id.0, user.balance_minor, user.balance_held_minor
                ));
            }
            let kept = user.provenance.origins();
            if kept.is_some_and(|origins| origins.is_empty()) {
                return Err(format!("user {}: an empty provenance holds an allocation", user.id.0));
            }
            provenance_within(kept, user.balance_minor)
                .map_err(|reason| format!("user {}: the balance's {reason}", user.id.0))?;
            holds.insert(user.id.0, (0, 0));
        }
        self.calendar.check(&self.lines)?;
        for merchant in self.ledger.merchants() {
            provenance_within(Some(&merchant.provenance), merchant.settlement_minor)
                .map_err(|reason| format!("merchant {}: the settlement account's {reason}", merchant.id.0))?;
            *sums.entry(merchant.currency).or_default() -= merchant.settlement_minor as i128;
        }
        if let Some((currency, sum)) = sums.iter().find(|(_, sum)| **sum != 0) {
            return Err(format!("postings in {currency} sum to {sum}, not zero"));
        }
        for (id, authorization) in self.ledger.authorizations() {
            let held = holds
                .get_mut(&authorization.user.0)
                .ok_or_else(|| format!("authorization {} names unknown user", id.0))?;
            held.0 += authorization.funding.credit_minor;
            held.1 += authorization.funding.balance_minor;
            if !self.ledger.expiries().contains(&(authorization.expires_at_ms, *id)) {
                return Err(format!("authorization {} has no expiry entry", id.0));
            }
        }
        for (id, challenge) in self.challenges.iter() {
            let pending = self.user(challenge.user).and_then(|user| user.credit.withdrawals.pending);
            if pending != Some(*id) {
                return Err(format!("challenge {} is not its user's pending withdrawal ({pending:?})", id.0));
            }
            let held =
                holds.get_mut(&challenge.user.0).ok_or_else(|| format!("challenge {} names unknown user", id.0))?;
            held.0 += challenge.amount_minor + challenge.fee_minor;
            if !self.ledger.expiries().contains(&(challenge.expires_at_ms, *id)) {
                return Err(format!("challenge {} has no expiry entry", id.0));
            }
        }
        let pending = self.lines.iter().filter(|line| line.withdrawals.pending.is_some()).count();
        if pending != self.challenges.len() {
            return Err(format!(
                "{pending} users have a pending withdrawal, {} challenges exist",
                self.challenges.len()
            ));
        }
        if self.ledger.expiries().len()
            != self.ledger.authorization_count() + self.challenges.len() + self.risk.parked_count()
        {
            return Err(format!(
                "{} expiry entries for {} authorizations",
                self.ledger.expiries().len(),
                self.ledger.authorization_count()
            ));
        }
        for user in self.ledger.users() {
            if holds[&user.id.0] != (user.credit_held_minor, user.balance_held_minor) {
                return Err(format!(
                    "user {}: holds {:?} differ from live authorizations {:?}",
                    user.id.0,
                    (user.credit_held_minor, user.balance_held_minor),
                    holds[&user.id.0]
                ));
            }
        }
        for (id, payment) in self.ledger.payments() {
            let refunded = self.refunded(id);
            if refunded.credit_minor > payment.captured.credit_minor
                || refunded.balance_minor > payment.captured.balance_minor
            {
                return Err(format!("payment {}: refunded {refunded:?} exceeds captured {:?}", id.0, payment.captured));
            }
        }
        Ok(())
    }
}

/// Checks one account's provenance against its balance.
fn provenance_within(origins: Option<&ledger::provenance::Origins>, balance_minor: u64) -> Result<(), String> {
    let Some(origins) = origins else { return Ok(()) };
    let credit = origins.credit_minor();
    if credit > balance_minor {
        return Err(format!("credit-derived part {credit} exceeds the balance {balance_minor}"));
    }
    let named: Vec<u64> = origins.named().map(|origin| origin.user.0).collect();
    match named.iter().enumerate().any(|(place, user)| named[..place].contains(user)) {
        true => Err(format!("provenance names an origin twice: {named:?}")),
        false => Ok(()),
    }
}
