//! The rules compiler against a small schema: what compiles, what it evaluates to, and the
//! position and reason of what does not.

use rules::{CompileError, EvalError, Features, Schema, Type, Value, compile};

const CATEGORIES: &[&str] = &["physical_goods", "virtual_goods", "recharge"];

struct TestSchema;

impl Schema for TestSchema {
    fn feature(&self, name: &str) -> Option<(u16, Type)> {
        Some(match name {
            "event.amount_minor" => (0, Type::Int),
            "user.refund_ratio_30d" => (1, Type::Double),
            "merchant.category" => (2, Type::Symbol(CATEGORIES)),
            "user.watchlisted" => (3, Type::Bool),
            "user.refunds_30d" => (4, Type::Int),
            _ => return None,
        })
    }
}

/// Feature values by slot, counting reads.
struct Event {
    values: [Value; 5],
    reads: u32,
}

impl Features for Event {
    fn value(&mut self, slot: u16) -> Value {
        self.reads += 1;
        self.values[slot as usize]
    }
}

fn event() -> Event {
    Event {
        values: [Value::Int(50_000), Value::Double(0.75), Value::Symbol(1), Value::Bool(false), Value::Int(3)],
        reads: 0,
    }
}

#[track_caller]
fn check(source: &str, expected: Result<bool, EvalError>) {
    let program = compile(source, &TestSchema).unwrap_or_else(|error| panic!("{source}: {error}"));
    assert_eq!(program.evaluate(&mut event()), expected, "{source}");
}

#[track_caller]
fn refused(source: &str, line: u32, column: u32, reason: &str) {
    let error: CompileError = compile(source, &TestSchema).expect_err(source);
    assert_eq!((error.line, error.column), (line, column), "{source}: {error}");
    assert!(error.message.contains(reason), "{source}: {error}");
}

#[test]
fn evaluates_the_supported_language() {
    check("event.amount_minor >= 50000 && user.refund_ratio_30d > 0.5", Ok(true));
    check("merchant.category == \"virtual_goods\"", Ok(true));
    check("\"recharge\" != merchant.category", Ok(true));
    check("merchant.category in [\"recharge\", \"physical_goods\"]", Ok(false));
    check("user.refunds_30d in [1, 2, 3]", Ok(true));
    check("merchant.category in [\"virtual_goods\"]", Ok(true));
    check("event.amount_minor % 10000 in [0, 5]", Ok(true));
    check("user.watchlisted", Ok(false));
    check("user.watchlisted || merchant.category in [\"virtual_goods\"]", Ok(true));
    check("!user.watchlisted || event.amount_minor < 0", Ok(true));
    check("double(event.amount_minor) / 100.0 > 499.5", Ok(true));
    check("event.amount_minor % 10000 == 0", Ok(true));
    check("min(user.refunds_30d, 2) == 2 && max(1.0, user.refund_ratio_30d) == 0.75", Ok(false));
    check("(user.refunds_30d > 2 ? event.amount_minor : 0) == 50000", Ok(true));
    check("-event.amount_minor < 0 && int(user.refund_ratio_30d * 10.0) == 7", Ok(true));
    check("user.refunds_30d > 2.5", Ok(true));
}

#[test]
fn arithmetic_errors_stop_the_rule_unless_the_other_side_decides() {
    check("event.amount_minor / (user.refunds_30d - 3) > 0", Err(EvalError::DivisionByZero));
    check("event.amount_minor * 9223372036854775807 > 0", Err(EvalError::Overflow));
    check("event.amount_minor / (user.refunds_30d - 3) > 0 && user.watchlisted", Ok(false));
    check("event.amount_minor / (user.refunds_30d - 3) > 0 || !user.watchlisted", Ok(true));
    check("int(user.refund_ratio_30d / 0.0) > 0", Err(EvalError::Conversion));
}

#[test]
fn short_circuits_and_lists_the_features_it_reads() {
    let program = compile("user.watchlisted && user.refunds_30d > 0 && user.refunds_30d < 9", &TestSchema).unwrap();
    let mut features = event();
    assert_eq!(program.evaluate(&mut features), Ok(false));
    assert_eq!(features.reads, 1, "a false left side decides `&&` without reading the right");
    assert_eq!(program.slots(), &[3, 4]);
}

#[test]
fn refuses_with_position_and_reason() {
    refused("event.amount_minor >", 1, 21, "Syntax error: mismatched input");
    refused("user.refund_ratio > 0.5", 1, 1, "unknown feature `user.refund_ratio`");
    refused("event.amount_minor + 1.5 > 2.0", 1, 20, "int and double do not mix");
    refused("merchant.category == \"gift_cards\"", 1, 22, "unknown name \"gift_cards\"; expected one of");
    refused("event.amount_minor", 1, 1, "must be a bool expression, this one is int");
    refused("user.watchlisted &&\n  user.refunds_30d", 2, 3, "expected bool, found int");
    refused("size(merchant.category) > 2", 1, 5, "unsupported function `size`");
    refused("merchant.category > \"recharge\"", 1, 19, "names compare with == and != only");
    refused("user.refund_ratio_30d % 2.0 == 0.0", 1, 23, "`%` needs int operands");
    refused("[1, 2] == [1, 2]", 1, 1, "a list may only follow `in`");
}
