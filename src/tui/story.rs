//! The story line: one sentence in plain words that says what is happening and what comes next, derived only
//! from the model (so from events), for a learner who has never read Dapr's docs.

use std::time::Duration;

use super::model::Model;
use crate::resiliency::BreakerState;

/// What is happening now, in plain words.
pub fn story(model: &Model) -> String {
    let injected = model.faults.iter().find(|f| f.injected_since.is_some());
    let waiting = model.ledger.first_waiting();
    let retry = model.retries.values().find(|r| r.in_retry > 0);
    let next_try = retry
        .and_then(|r| r.next_attempt_at)
        .map(|at| secs(at.saturating_sub(model.now)));
    let worst = model.breakers.values().map(|b| b.state).max_by_key(|s| match s {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    });
    let order = |id: Option<u64>| id.map_or_else(|| "the order".to_string(), |id| format!("order {id}"));
    match (injected, worst, retry) {
        (_, Some(BreakerState::Open), _) => {
            let soonest = model.breakers.values().filter_map(|b| model.time_to_probe(b)).min();
            let probe = match soonest {
                Some(wait) if !wait.is_zero() => format!(" In {} one call may probe (half-open).", secs(wait)),
                Some(_) => " The next call will probe (half-open).".to_string(),
                None => String::new(),
            };
            match injected {
                Some(_) => format!("Breaker OPEN: calls fail fast.{probe}"),
                None => format!(
                    "Fault cleared. The next probe will close the breaker and deliver {}.{probe}",
                    order(waiting)
                ),
            }
        }
        (_, Some(BreakerState::HalfOpen), _) => "Breaker HALF-OPEN: one probe goes through; it decides.".to_string(),
        (Some(_), _, Some(r)) => {
            let attempt = r.current_attempt.unwrap_or(1);
            let next = next_try.map_or_else(String::new, |t| format!(", next try in {t}"));
            format!(
                "Fault on. {} waits in a retry: attempt {attempt} failed{next}.",
                capitalized(&order(waiting))
            )
        }
        (Some(f), _, None) if f.action.contains("latency") => {
            "Fault on: every call is slower now; only a timeout policy turns slow into failed.".to_string()
        }
        (Some(_), _, None) => "Fault on: the next call will fail, and the policy will retry it.".to_string(),
        (None, _, Some(_)) => format!("Fault cleared. The next retry delivers {}.", order(waiting)),
        (None, _, None) => match model.last_retried() {
            Some((text, at)) if model.now.saturating_sub(at) < Duration::from_secs(20) => {
                let lost = match model.ledger.summary().lost {
                    0 => "Nothing lost.".to_string(),
                    n => format!("Lost: {n}."),
                };
                format!("{}. {lost}", capitalized(&text))
            }
            _ => match model.faults.first() {
                Some(f) => format!(
                    "Orders flow. Press {} to inject a fault and watch the policy work.",
                    f.key
                ),
                None => "Orders flow.".to_string(),
            },
        },
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}
