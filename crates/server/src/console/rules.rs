//! The console's rules page: the rules in force and their history, a candidate edited in the
//! browser and checked with its errors on their line, and a backtest of the candidate over the
//! real journal that runs in the background and shows its progress.

use super::pages;
use super::session::{self, SignedIn, refused};
use crate::access::READERS;
use crate::auth::Role;
use crate::backtest::{self, ReplayReport};
use crate::routes::{AppState, submit_one};
use crate::wire::{ApproveRulesRequest, CommandRequest, InstallRulesRequest};
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use model::CommandId;
use model::risk::{Proposal, RuleSet};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Backtests kept (running or finished); starting one past it drops the oldest finished.
const BACKTESTS_KEPT: usize = 16;
/// Changed events a backtest lists.
const CHANGES_LISTED: usize = 50;

/// One backtest: who started it, its progress, its report once done.
pub struct Backtest {
    /// The key that started it (only admins see backtests).
    pub started_by: String,
    /// The candidate's version.
    pub version: u32,
    /// Commands replayed so far.
    pub done: AtomicU64,
    /// Commands to replay.
    pub total: AtomicU64,
    /// The report, or why it failed; `None` while it runs.
    pub result: Mutex<Option<Result<ReplayReport, String>>>,
}

impl Backtest {
    fn finished(&self) -> bool {
        self.result.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).is_some()
    }
}

/// The backtests the console started, by number. One runs at a time: each replays the whole
/// journal twice, on a core of its own.
#[derive(Default)]
pub struct Backtests {
    jobs: Mutex<(u64, BTreeMap<u64, Arc<Backtest>>)>,
}

impl Backtests {
    /// Registers a new backtest; `None` while another runs.
    fn start(&self, started_by: String, version: u32) -> Option<(u64, Arc<Backtest>)> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if jobs.1.values().any(|job| !job.finished()) {
            return None;
        }
        while jobs.1.len() >= BACKTESTS_KEPT {
            let oldest = *jobs.1.keys().next().expect("not empty");
            jobs.1.remove(&oldest);
        }
        jobs.0 += 1;
        let number = jobs.0;
        let job = Arc::new(Backtest {
            started_by,
            version,
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            result: Mutex::new(None),
        });
        jobs.1.insert(number, job.clone());
        Some((number, job))
    }

    fn get(&self, number: u64) -> Option<Arc<Backtest>> {
        self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).1.get(&number).cloned()
    }
}

/// The rules in force, their history and, for admins, the editor.
pub async fn page(State(state): State<AppState>, signed: SignedIn) -> Response {
    show(&state, &signed, None, StatusCode::OK).await
}

/// What the editor posted back to show again, with its errors.
pub struct Draft {
    /// The candidate's text.
    pub toml: String,
    /// The error, its line (1-based) and message.
    pub error: Option<(usize, String)>,
    /// A refused proposal or approval: its code and message.
    pub refusal: Option<String>,
}

/// What the rules page shows from the engine.
pub struct InForce {
    /// The rules in force.
    pub rules: Option<RuleSet>,
    /// Proposals waiting for approval, with the proposer's key id.
    pub proposals: Vec<(CommandId, Proposal)>,
    /// The engine's time, ms.
    pub now_ms: u64,
}

async fn show(state: &AppState, signed: &SignedIn, draft: Option<Draft>, status: StatusCode) -> Response {
    if !READERS.contains(&signed.session.principal.role) {
        return refused(StatusCode::FORBIDDEN, "forbidden", "this key's role may not read rules");
    }
    let read = state.writer.read(|engine| InForce {
        rules: engine.rules().cloned(),
        proposals: engine.rule_proposals().iter().map(|(id, proposal)| (*id, proposal.clone())).collect(),
        now_ms: engine.now_ms(),
    });
    let in_force = match read.await {
        Ok(in_force) => in_force,
        Err(_) => return refused(StatusCode::SERVICE_UNAVAILABLE, "stopping", "the server is stopping; retry"),
    };
    let history = match state.read_model.rules_history(20) {
        Ok(history) => history,
        Err(error) => return refused(StatusCode::SERVICE_UNAVAILABLE, "read_model", &error.to_string()),
    };
    let draft = draft.unwrap_or_else(|| Draft {
        toml: in_force.rules.as_ref().and_then(|rules| toml::to_string(rules).ok()).unwrap_or_default(),
        error: None,
        refusal: None,
    });
    let is_admin = signed.session.principal.role == Role::Admin;
    let Some(command_id) = super::fresh_command_id() else {
        return refused(StatusCode::SERVICE_UNAVAILABLE, "no_randomness", "the server has no randomness; retry");
    };
    let editor = is_admin.then_some((&draft, command_id));
    (status, pages::rules(&signed.session, &in_force, &history, editor)).into_response()
}

