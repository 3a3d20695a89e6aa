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
    ("metricsPort", Support::Used),
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
    ("maxBodySize", Support::Used),
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

/// The fields only an app can have: the CLI's `common` is its `SharedRunConfig` alone, and yaml.v2 drops
/// these there without a word (dapr/cli `pkg/runfileconfig/run_file_config.go` `Common`, and `RunConfig`'s
/// own fields and `App`'s in `pkg/standalone/run.go`).
pub const APP_ONLY: &[&str] = &[
    "appID",
    "appDirPath",
    "appChannelAddress",
    "appPort",
    "daprHTTPPort",
    "daprGRPCPort",
    "profilePort",
    "command",
    "metricsPort",
    "unixDomainSocket",
    "daprInternalGRPCPort",
    "containerImage",
    "containerImagePullPolicy",
    "createService",
];

/// Under `common`: says, at its line, that each app-only field is dropped (as the CLI drops it).
pub fn check_common(ctx: &mut Ctx, f: &Fields) {
    for name in APP_ONLY {
        if let Some(node) = f.get(name) {
            ctx.warning(
                node,
                &join("common", name),
                format!(
                    "`{name}` under `common` is dropped: the Dapr CLI takes only the fields apps share from `common`"
                ),
                "set it on each app that needs it",
            );
        }
    }
}

/// Warns about the ignored fields present, and refuses the unsupported ones and a non-HTTP `appProtocol`;
/// `skip`: fields already reported.
pub fn check_support(ctx: &mut Ctx, f: &Fields, at: &str, skip: &[&str]) {
    for (name, support) in SUPPORTED {
        if skip.contains(name) {
            continue;
        }
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
