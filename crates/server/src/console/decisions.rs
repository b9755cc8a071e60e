//! The decisions explorer: notable decisions from the read model, newest first, by kind,
//! decision, rule, user and merchant, each opening its inspector.

use super::pages;
use super::session::{SignedIn, refused};
use crate::access::READERS;
use crate::projector::ExploreQuery;
use crate::routes::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use model::CommandId;
use serde::Deserialize;

/// Decisions a page lists.
const PAGE_ROWS: u32 = 50;

/// The explorer's filters as the form sends them (empty fields are no filter).
#[derive(Debug, Default, Deserialize)]
pub struct ExplorerQuery {
    /// `allow`, `challenge`, `review` or `deny`.
    pub decision: Option<String>,
    /// A command kind (`pay`, `transfer`, ...).
    pub kind: Option<String>,
    /// A rule id.
    pub rule: Option<String>,
    /// A user id.
    pub user: Option<String>,
    /// A merchant id.
    pub merchant: Option<String>,
    /// The previous page's last sequence.
    pub before: Option<String>,
}

impl ExplorerQuery {
    /// The read model's query; a message naming the bad field otherwise.
    pub fn parse(&self) -> Result<ExploreQuery, String> {
        let decision = super::text(self.decision.as_deref());
        if let Some(decision) = decision.as_deref()
            && !["allow", "challenge", "review", "deny"].contains(&decision)
        {
            return Err(format!("decision must be allow, challenge, review or deny, got {decision:?}"));
        }
        Ok(ExploreQuery {
            decision,
            kind: super::text(self.kind.as_deref()),
            rule: super::text(self.rule.as_deref()),
            user: super::number("user", self.user.as_deref())?,
            merchant: super::number("merchant", self.merchant.as_deref())?,
            before: super::number("before", self.before.as_deref())?
                .map(|sequence| sequence.min(i64::MAX as u64) as i64),
            limit: PAGE_ROWS,
        })
    }
}

/// `/console/decisions`.
pub async fn explorer(State(state): State<AppState>, signed: SignedIn, Query(query): Query<ExplorerQuery>) -> Response {
    if !READERS.contains(&signed.session.principal.role) {
        return refused(StatusCode::FORBIDDEN, "forbidden", "this key's role may not read decisions");
    }
    let filters = match query.parse() {
        Ok(filters) => filters,
        Err(message) => return refused(StatusCode::BAD_REQUEST, "invalid_filter", &message),
    };
    match state.read_model.explore(&filters) {
        Ok(rows) => pages::decisions(&signed.session, &query, &rows, PAGE_ROWS as usize).into_response(),
        Err(error) => refused(StatusCode::SERVICE_UNAVAILABLE, "read_model", &error.to_string()),
    }
}

/// `/console/decisions/{sequence}`: the decision inspector, with a link to its case if one opened.
pub async fn inspector(State(state): State<AppState>, signed: SignedIn, Path(sequence): Path<String>) -> Response {
    if !READERS.contains(&signed.session.principal.role) {
        return refused(StatusCode::FORBIDDEN, "forbidden", "this key's role may not read decisions");
    }
    let Ok(sequence) = sequence.parse::<i64>() else {
        return refused(StatusCode::BAD_REQUEST, "invalid_sequence", "a journal sequence is a whole number");
    };
    let entry = match state.read_model.decision_at(sequence) {
        Ok(Some(entry)) => entry,
        Ok(None) => return refused(StatusCode::NOT_FOUND, "unknown_decision", "no notable decision at this sequence"),
        Err(error) => return refused(StatusCode::SERVICE_UNAVAILABLE, "read_model", &error.to_string()),
    };
    let id = CommandId(entry.command_id);
    let has_case = match state.writer.read(move |engine| engine.case(id).is_some()).await {
        Ok(has_case) => has_case,
        Err(_) => return refused(StatusCode::SERVICE_UNAVAILABLE, "stopping", "the server is stopping; retry"),
    };
    let decision: Option<model::risk::Decision> = serde_json::from_value(entry.evidence.clone()).ok();
    pages::decision(&signed.session, &entry, decision.as_ref(), has_case).into_response()
}
