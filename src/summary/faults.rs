//! When each fault was injected and cleared. Bounded: per fault a few running totals (faults are the scenario's,
//! a handful), and the first [`KEPT_INTERVALS`] intervals for the JSON, however many cycles the run has.

use std::time::Duration;

use serde_json::json;

/// Intervals kept for the JSON summary: the first ones (the rest are counted).
pub(super) const KEPT_INTERVALS: usize = 20;

/// One fault's story.
#[derive(Debug, Clone)]
pub(super) struct FaultStory {
    pub name: String,
    /// Times it was injected.
    pub injected: u64,
    /// The first interval (cleared `None` while it lasts).
    pub first: (Duration, Option<Duration>),
    /// Injected now, since then.
    pub active_since: Option<Duration>,
    /// The last clear.
    pub last_cleared: Option<Duration>,
    /// Time injected in the intervals that were cleared.
    spent: Duration,
}

impl FaultStory {
    /// Whether it was still injected at `end` (a fault cleared as the run shut down was).
    pub fn active_at(&self, end: Duration) -> bool {
        self.active_since.is_some() || self.last_cleared.is_some_and(|c| c > end)
    }

    /// What became of it when the run ended, if it was injected then: cleared as the run shut down, or not
    /// cleared at all (clearing failed, or the user stopped waiting: the exit names the command).
    pub fn at_exit(&self, end: Duration) -> Option<&'static str> {
        match (self.active_since, self.last_cleared) {
            (Some(_), _) => Some("still injected: not cleared on exit"),
            (None, Some(cleared)) if cleared > end => Some("cleared on exit"),
            _ => None,
        }
    }

    /// Time injected, up to `end`.
    pub fn time_injected(&self, end: Duration) -> Duration {
        let overrun = self.last_cleared.map_or(Duration::ZERO, |c| c.saturating_sub(end));
        let ongoing = self.active_since.map_or(Duration::ZERO, |s| end.saturating_sub(s));
        self.spent.saturating_sub(overrun) + ongoing
    }
}

#[derive(Debug, Clone, Copy)]
struct Interval {
    /// Index in `Faults::stories`.
    fault: usize,
    injected: Duration,
    cleared: Option<Duration>,
}

#[derive(Debug, Default, Clone)]
pub(super) struct Faults {
    /// In the order they were first injected.
    pub stories: Vec<FaultStory>,
    intervals: Vec<Interval>,
    /// Intervals after the first [`KEPT_INTERVALS`].
    pub intervals_dropped: u64,
}

impl Faults {
    pub fn injected(&mut self, name: &str, at: Duration) {
        let fault = match self.stories.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.stories.push(FaultStory {
                    name: name.to_string(),
                    injected: 0,
                    first: (at, None),
                    active_since: None,
                    last_cleared: None,
                    spent: Duration::ZERO,
                });
                self.stories.len() - 1
            }
        };
        let story = &mut self.stories[fault];
        if story.active_since.is_some() {
            return;
        }
        story.injected += 1;
        story.active_since = Some(at);
        if self.intervals.len() < KEPT_INTERVALS {
            self.intervals.push(Interval {
                fault,
                injected: at,
                cleared: None,
            });
        } else {
            self.intervals_dropped += 1;
        }
    }

    pub fn cleared(&mut self, name: &str, at: Duration) {
        let Some(fault) = self.stories.iter().position(|s| s.name == name) else {
            return;
        };
        let story = &mut self.stories[fault];
        let Some(since) = story.active_since.take() else {
            return;
        };
        story.spent += at.saturating_sub(since);
        story.last_cleared = Some(at);
        story.first.1.get_or_insert(at);
        if let Some(open) = self
            .intervals
            .iter_mut()
            .rev()
            .find(|i| i.fault == fault && i.cleared.is_none())
        {
            open.cleared = Some(at);
        }
    }

    /// The kept intervals as the summary's JSON `faults`.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.intervals
            .iter()
            .map(|i| {
                json!({
                    "fault": self.stories[i.fault].name,
                    "injected": i.injected.as_secs_f64(),
                    "cleared": i.cleared.map(|c| c.as_secs_f64()),
                    "seconds": i.cleared.map(|c| c.saturating_sub(i.injected).as_secs_f64()),
                })
            })
            .collect()
    }
}
