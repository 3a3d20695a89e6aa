//! Every error and warning the loader gives, with its message, location and field path.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::loader::{only, resiliency_with};
use resilience_tui::resiliency::BackoffPolicy;
use resilience_tui::resources::{Resources, Severity, load_files};

fn load_as(app_id: Option<&str>, files: &[(&str, &str)]) -> Resources {
    let files = files
        .iter()
        .map(|(n, t)| (PathBuf::from(n), t.as_bytes().to_vec()))
        .collect();
    load_files(files, app_id)
}

fn load(text: &str) -> Resources {
    load_as(None, &[("res.yaml", text)])
}

#[test]
fn yaml_syntax_error() {
    let res = load("kind: Resiliency\nmetadata: {name: r\nspec: {}\n");
    let d = only(&res, Severity::Error);
    assert!(d.message.starts_with("YAML syntax error: "), "{}", d.message);
    assert_eq!(d.line, 3);
    assert!(res.resiliencies.is_empty());
}

#[test]
fn bad_duration() {
    let res = load(&resiliency_with("    timeouts:\n      general: 5x\n"));
    let d = only(&res, Severity::Error);
    assert_eq!(
        d.message,
        "invalid duration `5x`: time: unknown unit \"x\" in duration \"5x\""
    );
    assert_eq!((d.line, d.column), (8, 16));
    assert_eq!(d.field.as_deref(), Some("spec.policies.timeouts.general"));
    assert!(d.help.as_deref().unwrap().contains("5s"));
    assert!(res.resiliencies.is_empty(), "the resource does not load");
}

#[test]
fn bare_number_duration_is_milliseconds() {
    let res = load(&resiliency_with("    retries:\n      r:\n        duration: 5\n"));
    let d = only(&res, Severity::Warning);
    assert_eq!(d.message, "`5` is a bare number, which Dapr reads as 5 milliseconds");
    assert_eq!((d.line, d.column), (9, 19));
    let policy = &res.resiliencies[0].config.retries["r"];
    assert_eq!(
        policy.backoff,
        BackoffPolicy::Constant {
            interval: Duration::from_millis(5)
        }
    );
}

#[test]
fn unknown_retry_policy_kind() {
    let res = load(&resiliency_with("    retries:\n      r:\n        policy: linear\n"));
    let d = only(&res, Severity::Error);
    assert_eq!(d.message, "unexpected back off policy type: linear");
    assert_eq!(
        (d.line, d.column, d.field.as_deref()),
        (9, 17, Some("spec.policies.retries.r.policy"))
    );
}

#[test]
fn bad_matching_ranges() {
    for (codes, expected) in [
        ("\"399-299\"", "range `399-299` ends before it starts"),
        ("\"1,2,3,4\"", "status code 1 is outside 100..=599"),
        ("\"199-299-300\"", "`199-299-300` has more than one `-`"),
        ("\"5xx\"", "`5xx` in `5xx` is not a status code"),
    ] {
        let res = load(&resiliency_with(&format!(
            "    retries:\n      r:\n        matching:\n          httpStatusCodes: {codes}\n"
        )));
        let d = only(&res, Severity::Error);
        assert!(d.message.starts_with("invalid `httpStatusCodes`: "), "{}", d.message);
        assert!(d.message.contains(expected), "{} / {expected}", d.message);
        // The bad item inside the quotes, not the opening quote.
        assert_eq!((d.line, d.column), (10, 29));
    }
}

#[test]
fn trip_that_does_not_parse() {
    let res = load(&resiliency_with(
        "    circuitBreakers:\n      cb:\n        trip: consecutiveFailures >=\n",
    ));
    let d = only(&res, Severity::Error);
    assert!(d.message.starts_with("`trip` does not parse: "), "{}", d.message);
    assert_eq!(d.line, 9);
    assert!(
        d.column > 15,
        "points inside the expression, not at its start: {}",
        d.column
    );
    let res = load(&resiliency_with(
        "    circuitBreakers:\n      cb:\n        trip: \"requests + true > 1\"\n",
    ));
    let d = only(&res, Severity::Error);
    assert!(
        d.message
            .starts_with("`trip` is not a valid condition: found no matching overload"),
        "{}",
        d.message
    );
    assert_eq!(d.column, 16, "the quote is skipped: the column of `requests`");
}

