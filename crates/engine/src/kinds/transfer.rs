//! `Transfer`: balance from one user to another (P2P); the payee's inflow and the payer's payee
//! feed the risk features.

use super::{Call, Handler, Parties, Step, event, from_balance};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::idempotency::{Tag, hash_words};
use ledger::{Ledger, Wallet};
use model::risk::EventKind;
use model::{Accepted, CommandKind, Rejection, kind};
use risk::ScoredEvent;

impl Handler for kind::Transfer {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.from), Some(self.to)], None)
    }

    #[inline]
    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let payee = hint.user(&engine.ledger, self.to)?;
        let payer = hint.user(&engine.ledger, self.from)?;
        let event = event(EventKind::Transfer, (Some(payer), None), from_balance(self.amount), None);
        Some(ScoredEvent { payee: Some(payee), ..event })
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::Transfer as u64, self.from.0, self.to.0, self.amount.minor()])
    }

    /// The payer's and the payee's slots.
    type Plan = (usize, usize);

    #[inline]
    fn check(&self, engine: &Engine, call: Call) -> Result<(usize, usize), Rejection> {
        if self.from == self.to {
            return Err(Rejection::SelfTransfer);
        }
        let from_slot = call.user(&engine.ledger, self.from)?;
        let to_slot = call.user(&engine.ledger, self.to)?;
        engine.ledger.check_move(Wallet::User(from_slot), Wallet::User(to_slot), self.amount)?;
        Ok((from_slot, to_slot))
    }

    #[inline]
    fn commit(&self, (from, to): (usize, usize), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        engine.ledger.move_between(Wallet::User(from), Wallet::User(to), self.amount, step.postings);
        engine.risk.on_transfer(&engine.ledger, (from, to), self.amount.minor(), engine.now_ms);
        Accepted::Done
    }
}
