//! Wire types: request and response bodies of the HTTP API, their validation into engine
//! commands, and which roles may send which command.

use crate::auth::{Principal, Role, key_id_of};
use crate::error::ApiError;
use crate::writer::{Committed, Draft};
use engine::{Authorization, Merchant, Payment, User};
use model::kind;
use model::product::SCORE_ADJUSTMENT_MAX;
use model::risk::{AccountAction, Case, Evidence, Held, Label, Party, RuleSet, Tie, TieKind};
use model::{
    Accepted, Amount, CommandId, CommandKind, Currency, Funding, IdentityLevel, MerchantCategory, MerchantId,
    MerchantVerification, RepaySource, UserId,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Opens a user with an empty credit line and balance.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenUserRequest {
    /// Idempotency key (unique per command; a retry with the same body returns the first result).
    pub command_id: u64,
    /// The new user's id.
    pub user_id: u64,
    /// Three-letter currency code, e.g. `CNY`.
    #[schema(pattern = "^[A-Z]{3}$", example = "CNY")]
    pub currency: String,
    /// `unverified`, `basic` or `full`.
    #[schema(value_type = String, example = "basic", pattern = "^(unverified|basic|full)$")]
    pub identity: IdentityLevel,
}

/// Opens a merchant.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenMerchantRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The new merchant's id.
    pub merchant_id: u64,
    /// Three-letter currency code.
    #[schema(pattern = "^[A-Z]{3}$", example = "CNY")]
    pub currency: String,
    /// `physical_goods`, `virtual_goods`, `recharge`, `tuition`, `utilities`, `subscriptions` or `other`.
    #[schema(value_type = String, example = "physical_goods", pattern = "^(physical_goods|virtual_goods|recharge|tuition|utilities|subscriptions|other)$")]
    pub category: MerchantCategory,
    /// `uncertified` or `certified`.
    #[schema(value_type = String, example = "certified", pattern = "^(uncertified|certified)$")]
    pub verification: MerchantVerification,
    /// Whether the merchant is a platform partner.
    #[serde(default)]
    pub partner: bool,
}

/// Grants or changes a credit line.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCreditLimitRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// The new limit in minor units; not below what is used and held.
    pub limit_minor: u64,
}

/// Freezes or unfreezes a user's credit line.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCreditFrozenRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// True to freeze credit use, false to unfreeze.
    pub frozen: bool,
}

/// An amount moving for one user: top-up, withdrawal to bank.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserAmountRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// Minor units, at least 1.
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub amount_minor: u64,
}

/// A payment from credit, balance or both.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    /// Idempotency key; also the payment id.
    pub command_id: u64,
    /// The paying user.
    pub user_id: u64,
    /// The merchant paid.
    pub merchant_id: u64,
    /// Minor units from the credit line (this and `balance_minor` not both 0).
    #[serde(default)]
    #[schema(maximum = 4_611_686_018_427_387_903_u64)]
    pub credit_minor: u64,
    /// Minor units from the balance.
    #[serde(default)]
    #[schema(maximum = 4_611_686_018_427_387_903_u64)]
    pub balance_minor: u64,
    /// Payments only: who the order is for when not the payer (a gift shipped to a phone, a
    /// recharge credited to an account). Risk rules read it; it moves no money.
    #[serde(default)]
    pub beneficiary: Option<TieBody>,
}

/// An identifier accounts can share: a device, phone, identity, bank card or payout account,
/// as an opaque token (hash the number with a platform secret; never send the number).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TieBody {
    /// `device`, `phone`, `identity`, `bank_card`, `payout_account`, `delivery_address` (names
    /// whom an order is for; never ties accounts together) or `owner` (ties a merchant to its
    /// owner's user accounts; no changed binding).
    #[schema(
        value_type = String,
        example = "phone",
        pattern = "^(device|phone|identity|bank_card|payout_account|delivery_address|owner)$"
    )]
    pub kind: TieKind,
    /// The identifier's token.
    pub token: u64,
}

impl From<TieBody> for Tie {
    fn from(body: TieBody) -> Tie {
        Tie { kind: body.kind, token: body.token }
    }
}

/// Links a device (a login), phone, identity, bank card or payout account to a user or merchant.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkTieRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user (give exactly one of `user_id` and `merchant_id`).
    #[serde(default)]
    pub user_id: Option<u64>,
    /// The merchant it acts on, by the id it was opened with (none open: 404 `unknown_merchant`).
    #[serde(default)]
    pub merchant_id: Option<u64>,
    /// The identifier.
    pub tie: TieBody,
}

/// Installs a rules file (CEL rules in TOML, see docs/rules.md).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallRulesRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The rules file's text, e.g. the contents of rules/default.toml (at most 256 KiB).
    #[schema(max_length = 262_144)]
    pub toml: String,
}

/// Approves a rules file another key proposed (`POST /v1/rule-proposals`): four-eyes activation.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRulesRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The proposal: the `command_id` of the `POST /v1/rule-proposals` that made it.
    pub proposal_id: u64,
}

/// Claims an open case for a key, assigns it to another, or gives it back to the queue.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignCaseRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The case.
    pub case_id: u64,
    /// The key id (eight hex digits, as `creditline keys list` shows it) to work the case;
    /// absent or null gives it back to the queue.
    #[serde(default)]
    #[schema(pattern = "^(?!00000000)[0-9a-f]{8}$")]
    pub key_id: Option<String>,
}

/// Completes a command the risk engine challenged, after the user passed step-up verification.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyChallengeRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// The challenged command's id.
    pub challenge_id: u64,
}

/// An analyst's verdict on a case.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideCaseRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The case (the id of the command that opened it).
    pub case_id: u64,
    /// True: what was held goes through and the case's account actions are lifted. False: it is
    /// released or dropped.
    pub approve: bool,
    /// `"not_fraud"`, or `{"fraud": T}` with T one of `refund_cycling`, `colluding_merchant`,
    /// `proxy_purchase`, `self_recharge`, `account_takeover`, `ring`, `other`.
    #[schema(value_type = LabelSchema, example = json!({"fraud": "ring"}))]
    pub label: Label,
}

/// A user's appeal on a case, sent by the platform on the user's behalf.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealCaseRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The case.
    pub case_id: u64,
    /// Up to 10 references: `{"kind": "receipt" | "refund" | "other", "reference": "..."}`,
    /// each reference 1 to 200 characters. An appeal carries evidence, text or both.
    #[serde(default)]
    #[schema(value_type = Vec<EvidenceSchema>, max_items = 10)]
    pub evidence: Vec<Evidence>,
    /// The user's own words, up to 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub text: String,
}

/// A user's mandate (免密支付) for one merchant, granted through the platform: the merchant's own
/// key may then charge the user up to the caps without asking each time.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantMandateRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user granting it.
    pub user_id: u64,
    /// The merchant allowed to charge.
    pub merchant_id: u64,
    /// Most one payment or hold may be, in minor units (at least 1).
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub per_payment_max_minor: u64,
    /// Most a calendar month's payments and holds may total, in minor units (at least the cap
    /// per payment).
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub per_month_max_minor: u64,
}

/// A user takes a merchant's mandate back.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeMandateRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// The merchant it acts on, by the id it was opened with (none open: 404 `unknown_merchant`).
    pub merchant_id: u64,
}

/// The shape of a case label for the OpenAPI document (the body is read as the engine's
/// `Label`): the string `"not_fraud"`, or `{"fraud": TYPOLOGY}`. Written by hand from the
/// engine's own typology names, so the document cannot drift from `Typology`.
pub struct LabelSchema;

impl utoipa::ToSchema for LabelSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "Label".into()
    }
}

