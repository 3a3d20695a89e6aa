//! The one stream of typed events that every display consumes (the headless printer now, the TUI later).
//!
//! Apps, sidecars and faults send [`Event`]s to an [`EventBus`]; each is stamped with the time since the
//! scenario started. Displays decide how to show them; [`Event::text`] is the line a person reads, shared by
//! every display so they all say the same thing.

mod bus;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use bus::{EventBus, Events, ROUTINE_HELD, Recorder};

use crate::resiliency::ResiliencyEvent;

/// Something an app did or printed. The serde tags are the JSONL `kind`s (pinned by a snapshot test).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppEvent {
    /// The app (or its sidecar) is listening.
    Listening { addr: std::net::SocketAddr },
    /// The app stopped listening (a fault).
    Stopped,
    /// checkout is sending this order.
    OrderSent { order_id: u64 },
    /// checkout got a success answer for this order.
    OrderPassed { order_id: u64 },
    /// checkout got a failure for this order.
    OrderFailed {
        order_id: u64,
        status: u16,
        error_code: Option<String>,
        #[serde(rename = "error")]
        message: String,
    },
    /// order-processor handled this order.
    OrderReceived { order_id: u64 },
    /// The state flavour of order-processor saved this order through its sidecar (like a passed order).
    OrderSaved { order_id: u64 },
    /// ...and read it back from the store (like a received order).
    OrderRead { order_id: u64 },
    /// A line a real app (a run template's) wrote to stdout or stderr.
    #[serde(rename = "app_output")]
    Output { line: String },
    /// A real app's process exited (`code`: its exit code; none when a signal ended it).
    #[serde(rename = "app_exited")]
    Exited { code: Option<i32> },
}

/// A fault being injected or cleared.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultEvent {
    /// A change has started; Docker calls can take a moment.
    #[serde(rename = "fault_changing")]
    Changing {
        fault: String,
        #[serde(rename = "change")]
        what: FaultChange,
        description: String,
    },
    #[serde(rename = "fault_injected")]
    Injected { fault: String, description: String },
    #[serde(rename = "fault_cleared")]
    Cleared { fault: String, description: String },
    /// An injected fault's parameters changed (a latency made longer or shorter with `+` / `-`): `action` is
    /// the fault in a few words now (`latency 1.5s`), `delay` the new latency.
    #[serde(rename = "fault_adjusted")]
    Adjusted {
        fault: String,
        description: String,
        action: String,
        #[serde(rename = "delay_ms", serialize_with = "as_millis")]
        delay: Duration,
    },
    /// Injecting or clearing failed; the scenario carries on.
    #[serde(rename = "fault_failed")]
    Failed { fault: String, error: String },
}

/// One caller's load on a service in one second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallerTraffic {
    pub caller: String,
    /// Calls that reached the callee's sidecar (retries included).
    pub reached: u64,
    /// Answers the caller got, and the longest and mean time they took.
    pub answered: u64,
    pub mean_ms: u64,
    pub max_ms: u64,
}

/// A fault change that has started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultChange {
    Injecting,
    Clearing,
}

impl std::fmt::Display for FaultChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FaultChange::Injecting => "injecting",
            FaultChange::Clearing => "clearing",
        })
    }
}

