//! The app-channel faults the lessons do not use, end to end on a paused clock over real TCP: `reset` (a real
//! TCP reset where the app should be: daprd's app channel error, retried by the policy) and `flap` (the app
//! stops and starts on a cycle: orders wait through the down phases and none is lost).

use crate::common;

use common::story::{attempt_errors, run_scenario};
use resilience_tui::event::{AppEvent, Event};
use resilience_tui::summary::Ledger;

fn scenario_file(faults: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let resources = concat!(env!("CARGO_MANIFEST_DIR"), "/resources/service-invoke");
    let text = format!(
        "name: chaos\ntitle: chaos\nsummary: s\nresources: {resources}\napps:\n  checkout: {{kind: checkout, daprHttpPort: 3500, target: order-processor}}\n  order-processor: {{kind: order-processor, appPort: 8001, daprHttpPort: 3501}}\nfaults:\n{faults}"
    );
    std::fs::write(dir.path().join("chaos.yaml"), text).unwrap();
    dir
}

#[tokio::test(start_paused = true)]
async fn a_reset_is_daprd_s_app_channel_error_and_is_retried() {
    let dir = scenario_file("  - {name: reset, key: r, action: reset, app: order-processor}\n");
    let path = dir.path().join("chaos.yaml");
    let events = run_scenario(path.to_str().unwrap(), None, 0, (3, Some(12)), 20).await;
    let errs = attempt_errors(&events);
    assert!(!errs.is_empty(), "the reset failed the calls");
    for e in &errs {
        assert!(
            e.starts_with("rpc error: code = Internal desc = error invoking app channel: Post"),
            "{e}"
        );
        assert!(!e.contains("connection refused"), "a reset, not a refusal: {e}");
    }
    let mut ledger = Ledger::default();
    events.iter().for_each(|e| ledger.record(e));
    let s = ledger.summary();
    assert_eq!(
        (s.lost, s.duplicated, s.failed),
        (0, 0, 0),
        "held, then delivered: {s:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_flapping_app_stops_and_starts_on_its_cycle() {
    let dir = scenario_file("  - {name: flap, key: p, action: flap, app: order-processor, down: 4s, up: 6s}\n");
    let path = dir.path().join("chaos.yaml");
    let events = run_scenario(path.to_str().unwrap(), None, 0, (3, Some(30)), 45).await;
    let changes: Vec<(u64, &str)> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::App {
                app,
                event: AppEvent::Stopped,
            } if &**app == "order-processor" => Some((e.at.as_secs(), "stopped")),
            Event::App {
                app,
                event: AppEvent::Listening { .. },
            } if &**app == "order-processor" => Some((e.at.as_secs(), "listening")),
            _ => None,
        })
        .collect();
    let expected = [
        (0, "listening"),
        (3, "stopped"),
        (7, "listening"),
        (13, "stopped"),
        (17, "listening"),
        (23, "stopped"),
        (27, "listening"),
        (45, "stopped"),
    ];
    assert_eq!(
        changes, expected,
        "down 4s, up 6s from 3s; cleared while up at 30s; stopped by the run's end"
    );
    let mut ledger = Ledger::default();
    events.iter().for_each(|e| ledger.record(e));
    let s = ledger.summary();
    assert_eq!((s.lost, s.duplicated, s.failed), (0, 0, 0), "{s:?}");
}