impl utoipa::PartialSchema for LabelSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        let typologies = model::risk::Typology::SCHEMES.into_iter().chain([model::risk::Typology::Other]);
        let not_fraud = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["not_fraud"]));
        let typology = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(typologies.map(|typology| typology.name())));
        let fraud = ObjectBuilder::new()
            .property("fraud", typology)
            .required("fraud")
            .additional_properties(Some(AdditionalProperties::<utoipa::openapi::schema::Schema>::FreeForm(false)));
        OneOfBuilder::new()
            .item(not_fraud)
            .item(fraud)
            .description(Some("`\"not_fraud\"`, or `{\"fraud\": TYPOLOGY}`"))
            .into()
    }
}

/// The shape of one evidence reference, for the OpenAPI document (the body is read as the
/// engine's `Evidence`, which refuses unknown fields).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSchema {
    /// `receipt`, `refund` or `other`.
    #[schema(example = "receipt", pattern = "^(receipt|refund|other)$")]
    pub kind: String,
    /// Where it is: a receipt number, a refund command id, a document reference (1 to 200 characters).
    #[schema(min_length = 1, max_length = 200)]
    pub reference: String,
}

/// Lifts a risk account action (analyst).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftActionRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// `freeze_credit`, `cut_line`, `lower_score` or `watch_list`.
    #[schema(value_type = String, example = "freeze_credit", pattern = "^(freeze_credit|cut_line|lower_score|watch_list)$")]
    pub action: AccountAction,
}

/// Holds funds for a merchant until captured, released or expired.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// Idempotency key; also the authorization id (and the payment id once captured).
    pub command_id: u64,
    /// The user whose funds are held.
    pub user_id: u64,
    /// The merchant the hold is for.
    pub merchant_id: u64,
    /// Minor units held on the credit line (this and `balance_minor` not both 0).
    #[serde(default)]
    #[schema(maximum = 4_611_686_018_427_387_903_u64)]
    pub credit_minor: u64,
    /// Minor units held on the balance.
    #[serde(default)]
    #[schema(maximum = 4_611_686_018_427_387_903_u64)]
    pub balance_minor: u64,
    /// How long the hold lasts, in milliseconds (default 7 days, at most 30 days).
    #[serde(default = "default_hold_ms")]
    #[schema(minimum = 1, maximum = 2_592_000_000_u64)]
    pub hold_ms: u64,
}

fn default_hold_ms() -> u64 {
    7 * 24 * 60 * 60 * 1000
}

/// Captures an authorization (credit part first); the rest of the hold is released.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The authorization's id (the command id that created it).
    pub authorization_id: u64,
    /// The merchant the authorization belongs to.
    pub merchant_id: u64,
    /// Minor units to capture, at most the authorized total.
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub amount_minor: u64,
}

/// Releases an authorization.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The authorization's id.
    pub authorization_id: u64,
    /// The merchant the authorization belongs to.
    pub merchant_id: u64,
}

/// Refunds part or all of a payment: the credit part back to the line first.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The payment's id.
    pub payment_id: u64,
    /// The merchant the payment belongs to.
    pub merchant_id: u64,
    /// Minor units, at most what is captured and not yet refunded.
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub amount_minor: u64,
}

/// A P2P transfer between balances.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The payer.
    pub from_user_id: u64,
    /// The payee.
    pub to_user_id: u64,
    /// Minor units, at least 1.
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub amount_minor: u64,
}

/// Pays a merchant's settlement account out to its bank.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The merchant it acts on, by the id it was opened with (none open: 404 `unknown_merchant`).
    pub merchant_id: u64,
    /// Minor units, at most the settlement balance.
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub amount_minor: u64,
}

/// A merchant's transfer from its settlement account to a user's balance (cashback, a
/// disbursement; scored like a transfer) or to another merchant's settlement account (a
/// supplier, a head office; scored as a payout), with the money's provenance.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantTransferRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The merchant paying.
    pub merchant_id: u64,
    /// The user paid (give exactly one of `to_user_id` and `to_merchant_id`).
    #[serde(default)]
    pub to_user_id: Option<u64>,
    /// The merchant paid, not the payer itself.
    #[serde(default)]
    pub to_merchant_id: Option<u64>,
    /// Minor units, at most the settlement balance.
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub amount_minor: u64,
}

/// A user's cash-out at an agent (a merchant), as mobile money works: the balance moves to the
/// agent's settlement account and the agent hands over the cash. Scored as money leaving the
/// user (`withdraw_to_bank`), the agent as its merchant.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentCashOutRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user cashing out.
    pub user_id: u64,
    /// The agent (a merchant of the same currency).
    pub agent_id: u64,
    /// Minor units, at most the available balance.
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub amount_minor: u64,
}

/// An attempt of a user to move money that another system refused before it reached this
/// ledger (a card declined, a gateway's block): nothing moves; the risk features see when
/// (`user.ms_since_refused_attempt`).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefusedAttemptRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user who attempted it.
    pub user_id: u64,
    /// What the attempt was for, in minor units.
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub amount_minor: u64,
}

/// Repays used credit.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepayRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// Minor units, at most what is owed.
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub amount_minor: u64,
    /// `balance` or `bank`.
    #[schema(value_type = String, example = "bank", pattern = "^(balance|bank)$")]
    pub source: RepaySource,
}

/// Installs a credit product version from its TOML text (see docs/products.md).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallProductRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// When the version starts to apply, ms since the epoch (default: now). Never in the past.
    pub effective_at_ms: Option<u64>,
    /// The product file's text, e.g. the contents of products/huabei.toml (at most 256 KiB).
    #[schema(max_length = 262_144)]
    pub toml: String,
}

/// Converts an unbilled credit purchase into an instalment plan.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertToInstalmentsRequest {
    /// Idempotency key; also the plan's id.
    pub command_id: u64,
    /// The user who paid.
    pub user_id: u64,
    /// The purchase (its payment id).
    pub payment_id: u64,
    /// 3, 6, 9 or 12, as the product offers.
    #[schema(minimum = 1, maximum = 255)]
    pub periods: u8,
}

/// Converts the latest statement's billed principal into an instalment plan (账单分期).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertStatementRequest {
    /// Idempotency key; also the plan's id.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// 3, 6, 9 or 12, as the product offers.
    #[schema(minimum = 1, maximum = 255)]
    pub periods: u8,
}

/// Reviews a credit line under the product's line policy.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewCreditLineRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
}

/// Pays an instalment plan off early (its unbilled fees lapse).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayOffInstalmentsRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// The plan (the command id that created it).
    pub plan_id: u64,
    /// `balance` or `bank`.
    #[schema(value_type = String, example = "bank", pattern = "^(balance|bank)$")]
    pub source: RepaySource,
}

/// Requests an official credit withdrawal (取现) to the balance.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestWithdrawalRequest {
    /// Idempotency key; also the challenge id when a step-up is needed.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// Minor units to land in the balance (the fee comes on top, on the credit line).
    #[schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)]
    pub amount_minor: u64,
    /// `daily_expenses`, `education`, `medical`, `travel`, `home` or `other`.
    #[schema(value_type = String, example = "education", pattern = "^(daily_expenses|education|medical|travel|home|other)$")]
    pub purpose: model::WithdrawalPurpose,
}

/// Completes a challenged withdrawal after the user passed step-up verification.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyWithdrawalRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// The challenged request's command id.
    pub withdrawal_id: u64,
}

/// Moves a user's credit score (negative lowers it).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustScoreRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// Points to add, −950 to 950.
    #[schema(minimum = -950, maximum = 950)]
    pub points: i32,
}

/// Freezes or unfreezes automatic rescoring.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetScoreFrozenRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// True to freeze.
    pub frozen: bool,
}

