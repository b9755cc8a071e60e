//! A compiled rule: a typed expression tree over feature slots.

use crate::Value;

/// Where a program reads its features: the engine computes each slot on first use.
pub trait Features {
    /// The value of the feature in `slot` (a slot the schema declared).
    fn value(&mut self, slot: u16) -> Value;
}

/// Why an evaluation produced no value; a rule that errs does not fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// Integer arithmetic overflowed.
    Overflow,
    /// Integer division or remainder by zero.
    DivisionByZero,
    /// `int(x)` of a double that is not a finite number in range.
    Conversion,
}

/// Arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Subtract,
    Multiply,
    Divide,
    Remainder,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compare {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// One node of a compiled expression; types were checked when it was built.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Constant(Value),
    Feature(u16),
    Not(Box<Node>),
    Negate(Box<Node>),
    /// `a && b && …`, flattened.
    All(Vec<Node>),
    /// `a || b || …`, flattened.
    Any(Vec<Node>),
    Conditional(Box<Node>, Box<Node>, Box<Node>),
    Compare(Compare, Box<Node>, Box<Node>),
    /// A feature compared with a constant, the commonest leaf, in one step.
    CompareFeature(Compare, u16, Value),
    /// An int feature compared with an int constant, as a range: the feature is in
    /// `lo..=hi`, or (`outside`) is not.
    IntRange {
        slot: u16,
        lo: i64,
        hi: i64,
        outside: bool,
    },
    /// A number feature compared with a finite number, as a range of doubles (an int feature
    /// taken as a double, as CEL compares an int with a double); NaN is in no range.
    DoubleRange {
        slot: u16,
        lo: f64,
        hi: f64,
        outside: bool,
    },
    /// A name feature among a set of names: bit `i` for the type's `i`-th name (of at most 64).
    SymbolSet {
        slot: u16,
        names: u64,
    },
    Arith(Arith, Box<Node>, Box<Node>),
    In(Box<Node>, Vec<Value>),
    /// A feature in a list of constants, in one step.
    FeatureIn(u16, Vec<Value>),
    ToDouble(Box<Node>),
    ToInt(Box<Node>),
    Min(Box<Node>, Box<Node>),
    Max(Box<Node>, Box<Node>),
}

/// A compiled boolean expression: evaluate it over a [`Features`] source.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    root: Node,
    slots: Vec<u16>,
    /// The same expression as jumps between tests that cannot fail, when it is only such tests
    /// joined by `&&`, `||` and `!` (nearly every rule).
    jumps: Option<Jumps>,
}

/// A step's target past the last step: the expression is true.
const TRUE: u16 = u16::MAX;
/// The expression is false.
const FALSE: u16 = u16::MAX - 1;

/// An expression of tests that cannot fail (leaves, and comparisons without integer arithmetic)
/// joined by `&&`, `||` and `!`, as steps that each make one test and go on to another step or to
/// the result, by the outcome. Evaluated in a loop, without the recursion, the `Result`s and the
/// error bookkeeping of the tree: no test can fail, so the order of the tests cannot change the
/// result, and a step list gives exactly the tree's answer.
#[derive(Clone, Debug, PartialEq)]
struct Jumps {
    steps: Vec<Step>,
    entry: u16,
}

/// One test of [`Jumps`] and where each outcome leads.
#[derive(Clone, Debug, PartialEq)]
struct Step {
    test: Node,
    on_true: u16,
    on_false: u16,
}

/// Whether evaluating `node` can fail: only integer arithmetic, negation and `int()` can.
fn fallible(node: &Node) -> bool {
    match node {
        Node::Arith(..) | Node::Negate(_) | Node::ToInt(_) => true,
        Node::Constant(_)
        | Node::Feature(_)
        | Node::CompareFeature(..)
        | Node::IntRange { .. }
        | Node::DoubleRange { .. }
        | Node::SymbolSet { .. }
        | Node::FeatureIn(..) => false,
        Node::Not(operand) | Node::ToDouble(operand) | Node::In(operand, _) => fallible(operand),
        Node::All(terms) | Node::Any(terms) => terms.iter().any(fallible),
        Node::Compare(_, left, right) | Node::Min(left, right) | Node::Max(left, right) => {
            fallible(left) || fallible(right)
        }
        Node::Conditional(condition, then, otherwise) => fallible(condition) || fallible(then) || fallible(otherwise),
    }
}

