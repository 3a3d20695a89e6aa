//! Decoding one `kind: Resiliency` document into a [`ResiliencyConfig`], with every default and quirk of Dapr
//! (see `../shared/reference/dapr-resiliency.md` §1) and a located diagnostic wherever Dapr stays silent.

use std::ops::Range;
use std::time::Duration;

use super::node::{Ctx, Yaml, join};
use crate::resiliency::CircuitBreakerPolicy;
use crate::resiliency::config::*;
use crate::resiliency::retry::{
    BackoffPolicy, EXPONENTIAL_MAX_ELAPSED, GRPC_CODES, HTTP_CODES, RetryPolicy, StatusMatching,
};
use crate::resiliency::trip::{TripErrorKind, TripExpr};

/// The kinds of policy a target can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    Timeout,
    Retry,
    CircuitBreaker,
}

/// A policy name used in `spec.targets`, remembered so it can be checked once every resource is loaded
/// (a target may name a policy defined in another resource).
#[derive(Debug, Clone)]
pub struct PolicyRef {
    pub kind: PolicyKind,
    pub name: String,
    pub span: Range<usize>,
    pub path: String,
    /// Components' breakers: Dapr would crash on an unknown name, so it is an error rather than a warning.
    pub component: bool,
}

/// A successfully decoded resource, with what the cross-resource checks need.
#[derive(Debug, Clone)]
pub struct DecodedResiliency {
    pub config: ResiliencyConfig,
    pub file_id: usize,
    /// Where `metadata.name` (or the document) is, for diagnostics about the whole resource.
    pub span: Range<usize>,
    /// Where `scopes` is, when present.
    pub scopes_span: Option<Range<usize>>,
    pub references: Vec<PolicyRef>,
    /// Where each policy is defined: `(kind, name, span)`.
    pub definitions: Vec<(PolicyKind, String, Range<usize>)>,
    /// What daprd compares to decide whether an edit changed this resource: its kind, name, spec and scopes
    /// as decoded ([`super::node::canonical`]); comments, layout and other metadata do not count.
    pub fingerprint: String,
}

const TOP_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "scopes", "spec", "version"];
const METADATA_FIELDS: &[&str] = &["name", "namespace", "labels", "annotations", "uid", "creationTimestamp"];
const RETRY_FIELDS: &[&str] = &["policy", "duration", "maxInterval", "maxRetries", "matching"];
/// Fields of dapr/kit's retry config that the Resiliency CRD does not expose.
const NOT_SETTABLE: &[&str] = &["initialInterval", "multiplier", "randomizationFactor", "maxElapsedTime"];
const BREAKER_FIELDS: &[&str] = &["maxRequests", "interval", "timeout", "trip"];
const VARIABLES: &[&str] = &[
    "requests",
    "totalSuccesses",
    "totalFailures",
    "consecutiveSuccesses",
    "consecutiveFailures",
];

