//! How daprd's Redis client times a call: go-redis v9 as components-contrib configures it for a state store
//! (`common/component/redis/redis.go` `ParseClientFromProperties`, `settings.go`, `v9client.go`), and
//! go-redis's own retry loop (`redis.go` `process`/`_process`, `error.go` `shouldRetry`,
//! `internal/internal.go` `RetryBackoff`).
//!
//! With the quickstart's component (no timing metadata): 3 retries, a 3s read timeout, and a 512ms wait
//! between attempts (contrib's legacy 2s minimum is above go-redis's 512ms maximum, so the maximum wins).
//! A read timeout is retried only on a connection that was already in use: go-redis then drops that
//! connection, and the retry's new connection times out in its handshake (`HELLO`, itself retried once
//! after the same wait), which is not retried. So a call to a paused Redis fails after 3s + 512ms + 3s +
//! 512ms, and the next one, with no connection left, after 3s + 512ms. A refused connection (Redis stopped)
//! is retried 3 times, 512ms apart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::StoreError;

/// The component's client settings, resolved as go-redis resolves its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisTimings {
    /// Retries after the first attempt (`redisMaxRetries`; -1 means none).
    pub max_retries: u32,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Per read on a connection (`readTimeout`); `None` waits for ever.
    pub read_timeout: Option<Duration>,
    /// `dialTimeout`.
    pub dial_timeout: Option<Duration>,
    /// An explicit `readTimeout` also bounds a whole read or script call, retries included: contrib wraps
    /// those calls in a context with that deadline (`v9client.go` `DoRead`, `EvalInt`).
    pub call_deadline: Option<Duration>,
}

impl Default for RedisTimings {
    /// A state store's component with no timing metadata.
    fn default() -> Self {
        Self::from_metadata(|_| None).unwrap_or(Self {
            max_retries: 3,
            min_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_millis(512),
            read_timeout: Some(Duration::from_secs(3)),
            dial_timeout: Some(Duration::from_secs(5)),
            call_deadline: None,
        })
    }
}

/// A contrib `Duration` (`settings.go` `DecodeString`): a whole number is milliseconds (a negative one is a
/// sentinel, below zero), anything else a Go duration. `None` for absent or empty; `Some(None)` for negative.
fn contrib_duration(key: &str, value: Option<&str>) -> Result<Option<Option<Duration>>, StoreError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let (negative, d) = crate::duration::parse_dapr_duration(value).map_err(|e| {
        StoreError::Unavailable(format!(
            "the component's `{key}` is `{value}` ({e}); write a duration such as 3s, or milliseconds"
        ))
    })?;
    Ok(Some((!negative).then_some(d)))
}

impl RedisTimings {
    /// The settings a state store's component metadata gives (`metadata(name)` reads one value).
    pub fn from_metadata<'a>(metadata: impl Fn(&str) -> Option<&'a str>) -> Result<Self, StoreError> {
        let duration = |key: &str| contrib_duration(key, metadata(key));
        // go-redis `options.go` `init`: 0 takes the default, a negative value turns the setting off.
        let resolve = |d: Option<Option<Duration>>, default: Duration| match d {
            None => Some(default),
            Some(Some(d)) if d.is_zero() => Some(default),
            Some(d) => d,
        };
        let retries = metadata("redisMaxRetries").or_else(|| metadata("maxRetries"));
        let max_retries = match retries.map(str::trim).filter(|v| !v.is_empty()) {
            None => 3,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n < 0 => 0,
                Ok(0) => 3,
                Ok(n) => u32::try_from(n).unwrap_or(u32::MAX),
                Err(_) => {
                    return Err(StoreError::Unavailable(format!(
                        "the component's `redisMaxRetries` is `{v}`; write a whole number (-1 for no retries)"
                    )));
                }
            },
        };
        // Contrib's legacy default for state stores is a 2s minimum; its older key `maxRetryBackoff` is nanoseconds.
        let min = match duration("redisMinRetryInterval")? {
            Some(d) => Some(d),
            None => match metadata("maxRetryBackoff").map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) => Some(Some(Duration::from_nanos(v.parse::<u64>().map_err(|_| {
                    StoreError::Unavailable(format!(
                        "redis store error: can't parse maxRetryBackoff field: `{v}` is not a whole number of nanoseconds"
                    ))
                })?))),
                None => Some(Some(Duration::from_secs(2))),
            },
        };
        let read = duration("readTimeout")?;
        Ok(Self {
            max_retries,
            min_backoff: resolve(min, Duration::from_millis(8)).unwrap_or_default(),
            max_backoff: resolve(duration("redisMaxRetryInterval")?, Duration::from_millis(512)).unwrap_or_default(),
            read_timeout: resolve(read, Duration::from_secs(3)),
            dial_timeout: resolve(duration("dialTimeout")?, Duration::from_secs(5)),
            call_deadline: read.flatten().filter(|d| !d.is_zero()),
        })
    }

    /// go-redis `RetryBackoff` without its randomness: the minimum plus up to `min << attempt`, capped at
    /// the maximum. The upper end is taken (the wait is random in go-redis); with contrib's defaults every
    /// wait is the maximum either way.
    pub fn backoff(&self, attempt: u32) -> Duration {
        if self.min_backoff.is_zero() {
            return Duration::ZERO;
        }
        let spread = self.min_backoff.saturating_mul(1u32 << attempt.min(20));
        let d = self.min_backoff.saturating_add(spread);
        if d > self.max_backoff { self.max_backoff } else { d }
    }
}

