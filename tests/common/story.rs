//! A scenario's story on a paused clock over real TCP (mini-redis's way): every event of a run whose faults
//! are injected and cleared at exact times, and helpers to read it.

use std::time::Duration;

use resilience_tui::event::{AppEvent, Event, Stamped};
use resilience_tui::lifecycle::{RunOptions, start};
use resilience_tui::resiliency::ResiliencyEvent;
use resilience_tui::scenario::{self, PortOverrides};
use tokio::time::{Instant, sleep_until};

/// What happened when, to the tenth of a second: breaker transitions, the Retrying/Recovered lines, faults.
pub fn story(events: &[Stamped]) -> Vec<String> {
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

/// `127.0.0.1:PORT` for every port, so lines compare across runs.
pub fn without_ports(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..at + 10]);
        out.push_str("PORT");
        rest = rest[at + 10..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out + rest
}

/// The error of every failed attempt, in order.
pub fn attempt_errors(events: &[Stamped]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Resiliency {
                event: ResiliencyEvent::AttemptFailed { error, .. },
                ..
            } => Some(error.clone()),
            _ => None,
        })
        .collect()
}

/// Runs the built-in scenario `name` on a paused clock with `resources` (None: the built-in ones),
/// injects fault `fault` at `at.0` s (and clears it at `at.1` s), ends at `end_s`, and returns every event.
pub async fn run_story(
    resources: Option<std::path::PathBuf>,
    fault: usize,
    at: (u64, Option<u64>),
    end_s: u64,
) -> Vec<Stamped> {
    run_scenario("service-invoke", resources, fault, at, end_s).await
}

/// [`run_story`] for any built-in scenario with checkout and order-processor.
pub async fn run_scenario(
    name: &str,
    resources: Option<std::path::PathBuf>,
    fault: usize,
    at: (u64, Option<u64>),
    end_s: u64,
) -> Vec<Stamped> {
    let scenario = scenario::find(name).unwrap().load().unwrap();
    let port = super::free_port;
    let opts = RunOptions {
        resources_path: resources,
        // A free port for every sidecar and every app that serves one.
        ports: PortOverrides {
            dapr_http: scenario.apps.iter().map(|a| (a.app_id().to_string(), port())).collect(),
            app: scenario
                .apps
                .iter()
                .filter(|a| matches!(a, scenario::AppSpec::OrderProcessor { .. }))
                .map(|a| (a.app_id().to_string(), port()))
                .collect(),
        },
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
    sleep_until(t0 + Duration::from_secs(at.0)).await;
    running.faults.inject(fault).await;
    if let Some(clear) = at.1 {
        sleep_until(t0 + Duration::from_secs(clear)).await;
        running.faults.clear_all().await;
    }
    sleep_until(t0 + Duration::from_secs(end_s)).await;
    let warnings = running.shutdown().await;
    assert!(warnings.is_empty(), "{warnings:?}");
    collector.await.unwrap()
}

pub fn failed_orders(events: &[Stamped]) -> Vec<(f64, String)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::App {
                event: AppEvent::OrderFailed { message, .. },
                ..
            } => Some((e.at.as_secs_f64(), without_ports(message))),
            _ => None,
        })
        .collect()
}

pub fn retrying_lines(events: &[Stamped]) -> Vec<(f64, String)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Resiliency {
                event: ResiliencyEvent::Retrying { .. },
                ..
            } => Some((e.at.as_secs_f64(), e.event.text().unwrap())),
            _ => None,
        })
        .collect()
}
