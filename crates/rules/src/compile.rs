//! From CEL source to a typed [`Program`]: parse with the `cel` crate, resolve feature names
//! through a [`Schema`], check types, build the node tree.

use crate::program::{Arith, Compare, Node, Program};
use crate::{Type, Value};
use cel::IdedExpr;
use cel::common::ast::{CallExpr, Expr, LiteralValue, SourceInfo, operators};
use cel::parser::Parser;
use std::fmt;

/// The features a rule may read: each name maps to a slot and a type.
pub trait Schema {
    /// The slot and type of the feature called `name` (`user.refund_ratio_30d`), if it exists.
    fn feature(&self, name: &str) -> Option<(u16, Type)>;
}

/// Why an expression does not compile, with the 1-based line and column inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// Line of the offending part of the expression (1 for a one-line expression).
    pub line: u32,
    /// Column of the offending part, counted in characters from 1.
    pub column: u32,
    /// What is wrong, in words a rule author can act on.
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for CompileError {}

/// Expressions nest at most this deep; deeper ones are refused rather than risk the stack.
const DEPTH_MAX: u16 = 32;

/// Compiles a boolean CEL expression against `schema`.
pub fn compile(source: &str, schema: &dyn Schema) -> Result<Program, CompileError> {
    let (expression, info) =
        Parser::new().max_recursion_depth(DEPTH_MAX).parse_with_source_info(source).map_err(|errors| {
            let first = errors.errors.first();
            CompileError {
                line: first.map_or(1, |error| error.pos.0.max(1) as u32),
                column: first.map_or(1, |error| error.pos.1.max(1) as u32),
                message: first.map_or_else(|| "the expression does not parse".to_owned(), |error| error.msg.clone()),
            }
        })?;
    let mut compiler = Compiler { schema, info: &info, slots: Vec::new() };
    let (root, ty) = compiler.node(&expression)?;
    if ty != Type::Bool {
        return Err(compiler.error(&expression, format!("a rule must be a bool expression, this one is {}", ty.name())));
    }
    let mut slots = compiler.slots;
    slots.sort_unstable();
    slots.dedup();
    Ok(Program::new(root, slots))
}

struct Compiler<'a> {
    schema: &'a dyn Schema,
    info: &'a SourceInfo,
    slots: Vec<u16>,
}

type Typed = (Node, Type);

