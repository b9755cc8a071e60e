//! The official credit withdrawal's commands: the engine resolves the user and checks the id is
//! new; `credit::withdrawal::Challenges` runs the request, its challenge and the draw.

use crate::apply::{Engine, Postings};
use credit::withdrawal::Request;
use model::Amount;
use model::Outcome;
use model::{CommandId, UserId, WithdrawalPurpose};

impl Engine {
    /// The time, local day and month key the withdrawal caps count in.
    fn today(&self) -> (u64, i64, i64) {
        let (day, month) = self.local_today();
        (self.now_ms, day, month)
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
        let today = self.today();
        let product = self.calendar.product_at(self.now_ms);
        let request = Request { id, slot, amount, purpose };
        self.challenges.request((&mut self.ledger, &mut self.lines[slot]), request, product, today, ledger)
    }

    /// Completes a challenged withdrawal with its step-up verification.
    pub(crate) fn verify_withdrawal(&mut self, user: UserId, id: CommandId, ledger: &mut Postings<'_>) -> Outcome {
        let slot = self.user_slot(user)?;
        let today = self.today();
        self.challenges.verify((&mut self.ledger, &mut self.lines[slot]), (slot, id), today, ledger)
    }
}
