//! Evaluating a checked `trip` expression with CEL's runtime semantics: errors are values, `&&` and `||`
//! absorb an error when the other side decides the result, integer overflow and division by zero are errors,
//! and numbers of different types compare by value (the operands are `dyn`). No allocation on any path.

use std::cmp::Ordering;

use super::{Conversion, Counts, Expr, Op};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    Int(i64),
    Uint(u64),
    Double(f64),
    Bool(bool),
    Null,
    Err(&'static str),
}

pub fn eval(e: &Expr, c: &Counts) -> Val {
    match e {
        Expr::Int(v) => Val::Int(*v),
        Expr::Uint(v) => Val::Uint(*v),
        Expr::Double(v) => Val::Double(*v),
        Expr::Bool(v) => Val::Bool(*v),
        Expr::Null => Val::Null,
        Expr::Var(v) => Val::Int(i64::from(v.read(c))),
        Expr::Unknown => Val::Err("no such attribute"),
        Expr::Not(inner) => match eval(inner, c) {
            Val::Bool(b) => Val::Bool(!b),
            Val::Err(e) => Val::Err(e),
            _ => Val::Err("no such overload"),
        },
        Expr::Neg(inner) => match eval(inner, c) {
            Val::Int(i) => i.checked_neg().map_or(Val::Err("integer overflow"), Val::Int),
            Val::Double(d) => Val::Double(-d),
            Val::Err(e) => Val::Err(e),
            _ => Val::Err("no such overload"),
        },
        Expr::Convert(conv, inner) => convert(*conv, eval(inner, c)),
        Expr::Cond(parts) => match eval(&parts[0], c) {
            Val::Bool(true) => eval(&parts[1], c),
            Val::Bool(false) => eval(&parts[2], c),
            Val::Err(e) => Val::Err(e),
            _ => Val::Err("no such overload"),
        },
        Expr::Binary(op, sides) => {
            let (l, r) = (eval(&sides[0], c), eval(&sides[1], c));
            match op {
                Op::And => logical(l, r, false),
                Op::Or => logical(l, r, true),
                Op::Eq | Op::Ne => match (l, r) {
                    (Val::Err(e), _) | (_, Val::Err(e)) => Val::Err(e),
                    _ => Val::Bool(equal(l, r) == (*op == Op::Eq)),
                },
                Op::Lt | Op::Le | Op::Gt | Op::Ge => match compare(l, r) {
                    Ok(ord) => Val::Bool(match op {
                        Op::Lt => ord == Ordering::Less,
                        Op::Le => ord != Ordering::Greater,
                        Op::Gt => ord == Ordering::Greater,
                        _ => ord != Ordering::Less,
                    }),
                    Err(e) => Val::Err(e),
                },
                _ => arithmetic(*op, l, r),
            }
        }
    }
}

/// `&&` (`decisive` false) and `||` (`decisive` true): the decisive value wins over an error on either side.
fn logical(l: Val, r: Val, decisive: bool) -> Val {
    match (l, r) {
        (Val::Bool(a), _) if a == decisive => Val::Bool(decisive),
        (_, Val::Bool(b)) if b == decisive => Val::Bool(decisive),
        (Val::Bool(_), Val::Bool(_)) => Val::Bool(!decisive),
        (Val::Err(e), _) | (_, Val::Err(e)) => Val::Err(e),
        _ => Val::Err("no such overload"),
    }
}

fn equal(l: Val, r: Val) -> bool {
    match (l, r) {
        (Val::Bool(a), Val::Bool(b)) => a == b,
        (Val::Null, Val::Null) => true,
        _ => compare(l, r) == Ok(Ordering::Equal),
    }
}

