//! `MerchantTransfer`: a merchant's settlement to a user's balance (cashback, a disbursement —
//! or a colluding merchant's money back, which is why it is scored, the user its payee).

use super::{Call, Handler, Parties, Step, event, from_balance};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::{Ledger, Wallet};
use model::risk::EventKind;
use model::{Accepted, Rejection, kind};
use risk::ScoredEvent;

impl Handler for kind::MerchantTransfer {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.to), None], Some(self.merchant))
    }

    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let payee = hint.user(&engine.ledger, self.to)?;
        let merchant = hint.merchant(&engine.ledger, self.merchant)?;
        let event = event(EventKind::MerchantTransfer, (None, Some(merchant)), from_balance(self.amount), None);
        Some(ScoredEvent { payee: Some(payee), ..event })
    }

    /// The merchant's settlement account and the user's balance.
    type Plan = (Wallet, Wallet);

    fn check(&self, engine: &Engine, call: Call) -> Result<(Wallet, Wallet), Rejection> {
        let from = Wallet::Merchant(call.merchant(&engine.ledger, self.merchant)?);
        let to = Wallet::User(call.user(&engine.ledger, self.to)?);
        super::check_move(engine, (from, to), self.amount)
    }

    fn commit(&self, wallets: (Wallet, Wallet), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        super::commit_move(engine, wallets, self.amount, step)
    }
}
