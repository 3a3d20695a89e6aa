//! The engine's half of "a call cut by our own shutdown is no failure of its target", on a paused clock: a
//! request run with `run_cancellable` whose token fires mid-attempt or mid-wait ends as `Cancelled`, with no
//! breaker count, no failed attempt and no retry; dropped after the token fired, it is not counted either;
//! dropped before (a caller that went away, as in Dapr), it still is.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use resilience_tui::resiliency::events::{Recorder, ResiliencyEvent};
use resilience_tui::resiliency::retry::{BackoffPolicy, RetryPolicy, StatusMatching};
use resilience_tui::resiliency::{CircuitBreaker, Failure, PolicyDefinition};
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

fn retrying_with_a_breaker() -> (PolicyDefinition, Arc<CircuitBreaker>, Arc<Recorder>) {
    let rec = Recorder::new();
    let retry = Arc::new(RetryPolicy {
        backoff: BackoffPolicy::Constant {
            interval: Duration::from_secs(1),
        },
        max_retries: -1,
        matching: StatusMatching::default(),
    });
    let cb = Arc::new(CircuitBreaker::new(
        "app:method",
        Arc::new(policy(1, 0, Duration::from_secs(5), "consecutiveFailures >= 5")),
        rec.clone(),
    ));
    let def = PolicyDefinition::new(
        "endpoint[app, app:method]",
        None,
        Some(retry),
        Some(cb.clone()),
        rec.clone(),
    );
    (def, cb, rec)
}

/// What the engine said besides the attempts it started.
fn said(rec: &Recorder) -> Vec<String> {
    rec.events()
        .into_iter()
        .filter(|(_, e)| !matches!(e, ResiliencyEvent::AttemptStarted { .. }))
        .map(|(_, e)| format!("{e:?}"))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn cancelled_mid_attempt_counts_nothing_and_retries_nothing() {
    let (def, cb, rec) = retrying_with_a_breaker();
    let cancel = CancellationToken::new();
    let cancel_later = cancel.clone();
    tokio::spawn(async move {
        sleep(Duration::from_millis(500)).await;
        cancel_later.cancel();
    });
    let result: Result<(), Failure<OpError>> = def
        .run_cancellable(&cancel, |_| async {
            sleep(Duration::from_secs(10)).await;
            Err(code(500))
        })
        .await;
    assert_eq!(result, Err(Failure::Cancelled));
    assert_eq!(counts(&cb), (1, 0, 0, 0, 0), "admitted, neither success nor failure");
    assert_eq!(
        said(&rec),
        Vec::<String>::new(),
        "no failed attempt, retry or breaker count"
    );
    let again: Result<(), Failure<OpError>> = def.run_cancellable(&cancel, |_| async { Ok(()) }).await;
    assert_eq!(again, Err(Failure::Cancelled), "a request after the end does not run");
}

#[tokio::test(start_paused = true)]
async fn cancelled_in_a_retry_wait_makes_no_further_attempt() {
    let (def, _, rec) = retrying_with_a_breaker();
    let cancel = CancellationToken::new();
    let cancel_later = cancel.clone();
    tokio::spawn(async move {
        sleep(Duration::from_millis(500)).await;
        cancel_later.cancel();
    });
    let mut attempts = 0;
    let result: Result<(), Failure<OpError>> = def
        .run_cancellable(&cancel, |_| {
            attempts += 1;
            async { Err(code(500)) }
        })
        .await;
    assert_eq!(result, Err(Failure::Cancelled));
    assert_eq!(attempts, 1, "the retry due at 1s never ran");
    let scheduled = rec
        .events()
        .iter()
        .filter(|(_, e)| matches!(e, ResiliencyEvent::RetryScheduled { .. }))
        .count();
    assert_eq!(scheduled, 1, "only the wait that was cut");
}

#[tokio::test(start_paused = true)]
async fn dropped_after_the_end_is_not_counted_but_dropped_before_is() {
    for ended in [true, false] {
        let (def, cb, _) = retrying_with_a_breaker();
        let cancel = CancellationToken::new();
        let mut request = Box::pin(def.run_cancellable(&cancel, |_| async {
            sleep(Duration::from_secs(10)).await;
            Ok::<(), OpError>(())
        }));
        let in_flight = tokio::time::timeout(Duration::from_millis(100), &mut request).await;
        assert!(in_flight.is_err(), "the attempt is in flight");
        // The caller's connection goes (its future is dropped, never polled again), after the end or before.
        if ended {
            cancel.cancel();
        }
        drop(request);
        let failures = counts(&cb).2;
        assert_eq!(failures, u32::from(!ended), "run ended first: {ended}");
    }
}
