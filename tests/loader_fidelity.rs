//! Where the loader follows daprd v1.18 where a simpler reading would differ: untrimmed `matching` codes,
//! `circuitBreakerCacheSize: 0`, only a file's first document as a Resiliency, case-insensitive field names,
//! built-in retry overrides, and signed durations.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::loader::{only, resiliency_with};
use resilience_tui::resiliency::BackoffPolicy;
use resilience_tui::resources::{Diagnostic, Resources, Severity, load_files};

fn load(text: &str) -> Resources {
    load_files(vec![(PathBuf::from("res.yaml"), text.as_bytes().to_vec())], None)
}

#[test]
fn matching_codes_are_not_trimmed() {
    // daprd's compilePattern hands each item to strconv.Atoi untrimmed: the resource fails to load.
    let res = load(&resiliency_with(
        "    retries:\n      r:\n        matching:\n          httpStatusCodes: \"500, 502\"\n",
    ));
    let d = only(&res, Severity::Error);
    assert_eq!(
        d.message,
        "invalid `httpStatusCodes`: ` 502` is not a status code: Dapr does not trim spaces around codes"
    );
    assert_eq!((d.line, d.column), (10, 33), "at ` 502`, after the comma");
    assert_eq!(
        d.field.as_deref(),
        Some("spec.policies.retries.r.matching.httpStatusCodes")
    );
    assert_eq!(d.help.as_deref(), Some("remove the spaces: write `500,502`"));
    assert!(res.resiliencies.is_empty(), "the resource does not load, as in daprd");
    // Atoi takes a leading `+`, and an empty item (a trailing comma) is skipped.
    let res = load(&resiliency_with(
        "    retries:\n      r:\n        matching:\n          httpStatusCodes: \"+500,\"\n",
    ));
    assert!(res.diagnostics.is_empty(), "{}", res.render_diagnostics());
    assert_eq!(res.resiliencies[0].config.retries["r"].matching.http, vec![(500, 500)]);
}

#[test]
fn breaker_cache_size_zero_means_the_default() {
    // daprd's decodeTargets replaces 0 with 100 for apps and 5000 for actors: a valid Dapr file.
    let text = "kind: Resiliency\nmetadata: {name: r}\nspec:\n  targets:\n    apps:\n      a: {circuitBreakerCacheSize: 0}\n    actors:\n      b: {circuitBreakerCacheSize: 0}\n";
    let res = load(text);
    assert!(!res.has_errors(), "{}", res.render_diagnostics());
    let cfg = &res.resiliencies[0].config;
    assert_eq!(cfg.apps["a"].circuit_breaker_cache_size, 100);
    assert_eq!(cfg.actors["b"].circuit_breaker_cache_size, 5000);
    let notes: Vec<(&str, usize, usize)> = res
        .diagnostics
        .iter()
        .map(|d| (d.message.as_str(), d.line, d.column))
        .collect();
    assert_eq!(
        notes,
        [
            ("`circuitBreakerCacheSize: 0` means the default, 100", 6, 36),
            ("`circuitBreakerCacheSize: 0` means the default, 5000", 8, 36)
        ]
    );
    // A negative size makes daprd's lru.New fail: still an error.
    let res =
        load("kind: Resiliency\nmetadata: {name: r}\nspec: {targets: {apps: {a: {circuitBreakerCacheSize: -1}}}}\n");
    let d = only(&res, Severity::Error);
    assert_eq!(d.field.as_deref(), Some("spec.targets.apps.a.circuitBreakerCacheSize"));
    assert!(res.resiliencies.is_empty());
}

#[test]
fn only_the_first_document_of_a_file_is_a_resiliency() {
    // daprd's loadLocalResiliencyPath unmarshals the whole file once: only the first document is read.
    let first = "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: first}\nspec: {}\n";
    let second = "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: second}\nspec: {policies: {timeouts: {t: soon}}}\n";
    let res = load(&format!("{first}---\n{second}"));
    let d = only(&res, Severity::Warning);
    assert_eq!(
        d.message,
        "this Resiliency is document 2 of its file; daprd reads only a file's first document for a Resiliency, so it ignores this one"
    );
    assert_eq!((d.line, d.column), (6, 1));
    assert!(d.help.as_deref().unwrap().contains("a file of its own"));
    let names: Vec<&str> = res.resiliencies.iter().map(|r| r.config.name.as_str()).collect();
    assert_eq!(
        names,
        ["first"],
        "the second is neither loaded nor decoded (its bad duration is not reported)"
    );

    // After a Component: the Component loads (daprd's component loader reads every document), the
    // Resiliency does not.
    let component = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: statestore}\nspec: {type: state.in-memory, version: v1}\n";
    let res = load(&format!("{component}---\n{first}"));
    assert_eq!(only(&res, Severity::Warning).line, 6);
    assert!(res.resiliencies.is_empty());
    assert_eq!(res.components.len(), 1);

    // A Component after a Resiliency: both load.
    let res = load(&format!("{first}---\n{component}"));
    assert!(res.diagnostics.is_empty(), "{}", res.render_diagnostics());
    assert_eq!((res.resiliencies.len(), res.components.len()), (1, 1));
}

