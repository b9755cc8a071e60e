//! The official credit withdrawal (取现 / 转至余额): eligibility by product policy, caps, a fee,
//! a declared purpose and a step-up challenge; the funds land in the balance and are billed and
//! repaid like purchases (the records are `credit::withdrawal`'s).
//!
//! Every refusal names the rule that refused it. Checks run in a fixed order: offered, risk
//! flag (a frozen line), identity, account age, score, lateness, the per-transaction, daily,
//! monthly and share-of-line caps, then available credit.

use crate::apply::{Engine, Postings};
use credit::billing::apply_ppm;
use credit::withdrawal::Challenge;
use model::Amount;
use model::product::Product;
use model::{Accepted, Outcome, Rejection};
use model::{CommandId, UserId, WithdrawalPurpose};

fn refuse_unless(condition: bool, rejection: Rejection) -> Result<(), Rejection> {
    if condition { Ok(()) } else { Err(rejection) }
}

impl Engine {
    /// Checks every eligibility rule and cap; returns the fee.
    fn check_withdrawal(
        &self,
        slot: usize,
        amount: Amount,
        product: &Product,
        (day, month): (i64, i64),
    ) -> Result<u64, Rejection> {
        let policy = &product.withdrawal;
        let (user, line) = (&self.ledger.users()[slot], &self.lines[slot]);
        refuse_unless(policy.enabled, Rejection::WithdrawalNotOffered)?;
        refuse_unless(!user.credit_frozen, Rejection::CreditFrozen)?;
        refuse_unless(user.identity >= policy.min_identity, Rejection::WithdrawalIdentity)?;
        let age_days = self.now_ms.saturating_sub(user.opened_at_ms) / 86_400_000;
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
        refuse_unless(
            month_minor + amount.minor() <= cap(policy.max_per_month_minor),
            Rejection::WithdrawalMonthlyCap,
        )?;
        let share_minor = apply_ppm(user.limit_minor, policy.max_share_of_limit_ppm);
        refuse_unless(month_minor + amount.minor() <= share_minor, Rejection::WithdrawalShareCap)?;
        let fee = apply_ppm(amount.minor(), policy.fee_ppm);
        refuse_unless(
            i128::from(amount.minor() + fee) <= user.credit_available_minor(),
            Rejection::InsufficientCredit,
        )?;
        Ok(fee)
    }

    /// Requests a withdrawal: executed at once below the step-up threshold, else held as a
    /// challenge until verified or expired.
    pub(crate) fn request_withdrawal(
        &mut self,
        id: CommandId,
        (user, amount, purpose): (UserId, Amount, WithdrawalPurpose),
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        let slot = self.user_slot(user)?;
        self.check_new_payment_id(id)?;
        refuse_unless(self.lines[slot].withdrawals.pending.is_none(), Rejection::WithdrawalPending)?;
        let calendar = self.local_today();
        let (fee, step_up_from_minor, challenge_ttl_ms) = {
            let product = self.product_at(self.now_ms).ok_or(Rejection::NoProduct)?;
            let fee = self.check_withdrawal(slot, amount, product, calendar)?;
            (fee, product.withdrawal.step_up_from_minor, product.withdrawal.challenge_ttl_ms)
        };
        if amount.minor() < step_up_from_minor {
            return self.complete_withdrawal(slot, amount, fee, calendar, ledger);
        }
        let expires_at_ms = self.now_ms + challenge_ttl_ms;
        self.ledger.hold_credit(slot, amount.minor() + fee);
        self.lines[slot].withdrawals.pending = Some(id);
        let fresh = self.ledger.schedule(expires_at_ms, id);
        assert!(fresh, "withdrawal {id:?} was checked to be new");
        self.challenges
            .insert(id, Challenge { user, amount_minor: amount.minor(), fee_minor: fee, purpose, expires_at_ms });
        Ok(Accepted::Challenged { expires_at_ms })
    }

    /// Completes a challenged withdrawal with its step-up verification.
    pub(crate) fn verify_withdrawal(&mut self, user: UserId, id: CommandId, ledger: &mut Postings<'_>) -> Outcome {
        let slot = self.user_slot(user)?;
        let challenge =
            self.challenges.get(&id).filter(|challenge| challenge.user == user).ok_or(Rejection::UnknownChallenge)?;
        refuse_unless(challenge.expires_at_ms > self.now_ms, Rejection::ChallengeExpired)?;
        let amount = Amount::new(challenge.amount_minor).ok_or(Rejection::UnknownChallenge)?;
        let fee = challenge.fee_minor;
        let calendar = self.local_today();
        self.drop_challenge(id);
        self.complete_withdrawal(slot, amount, fee, calendar, ledger)
    }

    /// Releases a challenge's hold.
    pub(crate) fn drop_challenge(&mut self, id: CommandId) {
        let Some(challenge) = self.challenges.remove(&id) else { return };
        self.ledger.unschedule(challenge.expires_at_ms, id);
        let slot = self.ledger.user_slot(challenge.user).expect("a challenge's user is open") as usize;
        self.ledger.release_credit(slot, challenge.amount_minor + challenge.fee_minor);
        self.lines[slot].withdrawals.pending = None;
    }

    /// Moves the money: Dr the credit line amount + fee, Cr the balance the amount, Cr fee income the fee.
    fn complete_withdrawal(
        &mut self,
        slot: usize,
        amount: Amount,
        fee: u64,
        (day, month): (i64, i64),
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        self.ledger.draw_cash(slot, amount, fee, ledger)?;
        let line = &mut self.lines[slot];
        line.billing.withdraw(amount.minor(), fee);
        line.withdrawals.add(day, month, amount.minor());
        Ok(Accepted::Withdrawn { amount_minor: amount.minor(), fee_minor: fee })
    }
}