/// Pays the bill: the whole billed balance, or the rest of the minimum.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepayStatementRequest {
    /// Idempotency key.
    pub command_id: u64,
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// `balance` or `bank`.
    #[schema(value_type = String, example = "bank", pattern = "^(balance|bank)$")]
    pub source: RepaySource,
    /// True (default) for everything billed and unpaid, false for the rest of the minimum.
    #[serde(default = "default_in_full")]
    pub in_full: bool,
}

fn default_in_full() -> bool {
    true
}

/// The rules file a request carries, parsed and validated (422 `invalid_rules` with its line).
fn rules_of(request: &InstallRulesRequest) -> Result<model::risk::RuleSet, ApiError> {
    toml_within_bounds(&request.toml)?;
    crate::rules_file::parse(&request.toml, "toml")
        .map_err(|error| ApiError::invalid("invalid_rules", error.to_string()))
}

/// Any command, tagged by `type`, for `POST /v1/batch`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CommandRequest {
    /// See `POST /v1/users`.
    OpenUser(OpenUserRequest),
    /// See `POST /v1/merchants`.
    OpenMerchant(OpenMerchantRequest),
    /// See `POST /v1/credit-limits`.
    SetCreditLimit(SetCreditLimitRequest),
    /// See `POST /v1/credit-freezes`.
    SetCreditFrozen(SetCreditFrozenRequest),
    /// See `POST /v1/top-ups`.
    TopUp(UserAmountRequest),
    /// See `POST /v1/payments`.
    Pay(PayRequest),
    /// See `POST /v1/authorizations`.
    Authorize(AuthorizeRequest),
    /// See `POST /v1/captures`.
    Capture(CaptureRequest),
    /// See `POST /v1/releases`.
    Release(ReleaseRequest),
    /// See `POST /v1/refunds`.
    Refund(RefundRequest),
    /// See `POST /v1/transfers`.
    Transfer(TransferRequest),
    /// See `POST /v1/withdrawals`.
    WithdrawToBank(UserAmountRequest),
    /// See `POST /v1/payouts`.
    PayoutMerchant(PayoutRequest),
    /// See `POST /v1/repayments`.
    Repay(RepayRequest),
    /// See `POST /v1/products`.
    InstallProduct(InstallProductRequest),
    /// See `POST /v1/instalments`.
    ConvertToInstalments(ConvertToInstalmentsRequest),
    /// See `POST /v1/instalment-payoffs`.
    PayOffInstalments(PayOffInstalmentsRequest),
    /// See `POST /v1/credit-withdrawals`.
    RequestWithdrawal(RequestWithdrawalRequest),
    /// See `POST /v1/credit-withdrawal-verifications`.
    VerifyWithdrawal(VerifyWithdrawalRequest),
    /// See `POST /v1/score-adjustments`.
    AdjustScore(AdjustScoreRequest),
    /// See `POST /v1/score-freezes`.
    SetScoreFrozen(SetScoreFrozenRequest),
    /// See `POST /v1/statement-repayments`.
    RepayStatement(RepayStatementRequest),
    /// See `POST /v1/statement-instalments`.
    ConvertStatement(ConvertStatementRequest),
    /// See `POST /v1/line-reviews`.
    ReviewCreditLine(ReviewCreditLineRequest),
    /// See `POST /v1/ties`.
    LinkTie(LinkTieRequest),
    /// See `POST /v1/rules`.
    InstallRules(InstallRulesRequest),
    /// See `POST /v1/rule-proposals`.
    ProposeRules(InstallRulesRequest),
    /// See `POST /v1/rule-approvals`.
    ApproveRules(ApproveRulesRequest),
    /// See `POST /v1/case-assignments`.
    AssignCase(AssignCaseRequest),
    /// See `POST /v1/challenge-verifications`.
    VerifyChallenge(VerifyChallengeRequest),
    /// See `POST /v1/case-decisions`.
    DecideCase(DecideCaseRequest),
    /// See `POST /v1/appeals`.
    AppealCase(AppealCaseRequest),
    /// See `POST /v1/risk-action-lifts`.
    LiftAction(LiftActionRequest),
    /// See `POST /v1/mandates`.
    GrantMandate(GrantMandateRequest),
    /// See `POST /v1/mandate-revocations`.
    RevokeMandate(RevokeMandateRequest),
    /// See `POST /v1/merchant-transfers`.
    MerchantTransfer(MerchantTransferRequest),
    /// See `POST /v1/agent-cash-outs`.
    AgentCashOut(AgentCashOutRequest),
    /// See `POST /v1/refused-attempts`.
    RecordRefusedAttempt(RefusedAttemptRequest),
}

/// Up to [`BATCH_MAX_COMMANDS`] commands applied in order, each with its own result.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The commands, 1 to 10,000.
    #[schema(min_items = 1, max_items = 10_000)]
    pub commands: Vec<CommandRequest>,
}

/// The rules between fields that the handlers check and no field's own schema can state, as
/// JSON Schema for each request's component schema (by name), so that the OpenAPI document and
/// the server agree on what is valid. Rules no JSON Schema can state (a transfer's payer and
/// payee differ; a TOML file is a valid product or rules file) are in the field descriptions.
pub fn cross_field_schemas() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let some_funding = json!({"anyOf": [
        {"required": ["credit_minor"], "properties": {"credit_minor": {"minimum": 1}}},
        {"required": ["balance_minor"], "properties": {"balance_minor": {"minimum": 1}}},
    ]});
    vec![
        ("PayRequest", some_funding.clone()),
        ("AuthorizeRequest", some_funding),
        (
            "LinkTieRequest",
            json!({"oneOf": [
                {"required": ["user_id"], "properties": {"user_id": {"type": "integer"}}},
                {"required": ["merchant_id"], "properties": {"merchant_id": {"type": "integer"}}},
            ]}),
        ),
        (
            "MerchantTransferRequest",
            json!({"oneOf": [
                {"required": ["to_user_id"], "properties": {"to_user_id": {"type": "integer"}}},
                {"required": ["to_merchant_id"], "properties": {"to_merchant_id": {"type": "integer"}}},
            ]}),
        ),
        (
            "AppealCaseRequest",
            json!({"anyOf": [
                {"required": ["text"], "properties": {"text": {"pattern": "\\S"}}},
                {"required": ["evidence"], "properties": {"evidence": {"minItems": 1}}},
            ]}),
        ),
    ]
}

/// The most commands one batch request may carry.
pub const BATCH_MAX_COMMANDS: usize = 10_000;

fn amount(field: &str, minor: u64) -> Result<Amount, ApiError> {
    Amount::new(minor).ok_or_else(|| {
        ApiError::invalid("invalid_amount", format!("{field} must be between 1 and {}, got {minor}", Amount::MAX))
    })
}

fn periods(periods: u8) -> Result<u8, ApiError> {
    match periods {
        0 => Err(ApiError::invalid(
            "invalid_periods",
            "periods must be 1 to 255 (the product lists the plans it offers)",
        )),
        periods => Ok(periods),
    }
}

fn currency(code: &str) -> Result<Currency, ApiError> {
    Currency::parse(code).ok_or_else(|| {
        ApiError::invalid("invalid_currency", format!("currency must be three upper-case letters, got {code:?}"))
    })
}

/// The largest product or rules file the API takes, in characters (as JSON Schema's `maxLength`
/// counts them; the shipped files are 3 and 12 KB).
pub const TOML_MAX_CHARS: usize = 256 << 10;

fn toml_within_bounds(toml: &str) -> Result<(), ApiError> {
    let length = toml.chars().count();
    match length <= TOML_MAX_CHARS {
        true => Ok(()),
        false => {
            Err(ApiError::invalid("invalid_body", format!("toml is {length} characters, at most {TOML_MAX_CHARS}")))
        }
    }
}

/// The largest part of a payment's funding, in minor units: half of [`Amount::MAX`], so that any
/// two parts add up to an amount; a bound the OpenAPI document can state, unlike a bound on the sum.
pub const FUNDING_PART_MAX: u64 = Amount::MAX / 2;

