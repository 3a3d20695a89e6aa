//! Retry policies: Dapr's `spec.policies.retries` entries and the backoff they produce.
//!
//! Dapr builds its backoff from dapr/kit's `retry.Config` on top of cenkalti/backoff v4. What users can set in
//! the CRD is only `policy`, `duration`, `maxInterval`, `maxRetries` and `matching`; exponential backoff always
//! starts at 500ms, grows ×1.5 with ±50% jitter, and gives up 15 minutes after the request started (so
//! exponential "forever" is not forever, while constant "forever" is).

use std::time::Duration;

use tokio::time::Instant;

/// Exponential backoff's fixed knobs (dapr/kit `retry.DefaultConfig()`); not settable through the CRD.
pub const EXPONENTIAL_INITIAL_INTERVAL: Duration = Duration::from_millis(500);
pub const EXPONENTIAL_RANDOMIZATION_FACTOR: f64 = 0.5;
pub const EXPONENTIAL_MULTIPLIER: f64 = 1.5;
pub const EXPONENTIAL_MAX_ELAPSED: Duration = Duration::from_secs(15 * 60);

/// How long to wait between attempts.
#[derive(Debug, Clone, PartialEq)]
pub enum BackoffPolicy {
    /// The same wait every time (`duration`, default 5s).
    Constant { interval: Duration },
    /// Growing waits, capped at `max_interval` (default 60s); stops once `max_elapsed` has passed.
    Exponential {
        max_interval: Duration,
        max_elapsed: Duration,
    },
}

/// A `spec.policies.retries` entry, with Dapr's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub backoff: BackoffPolicy,
    /// Retries after the first attempt; negative means unlimited, 0 means never retry.
    pub max_retries: i64,
    /// Which status codes are retried (`matching`); errors without a code are always retried.
    pub matching: StatusMatching,
}

impl Default for RetryPolicy {
    /// dapr/kit's defaults: constant, 5s, retry forever.
    fn default() -> Self {
        Self {
            backoff: BackoffPolicy::Constant {
                interval: Duration::from_secs(5),
            },
            max_retries: -1,
            matching: StatusMatching::default(),
        }
    }
}

impl RetryPolicy {
    /// Dapr's `HasRetries()`: whether a request under this policy can ever be replayed.
    pub fn has_retries(&self) -> bool {
        self.max_retries != 0
    }

    /// A fresh backoff for one request (cenkalti's `Reset()` at the start of each retry loop).
    pub fn start(&self) -> Backoff {
        self.start_with_rng(fastrand::Rng::new())
    }

    /// As [`RetryPolicy::start`], with a given random source for exponential jitter (for exact tests).
    pub fn start_with_rng(&self, rng: fastrand::Rng) -> Backoff {
        Backoff {
            policy: self.backoff.clone(),
            max_retries: self.max_retries,
            retries: 0,
            current: EXPONENTIAL_INITIAL_INTERVAL,
            started: Instant::now(),
            rng,
        }
    }

    /// The policy in one line, e.g. `constant 5s, retry forever`.
    pub fn summary(&self) -> String {
        use crate::duration::format_go_duration as d;
        let kind = match &self.backoff {
            BackoffPolicy::Constant { interval } => format!("constant {}", d(*interval)),
            BackoffPolicy::Exponential { max_interval, .. } => {
                // cenkalti/backoff caps the interval, then randomizes each wait ±50% around it: a wait can
                // be up to 1.5 × maxInterval.
                format!(
                    "exponential 500ms \u{d7}1.5 up to {}, each wait \u{b1}50%",
                    d(*max_interval)
                )
            }
        };
        let retries = match self.max_retries {
            n if n < 0 => "retry forever".to_string(),
            0 => "no retries".to_string(),
            1 => "at most 1 retry".to_string(),
            n => format!("at most {n} retries"),
        };
        let matching = if self.matching.is_empty() {
            String::new()
        } else {
            format!(", only {}", self.matching)
        };
        format!("{kind}, {retries}{matching}")
    }
}

/// The per-request state of a retry policy.
pub struct Backoff {
    policy: BackoffPolicy,
    max_retries: i64,
    retries: i64,
    current: Duration,
    started: Instant,
    rng: fastrand::Rng,
}

impl Backoff {
    /// The wait before the next attempt, or `None` when the policy says stop (cenkalti's `NextBackOff`
    /// under `WithMaxRetries`).
    pub fn next_backoff(&mut self) -> Option<Duration> {
        if self.max_retries == 0 {
            return None;
        }
        if self.max_retries > 0 {
            if self.retries >= self.max_retries {
                return None;
            }
            self.retries += 1;
        }
        match self.policy {
            BackoffPolicy::Constant { interval } => Some(interval),
            BackoffPolicy::Exponential {
                max_interval,
                max_elapsed,
            } => {
                let elapsed = self.started.elapsed();
                let next = randomized(self.current, self.rng.f64());
                // The cap applies to the base interval, not the randomized wait, exactly as cenkalti does.
                self.current = if self.current.as_secs_f64() >= max_interval.as_secs_f64() / EXPONENTIAL_MULTIPLIER {
                    max_interval
                } else {
                    self.current.mul_f64(EXPONENTIAL_MULTIPLIER)
                };
                (elapsed + next <= max_elapsed).then_some(next)
            }
        }
    }
}

