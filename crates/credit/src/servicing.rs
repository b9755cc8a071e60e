//! Servicing a credit line on commands: setting and reviewing its limit, adjusting its score,
//! and taking repayments under the product's overpayment rule. Each has a pure check that finds
//! every refusal and a change that cannot refuse; money moves only through the ledger's
//! operations.

use crate::CreditLine;
use ledger::{Ledger, Postings};
use model::product::{Overpayment, Product};
use model::{Amount, Rejection, RepaySource};

/// Refuses a limit out of range or below what is committed against the line.
pub fn check_limit(ledger: &Ledger, line: &CreditLine, slot: usize, limit_minor: u64) -> Result<(), Rejection> {
    if limit_minor > Amount::MAX {
        return Err(Rejection::InvalidAmount);
    }
    if (limit_minor as i128) < crate::committed_minor(&ledger.users()[slot], line) {
        return Err(Rejection::LimitBelowUsed);
    }
    Ok(())
}

/// The limit a review of the line under `product` in `month` sets: what the score and history
/// earn.
pub fn reviewed_limit(ledger: &Ledger, line: &CreditLine, slot: usize, product: &Product, month: i64) -> u64 {
    crate::score::reviewed_limit(&ledger.users()[slot], line, product, month)
}

/// Adds an analyst's adjustment to the score and rescores at once.
pub fn adjust_score(ledger: &Ledger, line: &mut CreditLine, slot: usize, points: i32, (now_ms, month): (u64, i64)) {
    line.score.adjustment = line.score.adjustment.saturating_add(points);
    crate::score::rescore(&ledger.users()[slot], line, now_ms, month, true);
}

/// A checked repayment, from [`check_repay`] for [`repay`].
#[derive(Clone, Copy, Debug)]
pub struct Repayment {
    slot: usize,
    source: RepaySource,
    /// What the line takes (none when nothing is owed).
    applied: Option<Amount>,
    /// What lands in the balance from the bank beyond that.
    excess: Option<Amount>,
}

impl Repayment {
    /// The repaying user's slot.
    pub fn slot(&self) -> usize {
        self.slot
    }

    /// What the line takes, in minor units.
    pub fn applied_minor(&self) -> u64 {
        self.applied.map_or(0, Amount::minor)
    }
}

/// Checks a repayment of `amount` from `source`: the line takes what the overpayment rule lets
/// it (`rule`: the product's, or refuse without one); from the bank, the excess lands in the
/// balance like a top-up; from the balance, all of `amount` must be available.
pub fn check_repay(
    (ledger, line): (&Ledger, &CreditLine),
    slot: usize,
    (amount, source): (Amount, RepaySource),
    rule: Overpayment,
) -> Result<Repayment, Rejection> {
    let applied = line.billing.applied_repayment(ledger.users()[slot].credit_used_minor, amount.minor(), rule)?;
    ledger.check_repay(slot, amount, source)?;
    let excess = match source {
        RepaySource::Bank => Amount::new(amount.minor() - applied),
        RepaySource::Balance => None,
    };
    if let Some(excess) = excess {
        ledger.check_top_up(slot, excess)?;
    }
    Ok(Repayment { slot, source, applied: Amount::new(applied), excess })
}

/// Takes a checked repayment: through the ledger, then allocated across the billing buckets.
pub fn repay((ledger, line): (&mut Ledger, &mut CreditLine), repayment: Repayment, postings: &mut Postings<'_>) {
    let Repayment { slot, source, applied, excess } = repayment;
    if let Some(applied) = applied {
        ledger.repay(slot, applied, source, postings);
        line.billing.repay(applied.minor());
    }
    if let Some(excess) = excess {
        ledger.top_up(slot, excess, postings);
    }
}

/// Checks paying the bill: the whole billed balance (`in_full`) or the rest of the minimum;
/// returns the repayment and what is due.
pub fn check_repay_statement(
    (ledger, line): (&Ledger, &CreditLine),
    slot: usize,
    (source, in_full): (RepaySource, bool),
    rule: Overpayment,
) -> Result<(Repayment, u64), Rejection> {
    let due = line.billing.statement_due_minor(in_full);
    let amount = Amount::new(due).ok_or(Rejection::NothingDue)?;
    Ok((check_repay((ledger, line), slot, (amount, source), rule)?, due))
}
