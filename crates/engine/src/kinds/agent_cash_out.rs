//! `AgentCashOut`: a user's balance to the agent (a merchant) that hands over the cash, with its
//! provenance; scored as money leaving the user (`withdraw_to_bank`), the agent its merchant.

use super::{Call, Handler, Parties, Step, event, from_balance};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::{Ledger, Wallet};
use model::risk::EventKind;
use model::{Accepted, Rejection, kind};
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

    /// The user's balance and the agent's settlement account.
    type Plan = (Wallet, Wallet);

    fn check(&self, engine: &Engine, call: Call) -> Result<(Wallet, Wallet), Rejection> {
        let from = Wallet::User(call.user(&engine.ledger, self.user)?);
        let to = Wallet::Merchant(call.merchant(&engine.ledger, self.agent)?);
        super::check_move(engine, (from, to), self.amount)
    }

    fn commit(&self, wallets: (Wallet, Wallet), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        super::commit_move(engine, wallets, self.amount, step)
    }
}
