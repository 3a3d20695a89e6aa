//! Waiting for the events a test needs instead of for a stretch of wall-clock time: on a loaded machine a
//! window can close before what it waits for has happened. The bound is a hang guard, not a timing assertion.

use std::time::Duration;

use resilience_tui::event::{AppEvent, Event, Events, FaultEvent, Stamped};
use resilience_tui::resiliency::ResiliencyEvent;

/// How long a test waits for an event before calling the run hung.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// Collects events into `events` up to and including the first one `done` accepts; fails the test, naming
/// `what`, when the run ends or nothing of the kind comes within [`HANG_GUARD`].
pub async fn collect_until(
    events: &mut Vec<Stamped>,
    rx: &mut Events,
    what: &str,
    mut done: impl FnMut(&Stamped) -> bool,
) {
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(e)) => {
                let found = done(&e);
                events.push(e);
                if found {
                    return;
                }
            }
            Ok(None) => panic!("the run's events ended before {what}"),
            Err(_) => panic!(
                "{what}: not within {HANG_GUARD:?} ({} events so far, the last {:?})",
                events.len(),
                events.last().map(|e| &e.event)
            ),
        }
    }
}

/// An order reached its app: received by order-processor, or saved by the state app.
pub fn delivered(e: &Stamped) -> bool {
    matches!(
        &e.event,
        Event::App {
            event: AppEvent::OrderReceived { .. } | AppEvent::OrderSaved { .. },
            ..
        }
    )
}

pub fn injected(e: &Stamped) -> bool {
    matches!(&e.event, Event::Fault(FaultEvent::Injected { .. }))
}

pub fn cleared(e: &Stamped) -> bool {
    matches!(&e.event, Event::Fault(FaultEvent::Cleared { .. }))
}

/// A sidecar scheduled a retry: an order is being held back.
pub fn retry_scheduled(e: &Stamped) -> bool {
    matches!(
        &e.event,
        Event::Resiliency {
            event: ResiliencyEvent::RetryScheduled { .. },
            ..
        }
    )
}

/// Some breaker went from `from` to `to` (`"open"`, `"half-open"`, `"closed"`).
pub fn breaker_went(e: &Stamped, from: &str, to: &str) -> bool {
    matches!(
        &e.event,
        Event::Resiliency {
            event: ResiliencyEvent::BreakerStateChanged { from: f, to: t, .. },
            ..
        } if f.to_string() == from && t.to_string() == to
    )
}

pub fn recovered(e: &Stamped) -> bool {
    matches!(
        &e.event,
        Event::Resiliency {
            event: ResiliencyEvent::Recovered { .. },
            ..
        }
    )
}
