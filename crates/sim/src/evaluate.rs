//! The evaluator: feeds labelled events through a fresh engine and scores its decisions.
//!
//! An event counts as **caught** when its decision is challenge, review or deny, or when a risk
//! decision taken earlier stopped it: the ledger refused it because a risk rule froze the credit
//! or cut the line, or for lack of exactly what an earlier decision took away — credit a review
//! holds, or money that never arrived because the payment or transfer sending it was stopped
//! (the simulator's schemes run open-loop, so their later steps still try). A step that names
//! the step it needs (`after`) is not applied when that one did not go through, and counts as
//! caught when a risk decision stopped the chain (`stopped_upstream`). Events
//! labelled with a typology are positives, events labelled `honest` negatives; unlabelled events
//! (an abuser's ordinary spending, set-up) are applied but not scored, and so are positives the
//! ledger refused on its own (they moved nothing; counted in `refused_positives`).

use crate::events::{Body, Event, EventError, HONEST};
use engine::CASE_HOLD_MS;
use engine::{Engine, Lookahead};
use model::kind;
use model::product::Product;
use model::risk::{DecisionKind, Party, RuleSet, Typology};
use model::{ActorId, Command, CommandId, CommandKind, Initiator, MerchantId, Rejection, UserId};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Instant;

/// Counts and rates for one label or overall.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Score {
    /// Positives caught.
    pub tp: u64,
    /// Honest events caught (for a typology: by a rule of that typology).
    pub fp: u64,
    /// Positives missed.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// tp / (tp + fp); undefined (`null`) when nothing was caught, not 1.
    pub precision: Option<f64>,
    /// tp / (tp + fn); undefined (`null`) when there were no positives.
    pub recall: Option<f64>,
    /// The harmonic mean of the two; undefined when either is.
    pub f1: Option<f64>,
}

impl Score {
    fn finish(&mut self) {
        let ratio = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
        self.precision = ratio(self.tp, self.tp + self.fp);
        self.recall = ratio(self.tp, self.tp + self.fn_);
        self.f1 = self.precision.zip(self.recall).map(|(precision, recall)| match precision + recall {
            0.0 => 0.0,
            sum => 2.0 * precision * recall / sum,
        });
    }
}

/// Per typology, by account rather than by event: how many abusing accounts were caught, how
/// much they moved before their first catch, and how long it took.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AccountScore {
    /// Accounts acting in events of this typology.
    pub accounts: u64,
    /// Of those, accounts with at least one event caught.
    pub caught: u64,
    /// Money their events moved before each one's first catch (all of it for accounts never
    /// caught), minor units.
    pub moved_before_catch_minor: u64,
    /// The median time from an account's first event of the typology to its first catch, ms
    /// (`null` when none was caught).
    pub median_time_to_catch_ms: Option<u64>,
}

/// One abusing account as the evaluator follows it.
#[derive(Clone, Copy, Debug)]
struct Abuser {
    first_ms: u64,
    caught_ms: Option<u64>,
    moved_before_minor: u64,
}

/// Decisions of one day, for the report's chart.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Day {
    /// Days since the first event.
    pub day: u64,
    /// Challenged.
    pub challenge: u64,
    /// Held for review.
    pub review: u64,
    /// Denied.
    pub deny: u64,
}

/// A rule's firings, and how many of them were on honest events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RuleHits {
    /// The rule id.
    pub rule: String,
    /// Events it fired on (active or shadow).
    pub hits: u64,
    /// Of those, events labelled honest.
    pub false_positives: u64,
}

