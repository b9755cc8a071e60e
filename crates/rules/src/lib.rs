//! Risk rules as data, in the Common Expression Language (CEL).
//!
//! The `cel` crate parses an expression; this crate type-checks it against a [`Schema`] (the
//! features the engine computes, each with a [`Type`]) and compiles it into a [`Program`]: a
//! small tree over feature slots that evaluates without allocating, reads features lazily
//! through [`Features`], and lists the slots it reads so a decision can keep them as evidence.
//! Why not the `cel` crate's own interpreter: it resolves names through maps of dynamic values at
//! each evaluation (microseconds per rule); the engine scores every event with dozens of rules
//! inside a sub-microsecond budget, and a compiled, typed program also turns a misspelt feature
//! or a type error into a load-time error instead of a silent runtime one (ADR 0005).
//!
//! The supported language is the part of CEL rules need: literals (bool, int, uint, double,
//! string), feature names (`user.refund_ratio_30d`), `! && || ?:`, `== != < <= > >=`, `+ - * / %`,
//! unary `-`, `in [list of literals]`, and the functions `double`, `int`, `min`, `max`.
//! Anything else is refused at compile time with its position.

#![warn(missing_docs)]

mod batch;
mod compile;
mod program;

pub use batch::{BATCH_MAX, Batch, Fired, fired_indices};
pub use compile::{CompileError, Schema, compile};
pub use program::{EvalError, Features, Program};

/// The type of a feature or sub-expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// `true` or `false`.
    Bool,
    /// A signed 64-bit integer (money in minor units, counts, milliseconds).
    Int,
    /// An IEEE double (ratios).
    Double,
    /// One of a fixed list of names (a merchant category, an event kind); compared with string
    /// literals, which are checked against the list when the rule compiles.
    Symbol(&'static [&'static str]),
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Double => "double",
            Type::Symbol(_) => "string",
        }
    }
}

/// A value: what a feature or sub-expression evaluates to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// The index of a name in its symbol type's list.
    Symbol(u16),
}
