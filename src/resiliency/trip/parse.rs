//! Parsing and type-checking a `trip` expression in one pass (the tokens come from `lex.rs`).
//!
//! Types follow cel-go's checker with every identifier declared `dyn` (Dapr's quirk): a `dyn` operand matches
//! any overload, so only expressions that are wrong whatever the counts are rejected (`requests + true`).

use std::ops::Range;

use super::lex::{Tok, lex, syntax};
use super::{Conversion, Expr, Op, TripError, TripErrorKind, Ty, Var};

/// Limits that keep hostile input from exhausting the stack or the CPU.
pub const MAX_SOURCE_BYTES: usize = 4096;
pub const MAX_DEPTH: usize = 100;

fn check(message: impl Into<String>, span: Range<usize>) -> TripError {
    TripError {
        message: message.into(),
        span,
        kind: TripErrorKind::Check,
    }
}

/// A checked node: the expression, its static type, where it is, and how deep it nests.
pub struct Node {
    pub expr: Expr,
    pub ty: Ty,
    pub span: Range<usize>,
    pub depth: usize,
}

pub struct Parser {
    toks: Vec<(Tok, Range<usize>)>,
    pos: usize,
    nesting: usize,
    pub unknown: Vec<(String, Range<usize>)>,
}

impl Parser {
    pub fn new(src: &str) -> Result<Self, TripError> {
        if src.len() > MAX_SOURCE_BYTES {
            return Err(syntax(
                format!("expression is longer than {MAX_SOURCE_BYTES} bytes"),
                0..0,
            ));
        }
        Ok(Self {
            toks: lex(src)?,
            pos: 0,
            nesting: 0,
            unknown: Vec::new(),
        })
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    fn span(&self) -> Range<usize> {
        self.toks[self.pos].1.clone()
    }

    fn bump(&mut self) -> (Tok, Range<usize>) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Tok::Op(o) if *o == op) {
            self.bump();
            true
        } else {
            false
        }
    }

    pub fn parse_all(&mut self) -> Result<Node, TripError> {
        let node = self.ternary()?;
        match self.peek() {
            Tok::Eof => Ok(node),
            _ => Err(syntax(format!("unexpected {}", describe(self.peek())), self.span())),
        }
    }

    fn enter(&mut self) -> Result<(), TripError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            Err(syntax("expression nested too deeply", self.span()))
        } else {
            Ok(())
        }
    }

    fn ternary(&mut self) -> Result<Node, TripError> {
        self.enter()?;
        let cond = self.or()?;
        let node = if self.eat("?") {
            let a = self.ternary()?;
            if !self.eat(":") {
                return Err(syntax(
                    format!("expected `:` in a `? :` condition, found {}", describe(self.peek())),
                    self.span(),
                ));
            }
            let b = self.ternary()?;
            let ty = match (cond.ty, a.ty, b.ty) {
                (Ty::Bool | Ty::Dyn, x, y) if x == y => x,
                (Ty::Bool | Ty::Dyn, Ty::Dyn, _) | (Ty::Bool | Ty::Dyn, _, Ty::Dyn) => Ty::Dyn,
                (c, x, y) => {
                    return Err(overload("_?_:_", &[c, x, y], cond.span.start..b.span.end));
                }
            };
            let depth = 1 + cond.depth.max(a.depth).max(b.depth);
            let span = cond.span.start..b.span.end;
            Node {
                expr: Expr::Cond(Box::new([cond.expr, a.expr, b.expr])),
                ty,
                span,
                depth,
            }
        } else {
            cond
        };
        self.nesting -= 1;
        Ok(node)
    }

    fn or(&mut self) -> Result<Node, TripError> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            left = logical(Op::Or, left, right)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, TripError> {
        let mut left = self.relation()?;
        while self.eat("&&") {
            let right = self.relation()?;
            left = logical(Op::And, left, right)?;
        }
        Ok(left)
    }

    fn relation(&mut self) -> Result<Node, TripError> {
        let mut left = self.additive()?;
        loop {
            let op = match self.peek() {
                Tok::Op("<") => Op::Lt,
                Tok::Op("<=") => Op::Le,
                Tok::Op(">") => Op::Gt,
                Tok::Op(">=") => Op::Ge,
                Tok::Op("==") => Op::Eq,
                Tok::Op("!=") => Op::Ne,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.additive()?;
            left = binary(op, left, right)?;
        }
    }

    fn additive(&mut self) -> Result<Node, TripError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Tok::Op("+") => Op::Add,
                Tok::Op("-") => Op::Sub,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.multiplicative()?;
            left = binary(op, left, right)?;
        }
    }

    fn multiplicative(&mut self) -> Result<Node, TripError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Op("*") => Op::Mul,
                Tok::Op("/") => Op::Div,
                Tok::Op("%") => Op::Rem,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.unary()?;
            left = binary(op, left, right)?;
        }
    }

    fn unary(&mut self) -> Result<Node, TripError> {
        let start = self.span().start;
        if self.eat("!") {
            self.enter()?;
            let inner = self.unary()?;
            self.nesting -= 1;
            if !matches!(inner.ty, Ty::Bool | Ty::Dyn) {
                return Err(overload("!_", &[inner.ty], start..inner.span.end));
            }
            let span = start..inner.span.end;
            return Ok(Node {
                expr: Expr::Not(Box::new(inner.expr)),
                ty: Ty::Bool,
                span,
                depth: inner.depth + 1,
            });
        }
        if self.eat("-") {
            // CEL folds a minus into an integer literal, so the smallest int64 can be written.
            if let Tok::Int(v) = *self.peek() {
                let (_, span) = self.bump();
                if v > 1u64 << 63 {
                    return Err(syntax("integer literal out of range", start..span.end));
                }
                let n = (v as i64).wrapping_neg();
                return Ok(Node {
                    expr: Expr::Int(n),
                    ty: Ty::Int,
                    span: start..span.end,
                    depth: 1,
                });
            }
            self.enter()?;
            let inner = self.unary()?;
            self.nesting -= 1;
            if !matches!(inner.ty, Ty::Int | Ty::Double | Ty::Dyn) {
                return Err(overload("-_", &[inner.ty], start..inner.span.end));
            }
            let (ty, span) = (inner.ty, start..inner.span.end);
            return Ok(Node {
                expr: Expr::Neg(Box::new(inner.expr)),
                ty,
                span,
                depth: inner.depth + 1,
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, TripError> {
        let (tok, span) = self.bump();
        let leaf = |expr, ty| {
            Ok(Node {
                expr,
                ty,
                span: span.clone(),
                depth: 1,
            })
        };
        match tok {
            Tok::Int(v) => match i64::try_from(v) {
                Ok(n) => leaf(Expr::Int(n), Ty::Int),
                Err(_) => Err(syntax("integer literal out of range", span)),
            },
            Tok::Uint(v) => leaf(Expr::Uint(v), Ty::Uint),
            Tok::Double(v) => leaf(Expr::Double(v), Ty::Double),
            Tok::Op("(") => {
                self.enter()?;
                let inner = self.ternary()?;
                self.nesting -= 1;
                if !self.eat(")") {
                    return Err(syntax(
                        format!("expected `)`, found {}", describe(self.peek())),
                        self.span(),
                    ));
                }
                Ok(inner)
            }
            Tok::Ident(name) if *self.peek() == Tok::Op("(") => self.call(name, span),
            Tok::Ident(name) => match name.as_str() {
                "true" => leaf(Expr::Bool(true), Ty::Bool),
                "false" => leaf(Expr::Bool(false), Ty::Bool),
                "null" => leaf(Expr::Null, Ty::Null),
                _ => match Var::from_name(&name) {
                    Some(v) => leaf(Expr::Var(v), Ty::Dyn),
                    None => {
                        self.unknown.push((name, span.clone()));
                        leaf(Expr::Unknown, Ty::Dyn)
                    }
                },
            },
            Tok::Eof => Err(syntax("expected a value, found the end of the expression", span)),
            other => Err(syntax(format!("expected a value, found {}", describe(&other)), span)),
        }
    }

    fn call(&mut self, name: String, span: Range<usize>) -> Result<Node, TripError> {
        let conversion = match name.as_str() {
            "int" => Conversion::Int,
            "uint" => Conversion::Uint,
            "double" => Conversion::Double,
            _ => {
                let msg = format!("function `{name}` is not supported in trip expressions (only int, uint, double)");
                return Err(syntax(msg, span));
            }
        };
        self.bump(); // (
        self.enter()?;
        let arg = self.ternary()?;
        self.nesting -= 1;
        if !self.eat(")") {
            return Err(syntax(
                format!("expected `)` after the argument of `{name}`"),
                self.span(),
            ));
        }
        if !matches!(arg.ty, Ty::Int | Ty::Uint | Ty::Double | Ty::Dyn) {
            return Err(overload(&name, &[arg.ty], span.start..arg.span.end));
        }
        let ty = match conversion {
            Conversion::Int => Ty::Int,
            Conversion::Uint => Ty::Uint,
            Conversion::Double => Ty::Double,
        };
        let full = span.start..arg.span.end + 1;
        Ok(Node {
            expr: Expr::Convert(conversion, Box::new(arg.expr)),
            ty,
            span: full,
            depth: arg.depth + 1,
        })
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Int(v) | Tok::Uint(v) => format!("`{v}`"),
        Tok::Double(v) => format!("`{v}`"),
        Tok::Op(o) => format!("`{o}`"),
        Tok::Eof => "the end of the expression".to_string(),
    }
}

fn overload(function: &str, args: &[Ty], span: Range<usize>) -> TripError {
    let names: Vec<&str> = args.iter().map(|t| t.name()).collect();
    check(
        format!(
            "found no matching overload for '{function}' applied to '({})'",
            names.join(", ")
        ),
        span,
    )
}

fn combine(op: Op, l: Node, r: Node, ty: Ty) -> Result<Node, TripError> {
    let depth = 1 + l.depth.max(r.depth);
    let span = l.span.start..r.span.end;
    if depth > MAX_DEPTH {
        return Err(syntax("expression nested too deeply", span));
    }
    Ok(Node {
        expr: Expr::Binary(op, Box::new([l.expr, r.expr])),
        ty,
        span,
        depth,
    })
}

fn logical(op: Op, l: Node, r: Node) -> Result<Node, TripError> {
    if !matches!(l.ty, Ty::Bool | Ty::Dyn) || !matches!(r.ty, Ty::Bool | Ty::Dyn) {
        return Err(overload(op.cel_name(), &[l.ty, r.ty], l.span.start..r.span.end));
    }
    combine(op, l, r, Ty::Bool)
}

fn binary(op: Op, l: Node, r: Node) -> Result<Node, TripError> {
    use Ty::*;
    let numeric = |t: Ty| matches!(t, Int | Uint | Double);
    let ty = match op {
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Rem => match (l.ty, r.ty) {
            (Double, Double) if op == Op::Rem => None,
            (a, b) if a == b && numeric(a) => Some(a),
            (Dyn, Double) | (Double, Dyn) if op == Op::Rem => None,
            (Dyn, t) | (t, Dyn) if numeric(t) => Some(t),
            (Dyn, Dyn) => Some(Dyn),
            _ => None,
        },
        Op::Lt | Op::Le | Op::Gt | Op::Ge => match (l.ty, r.ty) {
            (a, b) if a == b && (numeric(a) || a == Bool || a == Dyn) => Some(Bool),
            (Dyn, t) | (t, Dyn) if numeric(t) || t == Bool => Some(Bool),
            _ => None,
        },
        Op::Eq | Op::Ne => match (l.ty, r.ty) {
            (a, b) if a == b || a == Dyn || b == Dyn => Some(Bool),
            _ => None,
        },
        Op::And | Op::Or => unreachable!("logical operators go through `logical`"),
    };
    match ty {
        Some(ty) => combine(op, l, r, ty),
        None => Err(overload(op.cel_name(), &[l.ty, r.ty], l.span.start..r.span.end)),
    }
}
