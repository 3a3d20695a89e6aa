//! The logs the panes show: bounded, each line with what it is (for its color) and a shorter form for narrow
//! panes.

use std::collections::VecDeque;
use std::time::Duration;

use crate::resiliency::events::LogLevel;

/// How many lines each log keeps.
pub const LOG_CAPACITY: usize = 2000;

/// What a log line is, for its color.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Ok,
    Failed,
    Info,
    Level(LogLevel),
    /// One of the lines the story turns on, at the level daprd gives it: a breaker opened (bad news) ...
    KeyBad(LogLevel),
    /// ... or closed, or a request recovered (good news).
    KeyGood(LogLevel),
    Marker,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub at: Duration,
    pub text: String,
    /// A shorter form for a narrow pane (fault markers), used before anything is elided.
    pub short: Option<String>,
    pub kind: LineKind,
}

impl LogLine {
    /// The forms of this line, longest first.
    pub fn variants(&self) -> Vec<&str> {
        std::iter::once(self.text.as_str())
            .chain(self.short.as_deref())
            .collect()
    }
}

/// How many of the longest lines a log remembers (for the layout).
const LONGEST_KEPT: usize = 8;

/// A bounded log.
#[derive(Debug, Clone, Default)]
pub struct Log {
    pub title: String,
    pub lines: VecDeque<LogLine>,
    /// The longest lines seen so far, longest first: the layout sizes the sidecar log by them once, so that it
    /// shows at least 4 lines without jumping as lines arrive.
    pub longest: Vec<LogLine>,
}

impl Log {
    pub fn titled(title: &str) -> Self {
        Self {
            title: title.to_string(),
            lines: VecDeque::new(),
            longest: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, at: Duration, text: String, kind: LineKind) {
        self.push_line(LogLine {
            at,
            text,
            short: None,
            kind,
        });
    }

    pub(super) fn push_line(&mut self, line: LogLine) {
        let len = line.text.chars().count();
        let at = self.longest.partition_point(|l| l.text.chars().count() >= len);
        if at < LONGEST_KEPT && !self.longest.iter().any(|l| l.text == line.text) {
            self.longest.insert(at, line.clone());
            self.longest.truncate(LONGEST_KEPT);
        }
        if self.lines.len() == LOG_CAPACITY {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}