fn funding(credit_minor: u64, balance_minor: u64) -> Result<Funding, ApiError> {
    let within = credit_minor <= FUNDING_PART_MAX && balance_minor <= FUNDING_PART_MAX;
    match within && credit_minor + balance_minor > 0 {
        true => Ok(Funding { credit_minor, balance_minor }),
        false => Err(ApiError::invalid(
            "invalid_amount",
            format!("credit_minor and balance_minor are each 0 to {FUNDING_PART_MAX}, and not both 0"),
        )),
    }
}

impl CommandRequest {
    /// The command id the client chose.
    pub fn command_id(&self) -> u64 {
        match self {
            CommandRequest::OpenUser(request) => request.command_id,
            CommandRequest::OpenMerchant(request) => request.command_id,
            CommandRequest::SetCreditLimit(request) => request.command_id,
            CommandRequest::SetCreditFrozen(request) => request.command_id,
            CommandRequest::TopUp(request) | CommandRequest::WithdrawToBank(request) => request.command_id,
            CommandRequest::Pay(request) => request.command_id,
            CommandRequest::Authorize(request) => request.command_id,
            CommandRequest::Capture(request) => request.command_id,
            CommandRequest::Release(request) => request.command_id,
            CommandRequest::Refund(request) => request.command_id,
            CommandRequest::Transfer(request) => request.command_id,
            CommandRequest::PayoutMerchant(request) => request.command_id,
            CommandRequest::Repay(request) => request.command_id,
            CommandRequest::InstallProduct(request) => request.command_id,
            CommandRequest::ConvertToInstalments(request) => request.command_id,
            CommandRequest::PayOffInstalments(request) => request.command_id,
            CommandRequest::RequestWithdrawal(request) => request.command_id,
            CommandRequest::VerifyWithdrawal(request) => request.command_id,
            CommandRequest::AdjustScore(request) => request.command_id,
            CommandRequest::SetScoreFrozen(request) => request.command_id,
            CommandRequest::RepayStatement(request) => request.command_id,
            CommandRequest::ConvertStatement(request) => request.command_id,
            CommandRequest::ReviewCreditLine(request) => request.command_id,
            CommandRequest::LinkTie(request) => request.command_id,
            CommandRequest::InstallRules(request) | CommandRequest::ProposeRules(request) => request.command_id,
            CommandRequest::ApproveRules(request) => request.command_id,
            CommandRequest::AssignCase(request) => request.command_id,
            CommandRequest::VerifyChallenge(request) => request.command_id,
            CommandRequest::DecideCase(request) => request.command_id,
            CommandRequest::AppealCase(request) => request.command_id,
            CommandRequest::LiftAction(request) => request.command_id,
            CommandRequest::GrantMandate(request) => request.command_id,
            CommandRequest::RevokeMandate(request) => request.command_id,
            CommandRequest::MerchantTransfer(request) => request.command_id,
            CommandRequest::AgentCashOut(request) => request.command_id,
            CommandRequest::RecordRefusedAttempt(request) => request.command_id,
        }
    }

    /// The merchant a merchant-scoped command acts for, if the command is one a merchant may send.
    fn merchant_scope(&self) -> Option<u64> {
        match self {
            CommandRequest::Pay(request) => Some(request.merchant_id),
            CommandRequest::Authorize(request) => Some(request.merchant_id),
            CommandRequest::Capture(request) => Some(request.merchant_id),
            CommandRequest::Release(request) => Some(request.merchant_id),
            CommandRequest::Refund(request) => Some(request.merchant_id),
            CommandRequest::MerchantTransfer(request) => Some(request.merchant_id),
            CommandRequest::AgentCashOut(request) => Some(request.agent_id),
            _ => None,
        }
    }

    /// Checks that the caller's role may send this command (least privilege).
    pub fn permit(&self, principal: &Principal) -> Result<(), ApiError> {
        let admin_only = matches!(
            self,
            CommandRequest::OpenMerchant(_)
                | CommandRequest::SetCreditLimit(_)
                | CommandRequest::SetCreditFrozen(_)
                | CommandRequest::PayoutMerchant(_)
                | CommandRequest::InstallProduct(_)
                | CommandRequest::AdjustScore(_)
                | CommandRequest::ReviewCreditLine(_)
                | CommandRequest::SetScoreFrozen(_)
                | CommandRequest::InstallRules(_)
                | CommandRequest::ProposeRules(_)
                | CommandRequest::ApproveRules(_)
        );
        let analyst_work = matches!(
            self,
            CommandRequest::DecideCase(_) | CommandRequest::LiftAction(_) | CommandRequest::AssignCase(_)
        );
        let allowed = match principal.role {
            Role::Admin => true,
            Role::Platform => !admin_only && !analyst_work,
            Role::Merchant => {
                self.merchant_scope().is_some()
                    && self.merchant_scope() == principal.merchant.map(|merchant| merchant.0)
            }
            Role::Analyst => analyst_work,
        };
        match allowed {
            true => Ok(()),
            false => Err(ApiError::forbidden(format!(
                "key {} ({:?}) may not send command {} {}",
                principal.key_id,
                principal.role,
                self.command_id(),
                match principal.role {
                    Role::Merchant => "for this merchant",
                    _ => "of this type",
                }
            ))),
        }
    }

