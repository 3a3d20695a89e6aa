//! Every task a run starts, in one place: each is tracked (tokio-util's `TaskTracker`), told to stop by one
//! token (`CancellationToken`) and waited for at the end. A wait has a bound, and what did not end within it
//! is named, so a task that hangs shows up in the exit's warnings instead of hanging the terminal.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The tasks of one run; cheap to clone.
#[derive(Clone, Default)]
pub struct RunTasks {
    tracker: TaskTracker,
    stop: CancellationToken,
    /// How many tasks of each name are running, to say which ones a bounded wait gave up on.
    running: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl RunTasks {
    /// The token every task of the run stops by.
    pub fn token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Starts `work`, given the run's token, as a task named `name` (named in a warning if it does not end).
    pub fn spawn<F>(&self, name: impl Into<String>, work: impl FnOnce(CancellationToken) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let name = name.into();
        *self.lock().entry(name.clone()).or_default() += 1;
        let running = Running {
            name,
            tasks: self.running.clone(),
        };
        let work = work(self.token());
        self.tracker.spawn(async move {
            let _running = running;
            work.await;
        });
    }

    /// Tells every task to stop.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Tells every task to stop and waits for them (and any started meanwhile), at most `bound`; the names of
    /// those still running then.
    pub async fn stop_and_wait(&self, bound: Duration) -> Vec<String> {
        self.stop();
        self.tracker.close();
        if tokio::time::timeout(bound, self.tracker.wait()).await.is_ok() {
            return Vec::new();
        }
        self.lock()
            .iter()
            .map(|(name, n)| if *n == 1 { name.clone() } else { format!("{name} ({n})") })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, usize>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Held by a running task: its name is counted while it runs (also when it panics).
struct Running {
    name: String,
    tasks: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = tasks.get_mut(&self.name) {
            *n -= 1;
            if *n == 0 {
                tasks.remove(&self.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_tasks_stop_by_the_token_and_one_that_does_not_is_named() {
        let tasks = RunTasks::default();
        tasks.spawn("listener", |stop| async move { stop.cancelled().await });
        tasks.spawn("stubborn", |_| std::future::pending());
        tasks.spawn("stubborn", |_| std::future::pending());
        let left = tasks.stop_and_wait(Duration::from_secs(5)).await;
        assert_eq!(left, ["stubborn (2)"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_whose_tasks_all_stop_leaves_nothing_to_say() {
        let tasks = RunTasks::default();
        for name in ["a", "b"] {
            tasks.spawn(name, |stop| async move { stop.cancelled().await });
        }
        assert!(tasks.stop_and_wait(Duration::from_secs(5)).await.is_empty());
    }
}
