//! What the panes show, built only from events.
//!
//! The model never reads engine state: looking at a gobreaker-style breaker can itself move it from open to
//! half-open, so a display that polled would change what it displays. Everything here comes from the event
//! stream, and memory stays bounded (every log is a ring buffer).

mod breaker;
mod log;
mod policy;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

pub use breaker::{BreakerView, Cell, TRANSITION_CAPACITY, Transition};
pub use log::{LOG_CAPACITY, LineKind, Log, LogLine};
pub use policy::{FaultEffect, Policies};

use crate::event::{AppEvent, ContainerState, Event, FaultChange, FaultEvent, Stamped};
use crate::resiliency::events::LogLevel;
use crate::resiliency::{BreakerState, ResiliencyEvent};
use crate::scenario::Scenario;
use crate::summary::Ledger;

/// How many of a request's waits between attempts are kept (the backoff a learner sees grow).
pub const WAITS_KEPT: usize = 8;
/// Seconds of retry history for the chart.
pub const SPARK_SECONDS: usize = 60;
/// How many fault intervals are kept for the breaker strips.
pub const FAULT_SPAN_CAPACITY: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct RetryView {
    /// Requests that have failed at least once and not finished yet.
    pub in_retry: u32,
    pub attempts: u64,
    pub retries: u64,
    /// The attempt number of the request in flight, and when its next attempt is due.
    pub current_attempt: Option<u32>,
    pub next_attempt_at: Option<Duration>,
    /// Retries scheduled in each of the last seconds (oldest first).
    pub per_second: VecDeque<u64>,
    /// Why the last attempt failed (`context deadline exceeded (1s timeout)`).
    pub last_error: Option<String>,
    /// The waits before each retry of the latest retried request, oldest first (the last [`WAITS_KEPT`]).
    pub waits: VecDeque<Duration>,
    last_second: u64,
}

#[derive(Debug, Clone)]
pub struct FaultView {
    pub name: String,
    pub key: char,
    /// What the fault does and its parameters, in a few words (`latency 2s`, `answer 503`); kept current
    /// when `+` / `-` change a latency.
    pub action: String,
    /// What it does to calls, and to calls to which target (an app id or a component name).
    pub effect: FaultEffect,
    pub target: String,
    pub explain: String,
    pub description: String,
    pub injected_since: Option<Duration>,
    /// A change was asked for and has not been confirmed yet (the UI shows "stopping…").
    pub pending: Option<FaultChange>,
    pub last_error: Option<String>,
}

/// How many warnings the model keeps.
pub const WARNINGS_KEPT: usize = 100;

/// A warning about the resources in use (or the run's options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub message: String,
    pub location: Option<String>,
    /// The resource field it is about (`spec.targets.apps.order-processor.circuitBreaker`).
    pub field: Option<String>,
    pub help: Option<String>,
}

/// Everything the panes show.
#[derive(Clone)]
pub struct Model {
    pub title: String,
    pub now: Duration,
    /// One order log per app, in the scenario's order.
    pub orders: Vec<(String, Log)>,
    pub sidecar: Log,
    pub retries: BTreeMap<String, RetryView>,
    pub breakers: BTreeMap<String, BreakerView>,
    pub faults: Vec<FaultView>,
    pub ledger: Ledger,
    pub events: u64,
    /// The Docker container a fault acts on, and its state from Docker's event stream.
    pub container: Option<(String, ContainerState)>,
    /// The run is shutting down (faults being cleared, apps and sidecars stopping).
    pub stopping: bool,
    /// What the shutdown is doing now (`clearing: docker start dapr_redis…`).
    pub stopping_detail: Option<String>,
    /// When faults were on (end None: still on), for the breaker strips.
    pub fault_spans: VecDeque<(Duration, Option<Duration>)>,
    /// The loader's warnings about the resources in use, for the banner, the help overlay and the breakers pane.
    pub warnings: Vec<Warning>,
    /// What a good end for an order is called: `delivered`, or `saved` in state-management.
    pub delivered_word: &'static str,
    /// The last second of load on a service (`checkout-load` apps): calls that reached it, per caller.
    pub traffic: Option<(String, Vec<crate::event::CallerTraffic>)>,
    /// The policy each caller applies to each target it called: what every sentence about policies says.
    pub policies: Policies,
}

