//! HTTP routes: thin handlers that authenticate, validate, forward to the writer and shape
//! replies. No business rule lives here.

use crate::access::{ANALYSTS, READERS};
use crate::auth::{Denied, KeyRing, Principal, Role};
use crate::error::{ApiError, ErrorBody, rejection_status};
use crate::listener::ClientAddress;
use crate::metrics as names;
use crate::projector::{Entry, EntryQuery, ReadModel};
use crate::wire::*;
use crate::writer::{Progress, WriterHandle};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use model::{CommandId, MerchantId, UserId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use utoipa::OpenApi;

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    /// The single writer.
    pub writer: WriterHandle,
    /// API keys.
    pub keys: Arc<KeyRing>,
    /// History queries.
    pub read_model: Arc<ReadModel>,
    /// Journal and projector positions.
    pub progress: Arc<Progress>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Whether this is a sandbox (its clock can be moved; `/healthz` says so).
    pub sandbox: bool,
    /// The console's signed-in sessions.
    pub sessions: Arc<crate::console::session::Sessions>,
    /// The console's backtests.
    pub backtests: Arc<crate::console::rules::Backtests>,
    /// The data directory (backtests read its journal).
    pub data_dir: crate::store::DataDir,
}

/// A JSON object body whose rejections are API errors (400 malformed, 422 invalid — an array
/// where an object belongs, an unknown field —, 415 wrong type).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(is_json_content_type);
        if !is_json {
            let message = "send the body as JSON, with content-type: application/json";
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message));
        }
        let too_large = || {
            let message = format!("the body is larger than {BODY_MAX_BYTES} bytes");
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", message)
        };
        // A declared length over the limit is refused before any of the body is read.
        let declared = request
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > BODY_MAX_BYTES as u64) {
            return Err(too_large());
        }
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|error| match error.status() {
            StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            status => ApiError::new(status, "bad_request", error.body_text()),
        })?;
        if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::invalid("invalid_body", "the body must be a JSON object ({\"field\": value, …})"));
        }
        if let Some(error) = body_integer_out_of_range(&bytes) {
            return Err(error);
        }
        let parsed = match Json::<T>::from_bytes(&bytes) {
            // JSON does not tell `2.0` from `2`, and JSON Schema calls both an integer: a client
            // (or a JavaScript one) may send whole numbers with a fraction. Only then is the body
            // read again with those numbers as integers.
            Err(JsonRejection::JsonDataError(error)) if error.body_text().contains("floating point") => {
                match integral_floats_as_integers(&bytes) {
                    Some(bytes) => Json::<T>::from_bytes(&bytes),
                    None => Err(JsonRejection::JsonDataError(error)),
                }
            }
            other => other,
        };
        match parsed {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonSyntaxError(error)) => {
                Err(ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", error.body_text()))
            }
            Err(JsonRejection::JsonDataError(error)) => Err(ApiError::invalid("invalid_body", error.body_text())),
            Err(error) => Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", error.body_text())),
        }
    }
}

/// The largest request body, in bytes: a full `/v1/batch` of commands fits (about 150 bytes a
/// command); anything larger gets 413 before it is read.
pub const BODY_MAX_BYTES: usize = 2 << 20;

/// The body with every whole-number float (`2.0`) written as an integer (`2`); `None` if it has
/// none or is not JSON.
fn integral_floats_as_integers(bytes: &[u8]) -> Option<Vec<u8>> {
    fn visit(value: &mut serde_json::Value, changed: &mut bool) {
        match value {
            serde_json::Value::Number(number) if number.is_f64() => {
                let float = number.as_f64().expect("an f64 number");
                let integral = float.fract() == 0.0 && float.abs() < 9_007_199_254_740_992.0;
                if integral {
                    *value = serde_json::Value::from(float as i64);
                    *changed = true;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| visit(item, changed)),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(|field| visit(field, changed)),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let mut changed = false;
    visit(&mut value, &mut changed);
    changed.then(|| serde_json::to_vec(&value).expect("a JSON value serializes"))
}

/// The largest integer a request may carry (ADR 0008): the OpenAPI document declares every
/// integer `int64`, as SQLite, PostgreSQL and most clients store them, so ids and amounts are
/// 0 to 2^63−1 although the engine's ids are `u64`.
pub const INTEGER_MAX: u64 = i64::MAX as u64;

/// The error for an integer over [`INTEGER_MAX`], naming where it was.
fn integer_out_of_range(place: &str, value: impl std::fmt::Display) -> ApiError {
    let message = format!("{place} is {value}; integers in a request are at most {INTEGER_MAX} (int64)");
    ApiError::invalid("integer_out_of_range", message)
}

/// The error for the first integer over [`INTEGER_MAX`] in a JSON body, by its path. Such an
/// integer has at least 19 digits, so bodies without a run of 19 digits are not parsed twice.
fn body_integer_out_of_range(bytes: &[u8]) -> Option<ApiError> {
    fn visit(value: &serde_json::Value, path: &mut String) -> Option<ApiError> {
        match value {
            serde_json::Value::Number(number) => {
                let over = match (number.as_u64(), number.as_f64()) {
                    (Some(integer), _) => integer > INTEGER_MAX,
                    (None, Some(float)) => float.fract() == 0.0 && float >= 9_223_372_036_854_775_808.0,
                    (None, None) => false,
                };
                over.then(|| integer_out_of_range(if path.is_empty() { "the body" } else { path }, number))
            }
            serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
                let length = path.len();
                path.push_str(&format!("[{index}]"));
                let found = visit(item, path);
                path.truncate(length);
                found
            }),
            serde_json::Value::Object(fields) => fields.iter().find_map(|(name, field)| {
                let length = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                let found = visit(field, path);
                path.truncate(length);
                found
            }),
            _ => None,
        }
    }
    let has_long_number = bytes.split(|byte| !byte.is_ascii_digit()).any(|digits| digits.len() >= 19);
    if !has_long_number {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    visit(&value, &mut String::new())
}

/// Whether a content type is JSON: `application/json` or `application/*+json`, parameters
/// aside, as axum's own JSON extractor accepts.
fn is_json_content_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Query parameters whose rejections are API errors (422).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T> FromRequestParts<S> for ApiQuery<T>
where
    Query<T>: FromRequestParts<S, Rejection = QueryRejection>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default().as_bytes();
        for (name, value) in form_urlencoded::parse(query) {
            if let Ok(integer) = value.parse::<u128>()
                && integer > u128::from(INTEGER_MAX)
            {
                return Err(integer_out_of_range(&name, integer));
            }
        }
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|error| ApiError::invalid("invalid_query", error.body_text()))
    }
}

