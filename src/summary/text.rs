//! The summary for people: the same few lines however long the run, none wider than 80 columns, each starting
//! with `== SUMMARY ==` so that headless output can be grepped for it.

use std::fmt::Display;
use std::time::Duration;

use super::Ledger;
use super::breaker::BreakerHistory;
use super::faults::FaultStory;
use crate::resiliency::BreakerState;

pub(super) const WIDTH: usize = 80;
const FIRST: &str = "== SUMMARY == ";
/// Continuation lines are indented under their first line.
const NEXT: &str = "== SUMMARY ==   ";
/// A space the wrap does not break at, to keep a phrase ("lost 0") on one line.
const GLUE: char = '\u{a0}';
/// Lost ids named in the text (the JSON's `lost_ids` has them all).
const NAMED_LOST: usize = 20;

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Phrases separated by commas; the wrap breaks lines only between them.
fn phrases<S: AsRef<str>>(parts: &[S]) -> String {
    let glued: Vec<String> = parts
        .iter()
        .map(|p| p.as_ref().replace(' ', &GLUE.to_string()))
        .collect();
    glued.join(", ")
}

fn count(n: impl Display, one: &str, many: &str) -> String {
    let n = n.to_string();
    format!("{n} {}", if n == "1" { one } else { many })
}

/// Lines being written: each paragraph is wrapped at word boundaries.
#[derive(Default)]
struct Lines(Vec<String>);

impl Lines {
    /// A new item: its first line is `FIRST`, the rest `NEXT`.
    fn item(&mut self, text: &str) {
        self.wrap(FIRST, text);
    }

    /// More of the item above, indented.
    fn more(&mut self, text: &str) {
        self.wrap(NEXT, text);
    }

    fn wrap(&mut self, lead: &str, text: &str) {
        let mut line = lead.to_string();
        let mut fresh = true;
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            let mut word: Vec<char> = word.chars().collect();
            loop {
                let room = WIDTH.saturating_sub(line.chars().count() + usize::from(!fresh));
                if word.len() <= room {
                    if !fresh {
                        line.push(' ');
                    }
                    line.extend(&word);
                    fresh = false;
                    break;
                }
                if fresh {
                    // Longer than a whole line: cut it.
                    line.extend(word.drain(..room));
                }
                self.0
                    .push(std::mem::replace(&mut line, NEXT.to_string()).replace(GLUE, " "));
                fresh = true;
                if word.is_empty() {
                    break;
                }
            }
        }
        if !fresh {
            self.0.push(line.replace(GLUE, " "));
        }
    }
}

impl Ledger {
    /// The summary for people.
    pub fn text(&self, end: Duration) -> String {
        let s = self.summary();
        // The state app's orders are saved and read back, not delivered.
        let state = self.orders.any_saved();
        let (delivered, answered) = match state {
            true => ("saved and read back", "saved"),
            false => ("delivered", "delivered"),
        };
        let mut out = Lines::default();
        out.item(&phrases(&[
            format!("{}: sent {}", secs(end), s.sent),
            match self.receipts_counted() || s.sent == 0 {
                true => format!("{delivered} {}", s.delivered),
                // The receiver is not the tool's app: what arrived there is not counted, only the answers.
                false => format!("passed {} (arrivals not counted: your app)", self.passed()),
            },
            format!("lost {}", s.lost),
            format!("duplicated {}", s.duplicated),
        ]));
        out.item(&phrases(&[
            format!("failed {}", s.failed),
            format!("in flight {}", s.in_flight),
            format!("retries {}", s.retries),
        ]));
        self.waits(&mut out, end, answered);
        // Apps the tool did not write send no orders it can count: what their sidecars saw is the summary.
        if s.sent == 0 {
            for line in self.targets.lines() {
                out.item(&line);
            }
        }
        for story in &self.faults.stories {
            out.item(&fault_line(story, end));
        }
        for (name, history) in &self.breakers {
            breaker_lines(&mut out, name, history, end);
        }
        self.warnings(&mut out, s.lost);
        out.0.iter().map(|l| format!("{l}\n")).collect()
    }

