//! Every error and warning the loader gives, with its message, location and field path.

use std::path::PathBuf;
use std::time::Duration;

use resilience_tui::resiliency::BackoffPolicy;
use resilience_tui::resources::{Diagnostic, Resources, Severity, load_files};

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

/// The only diagnostic of a load, checked for severity.
fn only(res: &Resources, severity: Severity) -> &Diagnostic {
    assert_eq!(res.diagnostics.len(), 1, "{}", res.render_diagnostics());
    let d = &res.diagnostics[0];
    assert_eq!(d.severity, severity, "{}", res.render_diagnostics());
    d
}

fn resiliency_with(policies: &str) -> String {
    format!("apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: r\nspec:\n  policies:\n{policies}")
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