/// How one attempt ended.
pub enum Attempt<T, E> {
    Done(Result<T, E>),
    /// The connection could not be used (refused, reset, closed): go-redis retries it.
    Unreachable(E),
    /// No answer within the read timeout.
    TimedOut,
}

/// go-redis's `process` loop over `attempt`, with `in_use` saying whether a connection that already worked
/// is there to use (go-redis's pool). `timed_out` makes the error for a read timeout.
pub async fn process<T, E, F, Fut>(
    timings: &RedisTimings,
    in_use: &AtomicBool,
    mut attempt: F,
    timed_out: impl Fn() -> E,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Attempt<T, E>>,
{
    let mut last = None;
    for n in 0..=timings.max_retries {
        if n > 0 {
            tokio::time::sleep(timings.backoff(n)).await;
        }
        let pooled = in_use.load(Ordering::Relaxed);
        let ended = match timings.read_timeout {
            Some(limit) => tokio::time::timeout(limit, attempt())
                .await
                .unwrap_or(Attempt::TimedOut),
            None => attempt().await,
        };
        match ended {
            Attempt::Done(result) => {
                in_use.store(true, Ordering::Relaxed);
                return result;
            }
            Attempt::Unreachable(e) => {
                in_use.store(false, Ordering::Relaxed);
                last = Some(e);
            }
            // A command's read timeout is retried on a new connection; a new connection's handshake that
            // times out is retried once inside it (the sticky error ends it) and then not at all.
            Attempt::TimedOut if pooled => {
                in_use.store(false, Ordering::Relaxed);
                last = Some(timed_out());
            }
            Attempt::TimedOut => {
                if timings.max_retries > 0 {
                    tokio::time::sleep(timings.backoff(1)).await;
                }
                return Err(timed_out());
            }
        }
    }
    Err(last.unwrap_or_else(timed_out))
}

#[cfg(test)]
mod tests {
    use super::RedisTimings;
    use std::time::Duration;

    fn timings(pairs: &[(&str, &str)]) -> RedisTimings {
        RedisTimings::from_metadata(|k| pairs.iter().find(|(name, _)| *name == k).map(|(_, v)| *v)).unwrap()
    }

    #[test]
    fn a_state_stores_defaults_and_metadata_as_contrib_reads_them() {
        let d = timings(&[]);
        let s = Duration::from_secs;
        assert_eq!(
            (d.max_retries, d.read_timeout, d.dial_timeout),
            (3, Some(s(3)), Some(s(5)))
        );
        assert_eq!(d.call_deadline, None);
        // The legacy 2s minimum is above the 512ms maximum: every wait is the maximum.
        assert_eq!([d.backoff(1), d.backoff(3)], [Duration::from_millis(512); 2]);
        let t = timings(&[
            ("redisMaxRetries", "-1"),
            ("readTimeout", "500"),
            ("dialTimeout", "2s"),
            ("redisMinRetryInterval", "10ms"),
            ("redisMaxRetryInterval", "-1"),
        ]);
        assert_eq!(t.max_retries, 0);
        assert_eq!(
            (t.read_timeout, t.call_deadline),
            (Some(Duration::from_millis(500)), Some(Duration::from_millis(500)))
        );
        assert_eq!(t.dial_timeout, Some(s(2)));
        assert_eq!(t.backoff(1), Duration::ZERO, "a negative maximum turns the wait off");
        let t = timings(&[
            ("redisMinRetryInterval", "10ms"),
            ("readTimeout", "-1"),
            ("maxRetries", "5"),
        ]);
        assert_eq!(
            (t.backoff(1), t.backoff(2)),
            (Duration::from_millis(30), Duration::from_millis(50))
        );
        assert_eq!((t.read_timeout, t.max_retries), (None, 5));
        let e = RedisTimings::from_metadata(|k| (k == "readTimeout").then_some("soon")).unwrap_err();
        assert!(e.to_string().contains("readTimeout"), "{e}");
    }
}
