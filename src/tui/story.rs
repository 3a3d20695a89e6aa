//! The story line: one sentence in plain words that says what is happening and what comes next, derived only
//! from the model (so from events), for a learner who has never read Dapr's docs.
//!
//! What it says about retries, timeouts and breakers comes from the policy in force for the fault's target
//! (`narrate`), and its counts from the ledger: "Nothing lost" only when no order failed or vanished. Each
//! sentence comes in several lengths, longest first; [`fitted`] picks the longest that fits the screen, so
//! numbers and outcomes stay and the explanations go first.

use std::time::Duration;

use super::fit;
use super::model::{FaultView, Model};
use super::narrate;
use crate::resiliency::BreakerState;

/// What is happening now, at its longest.
pub fn story(model: &Model) -> String {
    candidates(model).into_iter().next().unwrap_or_default()
}

/// The story in at most `width` columns: the longest phrasing that fits, else the shortest cut at a word.
pub fn fitted(model: &Model, width: usize) -> String {
    let all = candidates(model);
    match all.iter().find(|s| fit::columns(s) <= width) {
        Some(s) => s.clone(),
        None => fit::fit_words(all.last().map_or("", String::as_str), width),
    }
}

/// Every phrasing of what is happening now, longest first.
pub fn candidates(model: &Model) -> Vec<String> {
    let injected = model.faults.iter().find(|f| f.injected_since.is_some());
    let retry = model.retry_in_progress();
    let worst = model.breakers.values().map(|b| b.state).max_by_key(|s| match s {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    });
    match (injected, worst, retry) {
        (_, Some(BreakerState::Open), _) => open_breaker(model, injected.is_some()),
        (_, Some(BreakerState::HalfOpen), _) => vec![
            "Breaker HALF-OPEN: one probe goes through; it decides.".to_string(),
            "Breaker HALF-OPEN: one probe decides.".to_string(),
        ],
        (_, _, Some((_, r))) => {
            let order = capitalized(&order_words(model));
            let attempt = r.current_attempt.unwrap_or(1);
            let why = r.last_error.as_deref().map(short_reason).unwrap_or_default();
            // Between attempts the last one failed and the next is due; during one, it is in flight and
            // the one before it failed.
            let (now, short) = match r.next_attempt_at {
                Some(at) => {
                    let next = format!(", {}", narrate::next_try(at.saturating_sub(model.now)));
                    (
                        format!("attempt {attempt} failed{why}{next}"),
                        format!("attempt {attempt} failed{next}"),
                    )
                }
                None => (
                    format!(
                        "attempt {attempt} in flight; attempt {} failed{why}",
                        attempt.saturating_sub(1)
                    ),
                    format!("attempt {attempt} in flight"),
                ),
            };
            let lead = if injected.is_some() { "" } else { "Fault cleared. " };
            let mut v = vec![
                format!("{lead}{order} waits in a retry: {now}."),
                format!("{lead}{order} waits: {now}."),
                format!("{order} waits: {short}."),
            ];
            if injected.is_none() {
                v.insert(
                    0,
                    format!("Fault cleared. The next retry delivers {}.", order_words(model)),
                );
            }
            v
        }
        (Some(f), _, None) => fault_on(model, f),
        (None, _, None) => quiet(model),
    }
}

fn open_breaker(model: &Model, fault_on: bool) -> Vec<String> {
    let soonest = model.breakers.values().filter_map(|b| model.time_to_probe(b)).min();
    let (probe, short) = match soonest {
        // Under 50ms it would read `0.0s`: the probe is the next call.
        Some(wait) if wait >= narrate::DUE => (
            format!(" In {} one call may probe (half-open).", secs(wait)),
            format!(" Probe in {}.", secs(wait)),
        ),
        Some(_) => (
            " The next call will probe (half-open).".to_string(),
            " Next call probes.".to_string(),
        ),
        None => (String::new(), String::new()),
    };
    // With several callers, only the breaker's owner fails fast: say whose, and what the others do.
    let open = model.breakers.values().find(|b| b.state == BreakerState::Open);
    let callers: std::collections::BTreeSet<&str> = model.policies.all().map(|(c, _)| c).collect();
    if let Some(b) = open.filter(|_| callers.len() > 1) {
        let without: Vec<&str> = model
            .policies
            .all()
            .filter(|(c, p)| p.circuit_breaker.is_none() && *c != b.owner)
            .map(|(c, _)| c)
            .collect();
        let others = match without.as_slice() {
            [] => String::new(),
            list => format!(" {} has no breaker and keeps retrying.", list.join(", ")),
        };
        let owner = &b.owner;
        return vec![
            format!("{owner}'s breaker OPEN: its calls fail fast.{others}{probe}"),
            format!("{owner}'s breaker OPEN: its calls fail fast.{others}{short}"),
            format!("{owner}'s breaker OPEN: its calls fail fast.{short}"),
        ];
    }
    if fault_on {
        return vec![
            format!("Breaker OPEN: calls fail fast.{probe}"),
            format!("Breaker OPEN: calls fail fast.{short}"),
        ];
    }
    // A waiting order is delivered only if its own retry is the probe: say what is sure, that a passing probe
    // closes the breaker.
    vec![
        format!("Fault cleared. If the next probe passes, the breaker closes.{probe}"),
        format!("Fault cleared.{short}"),
    ]
}

