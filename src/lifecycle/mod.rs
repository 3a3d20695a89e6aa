//! The one lifecycle of a run, whatever shows it.
//!
//! [`run`] starts everything ([`start`]), hands the event stream to one display (the TUI or the headless
//! printer) and waits for the [`Shutdown`]: q, Ctrl-C, SIGINT, SIGTERM, SIGHUP, `--duration`, a closed
//! stdout or a display that failed. Then it always ends the same way: every task of the run is told to stop
//! and the sidecars' requests in flight end, no fault is injected any more, the faults are cleared, the tasks
//! waited for, the sidecars stopped (their threads joined), the apps stopped, the event stream closed; each
//! wait bounded, and what it gave up on said (`stop.rs`). The display keeps drawing while that happens (it
//! sees "clearing: docker start dapr_redis…"), reads the last events, prints the summary and returns. Asked a second time, the shutdown stops waiting and the exit prints the command that
//! finishes the job. This is mini-redis's `server::run(listener, shutdown)` shape: one place starts a run,
//! one place ends it, and no path skips the end.

mod fault_targets;
pub mod hot_reload;
mod options;
mod processes;
mod shutdown;
mod start;
mod stop;
mod tasks;

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub use crate::faults::StateStoreChoice;
pub use options::{GrpcPorts, NamedFault, RunOptions};
pub use shutdown::Shutdown;
pub use start::{Running, start};
use tasks::RunTasks;

use crate::event::{Event, EventBus, Events, StopReason};
use crate::faults::FaultSet;
use crate::scenario::Scenario;
use crate::summary::{Ledger, SharedLedger};

/// What shows a run. It reads `events` until they end (`None`), which happens once the run has shut down,
/// and returns the ledger it kept (for the exit code). It asks for the shutdown through `control`.
pub trait Display {
    fn show(self, events: Events, control: Control) -> impl Future<Output = anyhow::Result<Ledger>>;
}

/// How much `+` and `-` change an injected latency.
pub const LATENCY_STEP: Duration = Duration::from_millis(500);

/// What a display may do to the run: inject and clear faults, and ask it to end.
#[derive(Clone)]
pub struct Control {
    faults: Arc<FaultSet>,
    shutdown: Shutdown,
    bus: EventBus,
    ledger: Arc<SharedLedger>,
    /// The run's tasks: a fault change is one, so the exit waits for it.
    tasks: RunTasks,
}

impl Control {
    /// Injects fault `i` in the background (Docker calls take a while; the display keeps drawing). Once the
    /// run ends nothing is injected (the faults refuse it).
    pub fn inject(&self, i: usize) {
        let faults = self.faults.clone();
        self.tasks
            .spawn("injecting a fault", |_| async move { faults.inject(i).await });
    }

    /// Makes every injected latency 500ms longer (or shorter), in the background.
    pub fn adjust_latency(&self, longer: bool) {
        let faults = self.faults.clone();
        let adjusting = async move { faults.adjust_latency(LATENCY_STEP, longer).await };
        self.tasks.spawn("changing a latency", |_| adjusting);
    }

    /// Clears fault `i` only, in the background.
    pub fn clear(&self, i: usize) {
        let faults = self.faults.clone();
        self.tasks
            .spawn("clearing a fault", |_| async move { faults.clear(i).await });
    }

    pub fn clear_faults(&self) {
        let faults = self.faults.clone();
        self.tasks
            .spawn("clearing the faults", |_| async move { faults.clear_all().await });
    }

    /// Asks the run to end; asked again while it ends, it stops waiting for the faults to clear.
    pub fn stop(&self, reason: StopReason) {
        self.shutdown.request(reason);
    }

    pub fn is_stopping(&self) -> bool {
        self.shutdown.is_requested()
    }

    /// The counts of every event emitted so far, including those the display was not given: what the summary
    /// says.
    pub fn ledger(&self) -> Ledger {
        self.ledger.snapshot()
    }

    /// Time since the run started, on the events' clock.
    pub fn elapsed(&self) -> Duration {
        self.bus.elapsed()
    }
}

/// Runs a scenario from start to end under `display`. Exit 0, 2 when an order was lost, 1 on an error.
pub async fn run(scenario: Scenario, opts: RunOptions, display: impl Display) -> anyhow::Result<ExitCode> {
    opts.check_schedule()?;
    let named = opts.named_fault_indexes(&scenario)?;
    let shutdown = Shutdown::new();
    let signals = shutdown.listen_for_signals()?;
    let (running, events) = start(scenario, &opts).await?;
    // Listened for until the run is over, not only until it begins to end: a second Ctrl-C gives up waiting.
    let signals_end = tokio_util::sync::CancellationToken::new();
    let signals = tokio::spawn(signals.listen(signals_end.clone()));
    let control = Control {
        faults: running.faults.clone(),
        shutdown: shutdown.clone(),
        bus: running.bus.clone(),
        ledger: running.ledger.clone(),
        tasks: running.tasks.clone(),
    };
    schedule(&running.faults, &opts, &named, &running.bus, &running.tasks);
    let life = async {
        let end = opts.duration.unwrap_or(Duration::MAX);
        let reason = tokio::select! {
            reason = shutdown.requested() => reason,
            () = sleep(end) => StopReason::Duration,
        };
        tracing::info!(%reason, "the run ends");
        // Calls cut by our own shutdown are no failures of their target: they end first, uncounted.
        running.end_calls();
        running.bus.emit(Event::ShuttingDown { reason });
        running.stop(&shutdown).await
    };
    let (shown, warnings) = tokio::join!(display.show(events, control), life);
    signals_end.cancel();
    let _ = signals.await;
    for warning in warnings {
        eprintln_quietly(&warning);
    }
    let ledger = shown?;
    Ok(if ledger.summary().lost > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `tokio::time::sleep` with no overflow for "forever".
async fn sleep(d: Duration) {
    match tokio::time::Instant::now().checked_add(d) {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// What a timer does to the faults.
#[derive(Debug, Clone, Copy)]
enum Change {
    Inject(usize),
    Clear(usize),
    ClearAll,
}

/// Schedules `--fault-at` (the scenario's first fault), `--clear-at` (every fault), and each `--fault
/// NAME@START..END` (that fault, whose index in the scenario is in `named`).
/// Timers are tasks of the run: its end stops those still waiting.
fn schedule(faults: &Arc<FaultSet>, opts: &RunOptions, named: &[usize], bus: &EventBus, tasks: &RunTasks) {
    let start = tokio::time::Instant::now() - bus.elapsed();
    let injects = opts.fault_at.iter().map(|t| (*t, Change::Inject(0)));
    let clears = opts.clear_at.iter().map(|t| (*t, Change::ClearAll));
    let by_name = opts.named_faults.iter().zip(named).flat_map(|(nf, i)| {
        std::iter::once((nf.at, Change::Inject(*i))).chain(nf.until.map(|u| (u, Change::Clear(*i))))
    });
    for (at, change) in injects.chain(clears).chain(by_name) {
        let faults = faults.clone();
        tasks.spawn("a fault timer", |stop| async move {
            if stop
                .run_until_cancelled(tokio::time::sleep_until(start + at))
                .await
                .is_none()
            {
                return;
            }
            match change {
                Change::Inject(i) => faults.inject(i).await,
                Change::Clear(i) => faults.clear(i).await,
                Change::ClearAll => faults.clear_all().await,
            }
        });
    }
}

/// A line on stderr that is not worth a panic when stderr is closed.
pub fn eprintln_quietly(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}