fn parse_id(text: &str, what: &str) -> Result<u64, ApiError> {
    let id: u64 = text
        .parse()
        .map_err(|_| ApiError::invalid("invalid_id", format!("{what} must be an unsigned integer, got {text:?}")))?;
    match id <= INTEGER_MAX {
        true => Ok(id),
        false => Err(integer_out_of_range(what, id)),
    }
}

fn require(principal: &Principal, roles: &[Role]) -> Result<(), ApiError> {
    match roles.contains(&principal.role) {
        true => Ok(()),
        false => Err(ApiError::forbidden(format!(
            "key {} ({:?}) may not call this endpoint",
            principal.key_id, principal.role
        ))),
    }
}

pub(crate) async fn submit_one(
    state: &AppState,
    principal: &Principal,
    request: CommandRequest,
) -> Result<Json<CommandResult>, ApiError> {
    request.permit(principal)?;
    let command_id = request.command_id();
    let draft = request.into_draft(principal)?;
    let committed = state.writer.submit(vec![draft]).await?;
    let committed = committed.first().expect("one result per submitted command");
    match (committed.outcome, &committed.decision) {
        (Err(model::Rejection::RiskDenied), _) if principal.role == Role::Merchant => {
            let mut error = ApiError::new(
                rejection_status(model::Rejection::RiskDenied),
                MERCHANT_DECLINED,
                MERCHANT_DECLINED_MESSAGE,
            );
            error.body.sequence = Some(committed.sequence);
            Err(error)
        }
        (Err(rejection @ model::Rejection::RiskDenied), Some(decision)) => {
            let mut error = ApiError::rejected(rejection, committed.sequence);
            error.body.message = format!("{}: {}", error.body.message, decision.reasons.join(", "));
            Err(error)
        }
        (Err(rejection), _) => Err(ApiError::rejected(rejection, committed.sequence)),
        (Ok(_), _) => Ok(Json(CommandResult::for_principal(command_id, committed, principal))),
    }
}

macro_rules! command_endpoint {
    ($name:ident, $path:literal, $body:ty, $variant:ident, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(post, path = $path, tag = "commands", request_body = $body,
            responses(
                (status = 200, description = "Accepted and durable", body = CommandResult),
                (status = 400, description = "Malformed JSON", body = ErrorBody),
                (status = 401, description = "Missing or invalid API key", body = ErrorBody),
                (status = 403, description = "The key's role or merchant scope does not allow this", body = ErrorBody),
                (status = 404, description = "Unknown user, merchant, payment or authorization", body = ErrorBody),
                (status = 409, description = "Refused by the ledger's current state (see code): funds, limits, a freeze, risk, already exists, or the command id was used with another body", body = ErrorBody),
                (status = 422, description = "A body that can never succeed (see code)", body = ErrorBody),
                (status = 503, description = "Overloaded or stopping; nothing acknowledged, retry with the same id", body = ErrorBody),
            ),
            security(("api_key" = [])))]
        async fn $name(
            State(state): State<AppState>,
            Extension(principal): Extension<Principal>,
            ApiJson(body): ApiJson<$body>,
        ) -> Result<Json<CommandResult>, ApiError> {
            submit_one(&state, &principal, CommandRequest::$variant(body)).await
        }
    };
}

