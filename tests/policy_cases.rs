//! Acceptance cases of `dapr-resiliency.md` §5.2 about running operations under a policy (retry × breaker ×
//! timeout), on a paused clock. The HTTP forms of cases 25–29 (status pass-through, error JSON) belong to the
//! sidecar; here their engine half is checked: call counts, what is returned, what the breaker counted.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use resilience_tui::resiliency::events::{Recorder, Rejection, ResiliencyEvent};
use resilience_tui::resiliency::retry::{BackoffPolicy, RetryPolicy, StatusMatching};
use resilience_tui::resiliency::{BreakerState, CircuitBreaker, Failure, PolicyDefinition};
use tokio::time::{Instant, advance, sleep};

fn constant(ms: u64, max_retries: i64) -> Arc<RetryPolicy> {
    Arc::new(RetryPolicy {
        backoff: BackoffPolicy::Constant {
            interval: Duration::from_millis(ms),
        },
        max_retries,
        matching: StatusMatching::default(),
    })
}

fn with_http_matching(mut r: RetryPolicy, codes: &str) -> Arc<RetryPolicy> {
    r.matching.http = StatusMatching::parse_list(codes, (100, 599)).unwrap();
    Arc::new(r)
}

fn shared_breaker(p: resilience_tui::resiliency::CircuitBreakerPolicy, rec: &Arc<Recorder>) -> Arc<CircuitBreaker> {
    Arc::new(CircuitBreaker::new("app:method", Arc::new(p), rec.clone()))
}

fn def(
    timeout: Option<Duration>,
    retry: Option<Arc<RetryPolicy>>,
    cb: Option<Arc<CircuitBreaker>>,
) -> (PolicyDefinition, Arc<Recorder>) {
    let rec = Recorder::new();
    (
        PolicyDefinition::new("endpoint[app, app:method]", timeout, retry, cb, rec.clone()),
        rec,
    )
}

/// Case 18: the timeout applies per attempt and drops the late attempt.
#[tokio::test(start_paused = true)]
async fn case_18_timeout() {
    let (p, _) = def(Some(Duration::from_millis(10)), None, None);
    let side_effect = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let flag = side_effect.clone();
    let result = p
        .run(|_| {
            let flag = flag.clone();
            async move {
                sleep(Duration::from_millis(100)).await;
                flag.store(true, Ordering::SeqCst);
                Ok::<_, OpError>(())
            }
        })
        .await;
    assert_eq!(result, Err(Failure::Timeout));
    assert_eq!(result.unwrap_err().to_string(), "context deadline exceeded");
    assert_eq!(start.elapsed(), Duration::from_millis(10));
    assert!(!side_effect.load(Ordering::SeqCst), "the timed-out attempt was dropped");

    let (p, _) = def(Some(Duration::from_millis(100)), None, None);
    let ok = p
        .run(|_| async {
            sleep(Duration::from_millis(10)).await;
            Ok::<_, OpError>(7)
        })
        .await;
    assert_eq!(ok, Ok(7));
}

/// Case 19: six attempts, the sixth succeeds; attempt numbers are 1..6.
#[tokio::test(start_paused = true)]
async fn case_19_retry_until_success() {
    let (p, rec) = def(None, Some(constant(0, 6)), None);
    let seen = std::sync::Mutex::new(Vec::new());
    let result = p
        .run(|attempt| {
            seen.lock().unwrap().push(attempt);
            async move { if attempt <= 5 { Err(REFUSED) } else { Ok(attempt) } }
        })
        .await;
    assert_eq!(result, Ok(6));
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3, 4, 5, 6]);
    let logs: Vec<String> = rec.dapr_logs().into_iter().map(|(_, l)| l.message).collect();
    assert_eq!(
        logs,
        [
            "Error processing operation endpoint[app, app:method]. Retrying in 0s\u{2026}",
            "Error for operation endpoint[app, app:method] was: connection refused",
            "Recovered processing operation endpoint[app, app:method] after 6 attempts",
        ]
    );
}

/// Case 20: maxRetries 2 means 3 calls, and the last error is returned.
#[tokio::test(start_paused = true)]
async fn case_20_max_retries() {
    let (p, _) = def(None, Some(constant(10, 2)), None);
    let calls = AtomicU32::new(0);
    let result = p
        .run(|_| {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Err::<(), _>(code(500 + n as u16)) }
        })
        .await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(result, Err(Failure::Operation(code(503))), "the last attempt's error");
}

