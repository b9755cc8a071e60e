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

#[test]
fn lists_fired_programs_in_order_across_words() {
    let set = [0, 5, 63, 64, 130, 255];
    let mut fired: rules::Fired = [0; rules::BATCH_MAX / 64];
    for index in set {
        fired[index / 64] |= 1 << (index % 64);
    }
    assert_eq!(rules::fired_indices(&fired).collect::<Vec<_>>(), set);
    assert_eq!(rules::fired_indices(&[0; rules::BATCH_MAX / 64]).count(), 0);
}

/// A test of features of the test schema, as source text.
fn leaf_source() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let operator = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]);
    prop_oneof![
        (operator.clone(), -2i64..6).prop_map(|(operator, constant)| format!("user.refunds_30d {operator} {constant}")),
        (operator.clone(), 0i64..4)
            .prop_map(|(operator, tenths)| format!("event.amount_minor {operator} {}", tenths * 25_000)),
        (operator.clone(), 0u8..5)
            .prop_map(|(operator, quarter)| format!("user.refund_ratio_30d {operator} {}.0 / 4.0", quarter)),
        // A double feature against double and int literals, and bounds at the ends of int.
        (operator.clone(), prop::sample::select(vec!["0.0", "0.25", "0.5", "0.75", "1.0", "0", "1"]))
            .prop_map(|(operator, constant)| format!("user.refund_ratio_30d {operator} {constant}")),
        (operator.clone(), prop::sample::select(vec!["9223372036854775807", "0", "3"]))
            .prop_map(|(operator, constant)| format!("user.refunds_30d {operator} {constant}")),
        // An int feature against double literals, between and on its values.
        (operator.clone(), prop::sample::select(vec!["-1.5", "0.0", "2.5", "3.0"]))
            .prop_map(|(operator, constant)| format!("user.refunds_30d {operator} {constant}")),
        (prop::sample::select(vec!["==", "!="]), any::<bool>())
            .prop_map(|(operator, constant)| format!("user.watchlisted {operator} {constant}")),
        prop::sample::select(CATEGORIES.to_vec()).prop_map(|name| format!("merchant.category != \"{name}\"")),
        prop::sample::subsequence(CATEGORIES.to_vec(), 0..=3).prop_map(|names| {
            let quoted: Vec<String> = names.iter().chain(names.first()).map(|name| format!("\"{name}\"")).collect();
            format!("merchant.category in [{}]", quoted.join(", "))
        }),
        prop::sample::select(CATEGORIES.to_vec()).prop_map(|name| format!("merchant.category == \"{name}\"")),
        prop::sample::subsequence(CATEGORIES.to_vec(), 1..=2)
            .prop_map(|names| format!("merchant.category in [\"{}\"]", names.join("\", \""))),
        Just("user.watchlisted".to_owned()),
        // Tests that are not one leaf: two features, `min`, and arithmetic (which can fail, so
        // its rule takes the tree's path).
        operator.clone().prop_map(|operator| format!("user.refunds_30d {operator} event.amount_minor / 25000")),
        (operator.clone(), -1i64..4).prop_map(|(operator, constant)| format!(
            "min(user.refunds_30d, event.amount_minor / 25000) {operator} {constant}"
        )),
        operator.prop_map(|operator| format!("user.refund_ratio_30d * 4.0 {operator} double(user.refunds_30d)")),
    ]
}

/// Leaves joined by `&&`, `||` and `!`, parenthesised.
fn formula() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    leaf_source().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(left, right)| format!("({left} && {right})")),
            (inner.clone(), inner.clone()).prop_map(|(left, right)| format!("({left} || {right})")),
            inner.prop_map(|operand| format!("!({operand})")),
        ]
    })
}

/// Random values for the test schema's five features, by slot: amount, ratio, category,
/// watch-list, refunds.
fn feature_values() -> impl proptest::strategy::Strategy<Value = [Value; 5]> {
    use proptest::prelude::*;
    (0i64..4, 0u8..5, 0u16..3, any::<bool>(), -1i64..5).prop_map(|(amount, ratio, category, watchlisted, refunds)| {
        [
            Value::Int(amount * 25_000),
            Value::Double(f64::from(ratio) / 4.0),
            Value::Symbol(category),
            Value::Bool(watchlisted),
            Value::Int(refunds),
        ]
    })
}

/// A feature value as the `cel` crate holds it (a name as its string).
fn cel_value(value: Value) -> cel::Value {
    match value {
        Value::Bool(value) => cel::Value::Bool(value),
        Value::Int(value) => cel::Value::Int(value),
        Value::Double(value) => cel::Value::Float(value),
        Value::Symbol(symbol) => cel::Value::String(CATEGORIES[usize::from(symbol)].to_owned().into()),
    }
}

proptest::proptest! {
    /// Rules evaluated together in a batch fire exactly as each evaluated on its own, whether
    /// they share a first test, a longer prefix or nothing, and whatever those tests' outcome.
    #[test]
    fn a_batch_fires_as_its_programs_do(
        rules in proptest::collection::vec((formula(), 0u8..5), 1..8),
        values in feature_values(),
    ) {
        let shared = [
            "user.refunds_30d > 0",
            "user.refunds_30d > 0 && merchant.category == \"recharge\"",
            "user.refunds_30d > 0 && merchant.category == \"recharge\" && !user.watchlisted",
            "merchant.category == \"recharge\"",
        ];
        let programs: Vec<rules::Program> = rules
            .iter()
            .map(|(source, prefix)| match shared.get(usize::from(*prefix)) {
                Some(first) => format!("{first} && ({source})"),
                None => source.clone(),
            })
            .map(|source| compile(&source, &TestSchema).expect("compiles"))
            .collect();
        let fired = rules::Batch::new(&programs).fired(&mut Event { values, reads: 0 });
        let alone: Vec<usize> = (0..programs.len())
            .filter(|index| programs[*index].evaluate(&mut Event { values, reads: 0 }) == Ok(true))
            .collect();
        proptest::prop_assert_eq!(rules::fired_indices(&fired).collect::<Vec<_>>(), alone, "{:?}", rules);
    }

    /// Every formula of feature tests joined by `&&`, `||` and `!` evaluates as the `cel` crate's
    /// own interpreter evaluates it, over random feature values.
    #[test]
    fn agrees_with_the_reference_interpreter(source in formula(), values in feature_values()) {
        let ours = compile(&source, &TestSchema).expect("compiles").evaluate(&mut Event { values, reads: 0 });
        let side = |entries: &[(&str, Value)]| -> cel::Value {
            let entries = entries.iter().map(|(key, value)| ((*key).to_owned(), cel_value(*value)));
            entries.collect::<std::collections::HashMap<_, _>>().into()
        };
        let [amount, ratio, category, watchlisted, refunds] = values;
        let mut context = cel::Context::default();
        context.add_function("min", cel::functions::min).expect("a new name");
        context.add_variable_from_value("event", side(&[("amount_minor", amount)]));
        context.add_variable_from_value(
            "user",
            side(&[("refund_ratio_30d", ratio), ("watchlisted", watchlisted), ("refunds_30d", refunds)]),
        );
        context.add_variable_from_value("merchant", side(&[("category", category)]));
        let reference = cel::Program::compile(&source).expect("parses").execute(&context).expect("evaluates");
        proptest::prop_assert_eq!(cel::Value::Bool(ours.expect("these tests cannot fail")), reference, "{}", source);
    }
}
