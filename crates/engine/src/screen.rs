//! The risk screen in the apply path: a scored command is resolved to a [`ScoredEvent`], the
//! `risk` crate decides, and the engine runs, refuses, parks or holds the command; plus the
//! commands that answer a decision (a verification, an analyst's verdict, a lift, an appeal).

use crate::apply::{Authorization, Engine, Postings};
use model::kind;
use model::risk::{AccountAction, Decision, DecisionKind, EventKind, Evidence, Held, Label, Party};
use model::{Accepted, Outcome, Rejection};
use model::{CommandId, CommandKind, Funding, UserId};
use risk::decide::Accounts;
use risk::{Books, CASE_HOLD_MS, ScoredEvent};

impl Engine {
    /// The ledger and credit lines as account actions change them, at the command's time.
    fn accounts(&mut self) -> (&mut risk::Risk, Accounts<'_>) {
        let (_, month) = self.local_today();
        let accounts = Accounts { ledger: &mut self.ledger, lines: &mut self.lines, now_ms: self.now_ms, month };
        (&mut self.risk, accounts)
    }

    /// The event a command is scored as, or `None` for commands the rules do not see (and
    /// commands naming unknown accounts, which the handler rejects).
    fn scored_event(&self, kind: &CommandKind) -> Option<ScoredEvent> {
        let user = |id: UserId| self.find_user(id);
        let event = |kind, user, merchant, funding: Funding, beneficiary| ScoredEvent {
            kind,
            user,
            merchant,
            payee: None,
            amount_minor: funding.credit_minor.saturating_add(funding.balance_minor),
            credit_minor: funding.credit_minor,
            beneficiary,
        };
        let merchant = |id| self.find_merchant(id);
        Some(match *kind {
            CommandKind::Pay(kind::Pay { user: id, merchant: shop, funding }) => {
                event(EventKind::Pay, Some(user(id)?), Some(merchant(shop)?), funding, None)
            }
            CommandKind::PayFor(kind::PayFor { user: id, merchant: shop, funding, beneficiary }) => {
                event(EventKind::Pay, Some(user(id)?), Some(merchant(shop)?), funding, Some(beneficiary))
            }
            CommandKind::Authorize(kind::Authorize { user: id, merchant: shop, funding, .. }) => {
                event(EventKind::Authorize, Some(user(id)?), Some(merchant(shop)?), funding, None)
            }
            CommandKind::Transfer(kind::Transfer { from, to, amount }) => ScoredEvent {
                payee: Some(user(to)?),
                ..event(
                    EventKind::Transfer,
                    Some(user(from)?),
                    None,
                    Funding { credit_minor: 0, balance_minor: amount.minor() },
                    None,
                )
            },
            CommandKind::WithdrawToBank(kind::WithdrawToBank { user: id, amount }) => {
                let funding = Funding { credit_minor: 0, balance_minor: amount.minor() };
                event(EventKind::WithdrawToBank, Some(user(id)?), None, funding, None)
            }
            CommandKind::RequestWithdrawal(kind::RequestWithdrawal { user: id, amount, .. }) => {
                let funding = Funding { credit_minor: amount.minor(), balance_minor: 0 };
                event(EventKind::RequestWithdrawal, Some(user(id)?), None, funding, None)
            }
            CommandKind::MerchantTransfer(kind::MerchantTransfer { merchant: shop, to, amount }) => ScoredEvent {
                payee: Some(user(to)?),
                ..event(
                    EventKind::MerchantTransfer,
                    None,
                    Some(merchant(shop)?),
                    Funding { credit_minor: 0, balance_minor: amount.minor() },
                    None,
                )
            },
            CommandKind::PayoutMerchant(kind::PayoutMerchant { merchant: shop, amount })
            | CommandKind::MerchantToMerchant(kind::MerchantToMerchant { merchant: shop, amount, .. }) => {
                let funding = Funding { credit_minor: 0, balance_minor: amount.minor() };
                event(EventKind::PayoutMerchant, None, Some(merchant(shop)?), funding, None)
            }
            CommandKind::AgentCashOut(kind::AgentCashOut { user: id, agent, amount }) => {
                let funding = Funding { credit_minor: 0, balance_minor: amount.minor() };
                event(EventKind::WithdrawToBank, Some(user(id)?), Some(merchant(agent)?), funding, None)
            }
            _ => return None,
        })
    }

