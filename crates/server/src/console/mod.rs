//! The risk analyst's console at `/console`, served by the API's own process: server-rendered
//! HTML (`maud`) with its stylesheet and a small script embedded in the binary (no CDN, works
//! offline; ADR 0019).
//!
//! - `session`: sign-in with an API key, the session cookie, CSRF tokens;
//! - `decisions`: the decisions explorer and inspector, over the read model;
//! - `rules`: the rules in force, the candidate editor and its backtest;
//! - `pages`: the markup of each page.
//!
//! Every action goes through the same command path as the API (`routes::submit_one`), so it is
//! journaled with the acting key and checked against the same roles.

mod decisions;
mod pages;
pub use decisions::ExplorerQuery;
pub mod rules;
pub mod session;

use crate::access::{ANALYSTS, READERS};
use crate::auth::{Denied, Role};
use crate::listener::ClientAddress;
use crate::routes::{AppState, submit_one};
use crate::wire::{AssignCaseRequest, CaseView, CommandRequest, DecideCaseRequest};
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use model::risk::{Case, CaseStatus, Held, Label, Party, Typology};
use model::{CommandId, MerchantId};
use serde::Deserialize;
use session::{LOGIN_COOKIE, LOGIN_TTL, SESSION_COOKIE, SESSION_TTL, SignedIn, cookie, refused, set_cookie};
use std::time::Duration;

/// Cases a queue page lists.
const PAGE_ROWS: usize = 50;
/// Cases a queue page examines at most for its filters before it offers the next page: a
/// filter that matches rarely pages through the cases instead of holding the writer.
const SCAN_MAX: usize = 20_000;
/// How long a case may wait for an analyst before the queue flags it.
pub const REVIEW_SLA_MS: u64 = 4 * 60 * 60 * 1000;

/// The console's routes (their own authentication: the session cookie).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/cases") }))
        .route("/console/login", get(login_form).post(login))
        .route("/console/logout", post(logout))
        .route("/console/cases", get(queue))
        .route("/console/cases/{case_id}", get(case_page))
        .route("/console/cases/next", get(next_case))
        .route("/console/cases/{case_id}/decision", post(decide))
        .route("/console/cases/{case_id}/assignment", post(assign))
        .route("/console/decisions", get(decisions::explorer))
        .route("/console/decisions/{sequence}", get(decisions::inspector))
        .route("/console/rules", get(rules::page).post(rules::propose))
        .route("/console/rules/proposals/{proposal}/approval", post(rules::approve))
        .route("/console/rules/backtests", post(rules::backtest))
        .route("/console/rules/backtests/{number}", get(rules::backtest_page))
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/assets/console.js", get(script))
        .layer(middleware::from_fn(page_headers))
}

/// Headers every console response carries: nothing but this origin's own assets run or load,
/// no framing, no sniffing, no caching of pages that show accounts.
async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/console.css"))
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("assets/console.js"))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let headers = [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")];
    (headers, body).into_response()
}

/// The sign-in form, with a fresh double-submit CSRF token in its own cookie.
async fn login_form() -> Response {
    login_page(StatusCode::OK, None)
}

fn login_page(status: StatusCode, error: Option<&str>) -> Response {
    let Ok(token) = crate::auth::random_hex(32) else {
        return refused(StatusCode::SERVICE_UNAVAILABLE, "no_randomness", "the server has no randomness; retry");
    };
    let cookie = set_cookie(LOGIN_COOKIE, &token, "/console/login", LOGIN_TTL);
    (status, [(header::SET_COOKIE, cookie)], pages::login(&token, error)).into_response()
}

/// The sign-in form's fields.
#[derive(Deserialize)]
struct LoginForm {
    key: String,
    /// Missing is refused as a mismatch (403), not as a malformed form.
    #[serde(default)]
    csrf_token: String,
}

/// Signs a key in: any role but a merchant's, through the API's own authentication (its
/// failure throttling and rate included).
async fn login(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddress>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::same_token(expected, &form.csrf_token) {
        return session::csrf_refused();
    }
    let client =
        client.map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |Extension(client)| client.0.ip());
    let principal = match state.keys.authenticate(form.key.trim(), client) {
        Ok(principal) => principal,
        Err(Denied::Unauthenticated) => {
            return login_page(StatusCode::UNAUTHORIZED, Some("That key is unknown or revoked."));
        }
        Err(Denied::RateLimited(seconds) | Denied::FailuresThrottled(seconds)) => {
            let message = format!("Too many attempts: wait {seconds} s and try again.");
            return login_page(StatusCode::TOO_MANY_REQUESTS, Some(&message));
        }
    };
    if principal.role == Role::Merchant {
        return login_page(StatusCode::FORBIDDEN, Some("A merchant key cannot sign in to the console."));
    }
    let Ok(token) = state.sessions.open(principal) else {
        return refused(StatusCode::SERVICE_UNAVAILABLE, "no_randomness", "the server has no randomness; retry");
    };
    let mut response = Redirect::to("/console/cases").into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &token, "/console", SESSION_TTL));
    headers.append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", "/console/login", Duration::ZERO));
    response
}

