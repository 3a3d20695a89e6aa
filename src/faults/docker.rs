//! The `dapr_redis` container (the one `dapr init` creates), stopped and started through the Docker engine's API
//! (bollard). Every call has a timeout, and every Docker error becomes a one-line explanation, never a crash.

use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{
    EventsOptionsBuilder, ListContainersOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;

use crate::event::ContainerState;

/// Longest wait for any one Docker call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerError {
    #[error("no Docker engine answers ({0}); start Docker, or set DOCKER_HOST")]
    NoEngine(String),
    #[error("permission denied on the Docker socket; add yourself to the docker group or run with sudo")]
    PermissionDenied,
    #[error("there is no container named {0}; {help}", help = no_container_help(.0))]
    NoContainer(String),
    #[error("Docker did not answer within {}s", CALL_TIMEOUT.as_secs())]
    Timeout,
    #[error("Docker: {0}")]
    Call(String),
}

/// `dapr init` creates `dapr_redis` only: for another name, telling the user to run it would not help.
fn no_container_help(name: &str) -> String {
    if name == "dapr_redis" {
        "run `dapr init` to create it".to_string()
    } else {
        format!(
            "check the name given with --redis-container (`docker ps -a` lists them); `dapr init` creates only dapr_redis, not {name}"
        )
    }
}

fn explain(e: bollard::errors::Error, name: &str) -> DockerError {
    use bollard::errors::Error as E;
    match e {
        E::DockerResponseServerError { status_code: 404, .. } => DockerError::NoContainer(name.to_string()),
        E::SocketNotFoundError(path) => DockerError::NoEngine(format!("no socket at {path}")),
        E::RequestTimeoutError => DockerError::Timeout,
        other => {
            let text = other.to_string();
            if text.contains("ermission denied") {
                DockerError::PermissionDenied
            } else {
                DockerError::Call(text)
            }
        }
    }
}

async fn bounded<T>(
    name: &str,
    call: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, DockerError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result.map_err(|e| explain(e, name)),
        Err(_) => Err(DockerError::Timeout),
    }
}

/// The state a container is in after an event of Docker's stream. `docker stop` sends `kill`, `die`, then
/// `stop`: `stop` comes last and means stopped, so it must not read as "stopping" during the outage.
fn state_after(action: &str) -> Option<ContainerState> {
    match action {
        "start" | "restart" | "unpause" => Some(ContainerState::Running),
        "pause" => Some(ContainerState::Paused),
        "kill" => Some(ContainerState::Stopping),
        "die" | "stop" => Some(ContainerState::Exited),
        _ => None,
    }
}

/// A named container on the local Docker engine.
pub struct Container {
    docker: Docker,
    name: String,
}

impl Container {
    /// Connects to the engine (`DOCKER_HOST` or the default socket) and checks that the container exists.
    pub async fn find(name: &str) -> Result<Self, DockerError> {
        let docker = Docker::connect_with_local_defaults().map_err(|e| explain(e, name))?;
        bounded(name, docker.ping()).await?;
        let container = Self {
            docker,
            name: name.to_string(),
        };
        container.is_running().await?;
        Ok(container)
    }

