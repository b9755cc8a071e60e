//! `Refund`: part or all of a captured payment goes back where it came from, credit part first;
//! the credit line takes its part back (an instalment plan's first) and the risk features count
//! fast and liquid refunds.

use super::{Call, Handler, Parties, Step};
use crate::apply::Engine;
use ledger::idempotency::{Tag, hash_words};
use ledger::{Ledger, Refund};
use model::{Accepted, CommandKind, Rejection, kind};

impl Handler for kind::Refund {
    #[inline]
    fn parties(&self, ledger: &Ledger) -> Parties {
        ([ledger.payment(self.payment).map(|payment| payment.user), None], Some(self.merchant))
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::Refund as u64, self.payment.0, self.merchant.0, self.amount.minor()])
    }

    type Plan = Refund;

    #[inline]
    fn check(&self, engine: &Engine, _call: Call) -> Result<Refund, Rejection> {
        engine.ledger.check_refund(self.payment, self.merchant, self.amount)
    }

    #[inline]
    fn commit(&self, refund: Refund, engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        let refunded = engine.ledger.refund(step.id, refund, step.postings);
        let (line, split) = (&mut engine.lines[refunded.user], refunded.split);
        let rest = line.billing.refund_plan(self.payment, split.credit_minor);
        line.billing.refund(rest);
        engine.risk.on_refunded(&engine.ledger, &refunded, self.amount.minor(), engine.now_ms);
        Accepted::Split { credit_minor: split.credit_minor, balance_minor: split.balance_minor }
    }
}