/// A fault is on and no call waits in a retry: what it will do under the policy in force for its target.
fn fault_on(model: &Model, f: &FaultView) -> Vec<String> {
    let v = match model.policies.for_target(&f.target) {
        Some(p) => narrate::outlook(f.effect, &f.target, p),
        None => vec![format!(
            "Fault on: {}. The next call to {} shows what its policy does.",
            f.action, f.target
        )],
    };
    // The faults pane says a fault is on: on a narrow screen each phrasing first loses `Fault on:`, then its
    // details, so the policy's name stays longer than the prefix.
    v.into_iter()
        .flat_map(|s| {
            let bare = s.strip_prefix("Fault on: ").map(str::to_string);
            std::iter::once(s).chain(bare)
        })
        .collect()
}

/// No fault, nothing waiting: the last order that was retried and the counts, or the policy in force.
fn quiet(model: &Model) -> Vec<String> {
    let s = model.ledger.summary();
    let counts = match (s.failed, s.lost) {
        (0, 0) => "Nothing lost.".to_string(),
        (failed, 0) => format!("{failed} failed in all, none lost."),
        (0, lost) => format!("Lost: {lost}."),
        (failed, lost) => format!("{failed} failed, {lost} lost."),
    };
    let recent = |at: Duration| model.now.saturating_sub(at) < Duration::from_secs(20);
    let retried = model.last_retried().filter(|(_, at)| recent(*at));
    // A breaker that closed after the last retried order is the news: the outage is over.
    let closed = model
        .breakers
        .values()
        .filter_map(|b| b.transitions.back().filter(|t| t.to == BreakerState::Closed))
        .map(|t| t.at)
        .max()
        // The probe that closes a breaker is often the held order itself, answered a moment later: then the
        // order's story (delivered after how long, how many attempts) is the news.
        .filter(|at| recent(*at) && retried.as_ref().is_none_or(|(_, r)| *at > *r + Duration::from_secs(2)));
    if let Some(at) = closed {
        let when = secs(at);
        return vec![
            format!("Breaker CLOSED at {when}: the probe passed, calls flow again. {counts}"),
            format!("Breaker CLOSED at {when}. {counts}"),
        ];
    }
    if let Some((text, _)) = retried {
        let text = capitalized(&text);
        return vec![format!("{text}. {counts}"), format!("{text}.")];
    }
    let key = model.faults.first().map(|f| (f.key, f.action.as_str()));
    let press = |long: bool| match key {
        Some((k, action)) if long => format!(" Press {k} to inject a fault ({action})."),
        Some((k, _)) => format!(" Press {k} to inject a fault."),
        None => String::new(),
    };
    // The policy for the main fault's target, else the first one known.
    let target = model.faults.first().map(|f| f.target.as_str());
    let policy = target
        .and_then(|t| model.policies.for_target(t))
        .or_else(|| model.policies.all().next().map(|(_, p)| p));
    let flowing = s.sent > 0
        || model.ledger.passed() > 0
        || !model.policies.is_empty()
        || !model.retries.is_empty()
        || model.traffic.is_some();
    if !flowing {
        return vec![format!("Waiting for the first call.{}", press(false))];
    }
    // Your own apps send no orders the tool can count: then they are calls.
    let flow = if s.sent > 0 { "Orders flow." } else { "Calls flow." };
    let mut v = Vec::new();
    // Callers with different policies for one target (why-breakers): each named with its own.
    let callers: Vec<(&str, &crate::resiliency::PolicyInForce)> = match target {
        Some(t) => model.policies.all().filter(|(_, p)| p.target == t).collect(),
        None => Vec::new(),
    };
    if callers.len() > 1 {
        let each: Vec<String> = callers.iter().map(|(c, p)| format!("{c}: {}", p.names())).collect();
        v.push(format!("{flow} {}.", each.join("; ")));
        v.push(format!("{}.", each.join("; ")));
    } else if let Some(p) = policy {
        // Which policy, and why it is the one in force, matter more than "Orders flow." or the key hint.
        for w in narrate::policy_words(p) {
            v.extend([format!("{flow} {w}{}", press(false)), format!("{flow} {w}"), w]);
        }
    }
    v.push(format!("{flow}{}", press(true)));
    v.push(format!("{flow}{}", press(false)));
    v
}

fn order_words(model: &Model) -> String {
    model
        .ledger
        .first_waiting()
        .map_or_else(|| "the call".to_string(), |id| format!("order {id}"))
}

/// The failed attempt's reason, shortened for the story line: `(1s timeout)`, `(HTTP 503)`.
fn short_reason(error: &str) -> String {
    match error.find('(') {
        Some(start) if error.starts_with("context deadline exceeded") => format!(" {}", &error[start..]),
        _ => String::new(),
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}