impl Model {
    pub fn new(scenario: &Scenario) -> Self {
        let saves = scenario
            .apps
            .iter()
            .any(|a| matches!(a, crate::scenario::AppSpec::StateOrderProcessor { .. }));
        let orders = scenario
            .apps
            .iter()
            .map(|a| (a.app_id().to_string(), Log::titled(a.app_id())))
            .collect();
        let faults = scenario
            .faults
            .iter()
            .map(|f| {
                let (effect, target) = FaultEffect::of(&f.action);
                FaultView {
                    name: f.name.clone(),
                    key: f.key,
                    action: f.action.summary(),
                    effect,
                    target,
                    explain: f.explain.clone(),
                    description: String::new(),
                    injected_since: None,
                    pending: None,
                    last_error: None,
                }
            })
            .collect();
        Self {
            title: scenario.title.clone(),
            now: Duration::ZERO,
            orders,
            sidecar: Log::titled("sidecar resiliency log"),
            retries: BTreeMap::new(),
            breakers: BTreeMap::new(),
            faults,
            ledger: Ledger::default(),
            events: 0,
            container: None,
            stopping: false,
            stopping_detail: None,
            fault_spans: VecDeque::new(),
            warnings: Vec::new(),
            delivered_word: if saves { "saved" } else { "delivered" },
            traffic: None,
            policies: Policies::default(),
        }
    }

    pub fn apply(&mut self, e: &Stamped) {
        self.events += 1;
        self.now = self.now.max(e.at);
        self.ledger.record(e);
        match &e.event {
            Event::App { app, event } => self.apply_app(e.at, app, event, &e.event),
            Event::Resiliency { app_id, event } => self.apply_resiliency(e.at, app_id, event),
            Event::Fault(f) => self.apply_fault(e.at, f, &e.event),
            Event::Notice { text } => self.sidecar.push(e.at, text.clone(), LineKind::Info),
            Event::Warning {
                message,
                location,
                field,
                help,
            } => {
                if self.warnings.len() < WARNINGS_KEPT {
                    self.warnings.push(Warning {
                        message: message.clone(),
                        location: location.clone(),
                        field: field.clone(),
                        help: help.clone(),
                    });
                }
                let text = e.event.text().unwrap_or_default();
                self.sidecar.push(e.at, text, LineKind::Level(LogLevel::Warn));
            }
            // daprd's lines about a hot reload. Its restart says the resources' warnings anew: the banner starts
            // over; every sidecar has new policies and breakers, each shown again once resolved or made.
            Event::ResiliencyReloaded { .. } | Event::SidecarRestarting { .. } => {
                if matches!(e.event, Event::SidecarRestarting { .. }) {
                    self.warnings.clear();
                    self.policies.clear();
                    self.breakers.clear();
                }
                let text = e.event.text().unwrap_or_default();
                let text = format!("{}[{:04}] {text}", LogLevel::Info.tty_prefix(), e.at.as_secs());
                self.sidecar.push(e.at, text, LineKind::Level(LogLevel::Info));
            }
            Event::Container { name, state } => self.container = Some((name.clone(), *state)),
            Event::Traffic { callee, callers } => self.traffic = Some((callee.clone(), callers.clone())),
            Event::ShuttingDown { .. } => {
                let text = e.event.text().unwrap_or_default();
                self.sidecar.push(e.at, text, LineKind::Info);
                self.stopping = true;
            }
        }
    }

    fn apply_app(&mut self, at: Duration, app: &str, event: &AppEvent, whole: &Event) {
        let kind = match event {
            AppEvent::OrderSent { .. } => return,
            AppEvent::OrderPassed { .. }
            | AppEvent::OrderReceived { .. }
            | AppEvent::OrderSaved { .. }
            | AppEvent::OrderRead { .. } => LineKind::Ok,
            AppEvent::OrderFailed { .. } => LineKind::Failed,
            AppEvent::Listening { .. } | AppEvent::Stopped | AppEvent::Exited { .. } => LineKind::Info,
            AppEvent::Output { .. } => LineKind::Level(LogLevel::Info),
        };
        // A failed order's shorter form keeps why it failed (`circuit breaker is open`) in a narrow pane.
        let short = match event {
            AppEvent::OrderFailed {
                order_id,
                status,
                message,
                ..
            } => Some(format!(
                "Order {order_id} failed ({status}): {}",
                message.rsplit("err: ").next().unwrap_or(message)
            )),
            _ => None,
        };
        if let (Some(text), Some((_, log))) = (whole.text(), self.orders.iter_mut().find(|(id, _)| id == app)) {
            log.push_line(LogLine { at, text, short, kind });
        }
    }