fn compare(l: Val, r: Val) -> Result<Ordering, &'static str> {
    use Val::*;
    let nan = "NaN is not comparable";
    match (l, r) {
        (Err(e), _) | (_, Err(e)) => std::result::Result::Err(e),
        (Int(a), Int(b)) => Ok(a.cmp(&b)),
        (Uint(a), Uint(b)) => Ok(a.cmp(&b)),
        (Int(a), Uint(b)) => Ok(i128::from(a).cmp(&i128::from(b))),
        (Uint(a), Int(b)) => Ok(i128::from(a).cmp(&i128::from(b))),
        (Double(a), Double(b)) => a.partial_cmp(&b).ok_or(nan),
        (Int(a), Double(b)) => (a as f64).partial_cmp(&b).ok_or(nan),
        (Double(a), Int(b)) => a.partial_cmp(&(b as f64)).ok_or(nan),
        (Uint(a), Double(b)) => (a as f64).partial_cmp(&b).ok_or(nan),
        (Double(a), Uint(b)) => a.partial_cmp(&(b as f64)).ok_or(nan),
        (Bool(a), Bool(b)) => Ok(a.cmp(&b)),
        _ => std::result::Result::Err("no such overload"),
    }
}

fn arithmetic(op: Op, l: Val, r: Val) -> Val {
    use Val::*;
    const OVERFLOW: &str = "integer overflow";
    match (l, r) {
        (Err(e), _) | (_, Err(e)) => Err(e),
        (Int(a), Int(b)) => match op {
            Op::Add => a.checked_add(b).map_or(Err(OVERFLOW), Int),
            Op::Sub => a.checked_sub(b).map_or(Err(OVERFLOW), Int),
            Op::Mul => a.checked_mul(b).map_or(Err(OVERFLOW), Int),
            Op::Div if b == 0 => Err("division by zero"),
            Op::Div => a.checked_div(b).map_or(Err(OVERFLOW), Int),
            Op::Rem if b == 0 => Err("modulus by zero"),
            Op::Rem => a.checked_rem(b).map_or(Err(OVERFLOW), Int),
            _ => Err("no such overload"),
        },
        (Uint(a), Uint(b)) => match op {
            Op::Add => a.checked_add(b).map_or(Err(OVERFLOW), Uint),
            Op::Sub => a.checked_sub(b).map_or(Err(OVERFLOW), Uint),
            Op::Mul => a.checked_mul(b).map_or(Err(OVERFLOW), Uint),
            Op::Div if b == 0 => Err("division by zero"),
            Op::Div => Uint(a / b),
            Op::Rem if b == 0 => Err("modulus by zero"),
            Op::Rem => Uint(a % b),
            _ => Err("no such overload"),
        },
        (Double(a), Double(b)) => match op {
            Op::Add => Double(a + b),
            Op::Sub => Double(a - b),
            Op::Mul => Double(a * b),
            Op::Div => Double(a / b),
            _ => Err("no such overload"),
        },
        _ => Err("no such overload"),
    }
}

fn convert(conv: Conversion, v: Val) -> Val {
    const RANGE: &str = "conversion out of range";
    match (conv, v) {
        (_, Val::Err(e)) => Val::Err(e),
        (Conversion::Int, Val::Int(i)) => Val::Int(i),
        (Conversion::Int, Val::Uint(u)) => i64::try_from(u).map_or(Val::Err(RANGE), Val::Int),
        (Conversion::Int, Val::Double(d))
            if d.is_finite() && d > -9.223_372_036_854_776e18 && d < 9.223_372_036_854_776e18 =>
        {
            Val::Int(d.trunc() as i64)
        }
        (Conversion::Uint, Val::Uint(u)) => Val::Uint(u),
        (Conversion::Uint, Val::Int(i)) => u64::try_from(i).map_or(Val::Err(RANGE), Val::Uint),
        (Conversion::Uint, Val::Double(d)) if (0.0..1.844_674_407_370_955_2e19).contains(&d) => {
            Val::Uint(d.trunc() as u64)
        }
        (Conversion::Double, Val::Int(i)) => Val::Double(i as f64),
        (Conversion::Double, Val::Uint(u)) => Val::Double(u as f64),
        (Conversion::Double, Val::Double(d)) => Val::Double(d),
        (_, Val::Double(_)) => Val::Err(RANGE),
        _ => Val::Err("no such overload"),
    }
}
