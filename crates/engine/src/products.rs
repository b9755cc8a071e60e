//! Installing credit products and running their calendar: statement closing and daily penalties.

use crate::apply::{CreditLine, Engine, Postings};
use credit::billing;
use model::calendar;
use model::product::Product;
use model::{Accepted, Outcome, Rejection};
use std::collections::BTreeSet;

impl Engine {
    /// Installs a product version: validated, a higher version, effective now or later and not
    /// before the installed one, in the same currency and time zone.
    pub(crate) fn install_product(&mut self, product: &Product, effective_at_ms: Option<u64>) -> Outcome {
        product.validate().map_err(|_| Rejection::InvalidProduct)?;
        let effective_at_ms = effective_at_ms.unwrap_or(self.now_ms);
        if let Some((last_effective_ms, last)) = self.products.last() {
            let same_calendar = last.currency == product.currency
                && last.billing.utc_offset_minutes == product.billing.utc_offset_minutes;
            if !same_calendar {
                return Err(Rejection::InvalidProduct);
            }
            if product.version <= last.version || effective_at_ms < *last_effective_ms {
                return Err(Rejection::ProductVersionOrder);
            }
        }
        if effective_at_ms < self.now_ms {
            return Err(Rejection::ProductVersionOrder);
        }
        let offset = product.billing.utc_offset_minutes;
        self.billed_through_day.get_or_insert(calendar::local_day(effective_at_ms, offset) - 1);
        self.products.push((effective_at_ms, product.clone()));
        Ok(Accepted::Done)
    }

    /// The product version in force at `time_ms`.
    pub fn product_at(&self, time_ms: u64) -> Option<&Product> {
        let index = self.products.partition_point(|(effective_at_ms, _)| *effective_at_ms <= time_ms);
        index.checked_sub(1).map(|index| &self.products[index].1)
    }

    /// When the next tick has work: the earliest authorization expiry or risk-action lapse, or
    /// the end of the next unbilled day.
    pub fn next_tick_ms(&self) -> Option<u64> {
        let expiry = self.ledger.expiries().first().map(|(expires_at_ms, _)| *expires_at_ms);
        let lapse = self.risk.lapses.first().map(|(lapse_at_ms, _, _)| *lapse_at_ms);
        let day_end = self
            .billed_through_day
            .zip(self.products.first())
            .map(|(day, (_, product))| calendar::day_start_ms(day + 2, product.billing.utc_offset_minutes));
        [expiry, lapse, day_end].into_iter().flatten().min()
    }

    /// Processes the end of every local day that has ended since the last tick; returns the
    /// statements closed.
    pub(crate) fn run_billing_days(&mut self, ledger: &mut Postings<'_>) -> u32 {
        let (Some(mut day), Some((_, first))) = (self.billed_through_day, self.products.first()) else { return 0 };
        let offset = first.billing.utc_offset_minutes;
        let today = calendar::local_day(self.now_ms, offset);
        let mut statements = 0;
        while day + 1 < today {
            let next_start_ms = calendar::day_start_ms(day + 2, offset);
            let index = self.products.partition_point(|(effective_at_ms, _)| *effective_at_ms < next_start_ms);
            let Some(index) = index.checked_sub(1) else { break };
            let product = &self.products[index].1;
            self.ledger.open_fee_income(product.currency);
            let month = calendar::month_key(day + 1);
            // Only users whose due date passes today, or with something past due, have work.
            let mut work: Vec<u32> = self.daily_billing.iter().copied().collect();
            while let Some(&(due_before_ms, slot)) = self.due_dates.first().filter(|(due, _)| *due < next_start_ms) {
                self.due_dates.remove(&(due_before_ms, slot));
                work.push(slot);
            }
            work.sort_unstable();
            work.dedup();
            for slot in work {
                let line = &mut self.lines[slot as usize];
                if self.ledger.users()[slot as usize].currency == product.currency {
                    let penalty = line.billing.end_of_day(next_start_ms, month, product);
                    self.ledger.charge(slot as usize, penalty, ledger);
                }
                match line.billing.has_past_due_work() {
                    true => self.daily_billing.insert(slot),
                    false => self.daily_billing.remove(&slot),
                };
            }
            let (_, _, day_of_month) = calendar::civil(day + 2);
            if day_of_month == product.billing.statement_day {
                let due_before_ms = calendar::day_start_ms(billing::due_before_day(day + 2, product), offset);
                for (slot, line) in self.lines.iter_mut().enumerate() {
                    if self.ledger.users()[slot].currency != product.currency {
                        continue;
                    }
                    let closed = line.billing.statements.len();
                    let fees = line.billing.close_cycle(next_start_ms, due_before_ms, product);
                    self.ledger.charge(slot, fees, ledger);
                    if line.billing.statements.len() > closed {
                        statements += 1;
                        self.due_dates.insert((due_before_ms, slot as u32));
                        credit::score::rescore(&self.ledger.users()[slot], line, next_start_ms, month, false);
                    }
                }
            }
            day += 1;
            self.billed_through_day = Some(day);
        }
        statements
    }
}

/// The billing work the users' state implies: who is past due (billed daily) and which latest
/// statements still await their due date.
pub(crate) fn billing_work(lines: &[CreditLine]) -> (BTreeSet<u32>, BTreeSet<(u64, u32)>) {
    let daily = (0..lines.len() as u32).filter(|slot| lines[*slot as usize].billing.has_past_due_work()).collect();
    let due_dates = lines
        .iter()
        .enumerate()
        .filter_map(|(slot, line)| line.billing.awaiting_due_before_ms().map(|due| (due, slot as u32)))
        .collect();
    (daily, due_dates)
}
