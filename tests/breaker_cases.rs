//! Acceptance cases 1–17 of `dapr-resiliency.md` §5.2 (gobreaker's and Dapr's breaker tests), on a paused clock.

use crate::common;

use std::time::Duration;

use common::*;
use resilience_tui::resiliency::BreakerState::*;
use resilience_tui::resiliency::events::{Rejection, ResiliencyEvent};
use tokio::time::advance;

fn defaults() -> resilience_tui::resiliency::CircuitBreakerPolicy {
    Default::default()
}

/// Cases 1–7: gobreaker's defaults (maxRequests 1, interval 0, timeout 60s, trip consecutiveFailures > 5).
#[tokio::test(start_paused = true)]
async fn cases_1_to_7_default_breaker() {
    let (b, rec) = breaker(defaults());
    for _ in 0..5 {
        call(&b, false).unwrap();
    }
    assert_eq!(b.state(), Closed, "case 1");
    assert_eq!(counts(&b), (5, 0, 5, 0, 5), "case 1");

    call(&b, true).unwrap();
    assert_eq!(counts(&b), (6, 1, 5, 1, 0), "case 2");
    call(&b, false).unwrap();
    assert_eq!(counts(&b), (7, 1, 6, 0, 1), "case 2");
    assert_eq!(b.state(), Closed, "case 2");

    for _ in 0..5 {
        call(&b, false).unwrap();
    }
    assert_eq!(b.state(), Open, "case 3");
    assert_eq!(counts(&b), (0, 0, 0, 0, 0), "case 3");
    assert_eq!(transitions(&rec), ["closed->open"], "case 3");
    let line = &rec.dapr_logs()[0].1.message;
    assert_eq!(
        line, "Circuit breaker \"test\" changed state from closed to open",
        "case 3"
    );
    // The transition carries the counts that caused it.
    let caused_by = rec.events().into_iter().find_map(|(_, e)| match e {
        ResiliencyEvent::BreakerStateChanged { counts, .. } => Some(counts.consecutive_failures),
        _ => None,
    });
    assert_eq!(caused_by, Some(6));

    assert_eq!(call(&b, true), Err(Rejection::Open), "case 4");
    assert_eq!(counts(&b), (0, 0, 0, 0, 0), "case 4: a rejected call is not counted");

    advance(Duration::from_secs(59)).await;
    assert_eq!(b.state(), Open, "case 5: still open after 59s");
    advance(Duration::from_secs(1)).await;
    assert_eq!(b.state(), HalfOpen, "case 5: half-open once the timeout has passed");

    call(&b, false).unwrap();
    assert_eq!(b.state(), Open, "case 6: a half-open failure re-opens");
    advance(Duration::from_secs(59)).await;
    assert_eq!(b.state(), Open, "case 6: with a fresh 60s window");
    advance(Duration::from_secs(1)).await;
    assert_eq!(b.state(), HalfOpen);

    call(&b, true).unwrap();
    assert_eq!(b.state(), Closed, "case 7");
    assert_eq!(counts(&b), (0, 0, 0, 0, 0), "case 7");
    assert_eq!(
        transitions(&rec),
        [
            "closed->open",
            "open->half-open",
            "half-open->open",
            "open->half-open",
            "half-open->closed"
        ]
    );
}

fn custom() -> resilience_tui::resiliency::CircuitBreakerPolicy {
    // gobreaker's TestCustomCircuitBreaker trips on `requests >= 3 && failureRatio >= 0.6`.
    policy(
        3,
        30,
        Duration::from_secs(90),
        "requests >= 3 && double(totalFailures) / double(requests) >= 0.6",
    )
}

/// Cases 8–12: a custom breaker with an interval and maxRequests 3.
#[tokio::test(start_paused = true)]
async fn cases_8_to_12_custom_breaker() {
    let (b, _rec) = breaker(custom());
    for _ in 0..5 {
        call(&b, true).unwrap();
        call(&b, false).unwrap();
    }
    assert_eq!(b.state(), Closed, "case 8");
    assert_eq!(counts(&b), (10, 5, 5, 0, 1), "case 8");

    advance(Duration::from_secs(29)).await;
    call(&b, true).unwrap();
    assert_eq!(counts(&b), (11, 6, 5, 1, 0), "case 9");
    advance(Duration::from_secs(1)).await;
    call(&b, false).unwrap();
    assert_eq!(
        counts(&b),
        (1, 0, 1, 0, 1),
        "case 9: the interval cleared the counts first"
    );

    call(&b, true).unwrap();
    call(&b, false).unwrap();
    assert_eq!(b.state(), Open, "case 10: 2 of 3 failed");

    advance(Duration::from_secs(90)).await;
    call(&b, true).unwrap();
    call(&b, true).unwrap();
    assert_eq!(b.state(), HalfOpen, "case 11");
    assert_eq!(counts(&b), (2, 2, 0, 2, 0), "case 11");

    let third = b.admit().expect("the third half-open request is admitted");
    assert_eq!(b.admit().err(), Some(Rejection::TooManyRequests), "case 12");
    third.complete(true);
    assert_eq!(b.state(), Closed, "case 12");
}

