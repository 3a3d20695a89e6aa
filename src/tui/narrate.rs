//! Sentences about the policy in force: what it is, where it comes from, and what it will do with a fault.
//!
//! Every sentence is derived from a [`PolicyInForce`] (what the engine resolved for that target) and the
//! fault's [`FaultEffect`], never from a generic story: a lesson with no Resiliency policy must not say
//! "the policy will retry it". Each function returns its sentence in several lengths, longest first, so a
//! narrow screen loses the least important words, never the numbers or the outcome.

use std::time::Duration;

use crate::duration::format_go_duration as go;
use crate::resiliency::PolicyInForce;
use crate::resiliency::in_force::{BUILT_IN_WORDS, RetryInForce};
use crate::tui::model::FaultEffect;

/// The policy for a target in a few words, with where it comes from: `retry DefaultAppRetryPolicy (a
/// default, over DefaultRetryPolicy)`.
pub fn policy_words(p: &PolicyInForce) -> Vec<String> {
    if !p.has_policy() && p.built_in_retries {
        return vec![
            capital(&p.parts()) + ".",
            format!("No Resiliency policy: only built-in retries ({BUILT_IN_WORDS})."),
            "No Resiliency policy: only Dapr's built-in retries.".to_string(),
        ];
    }
    if !p.has_policy() {
        return vec![capital(&p.parts()) + "."];
    }
    let (with_source, kinds) = (
        format!("Policy: {} ({}).", p.names(), p.source_words()),
        format!("Policy: {}.", p.parts()),
    );
    // A default's point is which default won (the defaults lesson); a target's, what its policies are.
    let middle = match p.source {
        crate::resiliency::PolicySource::Defaults => [with_source, kinds],
        crate::resiliency::PolicySource::Target => [kinds, with_source],
    };
    let mut v = vec![format!("Policy: {} ({}).", p.parts(), p.source_words())];
    v.extend(middle);
    v.push(format!("Policy: {}.", p.names()));
    v
}

/// A retry that can retry (a `maxRetries: 0` policy never does).
fn retrying(p: &PolicyInForce) -> Option<&RetryInForce> {
    p.retry.as_ref().filter(|r| r.max_retries != 0)
}

/// What the fault now on will do to calls to `target` under policy `p`, longest first.
pub fn outlook(effect: FaultEffect, target: &str, p: &PolicyInForce) -> Vec<String> {
    let retried = |what: &str| -> Vec<String> {
        match retrying(p) {
            Some(r) => {
                let inner = if p.built_in_retries && effect == FaultEffect::Unreachable {
                    ", each attempt holding Dapr's 3 built-in retries"
                } else {
                    ""
                };
                vec![
                    format!("Fault on: {what}; {} retries each call ({}){inner}.", r.name, r.summary),
                    format!("Fault on: {what}; {} retries each call.", r.name),
                    format!("Fault on: {what}; calls are retried."),
                ]
            }
            None if p.built_in_retries && effect == FaultEffect::Unreachable => vec![
                format!("Fault on: {what}; only Dapr's built-in retries: 3 more tries 1s apart, then the call fails."),
                format!("Fault on: {what}; 3 built-in retries 1s apart, then the call fails."),
                format!("Fault on: {target} unreachable: 3 built-in retries 1s apart, then the call fails."),
            ],
            None if p.built_in_retries => vec![
                format!(
                    "Fault on: {what}; no retry policy, and the built-in retries cover an unreachable sidecar only: calls fail at once."
                ),
                format!("Fault on: {what}; no retry policy: calls fail at once."),
            ],
            None => vec![format!("Fault on: {what}; no retry policy: calls fail at once.")],
        }
    };
    match effect {
        FaultEffect::Unreachable => retried(&format!("{target} is unreachable")),
        FaultEffect::AppDown => retried(&format!("{target}'s app is down")),
        FaultEffect::StoreDown => retried(&format!("the {target} store fails calls")),
        FaultEffect::Status(code) => status(code, target, p),
        FaultEffect::Slow(delay) | FaultEffect::StoreSlow(delay) => slow(delay, target, p),
        FaultEffect::Hang | FaultEffect::StoreHang => match &p.timeout {
            Some(t) => {
                let mut v = vec![format!(
                    "Fault on: {target} never answers; the {} timeout ends each attempt after {}.",
                    t.name,
                    go(t.duration)
                )];
                v.extend(retried(&format!(
                    "{target} never answers, each attempt ends after {}",
                    go(t.duration)
                )));
                v
            }
            None => vec![
                format!("Fault on: {target} never answers, and no timeout policy ends the wait: calls hang."),
                "Fault on: no answer, and no timeout: calls hang.".to_string(),
            ],
        },
    }
}

