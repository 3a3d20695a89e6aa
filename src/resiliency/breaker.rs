//! A circuit breaker with the state machine of gobreaker v0.5.0, the library Dapr wraps.
//!
//! Why these rules and not others: Dapr's observable behaviour *is* gobreaker's, so we copy it exactly:
//! - Transitions are lazy: there is no timer. An open breaker becomes half-open when it is next looked at after
//!   its `timeout`; a closed breaker's `interval` window restarts only when it is next looked at.
//! - Every state change starts a new *generation* and clears the counts; an attempt that was admitted in an older
//!   generation has its result ignored.
//! - Half-open admits `maxRequests` attempts in total (not concurrently) and closes after that many consecutive
//!   successes; any failure there re-opens it for a fresh `timeout`.
//! - `trip` is evaluated only when an attempt fails while the breaker is closed.
//!
//! Time comes from tokio's clock, so tests run on a paused clock.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::events::{Rejection, ResiliencyEvent, SharedObserver};
use super::trip::{Counts, TripExpr};

/// The three states, spelled as Dapr logs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::HalfOpen => "half-open",
            BreakerState::Open => "open",
        })
    }
}

/// A `spec.policies.circuitBreakers` entry, with Dapr's defaults already applied.
#[derive(Debug, Clone)]
pub struct CircuitBreakerPolicy {
    /// Half-open: attempts admitted in total, and consecutive successes needed to close (0 in YAML means 1).
    pub max_requests: u32,
    /// Closed: the counts are cleared this often; zero means never.
    pub interval: Duration,
    /// How long the breaker stays open before it lets a probe through (a zero in YAML means 60s).
    pub timeout: Duration,
    /// When to open; gobreaker's default is `consecutiveFailures > 5`.
    pub trip: TripExpr,
}

impl Default for CircuitBreakerPolicy {
    /// gobreaker's defaults: maxRequests 1, interval 0, timeout 60s, trip `consecutiveFailures > 5`.
    fn default() -> Self {
        Self {
            max_requests: 1,
            interval: Duration::ZERO,
            timeout: Duration::from_secs(60),
            trip: TripExpr::gobreaker_default(),
        }
    }
}

impl CircuitBreakerPolicy {
    /// The policy in one line, e.g. `trip consecutiveFailures >= 5 · stays open 5s · maxRequests 1`: the
    /// breaker's `timeout` is how long it stays open, said so that it is not read as a request timeout.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "trip {} \u{b7} stays open {} \u{b7} maxRequests {}",
            self.trip,
            crate::duration::format_go_duration(self.timeout),
            self.max_requests
        );
        if !self.interval.is_zero() {
            s.push_str(&format!(
                " \u{b7} interval {}",
                crate::duration::format_go_duration(self.interval)
            ));
        }
        s
    }
}

struct Inner {
    state: BreakerState,
    generation: u64,
    counts: Counts,
    /// Closed: when the counts are next cleared (None: never). Open: when it may turn half-open. Half-open: None.
    expiry: Option<Instant>,
    /// When the current state was entered (for "time in state" displays).
    since: Instant,
}

/// One circuit breaker, shared by every request to the same target (see `Resiliency` for the sharing rules).
pub struct CircuitBreaker {
    name: Arc<str>,
    policy: Arc<CircuitBreakerPolicy>,
    observer: SharedObserver,
    inner: Mutex<Inner>,
}

/// A snapshot for displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSnapshot {
    pub state: BreakerState,
    pub counts: Counts,
    pub since: Instant,
}