/// The proposal form's fields.
#[derive(Deserialize)]
pub struct ProposalForm {
    #[serde(default)]
    csrf_token: String,
    /// Fixed when the page rendered: a form posted twice proposes once.
    command_id: u64,
    /// The candidate rules file.
    toml: String,
}

/// Proposes the candidate for activation (`POST /v1/rule-proposals`): it waits for a second
/// admin.
pub async fn propose(State(state): State<AppState>, signed: SignedIn, Form(form): Form<ProposalForm>) -> Response {
    if !signed.csrf_ok(&form.csrf_token) {
        return session::csrf_refused();
    }
    let request = InstallRulesRequest { command_id: form.command_id, toml: form.toml.clone() };
    act(&state, &signed, CommandRequest::ProposeRules(request), Some(form.toml)).await
}

/// The approval form's fields.
#[derive(Deserialize)]
pub struct ApprovalForm {
    #[serde(default)]
    csrf_token: String,
    /// Fixed when the page rendered.
    command_id: u64,
}

/// Approves another admin's proposal (`POST /v1/rule-approvals`): it is installed now.
pub async fn approve(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(proposal): Path<String>,
    Form(form): Form<ApprovalForm>,
) -> Response {
    if !signed.csrf_ok(&form.csrf_token) {
        return session::csrf_refused();
    }
    let Ok(proposal_id) = proposal.parse() else {
        return refused(StatusCode::BAD_REQUEST, "invalid_id", "a proposal id is a whole number");
    };
    let request = ApproveRulesRequest { command_id: form.command_id, proposal_id };
    act(&state, &signed, CommandRequest::ApproveRules(request), None).await
}

/// Sends a rules command as the API would (its role check included) and shows the rules page
/// again, with the refusal if there was one.
async fn act(state: &AppState, signed: &SignedIn, request: CommandRequest, toml: Option<String>) -> Response {
    match submit_one(state, &signed.session.principal, request).await {
        Ok(_) => Redirect::to("/console/rules").into_response(),
        Err(error) => {
            let refusal = Some(format!("{}: {}", error.body.code, error.body.message));
            let draft = toml.map(|toml| Draft { toml, error: None, refusal: refusal.clone() });
            let draft = draft
                .or_else(|| refusal.map(|refusal| Draft { toml: String::new(), error: None, refusal: Some(refusal) }));
            show(state, signed, draft, error.status).await
        }
    }
}

/// The editor's form.
#[derive(Deserialize)]
pub struct CandidateForm {
    #[serde(default)]
    csrf_token: String,
    /// The candidate rules file.
    toml: String,
}

/// Checks a candidate and, when it is valid, starts its backtest over the journal.
pub async fn backtest(State(state): State<AppState>, signed: SignedIn, Form(form): Form<CandidateForm>) -> Response {
    if !signed.csrf_ok(&form.csrf_token) {
        return session::csrf_refused();
    }
    if signed.session.principal.role != Role::Admin {
        return refused(StatusCode::FORBIDDEN, "forbidden", "only admins edit and backtest rules");
    }
    let candidate = match crate::rules_file::parse(&form.toml, "candidate") {
        Ok(candidate) => candidate,
        Err(crate::rules_file::RulesFileError::Invalid { line, message, .. }) => {
            let draft = Draft { toml: form.toml, error: Some((line, message)), refusal: None };
            return show(&state, &signed, Some(draft), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(other) => return refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_rules", &other.to_string()),
    };
    let Some((number, job)) = state.backtests.start(signed.session.principal.key_id.clone(), candidate.version) else {
        return refused(StatusCode::TOO_MANY_REQUESTS, "backtest_running", "a backtest is running; wait for it");
    };
    // What is durable is what the journal holds for sure; the backtest reads up to there.
    let end = state.progress.durable_end.load(Ordering::Acquire);
    let data_dir = state.data_dir.clone();
    std::thread::spawn(move || {
        let progress = |done: u64, total: u64| {
            job.done.store(done, Ordering::Relaxed);
            job.total.store(total, Ordering::Relaxed);
        };
        let report = backtest::run(&data_dir, end, candidate, CHANGES_LISTED, &progress);
        *job.result.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some(report.map_err(|error| format!("{error:#}")));
    });
    Redirect::to(&format!("/console/rules/backtests/{number}")).into_response()
}

/// A backtest's progress (the page reloads itself while it runs) or its report.
pub async fn backtest_page(State(state): State<AppState>, signed: SignedIn, Path(number): Path<String>) -> Response {
    if signed.session.principal.role != Role::Admin {
        return refused(StatusCode::FORBIDDEN, "forbidden", "only admins edit and backtest rules");
    }
    let Some(job) = number.parse().ok().and_then(|number| state.backtests.get(number)) else {
        return refused(StatusCode::NOT_FOUND, "unknown_backtest", "no backtest has this number (16 are kept)");
    };
    pages::backtest(&signed.session, &job).into_response()
}
