//! Hot reload of `resiliency.yaml` while a scenario runs (paused clock, real TCP): the learner's edit of `trip`
//! takes effect on the next outage, and a broken edit is reported, located, while the old policy stays.

mod common;

use std::time::Duration;

use resilience_tui::event::{Event, Stamped};
use resilience_tui::lifecycle::{RunOptions, start};
use resilience_tui::resiliency::{BreakerState, ResiliencyEvent};
use resilience_tui::scenario::{self, PortOverrides};
use tokio::time::{Instant, sleep_until};

const QUICKSTART: &str = include_str!("../resources/service-invoke/resiliency.yaml");

/// When the breaker opened, to the second.
fn openings(events: &[Stamped]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Resiliency {
                event:
                    ResiliencyEvent::BreakerStateChanged {
                        from: BreakerState::Closed,
                        to: BreakerState::Open,
                        ..
                    },
                ..
            } => Some(e.at.as_secs()),
            _ => None,
        })
        .collect()
}

fn notices(events: &[Stamped]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Notice { .. } | Event::Warning { .. } | Event::ResiliencyReloaded { .. } => e.event.text(),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_edited_trip_takes_effect_and_a_broken_edit_keeps_the_old_policy() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("resiliency.yaml");
    std::fs::write(&file, QUICKSTART).unwrap();
    let scenario = scenario::find("service-invoke").unwrap().load().unwrap();
    let port = common::free_port;
    let opts = RunOptions {
        resources_path: Some(dir.path().to_path_buf()),
        ports: PortOverrides {
            dapr_http: vec![("checkout".into(), port()), ("order-processor".into(), port())],
            app: vec![("order-processor".into(), port())],
        },
        sidecars_on_this_runtime: true,
        ..RunOptions::default()
    };
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let (running, mut events) = start(scenario, &opts).await.unwrap();
    let collector = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(e) = events.recv().await {
            all.push(e);
        }
        all
    });
    // The quickstart's policy: the fault at 3s, the fifth failure (23s) opens the breaker.
    sleep_until(at(3)).await;
    running.faults.inject(0).await;
    sleep_until(at(30)).await;
    running.faults.clear_all().await;
    // The learner opens the breaker sooner: `>= 2`.
    sleep_until(at(40)).await;
    std::fs::write(
        &file,
        QUICKSTART.replace("consecutiveFailures >= 5", "consecutiveFailures >= 2"),
    )
    .unwrap();
    sleep_until(at(45)).await;
    running.faults.inject(0).await;
    sleep_until(at(60)).await;
    running.faults.clear_all().await;
    // A broken edit: the old policy (>= 2) stays.
    sleep_until(at(70)).await;
    std::fs::write(&file, QUICKSTART.replace("duration: 5s", "duration: [5s")).unwrap();
    sleep_until(at(75)).await;
    running.faults.inject(0).await;
    sleep_until(at(90)).await;
    running.shutdown().await;
    let events = collector.await.unwrap();

    assert_eq!(openings(&events), [23, 50, 80], "5 failures, then 2, then still 2");
    let notices = notices(&events);
    let reloaded: Vec<&String> = notices
        .iter()
        .filter(|n| n.starts_with("Received Resiliency UPDATED event:"))
        .collect();
    assert_eq!(reloaded.len(), 1, "{notices:#?}");
    assert!(
        reloaded[0].contains("myresiliency - triggering SIGHUP reload"),
        "{}",
        reloaded[0]
    );
    let broken = notices
        .iter()
        .find(|n| n.contains("the edited resources do not load, so the sidecars keep their policies"))
        .unwrap_or_else(|| panic!("{notices:#?}"));
    assert!(broken.contains("resiliency.yaml:"), "located: {broken}");
}
