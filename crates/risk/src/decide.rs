//! Scoring an event, the decision ladder, and the account actions a decision takes.

use crate::features::{Context, OrderForOther, UserRisk, ring_like};
use crate::{Books, KEPT, Risk};
use credit::CreditLine;
use ledger::{AUTHORIZATION_MAX_MS, Ledger};
use model::Rejection;
use model::risk::{
    AccountAction, CompiledRules, Decision, DecisionKind, EventKind, FiredRule, Party, Proposal, RuleSet, RuleStatus,
    SCORE_PENALTY_POINTS, Tie,
};
use model::{ActorId, CommandId};

/// How long a payment held for review stays held before it lapses.
pub const CASE_HOLD_MS: u64 = AUTHORIZATION_MAX_MS;

/// A command as the rules see it, its accounts resolved to slots (the engine makes one for
/// each command kind the rules score).
pub struct ScoredEvent {
    /// What the rules call the command.
    pub kind: EventKind,
    /// The paying or withdrawing user.
    pub user: Option<usize>,
    /// The merchant paid, paying out or handing over cash.
    pub merchant: Option<usize>,
    /// The user receiving a transfer.
    pub payee: Option<usize>,
    /// Minor units: credit plus balance.
    pub amount_minor: u64,
    /// Minor units drawn on the credit line.
    pub credit_minor: u64,
    /// Whom an order is for, when not the payer.
    pub beneficiary: Option<Tie>,
}

/// What account actions change, and when: the ledger, the credit lines by user slot, the
/// command's time and its local month key (the score's clock).
pub struct Accounts<'a> {
    /// Limits and freezes.
    pub ledger: &'a mut Ledger,
    /// Scores.
    pub lines: &'a mut [CreditLine],
    /// Milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// The products' local month key.
    pub month: i64,
}

/// Whether a risk action is in force on a user (a freeze counts only when a risk action froze
/// the line).
pub fn in_force(risk: &UserRisk, action: AccountAction) -> bool {
    match action {
        AccountAction::FreezeCredit => risk.frozen_by_risk,
        AccountAction::CutLine => risk.cut_from_limit_minor.is_some(),
        AccountAction::LowerScore => risk.score_lowered,
        AccountAction::WatchList => risk.watchlisted(),
    }
}

/// Runs the rules in force for one event: what fired, the score, the decision and the
/// evidence. `None` without rules.
pub fn evaluate(books: Books<'_>, event: &ScoredEvent) -> Option<Decision> {
    let rules = books.risk.rules.as_deref()?;
    let mut context = Context::new(books, event);
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
    let mut reasons: Vec<String> = fired.iter().filter(|rule| !rule.shadow).map(|rule| rule.reason.clone()).collect();
    reasons.sort_unstable();
    reasons.dedup();
    let readings = context.readings(read.into_iter());
    let kind = forced.max(by_score(score));
    Some(Decision { kind, score, rules_version: version, reasons, fired, readings, actions, counterparty_actions })
}

impl Risk {
    /// Checks a rules file for installing: it must carry a higher version than the one in force
    /// and compile; returns it compiled.
    pub fn check_rules(&self, rules: &RuleSet) -> Result<CompiledRules, Rejection> {
        if self.rules.as_ref().is_some_and(|active| active.source.version >= rules.version) {
            return Err(Rejection::RulesVersionOrder);
        }
        rules.clone().compile().map_err(|_| Rejection::InvalidRules)
    }

    /// Puts checked rules ([`Risk::check_rules`]) in force.
    pub fn install_rules(&mut self, rules: CompiledRules) {
        let newer = self.rules.as_ref().is_none_or(|active| active.source.version < rules.source.version);
        assert!(newer, "checked: rules versions only go up");
        self.rules = Some(Box::new(rules));
    }

    /// Checks a rules proposal under command `id`: the id free, the file installable now.
    pub fn check_proposal(&self, id: CommandId, rules: &RuleSet) -> Result<(), Rejection> {
        if self.proposals.contains_key(&id) {
            return Err(Rejection::ProposalExists);
        }
        self.check_rules(rules).map(drop)
    }

