//! The official credit withdrawal (取现 / 转至余额) as commands: a request, checked by
//! `credit::withdrawal::check`, completes at once below the step-up threshold or waits as a
//! challenge holding its amount and fee on the line until verified or expired; the funds land
//! in the balance and are billed and repaid like purchases.

use crate::apply::{Engine, Postings};
use credit::withdrawal::Challenge;
use model::Amount;
use model::{Accepted, Outcome, Rejection};
use model::{CommandId, UserId, WithdrawalPurpose};

impl Engine {
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
        if self.lines[slot].withdrawals.pending.is_some() {
            return Err(Rejection::WithdrawalPending);
        }
        let calendar = self.local_today();
        let (fee, step_up_from_minor, challenge_ttl_ms) = {
            let product = self.product_at(self.now_ms).ok_or(Rejection::NoProduct)?;
            let (user, line) = (&self.ledger.users()[slot], &self.lines[slot]);
            let fee = credit::withdrawal::check(user, line, amount, product, (self.now_ms, calendar.0, calendar.1))?;
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
        if challenge.expires_at_ms <= self.now_ms {
            return Err(Rejection::ChallengeExpired);
        }
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
