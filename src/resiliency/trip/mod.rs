//! `trip`: the CEL expression that decides when a circuit breaker opens.
//!
//! Dapr evaluates `trip` with cel-go over five integer counts whenever an attempt fails while the breaker is
//! closed; only a boolean `true` opens it, and any evaluation error means "do not trip". Dapr declares every
//! identifier it finds as `dyn`, so a typo such as `failures > 1` compiles, fails at every evaluation, and the
//! breaker never opens; we copy that, and report such names so the loader can warn.
//!
//! This is a small hand-written subset of CEL rather than a CEL crate: only five ints are ever bound, errors
//! must point at a column inside the expression, and the evaluator runs on every failed request (it does not
//! allocate). Supported: int, uint (`5u`) and double literals, `true`/`false`/`null`, `+ - * / %`,
//! comparisons, `&& || !`, `? :`, parentheses, and the conversions `int()`, `uint()`, `double()`.

mod eval;
#[doc(hidden)]
pub mod fuzz;
mod lex;
mod parse;

use std::fmt;
use std::ops::Range;

/// The five breaker counts visible to `trip` (gobreaker's `Counts` for the current generation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub requests: u32,
    pub total_successes: u32,
    pub total_failures: u32,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
}

/// One of the five counts, resolved at compile time so evaluation needs no lookup by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Var {
    Requests,
    TotalSuccesses,
    TotalFailures,
    ConsecutiveSuccesses,
    ConsecutiveFailures,
}

impl Var {
    fn from_name(name: &str) -> Option<Var> {
        Some(match name {
            "requests" => Var::Requests,
            "totalSuccesses" => Var::TotalSuccesses,
            "totalFailures" => Var::TotalFailures,
            "consecutiveSuccesses" => Var::ConsecutiveSuccesses,
            "consecutiveFailures" => Var::ConsecutiveFailures,
            _ => return None,
        })
    }

    fn read(self, c: &Counts) -> u32 {
        match self {
            Var::Requests => c.requests,
            Var::TotalSuccesses => c.total_successes,
            Var::TotalFailures => c.total_failures,
            Var::ConsecutiveSuccesses => c.consecutive_successes,
            Var::ConsecutiveFailures => c.consecutive_failures,
        }
    }
}

/// Static types, as cel-go's checker names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Int,
    Uint,
    Double,
    Bool,
    Null,
    Dyn,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Uint => "uint",
            Ty::Double => "double",
            Ty::Bool => "bool",
            Ty::Null => "null_type",
            Ty::Dyn => "dyn",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl Op {
    fn cel_name(self) -> &'static str {
        match self {
            Op::Add => "_+_",
            Op::Sub => "_-_",
            Op::Mul => "_*_",
            Op::Div => "_/_",
            Op::Rem => "_%_",
            Op::Lt => "_<_",
            Op::Le => "_<=_",
            Op::Gt => "_>_",
            Op::Ge => "_>=_",
            Op::Eq => "_==_",
            Op::Ne => "_!=_",
            Op::And => "_&&_",
            Op::Or => "_||_",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conversion {
    Int,
    Uint,
    Double,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Int(i64),
    Uint(u64),
    Double(f64),
    Bool(bool),
    Null,
    Var(Var),
    /// An identifier that is not one of the counts: always an evaluation error.
    Unknown,
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Convert(Conversion, Box<Expr>),
    Binary(Op, Box<[Expr; 2]>),
    Cond(Box<[Expr; 3]>),
}

/// Whether the expression failed to parse or to type-check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripErrorKind {
    Syntax,
    Check,
}

/// Why an expression does not compile; `span` is a byte range in the expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct TripError {
    pub message: String,
    pub span: Range<usize>,
    pub kind: TripErrorKind,
}

/// A compiled `trip` expression.
#[derive(Debug, Clone)]
pub struct TripExpr {
    source: String,
    expr: Expr,
    ty: Ty,
    unknown: Vec<(String, Range<usize>)>,
}

impl TripExpr {
    /// Parses and type-checks. Errors carry a byte span into `source`.
    pub fn compile(source: &str) -> Result<TripExpr, TripError> {
        let mut parser = parse::Parser::new(source)?;
        let node = parser.parse_all()?;
        Ok(TripExpr {
            source: source.to_string(),
            expr: node.expr,
            ty: node.ty,
            unknown: parser.unknown,
        })
    }

    /// gobreaker's default, used when a breaker sets no `trip`.
    pub fn gobreaker_default() -> TripExpr {
        TripExpr::compile("consecutiveFailures > 5").expect("the default trip compiles")
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Identifiers that are not one of the five counts, with their byte spans: Dapr fails to evaluate them.
    pub fn unknown_variables(&self) -> &[(String, Range<usize>)] {
        &self.unknown
    }

    /// The static type when it is neither bool nor dyn (the expression can then never yield `true`).
    pub fn statically_non_bool(&self) -> Option<&'static str> {
        (!matches!(self.ty, Ty::Bool | Ty::Dyn)).then(|| self.ty.name())
    }

    /// `Ok(bool)` when the result is a bool; `Err(reason)` for an evaluation error or a non-bool result.
    pub fn evaluate(&self, counts: &Counts) -> Result<bool, String> {
        match eval::eval(&self.expr, counts) {
            eval::Val::Bool(b) => Ok(b),
            eval::Val::Err(e) => Err(e.to_string()),
            other => Err(format!("trip yielded {other:?}, not a bool")),
        }
    }

    /// Dapr's rule: open only when evaluation yields `true`.
    pub fn should_trip(&self, counts: &Counts) -> bool {
        matches!(eval::eval(&self.expr, counts), eval::Val::Bool(true))
    }
}

impl fmt::Display for TripExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests;