/// Case 13: a result from an older generation is ignored.
#[tokio::test(start_paused = true)]
async fn case_13_old_generation_ignored() {
    let (b, _rec) = breaker(custom());
    let slow = b.admit().unwrap();
    advance(Duration::from_secs(31)).await;
    slow.complete(false);
    assert_eq!(counts(&b), (0, 0, 0, 0, 0));
}

/// Case 14: Dapr's TestCircuitBreaker_RequestCount (`requests > 4`, timeout 100ms), through the runner.
#[tokio::test(start_paused = true)]
async fn case_14_request_count() {
    use resilience_tui::resiliency::{Failure, PolicyDefinition};
    let (b, _rec) = breaker(policy(1, 0, Duration::from_millis(100), "requests > 4"));
    let b = std::sync::Arc::new(b);
    let def = PolicyDefinition::new(
        "op",
        None,
        None,
        Some(b.clone()),
        std::sync::Arc::new(resilience_tui::resiliency::events::Discard),
    );
    for _ in 0..3 {
        assert!(def.run(|_| async { Err::<i32, _>(REFUSED) }).await.is_err());
    }
    assert_eq!(b.state(), Closed);
    for _ in 0..2 {
        assert!(def.run(|_| async { Err::<i32, _>(REFUSED) }).await.is_err());
    }
    assert_eq!(b.state(), Open);
    assert_eq!(
        def.run(|_| async { Ok::<_, OpError>(1) }).await,
        Err(Failure::Rejected(Rejection::Open))
    );
    advance(Duration::from_millis(200)).await;
    assert_eq!(b.state(), HalfOpen);
    assert_eq!(def.run(|_| async { Ok::<_, OpError>(42) }).await, Ok(42));
}

/// Case 15: `totalFailures > 4` is not reset by a success.
#[tokio::test(start_paused = true)]
async fn case_15_total_failures() {
    let (b, _rec) = breaker(policy(1, 0, Duration::from_secs(60), "totalFailures > 4"));
    for _ in 0..3 {
        call(&b, false).unwrap();
    }
    call(&b, true).unwrap();
    call(&b, false).unwrap();
    assert_eq!(b.state(), Closed, "4 failures in total");
    call(&b, false).unwrap();
    assert_eq!(b.state(), Open, "the 5th failure trips although a success came between");
    assert_eq!(call(&b, false), Err(Rejection::Open));
}

/// Case 16: `consecutiveFailures > 3` is reset by a success.
#[tokio::test(start_paused = true)]
async fn case_16_consecutive_failures() {
    let (b, _rec) = breaker(policy(1, 0, Duration::from_secs(60), "consecutiveFailures > 3"));
    for _ in 0..3 {
        call(&b, false).unwrap();
    }
    call(&b, true).unwrap();
    call(&b, false).unwrap();
    assert_eq!(b.state(), Closed);
    for _ in 0..3 {
        call(&b, false).unwrap();
    }
    assert_eq!(b.state(), Open);
}

/// Case 17: a trip naming an unknown variable fails to evaluate and never trips.
#[tokio::test(start_paused = true)]
async fn case_17_unknown_variable_never_trips() {
    let (b, _rec) = breaker(policy(1, 0, Duration::from_secs(60), "failures > 1"));
    for _ in 0..100 {
        call(&b, false).unwrap();
    }
    assert_eq!(b.state(), Closed);
    assert_eq!(counts(&b).2, 100);
}

/// A cancelled (dropped) admission counts as a failure, as a cancelled context does in Dapr.
#[tokio::test(start_paused = true)]
async fn dropped_admission_is_a_failure() {
    let (b, _rec) = breaker(policy(1, 0, Duration::from_secs(5), "consecutiveFailures >= 1"));
    drop(b.admit().unwrap());
    assert_eq!(b.state(), Open);
}