    fn apply_resiliency(&mut self, at: Duration, caller: &str, event: &ResiliencyEvent) {
        if let ResiliencyEvent::PolicyResolved { operation, policy } = event {
            self.policies.record(caller, operation, policy);
        }
        let kind = |level| match event {
            ResiliencyEvent::BreakerStateChanged {
                to: BreakerState::Open, ..
            } => LineKind::KeyBad(level),
            ResiliencyEvent::BreakerStateChanged {
                to: BreakerState::Closed,
                ..
            }
            | ResiliencyEvent::Recovered { .. } => LineKind::KeyGood(level),
            _ => LineKind::Level(level),
        };
        for line in event.dapr_logs().into_iter().filter(|l| l.level > LogLevel::Debug) {
            let text = format!("{}[{:04}] {}", line.level.tty_prefix(), at.as_secs(), line.message);
            self.sidecar.push(at, text, kind(line.level));
        }
        self.apply_breaker(at, caller, event);
        self.apply_retry(at, event);
    }

    /// A breaker made, counting, or changing state.
    fn apply_breaker(&mut self, at: Duration, caller: &str, event: &ResiliencyEvent) {
        match event {
            ResiliencyEvent::BreakerCreated {
                breaker,
                policy,
                max_requests,
                trip,
                timeout,
            } => {
                self.breakers.entry(breaker.to_string()).or_insert_with(|| BreakerView {
                    name: breaker.to_string(),
                    owner: caller.to_string(),
                    policy: policy.clone(),
                    trip: trip.clone(),
                    timeout: *timeout,
                    max_requests: *max_requests,
                    created: at,
                    state: BreakerState::Closed,
                    since: at,
                    counts: Default::default(),
                    transitions: VecDeque::new(),
                });
            }
            ResiliencyEvent::BreakerCounted { breaker, state, counts } => {
                if let Some(b) = self.breakers.get_mut(&**breaker) {
                    b.state = *state;
                    b.counts = *counts;
                }
            }
            ResiliencyEvent::BreakerStateChanged {
                breaker,
                from,
                to,
                counts,
            } => {
                if let Some(b) = self.breakers.get_mut(&**breaker) {
                    b.transition(at, *from, *to, *counts);
                }
            }
            _ => {}
        }
    }

    /// A request's attempts, retries and end.
    fn apply_retry(&mut self, at: Duration, event: &ResiliencyEvent) {
        match event {
            ResiliencyEvent::AttemptStarted { operation, attempt } => {
                let r = self.retry(operation, at);
                r.attempts += 1;
                r.current_attempt = Some(*attempt);
                r.next_attempt_at = None;
            }
            ResiliencyEvent::Retrying { operation, .. } => self.retry(operation, at).in_retry += 1,
            ResiliencyEvent::AttemptFailed {
                operation,
                error,
                cause,
                ..
            } => {
                self.retry(operation, at).last_error = Some(cause.explain(error));
            }
            ResiliencyEvent::RetryScheduled {
                operation,
                wait,
                next_attempt,
            } => {
                let r = self.retry(operation, at);
                if *next_attempt <= 2 {
                    r.waits.clear();
                }
                if r.waits.len() == WAITS_KEPT {
                    r.waits.pop_front();
                }
                r.waits.push_back(*wait);
                r.retries += 1;
                r.next_attempt_at = Some(at + *wait);
                if let Some(last) = r.per_second.back_mut() {
                    *last += 1;
                }
            }
            ResiliencyEvent::Finished {
                operation, attempts, ..
            } => {
                let r = self.retry(operation, at);
                if *attempts > 1 {
                    r.in_retry = r.in_retry.saturating_sub(1);
                }
                r.current_attempt = None;
                r.next_attempt_at = None;
            }
            _ => {}
        }
    }

    /// The retry view of an operation, with its per-second buckets moved up to `at`.
    fn retry(&mut self, operation: &str, at: Duration) -> &mut RetryView {
        let r = self.retries.entry(operation.to_string()).or_default();
        let second = at.as_secs();
        if r.per_second.is_empty() {
            r.per_second.push_back(0);
            r.last_second = second;
        }
        while r.last_second < second {
            r.per_second.push_back(0);
            r.last_second += 1;
            if r.per_second.len() > SPARK_SECONDS {
                r.per_second.pop_front();
            }
        }
        r
    }

