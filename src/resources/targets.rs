//! Decoding `spec.targets` of a Resiliency resource: which policies apply to which apps, actors and
//! components. Policy names are recorded as [`PolicyRef`]s and checked once every resource is loaded.

use super::node::{Ctx, Fields, Yaml, join};
use super::resiliency::{DecodedResiliency, PolicyKind, PolicyRef};
use crate::resiliency::config::*;

const TARGET_FIELDS: &[&str] = &["timeout", "retry", "circuitBreaker"];
const APP_FIELDS: &[&str] = &["timeout", "retry", "circuitBreaker", "circuitBreakerCacheSize"];
const ACTOR_FIELDS: &[&str] = &[
    "timeout",
    "retry",
    "circuitBreaker",
    "circuitBreakerScope",
    "circuitBreakerCacheSize",
];

pub(super) fn decode_targets(ctx: &mut Ctx, targets: &Yaml, out: &mut DecodedResiliency) {
    let t = ctx.fields(
        targets,
        "spec.targets",
        "spec.targets",
        &["apps", "actors", "components"],
    );
    if let Some(apps) = t.get("apps") {
        for (app, _, node) in ctx.entries(apps, "spec.targets.apps", "spec.targets.apps") {
            let path = join("spec.targets.apps", &app);
            let f = ctx.fields(node, &path, "an app target", APP_FIELDS);
            let mut target = AppTarget {
                policies: names(ctx, &f, &path, out, false),
                ..AppTarget::default()
            };
            if let Some(size) = cache_size(
                ctx,
                f.get("circuitBreakerCacheSize"),
                &path,
                DEFAULT_APP_BREAKER_CACHE_SIZE,
            ) {
                target.circuit_breaker_cache_size = size;
            }
            out.config.apps.insert(app, target);
        }
    }
    if let Some(actors) = t.get("actors") {
        for (actor, _, node) in ctx.entries(actors, "spec.targets.actors", "spec.targets.actors") {
            let path = join("spec.targets.actors", &actor);
            let f = ctx.fields(node, &path, "an actor target", ACTOR_FIELDS);
            let mut target = ActorTarget {
                policies: names(ctx, &f, &path, out, false),
                ..ActorTarget::default()
            };
            let size = cache_size(
                ctx,
                f.get("circuitBreakerCacheSize"),
                &path,
                DEFAULT_ACTOR_BREAKER_CACHE_SIZE,
            );
            if let Some(size) = size {
                target.circuit_breaker_cache_size = size;
            }
            let scope_node = f.get("circuitBreakerScope");
            let spath = join(&path, "circuitBreakerScope");
            target.circuit_breaker_scope = match scope_node.and_then(|n| ctx.string(n, &spath).map(|s| (n, s))) {
                None => None,
                Some((_, s)) if s == "type" => Some(ActorBreakerScope::Type),
                Some((_, s)) if s == "id" => Some(ActorBreakerScope::Id),
                Some((_, s)) if s == "both" => Some(ActorBreakerScope::Both),
                Some((n, s)) => {
                    ctx.error(
                        n,
                        &spath,
                        format!("unknown circuitBreakerScope `{s}`"),
                        "use `type`, `id` or `both`",
                    );
                    None
                }
            };
            if target.policies.circuit_breaker.is_some() && scope_node.is_none() {
                let help = "add `circuitBreakerScope: type` (one breaker per actor type), `id` or `both`";
                ctx.error(node, &path, "actor circuit breakers must include scope", help);
            }
            out.config.actors.insert(actor, target);
        }
    }
    if let Some(components) = t.get("components") {
        let cpath = "spec.targets.components";
        for (component, _, node) in ctx.entries(components, cpath, cpath) {
            let path = join(cpath, &component);
            let f = ctx.fields(node, &path, "a component target", &["inbound", "outbound"]);
            let mut target = ComponentTarget::default();
            for (dir, slot) in [("inbound", &mut target.inbound), ("outbound", &mut target.outbound)] {
                if let Some(n) = f.get(dir) {
                    let dpath = join(&path, dir);
                    let df = ctx.fields(n, &dpath, "a component direction", TARGET_FIELDS);
                    *slot = names(ctx, &df, &dpath, out, true);
                }
            }
            out.config.components.insert(component, target);
        }
    }
}

fn names(ctx: &mut Ctx, f: &Fields, path: &str, out: &mut DecodedResiliency, component: bool) -> PolicyNames {
    let mut read = |field: &str, kind: PolicyKind| {
        let node = f.get(field)?;
        let fpath = join(path, field);
        let name = ctx.string(node, &fpath)?;
        out.references.push(PolicyRef {
            kind,
            name: name.clone(),
            span: ctx.span(node),
            path: fpath,
            component,
        });
        Some(name)
    };
    PolicyNames {
        timeout: read("timeout", PolicyKind::Timeout),
        retry: read("retry", PolicyKind::Retry),
        circuit_breaker: read("circuitBreaker", PolicyKind::CircuitBreaker),
    }
}

/// `circuitBreakerCacheSize`: 0 means the default (daprd's `decodeTargets` in `pkg/resiliency/resiliency.go`
/// replaces 0 with `defaultEndpointCacheSize` 100 for apps and `defaultActorCacheSize` 5000 for actors); a
/// negative size makes `lru.New` fail, which fails the resource.
fn cache_size(ctx: &mut Ctx, node: Option<&Yaml>, path: &str, default: usize) -> Option<usize> {
    let node = node?;
    let fpath = join(path, "circuitBreakerCacheSize");
    match ctx.int(node, &fpath)? {
        v if v > 0 => Some(v as usize),
        0 => {
            let msg = format!("`circuitBreakerCacheSize: 0` means the default, {default}");
            ctx.note(node, &fpath, msg, "");
            Some(default)
        }
        v => {
            ctx.error(
                node,
                &fpath,
                format!("`circuitBreakerCacheSize` must not be negative, found {v}"),
                "remove it (or write 0) to use the default",
            );
            None
        }
    }
}
