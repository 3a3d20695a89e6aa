//! daprd's log lines as logrus's text formatter writes them off a terminal (dapr/kit `logger/dapr_logger.go`:
//! `TextFormatter` with RFC3339Nano timestamps, the fields `app_id`, `instance`, `scope`, `type`, `ver`):
//! `time="2026-12-04T16:20:05.123Z" level=info msg="…" app_id=checkout instance=host scope=dapr.runtime
//! type=log ver=1.18.3`. For headless `--output text --log-format logfmt`, so the lines read as `dapr run`'s
//! log file does. The time is UTC (logrus writes local time).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::resiliency::events::LogLevel;
use crate::sidecar::RUNTIME_VERSION;

/// One daprd log line at `wall`.
pub fn logfmt_line(wall: SystemTime, level: LogLevel, msg: &str, app_id: &str) -> String {
    let fields = [
        ("time", rfc3339_nano(wall)),
        ("level", level.logrus_name().to_string()),
        ("msg", msg.to_string()),
        // logrus sorts the remaining fields by key.
        ("app_id", app_id.to_string()),
        ("instance", hostname()),
        ("scope", "dapr.runtime".to_string()),
        ("type", "log".to_string()),
        ("ver", RUNTIME_VERSION.to_string()),
    ];
    let pairs: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", quoted(v))).collect();
    pairs.join(" ")
}

/// logrus's `needsQuoting`: a value with any character outside `[A-Za-z0-9-._/@^+]` is quoted (Go's `%q`).
fn quoted(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-._/@^+".contains(c);
    if value.chars().all(plain) {
        value.to_string()
    } else {
        format!("{value:?}")
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|n| n.trim().to_string())
        .unwrap_or_default()
}

/// Go's `time.RFC3339Nano` in UTC: the fraction without trailing zeros, none when it is zero.
fn rfc3339_nano(wall: SystemTime) -> String {
    let since = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    let nanos = since.subsec_nanos();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Howard Hinnant's days-to-civil: the proleptic Gregorian date `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_line_as_logrus_writes_it_off_a_terminal() {
        let wall = UNIX_EPOCH + Duration::new(1_796_400_005, 120_000_000);
        let line = logfmt_line(
            wall,
            LogLevel::Warn,
            "Error processing operation endpoint[order-processor, order-processor:orders]. Retrying in 5s…",
            "checkout",
        );
        let expected = format!(
            "time=\"2026-12-04T16:00:05.12Z\" level=warning msg=\"Error processing operation \
             endpoint[order-processor, order-processor:orders]. Retrying in 5s…\" app_id=checkout instance={} \
             scope=dapr.runtime type=log ver=1.18.3",
            quoted(&hostname())
        );
        assert_eq!(line, expected);
        let plain = logfmt_line(UNIX_EPOCH, LogLevel::Info, "ok", "order-processor");
        assert!(plain.starts_with("time=\"1970-01-01T00:00:00Z\" level=info msg=ok app_id=order-processor "));
    }

    #[test]
    fn dates_across_leap_years() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_791), (2026, 12, 4));
    }
}