impl Compiler<'_> {
    fn error(&self, at: &IdedExpr, message: String) -> CompileError {
        // A dotted name's own offset is its last dot; point at where the name starts.
        let offset = self.info.offset_for(name_start(at).id).map_or(0, |(start, _)| start as usize);
        let before = self.info.source.get(..offset).unwrap_or_default();
        let line = before.matches('\n').count() as u32 + 1;
        let column = before.rsplit('\n').next().unwrap_or_default().chars().count() as u32 + 1;
        CompileError { line, column, message }
    }

    fn node(&mut self, expression: &IdedExpr) -> Result<Typed, CompileError> {
        match &expression.expr {
            Expr::Literal(literal) => self.literal(expression, literal),
            Expr::Ident(_) | Expr::Select(_) => self.feature(expression),
            Expr::Call(call) => self.call(expression, call),
            Expr::List(_) => Err(self.error(expression, "a list may only follow `in`".to_owned())),
            _ => {
                Err(self.error(expression, "unsupported expression: rules use features, literals and operators".into()))
            }
        }
    }

    fn literal(&self, at: &IdedExpr, literal: &LiteralValue) -> Result<Typed, CompileError> {
        let value = match literal {
            LiteralValue::Boolean(value) => (Value::Bool(**value), Type::Bool),
            LiteralValue::Int(value) => (Value::Int(**value), Type::Int),
            LiteralValue::UInt(value) => match i64::try_from(**value) {
                Ok(value) => (Value::Int(value), Type::Int),
                Err(_) => return Err(self.error(at, "unsigned literal above 2^63-1".to_owned())),
            },
            LiteralValue::Double(value) => (Value::Double(**value), Type::Double),
            LiteralValue::String(_) => {
                return Err(self.error(at, "a string literal may only be compared with a named feature".to_owned()));
            }
            LiteralValue::Bytes(_) | LiteralValue::Null => {
                return Err(self.error(at, "bytes and null are not rule values".to_owned()));
            }
        };
        Ok((Node::Constant(value.0), value.1))
    }

    fn feature(&mut self, at: &IdedExpr) -> Result<Typed, CompileError> {
        let name = qualified_name(at).ok_or_else(|| self.error(at, "expected a feature name".to_owned()))?;
        let (slot, ty) =
            self.schema.feature(&name).ok_or_else(|| self.error(at, format!("unknown feature `{name}`")))?;
        self.slots.push(slot);
        Ok((Node::Feature(slot), ty))
    }

    fn call(&mut self, at: &IdedExpr, call: &CallExpr) -> Result<Typed, CompileError> {
        if call.target.is_some() {
            return Err(self.error(at, format!("unsupported method call `.{}()`", call.func_name)));
        }
        let args = &call.args;
        match (call.func_name.as_str(), args.len()) {
            (operators::LOGICAL_NOT, 1) => Ok((Node::Not(Box::new(self.expect(&args[0], Type::Bool)?)), Type::Bool)),
            (operators::LOGICAL_AND, 2) | (operators::LOGICAL_OR, 2) => {
                let (left, right) = (self.expect(&args[0], Type::Bool)?, self.expect(&args[1], Type::Bool)?);
                Ok((logical(call.func_name == operators::LOGICAL_AND, left, right), Type::Bool))
            }
            (operators::CONDITIONAL, 3) => {
                let condition = self.expect(&args[0], Type::Bool)?;
                let (then, then_type) = self.node(&args[1])?;
                let (otherwise, otherwise_type) = self.node(&args[2])?;
                if then_type != otherwise_type {
                    let message = format!("`?:` branches differ: {} and {}", then_type.name(), otherwise_type.name());
                    return Err(self.error(at, message));
                }
                Ok((Node::Conditional(Box::new(condition), Box::new(then), Box::new(otherwise)), then_type))
            }
            (operators::NEGATE, 1) => {
                let (operand, ty) = self.numeric(&args[0])?;
                Ok((Node::Negate(Box::new(operand)), ty))
            }
            (operators::IN, 2) => self.membership(args),
            ("double", 1) => Ok((Node::ToDouble(Box::new(self.numeric(&args[0])?.0)), Type::Double)),
            ("int", 1) => Ok((Node::ToInt(Box::new(self.numeric(&args[0])?.0)), Type::Int)),
            ("min", 2) | ("max", 2) => {
                let (left, right, ty) = self.same_numeric(at, args)?;
                let node = match call.func_name.as_str() {
                    "min" => Node::Min(left, right),
                    _ => Node::Max(left, right),
                };
                Ok((node, ty))
            }
            (name, _) => match comparison(name) {
                Some(operator) if args.len() == 2 => self.comparison(at, operator, args),
                _ => match arithmetic(name) {
                    Some(operator) if args.len() == 2 => self.arithmetic(at, operator, args),
                    _ => Err(self.error(at, format!("unsupported function `{}`", display_name(name)))),
                },
            },
        }
    }

    fn expect(&mut self, at: &IdedExpr, wanted: Type) -> Result<Node, CompileError> {
        let (node, ty) = self.node(at)?;
        if ty != wanted {
            return Err(self.error(at, format!("expected {}, found {}", wanted.name(), ty.name())));
        }
        Ok(node)
    }

    fn numeric(&mut self, at: &IdedExpr) -> Result<Typed, CompileError> {
        let (node, ty) = self.node(at)?;
        match ty {
            Type::Int | Type::Double => Ok((node, ty)),
            _ => Err(self.error(at, format!("expected a number, found {}", ty.name()))),
        }
    }

    fn same_numeric(&mut self, at: &IdedExpr, args: &[IdedExpr]) -> Result<(Box<Node>, Box<Node>, Type), CompileError> {
        let (left, left_type) = self.numeric(&args[0])?;
        let (right, right_type) = self.numeric(&args[1])?;
        if left_type != right_type {
            let message = format!(
                "{} and {} do not mix in arithmetic; convert one with double() or int()",
                left_type.name(),
                right_type.name()
            );
            return Err(self.error(at, message));
        }
        Ok((Box::new(left), Box::new(right), left_type))
    }

    fn arithmetic(&mut self, at: &IdedExpr, operator: Arith, args: &[IdedExpr]) -> Result<Typed, CompileError> {
        let (left, right, ty) = self.same_numeric(at, args)?;
        if operator == Arith::Remainder && ty == Type::Double {
            return Err(self.error(at, "`%` needs int operands".to_owned()));
        }
        Ok((Node::Arith(operator, left, right), ty))
    }

    fn comparison(&mut self, at: &IdedExpr, operator: Compare, args: &[IdedExpr]) -> Result<Typed, CompileError> {
        let ordering = !matches!(operator, Compare::Equal | Compare::NotEqual);
        // A symbol feature compares with a string literal on either side.
        for (feature, literal) in [(&args[0], &args[1]), (&args[1], &args[0])] {
            if let Expr::Literal(LiteralValue::String(text)) = &literal.expr {
                let (node, ty) = self.node(feature)?;
                let symbol = self.symbol(literal, ty, text)?;
                if ordering {
                    return Err(self.error(at, "names compare with == and != only".to_owned()));
                }
                return Ok((comparison_node(operator, (node, ty), (Node::Constant(symbol), ty)), Type::Bool));
            }
        }
        let (left, left_type) = self.node(&args[0])?;
        let (right, right_type) = self.node(&args[1])?;
        let numeric = |ty| matches!(ty, Type::Int | Type::Double);
        let comparable = (numeric(left_type) && numeric(right_type))
            || (left_type == right_type && !(ordering && left_type != Type::Bool && !numeric(left_type)));
        if !comparable {
            let message = format!("cannot compare {} with {}", left_type.name(), right_type.name());
            return Err(self.error(at, message));
        }
        Ok((comparison_node(operator, (left, left_type), (right, right_type)), Type::Bool))
    }

    fn membership(&mut self, args: &[IdedExpr]) -> Result<Typed, CompileError> {
        let (operand, ty) = self.node(&args[0])?;
        let Expr::List(list) = &args[1].expr else {
            return Err(self.error(&args[1], "`in` needs a list of literals, like [\"a\", \"b\"]".to_owned()));
        };
        let mut values = Vec::with_capacity(list.elements.len());
        for element in &list.elements {
            let value = match (&element.expr, ty) {
                (Expr::Literal(LiteralValue::String(text)), _) => self.symbol(element, ty, text)?,
                (Expr::Literal(literal), Type::Int | Type::Double | Type::Bool) => {
                    let (node, element_type) = self.literal(element, literal)?;
                    let numeric = |ty| matches!(ty, Type::Int | Type::Double);
                    if element_type != ty && !(numeric(ty) && numeric(element_type)) {
                        let message = format!("list item is {}, the value is {}", element_type.name(), ty.name());
                        return Err(self.error(element, message));
                    }
                    let Node::Constant(value) = node else { unreachable!("literals compile to constants") };
                    value
                }
                _ => return Err(self.error(element, "`in` lists hold literals only".to_owned())),
            };
            values.push(value);
        }
        let node = match (operand, ty) {
            (Node::Feature(slot), Type::Symbol(names)) if names.len() <= 64 => {
                let bit = |value: &Value| match value {
                    Value::Symbol(symbol) => 1u64 << symbol,
                    other => unreachable!("a name's list holds names, got {other:?}"),
                };
                Node::SymbolSet { slot, names: values.iter().map(bit).fold(0, |set, bit| set | bit) }
            }
            (Node::Feature(slot), _) => Node::FeatureIn(slot, values),
            (operand, _) => Node::In(Box::new(operand), values),
        };
        Ok((node, Type::Bool))
    }

    fn symbol(&self, at: &IdedExpr, ty: Type, text: &str) -> Result<Value, CompileError> {
        let Type::Symbol(names) = ty else {
            return Err(self.error(at, format!("a string compares only with a named feature, not {}", ty.name())));
        };
        match names.iter().position(|name| *name == text) {
            Some(index) => Ok(Value::Symbol(index as u16)),
            None => Err(self.error(at, format!("unknown name \"{text}\"; expected one of {}", names.join(", ")))),
        }
    }
}

