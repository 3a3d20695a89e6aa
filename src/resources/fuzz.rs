//! The code path the `loader` fuzz target drives, here so that the stable test suite replays the same
//! corpus through the same code (tests/fuzz_corpus_replay.rs).

use std::path::PathBuf;
use std::sync::Arc;

use crate::resiliency::Resiliency;
use crate::resiliency::events::Discard;

/// Loads `data` as resource files (split at the first NUL into two files, so cross-file checks run),
/// renders every diagnostic, and builds the engine of every app id a resource is scoped to, resolving each
/// app and component target as a sidecar would. Returns the rendered diagnostics.
pub fn load_everything(data: &[u8]) -> String {
    let files: Vec<(PathBuf, Vec<u8>)> = match data.iter().position(|b| *b == 0) {
        Some(at) => vec![
            (PathBuf::from("a.yaml"), data[..at].to_vec()),
            (PathBuf::from("b.yaml"), data[at + 1..].to_vec()),
        ],
        None => vec![(PathBuf::from("resiliency.yaml"), data.to_vec())],
    };
    let loaded = super::load_files(files, Some("checkout"));
    let rendered = loaded.render_diagnostics();
    let configs = loaded.resiliency_configs();
    let mut app_ids: Vec<String> = configs.iter().flat_map(|c| c.scopes.iter().cloned()).collect();
    app_ids.push("checkout".into());
    for app_id in app_ids.iter().take(8) {
        let r = Resiliency::new(app_id, configs.clone(), Arc::new(Discard));
        for config in &configs {
            for app in config.apps.keys().take(8) {
                let _ = r.endpoint_policy(app, "orders");
            }
            for component in config.components.keys().take(8) {
                for direction in [
                    crate::resiliency::Direction::Outbound,
                    crate::resiliency::Direction::Inbound,
                ] {
                    let _ = r.component_policy(component, crate::resiliency::ComponentKind::Statestore, direction);
                }
            }
        }
    }
    rendered
}
