//! `WithdrawToBank`: balance out to the user's bank; scored as money leaving the user.

use super::{Call, Handler, Parties, Step, event, from_balance};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::idempotency::{Tag, hash_words};
use ledger::{Ledger, Wallet};
use model::risk::EventKind;
use model::{Accepted, CommandKind, Rejection, kind};
use risk::ScoredEvent;

impl Handler for kind::WithdrawToBank {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    #[inline]
    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let user = hint.user(&engine.ledger, self.user)?;
        Some(event(EventKind::WithdrawToBank, (Some(user), None), from_balance(self.amount), None))
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::WithdrawToBank as u64, self.user.0, self.amount.minor()])
    }

    /// The user's balance.
    type Plan = Wallet;

    fn check(&self, engine: &Engine, call: Call) -> Result<Wallet, Rejection> {
        let from = Wallet::User(call.user(&engine.ledger, self.user)?);
        engine.ledger.check_pay_out(from, self.amount)?;
        Ok(from)
    }

    fn commit(&self, from: Wallet, engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        engine.ledger.pay_out(from, self.amount, step.postings);
        Accepted::Done
    }
}
