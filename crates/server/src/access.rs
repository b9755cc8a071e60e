//! Who may call each endpoint, stated once for the OpenAPI document: every operation carries
//! `x-access`: `roles` (the roles allowed; `public` for no key at all) and `merchant_own` (a
//! merchant key may call it for its own merchant only). The handlers enforce it (`routes::require`,
//! `wire::CommandRequest::permit`); the role × endpoint test drives every operation the document
//! lists with every role and checks the server against this table, so the two cannot drift apart
//! unnoticed, and an endpoint added without a row here fails that test.

use crate::auth::Role;
use utoipa::openapi::OpenApi;
use utoipa::openapi::extensions::Extensions;

/// One endpoint's access rule.
pub struct Access {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path as the OpenAPI document writes it.
    pub path: &'static str,
    /// The roles allowed; empty for a public endpoint.
    pub roles: &'static [Role],
    /// Whether a merchant key may also call it, for its own merchant only.
    pub merchant_own: bool,
}

const ADMIN: &[Role] = &[Role::Admin];
const APP: &[Role] = &[Role::Admin, Role::Platform];
/// The roles that read accounts, history, cases and decisions.
pub const READERS: &[Role] = &[Role::Admin, Role::Platform, Role::Analyst];
/// The roles that decide cases, lift account actions and read metrics.
pub const ANALYSTS: &[Role] = &[Role::Admin, Role::Analyst];

const fn rule(method: &'static str, path: &'static str, roles: &'static [Role], merchant_own: bool) -> Access {
    Access { method, path, roles, merchant_own }
}

/// Every endpoint's rule.
pub const ACCESS: &[Access] = &[
    rule("GET", "/healthz", &[], false),
    rule("GET", "/metrics", ANALYSTS, false),
    rule("GET", "/v1/accounts/{account}/entries", READERS, true),
    rule("POST", "/v1/agent-cash-outs", APP, true),
    rule("POST", "/v1/appeals", APP, false),
    rule("POST", "/v1/authorizations", APP, true),
    rule("GET", "/v1/authorizations/{authorization_id}", READERS, true),
    rule("POST", "/v1/batch", APP, false),
    rule("POST", "/v1/captures", APP, true),
    rule("POST", "/v1/case-assignments", ANALYSTS, false),
    rule("POST", "/v1/case-decisions", ANALYSTS, false),
    rule("GET", "/v1/cases", READERS, false),
    rule("GET", "/v1/cases/{case_id}", READERS, false),
    rule("POST", "/v1/challenge-verifications", APP, false),
    rule("POST", "/v1/credit-freezes", ADMIN, false),
    rule("POST", "/v1/credit-limits", ADMIN, false),
    rule("POST", "/v1/credit-withdrawal-verifications", APP, false),
    rule("POST", "/v1/credit-withdrawals", APP, false),
    rule("GET", "/v1/decisions", READERS, false),
    rule("POST", "/v1/instalment-payoffs", APP, false),
    rule("POST", "/v1/instalments", APP, false),
    rule("POST", "/v1/line-reviews", ADMIN, false),
    rule("POST", "/v1/mandate-revocations", APP, false),
    rule("POST", "/v1/mandates", APP, false),
    rule("POST", "/v1/merchant-transfers", APP, true),
    rule("POST", "/v1/merchants", ADMIN, false),
    rule("GET", "/v1/merchants/{merchant_id}", READERS, true),
    rule("POST", "/v1/payments", APP, true),
    rule("GET", "/v1/payments/{payment_id}", READERS, true),
    rule("POST", "/v1/payouts", ADMIN, false),
    rule("GET", "/v1/products", READERS, false),
    rule("POST", "/v1/products", ADMIN, false),
    rule("POST", "/v1/refunds", APP, true),
    rule("POST", "/v1/refused-attempts", APP, false),
    rule("POST", "/v1/releases", APP, true),
    rule("POST", "/v1/repayments", APP, false),
    rule("POST", "/v1/risk-action-lifts", ANALYSTS, false),
    rule("POST", "/v1/rule-approvals", ADMIN, false),
    rule("POST", "/v1/rule-proposals", ADMIN, false),
    rule("GET", "/v1/rules", READERS, false),
    rule("POST", "/v1/sandbox/clock-advances", ADMIN, false),
    rule("POST", "/v1/rules", ADMIN, false),
    rule("POST", "/v1/score-adjustments", ADMIN, false),
    rule("POST", "/v1/score-freezes", ADMIN, false),
    rule("POST", "/v1/statement-instalments", APP, false),
    rule("POST", "/v1/statement-repayments", APP, false),
    rule("POST", "/v1/ties", APP, false),
    rule("POST", "/v1/top-ups", APP, false),
    rule("POST", "/v1/transfers", APP, false),
    rule("POST", "/v1/users", APP, false),
    rule("GET", "/v1/users/{user_id}", READERS, false),
    rule("GET", "/v1/users/{user_id}/instalments", READERS, false),
    rule("GET", "/v1/users/{user_id}/score", READERS, false),
    rule("GET", "/v1/users/{user_id}/statements", READERS, false),
    rule("GET", "/v1/users/{user_id}/statements/{number}", READERS, false),
    rule("POST", "/v1/withdrawals", APP, false),
];

