//! How headless mode writes one event: text lines for people (like the quickstart's terminals side by side)
//! or one JSON object for machines.

use serde_json::{Map, Value, json};

use crate::event::{AppEvent, Event, FaultEvent, Stamped};
use crate::resiliency::ResiliencyEvent;
use crate::resiliency::events::LogLevel;

/// The text-mode lines of one event (none for events that are only counted).
pub fn text_lines(e: &Stamped) -> Vec<String> {
    match &e.event {
        Event::App { app, .. } => e
            .event
            .text()
            .map(|t| format!("== APP - {app} == {t}"))
            .into_iter()
            .collect(),
        Event::Resiliency { event, .. } => event
            .dapr_logs()
            .into_iter()
            .filter(|l| l.level > LogLevel::Debug)
            .map(|l| format!("{}[{:04}] {}", l.level.tty_prefix(), e.at.as_secs(), l.message))
            .collect(),
        Event::Notice { .. } | Event::ShuttingDown { .. } => e
            .event
            .text()
            .map(|t| format!("== SCENARIO == {t}"))
            .into_iter()
            .collect(),
        Event::Container { .. } => e
            .event
            .text()
            .map(|t| format!("== DOCKER == [{:.1}s] {t}", e.at.as_secs_f64()))
            .into_iter()
            .collect(),
        Event::Fault(_) => e
            .event
            .text()
            .map(|t| format!("== FAULT == [{:.1}s] {t}", e.at.as_secs_f64()))
            .into_iter()
            .collect(),
    }
}

/// One JSONL object for an event.
pub fn json_line(e: &Stamped) -> Value {
    let mut m = Map::new();
    m.insert("t".into(), json!((e.at.as_secs_f64() * 1000.0).round() / 1000.0));
    m.insert("source".into(), json!(e.event.source()));
    m.insert("kind".into(), json!(e.event.kind()));
    m.insert("msg".into(), json!(e.event.text().unwrap_or_default()));
    fields(&e.event, &mut m);
    Value::Object(m)
}

fn fields(event: &Event, m: &mut Map<String, Value>) {
    let mut put = |k: &str, v: Value| {
        m.insert(k.into(), v);
    };
    match event {
        Event::App { event, .. } => match event {
            AppEvent::Listening { addr } => put("addr", json!(addr.to_string())),
            AppEvent::Stopped => {}
            AppEvent::OrderSent { order_id }
            | AppEvent::OrderPassed { order_id }
            | AppEvent::OrderReceived { order_id }
            | AppEvent::OrderSaved { order_id }
            | AppEvent::OrderRead { order_id } => put("order_id", json!(order_id)),
            AppEvent::OrderFailed {
                order_id,
                status,
                error_code,
                message,
            } => {
                put("order_id", json!(order_id));
                put("status", json!(status));
                put("error_code", json!(error_code));
                put("error", json!(message));
            }
        },
        Event::Resiliency { event, .. } => {
            if let Some(level) = event.dapr_logs().first().map(|l| l.level.logrus_name()) {
                put("level", json!(level));
            }
            match event {
                ResiliencyEvent::ResourceLoaded { name } => put("resource", json!(name)),
                ResiliencyEvent::BuiltInOverrideReset { policy }
                | ResiliencyEvent::ProtectedOverrideIgnored { policy } => put("policy", json!(policy)),
                ResiliencyEvent::BreakerCreated { breaker, policy, .. } => {
                    put("breaker", json!(&**breaker));
                    put("policy", json!(policy));
                }
                ResiliencyEvent::AttemptStarted { operation, attempt } => {
                    put("operation", json!(&**operation));
                    put("attempt", json!(attempt));
                }
                ResiliencyEvent::AttemptFailed {
                    operation,
                    attempt,
                    error,
                    ..
                } => {
                    put("operation", json!(&**operation));
                    put("attempt", json!(attempt));
                    put("error", json!(error));
                }
                ResiliencyEvent::Rejected {
                    operation,
                    breaker,
                    attempt,
                    reason,
                } => {
                    put("operation", json!(&**operation));
                    put("breaker", json!(&**breaker));
                    put("attempt", json!(attempt));
                    put("error", json!(reason.message()));
                }
                ResiliencyEvent::Retrying { operation, wait, error } => {
                    put("operation", json!(&**operation));
                    put("wait_ms", json!(wait.as_millis() as u64));
                    put("error", json!(error));
                }
                ResiliencyEvent::RetryScheduled {
                    operation,
                    next_attempt,
                    wait,
                } => {
                    put("operation", json!(&**operation));
                    put("attempt", json!(next_attempt));
                    put("wait_ms", json!(wait.as_millis() as u64));
                }
                ResiliencyEvent::Recovered { operation, attempts }
                | ResiliencyEvent::Finished {
                    operation, attempts, ..
                } => {
                    put("operation", json!(&**operation));
                    put("attempts", json!(attempts));
                    if let ResiliencyEvent::Finished { error: Some(e), .. } = event {
                        put("error", json!(e));
                    }
                }
                ResiliencyEvent::BreakerStateChanged {
                    breaker,
                    from,
                    to,
                    counts,
                } => {
                    put("breaker", json!(&**breaker));
                    put("from", json!(from.to_string()));
                    put("to", json!(to.to_string()));
                    put("counts", counts_json(counts));
                }
                ResiliencyEvent::BreakerCounted { breaker, state, counts } => {
                    put("breaker", json!(&**breaker));
                    put("state", json!(state.to_string()));
                    put("counts", counts_json(counts));
                }
            }
        }
        Event::Notice { .. } => {}
        Event::ShuttingDown { reason } => put("reason", json!(reason.to_string())),
        Event::Container { name, state } => {
            put("container", json!(name));
            put("state", json!(state.to_string()));
        }
        Event::Fault(f) => match f {
            FaultEvent::Changing { fault, what, .. } => {
                put("fault", json!(fault));
                put("change", json!(what));
            }
            FaultEvent::Injected { fault, .. } | FaultEvent::Cleared { fault, .. } => put("fault", json!(fault)),
            FaultEvent::Failed { fault, error } => {
                put("fault", json!(fault));
                put("error", json!(error));
            }
        },
    }
}

fn counts_json(c: &crate::resiliency::trip::Counts) -> Value {
    json!({
        "requests": c.requests, "totalSuccesses": c.total_successes, "totalFailures": c.total_failures,
        "consecutiveSuccesses": c.consecutive_successes, "consecutiveFailures": c.consecutive_failures,
    })
}
