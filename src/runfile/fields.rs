//! Every field of the Dapr CLI's run template (dapr/cli `pkg/standalone/run.go` RunConfig, SharedRunConfig),
//! and what this tool does with it: uses it, ignores it with a warning at its location, or refuses it.

use crate::resources::node::{Ctx, Fields, join};

/// What the tool does with a template field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Used,
    /// Read and ignored, with a warning saying why.
    Ignored(&'static str),
    /// Refused: running without it would not be the app the template describes.
    Unsupported(&'static str),
}

/// The template's fields, in the README's order.
pub const SUPPORTED: &[(&str, Support)] = &[
    ("appID", Support::Used),
    ("appDirPath", Support::Used),
    ("appPort", Support::Used),
    ("command", Support::Used),
    ("env", Support::Used),
    ("daprHTTPPort", Support::Used),
    ("metricsPort", Support::Ignored("use --metrics-port APP=PORT")),
    ("resourcesPath", Support::Used),
    ("resourcesPaths", Support::Used),
    ("appProtocol", Support::Used),
    ("daprGRPCPort", Support::Used),
    (
        "daprInternalGRPCPort",
        Support::Ignored("sidecars reach each other over HTTP here"),
    ),
    (
        "appChannelAddress",
        Support::Ignored("apps are reached on the listen address (127.0.0.1, or --listen-address)"),
    ),
    (
        "configFilePath",
        Support::Ignored("Configuration resources (tracing, features) are not applied"),
    ),
    ("apiListenAddresses", Support::Ignored("use --listen-address")),
    ("maxBodySize", Support::Ignored("use --max-body-size")),
    ("readBufferSize", Support::Ignored("not configurable here")),
    (
        "logLevel",
        Support::Ignored("the sidecar log shows daprd's info and warning lines"),
    ),
    ("enableApiLogging", Support::Ignored("API calls are not logged")),
    (
        "daprdLogDestination",
        Support::Ignored("the sidecar's lines go to the UI's pane, or stdout headless"),
    ),
    (
        "appLogDestination",
        Support::Ignored("the app's lines go to its pane, or stdout headless"),
    ),
    ("enableProfiling", Support::Ignored("no profiling endpoint")),
    ("profilePort", Support::Ignored("no profiling endpoint")),
    (
        "appMaxConcurrency",
        Support::Ignored("no concurrency limit on the app channel"),
    ),
    ("placementHostAddress", Support::Ignored("actors are not served")),
    (
        "schedulerHostAddress",
        Support::Ignored("jobs and reminders are not served"),
    ),
    (
        "enableAppHealthCheck",
        Support::Ignored("app health checks are not run"),
    ),
    ("appHealthCheckPath", Support::Ignored("app health checks are not run")),
    (
        "appHealthProbeInterval",
        Support::Ignored("app health checks are not run"),
    ),
    (
        "appHealthProbeTimeout",
        Support::Ignored("app health checks are not run"),
    ),
    ("appHealthThreshold", Support::Ignored("app health checks are not run")),
    (
        "runtimePath",
        Support::Ignored("the embedded sidecar is used, not a daprd binary"),
    ),
    (
        "unixDomainSocket",
        Support::Unsupported("the sidecars listen on TCP only; remove it"),
    ),
    (
        "appSSL",
        Support::Unsupported("the app channel is plain HTTP; remove it or serve HTTP"),
    ),
    (
        "containerImage",
        Support::Unsupported("Kubernetes (-k) only; this tool runs local processes"),
    ),
    ("containerImagePullPolicy", Support::Unsupported("Kubernetes (-k) only")),
    ("createService", Support::Unsupported("Kubernetes (-k) only")),
];

/// Warns about the ignored fields present, and refuses the unsupported ones and a non-HTTP `appProtocol`.
pub fn check_support(ctx: &mut Ctx, f: &Fields, at: &str) {
    for (name, support) in SUPPORTED {
        let Some(node) = f.get(name) else { continue };
        let path = join(at, name);
        match support {
            Support::Used => {}
            Support::Ignored(why) => ctx.warning(
                node,
                &path,
                format!("`{name}` is ignored: {why}"),
                "remove it to silence this",
            ),
            Support::Unsupported(why) => ctx.error(node, &path, format!("`{name}` is not supported: {why}"), why),
        }
    }
    if let Some(node) = f.get("appProtocol")
        && let Some(protocol) = ctx.string(node, &join(at, "appProtocol"))
        && protocol != "http"
    {
        let msg = format!("appProtocol `{protocol}` is not supported: the app channel speaks plain HTTP");
        ctx.error(
            node,
            &join(at, "appProtocol"),
            msg,
            "use `appProtocol: http` (the default) with an HTTP app",
        );
    }
}
