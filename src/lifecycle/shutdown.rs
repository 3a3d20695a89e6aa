//! The one shutdown signal of a run. Anything may ask for it (q, Ctrl-C, SIGINT, SIGTERM, SIGHUP,
//! `--duration`, a closed stdout, a display that failed); the first request starts the shutdown, a second one
//! gives up waiting for it. Signals are listened for once, for the whole run, so none can slip between two
//! waits.

use std::sync::Arc;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::event::StopReason;

/// Cheap to clone; every clone asks for, and waits for, the same shutdown.
#[derive(Clone)]
pub struct Shutdown {
    /// Why the run ends (the first request's reason) and how many times it was asked for.
    state: Arc<watch::Sender<Option<(StopReason, u32)>>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Self {
            state: Arc::new(watch::Sender::new(None)),
        }
    }

    /// Asks the run to end; asked again while it ends, it stops waiting for faults to clear.
    pub fn request(&self, reason: StopReason) {
        self.state.send_modify(|s| match s {
            None => *s = Some((reason, 1)),
            Some((_, n)) => *n += 1,
        });
    }

    /// Resolves at the first request, with its reason.
    pub async fn requested(&self) -> StopReason {
        let mut rx = self.state.subscribe();
        let seen = rx.wait_for(Option::is_some).await.map(|s| *s);
        // The sender lives in `self`, so the wait cannot fail.
        seen.ok().flatten().map_or(StopReason::Quit, |(reason, _)| reason)
    }

    /// Resolves at the second request: the user does not want to wait any longer.
    pub async fn gave_up(&self) {
        let mut rx = self.state.subscribe();
        let _ = rx.wait_for(|s| s.is_some_and(|(_, n)| n >= 2)).await;
    }

    pub fn is_requested(&self) -> bool {
        self.state.borrow().is_some()
    }

    /// Listens for SIGINT, SIGTERM and SIGHUP from now on (the default action, ending the process, is off),
    /// each one a request once [`Signals::listen`] runs: one that came before is not lost.
    pub fn listen_for_signals(&self) -> std::io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            shutdown: self.clone(),
        })
    }
}

/// The signals that end a run, caught.
pub struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
    shutdown: Shutdown,
}

impl Signals {
    /// Turns each signal into a shutdown request until `stop` is cancelled.
    pub async fn listen(mut self, stop: CancellationToken) {
        loop {
            let name = tokio::select! {
                () = stop.cancelled() => return,
                _ = self.int.recv() => "SIGINT",
                _ = self.term.recv() => "SIGTERM",
                _ = self.hup.recv() => "SIGHUP",
            };
            tracing::info!("{name}: shutting down");
            self.shutdown.request(StopReason::Signal(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_request_starts_the_shutdown_and_the_second_gives_up() {
        let shutdown = Shutdown::new();
        assert!(!shutdown.is_requested());
        let waiting = tokio::spawn({
            let s = shutdown.clone();
            async move { s.requested().await }
        });
        let giving_up = tokio::spawn({
            let s = shutdown.clone();
            async move { s.gave_up().await }
        });
        shutdown.request(StopReason::Quit);
        assert_eq!(waiting.await.unwrap(), StopReason::Quit);
        tokio::task::yield_now().await;
        assert!(!giving_up.is_finished(), "one request does not give up");
        shutdown.request(StopReason::Signal("SIGINT"));
        giving_up.await.unwrap();
        assert_eq!(shutdown.requested().await, StopReason::Quit, "the first reason stays");
    }
}
