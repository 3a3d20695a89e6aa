//! The real binary, as a user runs it: `validate`, `scenarios`, `scenario --headless`, and their errors.

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_resilience-tui"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } = bin().args(args).output().expect("binary runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// A headless JSONL run of the binary with `args` and the ports `ports()` gives, ended by SIGTERM as soon as the
/// lines so far satisfy `done` (the run waits for the events the test needs, however slow the machine, instead
/// of a `--duration`). Returns the exit code, every line parsed, and stderr.
///
/// The ports come from `free_port` because they are given on the command line: between its check and the
/// binary's bind another test process may take one. Such a run exits at once with "is already in use"; it is
/// tried again with new ports.
fn jsonl_until(
    args: &[&str],
    ports: impl Fn() -> Vec<String>,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> (Option<i32>, Vec<serde_json::Value>, String) {
    use std::io::{BufRead, Read};
    for _ in 0..3 {
        let mut child = bin()
            .args(args)
            .args(["--headless", "--output", "jsonl"])
            .args(ports())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("binary runs");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let mut stderr = child.stderr.take().unwrap();
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        // A hang guard, not a timing assertion: a run that never shows what `done` needs is killed.
        let (finished, guard_sees) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if guard_sees.recv_timeout(common::wait::HANG_GUARD).is_err() {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        });
        let mut lines = Vec::new();
        let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let mut asked_to_stop = false;
        while reader.read_line(&mut line).unwrap() > 0 {
            lines.push(serde_json::from_str::<serde_json::Value>(&line).expect(&line));
            line.clear();
            if !asked_to_stop && done(&lines) {
                nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
                asked_to_stop = true;
            }
        }
        let status = child.wait().unwrap();
        let _ = finished.send(());
        let err = errors.join().unwrap();
        if !asked_to_stop && err.contains("is already in use") {
            continue;
        }
        assert!(
            asked_to_stop,
            "the run ended before what the test waits for:\n{err}\n{lines:#?}"
        );
        return (status.code(), lines, err);
    }
    panic!("three runs in a row found a port taken");
}

/// Free ports for the two sidecars, order-processor and the two metrics endpoints of a checkout/order-processor
/// scenario.
fn two_app_ports() -> Vec<String> {
    let port = common::free_port;
    vec![
        "--dapr-http-port".to_string(),
        format!("checkout={}", port()),
        "--dapr-http-port".into(),
        format!("order-processor={}", port()),
        "--app-port".into(),
        format!("order-processor={}", port()),
        "--metrics-port".into(),
        format!("checkout={}", port()),
        "--metrics-port".into(),
        format!("order-processor={}", port()),
    ]
}

fn kinds(lines: &[serde_json::Value]) -> Vec<&str> {
    lines.iter().filter_map(|l| l["kind"].as_str()).collect()
}

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir(&format!("cli-{name}"))
}