/// The evaluation report (`--json` prints it).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// Events read.
    pub events: u64,
    /// Events per second through parsing and the engine.
    pub events_per_sec: f64,
    /// Scored events by decision.
    pub decisions: BTreeMap<String, u64>,
    /// Over all labelled events.
    pub overall: Score,
    /// Share of honest users (actors of honest events) who saw any friction.
    pub honest_friction_share: f64,
    /// The same, over honest users who never act in an abuse-labelled event.
    pub pure_honest_friction_share: f64,
    /// The same, over victims: honest users whose account also acts in a takeover-labelled event.
    pub victim_friction_share: f64,
    /// Victims seen (honest users whose account was taken over).
    pub victims: u64,
    /// Per typology label, by account.
    pub accounts: BTreeMap<String, AccountScore>,
    /// Per typology label.
    pub labels: BTreeMap<String, Score>,
    /// Money the caught positive events would have moved, minor units.
    pub caught_minor: u64,
    /// Money all positive events would have moved, minor units.
    pub positive_minor: u64,
    /// Positive events the ledger refused on its own, for reasons no risk decision caused (the
    /// line used up, funds that never arrived): they moved nothing and are not scored.
    pub refused_positives: u64,
    /// Scheme steps not applied because the step they need (`after`, docs/events.md) was stopped
    /// by a risk decision, or did not go through on its own: the money they would move never
    /// came. Counted as caught in the first case, as a refusal for lack of what a decision took
    /// away is; in the second, among `refused_positives`.
    pub stopped_upstream: u64,
    /// Events the log marks `refused` (blocked before they reached its ledger): replayed as
    /// recorded refused attempts, which move nothing and are not scored; a step needing one is
    /// not applied either.
    pub refused_attempts: u64,
    /// Decisions by day.
    pub days: Vec<Day>,
    /// Rules by firings, most first.
    pub rules: Vec<RuleHits>,
    /// Honest users seen.
    pub honest_users: u64,
    /// Honest users who saw friction.
    pub honest_users_with_friction: u64,
    /// The engine's [`Engine::state_hash`] after the last event, in hex: the same events, rules
    /// and build give the same hash.
    pub state_hash: String,
}

/// The typology a reason code stands for, to charge a false positive to a typology.
/// The default pack's reason codes are the typologies' names, but for the colluding merchant's.
pub fn typology_of_reason(reason: &str) -> Option<Typology> {
    match reason {
        "merchant_tied_to_payer" | "merchant_money_back" => Some(Typology::ColludingMerchant),
        reason => Typology::SCHEMES.into_iter().find(|typology| typology.name() == reason),
    }
}

/// A set of account ids, hashed fast (only its size is ever read).
type IdSet = HashSet<u64, foldhash::fast::FixedState>;

/// Events an [`Evaluator`] gathers before applying them, so the engine can look ahead.
pub const PENDING_MAX: usize = 256;

/// Scores events as they come (from a file or straight from the simulator), through a fresh
/// engine with a product and rules installed before the first event. Events are applied one at a
/// time, each outcome scored before the next runs, in gathers of [`PENDING_MAX`] so that the
/// engine can fetch the records of the events ahead ([`Lookahead::next`]).
pub struct Evaluator {
    engine: Engine,
    setup: Option<(Product, RuleSet)>,
    report: Evaluation,
    rules_seen: BTreeMap<String, RuleHits>,
    /// Decisions by kind, counted as they come (names are filled in at the end).
    decisions: BTreeMap<DecisionKind, u64>,
    honest_users: IdSet,
    bothered: IdSet,
    /// Accounts acting in abuse-labelled events, by label and account.
    abusers: BTreeMap<String, BTreeMap<u64, Abuser>>,
    starved: Starved,
    /// Events that did not go through, by id: `true` when a risk decision stopped them (they,
    /// or a step they needed). Read for events naming one as `after`.
    not_through: HashMap<u64, bool, foldhash::fast::FixedState>,
    start_ms: u64,
    postings: Vec<model::Posting>,
    /// Events fed and not yet applied, with their line.
    pending: Vec<(usize, Event)>,
    /// The pending events' commands, and where each event's start.
    commands: Vec<Command>,
    starts: Vec<usize>,
    started: Instant,
}