/// `left && right` (or `||`), flattening nested terms of the same operator into one list.
fn logical(all: bool, left: Node, right: Node) -> Node {
    let mut terms = Vec::new();
    for node in [left, right] {
        match (all, node) {
            (true, Node::All(inner)) | (false, Node::Any(inner)) => terms.extend(inner),
            (_, node) => terms.push(node),
        }
    }
    if all { Node::All(terms) } else { Node::Any(terms) }
}

/// A comparison of typed operands: a feature against a constant in one step (a range of ints or
/// doubles, a set of names when it can, else `CompareFeature`), anything else as a tree.
fn comparison_node(operator: Compare, left: (Node, Type), right: (Node, Type)) -> Node {
    match (left, right) {
        ((Node::Feature(slot), ty), (Node::Constant(constant), _)) => feature_test(operator, slot, ty, constant),
        ((Node::Constant(constant), _), (Node::Feature(slot), ty)) => {
            feature_test(mirrored(operator), slot, ty, constant)
        }
        ((left, _), (right, _)) => Node::Compare(operator, Box::new(left), Box::new(right)),
    }
}

/// `feature operator constant` for a feature of type `ty`, as [`comparison_node`] says.
fn feature_test(operator: Compare, slot: u16, ty: Type, constant: Value) -> Node {
    let outside = operator == Compare::NotEqual;
    match (ty, constant) {
        (Type::Int, Value::Int(constant)) => {
            // `<` and `>` as the outside of `>=` and `<=`: no bound to step past.
            let (lo, hi, outside) = match operator {
                Compare::Equal | Compare::NotEqual => (constant, constant, outside),
                Compare::Less => (constant, i64::MAX, true),
                Compare::LessOrEqual => (i64::MIN, constant, false),
                Compare::Greater => (i64::MIN, constant, true),
                Compare::GreaterOrEqual => (constant, i64::MAX, false),
            };
            Node::IntRange { slot, lo, hi, outside }
        }
        (Type::Double, Value::Int(constant)) => double_range(operator, slot, constant as f64),
        (Type::Int | Type::Double, Value::Double(constant)) => double_range(operator, slot, constant),
        (Type::Symbol(names), Value::Symbol(symbol)) if names.len() <= 64 => {
            let bit = 1u64 << symbol;
            Node::SymbolSet { slot, names: if outside { !bit } else { bit } }
        }
        _ => Node::CompareFeature(operator, slot, constant),
    }
}

