//! Colors: the 16 basic colors only (they work on every terminal and in recordings); none at all when
//! `NO_COLOR` is set.

use ratatui::style::{Color, Modifier, Style};

use crate::resiliency::BreakerState;
use crate::resiliency::events::LogLevel;

use super::model::LineKind;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// Colors unless the `NO_COLOR` convention asks for none.
    pub fn from_env() -> Self {
        Self {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub fn plain() -> Self {
        Self { color: false }
    }

    fn fg(self, c: Color) -> Style {
        if self.color { Style::new().fg(c) } else { Style::new() }
    }

    pub fn breaker(self, s: BreakerState) -> Style {
        let c = match s {
            BreakerState::Closed => Color::Green,
            BreakerState::Open => Color::Red,
            BreakerState::HalfOpen => Color::Yellow,
        };
        self.fg(c).add_modifier(Modifier::BOLD)
    }

    pub fn line(self, k: LineKind) -> Style {
        match k {
            LineKind::Ok => self.fg(Color::Green),
            LineKind::Failed => self.fg(Color::Red),
            LineKind::Info => self.fg(Color::Cyan),
            LineKind::Level(LogLevel::Warn) => self.fg(Color::Yellow),
            LineKind::Level(LogLevel::Error) => self.fg(Color::Red),
            LineKind::Level(_) => Style::new(),
            LineKind::KeyBad(_) => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            LineKind::KeyGood(_) => self.fg(Color::Green).add_modifier(Modifier::BOLD),
            LineKind::Marker => self.fg(Color::Magenta).add_modifier(Modifier::BOLD),
        }
    }

    pub fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }

    pub fn fault_active(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// A strip cell: the state's color; a fault interval shaded behind it.
    pub fn strip_cell(self, s: BreakerState, fault: bool) -> Style {
        let style = self.fg(match s {
            BreakerState::Closed => Color::Green,
            BreakerState::Open => Color::Red,
            BreakerState::HalfOpen => Color::Yellow,
        });
        if fault && self.color {
            style.bg(Color::DarkGray)
        } else {
            style
        }
    }

    pub fn warning(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
}
