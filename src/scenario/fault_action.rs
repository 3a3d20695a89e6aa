//! A scenario file's fault: its `action` and that action's parameters, with located errors.
//!
//! ```yaml
//! - {name: slow, key: l, action: latency, app: order-processor, delay: 2s, jitter: 200ms}
//! - {name: unavailable, key: u, action: http-error, app: order-processor, status: 503, share: 50%}
//! - {name: hang, key: h, action: hang, app: order-processor}
//! - {name: flap, key: p, action: flap, app: order-processor, down: 10s, up: 5s}
//! ```

use std::time::Duration;

use super::{AppSpec, ChannelFault, FaultAction, StoreFault};
use crate::hop_faults::store_calls::DEFAULT_STORE_ERROR;
use crate::resources::node::{Ctx, Fields, Yaml, join};

/// Every field a fault may have (each action uses some).
pub const FAULT_FIELDS: &[&str] = &[
    "name",
    "key",
    "action",
    "app",
    "component",
    "explain",
    "delay",
    "jitter",
    "status",
    "share",
    "down",
    "up",
];

const ACTIONS_HELP: &str = "use `action:` stop-app-and-sidecar, stop-app, pause-app (a `kind: command` app), hang, reset, latency, http-error or flap with `app`, or stop-state-store, pause-state-store, store-latency or store-error with `component`";

/// The action of fault `path` (`node`), or None after reporting why not.
pub fn decode_action(ctx: &mut Ctx, ff: &Fields, node: &Yaml, path: &str, apps: &[AppSpec]) -> Option<FaultAction> {
    let mut text = |field: &str| ff.get(field).and_then(|n| ctx.string(n, &join(path, field)));
    let (action, app, component) = (text("action"), text("app"), text("component"));
    let action = match (action.as_deref(), app, component) {
        (Some("stop-state-store"), _, Some(component)) => return Some(FaultAction::StopStateStore { component }),
        (Some("pause-state-store"), _, Some(component)) => return Some(FaultAction::PauseStateStore { component }),
        (Some("store-latency"), _, Some(component)) => {
            let fault = StoreFault::Latency {
                delay: duration(ctx, ff, path, "delay", Duration::from_secs(2))?,
                jitter: duration(ctx, ff, path, "jitter", Duration::ZERO)?,
            };
            return Some(FaultAction::StoreCall { component, fault });
        }
        (Some("store-error"), _, Some(component)) => {
            let message = ff.get("message").and_then(|n| ctx.string(n, &join(path, "message")));
            let message = message.unwrap_or_else(|| DEFAULT_STORE_ERROR.to_string());
            return Some(FaultAction::StoreCall {
                component,
                fault: StoreFault::Error { message },
            });
        }
        (Some(action), Some(app_id), _) => {
            check_app(ctx, ff, path, &app_id, apps);
            match action {
                "stop-app" => FaultAction::StopApp { app_id },
                "pause-app" => FaultAction::PauseApp { app_id },
                "stop-app-and-sidecar" => FaultAction::StopAppAndSidecar { app_id },
                "flap" => FaultAction::Flap {
                    app_id,
                    down: duration(ctx, ff, path, "down", Duration::from_secs(10))?,
                    up: duration(ctx, ff, path, "up", Duration::from_secs(5))?,
                },
                _ => FaultAction::Channel {
                    fault: channel_fault(ctx, ff, node, path, action)?,
                    app_id,
                },
            }
        }
        _ => {
            ctx.error(node, path, "this fault needs `name` and a known action", ACTIONS_HELP);
            return None;
        }
    };
    Some(action)
}

fn channel_fault(ctx: &mut Ctx, ff: &Fields, node: &Yaml, path: &str, action: &str) -> Option<ChannelFault> {
    Some(match action {
        "hang" => ChannelFault::Hang,
        "reset" => ChannelFault::Reset,
        "latency" => ChannelFault::Latency {
            delay: duration(ctx, ff, path, "delay", Duration::from_secs(2))?,
            jitter: duration(ctx, ff, path, "jitter", Duration::ZERO)?,
        },
        "http-error" => ChannelFault::HttpError {
            status: status(ctx, ff, path)?,
            percent: share(ctx, ff, path)?,
        },
        other => {
            let at = ff.get("action").unwrap_or(node);
            ctx.error(
                at,
                &join(path, "action"),
                format!("`{other}` is not a fault action"),
                ACTIONS_HELP,
            );
            return None;
        }
    })
}

/// A Go duration field (`2s`, `500ms`), `default` when absent.
fn duration(ctx: &mut Ctx, ff: &Fields, path: &str, field: &str, default: Duration) -> Option<Duration> {
    let Some(n) = ff.get(field) else {
        return Some(default);
    };
    let text = ctx.string(n, &join(path, field))?;
    match crate::duration::parse_go_duration(&text) {
        Ok(d) => Some(d),
        Err(e) => {
            let msg = format!("`{text}` is not a duration ({e})");
            ctx.error(n, &join(path, field), msg, "write it with a unit, e.g. `2s` or `500ms`");
            None
        }
    }
}

/// `status:` an HTTP status code a server can answer with (400–599), 500 when absent.
fn status(ctx: &mut Ctx, ff: &Fields, path: &str) -> Option<u16> {
    let Some(n) = ff.get("status") else {
        return Some(500);
    };
    let v = ctx.int(n, &join(path, "status"))?;
    match u16::try_from(v).ok().filter(|s| (400..=599).contains(s)) {
        Some(s) => Some(s),
        None => {
            let msg = format!("{v} is not an error status");
            ctx.error(
                n,
                &join(path, "status"),
                msg,
                "use a 4xx or 5xx code, e.g. `status: 503`",
            );
            None
        }
    }
}

/// `share:` the percentage of calls that fail (`50%` or `50`), all of them when absent.
fn share(ctx: &mut Ctx, ff: &Fields, path: &str) -> Option<u8> {
    let Some(n) = ff.get("share") else {
        return Some(100);
    };
    let text = ctx.string(n, &join(path, "share"))?;
    match text
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|p| (1..=100).contains(p))
    {
        Some(p) => Some(p),
        None => {
            let msg = format!("`{text}` is not a share of calls");
            ctx.error(
                n,
                &join(path, "share"),
                msg,
                "write a percentage from 1% to 100%, e.g. `share: 50%`",
            );
            None
        }
    }
}

/// A fault acting on an app (stopping it, or its channel) must name an app of this scenario that serves a port.
fn check_app(ctx: &mut Ctx, ff: &Fields, path: &str, app_id: &str, apps: &[AppSpec]) {
    let Some(node) = ff.get("app") else { return };
    let serving: Vec<&str> = apps
        .iter()
        .filter(|a| {
            matches!(
                a,
                AppSpec::OrderProcessor { .. } | AppSpec::Process { app_port: Some(_), .. }
            )
        })
        .map(AppSpec::app_id)
        .collect();
    if serving.contains(&app_id) {
        return;
    }
    let msg = match apps.iter().any(|a| a.app_id() == app_id) {
        true => format!("`{app_id}` serves no port, so stopping it is not a fault this tool can inject"),
        false => format!("there is no app `{app_id}` in this scenario's `apps`"),
    };
    let help = match serving.as_slice() {
        [] => "add an app of `kind: order-processor` for the fault to act on".to_string(),
        names => format!("apps that can be stopped: {}", names.join(", ")),
    };
    ctx.error(node, &join(path, "app"), msg, &help);
}
