//! Scoring a command, the decision ladder, account actions, risk challenges, cases and appeals.

use super::features::{Context, OrderForOther, ScoredEvent, ring_like};
use crate::apply::{Authorization, Engine, Postings};
use ledger::AUTHORIZATION_MAX_MS;
use model::risk::{
    APPEALS_MAX, AccountAction, Appeal, Case, CaseStatus, Decision, DecisionKind, EventKind, Evidence, FiredRule, Held,
    Label, Parked, Party, RuleSet, RuleStatus, SCORE_PENALTY_POINTS, appeal_within_bounds,
};
use model::{Accepted, Outcome, Rejection};
use model::{CommandId, CommandKind, Funding, UserId};

/// How long a payment held for review stays held before it lapses.
pub const CASE_HOLD_MS: u64 = AUTHORIZATION_MAX_MS;
/// Whether a risk action is in force on a user (a freeze counts only when a risk action froze
/// the line).
pub(crate) fn in_force(risk: &super::features::UserRisk, action: AccountAction) -> bool {
    match action {
        AccountAction::FreezeCredit => risk.frozen_by_risk,
        AccountAction::CutLine => risk.cut_from_limit_minor.is_some(),
        AccountAction::LowerScore => risk.score_lowered,
        AccountAction::WatchList => risk.watchlisted(),
    }
}