/// Everything a run reports. Serialized (for JSONL) with the inner event's `kind` tag and fields; where it
/// came from is [`Event::source`], and the line a person reads is [`Event::text`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    // Tagged variants first: serde requires the untagged ones (which carry their own `kind`) last.
    /// Something the scenario itself says, e.g. which state store it uses.
    Notice {
        #[serde(skip)]
        text: String,
    },
    /// Something doubtful in the resources in use (a policy name that does not exist, an ignored field), or a
    /// risk the run's options take: `location` (file:line:col) and `field` when a resource says it.
    Warning {
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        location: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        help: Option<String>,
    },
    /// A Resiliency resource this sidecar had loaded was created, updated or deleted on disk (its decoded
    /// spec changed, not only its bytes): daprd's SIGHUP reconciler, one per changed resource.
    ResiliencyReloaded {
        #[serde(skip)]
        app_id: Arc<str>,
        change: ResourceChange,
        resource: String,
    },
    /// The sidecar restarts its runtime after [`Event::ResiliencyReloaded`] (daprd's SIGHUP): every
    /// resource is loaded again, with new breakers.
    SidecarRestarting {
        #[serde(skip)]
        app_id: Arc<str>,
    },
    /// A Docker container's state, from Docker's event stream.
    #[serde(rename = "container_state")]
    Container {
        #[serde(rename = "container")]
        name: String,
        #[serde(serialize_with = "as_text")]
        state: ContainerState,
    },
    /// Once a second while callers load a service (`checkout-load` apps): how many of each caller's calls
    /// reached the callee's sidecar in that second, and how long the caller's answers took.
    Traffic {
        callee: String,
        callers: Vec<CallerTraffic>,
    },
    /// The run has begun to shut down: faults are being cleared, then apps and sidecars stopped.
    ShuttingDown {
        #[serde(serialize_with = "as_text")]
        reason: StopReason,
    },
    #[serde(untagged)]
    App {
        #[serde(skip)]
        app: Arc<str>,
        #[serde(flatten)]
        event: AppEvent,
    },
    #[serde(untagged)]
    Resiliency {
        #[serde(skip)]
        app_id: Arc<str>,
        #[serde(flatten)]
        event: ResiliencyEvent,
    },
    #[serde(untagged)]
    Fault(FaultEvent),
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Serializes a value as its `Display` text.
fn as_text<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// How a resource changed on disk, in daprd's words (`operatorv1pb.ResourceEventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceChange {
    Created,
    Updated,
    Deleted,
}

impl std::fmt::Display for ResourceChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResourceChange::Created => "CREATED",
            ResourceChange::Updated => "UPDATED",
            ResourceChange::Deleted => "DELETED",
        })
    }
}

/// A container's state as Docker's event stream reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Running,
    Stopping,
    Exited,
    /// `docker pause`: running, its processes frozen.
    Paused,
}

impl std::fmt::Display for ContainerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ContainerState::Running => "running",
            ContainerState::Stopping => "stopping",
            ContainerState::Exited => "exited",
            ContainerState::Paused => "paused",
        })
    }
}

/// Why a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// q or Ctrl-C in the UI.
    Quit,
    /// SIGINT, SIGTERM or SIGHUP.
    Signal(&'static str),
    /// `--duration` elapsed.
    Duration,
    /// Standard output was closed (e.g. `| head`).
    OutputClosed,
    /// The display stopped on an error.
    DisplayFailed,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Quit => f.write_str("quit"),
            StopReason::Signal(name) => f.write_str(name),
            StopReason::Duration => f.write_str("--duration elapsed"),
            StopReason::OutputClosed => f.write_str("the output was closed"),
            StopReason::DisplayFailed => f.write_str("the display failed"),
        }
    }
}

/// An event with the time since the scenario started.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped {
    pub at: Duration,
    pub event: Event,
}

/// The `field` of a warning about a gRPC method a sidecar does not serve: the method's full name follows.
pub const UNSERVED_GRPC: &str = "dapr.proto.runtime.v1.Dapr/";

impl Event {
    /// `app_id` called gRPC `method` on its sidecar's `grpc_port`, which answered `UNIMPLEMENTED`: which
    /// method and port, that the sidecar does not serve it, and what to use (`served` over gRPC, or the HTTP
    /// API on `http_port`).
    pub fn unserved_grpc(app_id: &str, method: &str, grpc_port: u16, http_port: u16, served: &[&str]) -> Event {
        Event::Warning {
            message: format!(
                "{app_id} called the gRPC method {method} on DAPR_GRPC_PORT {grpc_port}: its sidecar does not serve it and answered UNIMPLEMENTED"
            ),
            location: None,
            field: Some(format!("{UNSERVED_GRPC}{method}")),
            help: Some(format!(
                "this sidecar serves over gRPC only {}; use one of those, or Dapr's HTTP API at DAPR_HTTP_PORT {http_port}, or run this app under daprd",
                served.join(", ")
            )),
        }
    }

    /// A loader's warning, located.
    pub fn warning_of(d: &crate::resources::Diagnostic) -> Event {
        Event::Warning {
            message: d.message.clone(),
            location: Some(d.location()),
            field: d.field.clone(),
            help: d.help.clone(),
        }
    }