    /// The container that publishes host port `port` (`-p 6379:6379`, as `dapr init` creates `dapr_redis`): a
    /// running one from its published ports, a stopped one from the bindings it publishes again when started.
    /// `Ok(None)` when none does.
    pub async fn publishing(port: u16) -> Result<Option<Self>, DockerError> {
        let docker = Docker::connect_with_local_defaults().map_err(|e| explain(e, "?"))?;
        bounded("?", docker.ping()).await?;
        let all = ListContainersOptionsBuilder::default().all(true).build();
        let list = bounded("?", docker.list_containers(Some(all))).await?;
        for summary in list {
            let Some(name) = summary
                .names
                .iter()
                .flatten()
                .next()
                .map(|n| n.trim_start_matches('/').to_string())
            else {
                continue;
            };
            let ports = summary.ports.unwrap_or_default();
            let publishes = if ports.is_empty() {
                // Stopped: `docker ps` lists no ports, its host config still holds them.
                let info = bounded(&name, docker.inspect_container(&name, None)).await?;
                let bindings = info.host_config.and_then(|h| h.port_bindings).unwrap_or_default();
                bindings
                    .values()
                    .flatten()
                    .flatten()
                    .any(|b| b.host_port.as_deref() == Some(port.to_string().as_str()))
            } else {
                ports.iter().any(|p| p.public_port == Some(port))
            };
            if publishes {
                return Ok(Some(Self { docker, name }));
            }
        }
        Ok(None)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn is_running(&self) -> Result<bool, DockerError> {
        let info = bounded(&self.name, self.docker.inspect_container(&self.name, None)).await?;
        Ok(info.state.and_then(|s| s.running).unwrap_or(false))
    }

    /// Running but paused (`docker pause`): its processes are frozen, its connections held.
    pub async fn is_paused(&self) -> Result<bool, DockerError> {
        let info = bounded(&self.name, self.docker.inspect_container(&self.name, None)).await?;
        Ok(info.state.and_then(|s| s.paused).unwrap_or(false))
    }

    /// `docker pause`: Redis keeps its connections and answers nothing, so callers' timeouts fire. Leaves the
    /// same marker as `stop`, so a run killed mid-pause is undone by the next one.
    pub async fn pause(&self) -> Result<(), DockerError> {
        crate::leftover::note_stopping(&self.name);
        bounded(&self.name, self.docker.pause_container(&self.name)).await
    }

    pub async fn unpause(&self) -> Result<(), DockerError> {
        if self.is_paused().await? {
            bounded(&self.name, self.docker.unpause_container(&self.name)).await?;
        }
        crate::leftover::note_started(&self.name);
        Ok(())
    }

    /// `docker stop -t 1`: a teaching tool wants the outage now, not after Redis's graceful shutdown.
    /// Leaves a marker first, so that a run killed before it clears the fault is found by the next one.
    pub async fn stop(&self) -> Result<(), DockerError> {
        crate::leftover::note_stopping(&self.name);
        let options = StopContainerOptionsBuilder::default().t(1).build();
        bounded(&self.name, self.docker.stop_container(&self.name, Some(options))).await
    }

    pub async fn start(&self) -> Result<(), DockerError> {
        bounded(
            &self.name,
            self.docker.start_container(&self.name, None::<StartContainerOptions>),
        )
        .await?;
        crate::leftover::note_started(&self.name);
        Ok(())
    }

    /// A run that was killed (SIGKILL) after stopping this container left it stopped: start it again and say
    /// so. `Ok(None)` when there is nothing to recover.
    pub async fn recover_left_stopped(&self) -> Result<Option<String>, DockerError> {
        let Some(pid) = crate::leftover::left_stopped_by_dead_run(&self.name) else {
            return Ok(None);
        };
        if self.is_paused().await? {
            self.unpause().await?;
            return Ok(Some(format!(
                "{} was left paused by an earlier resilience-tui run (pid {pid}) that ended without clearing its fault; unpaused it",
                self.name
            )));
        }
        if self.is_running().await? {
            crate::leftover::note_started(&self.name); // someone started it already; the marker is stale
            return Ok(None);
        }
        self.start().await?;
        Ok(Some(format!(
            "{} was left stopped by an earlier resilience-tui run (pid {pid}) that ended without clearing its fault; started it again",
            self.name
        )))
    }

    /// Follows Docker's event stream for this container and reports its state as it changes, until the
    /// stream ends (or the returned future is dropped); `on_error` hears why it ended early.
    pub fn watch(
        &self,
        on_state: impl Fn(ContainerState) + Send + 'static,
        on_error: impl Fn(String) + Send + 'static,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let filters = std::collections::HashMap::from([
            ("container", vec![self.name.clone()]),
            ("type", vec!["container".to_string()]),
        ]);
        let mut events = self
            .docker
            .events(Some(EventsOptionsBuilder::default().filters(&filters).build()));
        async move {
            while let Some(event) = events.next().await {
                match event {
                    Ok(message) => {
                        let Some(state) = message.action.as_deref().and_then(state_after) else {
                            continue;
                        };
                        on_state(state);
                    }
                    Err(e) => {
                        on_error(format!("lost Docker's event stream: {e}"));
                        return;
                    }
                }
            }
        }
    }

    /// What a person types to start it by hand.
    pub fn start_command(&self) -> String {
        format!("docker start {}", self.name)
    }

    /// What a person types to unpause it by hand.
    pub fn unpause_command(&self) -> String {
        format!("docker unpause {}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::DockerError;

    #[test]
    fn docker_stop_s_events_end_in_exited() {
        let states: Vec<_> = ["kill", "die", "stop"]
            .into_iter()
            .filter_map(super::state_after)
            .collect();
        assert_eq!(states.last(), Some(&crate::event::ContainerState::Exited), "{states:?}");
        assert_eq!(super::state_after("start"), Some(crate::event::ContainerState::Running));
        assert_eq!(super::state_after("exec_create"), None);
    }

    #[test]
    fn a_missing_container_gets_advice_that_fits_its_name() {
        let dapr = DockerError::NoContainer("dapr_redis".into()).to_string();
        assert!(dapr.ends_with("run `dapr init` to create it"), "{dapr}");
        let other = DockerError::NoContainer("nosuch".into()).to_string();
        assert!(
            other.contains("--redis-container") && !other.contains("run `dapr init`"),
            "{other}"
        );
    }
}
