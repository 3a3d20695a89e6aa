//! Durations as Dapr reads and prints them.
//!
//! Dapr parses durations with Go's `time.ParseDuration`, except that a string of digits alone means
//! milliseconds (so `duration: 5` in YAML is 5ms, not 5s), and prints them with Go's `Duration.String()`
//! (`5s`, `1m0s`, `742.318ms`). Log lines such as `Retrying in 5s…` must match daprd's byte for byte, so both
//! directions are ported exactly here, error texts included.

use std::fmt::Write as _;
use std::time::Duration;

/// Go's largest duration, in nanoseconds.
const MAX_NANOS: u64 = i64::MAX as u64;
/// `1<<63`, the bound Go's parser checks against while it accumulates.
const BOUND: u64 = 1 << 63;

/// Why a duration string was rejected. `Display` is Go's message, quoting included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("time: invalid duration {}", quote(.0))]
    Invalid(String),
    #[error("time: missing unit in duration {}", quote(.0))]
    MissingUnit(String),
    #[error("time: unknown unit {} in duration {}", quote(.unit), quote(.input))]
    UnknownUnit { unit: String, input: String },
    /// Go accepts negative durations; nothing in a Resiliency resource can use one.
    #[error("negative duration {}", quote(.0))]
    Negative(String),
}

impl DurationError {
    /// What to do about it, in a few words.
    pub fn hint(&self) -> &'static str {
        match self {
            DurationError::Negative(_) => "durations here cannot be negative; drop the `-`",
            _ => {
                "use Go duration syntax such as 5s, 500ms or 1m30s (units ns, us, ms, s, m, h; there is no `d`); a bare number means milliseconds"
            }
        }
    }
}

/// Go's `time.quote`: `"` and `\` escaped, control and non-ASCII bytes as `\xNN`.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c < ' ' || !c.is_ascii() {
            for b in c.encode_utf8(&mut [0; 4]).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Dapr's rule: a whole number alone (sign allowed, as `strconv.Atoi`/`ParseInt` read it) is milliseconds;
/// anything else is a Go duration, negative ones included. Returns `(negative, magnitude)`.
pub fn parse_dapr_duration(s: &str) -> Result<(bool, Duration), DurationError> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let nanos = digits
            .parse::<u64>()
            .ok()
            .and_then(|ms| ms.checked_mul(1_000_000))
            .filter(|n| *n <= MAX_NANOS)
            .ok_or_else(|| DurationError::Invalid(s.to_string()))?;
        return Ok((s.starts_with('-') && nanos > 0, Duration::from_nanos(nanos)));
    }
    parse_go_duration_signed(s)
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// A duration given on the command line: a Go duration, and a bare number is refused (on a flag it is
/// more likely a mistake than milliseconds), with what to write instead.
pub fn parse_flag(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`{t}` has no unit; add one: {t}s for seconds, {t}ms for milliseconds"
        ));
    }
    parse_go_duration(s).map_err(|e| {
        let hint = e.hint().trim_end_matches("; a bare number means milliseconds");
        format!("{e}; {hint}")
    })
}