    /// Validates the body into an engine command sent by `principal`; the writer stamps its time.
    pub fn into_draft(self, principal: &Principal) -> Result<Draft, ApiError> {
        let actor = principal.actor;
        let initiator = match principal.role {
            Role::Merchant => model::Initiator::Merchant,
            _ => model::Initiator::Platform,
        };
        let id = CommandId(self.command_id());
        let kind = match self {
            CommandRequest::OpenUser(request) => CommandKind::OpenUser(kind::OpenUser {
                user: UserId(request.user_id),
                currency: currency(&request.currency)?,
                identity: request.identity,
            }),
            CommandRequest::OpenMerchant(request) => CommandKind::OpenMerchant(kind::OpenMerchant {
                merchant: MerchantId(request.merchant_id),
                currency: currency(&request.currency)?,
                category: request.category,
                verification: request.verification,
                partner: request.partner,
            }),
            CommandRequest::SetCreditLimit(request) => {
                if request.limit_minor > Amount::MAX {
                    let message = format!("limit_minor must be at most {}", Amount::MAX);
                    return Err(ApiError::invalid("invalid_amount", message));
                }
                CommandKind::SetCreditLimit(kind::SetCreditLimit {
                    user: UserId(request.user_id),
                    limit_minor: request.limit_minor,
                })
            }
            CommandRequest::SetCreditFrozen(request) => CommandKind::SetCreditFrozen(kind::SetCreditFrozen {
                user: UserId(request.user_id),
                frozen: request.frozen,
            }),
            CommandRequest::TopUp(request) => CommandKind::TopUp(kind::TopUp {
                user: UserId(request.user_id),
                amount: amount("amount_minor", request.amount_minor)?,
            }),
            CommandRequest::Pay(request) => {
                let (user, merchant, funding) = (
                    UserId(request.user_id),
                    MerchantId(request.merchant_id),
                    funding(request.credit_minor, request.balance_minor)?,
                );
                match request.beneficiary {
                    Some(beneficiary) => {
                        CommandKind::PayFor(kind::PayFor { user, merchant, funding, beneficiary: beneficiary.into() })
                    }
                    None => CommandKind::Pay(kind::Pay { user, merchant, funding }),
                }
            }
            CommandRequest::Authorize(request) => {
                if request.hold_ms == 0 || request.hold_ms > engine::AUTHORIZATION_MAX_MS {
                    let message = format!("hold_ms must be between 1 and {}", engine::AUTHORIZATION_MAX_MS);
                    return Err(ApiError::invalid("invalid_hold", message));
                }
                CommandKind::Authorize(kind::Authorize {
                    user: UserId(request.user_id),
                    merchant: MerchantId(request.merchant_id),
                    funding: funding(request.credit_minor, request.balance_minor)?,
                    hold_ms: request.hold_ms,
                })
            }
            CommandRequest::Capture(request) => CommandKind::Capture(kind::Capture {
                authorization: CommandId(request.authorization_id),
                merchant: MerchantId(request.merchant_id),
                amount: amount("amount_minor", request.amount_minor)?,
            }),
            CommandRequest::Release(request) => CommandKind::Release(kind::Release {
                authorization: CommandId(request.authorization_id),
                merchant: MerchantId(request.merchant_id),
            }),
            CommandRequest::Refund(request) => CommandKind::Refund(kind::Refund {
                payment: CommandId(request.payment_id),
                merchant: MerchantId(request.merchant_id),
                amount: amount("amount_minor", request.amount_minor)?,
            }),
            CommandRequest::Transfer(request) => CommandKind::Transfer(kind::Transfer {
                from: UserId(request.from_user_id),
                to: UserId(request.to_user_id),
                amount: amount("amount_minor", request.amount_minor)?,
            }),
            CommandRequest::WithdrawToBank(request) => CommandKind::WithdrawToBank(kind::WithdrawToBank {
                user: UserId(request.user_id),
                amount: amount("amount_minor", request.amount_minor)?,
            }),
            CommandRequest::PayoutMerchant(request) => CommandKind::PayoutMerchant(kind::PayoutMerchant {
                merchant: MerchantId(request.merchant_id),
                amount: amount("amount_minor", request.amount_minor)?,
            }),
            CommandRequest::Repay(request) => CommandKind::Repay(kind::Repay {
                user: UserId(request.user_id),
                amount: amount("amount_minor", request.amount_minor)?,
                source: request.source,
            }),
            CommandRequest::InstallProduct(request) => {
                toml_within_bounds(&request.toml)?;
                let product = crate::product_file::parse(&request.toml, "toml")
                    .map_err(|error| ApiError::invalid("invalid_product", error.to_string()))?;
                CommandKind::InstallProduct(kind::InstallProduct {
                    product: Box::new(product),
                    effective_at_ms: request.effective_at_ms,
                })
            }
            CommandRequest::ConvertToInstalments(request) => {
                CommandKind::ConvertToInstalments(kind::ConvertToInstalments {
                    user: UserId(request.user_id),
                    payment: CommandId(request.payment_id),
                    periods: periods(request.periods)?,
                })
            }
            CommandRequest::PayOffInstalments(request) => CommandKind::PayOffInstalments(kind::PayOffInstalments {
                user: UserId(request.user_id),
                plan: CommandId(request.plan_id),
                source: request.source,
            }),
            CommandRequest::RequestWithdrawal(request) => CommandKind::RequestWithdrawal(kind::RequestWithdrawal {
                user: UserId(request.user_id),
                amount: amount("amount_minor", request.amount_minor)?,
                purpose: request.purpose,
            }),
            CommandRequest::VerifyWithdrawal(request) => CommandKind::VerifyWithdrawal(kind::VerifyWithdrawal {
                user: UserId(request.user_id),
                withdrawal: CommandId(request.withdrawal_id),
            }),
            CommandRequest::AdjustScore(request) => {
                if !(-SCORE_ADJUSTMENT_MAX..=SCORE_ADJUSTMENT_MAX).contains(&request.points) {
                    let message = format!("points must be -{SCORE_ADJUSTMENT_MAX} to {SCORE_ADJUSTMENT_MAX}");
                    return Err(ApiError::invalid("invalid_points", message));
                }
                CommandKind::AdjustScore(kind::AdjustScore { user: UserId(request.user_id), points: request.points })
            }
            CommandRequest::SetScoreFrozen(request) => CommandKind::SetScoreFrozen(kind::SetScoreFrozen {
                user: UserId(request.user_id),
                frozen: request.frozen,
            }),
            CommandRequest::ReviewCreditLine(request) => {
                CommandKind::ReviewCreditLine(kind::ReviewCreditLine { user: UserId(request.user_id) })
            }
            CommandRequest::ConvertStatement(request) => {
                CommandKind::ConvertStatementToInstalments(kind::ConvertStatementToInstalments {
                    user: UserId(request.user_id),
                    periods: periods(request.periods)?,
                })
            }
            CommandRequest::RepayStatement(request) => CommandKind::RepayStatement(kind::RepayStatement {
                user: UserId(request.user_id),
                source: request.source,
                in_full: request.in_full,
            }),
            CommandRequest::LinkTie(request) => {
                let party = match (request.user_id, request.merchant_id) {
                    (Some(user), None) => Party::User(UserId(user)),
                    (None, Some(merchant)) => Party::Merchant(MerchantId(merchant)),
                    _ => return Err(ApiError::invalid("invalid_party", "give exactly one of user_id and merchant_id")),
                };
                CommandKind::LinkTie(kind::LinkTie { party, tie: request.tie.into() })
            }
            CommandRequest::InstallRules(request) => {
                CommandKind::InstallRules(kind::InstallRules { rules: Box::new(rules_of(&request)?) })
            }
            CommandRequest::ProposeRules(request) => {
                CommandKind::ProposeRules(kind::ProposeRules { rules: Box::new(rules_of(&request)?) })
            }
            CommandRequest::ApproveRules(request) => {
                CommandKind::ApproveRules(kind::ApproveRules { proposal: CommandId(request.proposal_id) })
            }
            CommandRequest::AssignCase(request) => {
                let to = match request.key_id.as_deref() {
                    None => None,
                    Some(key_id) => {
                        let hex =
                            key_id.len() == 8 && key_id.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
                        Some(crate::auth::actor_of(key_id)).filter(|actor| hex && *actor != model::ActorId::SERVER)
                    }
                };
                if request.key_id.is_some() && to.is_none() {
                    let message = "key_id must be a key's id: eight lower-case hex digits, not all zero";
                    return Err(ApiError::invalid("invalid_key_id", message));
                }
                CommandKind::AssignCase(kind::AssignCase { case: CommandId(request.case_id), to })
            }
            CommandRequest::VerifyChallenge(request) => CommandKind::VerifyChallenge(kind::VerifyChallenge {
                user: UserId(request.user_id),
                challenge: CommandId(request.challenge_id),
            }),
            CommandRequest::DecideCase(request) => CommandKind::DecideCase(kind::DecideCase {
                case: CommandId(request.case_id),
                approve: request.approve,
                label: request.label,
            }),
            CommandRequest::AppealCase(request) => {
                if !model::risk::appeal_within_bounds(&request.evidence, &request.text) {
                    let message = format!(
                        "an appeal carries a text of at most {} characters and at most {} evidence references of 1 to {} characters, and not nothing",
                        model::risk::APPEAL_TEXT_MAX_CHARS,
                        model::risk::EVIDENCE_MAX,
                        model::risk::REFERENCE_MAX_CHARS
                    );
                    return Err(ApiError::invalid("invalid_appeal", message));
                }
                CommandKind::AppealCase(kind::AppealCase {
                    case: CommandId(request.case_id),
                    evidence: request.evidence,
                    text: request.text,
                })
            }
            CommandRequest::LiftAction(request) => {
                CommandKind::LiftAction(kind::LiftAction { user: UserId(request.user_id), action: request.action })
            }
            CommandRequest::GrantMandate(request) => {
                let per_payment = amount("per_payment_max_minor", request.per_payment_max_minor)?;
                let per_month = amount("per_month_max_minor", request.per_month_max_minor)?;
                if per_month < per_payment {
                    let message = "per_month_max_minor must be at least per_payment_max_minor";
                    return Err(ApiError::invalid("invalid_amount", message));
                }
                CommandKind::GrantMandate(kind::GrantMandate {
                    user: UserId(request.user_id),
                    merchant: MerchantId(request.merchant_id),
                    per_payment_max_minor: per_payment.minor(),
                    per_month_max_minor: per_month.minor(),
                })
            }
            CommandRequest::RevokeMandate(request) => CommandKind::RevokeMandate(kind::RevokeMandate {
                user: UserId(request.user_id),
                merchant: MerchantId(request.merchant_id),
            }),
            CommandRequest::MerchantTransfer(request) => {
                let (merchant, amount) =
                    (MerchantId(request.merchant_id), amount("amount_minor", request.amount_minor)?);
                match (request.to_user_id, request.to_merchant_id) {
                    (Some(to), None) => {
                        CommandKind::MerchantTransfer(kind::MerchantTransfer { merchant, to: UserId(to), amount })
                    }
                    (None, Some(to)) => CommandKind::MerchantToMerchant(kind::MerchantToMerchant {
                        merchant,
                        to: MerchantId(to),
                        amount,
                    }),
                    _ => {
                        let message = "give exactly one of to_user_id and to_merchant_id";
                        return Err(ApiError::invalid("invalid_party", message));
                    }
                }
            }
            CommandRequest::AgentCashOut(request) => CommandKind::AgentCashOut(kind::AgentCashOut {
                user: UserId(request.user_id),
                agent: MerchantId(request.agent_id),
                amount: amount("amount_minor", request.amount_minor)?,
            }),
            CommandRequest::RecordRefusedAttempt(request) => {
                CommandKind::RecordRefusedAttempt(kind::RecordRefusedAttempt {
                    user: UserId(request.user_id),
                    amount: amount("amount_minor", request.amount_minor)?,
                })
            }
        };
        Ok(Draft { id, actor, initiator, kind })
    }
}