impl Jumps {
    /// The steps for `node`, or `None` when a test in it can fail.
    fn compile(node: &Node) -> Option<Jumps> {
        let mut steps = Vec::new();
        let entry = Jumps::emit(node, TRUE, FALSE, &mut steps)?;
        Some(Jumps { steps, entry })
    }

    /// Emits the steps of `node` given where its outcomes lead, the last term first so each
    /// term's targets exist when it is emitted; returns the step to start at.
    fn emit(node: &Node, on_true: u16, on_false: u16, steps: &mut Vec<Step>) -> Option<u16> {
        match node {
            Node::Not(operand) => Jumps::emit(operand, on_false, on_true, steps),
            Node::All(terms) => {
                terms.iter().rev().try_fold(on_true, |next, term| Jumps::emit(term, next, on_false, steps))
            }
            Node::Any(terms) => {
                terms.iter().rev().try_fold(on_false, |next, term| Jumps::emit(term, on_true, next, steps))
            }
            _ if fallible(node) => None,
            _ => {
                let index = u16::try_from(steps.len()).ok().filter(|index| *index < FALSE)?;
                steps.push(Step { test: node.clone(), on_true, on_false });
                Some(index)
            }
        }
    }

    #[inline(always)]
    fn run<F: Features + ?Sized>(&self, features: &mut F) -> bool {
        let mut at = self.entry;
        while at < FALSE {
            let step = &self.steps[at as usize];
            let outcome = match leaf(&step.test, features) {
                Some(outcome) => outcome,
                None => test(&step.test, features).unwrap_or_else(|_| unreachable!("steps cannot fail")),
            };
            at = if outcome { step.on_true } else { step.on_false };
        }
        at == TRUE
    }
}

impl Program {
    /// A program for `root`, which reads `slots` (sorted, without repeats).
    pub(crate) fn new(root: Node, slots: Vec<u16>) -> Program {
        let jumps = Jumps::compile(&root);
        Program { root, slots, jumps }
    }

    /// Evaluates the expression: `Ok(true)` when the rule fires. Always inlined, so a caller's
    /// scoring loop runs the jump steps in place (the compiler's own choice flipped with
    /// unrelated changes elsewhere in the engine, at ~20 % of the rules' instructions).
    #[inline(always)]
    pub fn evaluate<F: Features + ?Sized>(&self, features: &mut F) -> Result<bool, EvalError> {
        match &self.jumps {
            Some(jumps) => Ok(jumps.run(features)),
            None => test(&self.root, features),
        }
    }

    /// The feature slots the expression reads, sorted and without repeats.
    pub fn slots(&self) -> &[u16] {
        &self.slots
    }

    /// The expression as `first && rest` when its first `&&` term cannot fail (`true && rest` is
    /// `rest`, errors included, and a false `first` decides), else `None`. `rest` keeps the whole
    /// expression's slots: a batch evaluates it, and evidence is read from the whole program.
    pub(crate) fn split_first(&self) -> Option<(Node, Program)> {
        let Node::All(terms) = &self.root else { return None };
        let (first, rest) = terms.split_first()?;
        if fallible(first) || rest.is_empty() {
            return None;
        }
        let rest = match rest {
            [only] => only.clone(),
            more => Node::All(more.to_vec()),
        };
        Some((first.clone(), Program::new(rest, self.slots.clone())))
    }
}

/// A test that cannot fail, evaluated on its own (a guard of [`crate::Batch`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Guard {
    jumps: Jumps,
}

impl Guard {
    /// The guard for `node`, which the caller checked cannot fail.
    pub(crate) fn new(node: Node) -> Guard {
        Guard { jumps: Jumps::compile(&node).expect("a test that cannot fail compiles to jumps") }
    }

    #[inline(always)]
    pub(crate) fn holds<F: Features + ?Sized>(&self, features: &mut F) -> bool {
        self.jumps.run(features)
    }
}

