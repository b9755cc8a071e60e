//! `DecideCase`: an analyst's verdict. Approval lets what was held through (captures the held
//! payment, runs the parked command) and lifts the case's account actions; rejection releases or
//! drops it. Either way the label is recorded.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use ledger::Capture;
use model::risk::{Held, Party};
use model::{Accepted, Amount, CommandKind, Rejection, kind};

/// What a checked verdict does with what its case held.
pub(crate) enum Verdict {
    /// Captures the payment held for review in full.
    Capture(kind::Capture, Capture),
    /// Runs the parked command, whose checks passed.
    Run(Box<CommandKind>),
    /// Releases the hold (if it has not lapsed).
    Release,
    /// Nothing held, nothing to do.
    Nothing,
}

impl Handler for kind::DecideCase {
    /// The case's user's slot, when it has one, and what the verdict does.
    type Plan = (Option<usize>, Verdict);

    fn check(&self, engine: &Engine, call: Call) -> Result<Self::Plan, Rejection> {
        let id = self.case;
        let (party, held) = engine.risk.open_case_for_verdict(id)?;
        let held_call = Call { id, ..call };
        let verdict = match (self.approve, held) {
            (true, Held::Payment { merchant }) => {
                let funding = engine.ledger.authorization(id).map(|held| held.funding);
                let funding = funding.ok_or(Rejection::AuthorizationExpired)?;
                let amount =
                    Amount::new(funding.credit_minor + funding.balance_minor).ok_or(Rejection::AmountOverflow)?;
                let capture = kind::Capture { authorization: id, merchant, amount };
                let checked = capture.check(engine, held_call)?;
                Verdict::Capture(capture, checked)
            }
            (true, Held::Parked(kind)) => {
                super::check(&kind, engine, held_call)?;
                Verdict::Run(kind)
            }
            (false, Held::Payment { .. } | Held::Authorization { .. }) => Verdict::Release,
            _ => Verdict::Nothing,
        };
        let slot = match party {
            Party::User(user) => call.user(&engine.ledger, user).ok(),
            Party::Merchant(_) => None,
        };
        Ok((slot, verdict))
    }

    fn commit(&self, (slot, verdict): Self::Plan, engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        let id = self.case;
        let mut held_step = Step { id, hint: step.hint, postings: step.postings };
        let outcome = match verdict {
            Verdict::Capture(capture, checked) => capture.commit(checked, engine, &mut held_step),
            Verdict::Run(kind) => {
                let outcome = super::run(&kind, engine, &mut held_step);
                outcome.expect("checked: the parked command passes its checks")
            }
            Verdict::Release => {
                engine.ledger.drop_authorization(id);
                Accepted::Done
            }
            Verdict::Nothing => Accepted::Done,
        };
        let actor = engine.actor;
        let (risk, mut accounts) = engine.accounts();
        risk.close_case(id, (self.approve, self.label), (slot, &mut accounts), actor);
        outcome
    }
}
