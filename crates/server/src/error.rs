//! API errors: every failure is JSON `{code, message}` with a stable code and a proper status.

use crate::writer::WriteError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use model::Rejection;
use serde::Serialize;

/// The error body of every non-2xx response.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, snake_case error code.
    pub code: String,
    /// What went wrong and what to do about it.
    pub message: String,
    /// For business rejections: the journal sequence that recorded the rejected command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
}

/// An error with its HTTP status.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, body: ErrorBody { code: code.into(), message: message.into(), sequence: None } }
    }

    /// A malformed or invalid request body or parameter (422).
    pub fn invalid(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// The key's role may not do this (403).
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// Nothing with this id (404).
    pub fn not_found(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// A business rejection recorded at `sequence`.
    pub fn rejected(rejection: Rejection, sequence: u64) -> ApiError {
        let mut error = ApiError::new(rejection_status(rejection), rejection.code(), rejection.message());
        error.body.sequence = Some(sequence);
        error
    }
}

/// The HTTP status of a business rejection (ADR 0008): 404 for an unknown id, 403 for a party
/// that may not act, 422 for a request that could never succeed whatever the ledger holds, and
/// 409 for a refusal by the ledger's current state (funds, limits, freezes, risk, order), which
/// the same request may pass later.
pub fn rejection_status(rejection: Rejection) -> StatusCode {
    match rejection {
        Rejection::UnknownUser
        | Rejection::UnknownMerchant
        | Rejection::UnknownPayment
        | Rejection::UnknownAuthorization
        | Rejection::UnknownInstalmentPlan
        | Rejection::UnknownChallenge
        | Rejection::UnknownCase
        | Rejection::UnknownProposal => StatusCode::NOT_FOUND,
        Rejection::MerchantMismatch | Rejection::NoMandate | Rejection::SelfApproval => StatusCode::FORBIDDEN,
        Rejection::SelfTransfer
        | Rejection::InvalidAmount
        | Rejection::InvalidExpiry
        | Rejection::InvalidProduct
        | Rejection::InvalidAppeal
        | Rejection::InvalidRules => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    }
}

impl From<WriteError> for ApiError {
    fn from(error: WriteError) -> ApiError {
        let code = match error {
            WriteError::Overloaded => "overloaded",
            WriteError::Stopped => "unavailable",
        };
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