fn status(code: u16, target: &str, p: &PolicyInForce) -> Vec<String> {
    match retrying(p) {
        Some(r) if p.retries_status(code) => vec![
            format!(
                "Fault on: {target} answers {code}; {} retries it ({}).",
                r.name, r.summary
            ),
            format!("Fault on: {target} answers {code}; {} retries it.", r.name),
        ],
        Some(r) => vec![
            format!(
                "Fault on: {target} answers {code}; {}'s `matching` does not retry {code}: calls fail at once.",
                r.name
            ),
            format!("Fault on: {target} answers {code}, not retried: calls fail at once."),
        ],
        None if p.built_in_retries => vec![
            format!(
                "Fault on: {target} answers {code}; the built-in retries never retry an app's answer: calls fail at once."
            ),
            format!("Fault on: {target} answers {code}, not retried: calls fail at once."),
        ],
        None => vec![format!(
            "Fault on: {target} answers {code}; no retry policy: calls fail at once."
        )],
    }
}

fn slow(delay: Duration, target: &str, p: &PolicyInForce) -> Vec<String> {
    let d = go(delay);
    match &p.timeout {
        Some(t) if t.duration <= delay => vec![
            format!(
                "Fault on: {target} takes {d}; the {} timeout ends each attempt at {}: context deadline exceeded.",
                t.name,
                go(t.duration)
            ),
            format!(
                "Fault on: {target} takes {d}; each attempt times out at {}.",
                go(t.duration)
            ),
            format!("Fault on: calls take {d}; each times out at {}.", go(t.duration)),
        ],
        Some(t) => vec![
            format!(
                "Fault on: {target} takes {d}, within the {} timeout ({}): calls are slower, not failed.",
                t.name,
                go(t.duration)
            ),
            format!(
                "Fault on: calls take {d}, within the {} timeout: slower, not failed.",
                go(t.duration)
            ),
        ],
        None => vec![
            format!("Fault on: {target} takes {d}; no timeout policy, so slow calls still succeed."),
            format!("Fault on: calls take {d}; no timeout: slow, not failed."),
        ],
    }
}

/// Why a target has no circuit breaker, what it has instead, and where a breaker would go: sentences, the
/// most telling first.
pub fn no_breaker(p: &PolicyInForce) -> Vec<String> {
    let mut v = Vec::new();
    if !p.has_policy() {
        v.push(format!("{}: no Resiliency policy, so no circuit breaker.", p.target));
        if p.built_in_retries {
            v.push(format!("Only Dapr's built-in retries apply ({BUILT_IN_WORDS})."));
        }
    } else {
        v.push(format!("{}: no circuit breaker.", p.target));
        if let Some(r) = &p.retry {
            v.push(format!("Retry {} ({}): {}.", r.name, p.source_words(), r.summary));
        }
        if let Some(t) = &p.timeout {
            v.push(format!("Timeout {}: {} per attempt.", t.name, go(t.duration)));
        }
    }
    v.push(format!(
        "A breaker would go in a Resiliency's {}.circuitBreaker.",
        p.target_field
    ));
    v
}

fn capital(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// Under this, a wait shown in tenths would read `0.0s`: the thing waited for is due now.
pub const DUE: Duration = Duration::from_millis(50);

/// `next try in 1.3s`, or `next try now` when the retry is due (not `in 0.0s`).
pub fn next_try(wait: Duration) -> String {
    if wait < DUE {
        "next try now".to_string()
    } else {
        format!("next try in {:.1}s", wait.as_secs_f64())
    }
}

#[cfg(test)]
mod next_try_tests {
    use super::*;

    #[test]
    fn a_retry_under_50ms_away_is_due_now() {
        assert_eq!(next_try(Duration::from_millis(49)), "next try now");
        assert_eq!(next_try(Duration::ZERO), "next try now");
        assert_eq!(next_try(Duration::from_millis(50)), "next try in 0.1s");
        assert_eq!(next_try(Duration::from_millis(1340)), "next try in 1.3s");
    }
}
