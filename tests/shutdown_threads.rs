//! The exit waits for everything a run started, and a stopped sidecar leaves no thread behind; real sidecars
//! on real ports, real TCP.
//!
//! - A run ended while checkout's order is held in retryForever stops every sidecar without dropping a
//!   connection, clears its fault, and leaves no `sidecar-*` thread in the process (the run is a test process
//!   of its own, so no other test's sidecars are counted).
//! - A sidecar stopped as a fault while it holds a request in a retry ends that request once the grace is up
//!   (answered, uncounted) instead of dropping its connection, joins its thread, and serves again when the
//!   fault is cleared.
//! - A sidecar stopped while its app holds a hop (an app that never answers) lets go of the app and tells the
//!   caller Unavailable, as a daprd that exits would; nothing is left waiting.

use crate::common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::StatusCode;
use resilience_tui::event::{Event, Events, FaultEvent, Stamped, StopReason};
use resilience_tui::lifecycle::{Control, Display, RunOptions};
use resilience_tui::resiliency::{Observer, Resiliency, ResiliencyEvent};
use resilience_tui::resources::load_files;
use resilience_tui::scenario::{self, PortOverrides};
use resilience_tui::sidecar::{NameResolver, STOP_GRACE, Sidecar, Stopped};
use resilience_tui::summary::Ledger;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use common::wait::HANG_GUARD;

/// Runs `test` (a test of this file) alone in a new process of this test binary and fails when it fails
/// there. Returns false in that process, where the test's body is to run.
fn alone_in_a_process(test: &str) -> bool {
    const ALONE: &str = "RESILIENCE_TUI_TEST_ALONE";
    if std::env::var(ALONE).as_deref() == Ok(test) {
        return false;
    }
    // The name the harness gives it: `shutdown_threads::NAME` once the test files share one binary.
    let name = match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::{test}"),
        None => test.to_string(),
    };
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", &name, "--test-threads=1", "--nocapture"])
        .env(ALONE, test)
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name}, alone in a process:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

/// The names of this process's threads that start with `prefix` (from /proc: the kernel's 15-byte names).
fn threads_named(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_string())
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// A display that injects fault `fault` once an order was delivered, asks the run to end once an order is
/// held after that (a retry scheduled), and keeps every event.
struct HoldThenQuit {
    fault: usize,
    out: tokio::sync::oneshot::Sender<Vec<Stamped>>,
}

impl Display for HoldThenQuit {
    async fn show(self, mut events: Events, control: Control) -> anyhow::Result<Ledger> {
        let (mut all, mut ledger) = (Vec::new(), Ledger::default());
        let (mut injected, mut faulty) = (false, false);
        while let Some(e) = tokio::time::timeout(HANG_GUARD, events.recv())
            .await
            .expect("the run hangs")
        {
            ledger.record(&e);
            if !injected && common::wait::delivered(&e) {
                control.inject(self.fault);
                injected = true;
            }
            faulty |= common::wait::injected(&e);
            if faulty && common::wait::retry_scheduled(&e) && !control.is_stopping() {
                control.stop(StopReason::Quit);
            }
            all.push(e);
        }
        let _ = self.out.send(all);
        Ok(ledger)
    }
}