    /// The longest wait of an answered order, and an order still waiting longer than that at the end.
    fn waits(&self, out: &mut Lines, end: Duration, answered: &str) {
        // An order answered at once did not wait for anything worth a line.
        let waited = self
            .longest_wait
            .filter(|w| w.attempts.is_some_and(|n| n > 1) || w.waited >= Duration::from_secs(1));
        if let Some(w) = waited {
            let mut wait = vec![format!("longest wait: order {}", w.order_id)];
            wait.push(match w.attempts {
                Some(n) => format!("{} over {}", secs(w.waited), count(n, "attempt", "attempts")),
                None => secs(w.waited),
            });
            wait.push(format!("then {}", if w.failed { "failed" } else { answered }));
            out.item(&phrases(&wait));
        }
        let longest = self.longest_wait.map_or(Duration::ZERO, |w| w.waited);
        if let Some((id, waited)) = self.oldest_unanswered(end).filter(|(_, waited)| *waited > longest) {
            out.item(&format!(
                "order {id} still waiting after {} when the run ended",
                secs(waited)
            ));
        }
    }

    /// gRPC methods called but not served, output that could not keep up, and lost orders.
    fn warnings(&self, out: &mut Lines, lost: usize) {
        for unserved in &self.unserved_grpc {
            out.item(unserved);
        }
        if self.routine_dropped > 0 || self.news_dropped > 0 {
            out.item(&format!(
                "{} routine events dropped: the output could not keep up ({}); the counts above are exact",
                self.routine_dropped,
                match self.news_dropped {
                    0 => "orders, retries, breaker changes and faults are all above".to_string(),
                    n => format!("nor could it show {n} other events, orders among them"),
                }
            ));
        }
        if lost > 0 {
            let ids = self.lost_ids();
            let named = &ids[..ids.len().min(NAMED_LOST)];
            let rest = match ids.len() - named.len() {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            out.item(&format!("LOST orders (passed but never received): {named:?}{rest}"));
        }
    }
}

/// When a fault was injected and cleared, in one line (or two, for a long name).
fn fault_line(story: &FaultStory, end: Duration) -> String {
    let (injected, cleared) = story.first;
    let active = story.active_at(end);
    let interval = |c: Duration| format!("{}–{} ({})", secs(injected), secs(c), secs(c.saturating_sub(injected)));
    let mut parts = match (story.injected, cleared.filter(|_| !active)) {
        (1, Some(c)) => vec![interval(c)],
        (1, None) => vec![format!("{}–end ({})", secs(injected), secs(story.time_injected(end)))],
        (n, _) => vec![
            format!("injected {n} times"),
            format!("first {}", cleared.map_or_else(|| secs(injected), interval)),
            format!("{} in all", secs(story.time_injected(end))),
        ],
    };
    if let Some(exit) = story.at_exit(end) {
        parts.push(exit.to_string());
    }
    format!("fault {}: {}", story.name, phrases(&parts))
}

/// A breaker's story: its name, when it opened and closed, how its probes went, and time in each state.
fn breaker_lines(out: &mut Lines, name: &str, history: &BreakerHistory, end: Duration) {
    out.item(&format!("breaker \"{name}\":"));
    let mut story = Vec::new();
    match (history.first_opened, history.times_opened) {
        (None, _) | (_, 0) => story.push("never opened".to_string()),
        (Some(first), 1) => story.push(format!("opened at {}", secs(first))),
        (Some(first), n) => story.push(format!("opened {n} times (first at {})", secs(first))),
    }
    if history.times_opened > 0 {
        story.push(format!(
            "{} failed",
            count(history.probes_failed, "half-open probe", "half-open probes")
        ));
        match (history.state(), history.last_closed) {
            (BreakerState::Closed, Some(closed)) if history.times_opened > 1 => {
                story.push(format!("last closed at {}", secs(closed)))
            }
            (BreakerState::Closed, Some(closed)) => story.push(format!("closed at {}", secs(closed))),
            (state, _) => story.push(format!("still {state} at the end")),
        }
    }
    out.more(&phrases(&story));
    let times: Vec<String> = history
        .time_in_states(end)
        .iter()
        .map(|(state, d)| format!("{state} {}", secs(*d)))
        .collect();
    out.more(&format!("time in state: {}", phrases(&times)));
}
