//! The official credit withdrawal (取现 / 转至余额): its eligibility rules and caps (`check`;
//! every refusal names the rule that refused it), the day's and month's totals the caps count,
//! and the request itself (`check_request`, then `Challenges::request`): completed at once
//! below the step-up threshold, or waiting as a challenge that holds its amount and fee on the
//! line until verified or expired. The funds land in the balance and are billed and repaid like purchases.

use crate::CreditLine;
use crate::billing::apply_ppm;
use ledger::table::Map;
use ledger::{Ledger, Postings, UserAccount};
use model::product::Product;
use model::{Accepted, Amount, CommandId, Rejection, UserId, WithdrawalPurpose};
use serde::{Deserialize, Serialize};

/// A withdrawal waiting for its step-up verification; its amount and fee are held on the line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Who requested it: only they can verify it.
    pub user: UserId,
    /// The amount to land in the balance.
    pub amount_minor: u64,
    /// The fee to charge.
    pub fee_minor: u64,
    /// The declared purpose.
    pub purpose: WithdrawalPurpose,
    /// When the challenge lapses.
    pub expires_at_ms: u64,
}

/// Withdrawals completed in the current local day and month, for the caps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalTotals {
    /// The local day of `day_minor`.
    pub day: i64,
    /// Withdrawn that day.
    pub day_minor: u64,
    /// The month key of `month_minor`.
    pub month: i64,
    /// Withdrawn that month.
    pub month_minor: u64,
    /// The withdrawal waiting for verification, if any (at most one per user).
    pub pending: Option<CommandId>,
}

impl WithdrawalTotals {
    /// Withdrawn on local `day` and in month `month` (zero for a day or month not recorded).
    #[inline]
    pub fn on(&self, day: i64, month: i64) -> (u64, u64) {
        (if self.day == day { self.day_minor } else { 0 }, if self.month == month { self.month_minor } else { 0 })
    }

    /// Counts a completed withdrawal on `day` of `month`.
    #[inline]
    pub fn add(&mut self, day: i64, month: i64, amount_minor: u64) {
        let (day_minor, month_minor) = self.on(day, month);
        let pending = self.pending;
        *self = WithdrawalTotals {
            day,
            day_minor: day_minor + amount_minor,
            month,
            month_minor: month_minor + amount_minor,
            pending,
        };
    }
}

fn refuse_unless(condition: bool, rejection: Rejection) -> Result<(), Rejection> {
    if condition { Ok(()) } else { Err(rejection) }
}

/// Checks every eligibility rule and cap of a withdrawal of `amount` at `now_ms`, local
/// `day` of `month`, in their fixed order (offered, a frozen line, identity, account age,
/// score, lateness, the per-transaction, daily, monthly and share-of-line caps, then
/// available credit); returns the fee.
pub fn check(
    user: &UserAccount,
    line: &CreditLine,
    amount: Amount,
    product: &Product,
    (now_ms, day, month): (u64, i64, i64),
) -> Result<u64, Rejection> {
    let policy = &product.withdrawal;
    refuse_unless(policy.enabled, Rejection::WithdrawalNotOffered)?;
    refuse_unless(!user.credit_frozen, Rejection::CreditFrozen)?;
    refuse_unless(user.identity >= policy.min_identity, Rejection::WithdrawalIdentity)?;
    let age_days = now_ms.saturating_sub(user.opened_at_ms) / 86_400_000;
    refuse_unless(age_days >= u64::from(policy.min_account_age_days), Rejection::WithdrawalAccountTooNew)?;
    refuse_unless(line.score.score >= policy.min_score, Rejection::WithdrawalScoreTooLow)?;
    let late = line.billing.worst_days_past_due_last_year(month).max(line.billing.days_past_due);
    refuse_unless(late <= policy.max_days_past_due_last_year, Rejection::WithdrawalPastDue)?;
    // The score band scales the caps.
    let band_ppm = product.band(line.score.score).withdrawal_caps_ppm;
    let cap = |policy_cap: u64| apply_ppm(policy_cap, band_ppm);
    refuse_unless(amount.minor() <= cap(policy.max_per_transaction_minor), Rejection::WithdrawalTransactionCap)?;
    let (day_minor, month_minor) = line.withdrawals.on(day, month);
    refuse_unless(day_minor + amount.minor() <= cap(policy.max_per_day_minor), Rejection::WithdrawalDailyCap)?;
    refuse_unless(month_minor + amount.minor() <= cap(policy.max_per_month_minor), Rejection::WithdrawalMonthlyCap)?;
    let share_minor = apply_ppm(user.limit_minor, policy.max_share_of_limit_ppm);
    refuse_unless(month_minor + amount.minor() <= share_minor, Rejection::WithdrawalShareCap)?;
    let fee = apply_ppm(amount.minor(), policy.fee_ppm);
    refuse_unless(i128::from(amount.minor() + fee) <= user.credit_available_minor(), Rejection::InsufficientCredit)?;
    Ok(fee)
}