#[test]
fn a_run_ended_while_an_order_is_held_in_a_retry_leaves_no_sidecar_thread() {
    if alone_in_a_process("a_run_ended_while_an_order_is_held_in_a_retry_leaves_no_sidecar_thread") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let events = runtime.block_on(async {
        let scenario = scenario::find("service-invoke").unwrap().load().unwrap();
        let port = common::free_port;
        let opts = RunOptions {
            ports: PortOverrides {
                dapr_http: scenario.apps.iter().map(|a| (a.app_id().to_string(), port())).collect(),
                app: vec![("order-processor".into(), port())],
            },
            ..RunOptions::default()
        };
        // Fault 1 stops order-processor's app only: its sidecar answers Internal, retried every 5s forever.
        assert_eq!(scenario.faults[1].name, "stop-order-processor-app");
        let (out, events) = tokio::sync::oneshot::channel();
        resilience_tui::lifecycle::run(scenario, opts, HoldThenQuit { fault: 1, out })
            .await
            .expect("the run ends cleanly");
        events.await.unwrap()
    });
    assert_eq!(
        threads_named("sidecar-"),
        Vec::<String>::new(),
        "every sidecar thread was joined"
    );
    let end = events
        .iter()
        .position(|e| matches!(e.event, Event::ShuttingDown { .. }))
        .expect("the run said it was shutting down");
    assert!(
        events[..end].iter().any(common::wait::retry_scheduled),
        "an order was held in a retry when the run ended"
    );
    let gave_up: Vec<_> = events[end..]
        .iter()
        .filter(|e| matches!(e.event, Event::Warning { .. }))
        .map(|e| format!("{:?}", e.event))
        .collect();
    assert_eq!(
        gave_up,
        Vec::<String>::new(),
        "no stop had to drop a connection or leave a task"
    );
    assert!(
        events[end..]
            .iter()
            .any(|e| matches!(&e.event, Event::Fault(FaultEvent::Cleared { fault, .. }) if fault == "stop-order-processor-app")),
        "the fault was undone on the way out"
    );
}

/// Hands every resiliency event of a sidecar to the test.
struct ToTheTest(mpsc::UnboundedSender<ResiliencyEvent>);

impl Observer for ToTheTest {
    fn on_event(&self, event: ResiliencyEvent) {
        let _ = self.0.send(event);
    }
}

/// Waits for the first event `found` accepts.
async fn event_where(rx: &mut mpsc::UnboundedReceiver<ResiliencyEvent>, found: impl Fn(&ResiliencyEvent) -> bool) {
    let waiting = async {
        while let Some(e) = rx.recv().await {
            if found(&e) {
                return;
            }
        }
        panic!("the sidecar's events ended");
    };
    tokio::time::timeout(HANG_GUARD, waiting).await.expect("the event came");
}