#[test]
fn trip_naming_unknown_variable() {
    let res = load(&resiliency_with(
        "    circuitBreakers:\n      cb:\n        trip: consecutiveFailure >= 5\n",
    ));
    let d = only(&res, Severity::Warning);
    assert!(
        d.message.contains("`consecutiveFailure` is not a breaker count"),
        "{}",
        d.message
    );
    assert!(d.message.contains("never opens"));
    assert_eq!((d.line, d.column), (9, 15));
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .starts_with("did you mean `consecutiveFailures`?")
    );
    assert_eq!(res.resiliencies.len(), 1, "it loads: Dapr accepts it");
}

#[test]
fn trip_that_is_not_a_condition() {
    let res = load(&resiliency_with(
        "    circuitBreakers:\n      cb:\n        trip: 5 + 1\n",
    ));
    let d = only(&res, Severity::Warning);
    assert_eq!(
        d.message,
        "this `trip` yields int, not a boolean, so the breaker never opens"
    );
}

#[test]
fn max_interval_on_constant() {
    // The original quickstart file had exactly this: it waits 5s only because `duration` defaults to 5s.
    let res = load(&resiliency_with(
        "    retries:\n      retryForever:\n        policy: constant\n        maxInterval: 1s\n",
    ));
    let d = only(&res, Severity::Warning);
    assert_eq!(
        d.message,
        "`maxInterval` is ignored by a constant policy: it waits `duration`, here 5s"
    );
    assert_eq!((d.line, d.column), (10, 22));
    let policy = &res.resiliencies[0].config.retries["retryForever"];
    assert_eq!(
        policy.backoff,
        BackoffPolicy::Constant {
            interval: Duration::from_secs(5)
        }
    );
}

#[test]
fn not_settable_exponential_knobs() {
    let text = resiliency_with(
        "    retries:\n      r:\n        policy: exponential\n        initialInterval: 1s\n        multiplier: 2\n        randomizationFactor: 0\n        maxElapsedTime: 1m\n",
    );
    let res = load(&text);
    assert_eq!(res.diagnostics.len(), 4, "{}", res.render_diagnostics());
    for (d, name) in
        res.diagnostics
            .iter()
            .zip(["initialInterval", "multiplier", "randomizationFactor", "maxElapsedTime"])
    {
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(
            d.message,
            format!("`{name}` cannot be set in a Resiliency resource; Dapr ignores it")
        );
    }
}

#[test]
fn target_naming_missing_policy() {
    let text = "kind: Resiliency\nmetadata: {name: r}\nspec:\n  policies:\n    retries:\n      retryForever: {}\n  targets:\n    apps:\n      order-processor:\n        retry: retryForevr\n";
    let res = load(text);
    let d = only(&res, Severity::Warning);
    assert_eq!(
        d.message,
        "retry policy `retryForevr` is not defined, so Dapr silently applies no retries here"
    );
    assert_eq!((d.line, d.column), (10, 16));
    assert_eq!(d.field.as_deref(), Some("spec.targets.apps.order-processor.retry"));
    assert_eq!(d.help.as_deref(), Some("did you mean `retryForever`?"));

    // A component's missing breaker is an error: Dapr would fail on the first call.
    let text = "kind: Resiliency\nmetadata: {name: r}\nspec:\n  targets:\n    components:\n      statestore:\n        outbound:\n          circuitBreaker: nope\n";
    let res = load(text);
    let d = only(&res, Severity::Error);
    assert!(
        d.message.starts_with("circuit breaker policy `nope` is not defined"),
        "{}",
        d.message
    );
    assert!(res.resiliencies.is_empty());
}

#[test]
fn policy_defined_in_another_resource_is_found() {
    let policies = "kind: Resiliency\nmetadata: {name: p}\nspec: {policies: {retries: {shared: {}}}}\n";
    let targets = "kind: Resiliency\nmetadata: {name: t}\nspec: {targets: {apps: {a: {retry: shared}}}}\n";
    let res = load_as(None, &[("a.yaml", policies), ("b.yaml", targets)]);
    assert!(res.diagnostics.is_empty(), "{}", res.render_diagnostics());
}

