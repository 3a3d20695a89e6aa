//! Calls cut by our own shutdown are no failures of their target: a whole run (`lifecycle::run`, as the binary
//! runs it) on a paused clock over real TCP, ending while order-processor is slow or unreachable. After
//! `ShuttingDown` no breaker changes state or counts a failure, no attempt fails, no retry is scheduled and no
//! order fails; the summary has no breaker opened by the end.

use crate::common;

use std::time::Duration;

use resilience_tui::event::{AppEvent, Event, Stamped};
use resilience_tui::lifecycle::{Control, Display, NamedFault, RunOptions};
use resilience_tui::resiliency::ResiliencyEvent;
use resilience_tui::scenario::{self, PortOverrides};
use resilience_tui::summary::Ledger;

/// A display that keeps every event (and the ledger, as the real displays do).
struct Collect(tokio::sync::oneshot::Sender<Vec<Stamped>>);

impl Display for Collect {
    async fn show(self, mut events: resilience_tui::event::Events, _control: Control) -> anyhow::Result<Ledger> {
        let (mut all, mut ledger) = (Vec::new(), Ledger::default());
        while let Some(e) = events.recv().await {
            ledger.record(&e);
            all.push(e);
        }
        let _ = self.0.send(all);
        Ok(ledger)
    }
}

/// Runs built-in scenario `name` with `fault` from `at` until `end`, as `--fault NAME@AT --duration END` does.
async fn run(name: &str, fault: &str, at: Duration, end: Duration) -> Vec<Stamped> {
    let scenario = scenario::find(name).unwrap().load().unwrap();
    let port = common::free_port;
    let opts = RunOptions {
        ports: PortOverrides {
            dapr_http: scenario.apps.iter().map(|a| (a.app_id().to_string(), port())).collect(),
            app: scenario
                .apps
                .iter()
                .filter(|a| matches!(a, scenario::AppSpec::OrderProcessor { .. }))
                .map(|a| (a.app_id().to_string(), port()))
                .collect(),
        },
        named_faults: vec![NamedFault {
            name: fault.into(),
            at,
            until: None,
        }],
        duration: Some(end),
        sidecars_on_this_runtime: true,
        ..RunOptions::default()
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    resilience_tui::lifecycle::run(scenario, opts, Collect(tx))
        .await
        .expect("the run ends cleanly");
    rx.await.unwrap()
}

/// Everything after `ShuttingDown` that would count a call against its target.
fn counted_after_shutdown(events: &[Stamped]) -> Vec<String> {
    let at = events
        .iter()
        .position(|e| matches!(e.event, Event::ShuttingDown { .. }))
        .expect("the run said it was shutting down");
    events[at..]
        .iter()
        .filter(|e| match &e.event {
            Event::Resiliency { event, .. } => matches!(
                event,
                ResiliencyEvent::BreakerStateChanged { .. }
                    | ResiliencyEvent::BreakerCounted { .. }
                    | ResiliencyEvent::AttemptFailed { .. }
                    | ResiliencyEvent::Retrying { .. }
                    | ResiliencyEvent::RetryScheduled { .. }
                    | ResiliencyEvent::Finished { error: Some(_), .. }
            ),
            Event::App { event, .. } => matches!(event, AppEvent::OrderFailed { .. }),
            _ => false,
        })
        .map(|e| format!("{:.1}s {:?}", e.at.as_secs_f64(), e.event))
        .collect()
}

fn summary_text(events: &[Stamped]) -> String {
    let mut ledger = Ledger::default();
    events.iter().for_each(|e| ledger.record(e));
    ledger.text(events.last().map_or(Duration::ZERO, |e| e.at))
}

/// The run: `why-breakers --fault slow-order-processor@3s --duration 12s`. At the end about 30 orders
/// per caller wait on the 3s latency; stopping the run used to open checkout-breaker's breaker.
#[tokio::test(start_paused = true)]
async fn a_run_ending_while_the_callee_is_slow_trips_no_breaker() {
    let events = run(
        "why-breakers",
        "slow-order-processor",
        Duration::from_secs(3),
        Duration::from_secs(12),
    )
    .await;
    let in_flight = events
        .iter()
        .filter(|e| {
            matches!(
                &e.event,
                Event::App {
                    event: AppEvent::OrderSent { .. },
                    ..
                }
            )
        })
        .count()
        - events
            .iter()
            .filter(|e| {
                matches!(
                    &e.event,
                    Event::App {
                        event: AppEvent::OrderPassed { .. },
                        ..
                    }
                )
            })
            .count();
    assert!(in_flight >= 20, "orders were held when the run ended: {in_flight}");
    assert_eq!(counted_after_shutdown(&events), Vec::<String>::new());
    let text = summary_text(&events);
    assert!(!text.contains("opened at"), "{text}");
}

/// `timeouts` with order-processor accepting calls and never answering: the run ends half a second into an
/// attempt (1s timeout). Cutting that attempt used to count as a breaker failure after `ShuttingDown`.
#[tokio::test(start_paused = true)]
async fn a_run_ending_while_the_callee_never_answers_counts_nothing_more() {
    let events = run(
        "timeouts",
        "hang-order-processor",
        Duration::from_secs(3),
        Duration::from_millis(3_500),
    )
    .await;
    let held = events.iter().any(|e| {
        matches!(
            &e.event,
            Event::Resiliency {
                event: ResiliencyEvent::AttemptStarted { .. },
                ..
            }
        ) && e.at >= Duration::from_secs(3)
    });
    assert!(held, "an attempt was in flight when the run ended");
    assert_eq!(counted_after_shutdown(&events), Vec::<String>::new());
}
