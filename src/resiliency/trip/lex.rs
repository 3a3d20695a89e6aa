//! Splitting a `trip` expression into tokens, each with its byte span.

use std::ops::Range;

use super::{TripError, TripErrorKind};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Int(u64),
    Uint(u64),
    Double(f64),
    Op(&'static str),
    Eof,
}

pub(super) fn syntax(message: impl Into<String>, span: Range<usize>) -> TripError {
    TripError {
        message: message.into(),
        span,
        kind: TripErrorKind::Syntax,
    }
}

pub(super) fn lex(src: &str) -> Result<Vec<(Tok, Range<usize>)>, TripError> {
    const OPS: [&str; 19] = [
        "&&", "||", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "!", "?", ":", "(", ")", ",",
    ];
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if src[i..].starts_with("//") {
            i += src[i..].find('\n').unwrap_or(src.len() - i);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((Tok::Ident(src[start..i].to_string()), start..i));
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (tok, end) = number(src, i)?;
            i = end;
            out.push((tok, start..i));
        } else if let Some(op) = OPS.iter().find(|op| src[i..].starts_with(**op)) {
            i += op.len();
            out.push((Tok::Op(op), start..i));
        } else {
            for (typo, fix) in [("=>", ">="), ("=<", "<=")] {
                if src[i..].starts_with(typo) {
                    return Err(syntax(format!("unexpected `{typo}`: write `{fix}`"), i..i + 2));
                }
            }
            let ch = src[i..].chars().next().unwrap_or('?');
            let end = i + ch.len_utf8();
            let msg = match ch {
                '"' | '\'' => "strings are not supported in trip expressions".to_string(),
                '.' => "field access is not supported in trip expressions".to_string(),
                '=' => "unexpected `=`: compare with `==`".to_string(),
                '&' | '|' => format!("unexpected `{ch}`: write `{ch}{ch}`"),
                _ => format!("unexpected character `{ch}`"),
            };
            return Err(syntax(msg, i..end));
        }
    }
    out.push((Tok::Eof, src.len()..src.len()));
    Ok(out)
}

fn number(src: &str, start: usize) -> Result<(Tok, usize), TripError> {
    let b = src.as_bytes();
    let mut i = start;
    if src[i..].starts_with("0x") || src[i..].starts_with("0X") {
        i += 2;
        let digits = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        let value = u64::from_str_radix(&src[i..i + digits], 16)
            .map_err(|_| syntax("invalid hexadecimal literal", start..i + digits))?;
        i += digits;
        return suffixed(b, value, start, i);
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut float = false;
    if i < b.len() && b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        float = true;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            float = true;
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    let text = &src[start..i];
    if float {
        let v: f64 = text.parse().map_err(|_| syntax("invalid number", start..i))?;
        return Ok((Tok::Double(v), i));
    }
    let value: u64 = text
        .parse()
        .map_err(|_| syntax("integer literal out of range", start..i))?;
    suffixed(b, value, start, i)
}

fn suffixed(b: &[u8], value: u64, start: usize, i: usize) -> Result<(Tok, usize), TripError> {
    if i < b.len() && (b[i] == b'u' || b[i] == b'U') {
        return Ok((Tok::Uint(value), i + 1));
    }
    if i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'_') {
        return Err(syntax("a number cannot be followed by a letter", start..i + 1));
    }
    Ok((Tok::Int(value), i))
}