/// cenkalti's `getRandomValueFromInterval`: uniform in [current·(1−f), current·(1+f)], in whole nanoseconds.
fn randomized(current: Duration, random: f64) -> Duration {
    let current = current.as_nanos() as f64;
    let delta = EXPONENTIAL_RANDOMIZATION_FACTOR * current;
    let (min, max) = (current - delta, current + delta);
    Duration::from_nanos((min + random * (max - min + 1.0)) as u64)
}

/// `matching.httpStatusCodes` / `matching.gRPCStatusCodes`: which coded errors are retried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusMatching {
    pub http: Vec<(u16, u16)>,
    pub grpc: Vec<(u16, u16)>,
}

/// Valid HTTP and gRPC status codes for `matching`.
pub const HTTP_CODES: (u16, u16) = (100, 599);
pub const GRPC_CODES: (u16, u16) = (0, 16);

impl StatusMatching {
    pub fn is_empty(&self) -> bool {
        self.http.is_empty() && self.grpc.is_empty()
    }

    /// Whether an error carrying `code` should be retried. The code's value decides which list applies;
    /// an empty list retries every code.
    pub fn should_retry(&self, code: u16) -> bool {
        let list = if (HTTP_CODES.0..=HTTP_CODES.1).contains(&code) {
            &self.http
        } else if code <= GRPC_CODES.1 {
            &self.grpc
        } else {
            // Neither an HTTP nor a gRPC code: never retried, matching or not (`retry.go statusCodeNeedRetry`).
            return false;
        };
        list.is_empty() || list.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
    }

    /// Parses Dapr's syntax: comma-separated codes or `a-b` ranges within `valid`; empty items are skipped.
    ///
    /// As daprd's `compilePattern` (`pkg/resiliency/retry.go`): each part goes to `strconv.Atoi` untrimmed,
    /// so `"500, 502"` is an error there (the whole resource fails to load), and a leading `+` is accepted.
    pub fn parse_list(text: &str, valid: (u16, u16)) -> Result<Vec<(u16, u16)>, MatchingError> {
        let mut ranges = Vec::new();
        let mut offset = 0;
        for item in text.split(',') {
            let item_at = offset;
            offset += item.len() + 1;
            if item.is_empty() {
                continue;
            }
            let err = |message: String, at: std::ops::Range<usize>| MatchingError { message, at };
            let item_span = item_at..item_at + item.len();
            let parts: Vec<&str> = item.split('-').collect();
            if parts.len() > 2 {
                let message = format!("`{item}` has more than one `-`; write a single code or a range like 500-599");
                return Err(err(message, item_span));
            }
            let mut part_at = item_at;
            let mut codes = Vec::with_capacity(2);
            for part in &parts {
                let span = part_at..part_at + part.len();
                part_at += part.len() + 1;
                let Ok(n) = part.parse::<i64>() else {
                    let message = if part.trim() != *part && part.trim().parse::<i64>().is_ok() {
                        format!("`{part}` is not a status code: Dapr does not trim spaces around codes")
                    } else {
                        format!("`{part}` in `{item}` is not a status code")
                    };
                    return Err(err(message, span));
                };
                // Go's int32(...) conversion wraps, as daprd's does.
                let n = n as i32;
                if n < i32::from(valid.0) || n > i32::from(valid.1) {
                    let message = format!("status code {n} is outside {}..={}", valid.0, valid.1);
                    return Err(err(message, span));
                }
                codes.push(n as u16);
            }
            let range = (codes[0], *codes.last().unwrap_or(&codes[0]));
            if range.1 < range.0 {
                let message = format!("range `{item}` ends before it starts; write the smaller code first");
                return Err(err(message, item_span));
            }
            ranges.push(range);
        }
        Ok(ranges)
    }
}

/// Why a `matching` list was rejected, and where in the list (a byte range of its text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MatchingError {
    pub message: String,
    pub at: std::ops::Range<usize>,
}

impl std::fmt::Display for StatusMatching {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[(u16, u16)]| {
            v.iter()
                .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
                .collect::<Vec<_>>()
                .join(",")
        };
        match (self.http.is_empty(), self.grpc.is_empty()) {
            (false, false) => write!(f, "HTTP {} / gRPC {}", list(&self.http), list(&self.grpc)),
            (false, true) => write!(f, "HTTP {}", list(&self.http)),
            (true, false) => write!(f, "gRPC {}", list(&self.grpc)),
            (true, true) => Ok(()),
        }
    }
}

#[cfg(test)]
mod matching_tests {
    use super::StatusMatching;

    #[test]
    fn codes_outside_both_ranges_are_never_retried() {
        let none = StatusMatching::default();
        assert!(
            none.should_retry(503) && none.should_retry(14),
            "no matching: every valid code"
        );
        for odd in [17, 42, 99, 600, 999] {
            assert!(!none.should_retry(odd), "{odd}");
        }
        let http = StatusMatching {
            http: vec![(500, 503)],
            grpc: Vec::new(),
        };
        assert!(http.should_retry(502) && !http.should_retry(404) && !http.should_retry(700));
    }
}