/// The result of one command.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CommandResult {
    /// The client's command id.
    pub command_id: u64,
    /// The journal sequence of the command's first application.
    pub sequence: u64,
    /// True when this was a retry of an earlier command id: the result is the original one.
    pub replayed: bool,
    /// `accepted`, `challenged` (waiting for step-up verification), `held_for_review` (funds
    /// held, a case opened) or `rejected`. A merchant key sees `pending` for the two risk states,
    /// and never the decision, its reasons or the case.
    pub status: String,
    /// For rejections, the stable code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// For rejections, what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For payments, captures and refunds: minor units on the credit line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_minor: Option<u64>,
    /// For payments, captures and refunds: minor units on the balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_minor: Option<u64>,
    /// For credit withdrawals: the amount credited to the balance; for statement repayments:
    /// the amount repaid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_minor: Option<u64>,
    /// For credit withdrawals: the fee charged to the credit line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee_minor: Option<u64>,
    /// For line reviews: the limit now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_minor: Option<u64>,
    /// For a challenged command (`status` = `challenged`): verify before this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_expires_at_ms: Option<u64>,
    /// For a command held for review (`status` = `held_for_review`): the case opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<u64>,
    /// The risk decision (`allow`, `challenge`, `review`, `deny`) when a rule fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The reason codes of the active rules that fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
}

impl CommandResult {
    /// The result of a committed command as `principal` may see it: a merchant key gets the
    /// outcome without the risk engine's workings (no decision, reasons or case; a command held
    /// for review or waiting for the user's step-up is `pending`), so that a colluding merchant
    /// cannot probe the rules.
    pub fn for_principal(command_id: u64, committed: &Committed, principal: &Principal) -> CommandResult {
        let mut result = CommandResult::new(command_id, committed);
        if principal.role == Role::Merchant {
            result.decision = None;
            result.reasons = None;
            result.case_id = None;
            result.challenge_expires_at_ms = None;
            if matches!(result.status.as_str(), "held_for_review" | "challenged") {
                result.status = "pending".into();
            }
            if result.code.as_deref() == Some(model::Rejection::RiskDenied.code()) {
                result.code = Some(MERCHANT_DECLINED.into());
                result.message = Some(MERCHANT_DECLINED_MESSAGE.into());
            }
        }
        result
    }

    /// Builds the result of a committed command, with everything the engine decided.
    fn new(command_id: u64, committed: &Committed) -> CommandResult {
        let mut result = CommandResult {
            command_id,
            sequence: committed.sequence,
            replayed: committed.replayed,
            status: "accepted".into(),
            code: None,
            message: None,
            credit_minor: None,
            balance_minor: None,
            amount_minor: None,
            fee_minor: None,
            limit_minor: None,
            challenge_expires_at_ms: None,
            case_id: None,
            decision: committed.decision.as_ref().map(|decision| decision.kind.name().to_owned()),
            reasons: committed.decision.as_ref().map(|decision| decision.reasons.clone()),
        };
        match committed.outcome {
            Ok(Accepted::Split { credit_minor, balance_minor }) => {
                result.credit_minor = Some(credit_minor);
                result.balance_minor = Some(balance_minor);
            }
            Ok(Accepted::Withdrawn { amount_minor, fee_minor }) => {
                result.amount_minor = Some(amount_minor);
                result.fee_minor = Some(fee_minor);
            }
            Ok(Accepted::Repaid { amount_minor }) => result.amount_minor = Some(amount_minor),
            Ok(Accepted::LineReviewed { to_minor, .. }) => result.limit_minor = Some(to_minor),
            Ok(Accepted::Challenged { expires_at_ms }) => {
                result.status = "challenged".into();
                result.challenge_expires_at_ms = Some(expires_at_ms);
            }
            Ok(Accepted::HeldForReview { case }) => {
                result.status = "held_for_review".into();
                result.case_id = Some(case.0);
            }
            Ok(_) => {}
            Err(rejection) => {
                result.status = "rejected".into();
                result.code = Some(rejection.code().into());
                result.message = Some(rejection.message().into());
            }
        }
        result
    }
}

/// The code a merchant key gets for a command the risk engine denied (others get `risk_denied`
/// with the reasons).
pub const MERCHANT_DECLINED: &str = "declined";
/// The message that goes with [`MERCHANT_DECLINED`].
pub const MERCHANT_DECLINED_MESSAGE: &str = "the platform declined this payment";

/// The results of a batch, in request order.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchResult {
    /// One result per command.
    pub results: Vec<CommandResult>,
}

/// A user's credit line and balance.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// Currency code.
    pub currency: String,
    /// Identity verification level.
    #[schema(value_type = String)]
    pub identity: IdentityLevel,
    /// Credit limit.
    pub limit_minor: u64,
    /// Credit used (owed); negative is a credit balance left by refunds after repayment.
    pub credit_used_minor: i64,
    /// Credit held by authorizations.
    pub credit_held_minor: u64,
    /// Credit available: limit − used − held.
    pub credit_available_minor: i64,
    /// Balance (余额).
    pub balance_minor: u64,
    /// Balance held by authorizations.
    pub balance_held_minor: u64,
    /// Whether credit use is frozen.
    pub credit_frozen: bool,
    /// When the user was opened, ms since the epoch.
    pub opened_at_ms: u64,
    /// What is owed by bucket and the repayment status.
    pub billing: BillingView,
    /// Risk account actions in force, with when each lapses.
    pub risk_actions: Vec<RiskActionView>,
}

/// A risk account action in force on a user.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RiskActionView {
    /// `freeze_credit`, `cut_line`, `lower_score` or `watch_list`.
    #[schema(value_type = String)]
    pub action: AccountAction,
    /// When it lapses, ms since the epoch; absent when it is kept until an analyst lifts it (a
    /// case decided as fraud, or an action on the payee of money sent back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lapses_at_ms: Option<u64>,
}

