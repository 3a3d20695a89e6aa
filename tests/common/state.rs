//! The state app against one state store, with `resources` (a Resiliency and a `statestore` component, whose
//! `localhost:6379` is replaced by `redis_host`) and one fault: what the store tests run.

use std::path::PathBuf;
use std::time::Duration;

use resilience_tui::event::{Events, Stamped};
use resilience_tui::scenario::{AppSpec, FaultAction, FaultSpec, ResourcesSource, Scenario};

pub fn state_scenario(tag: &str, resources: &str, redis_host: &str, fault: FaultAction) -> Scenario {
    let dir = super::temp_dir(&format!("state-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("resources.yaml"),
        resources.replace("localhost:6379", redis_host),
    )
    .unwrap();
    Scenario {
        name: format!("state-{tag}"),
        title: tag.into(),
        summary: String::new(),
        resources: ResourcesSource::Dir(dir),
        apps: vec![AppSpec::StateOrderProcessor {
            app_id: "order-processor".into(),
            dapr_http_port: super::free_port(),
            store: "statestore".into(),
        }],
        faults: vec![FaultSpec {
            name: "the-fault".into(),
            key: 'r',
            action: fault,
            explain: String::new(),
        }],
        file: PathBuf::from(format!("state-{tag}.yaml")),
    }
}

/// Collects events for `d`.
pub async fn collect_for(d: Duration, events: &mut Vec<Stamped>, rx: &mut Events) {
    let deadline = tokio::time::Instant::now() + d;
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        events.push(e);
    }
}