    /// Scores a command and acts on the decision: runs it (allow), refuses it (deny), parks it
    /// for verification (challenge) or holds it and opens a case (review); then takes the
    /// account actions. `None` when the rules do not score this command. The decision is kept
    /// for [`Engine::last_decision`].
    pub(crate) fn screen(&mut self, id: CommandId, kind: &CommandKind, ledger: &mut Postings<'_>) -> Option<Outcome> {
        // Without rules nothing is scored: skip resolving the event's accounts.
        if !self.risk.has_rules() {
            return None;
        }
        let event = self.scored_event(kind)?;
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
            DecisionKind::Allow => self.run(id, kind, ledger),
            DecisionKind::Deny => Err(Rejection::RiskDenied),
            DecisionKind::Challenge => self.park(id, party, kind),
            DecisionKind::Review => self.hold_for_review(id, party, kind, &decision, ledger),
        };
        if let Some(payee) = event.payee {
            let reason =
                self.risk.watch_reason(&decision, &decision.counterparty_actions, |rule| &rule.counterparty_actions);
            let (risk, mut accounts) = self.accounts();
            risk.take_actions(&mut accounts, payee, &decision.counterparty_actions, (false, reason));
        }
        if let Some(slot) = event.user {
            if decision.kind == DecisionKind::Deny {
                self.risk.note_refused(slot, self.now_ms);
            }
            let reason = self.risk.watch_reason(&decision, &decision.actions, |rule| &rule.account_actions);
            let (risk, mut accounts) = self.accounts();
            risk.take_actions(&mut accounts, slot, &decision.actions, (true, reason));
            if decision.kind == DecisionKind::Deny && !decision.actions.is_empty() {
                // The user can appeal the actions: they get a case with nothing held.
                self.risk.open_case(id, (party, Held::Nothing), decision.clone(), (self.now_ms, self.actor));
            }
        }
        self.last_decision = Some(decision);
        Some(outcome)
    }

    fn park(&mut self, id: CommandId, party: Party, kind: &CommandKind) -> Outcome {
        let Party::User(user) = party else { unreachable!("challenges without a user became reviews") };
        self.check_new_payment_id(id)?;
        let expires_at_ms = self.risk.park(&mut self.ledger, id, (user, kind), self.now_ms);
        Ok(Accepted::Challenged { expires_at_ms })
    }

    fn hold_for_review(
        &mut self,
        id: CommandId,
        party: Party,
        kind: &CommandKind,
        decision: &Decision,
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        let held = match *kind {
            CommandKind::Pay(kind::Pay { user, merchant, funding })
            | CommandKind::PayFor(kind::PayFor { user, merchant, funding, .. }) => {
                let expires_at_ms = self.now_ms.saturating_add(CASE_HOLD_MS);
                self.authorize(id, Authorization { user, merchant, funding, expires_at_ms })?;
                Held::Payment { merchant }
            }
            CommandKind::Authorize(kind::Authorize { merchant, .. }) => {
                self.run(id, kind, ledger)?;
                Held::Authorization { merchant }
            }
            _ => {
                self.check_new_payment_id(id)?;
                Held::Parked(Box::new(kind.clone()))
            }
        };
        self.risk.open_case(id, (party, held), decision.clone(), (self.now_ms, self.actor));
        Ok(Accepted::HeldForReview { case: id })
    }

    /// Reverses an account action in force (an analyst's `LiftAction`).
    pub(crate) fn lift_action(&mut self, user: UserId, action: AccountAction) -> Outcome {
        let slot = self.user_slot(user)?;
        let (risk, mut accounts) = self.accounts();
        match risk.lift_in_force(&mut accounts, slot, action) {
            true => Ok(Accepted::Done),
            false => Err(Rejection::ActionNotInForce),
        }
    }

    /// Lifts every risk action whose lapse time has come (on ticks).
    pub(crate) fn lapse_actions(&mut self) {
        let (risk, mut accounts) = self.accounts();
        risk.lapse_actions(&mut accounts);
    }

    /// Runs a challenged command once its user passed the step-up verification.
    pub(crate) fn verify_challenge(&mut self, user: UserId, id: CommandId, ledger: &mut Postings<'_>) -> Outcome {
        let parked = self.risk.unpark(&mut self.ledger, user, id, self.now_ms)?;
        self.run(id, &parked.kind, ledger)
    }

    /// An analyst's verdict: approval lets what was held through and lifts the case's account
    /// actions; rejection releases or drops it. Either way the label is recorded.
    pub(crate) fn decide_case(
        &mut self,
        id: CommandId,
        approve: bool,
        label: Label,
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        let (party, held) = self.risk.open_case_for_verdict(id)?;
        let outcome = match (approve, held) {
            (true, Held::Payment { merchant }) => {
                let amount = self.ledger.authorization(id).map(|held| held.funding);
                let amount = amount.ok_or(Rejection::AuthorizationExpired)?;
                let amount =
                    model::Amount::new(amount.credit_minor + amount.balance_minor).ok_or(Rejection::AmountOverflow)?;
                self.run(id, &CommandKind::Capture(kind::Capture { authorization: id, merchant, amount }), ledger)?
            }
            (true, Held::Parked(kind)) => self.run(id, &kind, ledger)?,
            (false, Held::Payment { .. } | Held::Authorization { .. }) => {
                self.ledger.drop_authorization(id);
                Accepted::Done
            }
            _ => Accepted::Done,
        };
        let slot = match party {
            Party::User(user) => self.user_slot(user).ok(),
            Party::Merchant(_) => None,
        };
        let actor = self.actor;
        let (risk, mut accounts) = self.accounts();
        risk.close_case(id, (approve, label), (slot, &mut accounts), actor);
        Ok(outcome)
    }

    /// A user's appeal: evidence and text attached to the case, which reopens if decided.
    pub(crate) fn appeal_case(&mut self, id: CommandId, evidence: &[Evidence], text: &str) -> Outcome {
        self.risk.appeal_case(id, (evidence, text), (self.now_ms, self.actor))
    }
}