impl From<User<'_>> for UserView {
    fn from(user: User<'_>) -> UserView {
        UserView {
            user_id: user.account.id.0,
            currency: user.account.currency.to_string(),
            identity: user.account.identity,
            limit_minor: user.account.limit_minor,
            credit_used_minor: user.account.credit_used_minor,
            credit_held_minor: user.account.credit_held_minor,
            credit_available_minor: user.account.credit_available_minor().clamp(i64::MIN as i128, i64::MAX as i128)
                as i64,
            balance_minor: user.account.balance_minor,
            balance_held_minor: user.account.balance_held_minor,
            credit_frozen: user.account.credit_frozen,
            opened_at_ms: user.account.opened_at_ms,
            risk_actions: user
                .risk
                .actions_in_force()
                .map(|(action, lapses_at_ms)| RiskActionView { action, lapses_at_ms })
                .collect(),
            billing: BillingView::from(&user.credit.billing),
        }
    }
}

/// A merchant and its settlement account.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MerchantView {
    /// The merchant it acts on, by the id it was opened with (none open: 404 `unknown_merchant`).
    pub merchant_id: u64,
    /// Currency code.
    pub currency: String,
    /// Category.
    #[schema(value_type = String)]
    pub category: MerchantCategory,
    /// Verification level.
    #[schema(value_type = String)]
    pub verification: MerchantVerification,
    /// Platform partner.
    pub partner: bool,
    /// Money owed to the merchant.
    pub settlement_minor: u64,
    /// When the merchant was opened.
    pub opened_at_ms: u64,
}

impl From<Merchant<'_>> for MerchantView {
    fn from(merchant: Merchant<'_>) -> MerchantView {
        MerchantView {
            merchant_id: merchant.account.id.0,
            currency: merchant.account.currency.to_string(),
            category: merchant.account.category,
            verification: merchant.account.verification,
            partner: merchant.account.partner,
            settlement_minor: merchant.account.settlement_minor,
            opened_at_ms: merchant.account.opened_at_ms,
        }
    }
}

/// One refund of a payment.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RefundView {
    /// The refund's command id.
    pub command_id: u64,
    /// Minor units returned to the credit line.
    pub credit_minor: u64,
    /// Minor units returned to the balance.
    pub balance_minor: u64,
}

/// A captured payment with its refunds.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// The payment id (the command id that paid or authorized).
    pub payment_id: u64,
    /// The paying user.
    pub user_id: u64,
    /// The merchant it acts on, by the id it was opened with (none open: 404 `unknown_merchant`).
    pub merchant_id: u64,
    /// When it was captured.
    pub captured_at_ms: u64,
    /// Captured from credit.
    pub captured_credit_minor: u64,
    /// Captured from balance.
    pub captured_balance_minor: u64,
    /// Refunded to credit so far.
    pub refunded_credit_minor: u64,
    /// Refunded to balance so far.
    pub refunded_balance_minor: u64,
    /// Each refund, oldest first.
    pub refunds: Vec<RefundView>,
}

impl PaymentView {
    /// Builds the view of a payment.
    pub fn new(id: CommandId, payment: &Payment, refunds: &[(CommandId, Funding)]) -> PaymentView {
        let refunded = Funding::total(refunds.iter().map(|(_, split)| *split));
        PaymentView {
            payment_id: id.0,
            user_id: payment.user.0,
            merchant_id: payment.merchant.0,
            captured_at_ms: payment.captured_at_ms,
            captured_credit_minor: payment.captured.credit_minor,
            captured_balance_minor: payment.captured.balance_minor,
            refunded_credit_minor: refunded.credit_minor,
            refunded_balance_minor: refunded.balance_minor,
            refunds: refunds
                .iter()
                .map(|(id, split)| RefundView {
                    command_id: id.0,
                    credit_minor: split.credit_minor,
                    balance_minor: split.balance_minor,
                })
                .collect(),
        }
    }
}

/// A live authorization.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuthorizationView {
    /// The authorization id.
    pub authorization_id: u64,
    /// The user whose funds are held.
    pub user_id: u64,
    /// The merchant it acts on, by the id it was opened with (none open: 404 `unknown_merchant`).
    pub merchant_id: u64,
    /// Held on the credit line.
    pub credit_minor: u64,
    /// Held on the balance.
    pub balance_minor: u64,
    /// When the hold lapses, ms since the epoch.
    pub expires_at_ms: u64,
}

impl AuthorizationView {
    /// Builds the view of an authorization.
    pub fn new(id: CommandId, authorization: &Authorization) -> AuthorizationView {
        AuthorizationView {
            authorization_id: id.0,
            user_id: authorization.user.0,
            merchant_id: authorization.merchant.0,
            credit_minor: authorization.funding.credit_minor,
            balance_minor: authorization.funding.balance_minor,
            expires_at_ms: authorization.expires_at_ms,
        }
    }
}

/// What a user owes on the credit line, by bucket, and their repayment status.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BillingView {
    /// Principal of the open cycle (negative: a credit balance).
    pub unbilled_principal_minor: i64,
    /// Fees of the open cycle.
    pub unbilled_fees_minor: u64,
    /// Billed on the latest statement, not yet due (principal and fees).
    pub current_minor: u64,
    /// Billed, past the due date, unpaid (principal and fees).
    pub past_due_minor: u64,
    /// Penalties unpaid.
    pub penalties_minor: u64,
    /// Repaid since the latest statement.
    pub repaid_since_statement_minor: u64,
    /// The latest statement's minimum payment.
    pub minimum_due_minor: u64,
    /// When the latest statement falls due (exclusive), ms since the epoch.
    pub due_before_ms: Option<u64>,
    /// Minimum payments past their due date and unpaid.
    pub overdue_minimum_minor: u64,
    /// Days past due now (0 when current).
    pub days_past_due: u32,
    /// Delinquency bucket: `current`, `1-30`, `31-60`, `61-90` or `90+` days past due.
    pub delinquency_bucket: String,
    /// The most days past due ever.
    pub worst_days_past_due: u32,
    /// Statements so far.
    pub statements: u32,
}

impl From<&engine::Billing> for BillingView {
    fn from(billing: &engine::Billing) -> BillingView {
        let latest = billing.statements.last();
        BillingView {
            unbilled_principal_minor: billing.unbilled_principal_minor,
            unbilled_fees_minor: billing.unbilled_fees_minor,
            current_minor: billing.current_principal_minor + billing.current_fees_minor,
            past_due_minor: billing.past_due_principal_minor + billing.past_due_fees_minor,
            penalties_minor: billing.penalties_minor,
            repaid_since_statement_minor: billing.repaid_since_statement_minor,
            minimum_due_minor: latest.map_or(0, |statement| statement.minimum_due_minor),
            due_before_ms: latest.map(|statement| statement.due_before_ms),
            overdue_minimum_minor: billing.overdue_minimum_minor,
            days_past_due: billing.days_past_due,
            delinquency_bucket: billing.delinquency_bucket().into(),
            worst_days_past_due: billing.worst_days_past_due,
            statements: billing.statements.len() as u32,
        }
    }
}

/// A statement (账单).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StatementView {
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// 1 for the first statement.
    pub number: u32,
    /// When the cycle closed, ms since the epoch.
    pub closed_at_ms: u64,
    /// Pay before this (ms since the epoch) to be on time.
    pub due_before_ms: u64,
    /// The product version that billed it.
    pub product_version: u32,
    /// Owed and unpaid from before this cycle.
    pub opening_balance_minor: i64,
    /// Credit purchases.
    pub purchases_minor: u64,
    /// Credit refunds.
    pub refunds_minor: u64,
    /// Fees.
    pub fees_minor: u64,
    /// Penalties.
    pub penalties_minor: u64,
    /// Repayments.
    pub repayments_minor: u64,
    /// Instalment principal billed (one period of each plan).
    pub instalments_minor: u64,
    /// Everything owed at close (negative: a credit balance).
    pub closing_balance_minor: i64,
    /// The least to pay by the due date.
    pub minimum_due_minor: u64,
}