/// A form that carries only its CSRF token.
#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

async fn logout(State(state): State<AppState>, signed: SignedIn, Form(form): Form<CsrfForm>) -> Response {
    if !signed.csrf_ok(&form.csrf_token) {
        return session::csrf_refused();
    }
    state.sessions.close(&signed.token);
    let mut response = Redirect::to("/console/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", "/console", Duration::ZERO));
    response
}

/// The queue's filters, as the filter form sends them (empty fields are no filter).
#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    /// `open` (the default), `approved`, `rejected` or `all`.
    pub status: Option<String>,
    /// A reason code the decision gave.
    pub reason: Option<String>,
    /// A rule that fired (active or shadow).
    pub rule: Option<String>,
    /// The merchant concerned.
    pub merchant: Option<String>,
    /// Least held amount, minor units.
    pub min_amount: Option<String>,
    /// Only cases open at least this many hours.
    pub min_age_hours: Option<String>,
    /// `none` for unassigned cases, `me` for the signed-in key's.
    pub assignee: Option<String>,
    /// The last case id of the previous page.
    pub after: Option<String>,
}

/// The queue's filters, parsed.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    status: Option<CaseStatus>,
    reason: Option<String>,
    rule: Option<String>,
    merchant: Option<MerchantId>,
    min_amount: Option<u64>,
    min_age_ms: Option<u64>,
    /// `Some(None)`: unassigned only; `Some(Some(key))`: that key's.
    assignee: Option<Option<model::ActorId>>,
    after: u64,
}

fn number(field: &str, value: Option<&str>) -> Result<Option<u64>, String> {
    match value.map(str::trim).filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| format!("{field} must be a whole number, got {text:?}")),
    }
}

fn text(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|value| !value.is_empty()).map(str::to_owned)
}

impl QueueQuery {
    /// The filters, with `me` meaning `actor`; a message naming the bad field otherwise.
    pub fn parse(&self, actor: model::ActorId) -> Result<Filters, String> {
        let status = match self.status.as_deref().map(str::trim) {
            None | Some("") | Some("open") => Some(CaseStatus::Open),
            Some("approved") => Some(CaseStatus::Approved),
            Some("rejected") => Some(CaseStatus::Rejected),
            Some("all") => None,
            Some(other) => return Err(format!("status must be open, approved, rejected or all, got {other:?}")),
        };
        let hours = number("min_age_hours", self.min_age_hours.as_deref())?;
        let assignee = match self.assignee.as_deref().map(str::trim) {
            None | Some("") | Some("any") => None,
            Some("none") => Some(None),
            Some("me") => Some(Some(actor)),
            Some(other) => return Err(format!("assignee must be any, none or me, got {other:?}")),
        };
        Ok(Filters {
            status,
            reason: text(self.reason.as_deref()),
            rule: text(self.rule.as_deref()),
            merchant: number("merchant", self.merchant.as_deref())?.map(MerchantId),
            min_amount: number("min_amount", self.min_amount.as_deref())?,
            min_age_ms: hours.map(|hours| hours.saturating_mul(3_600_000)),
            assignee,
            after: number("after", self.after.as_deref())?.unwrap_or(0),
        })
    }
}

/// One case as the queue lists it.
pub struct Row {
    id: CommandId,
    view: CaseView,
    merchant: Option<MerchantId>,
    amount_minor: Option<u64>,
    age_ms: u64,
}

/// A queue page: its rows, where the next starts, and the engine's time.
pub struct QueuePage {
    rows: Vec<Row>,
    next_after: Option<u64>,
    now_ms: u64,
}

/// The merchant a case concerns: the held payment's or authorization's, or the party.
fn case_merchant(case: &Case) -> Option<MerchantId> {
    match (&case.held, case.party) {
        (Held::Payment { merchant } | Held::Authorization { merchant }, _) => Some(*merchant),
        (_, Party::Merchant(merchant)) => Some(merchant),
        _ => None,
    }
}

/// What the case holds, in minor units: a hold's amount while it lives, or what the parked
/// command moves.
fn held_amount(engine: &engine::Engine, id: CommandId, case: &Case) -> Option<u64> {
    match &case.held {
        Held::Payment { .. } | Held::Authorization { .. } => {
            engine.authorization(id).map(|hold| hold.funding.credit_minor + hold.funding.balance_minor)
        }
        Held::Parked(kind) => crate::named::amount_minor(kind),
        Held::Nothing => None,
    }
}