    /// Records a checked proposal ([`Risk::check_proposal`]) until another key approves it.
    pub fn propose_rules(&mut self, id: CommandId, rules: RuleSet, (proposed_at_ms, proposed_by): (u64, ActorId)) {
        let fresh = self.proposals.insert(id, Proposal { rules, proposed_by, proposed_at_ms }).is_none();
        assert!(fresh, "checked: no proposal waits under {id:?}");
    }

    /// Checks `approver`'s approval of proposal `id`: it waits, another key proposed it, and its
    /// rules are still installable; returns them compiled.
    pub fn check_approval(&self, id: CommandId, approver: ActorId) -> Result<CompiledRules, Rejection> {
        let proposal = self.proposals.get(&id).ok_or(Rejection::UnknownProposal)?;
        if proposal.proposed_by == approver {
            return Err(Rejection::SelfApproval);
        }
        self.check_rules(&proposal.rules)
    }

    /// Installs an approved proposal ([`Risk::check_approval`] passed) and drops it.
    pub fn approve_rules(&mut self, id: CommandId, rules: CompiledRules) {
        let proposal = self.proposals.remove(&id).expect("checked: the proposal waits");
        assert_eq!(proposal.rules, rules.source, "checked: the approved rules are the proposal's");
        self.install_rules(rules);
    }

    /// How long a challenged command waits for its verification, under the rules in force.
    pub fn challenge_ttl_ms(&self) -> u64 {
        self.rules.as_ref().map_or(0, |rules| rules.source.decision.challenge_ttl_ms)
    }

    /// Notes what an attempt says whatever its decision: a round, near-limit credit payment
    /// counts towards the merchant's ring-like payers (a ring stopped at its first payments is
    /// still a ring), and an order for someone not tied to the payer towards the proxy-purchase
    /// features (an order held or refused still had its payback coming).
    pub fn note_attempt(&mut self, ledger: &Ledger, now_ms: u64, event: &ScoredEvent) {
        let (EventKind::Pay | EventKind::Authorize, Some(user)) = (event.kind, event.user) else { return };
        let payer = &ledger.users()[user];
        if let Some(merchant) = event.merchant
            && event.credit_minor > 0
            && ring_like(event.amount_minor, event.credit_minor, payer.credit_available_minor())
        {
            self.merchants[merchant].note_ring_payer(now_ms, payer.id);
        }
        let Some(beneficiary) = event.beneficiary else { return };
        if self.tie_belongs_to(ledger, beneficiary, Party::User(payer.id)) {
            return;
        }
        let order = OrderForOther {
            time_ms: now_ms,
            amount_minor: event.amount_minor,
            credit_minor: event.credit_minor,
            beneficiary,
        };
        self.users[user].on_order_for_other(order);
    }

    /// Notes that the rules refused the user's command.
    pub fn note_refused(&mut self, slot: usize, now_ms: u64) {
        self.users[slot].refused_at_ms = Some(now_ms);
    }