/// Evaluates a boolean node (the compiler checked its type) without wrapping the result in a
/// [`Value`]: rules are mostly `&&` chains of comparisons, so this is the evaluator's hot path.
fn test<F: Features + ?Sized>(node: &Node, features: &mut F) -> Result<bool, EvalError> {
    if let Some(value) = leaf(node, features) {
        return Ok(value);
    }
    Ok(match node {
        // CEL's logical operators absorb an error when another term decides the result.
        Node::All(terms) => decide(terms, false, features)?,
        Node::Any(terms) => decide(terms, true, features)?,
        Node::Not(operand) => !test(operand, features)?,
        Node::Compare(operator, left, right) => {
            compare(*operator, evaluate(left, features)?, evaluate(right, features)?)
        }
        Node::In(operand, list) => {
            let value = evaluate(operand, features)?;
            list.iter().any(|item| compare(Compare::Equal, value, *item))
        }
        Node::Conditional(condition, then, otherwise) => match test(condition, features)? {
            true => test(then, features)?,
            false => test(otherwise, features)?,
        },
        other => match evaluate(other, features)? {
            Value::Bool(value) => value,
            other => unreachable!("the compiler checked this operand is boolean, got {other:?}"),
        },
    })
}

/// A leaf test (a feature against constants), evaluated in place: most terms of a rule are
/// leaves, and this spares them a call. `None` for any other node.
#[inline(always)]
fn leaf<F: Features + ?Sized>(node: &Node, features: &mut F) -> Option<bool> {
    Some(match node {
        Node::CompareFeature(operator, slot, constant) => compare(*operator, features.value(*slot), *constant),
        Node::IntRange { slot, lo, hi, outside } => match features.value(*slot) {
            Value::Int(value) => (*lo <= value && value <= *hi) != *outside,
            other => unreachable!("the compiler checked this feature is an int, got {other:?}"),
        },
        Node::DoubleRange { slot, lo, hi, outside } => {
            let value = match features.value(*slot) {
                Value::Double(value) => value,
                Value::Int(value) => value as f64,
                other => unreachable!("the compiler checked this feature is a number, got {other:?}"),
            };
            (*lo <= value && value <= *hi) != *outside
        }
        Node::SymbolSet { slot, names } => match features.value(*slot) {
            Value::Symbol(symbol) => names.checked_shr(u32::from(symbol)).is_some_and(|set| set & 1 == 1),
            other => unreachable!("the compiler checked this feature is a name, got {other:?}"),
        },
        Node::Feature(slot) => match features.value(*slot) {
            Value::Bool(value) => value,
            other => unreachable!("the compiler checked this feature is boolean, got {other:?}"),
        },
        Node::FeatureIn(slot, list) => {
            let value = features.value(*slot);
            list.iter().any(|item| compare(Compare::Equal, value, *item))
        }
        _ => return None,
    })
}

fn evaluate<F: Features + ?Sized>(node: &Node, features: &mut F) -> Result<Value, EvalError> {
    Ok(match node {
        Node::Constant(value) => *value,
        Node::Feature(slot) => features.value(*slot),
        Node::Not(..)
        | Node::All(..)
        | Node::Any(..)
        | Node::CompareFeature(..)
        | Node::IntRange { .. }
        | Node::DoubleRange { .. }
        | Node::SymbolSet { .. }
        | Node::Compare(..)
        | Node::In(..)
        | Node::FeatureIn(..) => Value::Bool(test(node, features)?),
        Node::Negate(operand) => match evaluate(operand, features)? {
            Value::Int(value) => Value::Int(value.checked_neg().ok_or(EvalError::Overflow)?),
            Value::Double(value) => Value::Double(-value),
            other => unreachable!("negation of a checked numeric operand, got {other:?}"),
        },
        Node::Conditional(condition, then, otherwise) => match test(condition, features)? {
            true => evaluate(then, features)?,
            false => evaluate(otherwise, features)?,
        },
        Node::Arith(operator, left, right) => arith(*operator, evaluate(left, features)?, evaluate(right, features)?)?,
        Node::ToDouble(operand) => match evaluate(operand, features)? {
            Value::Int(value) => Value::Double(value as f64),
            value @ Value::Double(_) => value,
            other => unreachable!("double() of a checked numeric operand, got {other:?}"),
        },
        Node::ToInt(operand) => match evaluate(operand, features)? {
            value @ Value::Int(_) => value,
            // `as` saturates; CEL wants an error outside the range instead.
            Value::Double(value) if value.is_finite() && value.abs() < 9.2e18 => Value::Int(value.trunc() as i64),
            Value::Double(_) => return Err(EvalError::Conversion),
            other => unreachable!("int() of a checked numeric operand, got {other:?}"),
        },
        Node::Min(left, right) | Node::Max(left, right) => {
            let (left, right) = (evaluate(left, features)?, evaluate(right, features)?);
            let left_wins = compare(Compare::LessOrEqual, left, right) == matches!(node, Node::Min(..));
            if left_wins { left } else { right }
        }
    })
}

