//! Typed events the engine emits, and the Dapr log lines they stand for.
//!
//! The engine reports everything a person may want to watch (each attempt, each wait, each breaker transition)
//! as a [`ResiliencyEvent`] to an [`Observer`]. Whoever displays them (the TUI, the headless printer, a test)
//! picks what to show; [`ResiliencyEvent::dapr_logs`] renders the lines daprd itself would have logged, verbatim
//! (current Dapr, v1.14+), so the log pane and headless output read exactly like a real sidecar.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::breaker::BreakerState;
use super::config::Direction;
use super::trip::Counts;
use crate::duration::format_go_duration;

/// Why a circuit breaker refused to run an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// The breaker is open: nothing reaches the target until its `timeout` has passed.
    Open,
    /// The breaker is half-open and has already admitted `maxRequests` probes.
    TooManyRequests,
}

impl Rejection {
    /// The error text Dapr uses (gobreaker's `ErrOpenState` / `ErrTooManyRequests`).
    pub fn message(self) -> &'static str {
        match self {
            Rejection::Open => "circuit breaker is open",
            Rejection::TooManyRequests => "too many requests",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// What made an attempt fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureCause {
    /// The operation returned an error; `status` is its status code when it carried one.
    Operation { status: Option<u16> },
    /// The per-attempt timeout (`after`) elapsed (`context deadline exceeded`). `first_in_request` is set on the first
    /// timeout of a request only: Dapr counts a timeout activation at most once per request (`policy.go`).
    Timeout { first_in_request: bool, after: Duration },
}

impl FailureCause {
    /// An attempt's error with what caused it, for people: `context deadline exceeded (1s timeout)`,
    /// `status 503: received non-successful status code in response: 503`.
    pub fn explain(&self, error: &str) -> String {
        match self {
            FailureCause::Timeout { after, .. } if !after.is_zero() => {
                format!("{error} ({} timeout)", format_go_duration(*after))
            }
            // The status first, so a narrow pane keeps it (`received non-successful status code …: 503`).
            FailureCause::Operation { status: Some(code) } => format!("status {code}: {error}"),
            _ => error.to_string(),
        }
    }
}

/// Everything the engine does that a person may want to see. Operation names are Dapr's
/// (`endpoint[order-processor, order-processor:orders]`, `component[statestore] output`); breaker names are
/// Dapr's (`order-processor:orders`, `simpleCB-statestore`). Serialized with a `kind` tag for JSONL.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResiliencyEvent {
    /// A request is about to run under a policy a Resiliency resource gave it: daprd records its resiliency
    /// metrics here (`addMetricsToPolicy`). Only for policies resolved for a target (`target` is Dapr's metric
    /// label: `app_<appId>`, `<ComponentType>_<name>`, `actor_<type>`) and having at least one policy kind;
    /// built-in policies are not reported, as daprd does not instrument them (dapr/dapr#8308).
    /// `breaker_state` is the breaker's state as daprd reads it then (`cb.State()`, which applies a due
    /// open -> half-open transition first).
    PolicyApplied {
        operation: Arc<str>,
        target: Arc<str>,
        #[serde(serialize_with = "as_text")]
        direction: Direction,
        timeout: bool,
        retry: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        breaker: Option<Arc<str>>,
        #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_as_text")]
        breaker_state: Option<BreakerState>,
    },
    /// The policy this sidecar applies to a target, said once when the target is first called (and again after
    /// a reload): what displays narrate from. daprd logs nothing for it.
    PolicyResolved {
        operation: Arc<str>,
        #[serde(flatten)]
        policy: Box<super::in_force::PolicyInForce>,
    },
    /// A `kind: Resiliency` resource was applied (`Loading Resiliency configuration: NAME`).
    ResourceLoaded {
        #[serde(rename = "resource")]
        name: String,
        /// Its `metadata.namespace`, when it sets one.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        namespace: String,
    },
    /// A user override of a built-in retry asked for fewer than 3 retries and was reset to 3.
    #[serde(rename = "builtin_override_reset")]
    BuiltInOverrideReset { policy: String },
    /// A user tried to override a protected built-in retry; it was ignored.
    ProtectedOverrideIgnored { policy: String },
    /// A circuit breaker was created (on the first call to its target); `policy` is its policy in one line.
    BreakerCreated {
        breaker: Arc<str>,
        policy: String,
        /// Successes needed in half-open to close (the policy's `maxRequests`, 0 read as 1).
        max_requests: u32,
        /// When it opens (the policy's `trip` expression), and how long it stays open before a probe may go.
        trip: String,
        #[serde(rename = "timeout_ms", serialize_with = "as_millis")]
        timeout: Duration,
    },
    /// A breaker counted an attempt's result; `state` and `counts` are as they are now (after any transition).
    BreakerCounted {
        breaker: Arc<str>,
        #[serde(serialize_with = "as_text")]
        state: BreakerState,
        counts: Counts,
    },
    /// An attempt is about to run (after the breaker admitted it).
    AttemptStarted { operation: Arc<str>, attempt: u32 },
    /// An attempt failed.
    AttemptFailed {
        operation: Arc<str>,
        attempt: u32,
        error: String,
        #[serde(skip)]
        cause: FailureCause,
    },
    /// A breaker refused an attempt; the request ends here with that error.
    Rejected {
        operation: Arc<str>,
        breaker: Arc<str>,
        attempt: u32,
        #[serde(rename = "error", serialize_with = "as_text")]
        reason: Rejection,
    },
    /// The first failure of a request that will be retried. Dapr logs this once per request, not per retry.
    Retrying {
        operation: Arc<str>,
        #[serde(rename = "wait_ms", serialize_with = "as_millis")]
        wait: Duration,
        error: String,
    },
    /// The request will wait `wait`, then make attempt `next_attempt` (emitted for every retry).
    RetryScheduled {
        operation: Arc<str>,
        #[serde(rename = "attempt")]
        next_attempt: u32,
        #[serde(rename = "wait_ms", serialize_with = "as_millis")]
        wait: Duration,
    },
    /// The request succeeded after at least one retry; `attempts` includes the successful one.
    Recovered { operation: Arc<str>, attempts: u32 },
    /// A breaker changed state; `counts` are the breaker's counts that caused it (before they were cleared).
    BreakerStateChanged {
        breaker: Arc<str>,
        #[serde(serialize_with = "as_text")]
        from: BreakerState,
        #[serde(serialize_with = "as_text")]
        to: BreakerState,
        counts: Counts,
    },
    /// The request ended; `error` is `None` on success.
    Finished {
        operation: Arc<str>,
        attempts: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

fn as_text<T: fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn opt_as_text<T: fmt::Display, S: serde::Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The level of a Dapr log line, as logrus spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// logrus's `level=` value in non-TTY output (`warning`, not `warn`).
    pub fn logrus_name(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warning",
            LogLevel::Error => "error",
        }
    }

