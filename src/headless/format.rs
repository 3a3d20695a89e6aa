//! How headless mode writes one event: text lines for people (like the quickstart's terminals side by side)
//! or one JSON object for machines.

use std::time::SystemTime;

use serde::Serialize;

use crate::event::{Event, Stamped};
use crate::resiliency::ResiliencyEvent;
use crate::resiliency::events::LogLevel;

/// How text mode writes a sidecar's log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidecarLines {
    /// logrus on a terminal, as the quickstart docs show them: `WARN[0005] …`.
    Tty,
    /// logrus off a terminal (`logfmt.rs`), the run having started at this wall-clock time.
    Logfmt(SystemTime),
}

impl SidecarLines {
    fn line(self, at: std::time::Duration, level: LogLevel, message: &str, app_id: &str) -> String {
        match self {
            SidecarLines::Tty => format!("{}[{:04}] {message}", level.tty_prefix(), at.as_secs()),
            SidecarLines::Logfmt(started) => super::logfmt::logfmt_line(started + at, level, message, app_id),
        }
    }
}

/// The text-mode lines of one event (none for events that are only counted).
pub fn text_lines(e: &Stamped, sidecar: SidecarLines) -> Vec<String> {
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
                .map(|l| sidecar.line(e.at, l.level, &l.message, app_id))
                .collect();
            lines.extend(policy_line(e.at, app_id, event));
            lines
        }
        // daprd's own lines about a hot reload, as its other sidecar lines.
        Event::ResiliencyReloaded { app_id, .. } | Event::SidecarRestarting { app_id } => e
            .event
            .text()
            .map(|t| sidecar.line(e.at, LogLevel::Info, &t, app_id))
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
