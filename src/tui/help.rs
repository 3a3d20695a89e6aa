//! The help overlay (`?`): the lesson first (its title, what it is about, then what to watch for each fault),
//! then the loader's warnings, then every key binding. Nearly the whole screen on a small terminal, at most
//! [`MAX_WIDTH`] columns on a large one, and scrolled by the keys the keymap gives scrolling.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::keymap::{self, Binding, Command};
use super::model::Model;
use super::overlay::{self, Para};
use super::theme::Theme;

/// The widest the box gets: longer lines are hard to read.
pub const MAX_WIDTH: u16 = 100;
/// Columns of a key's label in the keys table; its description wraps under itself.
const KEY_COLUMN: usize = 12;
/// Indent of a fault's explanation under its key and name.
const EXPLAIN_INDENT: usize = 3;

/// The help's text, in the order a learner needs it: `lesson` is the scenario's summary.
pub fn paras(model: &Model, keymap: &[Binding], lesson: &str, theme: Theme) -> Vec<Para> {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut out = vec![Para::new(Line::styled(model.title.clone(), bold), 0)];
    if !lesson.is_empty() {
        out.push(Para::new(Line::raw(lesson.to_string()), 0));
    }
    if !model.faults.is_empty() {
        out.push(Para::blank());
        out.push(Para::new(Line::styled("What to watch", bold), 0));
    }
    for (i, f) in model.faults.iter().enumerate() {
        if i > 0 {
            out.push(Para::blank());
        }
        let heading = Line::from(vec![
            Span::styled(format!("{:<EXPLAIN_INDENT$}", f.key), theme.key()),
            Span::styled(f.name.clone(), bold),
            Span::styled(format!(" \u{b7} {}", f.action), theme.dim()),
        ]);
        out.push(Para::new(heading, EXPLAIN_INDENT));
        if !f.explain.is_empty() {
            let indent = " ".repeat(EXPLAIN_INDENT);
            out.push(Para::new(Line::raw(format!("{indent}{}", f.explain)), EXPLAIN_INDENT));
        }
    }
    if !model.warnings.is_empty() {
        out.push(Para::blank());
        out.push(Para::new(
            Line::styled("Warnings about the resources", theme.warning()),
            0,
        ));
        out.extend(model.warnings.iter().map(|w| {
            let at = w.location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default();
            let help = w.help.as_deref().map(|h| format!("; {h}")).unwrap_or_default();
            Para::new(Line::raw(format!("{}{at}{help}", w.message)), 2)
        }));
    }
    out.push(Para::blank());
    out.push(Para::new(Line::styled("Keys", bold), 0));
    out.extend(keymap.iter().map(|b| {
        let line = Line::from(vec![
            Span::styled(format!("  {:<width$}", b.label, width = KEY_COLUMN - 2), theme.key()),
            Span::raw(super::view::binding_help(b, model)),
        ]);
        Para::new(line, KEY_COLUMN)
    }));
    out
}

/// The box and its rows: one column and one row of the UI left around it on a small terminal (the clock and
/// the footer stay in view), at most [`MAX_WIDTH`] wide, no taller than its text.
fn layout(area: Rect, paras: &[Para]) -> (Rect, Vec<Line<'static>>) {
    let width = area.width.saturating_sub(2).min(MAX_WIDTH);
    let rows = overlay::rows(paras, overlay::text_width(Rect::new(0, 0, width, 0)));
    let height = (rows.len() as u16).saturating_add(2).min(area.height.saturating_sub(2));
    (overlay::centred(area, (width, height)), rows)
}

/// How far the help scrolls in `area`, and how many rows a page key moves it (a box's height less one, so
/// the last row of a page is the first of the next).
pub fn extent(area: Rect, model: &Model, keymap: &[Binding], lesson: &str) -> (usize, usize) {
    let (rect, rows) = layout(area, &paras(model, keymap, lesson, Theme::plain()));
    let page = overlay::visible(rect).saturating_sub(1).max(1);
    (overlay::max_scroll(rows.len(), rect), page)
}

/// Draws the help over `area`, from row `scroll`.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    model: &Model,
    keymap: &[Binding],
    lesson: &str,
    scroll: usize,
    theme: Theme,
) {
    let (rect, rows) = layout(area, &paras(model, keymap, lesson, theme));
    let close = keymap::labels(keymap, |c| c == Command::ToggleHelp).join(" or ");
    let title = if rows.len() > overlay::visible(rect) {
        let scroll_keys = keymap::labels(keymap, Command::scrolls).join(", ");
        format!(" help \u{b7} {close} or esc closes \u{b7} {scroll_keys} scroll ")
    } else {
        format!(" help \u{b7} {close} or esc closes ")
    };
    overlay::draw(frame, rect, rows, scroll, &title, theme);
}

/// The help's first row after a scroll `command` (its offset counts down from the top): `page` rows a page,
/// never past `last`.
pub fn scrolled(top: usize, command: Command, page: usize, last: usize) -> usize {
    let up = |n: i32| top.saturating_add_signed(-(n as isize));
    match command {
        Command::Scroll(n) => up(n),
        Command::Page(n) => up(n.saturating_mul(page as i32)),
        Command::ScrollToOldest => 0,
        Command::ScrollToLive => last,
        _ => top,
    }
    .min(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scroll_keys_move_within_the_text() {
        let (page, last) = (19, 36);
        assert_eq!(scrolled(0, Command::Scroll(1), page, last), 0, "up at the top stays");
        assert_eq!(scrolled(0, Command::Scroll(-1), page, last), 1);
        assert_eq!(scrolled(0, Command::Page(-1), page, last), 19);
        assert_eq!(
            scrolled(19, Command::Page(-1), page, last),
            36,
            "a page stops at the end"
        );
        assert_eq!(scrolled(36, Command::Scroll(-1), page, last), 36);
        assert_eq!(scrolled(36, Command::Page(1), page, last), 17);
        assert_eq!(scrolled(20, Command::ScrollToOldest, page, last), 0);
        assert_eq!(scrolled(0, Command::ScrollToLive, page, last), 36);
    }
}