    fn apply_fault(&mut self, at: Duration, f: &FaultEvent, whole: &Event) {
        if let FaultEvent::Changing { fault, what, .. } = f {
            if let Some(v) = self.faults.iter_mut().find(|v| &v.name == fault) {
                v.pending = Some(*what);
            }
            if self.stopping {
                self.stopping_detail = whole.text();
            }
            return;
        }
        let t = format!("{:.1}s", at.as_secs_f64());
        let (marker, short) = match f {
            FaultEvent::Injected { fault, description } => {
                if let Some(v) = self.faults.iter_mut().find(|v| &v.name == fault) {
                    v.injected_since = Some(at);
                    v.description = description.clone();
                    v.pending = None;
                    v.last_error = None;
                }
                (
                    format!("---- {t} fault injected: {fault} ----"),
                    Some(format!("{t} injected: {fault}")),
                )
            }
            FaultEvent::Cleared { fault, .. } => {
                if let Some(v) = self.faults.iter_mut().find(|v| &v.name == fault) {
                    v.injected_since = None;
                    v.pending = None;
                }
                (
                    format!("---- {t} fault cleared: {fault} ----"),
                    Some(format!("{t} cleared: {fault}")),
                )
            }
            FaultEvent::Changing { .. } => return,
            FaultEvent::Adjusted {
                fault,
                description,
                action,
                delay,
            } => {
                if let Some(v) = self.faults.iter_mut().find(|v| &v.name == fault) {
                    v.description = description.clone();
                    v.action = action.clone();
                    v.effect = v.effect.with_delay(*delay);
                }
                // One marker per change, in the sidecar log only: the app panes are too short to spare rows.
                let text = format!("---- {t} fault adjusted: {description} ----");
                self.sidecar.push_line(LogLine {
                    at,
                    text,
                    short: Some(format!("{t} {description}")),
                    kind: LineKind::Marker,
                });
                return;
            }
            FaultEvent::Failed { fault, error } => {
                if let Some(v) = self.faults.iter_mut().find(|v| &v.name == fault) {
                    v.pending = None;
                    v.last_error = Some(error.clone());
                }
                (whole.text().unwrap_or_default(), None)
            }
        };
        self.note_fault_span(at);
        // A marker line in every log, so the moment of the fault is visible wherever the learner looks.
        let line = LogLine {
            at,
            text: marker,
            short,
            kind: LineKind::Marker,
        };
        for (_, log) in &mut self.orders {
            log.push_line(line.clone());
        }
        self.sidecar.push_line(line);
    }

    /// Opens a fault interval when the first fault goes on, closes it when the last one is cleared.
    fn note_fault_span(&mut self, at: Duration) {
        let any_on = self.faults.iter().any(|f| f.injected_since.is_some());
        match self.fault_spans.back_mut() {
            Some((_, end @ None)) if !any_on => *end = Some(at),
            Some((_, None)) => {}
            _ if any_on => {
                if self.fault_spans.len() == FAULT_SPAN_CAPACITY {
                    self.fault_spans.pop_front();
                }
                self.fault_spans.push_back((at, None));
            }
            _ => {}
        }
    }

    /// The request waiting in a retry that a learner should follow: the outermost policy's (a Resiliency
    /// policy's) before Dapr's built-in retries nested inside its attempts, so attempt numbers never jump
    /// between the two.
    pub fn retry_in_progress(&self) -> Option<(&str, &RetryView)> {
        let waiting = || self.retries.iter().filter(|(_, r)| r.in_retry > 0);
        waiting()
            .find(|(op, _)| !op.starts_with("DaprBuiltIn"))
            .or_else(|| waiting().next())
            .map(|(op, r)| (op.as_str(), r))
    }

    /// How long until breaker `b` lets its next probe through, if it is open (its timeout, and the next retry
    /// known to be due): what the breakers pane and the story line both say.
    pub fn time_to_probe(&self, b: &BreakerView) -> Option<Duration> {
        let next_call = self.retries.values().filter_map(|r| r.next_attempt_at).min();
        b.next_probe(next_call).map(|at| at.saturating_sub(self.now))
    }

    /// The last order answered after retries, in words: `order 6 delivered after 35.0s and 8 attempts`, and
    /// when it was answered (the ledger pairs the order with its request's attempts, `summary/mod.rs`).
    pub fn last_retried(&self) -> Option<(String, Duration)> {
        let (w, at) = self.ledger.last_retried()?;
        let outcome = if w.failed { "failed" } else { self.delivered_word };
        let text = format!(
            "order {} {outcome} after {:.1}s and {} attempts",
            w.order_id,
            w.waited.as_secs_f64(),
            w.attempts.unwrap_or(1)
        );
        Some((text, at))
    }

    /// Marks a fault as being changed (before the change is confirmed by its event).
    pub fn set_pending(&mut self, index: usize, what: FaultChange) {
        if let Some(f) = self.faults.get_mut(index) {
            f.pending = Some(what);
        }
    }
}