/// Case 21: `matching` decides which coded errors are retried; the breaker counts a non-retried one.
#[tokio::test(start_paused = true)]
async fn case_21_matching() {
    let base = RetryPolicy {
        backoff: BackoffPolicy::Constant {
            interval: Duration::ZERO,
        },
        max_retries: 6,
        ..Default::default()
    };
    let (p, _) = def(None, Some(with_http_matching(base.clone(), "500-599")), None);
    let calls = AtomicU32::new(0);
    let result = p
        .run(|_| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { if n < 5 { Err(code(500)) } else { Ok(()) } }
        })
        .await;
    assert_eq!((result, calls.load(Ordering::SeqCst)), (Ok(()), 6));

    let rec = Recorder::new();
    let cb = shared_breaker(Default::default(), &rec);
    let (p, _) = def(None, Some(with_http_matching(base, "400-499")), Some(cb.clone()));
    let calls = AtomicU32::new(0);
    let result = p
        .run(|_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(code(500)) }
        })
        .await;
    assert_eq!(result, Err(Failure::Operation(code(500))));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "500 is not in 400-499: permanent");
    assert_eq!(cb.snapshot().counts.total_failures, 1, "the breaker counted it");
}

/// Case 25 (engine half): an app answering 400 is retried 3 times and its last answer returned.
#[tokio::test(start_paused = true)]
async fn case_25_app_error_retried_then_returned() {
    let (p, _) = def(None, Some(constant(100, 3)), None);
    let calls = AtomicU32::new(0);
    let result = p
        .run(|_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(code(400)) }
        })
        .await;
    assert_eq!(
        (calls.load(Ordering::SeqCst), result),
        (4, Err(Failure::Operation(code(400))))
    );
}

/// Cases 26–27: which failing statuses a matching list retries (successes never reach matching).
#[tokio::test(start_paused = true)]
async fn cases_26_27_matching_list() {
    let list = "100,101,102,200,304,403,505,501-503,509,546,547";
    let base = RetryPolicy {
        backoff: BackoffPolicy::Constant {
            interval: Duration::ZERO,
        },
        max_retries: 3,
        ..Default::default()
    };
    for (status, expected_calls) in [
        (404, 1),
        (504, 1),
        (548, 1),
        (403, 4),
        (501, 4),
        (502, 4),
        (503, 4),
        (505, 4),
        (509, 4),
        (546, 4),
        (547, 4),
    ] {
        let (p, _) = def(None, Some(with_http_matching(base.clone(), list)), None);
        let calls = AtomicU32::new(0);
        let result = p
            .run(|_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move { Err::<(), _>(code(status)) }
            })
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), expected_calls, "status {status}");
        assert_eq!(
            result,
            Err(Failure::Operation(code(status))),
            "the app's status is returned"
        );
    }
}

/// Cases 28–29: per-method breakers; an open one rejects without calling the app, the probe closes it.
#[tokio::test(start_paused = true)]
async fn cases_28_29_breaker_without_retry() {
    let rec = Recorder::new();
    let orders = shared_breaker(policy(1, 0, Duration::from_secs(5), "consecutiveFailures >= 3"), &rec);
    let other = shared_breaker(policy(1, 0, Duration::from_secs(5), "consecutiveFailures >= 3"), &rec);
    let (p, _) = def(None, None, Some(orders.clone()));
    let (q, _) = def(None, None, Some(other.clone()));
    let calls = AtomicU32::new(0);
    let app = |_| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        async move { if n < 3 { Err(code(500)) } else { Ok(200) } }
    };
    for _ in 0..3 {
        assert_eq!(
            p.run(app).await,
            Err(Failure::Operation(code(500))),
            "calls 1-3 get the app's 500"
        );
    }
    assert_eq!(p.run(app).await, Err(Failure::Rejected(Rejection::Open)));
    assert_eq!(calls.load(Ordering::SeqCst), 3, "the app was not called");
    assert_eq!(
        q.run(|_| async { Ok::<_, OpError>(200) }).await,
        Ok(200),
        "another method has its own breaker"
    );
    advance(Duration::from_secs(6)).await;
    assert_eq!(p.run(app).await, Ok(200));
    assert_eq!(orders.state(), BreakerState::Closed);
    assert_eq!(p.run(app).await, Ok(200));
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