    /// The 4-letter prefix of logrus's TTY output (`WARN[0005] ...`).
    pub fn tty_prefix(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBU",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERRO",
        }
    }
}

/// One line daprd's `dapr.runtime` logger would print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaprLogLine {
    pub level: LogLevel,
    pub message: String,
}

impl DaprLogLine {
    fn new(level: LogLevel, message: String) -> Self {
        Self { level, message }
    }

    /// logrus's TTY form, as the quickstart docs show it: `INFO[0025] <message> app_id=... scope=dapr.runtime`.
    pub fn tty_line(&self, since_start: Duration, app_id: &str) -> String {
        format!(
            "{}[{:04}] {:<44} app_id={} scope=dapr.runtime type=log",
            self.level.tty_prefix(),
            since_start.as_secs(),
            self.message,
            app_id
        )
    }
}

impl ResiliencyEvent {
    /// The events every healthy call emits (its one attempt, the breaker's count, its end). They carry no
    /// news: a display that falls behind may drop them, and the sidecar thread hands them over in batches.
    pub fn is_routine(&self) -> bool {
        matches!(
            self,
            ResiliencyEvent::AttemptStarted { attempt: 1, .. }
                | ResiliencyEvent::PolicyApplied { .. }
                | ResiliencyEvent::BreakerCounted { .. }
                | ResiliencyEvent::Finished {
                    attempts: 1,
                    error: None,
                    ..
                }
        )
    }