command_endpoint!(open_user, "/v1/users", OpenUserRequest, OpenUser, "Open a user (credit line and balance).");
command_endpoint!(open_merchant, "/v1/merchants", OpenMerchantRequest, OpenMerchant, "Open a merchant (admin).");
command_endpoint!(
    set_credit_limit,
    "/v1/credit-limits",
    SetCreditLimitRequest,
    SetCreditLimit,
    "Grant or change a credit line (admin)."
);
command_endpoint!(
    set_credit_frozen,
    "/v1/credit-freezes",
    SetCreditFrozenRequest,
    SetCreditFrozen,
    "Freeze or unfreeze credit use (admin)."
);
command_endpoint!(top_up, "/v1/top-ups", UserAmountRequest, TopUp, "Top up a balance from the user's bank.");
command_endpoint!(pay, "/v1/payments", PayRequest, Pay, "Pay a merchant from credit, balance or a split.");
command_endpoint!(authorize, "/v1/authorizations", AuthorizeRequest, Authorize, "Hold funds for a merchant.");
command_endpoint!(capture, "/v1/captures", CaptureRequest, Capture, "Capture an authorization.");
command_endpoint!(release, "/v1/releases", ReleaseRequest, Release, "Release an authorization.");
command_endpoint!(refund, "/v1/refunds", RefundRequest, Refund, "Refund a payment, credit part to the line first.");
command_endpoint!(transfer, "/v1/transfers", TransferRequest, Transfer, "Transfer balance between users (P2P).");
command_endpoint!(
    withdraw,
    "/v1/withdrawals",
    UserAmountRequest,
    WithdrawToBank,
    "Withdraw balance to the user's bank."
);
command_endpoint!(
    payout,
    "/v1/payouts",
    PayoutRequest,
    PayoutMerchant,
    "Pay a merchant's settlement out to its bank (admin)."
);
command_endpoint!(
    repay,
    "/v1/repayments",
    RepayRequest,
    Repay,
    "Repay used credit: penalties, fees, then oldest principal."
);
command_endpoint!(
    convert_to_instalments,
    "/v1/instalments",
    ConvertToInstalmentsRequest,
    ConvertToInstalments,
    "Convert an unbilled credit purchase into 3/6/9/12 instalments."
);
command_endpoint!(
    pay_off_instalments,
    "/v1/instalment-payoffs",
    PayOffInstalmentsRequest,
    PayOffInstalments,
    "Pay an instalment plan off early; its unbilled fees lapse."
);
command_endpoint!(
    request_withdrawal,
    "/v1/credit-withdrawals",
    RequestWithdrawalRequest,
    RequestWithdrawal,
    "Request an official credit withdrawal to the balance; large ones answer `challenged`."
);
command_endpoint!(
    verify_withdrawal,
    "/v1/credit-withdrawal-verifications",
    VerifyWithdrawalRequest,
    VerifyWithdrawal,
    "Complete a challenged withdrawal after step-up verification."
);
command_endpoint!(
    adjust_score,
    "/v1/score-adjustments",
    AdjustScoreRequest,
    AdjustScore,
    "Move a user's credit score by some points (admin)."
);
command_endpoint!(
    set_score_frozen,
    "/v1/score-freezes",
    SetScoreFrozenRequest,
    SetScoreFrozen,
    "Freeze or unfreeze automatic rescoring (admin)."
);
command_endpoint!(
    repay_statement,
    "/v1/statement-repayments",
    RepayStatementRequest,
    RepayStatement,
    "Pay the bill: everything billed and unpaid, or the rest of the minimum."
);
command_endpoint!(
    convert_statement,
    "/v1/statement-instalments",
    ConvertStatementRequest,
    ConvertStatement,
    "Convert the latest statement's billed principal, before its due date, into instalments."
);
command_endpoint!(
    review_credit_line,
    "/v1/line-reviews",
    ReviewCreditLineRequest,
    ReviewCreditLine,
    "Review a credit line under the product's line policy (admin)."
);
command_endpoint!(
    install_product,
    "/v1/products",
    InstallProductRequest,
    InstallProduct,
    "Install a credit product version from its TOML (admin)."
);

command_endpoint!(
    link_tie,
    "/v1/ties",
    LinkTieRequest,
    LinkTie,
    "Link a device (a login), phone, identity, bank card or payout account to a user or merchant."
);
command_endpoint!(
    install_rules,
    "/v1/rules",
    InstallRulesRequest,
    InstallRules,
    "Install a risk rules file from its TOML (admin); a bad file is refused and the rules in force keep running."
);
command_endpoint!(
    assign_case,
    "/v1/case-assignments",
    AssignCaseRequest,
    AssignCase,
    "Claim an open case for a key, assign it to another, or give it back to the queue (analyst, admin)."
);
command_endpoint!(
    propose_rules,
    "/v1/rule-proposals",
    InstallRulesRequest,
    ProposeRules,
    "Propose a rules file for four-eyes activation (admin): it waits under its command_id until another admin key approves it; the rules in force keep running."
);
command_endpoint!(
    approve_rules,
    "/v1/rule-approvals",
    ApproveRulesRequest,
    ApproveRules,
    "Approve another key's rules proposal (admin): it is installed now if still newer than the rules in force; a proposer cannot approve their own (403 self_approval)."
);
command_endpoint!(
    verify_challenge,
    "/v1/challenge-verifications",
    VerifyChallengeRequest,
    VerifyChallenge,
    "Complete a command the risk engine challenged, after step-up verification."
);
command_endpoint!(
    decide_case,
    "/v1/case-decisions",
    DecideCaseRequest,
    DecideCase,
    "Decide a case (analyst): approve lets the held funds through, reject releases them; labels it."
);
command_endpoint!(
    appeal_case,
    "/v1/appeals",
    AppealCaseRequest,
    AppealCase,
    "Attach a user's appeal (evidence and text) to a case; a decided case reopens."
);
command_endpoint!(
    lift_action,
    "/v1/risk-action-lifts",
    LiftActionRequest,
    LiftAction,
    "Lift a risk account action: unfreeze, restore the line, restore the score, leave the watch-list (analyst)."
);
command_endpoint!(
    grant_mandate,
    "/v1/mandates",
    GrantMandateRequest,
    GrantMandate,
    "Record a user's mandate (免密支付) for a merchant: its own key may then charge the user up to the caps (platform)."
);
command_endpoint!(
    merchant_transfer,
    "/v1/merchant-transfers",
    MerchantTransferRequest,
    MerchantTransfer,
    "Pay a user's balance, or another merchant, from a merchant's settlement account: cashback, a disbursement, a supplier (platform, or the merchant's own key)."
);
command_endpoint!(
    agent_cash_out,
    "/v1/agent-cash-outs",
    AgentCashOutRequest,
    AgentCashOut,
    "Cash out a user's balance at an agent: the balance moves to the agent's settlement account (platform, or the agent's own key)."
);
command_endpoint!(
    record_refused_attempt,
    "/v1/refused-attempts",
    RefusedAttemptRequest,
    RecordRefusedAttempt,
    "Record a user's attempt to move money that another system refused: nothing moves; the risk features see it (platform)."
);
command_endpoint!(
    revoke_mandate,
    "/v1/mandate-revocations",
    RevokeMandateRequest,
    RevokeMandate,
    "Take a user's mandate for a merchant back: the merchant can no longer charge the user (platform)."
);