/// Go's `time.ParseDuration` for what cannot be negative (command-line times): a negative non-zero result
/// is [`DurationError::Negative`].
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    match parse_go_duration_signed(input)? {
        (true, _) => Err(DurationError::Negative(input.to_string())),
        (false, d) => Ok(d),
    }
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`, as `(negative, magnitude)`;
/// negative only when non-zero.
pub fn parse_go_duration_signed(input: &str) -> Result<(bool, Duration), DurationError> {
    let invalid = || DurationError::Invalid(input.to_string());
    let (negative, mut s) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if s == "0" {
        return Ok((false, Duration::ZERO));
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // Go's leadingInt: the integer part; overflow is an error.
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut value: u64 = 0;
        for &c in &b[..int_len] {
            if value > BOUND / 10 {
                return Err(invalid());
            }
            value = value * 10 + u64::from(c - b'0');
            if value > BOUND {
                return Err(invalid());
            }
        }
        s = &s[int_len..];
        // Go's leadingFraction: digits past what fits are consumed but ignored.
        let (mut fraction, mut scale, mut frac_len) = (0u64, 1f64, 0usize);
        if let Some(rest) = s.strip_prefix('.') {
            frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let mut overflow = false;
            for c in rest[..frac_len].bytes() {
                if overflow || fraction > MAX_NANOS / 10 {
                    overflow = true;
                    continue;
                }
                let next = fraction * 10 + u64::from(c - b'0');
                if next > BOUND {
                    overflow = true;
                    continue;
                }
                fraction = next;
                scale *= 10.0;
            }
            s = &rest[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid()); // no digits, e.g. ".s"
        }
        let unit_len = s.bytes().take_while(|c| *c != b'.' && !c.is_ascii_digit()).count();
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(input.to_string()));
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let nanos = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            unit: unit.to_string(),
            input: input.to_string(),
        })?;
        if value > BOUND / nanos {
            return Err(invalid());
        }
        value *= nanos;
        if fraction > 0 {
            // As Go: float64, truncated toward zero.
            value += (fraction as f64 * (nanos as f64 / scale)) as u64;
            if value > BOUND {
                return Err(invalid());
            }
        }
        // Go's `d += v` on uint64 wraps (only when both are exactly 1<<63); mirror it.
        total = total.wrapping_add(value);
        if total > BOUND {
            return Err(invalid());
        }
    }
    // Go allows one more nanosecond below zero than above it.
    if total > MAX_NANOS && !(negative && total == BOUND) {
        return Err(invalid());
    }
    Ok((negative && total > 0, Duration::from_nanos(total)))
}

/// Go's `Duration.String()`; anything above Go's maximum prints as that maximum.
pub fn format_go_duration(d: Duration) -> String {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).min(MAX_NANOS);
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000_000_000 {
        let (unit, precision) = match nanos {
            n if n < 1_000 => ("ns", 0),
            n if n < 1_000_000 => ("\u{b5}s", 3),
            _ => ("ms", 6),
        };
        let (whole, frac) = split_fraction(nanos, precision);
        return format!("{whole}{frac}{unit}");
    }
    let (seconds, frac) = split_fraction(nanos, 9);
    let (hours, minutes, secs) = (seconds / 3600, (seconds / 60) % 60, seconds % 60);
    match (hours, seconds / 60) {
        (0, 0) => format!("{secs}{frac}s"),
        (0, _) => format!("{minutes}m{secs}{frac}s"),
        _ => format!("{hours}h{minutes}m{secs}{frac}s"),
    }
}

/// `value / 10^precision` as (whole part, `.fraction` without trailing zeros, or "").
fn split_fraction(value: u64, precision: u32) -> (u64, String) {
    let pow = 10u64.pow(precision);
    let frac = value % pow;
    if frac == 0 {
        return (value / pow, String::new());
    }
    let digits = format!("{frac:0width$}", width = precision as usize);
    (value / pow, format!(".{}", digits.trim_end_matches('0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn parses_go_syntax() {
        let cases = [
            ("0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("-0s", Duration::ZERO),
            ("+5s", ms(5000)),
            ("100ns", Duration::from_nanos(100)),
            ("3us", Duration::from_micros(3)),
            ("3\u{b5}s", Duration::from_micros(3)),
            ("3\u{3bc}s", Duration::from_micros(3)),
            ("500ms", ms(500)),
            ("5s", ms(5000)),
            ("2m", Duration::from_secs(120)),
            ("3h", Duration::from_secs(10_800)),
            ("1.5s", ms(1500)),
            (".5s", ms(500)),
            ("5.s", ms(5000)),
            ("1.5h", Duration::from_secs(5400)),
            ("1h30m", Duration::from_secs(5400)),
            ("2h45m", Duration::from_secs(9900)),
            ("1m30.5s", ms(90_500)),
            ("1.0000000001s", Duration::from_nanos(1_000_000_000)),
            ("0.3333333333333333333h", Duration::from_nanos(1_200_000_000_000)),
            ("9223372036854775807ns", Duration::from_nanos(MAX_NANOS)),
            ("2562047h47m16.854775807s", Duration::from_nanos(MAX_NANOS)),
            // Go's uint64 accumulator wraps to zero here; so do we.
            ("9223372036854775808ns9223372036854775808ns", Duration::ZERO),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_go_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_what_go_rejects() {
        let err = |s: &str| parse_go_duration(s).unwrap_err().to_string();
        assert_eq!(err(""), r#"time: invalid duration """#);
        assert_eq!(err("-"), r#"time: invalid duration "-""#);
        assert_eq!(err("5"), r#"time: missing unit in duration "5""#);
        assert_eq!(err("1s5"), r#"time: missing unit in duration "1s5""#);
        assert_eq!(err("1d"), r#"time: unknown unit "d" in duration "1d""#);
        assert_eq!(err("5 s"), r#"time: unknown unit " s" in duration "5 s""#);
        assert_eq!(err("abc"), r#"time: invalid duration "abc""#);
        assert_eq!(err(".s"), r#"time: invalid duration ".s""#);
        assert_eq!(err("-.s"), r#"time: invalid duration "-.s""#);
        assert_eq!(err("1.s.5"), r#"time: missing unit in duration "1.s.5""#);
        assert_eq!(err("-5s"), r#"negative duration "-5s""#);
        assert_eq!(
            err("-9223372036854775808ns"),
            r#"negative duration "-9223372036854775808ns""#
        );
        assert_eq!(
            err("9223372036854775808ns"),
            r#"time: invalid duration "9223372036854775808ns""#
        );
        assert_eq!(err("9999999999h"), r#"time: invalid duration "9999999999h""#);
        assert_eq!(
            err("99999999999999999999s"),
            r#"time: invalid duration "99999999999999999999s""#
        );
        // Go's quote: non-ASCII and control bytes as \xNN, quotes escaped.
        assert_eq!(
            err("1\u{e9}"),
            r#"time: unknown unit "\xc3\xa9" in duration "1\xc3\xa9""#
        );
        assert_eq!(err("\"\t"), r#"time: invalid duration "\"\x09""#);
    }

    #[test]
    fn errors_have_hints() {
        let negative = parse_go_duration("-5s").unwrap_err();
        assert_eq!(negative, DurationError::Negative("-5s".into()));
        assert!(negative.hint().contains("negative"));
        assert!(parse_go_duration("1d").unwrap_err().hint().contains("no `d`"));
    }

    #[test]
    fn bare_numbers_are_milliseconds_in_dapr() {
        let pos = |d| Ok((false, d));
        assert_eq!(parse_dapr_duration("500"), pos(ms(500)));
        assert_eq!(parse_dapr_duration("5"), pos(ms(5)));
        assert_eq!(parse_dapr_duration("1500"), pos(ms(1500)));
        assert_eq!(parse_dapr_duration("0"), pos(Duration::ZERO));
        assert_eq!(parse_dapr_duration("5s"), pos(ms(5000)));
        assert_eq!(parse_dapr_duration(""), Err(DurationError::Invalid(String::new())));
        // Go accepts a sign: strconv.Atoi for bare numbers, time.ParseDuration for the rest.
        assert_eq!(parse_dapr_duration("+5"), pos(ms(5)));
        assert_eq!(parse_dapr_duration("+5s"), pos(ms(5000)));
        assert_eq!(parse_dapr_duration("-5"), Ok((true, ms(5))));
        assert_eq!(parse_dapr_duration("-5s"), Ok((true, ms(5000))));
        assert_eq!(parse_dapr_duration("-0s"), pos(Duration::ZERO));
        assert_eq!(
            parse_dapr_duration("-9223372036854775808ns"),
            Ok((true, Duration::from_nanos(1 << 63)))
        );
        assert!(parse_dapr_duration("99999999999999999999").is_err());
        assert!(parse_dapr_duration("9223372036855").is_err()); // > Go's max in ns
    }

    #[test]
    fn formats_like_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_nanos(999), "999ns"),
            (Duration::from_nanos(1100), "1.1\u{b5}s"),
            (Duration::from_micros(2200), "2.2ms"),
            (Duration::from_micros(742_318), "742.318ms"),
            (ms(100), "100ms"),
            (ms(5000), "5s"),
            (ms(1500), "1.5s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(7200), "2h0m0s"),
            (ms(3_661_500), "1h1m1.5s"),
            (Duration::from_nanos(MAX_NANOS), "2562047h47m16.854775807s"),
            (Duration::MAX, "2562047h47m16.854775807s"),
        ];
        for (d, expected) in cases {
            assert_eq!(format_go_duration(d), expected, "{d:?}");
        }
    }

    #[test]
    fn round_trips() {
        let mut n: u64 = 1;
        while n < MAX_NANOS / 7 {
            let d = Duration::from_nanos(n);
            assert_eq!(parse_go_duration(&format_go_duration(d)), Ok(d), "{n}");
            n = n * 7 + 3;
        }
        for n in [0, 999, 1_000, 1_000_000, 59_999_999_999, 3_600_000_000_001, MAX_NANOS] {
            let d = Duration::from_nanos(n);
            assert_eq!(parse_go_duration(&format_go_duration(d)), Ok(d), "{n}");
        }
    }
}
