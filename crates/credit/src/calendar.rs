//! The product versions installed and the calendar they run: statement closing on the statement
//! day and the end of every local day (penalties on what is past due), on ticks.

use crate::{CreditLine, billing};
use ledger::{Ledger, Postings};
use model::Rejection;
use model::calendar;
use model::product::Product;
use std::collections::BTreeSet;

/// Product versions with the time each takes effect, and the billing work the calendar owes.
#[derive(Default)]
pub struct Calendar {
    /// Installed versions in version order, with the time each takes effect.
    products: Vec<(u64, Product)>,
    /// Slots of users with past-due work every day (`Billing::has_past_due_work`); users who
    /// settle leave at the next day's end. Derived from the lines, so a restore rebuilds it.
    daily_billing: BTreeSet<u32>,
    /// (due date, slot) of every latest statement whose due date is still ahead. Derived too.
    due_dates: BTreeSet<(u64, u32)>,
    /// The last local day whose end has been processed (None before any product).
    billed_through_day: Option<i64>,
}

impl Calendar {
    /// A calendar from a snapshot's products and position; the work sets are rebuilt from the
    /// lines.
    pub fn restore(products: Vec<(u64, Product)>, billed_through_day: Option<i64>, lines: &[CreditLine]) -> Calendar {
        let (daily_billing, due_dates) = billing_work(lines);
        Calendar { products, daily_billing, due_dates, billed_through_day }
    }

    /// Installed versions with the time each takes effect, oldest first.
    pub fn products(&self) -> &[(u64, Product)] {
        &self.products
    }

    /// The last local day whose end has been processed.
    pub fn billed_through_day(&self) -> Option<i64> {
        self.billed_through_day
    }

