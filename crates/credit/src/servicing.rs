//! Servicing a credit line on commands: setting and reviewing its limit, adjusting its score,
//! and taking repayments under the product's overpayment rule. Each checks before it changes
//! anything and moves money only through the ledger's operations.

use crate::CreditLine;
use ledger::{Ledger, Postings};
use model::product::{Overpayment, Product};
use model::{Accepted, Amount, Outcome, Rejection, RepaySource};

/// Sets the user's limit; never below what is committed against it.
pub fn set_limit(ledger: &mut Ledger, line: &CreditLine, slot: usize, limit_minor: u64) -> Outcome {
    if limit_minor > Amount::MAX {
        return Err(Rejection::InvalidAmount);
    }
    if (limit_minor as i128) < crate::committed_minor(&ledger.users()[slot], line) {
        return Err(Rejection::LimitBelowUsed);
    }
    ledger.set_limit(slot, limit_minor);
    Ok(Accepted::Done)
}

/// Reviews the line under `product` in `month`: the limit the score and history earn.
pub fn review(ledger: &mut Ledger, line: &CreditLine, slot: usize, product: &Product, month: i64) -> Outcome {
    let to_minor = crate::score::reviewed_limit(&ledger.users()[slot], line, product, month);
    let from_minor = ledger.set_limit(slot, to_minor);
    Ok(Accepted::LineReviewed { from_minor, to_minor })
}

/// Adds an analyst's adjustment to the score and rescores at once.
pub fn adjust_score(ledger: &Ledger, line: &mut CreditLine, slot: usize, points: i32, (now_ms, month): (u64, i64)) {
    line.score.adjustment = line.score.adjustment.saturating_add(points);
    crate::score::rescore(&ledger.users()[slot], line, now_ms, month, true);
}

/// Takes a repayment of `amount` from `source`: the line takes what the overpayment rule lets
/// it (`rule`: the product's, or refuse without one); from the bank, the excess lands in the
/// balance like a top-up.
pub fn repay(
    (ledger, line): (&mut Ledger, &mut CreditLine),
    slot: usize,
    (amount, source): (Amount, RepaySource),
    rule: Overpayment,
    postings: &mut Postings<'_>,
) -> Outcome {
    let account = &ledger.users()[slot];
    let applied = line.billing.applied_repayment(account.credit_used_minor, amount.minor(), rule)?;
    if source == RepaySource::Balance && amount.minor() > account.balance_available_minor() {
        return Err(Rejection::InsufficientBalance);
    }
    if source == RepaySource::Bank {
        // Check the excess's landing before moving anything, so a refusal changes nothing.
        account
            .balance_minor
            .checked_add(amount.minor() - applied)
            .filter(|sum| *sum <= Amount::MAX)
            .ok_or(Rejection::AmountOverflow)?;
    }
    if let Some(applied) = Amount::new(applied) {
        ledger.repay(slot, applied, source, postings)?;
        line.billing.repay(applied.minor());
    }
    if let (Some(excess), RepaySource::Bank) = (Amount::new(amount.minor() - applied), source) {
        ledger.top_up(slot, excess, postings)?;
    }
    Ok(Accepted::Repaid { amount_minor: applied })
}

/// Pays the bill: the whole billed balance (`in_full`) or the rest of the minimum.
pub fn repay_statement(
    (ledger, line): (&mut Ledger, &mut CreditLine),
    slot: usize,
    (source, in_full): (RepaySource, bool),
    rule: Overpayment,
    postings: &mut Postings<'_>,
) -> Outcome {
    let due = line.billing.statement_due_minor(in_full);
    let amount = Amount::new(due).ok_or(Rejection::NothingDue)?;
    repay((ledger, line), slot, (amount, source), rule, postings)?;
    Ok(Accepted::Repaid { amount_minor: due })
}