/// A sidecar `app_id` on a free port, with `policy` (a Resiliency resource) and its events sent to the test.
async fn sidecar(
    app_id: &str,
    app_port: Option<u16>,
    policy: Option<&str>,
    resolver: &Arc<NameResolver>,
) -> (Sidecar, mpsc::UnboundedReceiver<ResiliencyEvent>) {
    let configs = policy.map_or_else(Vec::new, |policy| {
        let loaded = load_files(vec![(PathBuf::from("r.yaml"), policy.as_bytes().to_vec())], None);
        assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
        loaded.resiliency_configs()
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let resiliency = Resiliency::new(app_id, configs, Arc::new(ToTheTest(tx)));
    let mut options = common::sidecar_options(app_id, None);
    options.app_port = app_port;
    let sidecar = Sidecar::start(options, resiliency, resolver.clone(), Vec::new())
        .await
        .unwrap();
    (sidecar, rx)
}

/// An app that answers 500 while `down`, and 200 after.
async fn flaky_app(down: Arc<AtomicBool>) -> SocketAddr {
    let answer = move || {
        let down = down.load(Ordering::SeqCst);
        async move {
            match down {
                true => StatusCode::INTERNAL_SERVER_ERROR,
                false => StatusCode::OK,
            }
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(answer);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

const RETRY_FOREVER: &str = r#"
kind: Resiliency
metadata: {name: forever}
spec:
  policies:
    retries:
      retryForever: {policy: constant, duration: 5s, maxRetries: -1}
  targets:
    apps:
      flaky: {retry: retryForever}
"#;

#[tokio::test]
async fn a_sidecar_stopped_as_a_fault_ends_its_retry_joins_its_thread_and_serves_again() {
    let down = Arc::new(AtomicBool::new(true));
    let resolver = Arc::new(NameResolver::default());
    resolver.register("flaky", flaky_app(down.clone()).await);
    // A name no other test gives a sidecar: its thread is `sidecar-zfault`.
    let (sidecar, mut events) = sidecar("zfault", None, Some(RETRY_FOREVER), &resolver).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/v1.0/invoke/flaky/method/orders", sidecar.addr());
    let held = tokio::spawn(client.post(&url).body("{}").send());
    event_where(&mut events, |e| matches!(e, ResiliencyEvent::RetryScheduled { .. })).await;

    assert_eq!(sidecar.stop_serving(STOP_GRACE).await, Stopped::Gracefully);
    assert_eq!(
        threads_named("sidecar-zfault"),
        Vec::<String>::new(),
        "its thread was joined"
    );
    let answer = held.await.unwrap().expect("the held request was answered");
    assert_eq!(answer.status(), 500);
    let body = answer.text().await.unwrap();
    assert!(body.contains("the sidecar is shutting down"), "{body}");
    // Cut by the stop, the request counted nothing: no attempt failed after the retry was scheduled.
    let after: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| {
            matches!(
                e,
                ResiliencyEvent::AttemptFailed { .. } | ResiliencyEvent::Finished { .. }
            )
        })
        .collect();
    assert_eq!(after, Vec::new());

    // Cleared: it serves again, on a thread of its own, and its requests are not cancelled any more.
    down.store(false, Ordering::SeqCst);
    sidecar.start_serving().await.unwrap();
    let answer = client.post(&url).body("{}").send().await.unwrap();
    assert_eq!(answer.status(), 200);
    // Named by the thread itself as it starts: by now it has served a request.
    assert_eq!(threads_named("sidecar-zfault").len(), 1);
    assert_eq!(sidecar.stop().await, Stopped::Gracefully);
    assert_eq!(threads_named("sidecar-zfault"), Vec::<String>::new());
}

/// The caller's policy for `zhang`: a target of its own (so no built-in retries), no retry.
const NO_RETRY: &str = r#"
kind: Resiliency
metadata: {name: once}
spec:
  policies:
    timeouts:
      long: 60s
  targets:
    apps:
      zhang: {timeout: long}
"#;

#[tokio::test]
async fn a_sidecar_stopped_while_its_app_never_answers_lets_go_and_tells_the_caller_unavailable() {
    // The app: accepts a connection, reads the request, never answers; says when it has the request, and
    // when the connection is closed.
    let app = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_port = app.local_addr().unwrap().port();
    let (has_call, mut app_had_call) = mpsc::unbounded_channel();
    let (closed, mut app_let_go) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (mut connection, _) = app.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let mut told = false;
        while matches!(connection.read(&mut buf).await, Ok(n) if n > 0) {
            if !told {
                told = has_call.send(()).is_ok();
            }
        }
        let _ = closed.send(());
    });
    let resolver = Arc::new(NameResolver::default());
    let (callee, _) = sidecar("zhang", Some(app_port), None, &resolver).await;
    resolver.register_sidecar("zhang", callee.addr());
    let (caller, _) = sidecar("zcaller", None, Some(NO_RETRY), &resolver).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/v1.0/invoke/zhang/method/orders", caller.addr());
    let held = tokio::spawn(client.post(&url).body("{}").send());
    tokio::time::timeout(HANG_GUARD, app_had_call.recv())
        .await
        .expect("the app got the call");

    assert_eq!(callee.stop_serving(STOP_GRACE).await, Stopped::Gracefully);
    assert_eq!(
        threads_named("sidecar-zhang"),
        Vec::<String>::new(),
        "its thread was joined"
    );
    tokio::time::timeout(HANG_GUARD, app_let_go.recv())
        .await
        .expect("the app's connection was closed");
    let answer = held.await.unwrap().expect("the caller was answered");
    assert_eq!(answer.status(), 500);
    let body = answer.text().await.unwrap();
    assert!(
        body.contains("code = Unavailable") && body.contains("the zhang sidecar stopped while its app had the call"),
        "{body}"
    );
    assert_eq!(caller.stop().await, Stopped::Gracefully);
}