/// Decodes the document; `None` when it has errors (the resource does not load).
pub fn decode(ctx: &mut Ctx, doc: &Yaml) -> Option<DecodedResiliency> {
    let errors_before = ctx
        .diagnostics
        .iter()
        .filter(|d| d.severity == super::Severity::Error)
        .count();
    let mut out = DecodedResiliency {
        config: ResiliencyConfig::default(),
        file_id: ctx.file_id,
        span: ctx.span(doc),
        scopes_span: None,
        references: Vec::new(),
        definitions: Vec::new(),
        fingerprint: String::new(),
    };
    let top = ctx.fields(doc, "", "a Resiliency resource", TOP_FIELDS);

    match top.get("metadata") {
        Some(meta) => {
            let meta_fields = ctx.fields(meta, "metadata", "metadata", METADATA_FIELDS);
            match meta_fields.get("name") {
                Some(name) => {
                    out.span = ctx.span(name);
                    out.config.name = ctx.string(name, "metadata.name").unwrap_or_default();
                }
                None => ctx.warning(
                    meta,
                    "metadata",
                    "this resource has no `metadata.name`",
                    "name it: Dapr logs the name when it loads the resource",
                ),
            }
            if let Some(namespace) = meta_fields.get("namespace") {
                out.config.namespace = ctx.string(namespace, "metadata.namespace").unwrap_or_default();
            }
        }
        None => ctx.warning(
            doc,
            "",
            "this resource has no `metadata`",
            "add `metadata: {name: myresiliency}`",
        ),
    }
    // daprd's `differ.AreSame` compares the decoded object with its metadata emptied but for the name.
    let part = |field: &str| top.get(field).map(super::node::canonical).unwrap_or_default();
    let name = format!("{:?}", out.config.name);
    out.fingerprint = [part("apiVersion"), part("kind"), name, part("spec"), part("scopes")].join("\n");
    if let Some(scopes) = top.get("scopes") {
        out.scopes_span = Some(ctx.span(scopes));
        out.config.scopes = ctx.string_list(scopes, "scopes");
    }
    match top.get("spec") {
        Some(spec) => decode_spec(ctx, spec, &mut out),
        None => ctx.warning(
            doc,
            "",
            "this resource has no `spec`, so it defines nothing",
            "add `spec.policies` and `spec.targets`",
        ),
    }
    let errors_after = ctx
        .diagnostics
        .iter()
        .filter(|d| d.severity == super::Severity::Error)
        .count();
    (errors_after == errors_before).then_some(out)
}

fn decode_spec(ctx: &mut Ctx, spec: &Yaml, out: &mut DecodedResiliency) {
    let fields = ctx.fields(spec, "spec", "spec", &["policies", "targets"]);
    if let Some(policies) = fields.get("policies") {
        let p = ctx.fields(
            policies,
            "spec.policies",
            "spec.policies",
            &["timeouts", "retries", "circuitBreakers"],
        );
        if let Some(timeouts) = p.get("timeouts") {
            for (name, key, value) in ctx.entries(timeouts, "spec.policies.timeouts", "spec.policies.timeouts") {
                let path = join("spec.policies.timeouts", &name);
                out.definitions.push((PolicyKind::Timeout, name.clone(), ctx.span(key)));
                if let Some(d) = ctx.duration(value, &path) {
                    out.config.timeouts.insert(name, d);
                }
            }
        }
        if let Some(retries) = p.get("retries") {
            for (name, key, value) in ctx.entries(retries, "spec.policies.retries", "spec.policies.retries") {
                let path = join("spec.policies.retries", &name);
                out.definitions.push((PolicyKind::Retry, name.clone(), ctx.span(key)));
                if let Some(r) = decode_retry(ctx, value, &path) {
                    built_in_warning(ctx, key, &path, &name, &r);
                    out.config.retries.insert(name, r);
                }
            }
        }
        if let Some(cbs) = p.get("circuitBreakers") {
            for (name, key, value) in ctx.entries(cbs, "spec.policies.circuitBreakers", "spec.policies.circuitBreakers")
            {
                let path = join("spec.policies.circuitBreakers", &name);
                out.definitions
                    .push((PolicyKind::CircuitBreaker, name.clone(), ctx.span(key)));
                if let Some(cb) = decode_breaker(ctx, value, &path) {
                    out.config.circuit_breakers.insert(name, cb);
                }
            }
        }
    }
    if let Some(targets) = fields.get("targets") {
        super::targets::decode_targets(ctx, targets, out);
    }
}

