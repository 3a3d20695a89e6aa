//! Ending a run, the one way every exit path takes: the run's tasks and the sidecars' requests are told to
//! stop first; the faults are cleared; the tasks are waited for; the sidecars stop (their threads joined),
//! then the apps, the app processes and the redis-servers; the event stream closes. Every wait is bounded and
//! what it gave up on is said, on the event stream and in the exit's warnings.

use std::time::Duration;

use super::start::{Running, say_warning};
use crate::event::{Event, EventBus};
use crate::sidecar::{STOP_GRACE, Stopped};

impl Running {
    /// Ends the run: clears every fault we injected (no new one is injected from now on), stops the run's
    /// tasks, the sidecars, the app listeners and the redis-servers, then closes the event stream. Returns a
    /// warning for each fault that stays in effect, with the command that clears it by hand, and for anything
    /// the bounded waits gave up on.
    pub async fn shutdown(self) -> Vec<String> {
        self.stop(&super::Shutdown::new()).await
    }

    /// The first step of the end, before anything else (and before `ShuttingDown` is said): the run's tasks
    /// are told to stop (the client apps report no more answers), and every sidecar ends its requests in
    /// flight without counting them (no breaker transition, retry or failed attempt comes of our own
    /// shutdown). The token goes first, so an answer the sidecars' cancellation causes always finds it
    /// cancelled. Doing it twice does nothing.
    pub fn end_calls(&self) {
        self.tasks.stop();
        for sidecar in &self.sidecars {
            sidecar.cancel_in_flight();
        }
    }

    /// [`Running::shutdown`], giving up when `shutdown` is asked for a second time (the user pressed q or
    /// Ctrl-C again): then the faults are not waited for, the sidecars' connections are dropped at once, and
    /// the warnings say what is left to do.
    pub(crate) async fn stop(self, shutdown: &super::Shutdown) -> Vec<String> {
        self.end_calls();
        let mut warnings = Vec::new();
        let gave_up = tokio::select! {
            cleared = tokio::time::timeout(CLEAR_BOUND, self.faults.close_and_clear()) => {
                if cleared.is_err() {
                    let bound = CLEAR_BOUND.as_secs();
                    warnings.push(format!("warning: clearing the faults took longer than {bound}s"));
                }
                false
            }
            () = shutdown.gave_up() => {
                warnings.push("warning: stopped waiting for the faults to clear".into());
                true
            }
        };
        warnings.extend(self.faults.still_injected());
        let bound = if gave_up { Duration::ZERO } else { TASKS_BOUND };
        let left = self.tasks.stop_and_wait(bound).await;
        if !left.is_empty() && !gave_up {
            let bound = TASKS_BOUND.as_secs();
            let left = format!("still running {bound}s after the run ended: {}", left.join(", "));
            warnings.push(say_gave_up(&self.bus, left));
        }
        warnings.extend(self.stop_sidecars(gave_up).await);
        let bus = self.bus.clone();
        if !gave_up {
            warnings.extend(self.stop_servers().await);
        }
        bus.close();
        warnings
    }

    /// Stops every sidecar at once and joins their threads; the warnings say what a stop gave up on (also
    /// said on the event stream). Given up on, the connections are dropped without a grace.
    async fn stop_sidecars(&self, gave_up: bool) -> Vec<String> {
        let grace = if gave_up { Duration::ZERO } else { STOP_GRACE };
        let stops = self
            .sidecars
            .iter()
            .map(|s| async move { (s.app_id(), s.stop_serving(grace).await) });
        let stopped = futures_util::future::join_all(stops).await;
        let mut warnings = Vec::new();
        for (app_id, stopped) in stopped {
            // Dropped at the user's request, the connections are no news; a thread left behind always is.
            let said = match stopped {
                Stopped::Forced if gave_up => None,
                other => other.warning(app_id),
            };
            if let Some(warning) = said {
                warnings.push(say_gave_up(&self.bus, warning));
            }
        }
        warnings
    }

    async fn stop_servers(self) -> Vec<String> {
        let mut warnings = Vec::new();
        for app in &self.apps {
            if tokio::time::timeout(APP_BOUND, app.stop()).await.is_err() {
                let bound = APP_BOUND.as_secs();
                warnings.push(format!("warning: {} did not stop within {bound}s", app.app_id()));
            }
        }
        // The CLI's way: SIGTERM to each app's group, SIGKILL after 5 s; all at once.
        futures_util::future::join_all(self.processes.iter().map(|p| p.stop())).await;
        for redis in &self.redis {
            redis.stop().await;
        }
        warnings
    }
}

/// What a bounded wait of the exit gave up on: said on the event stream (the display shows it while the run
/// ends), and returned for stderr.
fn say_gave_up(bus: &EventBus, what: String) -> String {
    let warning = format!("warning: {what}");
    let event = Event::Warning {
        message: what,
        location: None,
        field: None,
        help: None,
    };
    say_warning(bus, event);
    warning
}

/// How long the exit waits for the faults to clear (Docker may be slow).
const CLEAR_BOUND: Duration = Duration::from_secs(30);
/// How long the exit waits for the run's tasks once they were told to stop.
const TASKS_BOUND: Duration = Duration::from_secs(5);
/// How long the exit waits for a built-in app's listener to close.
const APP_BOUND: Duration = Duration::from_secs(1);