#[test]
fn unknown_fields_with_did_you_mean() {
    let res = load(&resiliency_with("    retries:\n      r:\n        maxRetry: 3\n"));
    let d = only(&res, Severity::Warning);
    assert_eq!(d.message, "unknown field `maxRetry` in a retry policy; Dapr ignores it");
    assert_eq!(d.help.as_deref(), Some("did you mean `maxRetries`?"));
    assert_eq!(
        (d.line, d.column, d.field.as_deref()),
        (9, 9, Some("spec.policies.retries.r.maxRetry"))
    );
}

#[test]
fn scopes_excluding_the_app() {
    let text = "kind: Resiliency\nmetadata: {name: r}\nscopes: [order-processor]\nspec: {}\n";
    let res = load_as(Some("checkout"), &[("r.yaml", text)]);
    let d = only(&res, Severity::Warning);
    assert_eq!(
        d.message,
        "this resource does not apply to `checkout`: its scopes are [order-processor]"
    );
    assert_eq!(res.diagnostics[0].field.as_deref(), Some("scopes"));
}

#[test]
fn actor_breaker_needs_scope() {
    let text = "kind: Resiliency\nmetadata: {name: r}\nspec:\n  policies: {circuitBreakers: {cb: {}}}\n  targets:\n    actors:\n      myActor: {circuitBreaker: cb}\n";
    let res = load(text);
    assert_eq!(
        only(&res, Severity::Error).message,
        "actor circuit breakers must include scope"
    );
}

#[test]
fn wrong_types() {
    let res = load(&resiliency_with("    retries:\n      r:\n        maxRetries: \"3\"\n"));
    assert_eq!(
        only(&res, Severity::Error).message,
        "expected a whole number, found `3`"
    );
    let res = load("kind: Resiliency\nmetadata: {name: r}\nscopes: checkout\nspec: {}\n");
    assert_eq!(
        only(&res, Severity::Error).message,
        "expected a list, found a single value"
    );
}

#[test]
fn files_and_kinds() {
    let res = load_as(
        None,
        &[
            ("empty.yaml", ""),
            ("notes.txt", "hello"),
            ("junk.yaml", "\u{0}\u{1}"),
            ("config.yaml", "kind: Configuration\nmetadata: {name: c}\n"),
        ],
    );
    let found: Vec<(Severity, &str)> = res
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.path.to_str().unwrap()))
        .collect();
    assert!(found.contains(&(Severity::Note, "empty.yaml")), "{found:?}");
    assert!(found.contains(&(Severity::Warning, "notes.txt")), "{found:?}");
    assert!(found.contains(&(Severity::Note, "config.yaml")), "{found:?}");
    let binary = load_files(vec![(PathBuf::from("bin.yaml"), vec![0xff, 0xfe, 0x00])], None);
    assert_eq!(only(&binary, Severity::Error).message, "this file is not UTF-8 text");
}

#[test]
fn rendered_like_rustc() {
    let res = load(&resiliency_with("    timeouts:\n      general: 5x\n"));
    let text = res.render_diagnostics();
    assert!(text.starts_with("error: invalid duration `5x`"), "{text}");
    assert!(text.contains("--> res.yaml:8:16"), "{text}");
    assert!(text.contains("= field: spec.policies.timeouts.general"), "{text}");
    assert!(text.contains("= help: "), "{text}");
}

#[test]
fn defaults_are_dapr_s() {
    let res = load(&resiliency_with(
        "    retries:\n      r: {}\n    circuitBreakers:\n      cb: {maxRequests: 0, timeout: 0}\n",
    ));
    let cfg = &res.resiliencies[0].config;
    let r = &cfg.retries["r"];
    assert_eq!(
        (r.backoff.clone(), r.max_retries),
        (
            BackoffPolicy::Constant {
                interval: Duration::from_secs(5)
            },
            -1
        )
    );
    let cb = &cfg.circuit_breakers["cb"];
    assert_eq!(
        (cb.max_requests, cb.interval, cb.timeout),
        (1, Duration::ZERO, Duration::from_secs(60))
    );
    assert_eq!(cb.trip.source(), "consecutiveFailures > 5");
    assert_eq!(
        only(&res, Severity::Warning).message,
        "a zero breaker `timeout` means the default, 60s"
    );
}