impl StatementView {
    /// Builds the view of a statement.
    pub fn new(user: UserId, statement: &engine::Statement) -> StatementView {
        StatementView {
            user_id: user.0,
            number: statement.number,
            closed_at_ms: statement.closed_at_ms,
            due_before_ms: statement.due_before_ms,
            product_version: statement.product_version,
            opening_balance_minor: statement.opening_balance_minor,
            purchases_minor: statement.activity.purchases_minor,
            refunds_minor: statement.activity.refunds_minor,
            fees_minor: statement.activity.fees_minor,
            penalties_minor: statement.activity.penalties_minor,
            repayments_minor: statement.activity.repayments_minor,
            instalments_minor: statement.activity.instalments_minor,
            closing_balance_minor: statement.closing_balance_minor,
            minimum_due_minor: statement.minimum_due_minor,
        }
    }
}

/// An installed product version.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProductVersionView {
    /// When it takes effect, ms since the epoch.
    pub effective_at_ms: u64,
    /// The product's rules (as in the TOML file).
    #[schema(value_type = Object)]
    pub product: model::product::Product,
}

/// One period of an instalment schedule.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PeriodView {
    /// 1-based period number.
    pub period: u8,
    /// Principal billed in the period.
    pub principal_minor: u64,
    /// Fee billed in the period.
    pub fee_minor: u64,
}

/// A live instalment plan and the periods still to bill.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct InstalmentPlanView {
    /// The plan (the command id that created it).
    pub plan_id: u64,
    /// The purchase converted; absent for a converted statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<u64>,
    /// Number of periods.
    pub periods: u8,
    /// Periods billed so far.
    pub billed_periods: u8,
    /// Principal not yet billed (what an early payoff costs).
    pub remaining_principal_minor: u64,
    /// The periods still to bill.
    pub schedule: Vec<PeriodView>,
}

impl From<&engine::InstalmentPlanState> for InstalmentPlanView {
    fn from(plan: &engine::InstalmentPlanState) -> InstalmentPlanView {
        InstalmentPlanView {
            plan_id: plan.id.0,
            payment_id: plan.payment.map(|payment| payment.0),
            periods: plan.periods,
            billed_periods: plan.billed_periods,
            remaining_principal_minor: plan.remaining_principal_minor,
            schedule: plan
                .schedule()
                .iter()
                .map(|period| PeriodView {
                    period: period.period,
                    principal_minor: period.principal_minor,
                    fee_minor: period.fee_minor,
                })
                .collect(),
        }
    }
}

/// A user's credit score (信用分) with its band and recent history.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ScoreView {
    /// The user it acts on, by the id they were opened with (none open under it: 404 `unknown_user`).
    pub user_id: u64,
    /// 0 to 950.
    pub score: u16,
    /// The band under the product in force (absent before any product).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band: Option<String>,
    /// Whether automatic rescoring is frozen.
    pub frozen: bool,
    /// Total points from adjustments.
    pub adjustment: i32,
    /// The latest changes, oldest first, each with the points every reason contributed.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<ScoreChangeView>,
}

/// One change of a score as the API names it: `{"at_ms", "score", "reasons": [[name, points], …]}`.
/// The names are the API's, spelt here, not the credit crate's.
#[derive(Clone, Debug, Serialize)]
pub struct ScoreChangeView {
    /// When it changed, ms since the Unix epoch.
    pub at_ms: u64,
    /// The new score.
    pub score: u16,
    /// Each reason that moved it, with its points.
    pub reasons: Vec<(&'static str, i32)>,
}

impl From<&engine::score::ScoreChange> for ScoreChangeView {
    fn from(change: &engine::score::ScoreChange) -> ScoreChangeView {
        use engine::score::ScoreReason;
        let name = |reason: ScoreReason| match reason {
            ScoreReason::Base => "base",
            ScoreReason::Tenure => "tenure",
            ScoreReason::OnTimeHistory => "on_time_history",
            ScoreReason::Lateness => "lateness",
            ScoreReason::Utilisation => "utilisation",
            ScoreReason::CreditFrozen => "credit_frozen",
            ScoreReason::Adjustment => "adjustment",
        };
        ScoreChangeView {
            at_ms: change.at_ms,
            score: change.score,
            reasons: change.reasons.iter().map(|(reason, points)| (name(*reason), *points)).collect(),
        }
    }
}

/// The rules file in force.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RulesView {
    /// Its version.
    pub version: u32,
    /// The whole file, as installed.
    #[schema(value_type = Object)]
    pub rules: RuleSet,
}

/// A case: the decision that opened it with its evidence, what is held, appeals and outcome.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CaseView {
    /// The case id (the id of the command it stopped).
    pub case_id: u64,
    /// The user concerned (absent for a merchant's payout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    /// The merchant concerned, for a payout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<u64>,
    /// When it opened.
    pub opened_at_ms: u64,
    /// `open`, `approved` or `rejected`.
    pub status: String,
    /// `payment` (held as an authorization), `authorization`, `parked` (runs on approval) or `nothing`.
    pub held: String,
    /// The decision: kind, score, rules version, reasons, fired rules, feature readings, actions.
    #[schema(value_type = Object)]
    pub decision: model::risk::Decision,
    /// The analyst's label, once decided.
    #[schema(value_type = Option<LabelSchema>)]
    pub label: Option<Label>,
    /// Appeals, oldest first.
    pub appeals: Vec<AppealView>,
    /// When it was last decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at_ms: Option<u64>,
    /// The key id that sent the command the case stopped (absent for the server's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_by: Option<String>,
    /// The key id that last decided it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The key id working the case, if it is claimed or assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
}

/// One appeal on a case.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AppealView {
    /// When it was filed.
    pub at_ms: u64,
    /// The key id that filed it (the platform's, on the user's behalf).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filed_by: Option<String>,
    /// References: `{"kind": "receipt" | "refund" | "other", "reference": "..."}`.
    #[schema(value_type = Vec<Object>)]
    pub evidence: Vec<Evidence>,
    /// The user's own words.
    pub text: String,
}

impl CaseView {
    /// The view of a case.
    pub fn new(id: CommandId, case: &Case) -> CaseView {
        let (user_id, merchant_id) = match case.party {
            Party::User(user) => (Some(user.0), None),
            Party::Merchant(merchant) => (None, Some(merchant.0)),
        };
        let held = match case.held {
            Held::Payment { .. } => "payment",
            Held::Authorization { .. } => "authorization",
            Held::Parked(_) => "parked",
            Held::Nothing => "nothing",
        };
        CaseView {
            case_id: id.0,
            user_id,
            merchant_id,
            opened_at_ms: case.opened_at_ms,
            status: case.status.name().to_owned(),
            held: held.into(),
            decision: case.decision.clone(),
            label: case.label,
            appeals: case
                .appeals
                .iter()
                .map(|appeal| AppealView {
                    at_ms: appeal.at_ms,
                    filed_by: key_id_of(appeal.filed_by),
                    evidence: appeal.evidence.clone(),
                    text: appeal.text.clone(),
                })
                .collect(),
            decided_at_ms: case.decided_at_ms,
            opened_by: key_id_of(case.opened_by),
            decided_by: case.decided_by.and_then(key_id_of),
            assigned_to: case.assigned_to.and_then(key_id_of),
        }
    }
}

/// Moves a sandbox's clock (test clocks, as Stripe's test mode has them).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockAdvanceRequest {
    /// How far to move the clock forward, in milliseconds (1 to 400 days).
    #[schema(minimum = 1, maximum = 34_560_000_000_u64)]
    pub advance_ms: u64,
}

/// The sandbox clock after a move.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// The server's time now, ms since the Unix epoch: every command from here on carries it.
    pub now_ms: u64,
}
