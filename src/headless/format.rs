//! How headless mode writes one event: text lines for people (like the quickstart's terminals side by side)
//! or one JSON object for machines.

use serde::Serialize;

use crate::event::{Event, Stamped};
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
        Event::Resiliency { app_id, event } => {
            let mut lines: Vec<String> = event
                .dapr_logs()
                .into_iter()
                .filter(|l| l.level > LogLevel::Debug)
                .map(|l| format!("{}[{:04}] {}", l.level.tty_prefix(), e.at.as_secs(), l.message))
                .collect();
            lines.extend(policy_line(e.at, app_id, event));
            lines
        }
        // daprd's own lines about a hot reload, as its other sidecar lines.
        Event::ResiliencyReloaded { .. } | Event::SidecarRestarting { .. } => e
            .event
            .text()
            .map(|t| format!("{}[{:04}] {t}", LogLevel::Info.tty_prefix(), e.at.as_secs()))
            .into_iter()
            .collect(),
        Event::Notice { .. } | Event::Warning { .. } | Event::ShuttingDown { .. } => e
            .event
            .text()
            .map(|t| format!("== SCENARIO == {t}"))
            .into_iter()
            .collect(),
        Event::Traffic { .. } => e
            .event
            .text()
            .map(|t| format!("== TRAFFIC == [{:.0}s] {t}", e.at.as_secs_f64()))
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

/// What daprd does not log but a learner must see: the policy a sidecar resolved for a target, and why each
/// attempt failed (daprd logs only a request's first error, at debug level).
fn policy_line(at: std::time::Duration, caller: &str, event: &ResiliencyEvent) -> Option<String> {
    let t = at.as_secs_f64();
    match event {
        ResiliencyEvent::PolicyResolved { policy, .. } => Some(format!(
            "== POLICY == [{t:.1}s] {caller} \u{2192} {}: {} ({})",
            policy.target,
            policy.parts(),
            policy.source_words()
        )),
        ResiliencyEvent::AttemptFailed {
            operation,
            attempt,
            error,
            cause,
        } => Some(format!(
            "== RETRY == [{t:.1}s] {caller}: attempt {attempt} of {operation} failed: {}",
            cause.explain(error)
        )),
        _ => None,
    }
}

/// One JSONL line: when, where from, the line a person reads, then the event's own `kind` and fields.
#[derive(Serialize)]
struct JsonLine<'a> {
    t: f64,
    source: String,
    msg: String,
    /// The Dapr log level of a sidecar line, as logrus names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<&'static str>,
    #[serde(flatten)]
    event: &'a Event,
}

/// One JSONL object for an event.
pub fn json_line(e: &Stamped) -> String {
    let level = match &e.event {
        Event::Resiliency { event, .. } => event.dapr_logs().first().map(|l| l.level.logrus_name()),
        _ => None,
    };
    let line = JsonLine {
        t: (e.at.as_secs_f64() * 1000.0).round() / 1000.0,
        source: e.event.source(),
        msg: e.event.text().unwrap_or_default(),
        level,
        event: &e.event,
    };
    // Every field is a string, a number or a map with string keys: serializing cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}