    /// Checks a product version for installing: validated, a higher version, effective at
    /// `now_ms` or later and not before the installed one, in the same currency and time zone;
    /// returns when it takes effect.
    pub fn check_install(
        &self,
        product: &Product,
        effective_at_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<u64, Rejection> {
        product.validate().map_err(|_| Rejection::InvalidProduct)?;
        let effective_at_ms = effective_at_ms.unwrap_or(now_ms);
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
        if effective_at_ms < now_ms {
            return Err(Rejection::ProductVersionOrder);
        }
        Ok(effective_at_ms)
    }

    /// Installs a checked product version, in force from `effective_at_ms` (what
    /// [`Calendar::check_install`] returned).
    pub fn install(&mut self, product: &Product, effective_at_ms: u64) {
        let ordered = self.products.last().is_none_or(|(last_effective_ms, _)| *last_effective_ms <= effective_at_ms);
        assert!(ordered, "checked: versions take effect in order");
        let offset = product.billing.utc_offset_minutes;
        self.billed_through_day.get_or_insert(calendar::local_day(effective_at_ms, offset) - 1);
        self.products.push((effective_at_ms, product.clone()));
    }

    /// The product version in force at `time_ms`.
    #[inline]
    pub fn product_at(&self, time_ms: u64) -> Option<&Product> {
        let index = self.products.partition_point(|(effective_at_ms, _)| *effective_at_ms <= time_ms);
        index.checked_sub(1).map(|index| &self.products[index].1)
    }

    /// The total fee rate, ppm, of the plan with `periods` periods in the product in force at
    /// `now_ms`.
    pub fn instalment_fee_ppm(&self, now_ms: u64, periods: u8) -> Result<u32, Rejection> {
        let product = self.product_at(now_ms).ok_or(Rejection::NoProduct)?;
        let plan = product.instalments.iter().find(|plan| plan.periods == periods);
        plan.map(|plan| plan.total_fee_ppm).ok_or(Rejection::InstalmentPlanNotOffered)
    }

    /// The local day and month key of `now_ms` in the products' time zone (every version shares
    /// it; UTC before any product).
    #[inline]
    pub fn local_today(&self, now_ms: u64) -> (i64, i64) {
        let offset = self.products.first().map_or(0, |(_, product)| product.billing.utc_offset_minutes);
        let day = calendar::local_day(now_ms, offset);
        (day, calendar::month_key(day))
    }

    /// When the next unbilled local day ends (None before any product).
    #[inline]
    pub fn next_day_end_ms(&self) -> Option<u64> {
        self.billed_through_day
            .zip(self.products.first())
            .map(|(day, (_, product))| calendar::day_start_ms(day + 2, product.billing.utc_offset_minutes))
    }

    /// Processes the end of every local day that has ended by `now_ms`: penalties for the users
    /// with past-due work or a due date passing, and on the statement day every line's cycle
    /// closed, its fees charged and its score recomputed. Returns the statements closed.
    pub fn run_days(
        &mut self,
        now_ms: u64,
        lines: &mut [CreditLine],
        ledger: &mut Ledger,
        postings: &mut Postings<'_>,
    ) -> u32 {
        let (Some(mut day), Some((_, first))) = (self.billed_through_day, self.products.first()) else { return 0 };
        let offset = first.billing.utc_offset_minutes;
        let today = calendar::local_day(now_ms, offset);
        let mut statements = 0;
        while day + 1 < today {
            let next_start_ms = calendar::day_start_ms(day + 2, offset);
            let index = self.products.partition_point(|(effective_at_ms, _)| *effective_at_ms < next_start_ms);
            let Some(index) = index.checked_sub(1) else { break };
            let product = &self.products[index].1;
            ledger.open_fee_income(product.currency);
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
                let line = &mut lines[slot as usize];
                if ledger.users()[slot as usize].currency == product.currency {
                    let penalty = line.billing.end_of_day(next_start_ms, month, product);
                    ledger.charge(slot as usize, penalty, postings);
                }
                match line.billing.has_past_due_work() {
                    true => self.daily_billing.insert(slot),
                    false => self.daily_billing.remove(&slot),
                };
            }
            let (_, _, day_of_month) = calendar::civil(day + 2);
            if day_of_month == product.billing.statement_day {
                let due_before_ms = calendar::day_start_ms(billing::due_before_day(day + 2, product), offset);
                for (slot, line) in lines.iter_mut().enumerate() {
                    if ledger.users()[slot].currency != product.currency {
                        continue;
                    }
                    let closed = line.billing.statements.len();
                    let fees = line.billing.close_cycle(next_start_ms, due_before_ms, product);
                    ledger.charge(slot, fees, postings);
                    if line.billing.statements.len() > closed {
                        statements += 1;
                        self.due_dates.insert((due_before_ms, slot as u32));
                        crate::score::rescore(&ledger.users()[slot], line, next_start_ms, month, false);
                    }
                }
            }
            day += 1;
            self.billed_through_day = Some(day);
        }
        statements
    }

    /// Checks the work sets against the lines: every user with past-due work is billed daily
    /// (the set may still hold users who settled today: they leave at the day's end), and the
    /// due dates are exactly the latest statements'.
    pub fn check(&self, lines: &[CreditLine]) -> Result<(), String> {
        let (daily, due_dates) = billing_work(lines);
        if let Some(missing) = daily.difference(&self.daily_billing).next() {
            return Err(format!("user slot {missing} has past-due work but is not billed daily"));
        }
        if due_dates != self.due_dates {
            return Err("the due-date schedule differs from the users' latest statements".into());
        }
        Ok(())
    }
}

/// The billing work the lines imply: who is past due (billed daily) and which latest statements
/// still await their due date.
fn billing_work(lines: &[CreditLine]) -> (BTreeSet<u32>, BTreeSet<(u64, u32)>) {
    let daily = (0..lines.len() as u32).filter(|slot| lines[*slot as usize].billing.has_past_due_work()).collect();
    let due_dates = lines
        .iter()
        .enumerate()
        .filter_map(|(slot, line)| line.billing.awaiting_due_before_ms().map(|due| (due, slot as u32)))
        .collect();
    (daily, due_dates)
}