#[test]
fn field_names_match_ignoring_case_as_encoding_json() {
    // sigs.k8s.io/yaml decodes through encoding/json: `MaxRetries` and `Duration` take effect in daprd.
    let res = load(&resiliency_with(
        "    retries:\n      r:\n        MaxRetries: 2\n        Duration: 1s\n",
    ));
    assert!(!res.has_errors(), "{}", res.render_diagnostics());
    let r = &res.resiliencies[0].config.retries["r"];
    assert_eq!(r.max_retries, 2);
    assert_eq!(
        r.backoff,
        BackoffPolicy::Constant {
            interval: Duration::from_secs(1)
        }
    );
    let d = &res.diagnostics[0];
    assert_eq!(d.severity, Severity::Note);
    assert_eq!(
        d.message,
        "`MaxRetries` sets `maxRetries`: Dapr matches field names ignoring case"
    );
    assert_eq!((d.line, d.column), (9, 9));
    assert_eq!(d.field.as_deref(), Some("spec.policies.retries.r.maxRetries"));
    assert_eq!(d.help.as_deref(), Some("write `maxRetries`"));
    assert!(res.diagnostics.iter().all(|d| d.severity == Severity::Note));

    // Whole sections too, and `Kind:`; a truly unknown field still warns.
    let text = "Kind: Resiliency\nMetadata: {name: r}\nSPEC:\n  Policies:\n    timeouts: {t: 1s}\n    retries: {r: {maxRetry: 3}}\n";
    let res = load(text);
    assert_eq!(res.resiliencies.len(), 1, "{}", res.render_diagnostics());
    assert_eq!(res.resiliencies[0].config.timeouts["t"], Duration::from_secs(1));
    let warnings: Vec<&str> = res
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        warnings,
        ["unknown field `maxRetry` in a retry policy; Dapr ignores it"]
    );
}

#[test]
fn of_two_spellings_of_a_field_the_one_sorting_last_wins() {
    // encoding/json assigns keys in the order json.Marshal wrote them (sorted), so `maxRetries` beats
    // `MaxRetries` ('m' > 'M') wherever each is in the file.
    for (first, second, line) in [
        ("maxRetries: 5", "MaxRetries: 2", 10),
        ("MaxRetries: 2", "maxRetries: 5", 9),
    ] {
        let res = load(&resiliency_with(&format!(
            "    retries:\n      r:\n        {first}\n        {second}\n"
        )));
        assert_eq!(
            res.resiliencies[0].config.retries["r"].max_retries, 5,
            "{first} / {second}"
        );
        let w: Vec<&Diagnostic> = res
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .collect();
        assert_eq!(w.len(), 1, "{}", res.render_diagnostics());
        assert_eq!(
            w[0].message,
            "`MaxRetries` and `maxRetries` both set `maxRetries`; Dapr uses `maxRetries`, so this value is ignored"
        );
        assert_eq!(w[0].line, line, "the ignored `MaxRetries`");
        assert!(w[0].help.is_some());
    }
}

#[test]
fn validate_shows_what_the_engine_uses_for_built_in_overrides() {
    let res = load(&resiliency_with(
        "    retries:\n      DaprBuiltInServiceRetries: {maxRetries: 1, duration: 2s}\n      DaprBuiltInActorNotFoundRetries: {maxRetries: 10}\n",
    ));
    let report = resilience_tui::validate::report(std::path::Path::new("res"), None, &res);
    assert!(
        report.contains(
            "retry DaprBuiltInServiceRetries      constant 2s, at most 3 retries (raised to daprd's minimum of 3)"
        ),
        "{report}"
    );
    assert!(report.contains("(built-in; this override is ignored)"), "{report}");
    assert!(!report.contains("at most 1 retry"), "{report}");
    let w: Vec<(&str, usize, Option<&str>)> = res
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| (d.message.as_str(), d.line, d.field.as_deref()))
        .collect();
    assert_eq!(
        w,
        [
            (
                "Dapr raises this override of `DaprBuiltInServiceRetries` to 3 retries: built-in retries cannot go below 3",
                8,
                Some("spec.policies.retries.DaprBuiltInServiceRetries")
            ),
            (
                "`DaprBuiltInActorNotFoundRetries` is protected: Dapr ignores this override and keeps its own (5 retries, 1s apart)",
                9,
                Some("spec.policies.retries.DaprBuiltInActorNotFoundRetries")
            )
        ]
    );
}

#[test]
fn negative_and_signed_durations_load_as_in_go() {
    // time.ParseDuration takes a sign; strconv.Atoi too for bare milliseconds.
    let res = load(&resiliency_with(
        "    timeouts:\n      neg: -5s\n      plus: +5s\n      ms: \"+500\"\n    retries:\n      r: {duration: -1s}\n",
    ));
    assert!(!res.has_errors(), "{}", res.render_diagnostics());
    let cfg = &res.resiliencies[0].config;
    assert_eq!(
        cfg.timeouts["neg"],
        Duration::ZERO,
        "no timeout, as daprd's `t > 0` check"
    );
    assert_eq!(cfg.timeouts["plus"], Duration::from_secs(5));
    assert_eq!(cfg.timeouts["ms"], Duration::from_millis(500));
    assert_eq!(
        cfg.retries["r"].backoff,
        BackoffPolicy::Constant {
            interval: Duration::ZERO
        }
    );
    let w: Vec<(&str, usize, usize)> = res
        .diagnostics
        .iter()
        .map(|d| (d.message.as_str(), d.line, d.column))
        .collect();
    assert_eq!(
        w,
        [
            (
                "`-5s` is negative; Dapr accepts it and applies no timeout, as for 0",
                8,
                12
            ),
            (
                "`-1s` is negative; Dapr accepts it and retries without waiting, as for 0",
                12,
                21
            )
        ]
    );
    assert!(
        res.diagnostics
            .iter()
            .all(|d| d.severity == Severity::Warning && d.help.is_some())
    );
}
