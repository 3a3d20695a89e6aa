//! A state value written as daprd writes it. daprd decodes the request's JSON into Go values (every number a
//! `float64`) and the store marshals them again: the in-memory store with `encoding/json`, Redis
//! (components-contrib `state/redis`) with jsoniter's `ConfigFastest`. So `1.0` is stored as `1`, `<` is
//! escaped as `\u003c` by `encoding/json` but not by jsoniter, and jsoniter keeps at most 6 decimals. Object
//! keys are written sorted: `encoding/json` sorts them; jsoniter writes Go's map order, which is random, and
//! sorted is one of its orders.

use std::fmt::Write as _;

use serde_json::Value;

/// Which Go JSON encoder a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoEncoder {
    /// `encoding/json`'s `Marshal`.
    EncodingJson,
    /// jsoniter's `ConfigFastest` (no HTML escaping, floats with at most 6 decimals).
    JsoniterFastest,
}

/// `value` as the store's Go encoder writes it.
pub fn marshal(value: &Value, encoder: GoEncoder) -> Vec<u8> {
    let mut out = String::new();
    write_value(&mut out, value, encoder);
    out.into_bytes()
}

fn write_value(out: &mut String, value: &Value, encoder: GoEncoder) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            // Go decoded it into a float64 (large integers lose precision there too).
            let f = n.as_f64().unwrap_or_default();
            match encoder {
                GoEncoder::EncodingJson => write_float(out, f),
                GoEncoder::JsoniterFastest => write_float_lossy(out, f),
            }
        }
        Value::String(s) => write_string(out, s, encoder),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, encoder);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key, encoder);
                out.push(':');
                write_value(out, item, encoder);
            }
            out.push('}');
        }
    }
}

/// `encoding/json`'s float64: the shortest digits, as `'f'`, or as `'e'` below 1e-6 and from 1e21 on, with
/// Go's exponent (`1e+21`, `1e-7`).
fn write_float(out: &mut String, f: f64) {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let scientific = format!("{f:e}");
        match scientific.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => {
                let _ = write!(out, "{mantissa}e+{exp:0>2}");
            }
            _ => out.push_str(&scientific),
        }
    } else {
        let _ = write!(out, "{f}");
    }
}

/// jsoniter's `WriteFloat64Lossy`: at most 6 decimals, trailing zeros dropped; larger values as
/// [`write_float`].
fn write_float_lossy(out: &mut String, f: f64) {
    let (negative, abs) = (f < 0.0, f.abs());
    if negative {
        out.push('-');
    }
    if abs > f64::from(0x4ff_ffff) {
        write_float(out, abs);
        return;
    }
    let scaled = (abs * 1e6 + 0.5) as u64;
    let _ = write!(out, "{}", scaled / 1_000_000);
    let fraction = scaled % 1_000_000;
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        let _ = write!(out, ".{}", digits.trim_end_matches('0'));
    }
}

fn write_string(out: &mut String, s: &str, encoder: GoEncoder) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if encoder == GoEncoder::EncodingJson => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' if encoder == GoEncoder::EncodingJson => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(json: &str) -> (String, String) {
        let v: Value = serde_json::from_str(json).unwrap();
        let text = |e| String::from_utf8(marshal(&v, e)).unwrap();
        (text(GoEncoder::EncodingJson), text(GoEncoder::JsoniterFastest))
    }

    #[test]
    fn numbers_as_go_writes_a_float64() {
        assert_eq!(both("1.0"), ("1".into(), "1".into()));
        assert_eq!(both("3.14159265"), ("3.14159265".into(), "3.141593".into()));
        assert_eq!(both("-0.5"), ("-0.5".into(), "-0.5".into()));
        assert_eq!(both("1e21").0, "1e+21");
        assert_eq!(both("0.0000001").0, "1e-7");
        assert_eq!(both("0.0000001").1, "0", "jsoniter keeps 6 decimals");
        assert_eq!(both("123456789012").1, "123456789012");
        assert_eq!(
            both("12345678901234567890").0,
            "12345678901234567000",
            "a float64 on the way"
        );
    }

    #[test]
    fn strings_and_objects() {
        let (go, jsoniter) = both(r#"{"b":"<a&b>","a":[1,"x\n"]}"#);
        assert_eq!(go, r#"{"a":[1,"x\n"],"b":"\u003ca\u0026b\u003e"}"#);
        assert_eq!(jsoniter, r#"{"a":[1,"x\n"],"b":"<a&b>"}"#);
        assert_eq!(both(r#""orderId""#).0, r#""orderId""#);
    }
}
