//! A log pane: newest line at the bottom unless scrolled; each line on one row when its names can be elided
//! to fit, else wrapped between words. Measuring and drawing use the same rows, so the pane never jumps.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::block;
use crate::tui::fit;
use crate::tui::model::{Log, LogLine};
use crate::tui::theme::Theme;

/// A log, newest at the bottom, `scroll` lines up from the end, keeping only lines containing `filter`.
pub fn log(frame: &mut Frame, area: Rect, log: &Log, focused: bool, scroll: usize, filter: Option<&str>, theme: Theme) {
    let height = area.height.saturating_sub(2) as usize;
    let width = area.width.saturating_sub(2).max(1) as usize;
    let lines: Vec<&LogLine> = log
        .lines
        .iter()
        .filter(|l| filter.is_none_or(|f| l.text.contains(f)))
        .collect();
    let rows_of = |l: &LogLine| fit::log_rows(&l.variants(), width);
    // Never scrolled past the content: at most so far that the oldest line is at the top of a full pane.
    let scroll = scroll.min(lines.len().saturating_sub(fits_from_top(&lines, &rows_of, height)));
    let end = lines.len().saturating_sub(scroll);
    let mut shown: Vec<Line> = Vec::new();
    for line in lines[..end].iter().rev() {
        let mut rows = rows_of(line);
        if shown.is_empty() && rows.len() > height {
            // The newest line alone is taller than the pane: its first rows, cut after a whole word.
            rows.truncate(height);
            if let Some(last) = rows.last_mut() {
                *last = fit::fit_words(&format!("{last} \u{2026}"), width);
            }
        }
        if shown.len() + rows.len() > height {
            break;
        }
        let style = theme.line(line.kind);
        for row in rows.into_iter().rev() {
            shown.push(Line::styled(row, style));
        }
    }
    shown.reverse();
    let mut title = format!(" {} ", log.title);
    if let Some(f) = filter {
        title.push_str(&format!("[/{f}] "));
    }
    if scroll > 0 {
        title.push_str(&format!("[{scroll} up \u{b7} End: live] "));
    }
    super::lines_in(frame, shown, area, Some(block(title, focused, theme)));
}

/// How many of the oldest lines fill a pane of `height` rows.
fn fits_from_top(lines: &[&LogLine], rows_of: &dyn Fn(&LogLine) -> Vec<String>, height: usize) -> usize {
    let mut rows = 0;
    for (i, line) in lines.iter().enumerate() {
        rows += rows_of(line).len();
        if rows > height {
            return i;
        }
    }
    lines.len()
}