    /// Where the event comes from: an app id, `sidecar:<app-id>`, or `fault`.
    pub fn source(&self) -> String {
        match self {
            Event::App { app, .. } => app.to_string(),
            Event::Resiliency { app_id, .. }
            | Event::ResiliencyReloaded { app_id, .. }
            | Event::SidecarRestarting { app_id } => format!("sidecar:{app_id}"),
            Event::Fault(_) => "fault".to_string(),
            Event::Notice { .. } | Event::Warning { .. } => "scenario".to_string(),
            Event::Container { .. } => "docker".to_string(),
            Event::Traffic { .. } => "traffic".to_string(),
            Event::ShuttingDown { .. } => "scenario".to_string(),
        }
    }

    /// The line a person reads for this event, or `None` for events that are only counted (attempts).
    /// Sidecar lines are Dapr's own log messages, verbatim.
    pub fn text(&self) -> Option<String> {
        match self {
            Event::App { event, .. } => match event {
                AppEvent::Listening { addr } => Some(format!("Listening on {addr}")),
                AppEvent::Stopped => Some("Stopped".to_string()),
                AppEvent::OrderSent { .. } => None,
                AppEvent::OrderPassed { order_id } => Some(format!("Order passed: {{\"orderId\":{order_id}}}")),
                AppEvent::OrderFailed {
                    order_id,
                    status,
                    error_code,
                    message,
                } => Some(format!(
                    "Order failed: {{\"orderId\":{order_id}}} (HTTP {status}{}: {message})",
                    error_code.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
                )),
                AppEvent::OrderReceived { order_id } => Some(format!("Order received: {{\"orderId\":{order_id}}}")),
                // The state quickstart's app stores the id as a string.
                AppEvent::OrderSaved { order_id } => Some(format!("Saving Order: {{\"orderId\":\"{order_id}\"}}")),
                AppEvent::OrderRead { order_id } => Some(format!("Getting Order: {{\"orderId\":\"{order_id}\"}}")),
                AppEvent::Output { line } => Some(line.clone()),
                AppEvent::Exited { code: Some(code) } => Some(format!("Exited with code {code}")),
                AppEvent::Exited { code: None } => Some("Exited (ended by a signal)".to_string()),
            },
            Event::Resiliency { event, .. } => {
                let lines: Vec<String> = event
                    .dapr_logs()
                    .into_iter()
                    .filter(|l| l.level > crate::resiliency::events::LogLevel::Debug)
                    .map(|l| l.message)
                    .collect();
                (!lines.is_empty()).then(|| lines.join("\n"))
            }
            Event::Fault(f) => Some(match f {
                FaultEvent::Changing { what, description, .. } => format!("{what}: {description}\u{2026}"),
                FaultEvent::Injected { description, .. } => format!("injected: {description}"),
                FaultEvent::Cleared { description, .. } => format!("cleared: {description}"),
                FaultEvent::Adjusted { description, .. } => format!("adjusted: {description}"),
                FaultEvent::Failed { fault, error } => format!("{fault} failed: {error}"),
            }),
            Event::Notice { text } => Some(text.clone()),
            Event::Warning {
                message,
                location,
                help,
                ..
            } => Some(format!(
                "warning: {message}{}{}",
                location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default(),
                help.as_deref().map(|h| format!("; {h}")).unwrap_or_default()
            )),
            // The lines dapr/dapr `pkg/runtime/hotreload/reconciler/sighup.go` and dapr/kit `signals_posix.go`
            // log (Go's name for SIGHUP is "hangup").
            Event::ResiliencyReloaded { change, resource, .. } => Some(format!(
                "Received Resiliency {change} event: {resource} - triggering SIGHUP reload"
            )),
            Event::SidecarRestarting { .. } => Some("Received signal 'hangup'; restarting".to_string()),
            Event::Container { name, state } => Some(format!("container {name} is {state}")),
            Event::Traffic { callee, callers } => {
                let each: Vec<String> = callers
                    .iter()
                    .map(|c| {
                        format!(
                            "{} {} calls/s (answers in {}ms, at most {}ms)",
                            c.caller, c.reached, c.mean_ms, c.max_ms
                        )
                    })
                    .collect();
                Some(format!("{callee} reached by: {}", each.join("; ")))
            }
            Event::ShuttingDown { reason } => Some(format!(
                "shutting down ({reason}): clearing faults, then stopping apps and sidecars"
            )),
        }
    }
}