fn decode_retry(ctx: &mut Ctx, node: &Yaml, path: &str) -> Option<RetryPolicy> {
    let mut known: Vec<&str> = RETRY_FIELDS.to_vec();
    known.extend(NOT_SETTABLE);
    let f = ctx.fields(node, path, "a retry policy", &known);
    for name in NOT_SETTABLE {
        if let Some(v) = f.get(name) {
            let msg = format!("`{name}` cannot be set in a Resiliency resource; Dapr ignores it");
            let help =
                "exponential retries always start at 500ms, grow \u{d7}1.5 with \u{b1}50% jitter, and stop after 15m";
            ctx.warning(v, &join(path, name), msg, help);
        }
    }
    let exponential = match f
        .get("policy")
        .and_then(|n| ctx.string(n, &join(path, "policy")).map(|s| (n, s)))
    {
        None => false,
        Some((_, s)) if s.eq_ignore_ascii_case("constant") => false,
        Some((_, s)) if s.eq_ignore_ascii_case("exponential") => true,
        Some((n, s)) => {
            let msg = format!("unexpected back off policy type: {s}");
            ctx.error(n, &join(path, "policy"), msg, "use `constant` or `exponential`");
            return None;
        }
    };
    let duration = f
        .get("duration")
        .and_then(|n| ctx.duration(n, &join(path, "duration")).map(|d| (n, d)));
    let max_interval = f
        .get("maxInterval")
        .and_then(|n| ctx.duration(n, &join(path, "maxInterval")).map(|d| (n, d)));
    let backoff = if exponential {
        if let Some((n, _)) = duration {
            let help = "exponential waits are set by `maxInterval`; remove `duration`";
            ctx.warning(
                n,
                &join(path, "duration"),
                "`duration` is ignored by an exponential policy",
                help,
            );
        }
        let max_interval = max_interval.map_or(Duration::from_secs(60), |(_, d)| d);
        BackoffPolicy::Exponential {
            max_interval,
            max_elapsed: EXPONENTIAL_MAX_ELAPSED,
        }
    } else {
        let interval = duration.map_or(Duration::from_secs(5), |(_, d)| d);
        if let Some((n, _)) = max_interval {
            let msg = format!(
                "`maxInterval` is ignored by a constant policy: it waits `duration`, here {}",
                crate::duration::format_go_duration(interval)
            );
            let help = "set `duration` for a constant wait, or use `policy: exponential`";
            ctx.warning(n, &join(path, "maxInterval"), msg, help);
        }
        BackoffPolicy::Constant { interval }
    };
    let max_retries = f
        .get("maxRetries")
        .and_then(|n| ctx.int(n, &join(path, "maxRetries")))
        .unwrap_or(-1);
    let mut matching = StatusMatching::default();
    if let Some(m) = f.get("matching") {
        let mpath = join(path, "matching");
        let mf = ctx.fields(m, &mpath, "matching", &["httpStatusCodes", "gRPCStatusCodes"]);
        for (field, valid, list) in [
            ("httpStatusCodes", HTTP_CODES, &mut matching.http),
            ("gRPCStatusCodes", GRPC_CODES, &mut matching.grpc),
        ] {
            let Some(n) = mf.get(field) else { continue };
            let fpath = join(&mpath, field);
            let Some(text) = ctx.string(n, &fpath) else {
                continue;
            };
            match StatusMatching::parse_list(&text, valid) {
                Ok(ranges) => *list = ranges,
                Err(e) => {
                    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                    let help = if compact != text && StatusMatching::parse_list(&compact, valid).is_ok() {
                        format!("remove the spaces: write `{compact}`")
                    } else {
                        format!("write codes between {} and {}, e.g. \"429,500-599\"", valid.0, valid.1)
                    };
                    let span = inner_span(ctx, n, e.at.clone());
                    let msg = format!("invalid `{field}`: {e}");
                    ctx.report(super::Severity::Error, span, &fpath, msg, &help);
                    return None;
                }
            }
        }
    }
    Some(RetryPolicy {
        backoff,
        max_retries,
        matching,
    })
}