impl CircuitBreaker {
    pub fn new(name: impl Into<Arc<str>>, policy: Arc<CircuitBreakerPolicy>, observer: SharedObserver) -> Self {
        let now = Instant::now();
        let expiry = (!policy.interval.is_zero()).then(|| now + policy.interval);
        Self {
            name: name.into(),
            policy,
            observer,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                generation: 0,
                counts: Counts::default(),
                expiry,
                since: now,
            }),
        }
    }

    /// Dapr's name for this breaker, e.g. `order-processor:orders` or `simpleCB-statestore`.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn policy(&self) -> &CircuitBreakerPolicy {
        &self.policy
    }

    /// The current state, applying any transition that time has made due (as gobreaker's `State()` does).
    pub fn state(&self) -> BreakerState {
        self.snapshot().state
    }

    /// State, counts and time of the last transition, after applying any transition that is due.
    pub fn snapshot(&self) -> BreakerSnapshot {
        let mut inner = self.lock();
        self.refresh(&mut inner, Instant::now());
        BreakerSnapshot {
            state: inner.state,
            counts: inner.counts,
            since: inner.since,
        }
    }

    /// Asks to run one attempt. On success the returned [`Admission`] must be completed with the attempt's
    /// outcome; dropping it uncompleted (the attempt panicked or was cancelled) counts as a failure, as a
    /// cancelled context does in Dapr.
    pub fn admit(&self) -> Result<Admission<'_>, Rejection> {
        let mut inner = self.lock();
        self.refresh(&mut inner, Instant::now());
        match inner.state {
            BreakerState::Open => return Err(Rejection::Open),
            BreakerState::HalfOpen if inner.counts.requests >= self.policy.max_requests => {
                return Err(Rejection::TooManyRequests);
            }
            _ => {}
        }
        inner.counts.requests = inner.counts.requests.wrapping_add(1);
        Ok(Admission {
            breaker: self,
            generation: inner.generation,
            completed: false,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means an observer panicked mid-event; the counts are still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// gobreaker's `currentState`: apply the transitions that time alone causes.
    ///
    /// Deliberate difference: gobreaker compares `expiry.Before(now)` (strictly later); we use `now >= expiry`.
    /// In real time the two differ only at one exact nanosecond, but on a paused clock no time passes between the
    /// tripping failure and the start of the retry wait, so with the quickstart's 5s retry and 5s breaker timeout
    /// the strict form would reject the retry that real Dapr lets through as the half-open probe.
    fn refresh(&self, inner: &mut Inner, now: Instant) {
        match (inner.state, inner.expiry) {
            (BreakerState::Closed, Some(expiry)) if now >= expiry => self.new_generation(inner, now),
            (BreakerState::Open, Some(expiry)) if now >= expiry => self.set_state(inner, BreakerState::HalfOpen, now),
            _ => {}
        }
    }

    fn after_attempt(&self, generation: u64, success: bool) {
        let now = Instant::now();
        let mut inner = self.lock();
        self.refresh(&mut inner, now);
        if inner.generation != generation {
            return; // admitted in an older generation: its result no longer counts
        }
        let c = &mut inner.counts;
        if success {
            c.total_successes = c.total_successes.wrapping_add(1);
            c.consecutive_successes = c.consecutive_successes.wrapping_add(1);
            c.consecutive_failures = 0;
            if inner.state == BreakerState::HalfOpen && inner.counts.consecutive_successes >= self.policy.max_requests {
                self.set_state(&mut inner, BreakerState::Closed, now);
            }
        } else {
            c.total_failures = c.total_failures.wrapping_add(1);
            c.consecutive_failures = c.consecutive_failures.wrapping_add(1);
            c.consecutive_successes = 0;
            match inner.state {
                BreakerState::Closed if self.policy.trip.should_trip(&inner.counts) => {
                    self.set_state(&mut inner, BreakerState::Open, now)
                }
                BreakerState::HalfOpen => self.set_state(&mut inner, BreakerState::Open, now),
                _ => {}
            }
        }
        self.observer.on_event(ResiliencyEvent::BreakerCounted {
            breaker: self.name.clone(),
            state: inner.state,
            counts: inner.counts,
        });
    }

    fn set_state(&self, inner: &mut Inner, to: BreakerState, now: Instant) {
        let from = inner.state;
        if from == to {
            return;
        }
        let counts = inner.counts;
        inner.state = to;
        inner.since = now;
        self.new_generation(inner, now);
        // Emitted under the lock so observers see transitions in the order they happened.
        self.observer.on_event(ResiliencyEvent::BreakerStateChanged {
            breaker: self.name.clone(),
            from,
            to,
            counts,
        });
    }

    fn new_generation(&self, inner: &mut Inner, now: Instant) {
        inner.generation += 1;
        inner.counts = Counts::default();
        inner.expiry = match inner.state {
            BreakerState::Closed => (!self.policy.interval.is_zero()).then(|| now + self.policy.interval),
            BreakerState::Open => Some(now + self.policy.timeout),
            BreakerState::HalfOpen => None,
        };
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// An attempt the breaker let through; report its outcome with [`Admission::complete`].
#[must_use = "an admission dropped without completing counts as a failure"]
pub struct Admission<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    completed: bool,
}

impl Admission<'_> {
    pub fn complete(mut self, success: bool) {
        self.completed = true;
        self.breaker.after_attempt(self.generation, success);
    }

    /// The attempt was cut short by our own shutdown: it counts neither as a success nor as a failure (the
    /// target did nothing wrong). Its request stays counted, as gobreaker counts a request at admission.
    pub fn abandon(mut self) {
        self.completed = true;
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if !self.completed {
            self.breaker.after_attempt(self.generation, false);
        }
    }
}
