//! The real apps of a run template, started as the Dapr CLI starts them: after their sidecars listen, each
//! with the CLI's environment (dapr/cli `pkg/standalone/run.go` getEnv): `APP_ID`, `APP_CHANNEL_ADDRESS`,
//! `APP_PORT` (when it serves one), `DAPR_HTTP_PORT`, `DAPR_GRPC_PORT`, `DAPR_METRICS_PORT`, `APP_PROTOCOL`,
//! then the template's `env`.

use std::sync::Arc;

use anyhow::Context;

use super::RunOptions;
use crate::apps::process::AppProcess;
use crate::event::{Event, EventBus};
use crate::scenario::{AppSpec, Scenario};
use crate::sidecar::Sidecar;

/// Starts every `Process` app of `scenario`, in the template's order.
pub(super) async fn start_processes(
    scenario: &Scenario,
    opts: &RunOptions,
    sidecars: &[Arc<Sidecar>],
    bus: &EventBus,
) -> anyhow::Result<Vec<Arc<AppProcess>>> {
    for text in crate::leftover::end_groups_of_dead_runs() {
        tracing::warn!("{text}");
        bus.emit(Event::Notice { text });
    }
    let mut processes = Vec::new();
    for (index, app) in scenario.apps.iter().enumerate() {
        let AppSpec::Process {
            app_id,
            app_port,
            process,
            ..
        } = app
        else {
            continue;
        };
        if process.command.is_empty() {
            continue; // a sidecar alone, as `dapr run` without a command
        }
        let sidecar = sidecars
            .iter()
            .find(|s| s.app_id() == app_id)
            .with_context(|| format!("no sidecar for {app_id}"))?;
        let mut spec = process.clone();
        let grpc_port = sidecar.grpc_addr().map_or(0, |a| a.port());
        let mut env = vec![
            ("APP_ID".to_string(), app_id.clone()),
            ("APP_CHANNEL_ADDRESS".to_string(), String::new()),
            ("DAPR_HTTP_PORT".to_string(), sidecar.addr().port().to_string()),
            ("DAPR_GRPC_PORT".to_string(), grpc_port.to_string()),
            ("APP_PROTOCOL".to_string(), "http".to_string()),
        ];
        if let Some(port) = app_port {
            env.push(("APP_PORT".to_string(), port.to_string()));
        }
        let metrics = opts.metrics_ports.port(app_id, index);
        if metrics != 0 {
            env.push(("DAPR_METRICS_PORT".to_string(), metrics.to_string()));
        }
        env.append(&mut spec.env);
        spec.env = env;
        let proc = Arc::new(AppProcess::new(spec, bus.clone()));
        proc.start().await.with_context(|| {
            format!(
                "starting {app_id} ({}) in {}",
                process.command.join(" "),
                process.dir.display()
            )
        })?;
        processes.push(proc);
    }
    Ok(processes)
}