/// Case 30: three requests make 6, 6 and 4 calls; the 17th attempt hits the open breaker.
#[tokio::test(start_paused = true)]
async fn case_30_e2e_breaker_stops_retries() {
    let rec = Recorder::new();
    let cb = shared_breaker(policy(1, 0, Duration::from_secs(60), "consecutiveFailures > 15"), &rec);
    let (p, _) = def(Some(Duration::from_millis(500)), Some(constant(10, 5)), Some(cb));
    let calls = AtomicU32::new(0);
    let app = |_| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        async move { if n < 20 { Err(code(500)) } else { Ok(()) } }
    };
    let mut totals = Vec::new();
    for _ in 0..3 {
        let _ = p.run(app).await;
        totals.push(calls.load(Ordering::SeqCst));
    }
    assert_eq!(totals, [6, 12, 16]);
    assert_eq!(p.run(app).await, Err(Failure::Rejected(Rejection::Open)));
    assert_eq!(calls.load(Ordering::SeqCst), 16);
}

/// Case 31: slow attempts time out and are retried; a recovering app then answers.
#[tokio::test(start_paused = true)]
async fn case_31_timeouts_are_retried() {
    let rec = Recorder::new();
    let cb = shared_breaker(policy(1, 0, Duration::from_secs(60), "consecutiveFailures > 15"), &rec);
    let (p, _) = def(Some(Duration::from_millis(500)), Some(constant(10, 5)), Some(cb));
    let calls = AtomicU32::new(0);
    let result = p
        .run(|_| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    sleep(Duration::from_secs(2)).await;
                }
                Ok::<_, OpError>(200)
            }
        })
        .await;
    assert_eq!((result, calls.load(Ordering::SeqCst)), (Ok(200), 4));

    let calls = AtomicU32::new(0);
    let result = p
        .run(|_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(code(500)) }
        })
        .await;
    assert_eq!(
        (result, calls.load(Ordering::SeqCst)),
        (Err(Failure::Operation(code(500))), 6)
    );
}

/// Case 33: a retry interval shorter than the breaker timeout: the request fails fast once it trips.
#[tokio::test(start_paused = true)]
async fn case_33_short_retry_hits_open_breaker() {
    let rec = Recorder::new();
    let cb = shared_breaker(policy(1, 0, Duration::from_secs(30), "consecutiveFailures >= 3"), &rec);
    let (p, _) = def(None, Some(constant(1000, -1)), Some(cb));
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let result = p
        .run(|_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(REFUSED) }
        })
        .await;
    assert_eq!(result.unwrap_err().to_string(), "circuit breaker is open");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

/// Case 34 (engine half): a permanent error (an ETag conflict) is not retried but counts as a breaker failure.
#[tokio::test(start_paused = true)]
async fn case_34_permanent_error() {
    let rec = Recorder::new();
    let cb = shared_breaker(Default::default(), &rec);
    let (p, events) = def(None, Some(constant(10, 3)), Some(cb.clone()));
    let calls = AtomicU32::new(0);
    let conflict = OpError {
        code: Some(409),
        permanent: true,
    };
    let result = p
        .run(|_| {
            calls.fetch_add(1, Ordering::SeqCst);
            let c = conflict.clone();
            async move { Err::<(), _>(c) }
        })
        .await;
    assert_eq!(
        (result, calls.load(Ordering::SeqCst)),
        (Err(Failure::Operation(conflict)), 1)
    );
    assert_eq!(cb.snapshot().counts.total_failures, 1);
    assert!(
        !events
            .events()
            .iter()
            .any(|(_, e)| matches!(e, ResiliencyEvent::Retrying { .. })),
        "no Retrying line"
    );
}

/// Exponential backoff: 500ms × 1.5 with ±50% jitter; the first wait is never capped.
#[tokio::test(start_paused = true)]
async fn exponential_backoff_bounds() {
    let policy = RetryPolicy {
        backoff: BackoffPolicy::Exponential {
            max_interval: Duration::from_millis(100),
            max_elapsed: Duration::from_secs(900),
        },
        max_retries: -1,
        ..Default::default()
    };
    for seed in 0..50 {
        let mut b = policy.start_with_rng(fastrand::Rng::with_seed(seed));
        let first = b.next_backoff().unwrap();
        assert!(
            first >= Duration::from_millis(250) && first <= Duration::from_millis(750),
            "{first:?}"
        );
        for _ in 0..5 {
            let next = b.next_backoff().unwrap();
            assert!(
                next >= Duration::from_millis(50) && next <= Duration::from_millis(150),
                "{next:?}"
            );
        }
    }
    // Exponential "forever" stops once 15 minutes have passed.
    let policy = RetryPolicy {
        backoff: BackoffPolicy::Exponential {
            max_interval: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(900),
        },
        max_retries: -1,
        ..Default::default()
    };
    let mut b = policy.start();
    advance(Duration::from_secs(900)).await;
    assert_eq!(b.next_backoff(), None);
}