/// The rules file in force.
#[utoipa::path(get, path = "/v1/rules", tag = "reads",
    responses((status = 200, body = RulesView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_rules(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<RulesView>, ApiError> {
    require(&principal, READERS)?;
    let rules = state.writer.read(|engine| engine.rules().cloned()).await?;
    let rules = rules.ok_or_else(|| ApiError::not_found("no_rules", "no rules file is installed; POST /v1/rules"))?;
    Ok(Json(RulesView { version: rules.version, rules }))
}

/// Filters for the case queue.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CasesParams {
    /// `open`, `approved` or `rejected` (default: all).
    #[param(pattern = "^(open|approved|rejected)$")]
    pub status: Option<String>,
    /// Cases after this case id (paging), ascending.
    pub after_id: Option<u64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The case queue, by case id.
#[utoipa::path(get, path = "/v1/cases", tag = "reads", params(CasesParams),
    responses((status = 200, body = [CaseView]), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_cases(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ApiQuery(params): ApiQuery<CasesParams>,
) -> Result<Json<Vec<CaseView>>, ApiError> {
    require(&principal, READERS)?;
    use model::risk::CaseStatus;
    let status = match params.status.as_deref() {
        None => None,
        Some(name) => match [CaseStatus::Open, CaseStatus::Approved, CaseStatus::Rejected]
            .into_iter()
            .find(|status| status.name() == name)
        {
            Some(status) => Some(status),
            None => {
                let message = format!("status must be open, approved or rejected, got {name:?}");
                return Err(ApiError::invalid("invalid_status", message));
            }
        },
    };
    let limit = page_limit(params.limit)?;
    let after = params.after_id.unwrap_or(0);
    let cases = state
        .writer
        .read(move |engine| {
            // Reads run on the writer thread: start at the cursor, and build views of the page only.
            engine
                .cases_after(CommandId(after))
                .filter(|(_, case)| status.is_none_or(|status| case.status == status))
                .take(limit as usize)
                .map(|(id, case)| CaseView::new(id, case))
                .collect()
        })
        .await?;
    Ok(Json(cases))
}

/// One case with its evidence and appeals.
#[utoipa::path(get, path = "/v1/cases/{case_id}", tag = "reads",
    params(("case_id" = u64, Path, description = "The case (the id of the command it stopped)")),
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_case(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(case_id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    require(&principal, READERS)?;
    let id = CommandId(parse_id(&case_id, "case_id")?);
    let view = state.writer.read(move |engine| engine.case(id).map(|case| CaseView::new(id, case))).await?;
    view.map(Json).ok_or_else(|| ApiError::not_found("unknown_case", "no case has this id"))
}

/// Installed credit product versions, oldest first.
#[utoipa::path(get, path = "/v1/products", tag = "reads",
    responses((status = 200, body = [ProductVersionView])),
    security(("api_key" = [])))]
async fn get_products(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Vec<ProductVersionView>>, ApiError> {
    require(&principal, READERS)?;
    let versions = state
        .writer
        .read(|engine| {
            let versions = engine.products().iter();
            versions
                .map(|(effective_at_ms, product)| ProductVersionView {
                    effective_at_ms: *effective_at_ms,
                    product: product.clone(),
                })
                .collect()
        })
        .await?;
    Ok(Json(versions))
}

/// A user's statements, oldest first.
#[utoipa::path(get, path = "/v1/users/{user_id}/statements", tag = "reads",
    params(("user_id" = u64, Path, description = "The user")),
    responses((status = 200, body = [StatementView]), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_statements(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(user_id): Path<String>,
) -> Result<Json<Vec<StatementView>>, ApiError> {
    read_user(&state, &principal, &user_id, |_, user| {
        user.credit.billing.statements.iter().map(|statement| StatementView::new(user.account.id, statement)).collect()
    })
    .await
}

/// A user's live instalment plans with their remaining schedules.
#[utoipa::path(get, path = "/v1/users/{user_id}/instalments", tag = "reads",
    params(("user_id" = u64, Path, description = "The user")),
    responses((status = 200, body = [InstalmentPlanView]), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_instalments(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(user_id): Path<String>,
) -> Result<Json<Vec<InstalmentPlanView>>, ApiError> {
    read_user(&state, &principal, &user_id, |_, user| {
        user.credit.billing.plans.iter().map(InstalmentPlanView::from).collect()
    })
    .await
}

/// A user's credit score with its band and the reasons that moved it.
#[utoipa::path(get, path = "/v1/users/{user_id}/score", tag = "reads",
    params(("user_id" = u64, Path, description = "The user")),
    responses((status = 200, body = ScoreView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_score(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(user_id): Path<String>,
) -> Result<Json<ScoreView>, ApiError> {
    read_user(&state, &principal, &user_id, |engine, user| ScoreView {
        user_id: user.account.id.0,
        score: user.credit.score.score,
        band: engine.product_at(engine.now_ms()).map(|product| product.band(user.credit.score.score).name.clone()),
        frozen: user.credit.score.frozen,
        adjustment: user.credit.score.adjustment,
        history: user.credit.score.history.iter().map(ScoreChangeView::from).collect(),
    })
    .await
}

/// One statement of a user, by number (1 is the first).
#[utoipa::path(get, path = "/v1/users/{user_id}/statements/{number}", tag = "reads",
    params(("user_id" = u64, Path, description = "The user"), ("number" = u32, Path, description = "Statement number, from 1")),
    responses((status = 200, body = StatementView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_statement(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((user_id, number)): Path<(String, String)>,
) -> Result<Json<StatementView>, ApiError> {
    require(&principal, READERS)?;
    let id = UserId(parse_id(&user_id, "user_id")?);
    let number = parse_id(&number, "number")?;
    let statement = state
        .writer
        .read(move |engine| {
            let statements = &engine.user(id)?.credit.billing.statements;
            let index = usize::try_from(number).ok()?.checked_sub(1)?;
            statements.get(index).map(|statement| StatementView::new(id, statement))
        })
        .await?;
    statement
        .map(Json)
        .ok_or_else(|| ApiError::not_found("unknown_statement", "no statement with this number for this user"))
}

/// Apply up to 10,000 commands in order; each gets its own result (a rejection does not stop
/// the others). All are durable before the reply.
#[utoipa::path(post, path = "/v1/batch", tag = "commands", request_body = BatchRequest,
    responses(
        (status = 200, description = "One result per command", body = BatchResult),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "A command is not allowed for this key (nothing applied)", body = ErrorBody),
        (status = 422, description = "A command is invalid (nothing applied)", body = ErrorBody),
    ),
    security(("api_key" = [])))]
async fn batch(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ApiJson(body): ApiJson<BatchRequest>,
) -> Result<Json<BatchResult>, ApiError> {
    if body.commands.is_empty() || body.commands.len() > BATCH_MAX_COMMANDS {
        let message = format!("a batch holds 1 to {BATCH_MAX_COMMANDS} commands, got {}", body.commands.len());
        return Err(ApiError::invalid("invalid_batch", message));
    }
    let mut ids = Vec::with_capacity(body.commands.len());
    let mut drafts = Vec::with_capacity(body.commands.len());
    for (index, request) in body.commands.into_iter().enumerate() {
        let at = |mut error: ApiError| {
            error.body.message = format!("command {index}: {}", error.body.message);
            error
        };
        request.permit(&principal).map_err(at)?;
        ids.push(request.command_id());
        drafts.push(request.into_draft(&principal).map_err(at)?);
    }
    let committed = state.writer.submit(drafts).await?;
    let results = ids
        .into_iter()
        .zip(committed)
        .map(|(id, committed)| CommandResult::for_principal(id, &committed, &principal))
        .collect();
    Ok(Json(BatchResult { results }))
}

/// A user's credit line and balance, current as of every acknowledged command.
#[utoipa::path(get, path = "/v1/users/{user_id}", tag = "reads",
    params(("user_id" = u64, Path, description = "The user")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(user_id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    read_user(&state, &principal, &user_id, |_, user| UserView::from(user)).await
}

/// Reads something of one user for a reader key; 404 when the user is not open.
async fn read_user<T: Send + 'static>(
    state: &AppState,
    principal: &Principal,
    user_id: &str,
    read: impl FnOnce(&engine::Engine, engine::User<'_>) -> T + Send + 'static,
) -> Result<Json<T>, ApiError> {
    require(principal, READERS)?;
    let id = UserId(parse_id(user_id, "user_id")?);
    let value = state.writer.read(move |engine| engine.user(id).map(|user| read(engine, user))).await?;
    value.map(Json).ok_or_else(|| ApiError::not_found("unknown_user", "no user with this id is open"))
}

/// A merchant and its settlement account (a merchant key sees only its own).
#[utoipa::path(get, path = "/v1/merchants/{merchant_id}", tag = "reads",
    params(("merchant_id" = u64, Path, description = "The merchant")),
    responses((status = 200, body = MerchantView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_merchant(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(merchant_id): Path<String>,
) -> Result<Json<MerchantView>, ApiError> {
    let id = MerchantId(parse_id(&merchant_id, "merchant_id")?);
    if principal.merchant != Some(id) {
        require(&principal, READERS)?;
    }
    let view = state.writer.read(move |engine| engine.merchant(id).map(MerchantView::from)).await?;
    view.map(Json).ok_or_else(|| ApiError::not_found("unknown_merchant", "no merchant with this id is open"))
}

/// A payment with its refunds (a merchant key sees only its own merchant's payments).
#[utoipa::path(get, path = "/v1/payments/{payment_id}", tag = "reads",
    params(("payment_id" = u64, Path, description = "The payment (its command id)")),
    responses((status = 200, body = PaymentView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_payment(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(payment_id): Path<String>,
) -> Result<Json<PaymentView>, ApiError> {
    let missing = ("unknown_payment", "no captured payment has this id");
    let read = |engine: &engine::Engine, id| {
        engine.payment(id).map(|payment| PaymentView::new(id, payment, engine.refunds(id)))
    };
    scoped_read(&state, &principal, ("payment_id", &payment_id), read, |view| view.merchant_id, missing).await
}

/// A live authorization (a merchant key sees only its own).
#[utoipa::path(get, path = "/v1/authorizations/{authorization_id}", tag = "reads",
    params(("authorization_id" = u64, Path, description = "The authorization (its command id)")),
    responses((status = 200, body = AuthorizationView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_authorization(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(authorization_id): Path<String>,
) -> Result<Json<AuthorizationView>, ApiError> {
    let missing = ("unknown_authorization", "no live authorization has this id");
    let read = |engine: &engine::Engine, id| engine.authorization(id).map(|found| AuthorizationView::new(id, found));
    scoped_read(&state, &principal, ("authorization_id", &authorization_id), read, |view| view.merchant_id, missing)
        .await
}

/// Reads an object a merchant key may see only when it belongs to its merchant. A merchant
/// asking for another merchant's object learns nothing, not even that it exists.
async fn scoped_read<V: Send + 'static>(
    state: &AppState,
    principal: &Principal,
    (name, id_text): (&str, &str),
    read: fn(&engine::Engine, CommandId) -> Option<V>,
    merchant_of: fn(&V) -> u64,
    (code, message): (&str, &str),
) -> Result<Json<V>, ApiError> {
    if principal.role != Role::Merchant {
        require(principal, READERS)?;
    }
    let id = CommandId(parse_id(id_text, name)?);
    let view = state.writer.read(move |engine| read(engine, id)).await?;
    view.filter(|view| principal.role != Role::Merchant || principal.merchant == Some(MerchantId(merchant_of(view))))
        .map(Json)
        .ok_or_else(|| ApiError::not_found(code, message))
}

/// Paging and time range for account history.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntriesParams {
    /// Inclusive lower bound, ms since the epoch (default 0).
    pub from_ms: Option<i64>,
    /// Exclusive upper bound, ms since the epoch (default: no bound).
    pub to_ms: Option<i64>,
    /// Return entries after this cursor (the `id` of the last entry of the previous page).
    pub after_id: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A page of account history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EntriesPage {
    /// The account address.
    pub account: String,
    /// Entries, oldest first.
    pub entries: Vec<Entry>,
    /// Pass as `after_id` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after_id: Option<i64>,
    /// Commands durable but not yet in the read model (history may lag by this much).
    pub lag_commands: u64,
}

/// One account's postings from the read model, paginated, by time range. Addresses:
/// `user:{id}:credit`, `user:{id}:balance`, `merchant:{id}:settlement`, `platform:{CCY}:bank_clearing`.
#[utoipa::path(get, path = "/v1/accounts/{account}/entries", tag = "reads",
    params(("account" = String, Path, description = "Account address, e.g. user:42:credit"), EntriesParams),
    responses((status = 200, body = EntriesPage), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_entries(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(account): Path<String>,
    ApiQuery(params): ApiQuery<EntriesParams>,
) -> Result<Json<EntriesPage>, ApiError> {
    let own_account = principal.merchant.map(|merchant| format!("merchant:{}:settlement", merchant.0));
    if own_account.as_deref() != Some(account.as_str()) {
        require(&principal, READERS)?;
    }
    let limit = page_limit(params.limit)?;
    let query = EntryQuery {
        account: account.clone(),
        from_ms: params.from_ms.unwrap_or(0),
        to_ms: params.to_ms.unwrap_or(i64::MAX),
        after_id: params.after_id.unwrap_or(0),
        limit,
    };
    let entries = query_read_model(&state, move |read_model| read_model.entries(&query)).await?;
    let next_after_id = (entries.len() == limit as usize).then(|| entries.last().map(|entry| entry.id)).flatten();
    Ok(Json(EntriesPage { account, entries, next_after_id, lag_commands: lag_commands(&state) }))
}

/// A page size from a query: 1 to 1000, default 100.
fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(100);
    match (1..=1000).contains(&limit) {
        true => Ok(limit),
        false => Err(ApiError::invalid("invalid_query", format!("limit must be 1 to 1000, got {limit}"))),
    }
}

/// Runs a read-model query off the async workers.
async fn query_read_model<T: Send + 'static>(
    state: &AppState,
    query: impl FnOnce(&ReadModel) -> Result<T, crate::projector::ReadModelError> + Send + 'static,
) -> Result<T, ApiError> {
    let read_model = state.read_model.clone();
    tokio::task::spawn_blocking(move || query(&read_model))
        .await
        .map_err(|error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", error.to_string()))?
        .map_err(|error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "read_model", error.to_string()))
}

/// Commands durable but not yet in the read model.
fn lag_commands(state: &AppState) -> u64 {
    let durable_end = state.progress.durable_end.load(Ordering::Acquire);
    durable_end.saturating_sub(state.progress.projected_end.load(Ordering::Acquire))
}

/// Paging and filters for the decision history.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecisionsParams {
    /// Inclusive lower bound, ms since the epoch (default 0).
    pub from_ms: Option<i64>,
    /// Exclusive upper bound (default: no bound).
    pub to_ms: Option<i64>,
    /// Decisions after this journal sequence (the last `sequence` of the previous page).
    pub after_sequence: Option<i64>,
    /// Only `allow` (a shadow or score-only firing), `challenge`, `review` or `deny`.
    #[param(pattern = "^(allow|challenge|review|deny)$")]
    pub decision: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A page of the decision history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionsPage {
    /// Decisions, oldest first.
    pub decisions: Vec<crate::projector::DecisionEntry>,
    /// Pass as `after_sequence` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after_sequence: Option<i64>,
    /// Commands durable but not yet in the read model.
    pub lag_commands: u64,
}

/// Notable risk decisions (a rule fired, or the command was not simply allowed) with their
/// evidence, from the read model.
#[utoipa::path(get, path = "/v1/decisions", tag = "reads", params(DecisionsParams),
    responses((status = 200, body = DecisionsPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_decisions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ApiQuery(params): ApiQuery<DecisionsParams>,
) -> Result<Json<DecisionsPage>, ApiError> {
    require(&principal, READERS)?;
    let limit = page_limit(params.limit)?;
    if let Some(decision) = params.decision.as_deref().filter(|d| !["allow", "challenge", "review", "deny"].contains(d))
    {
        let message = format!("decision must be allow, challenge, review or deny, got {decision:?}");
        return Err(ApiError::invalid("invalid_query", message));
    }
    let query = crate::projector::DecisionQuery {
        from_ms: params.from_ms.unwrap_or(0),
        to_ms: params.to_ms.unwrap_or(i64::MAX),
        after_sequence: params.after_sequence.unwrap_or(0),
        decision: params.decision,
        limit,
    };
    let decisions = query_read_model(&state, move |read_model| read_model.decisions(&query)).await?;
    let next_after_sequence =
        (decisions.len() == limit as usize).then(|| decisions.last().map(|d| d.sequence)).flatten();
    Ok(Json(DecisionsPage { decisions, next_after_sequence, lag_commands: lag_commands(&state) }))
}

/// Health and journal positions.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `unhealthy` (HTTP 503) when any of `problems` holds.
    pub status: String,
    /// The sequence after the last durable command.
    pub durable_end: u64,
    /// The sequence after the last command in the read model.
    pub projected_end: u64,
    /// What is wrong, one line per component (`writer`, `projector`, `snapshots`): a storage
    /// fault, a stopped projector, a failed snapshot, a read model too far behind.
    pub problems: Vec<String>,
    /// True on a sandbox (`serve --sandbox`): test data whose clock an admin can move.
    pub sandbox: bool,
}

/// Commands the read model (and so the snapshots, made from its replica) may lag the journal
/// before health turns unhealthy.
pub const PROJECTOR_LAG_COMMANDS_MAX: u64 = 1_000_000;

/// Health (no key needed): HTTP 200 when every component works, 503 with the reasons when the
/// writer stopped on a storage fault, the projector stopped or fell behind, or a snapshot failed.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, description = "Unhealthy: `problems` says why", body = Health)))]
async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let durable_end = state.progress.durable_end.load(Ordering::Acquire);
    let projected_end = state.progress.projected_end.load(Ordering::Acquire);
    let mut problems = state.progress.faults();
    let lag = durable_end.saturating_sub(projected_end);
    if lag > PROJECTOR_LAG_COMMANDS_MAX {
        problems.push(format!("projector: {lag} commands behind the journal (at most {PROJECTOR_LAG_COMMANDS_MAX})"));
    }
    let (status, word) = match problems.is_empty() {
        true => (StatusCode::OK, "ok"),
        false => (StatusCode::SERVICE_UNAVAILABLE, "unhealthy"),
    };
    let sandbox = state.sandbox;
    (status, Json(Health { status: word.into(), durable_end, projected_end, problems, sandbox }))
}

/// Move a sandbox's clock forward and run what the wall clock would have run by then: holds
/// lapse, days end, statements close, penalties accrue (admin key; `serve --sandbox` only).
#[utoipa::path(post, path = "/v1/sandbox/clock-advances", tag = "operations", request_body = ClockAdvanceRequest,
    responses((status = 200, body = ClockView), (status = 409, description = "Not a sandbox", body = ErrorBody)),
    security(("api_key" = [])))]
async fn advance_clock(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ApiJson(body): ApiJson<ClockAdvanceRequest>,
) -> Result<Json<ClockView>, ApiError> {
    require(&principal, &[Role::Admin])?;
    if body.advance_ms == 0 || body.advance_ms > crate::writer::CLOCK_ADVANCE_MAX_MS {
        let message = format!("advance_ms must be 1 to {}", crate::writer::CLOCK_ADVANCE_MAX_MS);
        return Err(ApiError::invalid("invalid_advance", message));
    }
    match state.writer.advance_clock(body.advance_ms).await? {
        Some(now_ms) => Ok(Json(ClockView { now_ms })),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_a_sandbox",
            "this server runs on real time; start a sandbox with `creditline serve --sandbox` to move its clock",
        )),
    }
}

/// Prometheus metrics (admin or analyst key).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")),
    security(("api_key" = [])))]
async fn metrics_text(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<String, ApiError> {
    require(&principal, ANALYSTS)?;
    Ok(state.metrics.render())
}

/// The OpenAPI document of this API.
async fn openapi_json() -> Json<&'static serde_json::Value> {
    Json(crate::openapi::document())
}

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API key: `Authorization: Bearer clk_…`"))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("api_key", SecurityScheme::Http(scheme));
        crate::access::document(openapi);
    }
}

/// The OpenAPI document as utoipa generates it from the handlers and wire types; the one served
/// is [`crate::openapi::document`], which completes it.
#[derive(OpenApi)]
#[openapi(
    info(title = "creditline", description = "Credit-line ledger API. Amounts are integer minor units (分). Every command carries a client-chosen `command_id`; a retry with the same body returns the first result."),
    paths(open_user, open_merchant, set_credit_limit, set_credit_frozen, top_up, pay, authorize, capture, release, refund,
        transfer, withdraw, payout, repay, install_product, convert_to_instalments, pay_off_instalments, request_withdrawal, verify_withdrawal,
        adjust_score, set_score_frozen, get_score, repay_statement, convert_statement, review_credit_line, batch, get_products, get_statements, get_statement, get_instalments, get_user, get_merchant, get_payment, get_authorization, get_entries,
        link_tie, install_rules, assign_case, propose_rules, approve_rules, get_rules, verify_challenge, decide_case, appeal_case, lift_action, grant_mandate, revoke_mandate, merchant_transfer, agent_cash_out, record_refused_attempt, get_cases, get_case, get_decisions,
        healthz, metrics_text, advance_clock),
    components(schemas(CommandRequest)),
    modifiers(&SecurityAddon)
)]
pub struct ApiDoc;

async fn authenticate(State(keys): State<Arc<KeyRing>>, mut request: Request, next: Next) -> Response {
    let client = request
        .extensions()
        .get::<ClientAddress>()
        .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |address| address.0.ip());
    let presented = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    match keys.authenticate(presented.trim(), client) {
        Ok(principal) => {
            let key_id = KeyId(principal.key_id.clone());
            request.extensions_mut().insert(principal);
            let mut response = next.run(request).await;
            response.extensions_mut().insert(key_id);
            response
        }
        Err(Denied::Unauthenticated) if presented.is_empty() => {
            let message = "send an API key: Authorization: Bearer clk_…";
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message).into_response()
        }
        Err(Denied::Unauthenticated) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "the API key is unknown or revoked")
                .into_response()
        }
        Err(Denied::RateLimited(seconds)) => {
            let message = format!("this key exceeded its request rate; retry in {seconds} s");
            too_many_requests(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message), seconds)
        }
        Err(Denied::FailuresThrottled(seconds)) => {
            let message = format!("too many failed authentications from this address; retry in {seconds} s");
            too_many_requests(
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "authentication_throttled", message),
                seconds,
            )
        }
    }
}

