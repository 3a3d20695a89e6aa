//! Hot reload of `resiliency.yaml` while a scenario runs (paused clock, real TCP): the learner's edit of `trip`
//! takes effect on the next outage, and a broken edit is reported, located, while the old policy stays.

use crate::common;

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

/// daprd's hot-reload lines, as `(second, source, line)`.
fn reload_lines(events: &[Stamped]) -> Vec<(u64, String, String)> {
    events
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                Event::ResiliencyReloaded { .. } | Event::SidecarRestarting { .. }
            )
        })
        .map(|e| (e.at.as_secs(), e.event.source(), e.event.text().unwrap_or_default()))
        .collect()
}

const STATESTORE: &str = "apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.in-memory
  version: v1
";

const OTHER: &str = "apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: other
scopes: [order-processor]
spec:
  policies:
    timeouts:
      short: 1s
  targets: {}
";

/// As daprd's SIGHUP reconciler: only a change of a Resiliency's decoded spec restarts a sidecar, and only
/// the sidecars that load it; each changed resource is one line with its name and kind of change.
#[tokio::test(start_paused = true)]
async fn only_a_changed_resiliency_restarts_the_sidecars_that_load_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("resiliency.yaml");
    std::fs::write(&file, QUICKSTART).unwrap();
    std::fs::write(dir.path().join("statestore.yaml"), STATESTORE).unwrap();
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
    // A comment, a reordering and quoting: the same decoded resource.
    sleep_until(at(3)).await;
    let reformatted = format!(
        "# the learner's note\n{}",
        QUICKSTART.replace("duration: 5s", "duration: \"5s\"")
    );
    std::fs::write(&file, reformatted).unwrap();
    // The component changes, no Resiliency does.
    sleep_until(at(6)).await;
    let store = STATESTORE.replace(
        "version: v1",
        "version: v1\n  metadata:\n  - name: ttlInSeconds\n    value: \"60\"",
    );
    std::fs::write(dir.path().join("statestore.yaml"), store).unwrap();
    // A real change, then a new resource for order-processor only, then that resource deleted.
    sleep_until(at(9)).await;
    std::fs::write(&file, QUICKSTART.replace("duration: 5s", "duration: 2s")).unwrap();
    sleep_until(at(12)).await;
    std::fs::write(dir.path().join("other.yaml"), OTHER).unwrap();
    sleep_until(at(15)).await;
    std::fs::remove_file(dir.path().join("other.yaml")).unwrap();
    sleep_until(at(18)).await;
    running.shutdown().await;
    let events = collector.await.unwrap();

    let line = |s: u64, source: &str, text: &str| (s, source.to_string(), text.to_string());
    let restart = "Received signal 'hangup'; restarting";
    assert_eq!(
        reload_lines(&events),
        [
            line(
                9,
                "sidecar:checkout",
                "Received Resiliency UPDATED event: myresiliency - triggering SIGHUP reload"
            ),
            line(9, "sidecar:checkout", restart),
            line(
                12,
                "sidecar:order-processor",
                "Received Resiliency CREATED event: other - triggering SIGHUP reload"
            ),
            line(12, "sidecar:order-processor", restart),
            line(
                15,
                "sidecar:order-processor",
                "Received Resiliency DELETED event: other - triggering SIGHUP reload"
            ),
            line(15, "sidecar:order-processor", restart),
        ]
    );
    // Nothing was loaded again but by the restarts: daprd's `Loading Resiliency configuration` lines.
    let loads: Vec<(u64, String)> = events
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                Event::Resiliency {
                    event: ResiliencyEvent::ResourceLoaded { .. },
                    ..
                }
            )
        })
        .map(|e| (e.at.as_secs(), e.event.source()))
        .filter(|(s, _)| *s > 0)
        .collect();
    assert_eq!(
        loads,
        [
            (9, "sidecar:checkout".to_string()),
            (12, "sidecar:order-processor".to_string()),
        ],
        "the deletion leaves order-processor with nothing to load"
    );
}