/// A withdrawal request, its user resolved to a slot.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// The request's command id: a challenge waits under it.
    pub id: CommandId,
    /// The user's slot.
    pub slot: usize,
    /// What lands in the balance.
    pub amount: Amount,
    /// The declared purpose.
    pub purpose: WithdrawalPurpose,
}

/// The withdrawals waiting for their step-up verification, by request id. Each holds its
/// amount and fee on the user's line, is its user's `pending` withdrawal (at most one per user)
/// and has an entry in the ledger's expiry queue.
#[derive(Default)]
pub struct Challenges {
    waiting: Map<CommandId, Challenge>,
}

impl Challenges {
    /// Rebuilds the waiting challenges from a snapshot, with their expiries.
    pub fn restore(challenges: Vec<(CommandId, Challenge)>, ledger: &mut Ledger) -> Challenges {
        let mut restored = Challenges::default();
        for (id, challenge) in challenges {
            ledger.schedule(challenge.expires_at_ms, id);
            restored.waiting.insert(id, challenge);
        }
        restored
    }

    /// Whether a challenge waits under `id`.
    #[inline]
    pub fn contains(&self, id: CommandId) -> bool {
        self.waiting.contains_key(&id)
    }

    /// Every waiting challenge (unordered).
    pub fn iter(&self) -> impl Iterator<Item = (&CommandId, &Challenge)> {
        self.waiting.iter()
    }

    /// How many challenges wait.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Requests a checked withdrawal ([`check_request`]): completed at once, or held on the line
    /// as a challenge until verified or expired. `today` is the time, local day and month key.
    pub fn request(
        &mut self,
        (ledger, line): (&mut Ledger, &mut CreditLine),
        request: Request,
        withdrawal: Withdrawal,
        today: (u64, i64, i64),
        postings: &mut Postings<'_>,
    ) -> Accepted {
        let Request { id, slot, amount, purpose } = request;
        let Withdrawal { draw, challenge_expires_at_ms } = withdrawal;
        let Some(expires_at_ms) = challenge_expires_at_ms else {
            return complete((ledger, line), slot, draw, today, postings);
        };
        assert!(line.withdrawals.pending.is_none(), "checked: no withdrawal is pending");
        ledger.hold_credit(slot, draw.amount.minor() + draw.fee_minor);
        line.withdrawals.pending = Some(id);
        let fresh = ledger.schedule(expires_at_ms, id);
        assert!(fresh, "withdrawal {id:?} was checked to be new");
        let user = ledger.users()[slot].id;
        let fee_minor = draw.fee_minor;
        let challenge = Challenge { user, amount_minor: amount.minor(), fee_minor, purpose, expires_at_ms };
        self.waiting.insert(id, challenge);
        Accepted::Challenged { expires_at_ms }
    }

    /// Checks a verification of the user's challenged withdrawal `id` at `now_ms`: it waits,
    /// is theirs, has not lapsed, and its amount still fits the balance.
    pub fn check_verify(
        &self,
        ledger: &Ledger,
        (slot, id): (usize, CommandId),
        now_ms: u64,
    ) -> Result<Draw, Rejection> {
        let user = ledger.users()[slot].id;
        let challenge =
            self.waiting.get(&id).filter(|challenge| challenge.user == user).ok_or(Rejection::UnknownChallenge)?;
        if challenge.expires_at_ms <= now_ms {
            return Err(Rejection::ChallengeExpired);
        }
        let amount = Amount::new(challenge.amount_minor).ok_or(Rejection::UnknownChallenge)?;
        ledger.check_draw_cash(slot, amount)?;
        Ok(Draw { amount, fee_minor: challenge.fee_minor })
    }