#[test]
fn validate_the_quickstarts() {
    let (code, out, _) = run(&[
        "validate",
        "--resources-path",
        "resources/service-invoke",
        "--app-id",
        "checkout",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("retry retryForever"), "{out}");
    assert!(out.contains("constant 5s, retry forever"), "{out}");
    assert!(
        out.contains("trip consecutiveFailures >= 5 \u{b7} stays open 5s \u{b7} maxRequests 1"),
        "{out}"
    );
    assert!(out.contains("target app order-processor"), "{out}");
    assert!(out.contains("0 error(s), 0 warning(s)"), "{out}");
    let (code, out, _) = run(&["validate", "--resources-path", "resources/state-management"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("breaker \"simpleCB-statestore\""), "{out}");
    assert!(out.contains("Component `statestore` state.redis v1"), "{out}");
}

#[test]
fn validate_a_broken_file() {
    let dir = temp_dir("broken");
    let text = "kind: Resiliency\nmetadata: {name: broken}\nspec:\n  policies:\n    retries:\n      r: {duration: 5 seconds}\n";
    std::fs::write(dir.join("resiliency.yaml"), text).unwrap();
    let (code, out, _) = run(&["validate", "--resources-path", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("error: invalid duration `5 seconds`"), "{out}");
    assert!(
        out.contains(&format!("--> {}:6:21", dir.join("resiliency.yaml").display())),
        "{out}"
    );
    assert!(out.contains("1 error(s)"), "{out}");
}

#[test]
fn scenarios_and_their_errors() {
    let (code, out, _) = run(&["scenarios"]);
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l.starts_with("service-invoke ")), "{out}");
    let (code, _, err) = run(&["scenario", "no-such-thing", "--headless"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no scenario `no-such-thing`; the scenarios are: ") && err.contains("service-invoke"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "scenario",
        "service-invoke",
        "--headless",
        "--fault-at",
        "5s",
        "--clear-at",
        "2s",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("--clear-at 2s comes before its --fault-at 5s"), "{err}");
    let (code, _, err) = run(&["scenario", "service-invoke", "--headless", "--duration", "5"]);
    assert_eq!(code, 2, "clap usage error");
    assert!(
        err.contains("`5` has no unit; add one: 5s for seconds, 5ms for milliseconds"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "scenario",
        "service-invoke",
        "--headless",
        "--dapr-http-port",
        "checkout=3501",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("port 3501 would be both checkout's sidecar and order-processor's sidecar")
            || err.contains("port 3501 would be both order-processor's sidecar and checkout's sidecar"),
        "the clash is with our own sidecar, not another program: {err}"
    );
    let (code, _, err) = run(&["scenario", "service-invoke", "--headless", "--fault-at", "2d"]);
    assert_eq!(code, 2, "clap usage error");
    assert!(err.contains("unknown unit") && !err.contains("bare number"), "{err}");
}

/// A short headless run through the binary in JSONL: every line parses, and the summary is the last one. The
/// fault is injected and cleared at set times; the run ends once the recovery and five orders have been seen.
#[test]
fn headless_jsonl_run() {
    let dir = temp_dir("fast");
    let policy = "kind: Resiliency\nmetadata: {name: fast}\nscopes: [checkout]\nspec:\n  policies:\n    retries: {r: {duration: 100ms}}\n    circuitBreakers: {cb: {maxRequests: 1, timeout: 100ms, trip: consecutiveFailures >= 3}}\n  targets:\n    apps:\n      order-processor: {retry: r, circuitBreaker: cb}\n";
    std::fs::write(dir.join("resiliency.yaml"), policy).unwrap();
    let args = [
        "scenario",
        "service-invoke",
        "--resources-path",
        dir.to_str().unwrap(),
        "--order-interval",
        "50ms",
        "--fault-at",
        "300ms",
        "--clear-at",
        "900ms",
    ];
    let (code, lines, err) = jsonl_until(&args, two_app_ports, |lines| {
        let k = kinds(lines);
        k.contains(&"recovered") && k.iter().filter(|k| **k == "order_received").count() >= 5
    });
    assert_eq!(code, Some(0), "{err}\n{lines:#?}");
    for l in &lines {
        assert!(l["t"].is_f64() || l["t"].is_u64(), "{l}");
        assert!(
            l["source"].is_string() && l["kind"].is_string() && l["msg"].is_string(),
            "{l}"
        );
    }
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    for k in [
        "order_passed",
        "order_received",
        "fault_injected",
        "retrying",
        "breaker_state_changed",
        "fault_cleared",
        "recovered",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["source"], "summary");
    assert_eq!(
        (summary["lost"].as_u64(), summary["duplicated"].as_u64()),
        (Some(0), Some(0)),
        "{summary}"
    );
    assert!(summary["delivered"].as_u64().unwrap() >= 5, "{summary}");
    let retrying = lines.iter().find(|l| l["kind"] == "retrying").unwrap();
    assert_eq!(retrying["source"], "sidecar:checkout");
    assert_eq!(
        retrying["msg"],
        "Error processing operation endpoint[order-processor, order-processor:orders]. Retrying in 100ms\u{2026}"
    );
}

/// SIGTERM ends a headless run cleanly: the summary is printed and the exit status is 0.
#[test]
fn sigterm_prints_the_summary() {
    let dir = temp_dir("sigterm");
    // A run that found a port taken (another process took it after free_port's check) is tried again.
    let (mut child, mut stdout, mut text) = (0..3)
        .find_map(|_| {
            let port = || common::free_port().to_string();
            let (p1, p2, p3) = (port(), port(), port());
            let mut child = bin()
                .args(["scenario", "service-invoke", "--headless", "--order-interval", "100ms"])
                .args([
                    "--dapr-http-port",
                    &format!("checkout={p1}"),
                    "--dapr-http-port",
                    &format!("order-processor={p2}"),
                ])
                .args(["--app-port", &format!("order-processor={p3}")])
                .args(["--metrics-port", &format!("checkout={}", port())])
                .args(["--metrics-port", &format!("order-processor={}", port())])
                .stdout(std::process::Stdio::piped())
                .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
                .spawn()
                .unwrap();
            // Wait for the first order to pass, then SIGTERM.
            let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
            let mut text = String::new();
            while !text.contains("Order passed: {\"orderId\":1}") {
                if std::io::BufRead::read_line(&mut stdout, &mut text).unwrap() == 0 {
                    let err = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
                    let _ = child.wait();
                    assert!(
                        err.contains("is already in use"),
                        "the run ended before an order passed: {text}\n{err}"
                    );
                    return None;
                }
            }
            Some((child, stdout, text))
        })
        .expect("three runs in a row found a port taken");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(text.contains("shutting down (SIGTERM)"), "{text}");
    assert!(
        text.contains("== APP - checkout == Order passed: {\"orderId\":1}"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("== SUMMARY ==") && l.contains("lost 0")),
        "{text}"
    );
}

/// The binary alone in an empty folder (as `cargo install` leaves it): the built-in scenarios run, `init` writes
/// them out, and what it wrote validates and runs.
#[test]
fn a_copy_of_the_binary_alone_in_an_empty_folder_works() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("resilience-tui");
    std::fs::copy(env!("CARGO_BIN_EXE_resilience-tui"), &exe).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(&exe).args(args).current_dir(dir.path()).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let ports = |apps: &[&str]| -> Vec<String> {
        apps.iter()
            .flat_map(|a| {
                let port = |flag: &str| [flag.to_string(), format!("{a}={}", common::free_port())];
                port("--dapr-http-port").into_iter().chain(port("--metrics-port"))
            })
            .chain([
                "--app-port".to_string(),
                format!("order-processor={}", common::free_port()),
            ])
            .collect()
    };
    // With `take` of the ports for `apps`; tried again with new ones when another process took one meanwhile.
    let run_on_ports = |args: &[&str], apps: &[&str], take: usize| {
        for _ in 0..3 {
            let p = ports(apps);
            let mut args = args.to_vec();
            args.extend(p.iter().take(take).map(String::as_str));
            let (code, out) = run(&args);
            if code == Some(0) || !out.contains("is already in use") {
                return (code, out);
            }
        }
        panic!("three runs in a row found a port taken");
    };
    let (code, out) = run(&["scenarios"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("service-invoke ") && out.contains("state-management "),
        "{out}"
    );

    let args = vec![
        "scenario",
        "service-invoke",
        "--headless",
        "--duration",
        "2s",
        "--order-interval",
        "100ms",
    ];
    let (code, out) = run_on_ports(&args, &["checkout", "order-processor"], usize::MAX);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Order received: {\"orderId\":1}"), "{out}");

    let args = vec![
        "scenario",
        "state-management",
        "--state-store",
        "memory",
        "--headless",
        "--duration",
        "2s",
    ];
    let (code, out) = run_on_ports(&args, &["order-processor"], 4);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Saving Order: {\"orderId\":\"1\"}"), "{out}");

    let (code, out) = run(&["init"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(&[
        "validate",
        "--resources-path",
        "resilience-lab/resources/service-invoke",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("myresiliency"), "{out}");
    // The written scenario is the one that runs: edit its resources and the run shows the change.
    let policy = dir
        .path()
        .join("resilience-lab/resources/service-invoke/resiliency.yaml");
    let edited = std::fs::read_to_string(&policy)
        .unwrap()
        .replace("name: myresiliency", "name: edited");
    std::fs::write(&policy, edited).unwrap();
    let args = vec![
        "scenario",
        "resilience-lab/service-invoke.yaml",
        "--headless",
        "--duration",
        "1s",
    ];
    let (code, out) = run_on_ports(&args, &["checkout", "order-processor"], usize::MAX);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Loading Resiliency configuration: edited"), "{out}");
    let (code, out) = run(&["init"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("already exists") && out.contains("--force"), "{out}");
}

/// Scenario files are checked like resources: located errors with a fix.
#[test]
fn a_scenario_file_with_a_clashing_key_or_an_unknown_app_is_refused_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.yaml");
    let text = "name: mine\ntitle: t\nsummary: s\nresources: .\napps:\n  checkout: {kind: checkout, daprHttpPort: 3500, target: order-processor}\n  order-processor: {kind: order-processor, appPort: 8001, daprHttpPort: 3501}\nfaults:\n  - {name: a, key: q, action: stop-app, app: order-processor}\n  - {name: b, key: x, action: stop-app, app: order-procesor}\n  - {name: c, key: x, action: stop-app, app: order-processor}\n";
    std::fs::write(&file, text).unwrap();
    let (code, _, err) = run(&["scenario", file.to_str().unwrap(), "--headless"]);
    assert_eq!(code, 1, "{err}");
    let at = |line: u32| format!("{}:{line}:", file.display());
    assert!(
        err.contains("key `q` is the UI's key for \"quit\"") && err.contains(&at(9)),
        "{err}"
    );
    assert!(
        err.contains("there is no app `order-procesor`") && err.contains(&at(10)),
        "{err}"
    );
    assert!(err.contains("apps that can be stopped: order-processor"), "{err}");
    assert!(
        err.contains("key `x` is already the key of fault `b`") && err.contains(&at(11)),
        "{err}"
    );
}

/// `validate` on a misspelt kind, an empty folder and a missing one: each says what is wrong, once.
#[test]
fn validate_says_what_it_could_not_find() {
    let dir = temp_dir("kinds");
    let text = "apiVersion: dapr.io/v1alpha1\nkind: Resilency\nmetadata: {name: x}\nspec: {}\n";
    std::fs::write(dir.join("r.yaml"), text).unwrap();
    let (code, out, _) = run(&["validate", "--resources-path", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("kind `Resilency` is not one Dapr knows") && out.contains("did you mean `Resiliency`?"),
        "{out}"
    );
    assert!(out.contains(":2:7"), "located: {out}");

    let empty = temp_dir("empty");
    let (code, out, _) = run(&["validate", "--resources-path", empty.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning: no resources found") && out.contains("0 error(s), 1 warning(s)"),
        "{out}"
    );

    let undefined = temp_dir("undefined-breaker");
    let text = "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: x}\nspec:\n  policies:\n    retries: {r: {duration: 1s}}\n  targets:\n    apps:\n      order-processor: {retry: r, circuitBreaker: nosuch}\n";
    std::fs::write(undefined.join("r.yaml"), text).unwrap();
    let (_, out, _) = run(&["validate", "--resources-path", undefined.to_str().unwrap()]);
    assert!(out.contains("no breaker: `nosuch` is not defined"), "{out}");
    assert!(
        !out.contains("one `nosuch` breaker per method"),
        "not described as if it existed: {out}"
    );

    let missing = empty.join("nope");
    let (code, _, err) = run(&["validate", "--resources-path", missing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "the OS error once: {err}"
    );
}

/// `--fault NAME@START..END` injects that fault of the scenario by name and clears it (a lesson's second fault
/// here, not the first one `--fault-at` would take); a name that is not the scenario's is refused with a
/// suggestion, before anything starts.
#[test]
fn a_fault_named_on_the_command_line() {
    // The window is the feature under test (its times are asserted below); the run itself ends once the
    // clear and a 404 have been seen. Six orders fall in the window, any one of which fails.
    let args = [
        "scenario",
        "status-codes",
        "--order-interval",
        "100ms",
        "--fault",
        "not-found-404@300ms..900ms",
    ];
    let failed_404 = |l: &serde_json::Value| l["kind"] == "order_failed" && l["status"] == 404;
    let (code, lines, err) = jsonl_until(&args, two_app_ports, |lines| {
        kinds(lines).contains(&"fault_cleared") && lines.iter().any(failed_404)
    });
    assert_eq!(code, Some(0), "{err}\n{lines:#?}");
    let fault = |kind: &str| {
        lines
            .iter()
            .find(|l| l["kind"] == kind)
            .map(|l| (l["fault"].clone(), l["t"].as_f64()))
    };
    let (injected, cleared) = (fault("fault_injected").unwrap(), fault("fault_cleared").unwrap());
    assert_eq!(injected.0, "not-found-404");
    assert_eq!(cleared.0, "not-found-404");
    assert!(
        injected.1.unwrap() >= 0.3 && cleared.1.unwrap() >= 0.9,
        "{injected:?} {cleared:?}"
    );
    assert!(lines.iter().any(failed_404), "checkout got the 404");

    let ports = two_app_ports();
    let mut args: Vec<&str> = vec!["scenario", "status-codes", "--headless"];
    args.extend(ports.iter().map(String::as_str));
    args.extend(["--fault", "not-found@1s", "--duration", "2s"]);
    let (code, _, err) = run(&args);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("scenario status-codes has no fault `not-found`; did you mean `not-found-404`?"),
        "{err}"
    );
}
