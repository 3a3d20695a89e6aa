//! The service-invocation quickstart end to end on a paused clock: the built-in scenario with its real
//! `resiliency.yaml` (retry every 5 s forever, breaker open after 5 consecutive failures for 5 s), real
//! checkout and order-processor apps and sidecars on real loopback ports, all on the test's runtime, so the
//! minute-long story runs exactly and in well under a second (mini-redis's way of testing over real TCP).

mod common;

use std::time::Duration;

use resilience_tui::event::{AppEvent, Event, Stamped};
use resilience_tui::lifecycle::{RunOptions, start};
use resilience_tui::resiliency::ResiliencyEvent;
use resilience_tui::scenario::{self, PortOverrides};
use resilience_tui::summary::Ledger;
use tokio::time::{Instant, sleep_until};

/// What happened when, to the tenth of a second: breaker transitions, the Retrying/Recovered lines, faults.
fn story(events: &[Stamped]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| {
            let what = match &e.event {
                Event::Resiliency { event, .. } => match event {
                    ResiliencyEvent::BreakerStateChanged { from, to, .. } => format!("{from} -> {to}"),
                    ResiliencyEvent::Retrying { wait, .. } => format!("retrying in {wait:?}"),
                    ResiliencyEvent::Recovered { attempts, .. } => format!("recovered after {attempts} attempts"),
                    _ => return None,
                },
                Event::Fault(f) => e
                    .event
                    .text()
                    .filter(|_| !matches!(f, resilience_tui::event::FaultEvent::Changing { .. }))?,
                _ => return None,
            };
            Some(format!("{:.1}s {what}", e.at.as_secs_f64()))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_quickstart_story_exactly_over_real_tcp() {
    let source = scenario::find("service-invoke").expect("built in");
    let scenario = source.load().unwrap();
    let port = common::free_port;
    let opts = RunOptions {
        ports: PortOverrides {
            dapr_http: vec![("checkout".into(), port()), ("order-processor".into(), port())],
            app: vec![("order-processor".into(), port())],
        },
        state_store: resilience_tui::lifecycle::StateStoreChoice::Memory,
        sidecars_on_this_runtime: true,
        ..RunOptions::default()
    };
    let t0 = Instant::now();
    let (running, mut events) = start(scenario, &opts).await.expect("the scenario starts");
    let collector = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(e) = events.recv().await {
            all.push(e);
        }
        all
    });
    sleep_until(t0 + Duration::from_secs(10)).await;
    running.faults.inject(0).await;
    sleep_until(t0 + Duration::from_secs(45)).await;
    running.faults.clear_all().await;
    sleep_until(t0 + Duration::from_secs(60)).await;
    let warnings = running.shutdown().await;
    assert!(warnings.is_empty(), "{warnings:?}");
    let events = collector.await.unwrap();

    let story: Vec<String> = story(&events);
    let expected = [
        "10.0s injected: stop order-processor (127.0.0.1:PORT refuses connections)",
        "10.0s retrying in 5s",
        "30.0s closed -> open",
        "35.0s open -> half-open",
        "35.0s half-open -> open",
        "40.0s open -> half-open",
        "40.0s half-open -> open",
        "45.0s cleared: order-processor listens again on 127.0.0.1:PORT",
        "45.0s open -> half-open",
        "45.0s half-open -> closed",
        "45.0s recovered after 8 attempts",
    ];
    let port_free: Vec<String> = story
        .iter()
        .map(|l| {
            let mut l = l.clone();
            if let Some(at) = l.find("127.0.0.1:") {
                let end = l[at + 10..]
                    .find(|c: char| !c.is_ascii_digit())
                    .map_or(l.len(), |n| at + 10 + n);
                l.replace_range(at + 10..end, "PORT");
            }
            l
        })
        .collect();
    assert_eq!(port_free, expected);

    let mut ledger = Ledger::default();
    events.iter().for_each(|e| ledger.record(e));
    let s = ledger.summary();
    assert_eq!((s.lost, s.duplicated, s.failed), (0, 0, 0), "{s:?}");
    // One order a second: 10 before the fault (0-9 s), the one held from 10 s to 45 s, 14 after (46-59 s).
    assert_eq!(s.delivered, 10 + 1 + 14, "{s:?}");
    let held = events.iter().find_map(|e| match &e.event {
        Event::App {
            event: AppEvent::OrderReceived { order_id },
            ..
        } if e.at >= Duration::from_secs(45) => Some(*order_id),
        _ => None,
    });
    assert_eq!(
        held,
        Some(11),
        "the order held in the retry loop is the first one delivered after the clear"
    );
}
