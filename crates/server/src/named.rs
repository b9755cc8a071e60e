//! What a command names, read from its JSON form (`{"Kind": {fields}}`): the amount it moves,
//! the user and the merchant it concerns. One reading for every kind, present and future, so the
//! read model, the backtest and the console need no match over kinds of their own.

use model::CommandKind;
use serde_json::Value;

fn fields(kind: &CommandKind) -> Option<Value> {
    let body = serde_json::to_value(kind).ok()?;
    body.as_object()?.values().next().cloned()
}

/// What a command moves, in minor units: its `amount`, or its `funding`'s two parts (`None` for
/// a command that moves no stated amount).
pub fn amount_minor(kind: &CommandKind) -> Option<u64> {
    let fields = fields(kind)?;
    let funding = |part: &str| fields.get("funding")?.get(part)?.as_u64();
    fields
        .get("amount")
        .and_then(Value::as_u64)
        .or_else(|| funding("credit_minor")?.checked_add(funding("balance_minor")?))
}

/// The user (`user`, or a transfer's payer `from`) and the merchant (`merchant`, or an agent)
/// a command names.
pub fn parties(kind: &CommandKind) -> (Option<u64>, Option<u64>) {
    let Some(fields) = fields(kind) else { return (None, None) };
    let id = |names: &[&str]| names.iter().find_map(|name| fields.get(*name)?.as_u64());
    (id(&["user", "from"]), id(&["merchant", "agent"]))
}