    /// Completes the user's checked challenged withdrawal `id` ([`Challenges::check_verify`]).
    pub fn verify(
        &mut self,
        (ledger, line): (&mut Ledger, &mut CreditLine),
        (slot, id): (usize, CommandId),
        draw: Draw,
        today: (u64, i64, i64),
        postings: &mut Postings<'_>,
    ) -> Accepted {
        self.release(ledger, line, slot, id);
        complete((ledger, line), slot, draw, today, postings)
    }

    /// Drops a lapsed challenge and releases its hold; whether `id` was one.
    pub fn drop_expired(&mut self, ledger: &mut Ledger, lines: &mut [CreditLine], id: CommandId) -> bool {
        let Some(challenge) = self.waiting.get(&id) else { return false };
        let slot = ledger.user_slot(challenge.user).expect("a challenge's user is open") as usize;
        self.release(ledger, &mut lines[slot], slot, id);
        true
    }

    fn release(&mut self, ledger: &mut Ledger, line: &mut CreditLine, slot: usize, id: CommandId) {
        let challenge = self.waiting.remove(&id).expect("the challenge waits");
        assert_eq!(line.withdrawals.pending, Some(id), "a waiting challenge is its user's pending withdrawal");
        ledger.unschedule(challenge.expires_at_ms, id);
        ledger.release_credit(slot, challenge.amount_minor + challenge.fee_minor);
        line.withdrawals.pending = None;
    }
}

/// The money a withdrawal draws on the line: the amount for the balance and its fee.
#[derive(Clone, Copy, Debug)]
pub struct Draw {
    amount: Amount,
    fee_minor: u64,
}

/// A checked withdrawal request, from [`check_request`] for [`Challenges::request`].
#[derive(Clone, Copy, Debug)]
pub struct Withdrawal {
    draw: Draw,
    /// When its challenge lapses, if it must wait for a step-up verification.
    challenge_expires_at_ms: Option<u64>,
}

/// Checks a withdrawal request (its id checked to be new by the caller): none pending, a
/// product in force, every eligibility rule and cap ([`check`]); below the product's step-up
/// threshold it completes at once, so the balance must take it.
pub fn check_request(
    (ledger, line): (&Ledger, &CreditLine),
    request: &Request,
    product: Option<&Product>,
    today: (u64, i64, i64),
) -> Result<Withdrawal, Rejection> {
    let Request { slot, amount, .. } = *request;
    if line.withdrawals.pending.is_some() {
        return Err(Rejection::WithdrawalPending);
    }
    let product = product.ok_or(Rejection::NoProduct)?;
    let draw = Draw { amount, fee_minor: check(&ledger.users()[slot], line, amount, product, today)? };
    if amount.minor() >= product.withdrawal.step_up_from_minor {
        let expires_at_ms = today.0 + product.withdrawal.challenge_ttl_ms;
        return Ok(Withdrawal { draw, challenge_expires_at_ms: Some(expires_at_ms) });
    }
    ledger.check_draw_cash(slot, amount)?;
    Ok(Withdrawal { draw, challenge_expires_at_ms: None })
}

/// Moves the money: Dr the credit line amount + fee, Cr the balance the amount, Cr fee income
/// the fee; then bills it and counts it towards the caps.
fn complete(
    (ledger, line): (&mut Ledger, &mut CreditLine),
    slot: usize,
    Draw { amount, fee_minor }: Draw,
    (_, day, month): (u64, i64, i64),
    postings: &mut Postings<'_>,
) -> Accepted {
    ledger.draw_cash(slot, amount, fee_minor, postings);
    line.billing.withdraw(amount.minor(), fee_minor);
    line.withdrawals.add(day, month, amount.minor());
    Accepted::Withdrawn { amount_minor: amount.minor(), fee_minor }
}