/// `number feature operator constant` as a range of doubles; a constant that is not finite keeps
/// the general comparison.
fn double_range(operator: Compare, slot: u16, constant: f64) -> Node {
    if !constant.is_finite() {
        return Node::CompareFeature(operator, slot, Value::Double(constant));
    }
    // Strict bounds step to the next double, so NaN, in no range, compares false.
    let (lo, hi) = match operator {
        Compare::Equal | Compare::NotEqual => (constant, constant),
        Compare::Less => (f64::NEG_INFINITY, constant.next_down()),
        Compare::LessOrEqual => (f64::NEG_INFINITY, constant),
        Compare::Greater => (constant.next_up(), f64::INFINITY),
        Compare::GreaterOrEqual => (constant, f64::INFINITY),
    };
    Node::DoubleRange { slot, lo, hi, outside: operator == Compare::NotEqual }
}

/// The operator that gives the same result with its operands swapped.
fn mirrored(operator: Compare) -> Compare {
    match operator {
        Compare::Less => Compare::Greater,
        Compare::LessOrEqual => Compare::GreaterOrEqual,
        Compare::Greater => Compare::Less,
        Compare::GreaterOrEqual => Compare::LessOrEqual,
        symmetric => symmetric,
    }
}

/// `a.b.c` as one dotted name, if the expression is only identifiers and field selections.
fn qualified_name(expression: &IdedExpr) -> Option<String> {
    match &expression.expr {
        Expr::Ident(name) => Some(name.clone()),
        Expr::Select(select) if !select.test => {
            qualified_name(&select.operand).map(|prefix| format!("{prefix}.{}", select.field))
        }
        _ => None,
    }
}

/// The first identifier of a dotted name: where the name starts in the source.
fn name_start(expression: &IdedExpr) -> &IdedExpr {
    match &expression.expr {
        Expr::Select(select) => name_start(&select.operand),
        _ => expression,
    }
}

fn comparison(name: &str) -> Option<Compare> {
    Some(match name {
        operators::EQUALS => Compare::Equal,
        operators::NOT_EQUALS => Compare::NotEqual,
        operators::LESS => Compare::Less,
        operators::LESS_EQUALS => Compare::LessOrEqual,
        operators::GREATER => Compare::Greater,
        operators::GREATER_EQUALS => Compare::GreaterOrEqual,
        _ => return None,
    })
}

fn arithmetic(name: &str) -> Option<Arith> {
    Some(match name {
        operators::ADD => Arith::Add,
        operators::SUBSTRACT => Arith::Subtract,
        operators::MULTIPLY => Arith::Multiply,
        operators::DIVIDE => Arith::Divide,
        operators::MODULO => Arith::Remainder,
        _ => return None,
    })
}

/// An operator's internal name (`_[_]`) as the author wrote it (`[]`).
fn display_name(name: &str) -> String {
    name.replace(['_', '@'], "")
}