impl Engine {
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
            CommandKind::Pay { user: id, merchant: shop, funding } => {
                event(EventKind::Pay, Some(user(id)?), Some(merchant(shop)?), funding, None)
            }
            CommandKind::PayFor { user: id, merchant: shop, funding, beneficiary } => {
                event(EventKind::Pay, Some(user(id)?), Some(merchant(shop)?), funding, Some(beneficiary))
            }
            CommandKind::Authorize { user: id, merchant: shop, funding, .. } => {
                event(EventKind::Authorize, Some(user(id)?), Some(merchant(shop)?), funding, None)
            }
            CommandKind::Transfer { from, to, amount } => ScoredEvent {
                payee: Some(user(to)?),
                ..event(
                    EventKind::Transfer,
                    Some(user(from)?),
                    None,
                    Funding { credit_minor: 0, balance_minor: amount.minor() },
                    None,
                )
            },
            CommandKind::WithdrawToBank { user: id, amount } => {
                let funding = Funding { credit_minor: 0, balance_minor: amount.minor() };
                event(EventKind::WithdrawToBank, Some(user(id)?), None, funding, None)
            }
            CommandKind::RequestWithdrawal { user: id, amount, .. } => {
                let funding = Funding { credit_minor: amount.minor(), balance_minor: 0 };
                event(EventKind::RequestWithdrawal, Some(user(id)?), None, funding, None)
            }
            CommandKind::MerchantTransfer { merchant: shop, to, amount } => ScoredEvent {
                payee: Some(user(to)?),
                ..event(
                    EventKind::MerchantTransfer,
                    None,
                    Some(merchant(shop)?),
                    Funding { credit_minor: 0, balance_minor: amount.minor() },
                    None,
                )
            },
            CommandKind::PayoutMerchant { merchant: shop, amount }
            | CommandKind::MerchantToMerchant { merchant: shop, amount, .. } => {
                let funding = Funding { credit_minor: 0, balance_minor: amount.minor() };
                event(EventKind::PayoutMerchant, None, Some(merchant(shop)?), funding, None)
            }
            CommandKind::AgentCashOut { user: id, agent, amount } => {
                let funding = Funding { credit_minor: 0, balance_minor: amount.minor() };
                event(EventKind::WithdrawToBank, Some(user(id)?), Some(merchant(agent)?), funding, None)
            }
            _ => return None,
        })
    }

    /// Runs the rules for one event: what fired, the score, the decision and the evidence.
    fn evaluate(&self, event: &ScoredEvent) -> Option<Decision> {
        let rules = self.risk.rules.as_deref()?;
        let mut context = Context::new(self, event);
        let (thresholds, version) = (&rules.source.decision, rules.source.version);
        let by_score = |score: i32| match score {
            score if score >= thresholds.deny_at => DecisionKind::Deny,
            score if score >= thresholds.review_at => DecisionKind::Review,
            score if score >= thresholds.challenge_at => DecisionKind::Challenge,
            _ => DecisionKind::Allow,
        };
        // A rule whose evaluation errs (overflow, division by zero) does not fire.
        let fired_rules = rules.batches[event.kind as usize].fired(&mut context);
        if fired_rules.iter().all(|word| *word == 0) {
            // Most events: no rule fired, no evidence to gather.
            return Some(Decision::unfired(by_score(0), version));
        }
        let (mut score, mut forced) = (0i32, DecisionKind::Allow);
        let (mut fired, mut actions, mut read) = (Vec::new(), Vec::new(), Vec::new());
        let mut counterparty_actions = Vec::new();
        for position in rules::fired_indices(&fired_rules) {
            let compiled = &rules.by_kind[event.kind as usize][position];
            let rule = &rules.source.rules[compiled.index];
            let shadow = rule.status == RuleStatus::Shadow;
            fired.push(FiredRule { rule: rule.id.clone(), reason: rule.reason.clone(), score: rule.score, shadow });
            read.extend_from_slice(compiled.program.slots());
            if !shadow {
                score = score.saturating_add(rule.score);
                forced = forced.max(rule.action.unwrap_or(DecisionKind::Allow));
                actions.extend_from_slice(&rule.account_actions);
                counterparty_actions.extend_from_slice(&rule.counterparty_actions);
            }
        }
        for list in [&mut actions, &mut counterparty_actions] {
            list.sort_unstable();
            list.dedup();
        }
        let mut reasons: Vec<String> =
            fired.iter().filter(|rule| !rule.shadow).map(|rule| rule.reason.clone()).collect();
        reasons.sort_unstable();
        reasons.dedup();
        let readings = context.readings(read.into_iter());
        let kind = forced.max(by_score(score));
        Some(Decision { kind, score, rules_version: version, reasons, fired, readings, actions, counterparty_actions })
    }

    /// Scores a command and acts on the decision: runs it (allow), refuses it (deny), parks it
    /// for verification (challenge) or holds it and opens a case (review); then takes the
    /// account actions. `None` when the rules do not score this command. The decision is kept
    /// for [`Engine::last_decision`].
    pub(crate) fn screen(&mut self, id: CommandId, kind: &CommandKind, ledger: &mut Postings<'_>) -> Option<Outcome> {
        // Without rules nothing is scored: skip resolving the event's accounts.
        self.risk.rules.as_ref()?;
        let event = self.scored_event(kind)?;
        let mut decision = self.evaluate(&event)?;
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
        self.note_ring_like_attempt(&event);
        self.note_order_for_other(&event);
        let outcome = match decision.kind {
            DecisionKind::Allow => self.run(id, kind, ledger),
            DecisionKind::Deny => Err(Rejection::RiskDenied),
            DecisionKind::Challenge => self.park(id, party, kind),
            DecisionKind::Review => self.hold_for_review(id, party, kind, &decision, ledger),
        };
        if let Some(payee) = event.payee {
            let reason =
                self.watch_reason(&decision, &decision.counterparty_actions, |rule| &rule.counterparty_actions);
            self.take_actions(payee, &decision.counterparty_actions, false, reason);
        }
        if let Some(slot) = event.user {
            if decision.kind == DecisionKind::Deny {
                self.risk.users[slot].refused_at_ms = Some(self.now_ms);
            }
            let reason = self.watch_reason(&decision, &decision.actions, |rule| &rule.account_actions);
            self.take_actions(slot, &decision.actions, true, reason);
            if decision.kind == DecisionKind::Deny && !decision.actions.is_empty() {
                // The user can appeal the actions: they get a case with nothing held.
                self.open_case(id, party, decision.clone(), Held::Nothing);
            }
        }
        self.risk.last_decision = Some(decision);
        Some(outcome)
    }

    /// A round, near-limit credit payment counts towards the merchant's ring-like payers when it
    /// is attempted, whatever the decision: a ring stopped at its first payments is still a ring.
    fn note_ring_like_attempt(&mut self, event: &ScoredEvent) {
        let (EventKind::Pay | EventKind::Authorize, Some(user), Some(merchant)) =
            (event.kind, event.user, event.merchant)
        else {
            return;
        };
        let available = self.ledger.users()[user].credit_available_minor();
        if event.credit_minor > 0 && ring_like(event.amount_minor, event.credit_minor, available) {
            let payer = self.ledger.users()[user].id;
            self.risk.merchants[merchant].note_ring_payer(self.now_ms, payer);
        }
    }

    /// An order for someone not tied to the payer counts towards the proxy-purchase features when
    /// it is attempted, whatever the decision: an order held or refused still had its payback
    /// coming.
    fn note_order_for_other(&mut self, event: &ScoredEvent) {
        let (EventKind::Pay | EventKind::Authorize, Some(user), Some(beneficiary)) =
            (event.kind, event.user, event.beneficiary)
        else {
            return;
        };
        if self.tie_belongs_to(beneficiary, Party::User(self.ledger.users()[user].id)) {
            return;
        }
        let order = OrderForOther {
            time_ms: self.now_ms,
            amount_minor: event.amount_minor,
            credit_minor: event.credit_minor,
            beneficiary,
        };
        self.risk.users[user].on_order_for_other(order);
    }

    fn park(&mut self, id: CommandId, party: Party, kind: &CommandKind) -> Outcome {
        let Party::User(user) = party else { unreachable!("challenges without a user became reviews") };
        self.check_new_payment_id(id)?;
        let ttl_ms = self.risk.rules.as_ref().map_or(0, |rules| rules.source.decision.challenge_ttl_ms);
        let expires_at_ms = self.now_ms.saturating_add(ttl_ms);
        let fresh = self.ledger.schedule(expires_at_ms, id);
        assert!(fresh, "parked command {id:?} was checked to be new");
        self.risk.parked.insert(id, Parked { user, kind: kind.clone(), expires_at_ms });
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
            CommandKind::Pay { user, merchant, funding } | CommandKind::PayFor { user, merchant, funding, .. } => {
                let expires_at_ms = self.now_ms.saturating_add(CASE_HOLD_MS);
                self.authorize(id, Authorization { user, merchant, funding, expires_at_ms })?;
                Held::Payment { merchant }
            }
            CommandKind::Authorize { merchant, .. } => {
                self.run(id, kind, ledger)?;
                Held::Authorization { merchant }
            }
            _ => {
                self.check_new_payment_id(id)?;
                Held::Parked(Box::new(kind.clone()))
            }
        };
        self.open_case(id, party, decision.clone(), held);
        Ok(Accepted::HeldForReview { case: id })
    }

    fn open_case(&mut self, id: CommandId, party: Party, decision: Decision, held: Held) {
        let case = Case {
            party,
            opened_at_ms: self.now_ms,
            decision,
            held,
            status: CaseStatus::Open,
            label: None,
            appeals: Vec::new(),
            decided_at_ms: None,
            opened_by: self.actor,
            decided_by: None,
        };
        self.risk.cases.insert(id, case);
    }

    /// What a watch-list among `actions` taken on this decision is for (`features::WATCH_REASONS`):
    /// the reason of the highest-scoring active rule that fired and asks for it among `of` (its
    /// account or counterparty actions), by the typology it names (`other` for a reason naming
    /// none); 0 when `actions` takes no watch-list.
    fn watch_reason(
        &self,
        decision: &Decision,
        actions: &[AccountAction],
        of: fn(&model::risk::RuleSource) -> &Vec<AccountAction>,
    ) -> u8 {
        if !actions.contains(&AccountAction::WatchList) {
            return 0;
        }
        let sources = self.risk.rules.as_deref().map_or(&[][..], |rules| &rules.source.rules[..]);
        let asks = |rule: &str| {
            sources.iter().any(|source| source.id == rule && of(source).contains(&AccountAction::WatchList))
        };
        let fired = decision.fired.iter().filter(|fired| !fired.shadow && asks(&fired.rule));
        let reason = fired.max_by_key(|fired| fired.score).map_or("", |fired| fired.reason.as_str());
        model::risk::catalog::watch_reason_symbol(reason)
    }

    /// Takes account actions on a user. On the event's own user they lapse (`lapsing`): that
    /// user may be the victim of a takeover. On a counterparty — the payee money was sent back
    /// to — they are kept until lifted: the beneficiary of a cash-out is not its victim. A
    /// watch-list is taken for `watch_reason` (see [`Engine::watch_reason`]).
    fn take_actions(&mut self, slot: usize, actions: &[AccountAction], lapsing: bool, watch_reason: u8) {
        if actions.is_empty() {
            return;
        }
        let (_, month) = self.local_today();
        let now_ms = self.now_ms;
        let (line, risk) = (&mut self.lines[slot], &mut self.risk.users[slot]);
        for action in actions {
            let user = &self.ledger.users()[slot];
            match action {
                AccountAction::FreezeCredit if !user.credit_frozen => {
                    self.ledger.set_credit_frozen(slot, true);
                    risk.frozen_by_risk = true;
                }
                AccountAction::CutLine if risk.cut_from_limit_minor.is_none() => {
                    let committed = credit::committed_minor(user, line).clamp(0, user.limit_minor as i128) as u64;
                    risk.cut_from_limit_minor = Some(self.ledger.set_limit(slot, committed));
                }
                AccountAction::LowerScore if !risk.score_lowered => {
                    risk.score_lowered = true;
                    line.score.adjustment = line.score.adjustment.saturating_sub(SCORE_PENALTY_POINTS);
                    credit::score::rescore(user, line, now_ms, month, true);
                }
                // The first reason stays while the user is on the list: a cycler caught again by a
                // ring rule is still watched for cycling.
                AccountAction::WatchList if !risk.watchlisted() => {
                    assert_ne!(watch_reason, 0, "a watch-list is taken for a reason");
                    risk.watch_reason = watch_reason;
                }
                _ => {}
            }
        }
        for action in actions {
            // Taken again, an action in force lasts its whole lapse from now.
            if in_force(&self.risk.users[slot], *action) {
                let lapse_at_ms = self.risk.users[slot].lapse_at_ms[action.index()];
                let lapse_at_ms = match lapsing {
                    true if lapse_at_ms != super::KEPT => now_ms.saturating_add(action.lapse_ms()).max(lapse_at_ms),
                    _ => super::KEPT,
                };
                self.set_lapse(slot, *action, lapse_at_ms);
            }
        }
    }

    /// Records when a user's action lapses (0: not in force; `KEPT`: never), keeping the lapse
    /// queue equal to the users' records.
    fn set_lapse(&mut self, slot: usize, action: AccountAction, lapse_at_ms: u64) {
        let place = &mut self.risk.users[slot].lapse_at_ms[action.index()];
        let before = std::mem::replace(place, lapse_at_ms);
        let slot = u32::try_from(slot).expect("user slots fit in u32");
        if before != 0 && before != super::KEPT {
            self.risk.lapses.remove(&(before, slot, action));
        }
        if lapse_at_ms != 0 && lapse_at_ms != super::KEPT {
            self.risk.lapses.insert((lapse_at_ms, slot, action));
        }
    }

    /// Reverses an account action in force (an analyst's `LiftAction`).
    pub(crate) fn lift_action(&mut self, user: UserId, action: AccountAction) -> Outcome {
        let slot = self.user_slot(user)?;
        match self.lift_in_force(slot, action) {
            true => Ok(Accepted::Done),
            false => Err(Rejection::ActionNotInForce),
        }
    }

    /// Reverses an action if it is in force; whether it was.
    fn lift_in_force(&mut self, slot: usize, action: AccountAction) -> bool {
        if !in_force(&self.risk.users[slot], action) {
            return false;
        }
        let (_, month) = self.local_today();
        let now_ms = self.now_ms;
        let (line, risk) = (&mut self.lines[slot], &mut self.risk.users[slot]);
        let user = &self.ledger.users()[slot];
        match action {
            AccountAction::FreezeCredit => {
                risk.frozen_by_risk = false;
                self.ledger.set_credit_frozen(slot, false);
            }
            AccountAction::CutLine => {
                let before = risk.cut_from_limit_minor.take().expect("in force");
                self.ledger.set_limit(slot, user.limit_minor.max(before));
            }
            AccountAction::LowerScore => {
                risk.score_lowered = false;
                line.score.adjustment = line.score.adjustment.saturating_add(SCORE_PENALTY_POINTS);
                credit::score::rescore(user, line, now_ms, month, true);
            }
            AccountAction::WatchList => risk.watch_reason = 0,
        }
        self.set_lapse(slot, action, 0);
        true
    }

    /// Lifts every risk action whose lapse time has come (on ticks).
    pub(crate) fn lapse_actions(&mut self) {
        while let Some(&(lapse_at_ms, slot, action)) = self.risk.lapses.first() {
            if lapse_at_ms > self.now_ms {
                break;
            }
            // A queued lapse the lift did not remove would be visited for ever: a broken
            // invariant stops here instead.
            let lifted = self.lift_in_force(slot as usize, action);
            assert!(lifted, "a queued lapse is of an action in force");
        }
    }

    /// Runs a challenged command once its user passed the step-up verification.
    pub(crate) fn verify_challenge(&mut self, user: UserId, id: CommandId, ledger: &mut Postings<'_>) -> Outcome {
        let parked =
            self.risk.parked.get(&id).filter(|parked| parked.user == user).ok_or(Rejection::UnknownChallenge)?;
        if parked.expires_at_ms <= self.now_ms {
            return Err(Rejection::ChallengeExpired);
        }
        let parked = self.risk.parked.remove(&id).expect("found above");
        self.ledger.unschedule(parked.expires_at_ms, id);
        self.run(id, &parked.kind, ledger)
    }

    /// Drops a lapsed challenge (from the expiry queue).
    pub(crate) fn drop_parked(&mut self, id: CommandId) {
        if let Some(parked) = self.risk.parked.remove(&id) {
            self.ledger.unschedule(parked.expires_at_ms, id);
        }
    }

    /// Whether an open case holds this payment or authorization: then only its decision may
    /// capture or release it (a merchant capturing a payment held for review is what must fail).
    pub(crate) fn held_by_open_case(&self, authorization: CommandId) -> bool {
        self.risk.cases.get(&authorization).is_some_and(|case| {
            case.status == CaseStatus::Open && matches!(case.held, Held::Payment { .. } | Held::Authorization { .. })
        })
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
        let case = self.risk.cases.get(&id).ok_or(Rejection::UnknownCase)?;
        if case.status != CaseStatus::Open {
            return Err(Rejection::CaseClosed);
        }
        let (held, party, actions) = (case.held.clone(), case.party, case.decision.actions.clone());
        let outcome = match (approve, held) {
            (true, Held::Payment { merchant }) => {
                let amount = self.ledger.authorization(id).map(|held| held.funding);
                let amount = amount.ok_or(Rejection::AuthorizationExpired)?;
                let amount =
                    model::Amount::new(amount.credit_minor + amount.balance_minor).ok_or(Rejection::AmountOverflow)?;
                self.run(id, &CommandKind::Capture { authorization: id, merchant, amount }, ledger)?
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
        if let Some(slot) = slot {
            for action in actions {
                match (approve, label) {
                    // An action already lifted by hand (or lapsed) stays lifted.
                    (true, _) => {
                        self.lift_in_force(slot, action);
                    }
                    // Confirmed fraud: what is still in force stays until lifted.
                    (false, Label::Fraud(_)) if in_force(&self.risk.users[slot], action) => {
                        self.set_lapse(slot, action, super::KEPT);
                    }
                    (false, _) => {}
                }
            }
        }
        let (now_ms, actor) = (self.now_ms, self.actor);
        let case = self.risk.cases.get_mut(&id).expect("found above");
        case.status = if approve { CaseStatus::Approved } else { CaseStatus::Rejected };
        case.label = Some(label);
        case.held = Held::Nothing;
        case.decided_at_ms = Some(now_ms);
        case.decided_by = Some(actor);
        Ok(outcome)
    }

    /// A user's appeal: evidence and text attached to the case, which reopens if decided.
    pub(crate) fn appeal_case(&mut self, id: CommandId, evidence: &[Evidence], text: &str) -> Outcome {
        let case = self.risk.cases.get(&id).ok_or(Rejection::UnknownCase)?;
        if !appeal_within_bounds(evidence, text) || case.appeals.len() >= APPEALS_MAX {
            return Err(Rejection::InvalidAppeal);
        }
        let at_ms = self.now_ms;
        let case = self.risk.cases.get_mut(&id).expect("found above");
        case.appeals.push(Appeal { at_ms, filed_by: self.actor, evidence: evidence.to_vec(), text: text.to_owned() });
        case.status = CaseStatus::Open;
        Ok(Accepted::Done)
    }

    /// Installs a rules file: it must compile and carry a higher version than the one in force.
    pub(crate) fn install_rules(&mut self, rules: &RuleSet) -> Outcome {
        if self.risk.rules.as_ref().is_some_and(|active| active.source.version >= rules.version) {
            return Err(Rejection::RulesVersionOrder);
        }
        let active = rules.clone().compile().map_err(|_| Rejection::InvalidRules)?;
        self.risk.rules = Some(Box::new(active));
        Ok(Accepted::Done)
    }
}