    /// What a watch-list among `actions` taken on this decision is for (`features::WATCH_REASONS`):
    /// the reason of the highest-scoring active rule that fired and asks for it among `of` (its
    /// account or counterparty actions), by the typology it names (`other` for a reason naming
    /// none); 0 when `actions` takes no watch-list.
    pub fn watch_reason(
        &self,
        decision: &Decision,
        actions: &[AccountAction],
        of: fn(&model::risk::RuleSource) -> &Vec<AccountAction>,
    ) -> u8 {
        if !actions.contains(&AccountAction::WatchList) {
            return 0;
        }
        let sources = self.rules.as_deref().map_or(&[][..], |rules| &rules.source.rules[..]);
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
    /// watch-list is taken for `watch_reason` (see [`Risk::watch_reason`]).
    pub fn take_actions(
        &mut self,
        accounts: &mut Accounts<'_>,
        slot: usize,
        actions: &[AccountAction],
        (lapsing, watch_reason): (bool, u8),
    ) {
        if actions.is_empty() {
            return;
        }
        let Accounts { ledger, lines, now_ms, month } = accounts;
        let (line, risk) = (&mut lines[slot], &mut self.users[slot]);
        for action in actions {
            let user = &ledger.users()[slot];
            match action {
                AccountAction::FreezeCredit if !user.credit_frozen => {
                    ledger.set_credit_frozen(slot, true);
                    risk.frozen_by_risk = true;
                }
                AccountAction::CutLine if risk.cut_from_limit_minor.is_none() => {
                    let committed = credit::committed_minor(user, line).clamp(0, user.limit_minor as i128) as u64;
                    risk.cut_from_limit_minor = Some(ledger.set_limit(slot, committed));
                }
                AccountAction::LowerScore if !risk.score_lowered => {
                    risk.score_lowered = true;
                    line.score.adjustment = line.score.adjustment.saturating_sub(SCORE_PENALTY_POINTS);
                    credit::score::rescore(user, line, *now_ms, *month, true);
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
            if in_force(&self.users[slot], *action) {
                let lapse_at_ms = self.users[slot].lapse_at_ms[action.index()];
                let lapse_at_ms = match lapsing {
                    true if lapse_at_ms != KEPT => now_ms.saturating_add(action.lapse_ms()).max(lapse_at_ms),
                    _ => KEPT,
                };
                self.set_lapse(slot, *action, lapse_at_ms);
            }
        }
    }

    /// Records when a user's action lapses (0: not in force; `KEPT`: never), keeping the lapse
    /// queue equal to the users' records.
    pub(crate) fn set_lapse(&mut self, slot: usize, action: AccountAction, lapse_at_ms: u64) {
        let place = &mut self.users[slot].lapse_at_ms[action.index()];
        let before = std::mem::replace(place, lapse_at_ms);
        let slot = u32::try_from(slot).expect("user slots fit in u32");
        if before != 0 && before != KEPT {
            self.lapses.remove(&(before, slot, action));
        }
        if lapse_at_ms != 0 && lapse_at_ms != KEPT {
            self.lapses.insert((lapse_at_ms, slot, action));
        }
    }

    /// Reverses an action if it is in force; whether it was (an analyst's `LiftAction`, a case
    /// approved, a lapse).
    pub fn lift_in_force(&mut self, accounts: &mut Accounts<'_>, slot: usize, action: AccountAction) -> bool {
        if !in_force(&self.users[slot], action) {
            return false;
        }
        let Accounts { ledger, lines, now_ms, month } = accounts;
        let (line, risk) = (&mut lines[slot], &mut self.users[slot]);
        let user = &ledger.users()[slot];
        match action {
            AccountAction::FreezeCredit => {
                risk.frozen_by_risk = false;
                ledger.set_credit_frozen(slot, false);
            }
            AccountAction::CutLine => {
                let before = risk.cut_from_limit_minor.take().expect("in force");
                ledger.set_limit(slot, user.limit_minor.max(before));
            }
            AccountAction::LowerScore => {
                risk.score_lowered = false;
                line.score.adjustment = line.score.adjustment.saturating_add(SCORE_PENALTY_POINTS);
                credit::score::rescore(user, line, *now_ms, *month, true);
            }
            AccountAction::WatchList => risk.watch_reason = 0,
        }
        self.set_lapse(slot, action, 0);
        true
    }

    /// Lifts every risk action whose lapse time has come (on ticks).
    pub fn lapse_actions(&mut self, accounts: &mut Accounts<'_>) {
        while let Some(&(lapse_at_ms, slot, action)) = self.lapses.first() {
            if lapse_at_ms > accounts.now_ms {
                break;
            }
            // A queued lapse the lift did not remove would be visited for ever: a broken
            // invariant stops here instead.
            let lifted = self.lift_in_force(accounts, slot as usize, action);
            assert!(lifted, "a queued lapse is of an action in force");
        }
    }
}
