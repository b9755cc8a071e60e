//! `DecideCase`: an analyst's verdict. Approval lets what was held through (captures the held
//! payment, runs the parked command) and lifts the case's account actions; rejection releases or
//! drops it. Either way the label is recorded.

use super::{Handler, Step};
use crate::apply::Engine;
use model::risk::{Held, Party};
use model::{Accepted, Amount, Outcome, Rejection, kind};

impl Handler for kind::DecideCase {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let id = self.case;
        let (party, held) = engine.risk.open_case_for_verdict(id)?;
        let mut held_step = Step { id, hint: step.hint, postings: step.postings };
        let outcome = match (self.approve, held) {
            (true, Held::Payment { merchant }) => {
                let funding = engine.ledger.authorization(id).map(|held| held.funding);
                let funding = funding.ok_or(Rejection::AuthorizationExpired)?;
                let amount =
                    Amount::new(funding.credit_minor + funding.balance_minor).ok_or(Rejection::AmountOverflow)?;
                kind::Capture { authorization: id, merchant, amount }.run(engine, &mut held_step)?
            }
            (true, Held::Parked(kind)) => super::run(&kind, engine, &mut held_step)?,
            (false, Held::Payment { .. } | Held::Authorization { .. }) => {
                engine.ledger.drop_authorization(id);
                Accepted::Done
            }
            _ => Accepted::Done,
        };
        let slot = match party {
            Party::User(user) => step.user(&engine.ledger, user).ok(),
            Party::Merchant(_) => None,
        };
        let actor = engine.actor;
        let (risk, mut accounts) = engine.accounts();
        risk.close_case(id, (self.approve, self.label), (slot, &mut accounts), actor);
        Ok(outcome)
    }
}
