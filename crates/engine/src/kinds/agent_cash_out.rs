//! `AgentCashOut`: a user's balance to the agent (a merchant) that hands over the cash, with its
//! provenance; scored as money leaving the user (`withdraw_to_bank`), the agent its merchant.

use super::{Handler, Parties, Step, event, from_balance};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::{Ledger, Wallet};
use model::risk::EventKind;
use model::{Accepted, Outcome, kind};
use risk::ScoredEvent;

impl Handler for kind::AgentCashOut {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], Some(self.agent))
    }

    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let user = hint.user(&engine.ledger, self.user)?;
        let agent = hint.merchant(&engine.ledger, self.agent)?;
        Some(event(EventKind::WithdrawToBank, (Some(user), Some(agent)), from_balance(self.amount), None))
    }

    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let from = Wallet::User(step.user(&engine.ledger, self.user)?);
        let to = Wallet::Merchant(step.merchant(&engine.ledger, self.agent)?);
        engine.ledger.move_between(from, to, self.amount, step.postings)?;
        Ok(Accepted::Done)
    }
}