fn matches(filters: &Filters, case: &Case, merchant: Option<MerchantId>, amount: Option<u64>, age_ms: u64) -> bool {
    filters.status.is_none_or(|status| case.status == status)
        && filters.reason.as_ref().is_none_or(|reason| case.decision.reasons.contains(reason))
        && filters.rule.as_ref().is_none_or(|rule| case.decision.fired.iter().any(|fired| &fired.rule == rule))
        && filters.merchant.is_none_or(|wanted| merchant == Some(wanted))
        && filters.min_amount.is_none_or(|least| amount.is_some_and(|amount| amount >= least))
        && filters.min_age_ms.is_none_or(|least| age_ms >= least)
        && filters.assignee.is_none_or(|assignee| case.assigned_to == assignee)
}

impl QueuePage {
    /// How many cases the page lists.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it lists none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Reads a queue page from the engine, in case-id order after the cursor (what
/// `/console/cases` renders; public for the console bench).
pub fn read_queue(engine: &engine::Engine, filters: &Filters) -> QueuePage {
    let now_ms = engine.now_ms();
    let mut rows = Vec::new();
    let mut last = None;
    for (examined, (id, case)) in engine.cases_after(CommandId(filters.after)).enumerate() {
        if rows.len() == PAGE_ROWS || examined == SCAN_MAX {
            return QueuePage { rows, next_after: last, now_ms };
        }
        last = Some(id.0);
        let merchant = case_merchant(case);
        let amount_minor = held_amount(engine, id, case);
        let age_ms = now_ms.saturating_sub(case.opened_at_ms);
        if matches(filters, case, merchant, amount_minor, age_ms) {
            rows.push(Row { id, view: CaseView::new(id, case), merchant, amount_minor, age_ms });
        }
    }
    QueuePage { rows, next_after: None, now_ms }
}

async fn queue(State(state): State<AppState>, signed: SignedIn, Query(query): Query<QueueQuery>) -> Response {
    if !READERS.contains(&signed.session.principal.role) {
        return refused(StatusCode::FORBIDDEN, "forbidden", "this key's role may not read cases");
    }
    let filters = match query.parse(signed.session.principal.actor) {
        Ok(filters) => filters,
        Err(message) => return refused(StatusCode::BAD_REQUEST, "invalid_filter", &message),
    };
    let read = filters.clone();
    match state.writer.read(move |engine| read_queue(engine, &read)).await {
        Ok(page) => pages::queue(&signed.session, &query, &page).into_response(),
        Err(_) => refused(StatusCode::SERVICE_UNAVAILABLE, "stopping", "the server is stopping; retry"),
    }
}

/// Opens the first open case no one works (in case-id order), or the queue when none is left.
async fn next_case(State(state): State<AppState>, signed: SignedIn) -> Response {
    if !READERS.contains(&signed.session.principal.role) {
        return refused(StatusCode::FORBIDDEN, "forbidden", "this key's role may not read cases");
    }
    let filters = Filters { status: Some(CaseStatus::Open), assignee: Some(None), ..Filters::default() };
    match state.writer.read(move |engine| read_queue(engine, &filters).rows.first().map(|row| row.id)).await {
        Ok(Some(id)) => Redirect::to(&format!("/console/cases/{}", id.0)).into_response(),
        Ok(None) => Redirect::to("/console/cases?assignee=none").into_response(),
        Err(_) => refused(StatusCode::SERVICE_UNAVAILABLE, "stopping", "the server is stopping; retry"),
    }
}

/// The assignment form's fields.
#[derive(Deserialize)]
struct AssignmentForm {
    #[serde(default)]
    csrf_token: String,
    /// Fixed when the page rendered.
    command_id: u64,
    /// `me`, a key id, or empty to give the case back.
    #[serde(default)]
    key_id: String,
}

/// Claims, assigns or gives back a case, as `POST /v1/case-assignments` does.
async fn assign(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(case_id): Path<String>,
    Form(form): Form<AssignmentForm>,
) -> Response {
    if !signed.csrf_ok(&form.csrf_token) {
        return session::csrf_refused();
    }
    let Ok(id) = case_id.parse::<u64>() else {
        return refused(StatusCode::BAD_REQUEST, "invalid_id", "a case id is a whole number");
    };
    let principal = &signed.session.principal;
    let key_id = match form.key_id.trim() {
        "" => None,
        "me" => Some(principal.key_id.clone()),
        other => Some(other.to_owned()),
    };
    let request = CommandRequest::AssignCase(AssignCaseRequest { command_id: form.command_id, case_id: id, key_id });
    match submit_one(&state, principal, request).await {
        Ok(_) => Redirect::to(&format!("/console/cases/{id}")).into_response(),
        Err(error) => {
            let message = format!("{}: {}", error.body.code, error.body.message);
            show_case(&state, &signed, &case_id, error.status, Some(&message)).await
        }
    }
}

/// What the case page shows: the case, the user's accounts, the held amount.
pub struct CaseDetail {
    view: CaseView,
    held_amount: Option<u64>,
    user: Option<UserSummary>,
    now_ms: u64,
}

/// The user 360: the accounts, the score and the risk actions in force.
pub struct UserSummary {
    account: engine::UserAccount,
    score: u16,
    actions: Vec<String>,
}

fn read_case(engine: &engine::Engine, id: CommandId) -> Option<CaseDetail> {
    let case = engine.case(id)?;
    let user = match case.party {
        Party::User(user) => engine.user(user).map(|user| UserSummary {
            account: user.account.clone(),
            score: user.credit.score.score,
            actions: user.risk.actions_in_force().map(|(action, _)| format!("{action:?}")).collect(),
        }),
        Party::Merchant(_) => None,
    };
    Some(CaseDetail {
        view: CaseView::new(id, case),
        held_amount: held_amount(engine, id, case),
        user,
        now_ms: engine.now_ms(),
    })
}

async fn case_page(State(state): State<AppState>, signed: SignedIn, Path(case_id): Path<String>) -> Response {
    show_case(&state, &signed, &case_id, StatusCode::OK, None).await
}

async fn show_case(
    state: &AppState,
    signed: &SignedIn,
    case_id: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    if !READERS.contains(&signed.session.principal.role) {
        return refused(StatusCode::FORBIDDEN, "forbidden", "this key's role may not read cases");
    }
    let Ok(id) = case_id.parse::<u64>() else {
        return refused(StatusCode::BAD_REQUEST, "invalid_id", "a case id is a whole number");
    };
    let detail = match state.writer.read(move |engine| read_case(engine, CommandId(id))).await {
        Ok(Some(detail)) => detail,
        Ok(None) => return refused(StatusCode::NOT_FOUND, "unknown_case", "no case has this id"),
        Err(_) => return refused(StatusCode::SERVICE_UNAVAILABLE, "stopping", "the server is stopping; retry"),
    };
    let Some(command_id) = fresh_command_id() else {
        return refused(StatusCode::SERVICE_UNAVAILABLE, "no_randomness", "the server has no randomness; retry");
    };
    let may_decide = ANALYSTS.contains(&signed.session.principal.role);
    (status, pages::case(&signed.session, &detail, may_decide, command_id, error)).into_response()
}

/// A random command id for a form, fixed when the page renders so that posting the form twice
/// acts once: positive and within the API's int64 ids; `None` without randomness.
fn fresh_command_id() -> Option<u64> {
    let hex = crate::auth::random_hex(8).ok()?;
    u64::from_str_radix(&hex, 16).ok().map(|id| (id & i64::MAX as u64).max(1))
}

/// The verdict form's fields.
#[derive(Deserialize)]
struct DecisionForm {
    #[serde(default)]
    csrf_token: String,
    /// The command's idempotency key, fixed when the page rendered: a form posted twice
    /// decides once.
    command_id: u64,
    /// `approve` or `reject`.
    verdict: String,
    /// `not_fraud` or a typology's name.
    label: String,
}

fn label_of(name: &str) -> Option<Label> {
    match name {
        "not_fraud" => Some(Label::NotFraud),
        other => Typology::SCHEMES
            .into_iter()
            .chain([Typology::Other])
            .find(|typology| typology.name() == other)
            .map(Label::Fraud),
    }
}

/// An analyst's verdict, sent as a `DecideCase` command like `POST /v1/case-decisions`.
async fn decide(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(case_id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    if !signed.csrf_ok(&form.csrf_token) {
        return session::csrf_refused();
    }
    let principal = &signed.session.principal;
    if !ANALYSTS.contains(&principal.role) {
        return refused(StatusCode::FORBIDDEN, "forbidden", "only analysts and admins decide cases");
    }
    let approve = match form.verdict.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return refused(
                StatusCode::BAD_REQUEST,
                "invalid_verdict",
                &format!("verdict must be approve or reject, got {other:?}"),
            );
        }
    };
    let Some(label) = label_of(&form.label) else {
        return refused(StatusCode::BAD_REQUEST, "invalid_label", "label must be not_fraud or a typology");
    };
    let Ok(id) = case_id.parse::<u64>() else {
        return refused(StatusCode::BAD_REQUEST, "invalid_id", "a case id is a whole number");
    };
    let request =
        CommandRequest::DecideCase(DecideCaseRequest { command_id: form.command_id, case_id: id, approve, label });
    match submit_one(&state, principal, request).await {
        Ok(_) => Redirect::to(&format!("/console/cases/{id}")).into_response(),
        Err(error) => {
            let message = format!("{}: {}", error.body.code, error.body.message);
            show_case(&state, &signed, &case_id, error.status, Some(&message)).await
        }
    }
}