    /// The Dapr log lines this event stands for (none for events daprd does not log).
    pub fn dapr_logs(&self) -> Vec<DaprLogLine> {
        use LogLevel::*;
        match self {
            ResiliencyEvent::ResourceLoaded { name, .. } => {
                vec![DaprLogLine::new(
                    Info,
                    format!("Loading Resiliency configuration: {name}"),
                )]
            }
            ResiliencyEvent::BuiltInOverrideReset { policy } => vec![DaprLogLine::new(
                Warn,
                format!("Attempted override of {policy} did not meet minimum retry count, resetting to 3."),
            )],
            ResiliencyEvent::ProtectedOverrideIgnored { policy } => vec![DaprLogLine::new(
                Warn,
                format!(
                    "Attempted to override protected policy {policy} which is not allowed. Ignoring provided policy and using default."
                ),
            )],
            ResiliencyEvent::Retrying { operation, wait, error } => vec![
                DaprLogLine::new(
                    Warn,
                    format!(
                        "Error processing operation {operation}. Retrying in {}\u{2026}",
                        format_go_duration(*wait)
                    ),
                ),
                DaprLogLine::new(Debug, format!("Error for operation {operation} was: {error}")),
            ],
            ResiliencyEvent::Recovered { operation, attempts } => vec![DaprLogLine::new(
                Info,
                format!("Recovered processing operation {operation} after {attempts} attempts"),
            )],
            ResiliencyEvent::BreakerStateChanged { breaker, from, to, .. } => vec![DaprLogLine::new(
                Info,
                format!("Circuit breaker {:?} changed state from {from} to {to}", &**breaker),
            )],
            ResiliencyEvent::PolicyApplied { .. }
            | ResiliencyEvent::PolicyResolved { .. }
            | ResiliencyEvent::BreakerCreated { .. }
            | ResiliencyEvent::BreakerCounted { .. }
            | ResiliencyEvent::AttemptStarted { .. }
            | ResiliencyEvent::AttemptFailed { .. }
            | ResiliencyEvent::Rejected { .. }
            | ResiliencyEvent::RetryScheduled { .. }
            | ResiliencyEvent::Finished { .. } => Vec::new(),
        }
    }
}

/// Receives the engine's events. Called synchronously from the engine (sometimes under a breaker's lock, so
/// that transitions arrive in order): implementations must be quick and must never block or call back into
/// the engine. Forward to a channel if there is real work to do.
pub trait Observer: Send + Sync {
    fn on_event(&self, event: ResiliencyEvent);
}

/// Shared handle to an observer.
pub type SharedObserver = Arc<dyn Observer>;

/// Discards every event.
pub struct Discard;

impl Observer for Discard {
    fn on_event(&self, _event: ResiliencyEvent) {}
}

/// Forwards events to an unbounded channel (the TUI and headless printer read the other end).
impl Observer for tokio::sync::mpsc::UnboundedSender<ResiliencyEvent> {
    fn on_event(&self, event: ResiliencyEvent) {
        // A closed receiver means nobody is watching any more; the engine carries on regardless.
        let _ = self.send(event);
    }
}

/// Keeps every event with the (tokio) time it arrived. Used by tests and by `validate` to show load-time lines.
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<(Instant, ResiliencyEvent)>>,
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A copy of every event so far, with its arrival time.
    pub fn events(&self) -> Vec<(Instant, ResiliencyEvent)> {
        self.events.lock().expect("recorder lock").clone()
    }

    /// Every Dapr log line so far, in order, as `(time, line)`.
    pub fn dapr_logs(&self) -> Vec<(Instant, DaprLogLine)> {
        self.events()
            .into_iter()
            .flat_map(|(at, e)| e.dapr_logs().into_iter().map(move |l| (at, l)))
            .collect()
    }

    /// Forget everything recorded so far.
    pub fn clear(&self) {
        self.events.lock().expect("recorder lock").clear();
    }
}

impl Observer for Recorder {
    fn on_event(&self, event: ResiliencyEvent) {
        self.events.lock().expect("recorder lock").push((Instant::now(), event));
    }
}
