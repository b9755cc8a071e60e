//! The risk screen in the apply path: the kind's handler resolves the command to a
//! [`risk::ScoredEvent`], the `risk` crate decides, and the engine runs, refuses, parks or holds
//! the command, then takes the decision's account actions.

use crate::apply::Engine;
use crate::kinds::{self, Call, Step};
use crate::prefetch::Hint;
use model::risk::{DecisionKind, Held, Party};
use model::{Accepted, CommandId, CommandKind, Outcome, Rejection};
use risk::Books;
use risk::decide::Accounts;

impl Engine {
    /// The ledger and credit lines as account actions change them, at the command's time.
    pub(crate) fn accounts(&mut self) -> (&mut risk::Risk, Accounts<'_>) {
        let (_, month) = self.local_today();
        let accounts = Accounts { ledger: &mut self.ledger, lines: &mut self.lines, now_ms: self.now_ms, month };
        (&mut self.risk, accounts)
    }

    /// Scores a command and acts on the decision: runs it (allow), refuses it (deny), parks it
    /// for verification (challenge) or holds it and opens a case (review); then takes the
    /// account actions. `None` when the rules do not score this command. The decision is kept
    /// for [`Engine::last_decision`].
    pub(crate) fn screen(&mut self, kind: &CommandKind, step: &mut Step<'_, '_>) -> Option<Outcome> {
        // Without rules nothing is scored: skip resolving the event's accounts.
        if !self.risk.has_rules() {
            return None;
        }
        let event = kinds::scored(kind, self, step.hint)?;
        let books = Books { ledger: &self.ledger, lines: &self.lines, risk: &self.risk, now_ms: self.now_ms };
        let mut decision = risk::evaluate(books, &event)?;
        // Only a user can verify; a merchant's challenged command goes to an analyst instead.
        if decision.kind == DecisionKind::Challenge && event.user.is_none() {
            decision.kind = DecisionKind::Review;
        }
        let party = match event.user {
            Some(slot) => Party::User(self.ledger.users()[slot].id),
            None => Party::Merchant(
                self.ledger.merchants()[event.merchant.expect("a scored event has a user or merchant")].id,
            ),
        };
        self.risk.note_attempt(&self.ledger, self.now_ms, &event);
        let outcome = match decision.kind {
            DecisionKind::Allow => kinds::run(kind, self, step),
            DecisionKind::Deny => Err(Rejection::RiskDenied),
            DecisionKind::Challenge => self.park(step.id, party, kind),
            DecisionKind::Review => kinds::hold_for_review(self, kind, step).map(|held| {
                self.risk.open_case(step.id, (party, held), decision.clone(), (self.now_ms, self.actor));
                Accepted::HeldForReview { case: step.id }
            }),
        };
        if let Some(payee) = event.payee.filter(|_| !decision.counterparty_actions.is_empty()) {
            let reason =
                self.risk.watch_reason(&decision, &decision.counterparty_actions, |rule| &rule.counterparty_actions);
            let (risk, mut accounts) = self.accounts();
            risk.take_actions(&mut accounts, payee, &decision.counterparty_actions, (false, reason));
        }
        if let Some(slot) = event.user {
            if decision.kind == DecisionKind::Deny {
                self.risk.note_refused(slot, self.now_ms);
            }
            if !decision.actions.is_empty() {
                let reason = self.risk.watch_reason(&decision, &decision.actions, |rule| &rule.account_actions);
                let (risk, mut accounts) = self.accounts();
                risk.take_actions(&mut accounts, slot, &decision.actions, (true, reason));
            }
            if decision.kind == DecisionKind::Deny && !decision.actions.is_empty() {
                // The user can appeal the actions: they get a case with nothing held.
                self.risk.open_case(step.id, (party, Held::Nothing), decision.clone(), (self.now_ms, self.actor));
            }
        }
        self.last_decision = Some(decision);
        Some(outcome)
    }

    fn park(&mut self, id: CommandId, party: Party, kind: &CommandKind) -> Outcome {
        let Party::User(user) = party else { unreachable!("challenges without a user became reviews") };
        self.check_new_payment_id(Call { id, hint: Hint::default(), unparked: false })?;
        let expires_at_ms = self.risk.park(&mut self.ledger, id, (user, kind), self.now_ms);
        Ok(Accepted::Challenged { expires_at_ms })
    }

    /// Lifts every risk action whose lapse time has come (on ticks).
    pub(crate) fn lapse_actions(&mut self) {
        let (risk, mut accounts) = self.accounts();
        risk.lapse_actions(&mut accounts);
    }
}