/// The answers every authenticated operation can give besides its own (and, for a `POST`, the
/// body's): status and when.
const COMMON: &[(&str, &str)] = &[
    ("401", "No API key, or an unknown or revoked one"),
    ("403", "The key's role (or merchant) may not call this"),
    ("429", "The key's rate, or this address's failed authentications, exceeded: see Retry-After"),
    ("422", "An invalid id, query or body (the message names it), or a business rule refused it: see code"),
    ("503", "Overloaded, stopping, or no answer within 30 s: nothing acknowledged for sure; retry with the same id"),
];
const BODY: &[(&str, &str)] =
    &[("400", "Malformed JSON"), ("413", "Body larger than 2 MiB"), ("415", "Not sent as application/json")];

/// Adds the common answers an operation does not list yet, each with the error body.
fn add_common_responses(operation: &mut utoipa::openapi::path::Operation, has_body: bool) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let answers = COMMON.iter().chain(if has_body { BODY } else { &[] });
    for (status, description) in answers {
        operation.responses.responses.entry((*status).to_owned()).or_insert_with(|| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            let mut response = ResponseBuilder::new().description(*description).content("application/json", content);
            if *status == "429" {
                let header = utoipa::openapi::header::HeaderBuilder::new()
                    .schema(Some(utoipa::openapi::schema::Object::with_type(utoipa::openapi::schema::Type::Integer)))
                    .description(Some("Seconds to wait before retrying"))
                    .build();
                response = response.header("Retry-After", header);
            }
            response.build().into()
        });
    }
}

/// Writes each rule into its operation's `x-access`, and adds the answers
/// every authenticated operation can give.
pub fn document(openapi: &mut OpenApi) {
    for access in ACCESS {
        let Some(item) = openapi.paths.paths.get_mut(access.path) else { continue };
        let operation = match access.method {
            "GET" => item.get.as_mut(),
            _ => item.post.as_mut(),
        };
        let Some(operation) = operation else { continue };
        let roles: Vec<&str> = match access.roles.is_empty() {
            true => vec!["public"],
            false => access.roles.iter().map(|role| role.name()).collect(),
        };
        // One extension key: utoipa keeps extensions in a hash map, whose order would change the
        // document's text from run to run.
        let rule = serde_json::json!({ "roles": roles, "merchant_own": access.merchant_own });
        let extensions: Extensions = [("x-access".to_owned(), rule)].into_iter().collect();
        operation.extensions = Some(extensions);
        if !access.roles.is_empty() {
            add_common_responses(operation, access.method == "POST");
        }
    }
}