impl Evaluator {
    /// An evaluator that installs `product` and `rules` at the first event's time.
    pub fn new(product: Product, rules: RuleSet) -> Evaluator {
        Evaluator {
            engine: Engine::default(),
            setup: Some((product, rules)),
            report: Evaluation::default(),
            rules_seen: BTreeMap::new(),
            decisions: BTreeMap::new(),
            honest_users: IdSet::default(),
            bothered: IdSet::default(),
            abusers: BTreeMap::new(),
            starved: Starved::default(),
            not_through: HashMap::default(),
            start_ms: 0,
            postings: Vec::new(),
            pending: Vec::with_capacity(PENDING_MAX),
            commands: Vec::new(),
            starts: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Events fed so far.
    pub fn events(&self) -> u64 {
        self.report.events + self.pending.len() as u64
    }

    /// Takes one event (read from `line`): it is applied and its decision scored against its
    /// label once [`PENDING_MAX`] events are gathered, or at [`Evaluator::finish`]. An event
    /// that does not map onto commands is refused with its line, before any event gathered with
    /// it is applied.
    pub fn feed(&mut self, line: usize, event: Event) -> Result<(), EventError> {
        self.pending.push((line, event));
        match self.pending.len() < PENDING_MAX {
            true => Ok(()),
            false => self.apply_pending(),
        }
    }

    fn apply_pending(&mut self) -> Result<(), EventError> {
        let Some((_, first)) = self.pending.first() else { return Ok(()) };
        if let Some((product, rules)) = self.setup.take() {
            install(&mut self.engine, first.time_ms, product, rules);
            self.start_ms = first.time_ms;
        }
        self.commands.clear();
        self.starts.clear();
        for (line, event) in &self.pending {
            self.starts.push(self.commands.len());
            event.append_commands(*line, &mut self.commands)?;
        }
        let pending = std::mem::take(&mut self.pending);
        let commands = std::mem::take(&mut self.commands);
        let mut lookahead = Lookahead::default();
        for (event_index, (_, event)) in pending.iter().enumerate() {
            let end = self.starts.get(event_index + 1).copied().unwrap_or(commands.len());
            if let Some(by_risk) = event.after.and_then(|after| self.not_through.get(&after).copied()) {
                self.skip(event, by_risk);
                continue;
            }
            for index in self.starts[event_index]..end {
                let hint = lookahead.next(&self.engine, &commands, index);
                self.postings.clear();
                let outcome = self.engine.apply_hinted(&commands[index], 0, hint, &mut self.postings);
                // The command with the event's id is the event; its device link before it and an
                // opening's ties after it are not scored.
                if commands[index].id.0 != event.id {
                    continue;
                }
                match event.refused {
                    true => {
                        self.report.events += 1;
                        self.report.refused_attempts += 1;
                        self.not_through.insert(event.id, false);
                    }
                    false => self.score(event, outcome),
                }
            }
        }
        self.pending = pending;
        self.pending.clear();
        self.commands = commands;
        Ok(())
    }

    fn score(&mut self, event: &Event, outcome: model::Outcome) {
        let report = &mut self.report;
        report.events += 1;
        let decision = self.engine.last_decision();
        let kind = decision.map(|decision| decision.kind);
        if let Some(kind) = kind {
            *self.decisions.entry(kind).or_default() += 1;
        }
        let stopped_by_action = matches!(outcome, Err(Rejection::CreditFrozen | Rejection::InsufficientCredit))
            && event
                .actor()
                .and_then(|user| self.engine.user(UserId(user)))
                .is_some_and(|user| user.risk.frozen_by_risk || user.risk.cut_from_limit_minor.is_some());
        let stopped_earlier = self.starved.explains(event, outcome);
        let decided = matches!(kind, Some(DecisionKind::Challenge | DecisionKind::Review | DecisionKind::Deny));
        let caught = decided || outcome == Err(Rejection::RiskDenied) || stopped_by_action || stopped_earlier;
        if caught {
            self.starved.note(event, kind == Some(DecisionKind::Review));
        }
        if caught || outcome.is_err() {
            self.not_through.insert(event.id, caught);
        }
        let day = (event.time_ms.saturating_sub(self.start_ms) / 86_400_000) as usize;
        if report.days.len() <= day {
            report.days.resize_with(day + 1, Day::default);
            report.days[day].day = day as u64;
        }
        match kind {
            Some(DecisionKind::Challenge) => report.days[day].challenge += 1,
            Some(DecisionKind::Review) => report.days[day].review += 1,
            Some(DecisionKind::Deny) => report.days[day].deny += 1,
            _ => {}
        }
        let honest = event.label.as_deref() == Some(HONEST);
        if !caught && !honest && event.label.is_some() && outcome.is_err() {
            // The ledger refused a scheme's step on its own (the line used up, money that never
            // came): it moved nothing, so it is neither caught nor missed.
            report.refused_positives += 1;
            return;
        }
        for fired in decision.iter().flat_map(|decision| &decision.fired) {
            let entry = self.rules_seen.entry(fired.rule.clone()).or_default();
            entry.hits += 1;
            entry.false_positives += u64::from(honest);
        }
        score_event(report, event, caught, decision);
        self.follow_actor(event, caught);
    }

    /// An event not applied because the step it needs did not go through (see
    /// [`Evaluation::stopped_upstream`]); it passes the same fate on to steps needing it.
    fn skip(&mut self, event: &Event, by_risk: bool) {
        self.not_through.insert(event.id, by_risk);
        self.report.events += 1;
        self.report.stopped_upstream += 1;
        let positive = event.label.as_deref().is_some_and(|label| label != HONEST);
        if !by_risk && positive {
            self.report.refused_positives += 1;
            return;
        }
        if by_risk {
            self.starved.note(event, false);
        }
        score_event(&mut self.report, event, by_risk, None);
        self.follow_actor(event, by_risk);
    }

    /// Follows the event's actor: an honest user's friction, an abusing account's first catch.
    fn follow_actor(&mut self, event: &Event, caught: bool) {
        match (event.label.as_deref(), event.actor()) {
            (Some(HONEST), Some(actor)) => {
                self.honest_users.insert(actor);
                if caught {
                    self.bothered.insert(actor);
                }
            }
            (Some(typology), Some(actor)) => {
                // The label is allocated once per typology, not once per event.
                if !self.abusers.contains_key(typology) {
                    self.abusers.insert(typology.to_owned(), BTreeMap::new());
                }
                let accounts = self.abusers.get_mut(typology).expect("inserted above");
                let abuser = accounts.entry(actor).or_insert(Abuser {
                    first_ms: event.time_ms,
                    caught_ms: None,
                    moved_before_minor: 0,
                });
                match (abuser.caught_ms, caught) {
                    (None, true) => abuser.caught_ms = Some(event.time_ms),
                    (None, false) => abuser.moved_before_minor += event.amount_minor(),
                    (Some(_), _) => {}
                }
            }
            _ => {}
        }
    }

    /// Applies what is still gathered and returns the evaluation of everything fed.
    pub fn finish(mut self) -> Result<Evaluation, EventError> {
        self.apply_pending()?;
        let mut report = self.report;
        report.overall.finish();
        report.labels.values_mut().for_each(Score::finish);
        report.decisions = self.decisions.into_iter().map(|(kind, count)| (kind.name().to_owned(), count)).collect();
        report.honest_users = self.honest_users.len() as u64;
        report.honest_users_with_friction = self.bothered.len() as u64;
        report.honest_friction_share = share(self.bothered.len(), self.honest_users.len());
        let abusing: IdSet = self.abusers.values().flat_map(|accounts| accounts.keys().copied()).collect();
        let pure = |set: &IdSet| set.iter().filter(|user| !abusing.contains(user)).count();
        report.pure_honest_friction_share = share(pure(&self.bothered), pure(&self.honest_users));
        let taken_over = self.abusers.get(Typology::AccountTakeover.name());
        let victims =
            |set: &IdSet| set.iter().filter(|user| taken_over.is_some_and(|taken| taken.contains_key(user))).count();
        report.victims = victims(&self.honest_users) as u64;
        report.victim_friction_share = share(victims(&self.bothered), victims(&self.honest_users));
        for (typology, accounts) in &self.abusers {
            let mut times: Vec<u64> =
                accounts.values().filter_map(|abuser| Some(abuser.caught_ms? - abuser.first_ms)).collect();
            times.sort_unstable();
            report.accounts.insert(
                typology.clone(),
                AccountScore {
                    accounts: accounts.len() as u64,
                    caught: times.len() as u64,
                    moved_before_catch_minor: accounts.values().map(|abuser| abuser.moved_before_minor).sum(),
                    median_time_to_catch_ms: times.get(times.len() / 2).copied(),
                },
            );
        }
        let mut rules: Vec<RuleHits> =
            self.rules_seen.into_iter().map(|(rule, hits)| RuleHits { rule, ..hits }).collect();
        rules.sort_by(|left, right| right.hits.cmp(&left.hits).then(left.rule.cmp(&right.rule)));
        report.rules = rules;
        report.events_per_sec = report.events as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        report.state_hash = format!("{:016x}", self.engine.state_hash());
        Ok(report)
    }
}

/// Runs events through an [`Evaluator`]; `progress` is called with the number of events done,
/// now and then.
pub fn evaluate(
    events: impl Iterator<Item = Result<(usize, Event), EventError>>,
    product: Product,
    rules: RuleSet,
    progress: &mut dyn FnMut(u64),
) -> Result<Evaluation, EventError> {
    let mut evaluator = Evaluator::new(product, rules);
    for item in events {
        let (line, event) = item?;
        evaluator.feed(line, event)?;
        if evaluator.events().is_multiple_of(65_536) {
            progress(evaluator.events());
        }
    }
    evaluator.finish()
}

/// What earlier risk decisions took away: credit held by a review, and money that never arrived
/// because the event sending it was stopped. A later refusal for lack of exactly that is the
/// risk engine's doing, not the ledger's.
#[derive(Default)]
struct Starved {
    /// Users whose credit a review holds, until when.
    credit_held_until: BTreeMap<u64, u64>,
    /// Accounts whose incoming payment or transfer was stopped, until when.
    inflow_stopped_until: BTreeMap<Party, u64>,
}

/// A stopped inflow explains a lack of funds for a week.
const INFLOW_MS: u64 = 7 * 86_400_000;

impl Starved {
    /// Records what a stopped event takes away.
    fn note(&mut self, event: &Event, held: bool) {
        match &event.body {
            Body::Pay { user, merchant, .. } | Body::Authorize { user, merchant, .. } => {
                if held {
                    self.credit_held_until.insert(*user, event.time_ms + CASE_HOLD_MS);
                }
                self.inflow_stopped_until.insert(Party::Merchant(MerchantId(*merchant)), event.time_ms + INFLOW_MS);
            }
            Body::Transfer { to, .. }
            | Body::MerchantTransfer { to, .. }
            | Body::TopUp { user: to, agent: Some(_), .. } => {
                self.inflow_stopped_until.insert(Party::User(UserId(*to)), event.time_ms + INFLOW_MS);
            }
            Body::MerchantToMerchant { to_merchant: to, .. } | Body::CashOut { agent: Some(to), .. } => {
                self.inflow_stopped_until.insert(Party::Merchant(MerchantId(*to)), event.time_ms + INFLOW_MS);
            }
            _ => {}
        }
    }

    /// Whether the event's refusal is for lack of what an earlier risk decision took away.
    fn explains(&self, event: &Event, outcome: model::Outcome) -> bool {
        let live = |until: Option<&u64>| until.is_some_and(|until| event.time_ms < *until);
        match (outcome, event.party()) {
            (Err(Rejection::InsufficientCredit), Some(Party::User(user))) => live(self.credit_held_until.get(&user.0)),
            (Err(Rejection::InsufficientBalance | Rejection::InsufficientMerchantFunds), Some(party)) => {
                live(self.inflow_stopped_until.get(&party))
            }
            _ => false,
        }
    }
}

/// `part / whole`, 0 for an empty whole.
fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

fn install(engine: &mut Engine, time_ms: u64, product: Product, rules: RuleSet) {
    // Ids far above any event id: they cannot collide with the file's.
    let setup = [
        CommandKind::InstallProduct(kind::InstallProduct { product: Box::new(product), effective_at_ms: None }),
        CommandKind::InstallRules(kind::InstallRules { rules: Box::new(rules) }),
    ];
    for (index, kind) in setup.into_iter().enumerate() {
        let command = Command {
            id: CommandId(u64::MAX - index as u64),
            time_ms,
            actor: ActorId::SERVER,
            initiator: Initiator::Platform,
            kind,
        };
        let outcome = engine.apply(&command, 0, &mut Vec::new());
        assert!(outcome.is_ok(), "the product and rules were validated before: {outcome:?}");
    }
}

fn score_event(report: &mut Evaluation, event: &Event, caught: bool, decision: Option<&model::risk::Decision>) {
    match event.label.as_deref() {
        None => {}
        Some(HONEST) if caught => {
            report.overall.fp += 1;
            let typologies: BTreeSet<Typology> = decision
                .iter()
                .flat_map(|decision| decision.reasons.iter())
                .filter_map(|reason| typology_of_reason(reason))
                .collect();
            for typology in typologies {
                report.labels.entry(typology.name().to_owned()).or_default().fp += 1;
            }
        }
        Some(HONEST) => {}
        Some(typology) => {
            let score = report.labels.entry(typology.to_owned()).or_default();
            report.positive_minor += event.amount_minor();
            if caught {
                score.tp += 1;
                report.overall.tp += 1;
                report.caught_minor += event.amount_minor();
            } else {
                score.fn_ += 1;
                report.overall.fn_ += 1;
            }
        }
    }
}