/// A 429 with the `Retry-After` header a client should honour.
fn too_many_requests(error: ApiError, retry_after_seconds: u64) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(retry_after_seconds));
    response
}

/// The longest a request may take before it is answered 503; a command's outcome is then
/// unknown to the client, which retries with the same `command_id` to learn it.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

async fn request_timeout(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let message = format!(
                "no answer within {} s; a command's outcome is unknown: retry with the same command_id",
                REQUEST_TIMEOUT.as_secs()
            );
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", message).into_response()
        }
    }
}

/// The acting key's public id, passed from authentication to the request log on the response.
#[derive(Clone, Debug)]
struct KeyId(String);

/// Records each request's latency as a metric and logs it as one structured line (target
/// `creditline::access`: method, route, status, key id — never the key —, latency).
async fn record_latency(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let key_id = response.extensions().get::<KeyId>().map_or("-", |key| key.0.as_str());
    tracing::info!(target: "creditline::access", %method, %route, status, key_id,
        latency_us = elapsed.as_micros() as u64, "request");
    metrics::histogram!(names::HTTP_REQUEST_SECONDS, "route" => route, "status" => status.to_string())
        .record(elapsed.as_secs_f64());
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("no_route", "no such endpoint; see /openapi.json")
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    let authenticated = Router::new()
        .route("/v1/users", post(open_user))
        .route("/v1/merchants", post(open_merchant))
        .route("/v1/credit-limits", post(set_credit_limit))
        .route("/v1/credit-freezes", post(set_credit_frozen))
        .route("/v1/top-ups", post(top_up))
        .route("/v1/payments", post(pay))
        .route("/v1/authorizations", post(authorize))
        .route("/v1/captures", post(capture))
        .route("/v1/releases", post(release))
        .route("/v1/refunds", post(refund))
        .route("/v1/transfers", post(transfer))
        .route("/v1/withdrawals", post(withdraw))
        .route("/v1/payouts", post(payout))
        .route("/v1/repayments", post(repay))
        .route("/v1/products", post(install_product).get(get_products))
        .route("/v1/batch", post(batch))
        .route("/v1/instalments", post(convert_to_instalments))
        .route("/v1/credit-withdrawals", post(request_withdrawal))
        .route("/v1/credit-withdrawal-verifications", post(verify_withdrawal))
        .route("/v1/score-adjustments", post(adjust_score))
        .route("/v1/score-freezes", post(set_score_frozen))
        .route("/v1/statement-repayments", post(repay_statement))
        .route("/v1/statement-instalments", post(convert_statement))
        .route("/v1/line-reviews", post(review_credit_line))
        .route("/v1/users/{user_id}/score", get(get_score))
        .route("/v1/ties", post(link_tie))
        .route("/v1/rules", post(install_rules).get(get_rules))
        .route("/v1/rule-proposals", post(propose_rules))
        .route("/v1/rule-approvals", post(approve_rules))
        .route("/v1/challenge-verifications", post(verify_challenge))
        .route("/v1/case-decisions", post(decide_case))
        .route("/v1/case-assignments", post(assign_case))
        .route("/v1/appeals", post(appeal_case))
        .route("/v1/risk-action-lifts", post(lift_action))
        .route("/v1/mandates", post(grant_mandate))
        .route("/v1/mandate-revocations", post(revoke_mandate))
        .route("/v1/merchant-transfers", post(merchant_transfer))
        .route("/v1/agent-cash-outs", post(agent_cash_out))
        .route("/v1/refused-attempts", post(record_refused_attempt))
        .route("/v1/cases", get(get_cases))
        .route("/v1/sandbox/clock-advances", post(advance_clock))
        .route("/v1/decisions", get(get_decisions))
        .route("/v1/cases/{case_id}", get(get_case))
        .route("/v1/instalment-payoffs", post(pay_off_instalments))
        .route("/v1/users/{user_id}/instalments", get(get_instalments))
        .route("/v1/users/{user_id}/statements", get(get_statements))
        .route("/v1/users/{user_id}/statements/{number}", get(get_statement))
        .route("/v1/users/{user_id}", get(get_user))
        .route("/v1/merchants/{merchant_id}", get(get_merchant))
        .route("/v1/payments/{payment_id}", get(get_payment))
        .route("/v1/authorizations/{authorization_id}", get(get_authorization))
        .route("/v1/accounts/{account}/entries", get(get_entries))
        .route("/metrics", get(metrics_text))
        .route_layer(middleware::from_fn_with_state(state.keys.clone(), authenticate))
        .route_layer(middleware::from_fn(record_latency));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi_json))
        .route_layer(middleware::from_fn(record_latency))
        .merge(authenticated)
        .merge(crate::console::router())
        .layer(middleware::from_fn(request_timeout))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_MAX_BYTES))
        .with_state(state)
}