/// `&&` (`decisive` false) or `||` (`decisive` true) over terms, left to right: the first term
/// equal to `decisive` decides; otherwise an error met on the way, otherwise `!decisive`.
fn decide<F: Features + ?Sized>(terms: &[Node], decisive: bool, features: &mut F) -> Result<bool, EvalError> {
    let mut error = None;
    for term in terms {
        let result = match leaf(term, features) {
            Some(value) => Ok(value),
            None => test(term, features),
        };
        match result {
            Ok(value) if value == decisive => return Ok(decisive),
            Ok(_) => {}
            Err(failure) => {
                error.get_or_insert(failure);
            }
        }
    }
    error.map_or(Ok(!decisive), Err)
}

/// Compares two values; ints and doubles compare by numeric value, as CEL specifies.
#[inline(always)]
fn compare(operator: Compare, left: Value, right: Value) -> bool {
    let ordering = match (left, right) {
        (Value::Int(left), Value::Int(right)) => left.partial_cmp(&right),
        (Value::Double(left), Value::Double(right)) => left.partial_cmp(&right),
        (Value::Int(left), Value::Double(right)) => (left as f64).partial_cmp(&right),
        (Value::Double(left), Value::Int(right)) => left.partial_cmp(&(right as f64)),
        (Value::Bool(left), Value::Bool(right)) => left.partial_cmp(&right),
        (Value::Symbol(left), Value::Symbol(right)) => left.partial_cmp(&right),
        (left, right) => unreachable!("comparison of checked operands, got {left:?} and {right:?}"),
    };
    let Some(ordering) = ordering else {
        // NaN: only "not equal" holds.
        return operator == Compare::NotEqual;
    };
    match operator {
        Compare::Equal => ordering.is_eq(),
        Compare::NotEqual => ordering.is_ne(),
        Compare::Less => ordering.is_lt(),
        Compare::LessOrEqual => ordering.is_le(),
        Compare::Greater => ordering.is_gt(),
        Compare::GreaterOrEqual => ordering.is_ge(),
    }
}

fn arith(operator: Arith, left: Value, right: Value) -> Result<Value, EvalError> {
    match (left, right) {
        (Value::Int(left), Value::Int(right)) => {
            let result = match operator {
                Arith::Add => left.checked_add(right),
                Arith::Subtract => left.checked_sub(right),
                Arith::Multiply => left.checked_mul(right),
                Arith::Divide | Arith::Remainder if right == 0 => return Err(EvalError::DivisionByZero),
                Arith::Divide => left.checked_div(right),
                Arith::Remainder => left.checked_rem(right),
            };
            result.map(Value::Int).ok_or(EvalError::Overflow)
        }
        (Value::Double(left), Value::Double(right)) => Ok(Value::Double(match operator {
            Arith::Add => left + right,
            Arith::Subtract => left - right,
            Arith::Multiply => left * right,
            Arith::Divide => left / right,
            Arith::Remainder => unreachable!("the compiler refuses % on doubles"),
        })),
        (left, right) => unreachable!("arithmetic on checked operands, got {left:?} and {right:?}"),
    }
}
