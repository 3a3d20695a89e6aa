//! The scenario list (`scenarios`, and `scenario` with no name): each scenario's name, then its title and
//! summary wrapped between words under a hanging indent, to the terminal's width (80 columns when the output
//! is not a terminal: a pipe, a file, a test), so a projector at 80 columns never shows a word split in two.

use crate::scenario::{self, builtin};
use crate::tui::fit;

/// The width when the output is not a terminal, and the least the list is wrapped to.
const DEFAULT_WIDTH: usize = 80;
/// The narrowest the description column gets, however narrow the terminal.
const LEAST_TEXT: usize = 24;
/// A longer name goes on a line of its own rather than pushing every description to the right.
const WIDEST_NAME_COLUMN: usize = 22;

/// Columns for text written to a stream: the terminal's width when it is one, else 80.
pub fn width(stream_is_terminal: bool) -> usize {
    if !stream_is_terminal {
        return DEFAULT_WIDTH;
    }
    crossterm::terminal::size().map_or(DEFAULT_WIDTH, |(w, _)| usize::from(w).max(1))
}

/// The scenarios in the order `scenario::list` gives (the quickstarts, then the lessons in teaching order), in
/// at most `width` columns (unless the terminal is narrower than a name and [`LEAST_TEXT`]).
pub fn listing(width: usize) -> String {
    let sources = scenario::list();
    let column = sources
        .iter()
        .map(|s| fit::columns(&s.name()) + 2)
        .filter(|n| *n <= WIDEST_NAME_COLUMN)
        .max()
        .unwrap_or(0);
    let text_width = width.saturating_sub(column).max(LEAST_TEXT);
    let mut out = String::new();
    for source in sources {
        let name = source.name();
        let text = match source.load() {
            Ok(s) => format!("{} - {}", s.title, s.summary),
            Err(e) => format!("(does not load: {})", e.lines().next().unwrap_or_default()),
        };
        let mut lead = if fit::columns(&name) + 2 <= column {
            name
        } else {
            out.push_str(&format!("{name}\n"));
            String::new()
        };
        for row in fit::wrap_words(&text, text_width) {
            out.push_str(&format!("{lead:<column$}{row}\n"));
            lead.clear();
        }
    }
    out
}

/// How to run one, and which to start with (the first built-in scenario: a quickstart), in `width` columns.
pub fn how_to_run(width: usize) -> String {
    let first = builtin::BUILT_IN[0].name;
    let lines = [
        "run one: resilience-tui scenario NAME".to_string(),
        format!("the first time, start with: resilience-tui scenario {first}"),
    ];
    lines
        .iter()
        .flat_map(|l| fit::wrap_words(l, width.max(LEAST_TEXT)))
        .map(|row| row + "\n")
        .collect()
}