fn decode_breaker(ctx: &mut Ctx, node: &Yaml, path: &str) -> Option<CircuitBreakerPolicy> {
    let f = ctx.fields(node, path, "a circuit breaker policy", BREAKER_FIELDS);
    let mut cb = CircuitBreakerPolicy::default();
    if let Some(n) = f.get("maxRequests") {
        match ctx.int(n, &join(path, "maxRequests")) {
            Some(v) if (0..=u32::MAX as i64).contains(&v) => cb.max_requests = (v as u32).max(1),
            Some(v) => ctx.error(
                n,
                &join(path, "maxRequests"),
                format!("`maxRequests` must be 0 or more, found {v}"),
                "use 1 to let one probe through when half-open",
            ),
            None => {}
        }
    }
    if let Some(n) = f.get("interval") {
        cb.interval = ctx.duration(n, &join(path, "interval")).unwrap_or_default();
    }
    if let Some(n) = f.get("timeout") {
        match ctx.duration(n, &join(path, "timeout")) {
            Some(d) if d.is_zero() => {
                let help = "set the time the breaker stays open, e.g. `timeout: 30s`";
                ctx.warning(
                    n,
                    &join(path, "timeout"),
                    "a zero breaker `timeout` means the default, 60s",
                    help,
                );
            }
            Some(d) => cb.timeout = d,
            None => {}
        }
    }
    let tpath = join(path, "trip");
    if let Some((n, text)) = f.get("trip").and_then(|n| ctx.string(n, &tpath).map(|t| (n, t))) {
        match TripExpr::compile(&text) {
            Ok(expr) => {
                for (name, range) in expr.unknown_variables() {
                    let msg = format!(
                        "`{name}` is not a breaker count: Dapr fails to evaluate this `trip` and never opens the breaker"
                    );
                    let help = match super::node::did_you_mean(name, VARIABLES) {
                        Some(k) => format!("did you mean `{k}`? The counts are: {}", VARIABLES.join(", ")),
                        None => format!("the counts are: {}", VARIABLES.join(", ")),
                    };
                    let span = inner_span(ctx, n, range.clone());
                    ctx.report(super::Severity::Warning, span, &tpath, msg, &help);
                }
                if let Some(ty) = expr.statically_non_bool() {
                    let msg = format!("this `trip` yields {ty}, not a boolean, so the breaker never opens");
                    ctx.warning(n, &tpath, msg, "write a condition, e.g. `consecutiveFailures >= 5`");
                }
                cb.trip = expr;
            }
            Err(e) => {
                let what = match e.kind {
                    TripErrorKind::Syntax => "does not parse",
                    TripErrorKind::Check => "is not a valid condition",
                };
                let msg = format!("`trip` {what}: {}", e.message);
                let span = inner_span(ctx, n, e.span.clone());
                let help = "write a CEL condition over requests, totalSuccesses, totalFailures, consecutiveSuccesses, consecutiveFailures, e.g. `consecutiveFailures >= 5`";
                ctx.report(super::Severity::Error, span, &tpath, msg, help);
                return None;
            }
        }
    }
    Some(cb)
}

/// daprd's `decodePolicies` resets an override of a built-in retry below 3 retries to 3 and ignores one of
/// the protected `DaprBuiltInActorNotFoundRetries`, logging a warning; say so where it is defined.
fn built_in_warning(ctx: &mut Ctx, key: &Yaml, path: &str, name: &str, user: &RetryPolicy) {
    let Some((_, ignored)) = crate::resiliency::registry::built_in_override(name, user) else {
        return;
    };
    let (msg, help) = if ignored {
        (
            format!("`{name}` is protected: Dapr ignores this override and keeps its own (5 retries, 1s apart)"),
            "remove it; this built-in cannot be changed".to_string(),
        )
    } else {
        (
            format!("Dapr raises this override of `{name}` to 3 retries: built-in retries cannot go below 3"),
            "set `maxRetries` to 3 or more (-1, forever, also becomes 3)".to_string(),
        )
    };
    ctx.warning(key, path, msg, &help);
}

/// A byte range inside a scalar's text, as a span in the file (exact for plain and simply quoted scalars).
fn inner_span(ctx: &Ctx, node: &Yaml, range: Range<usize>) -> Range<usize> {
    let start = ctx.span(node).start;
    let text = ctx.text();
    let quote = matches!(text.as_bytes().get(start), Some(b'"' | b'\'')) as usize;
    let s = start + quote + range.start;
    let e = (start + quote + range.end).max(s + 1);
    s..e
}
