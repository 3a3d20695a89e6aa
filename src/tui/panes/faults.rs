//! The faults pane: one row per fault (its key, whether it is on and since when, what it does), the Docker
//! container's state when a fault acts on one. Each row fits its line: the description is cut after a whole
//! word, and the reminder of the key folds away first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{block, secs};
use crate::event::ContainerState;
use crate::tui::fit;
use crate::tui::model::{FaultView, Model};
use crate::tui::theme::Theme;

fn fault_line(f: &FaultView, model: &Model, width: usize, theme: Theme) -> Line<'static> {
    let key = format!("[{}] ", f.key);
    let name = format!("{}: ", f.name);
    let (state, style, rest) = match (f.pending, f.injected_since) {
        (Some(what), _) => (format!("{what}\u{2026}"), theme.fault_active(), Vec::new()),
        (None, Some(since)) => {
            let state = format!("INJECTED {}", secs(model.now.saturating_sub(since)));
            // The description whole, else the action in a few words with its numbers (`latency 1.5s`), and
            // only then the description cut: `now wait…` without its number says nothing.
            let room = width.saturating_sub(fit::columns(&key) + fit::columns(&name) + fit::columns(&state));
            let description = format!(" \u{b7} {}", f.description);
            let what = if fit::columns(&description) <= room {
                (description, false)
            } else if fit::columns(&f.action) + 3 <= room {
                (format!(" \u{b7} {}", f.action), false)
            } else {
                (description, true)
            };
            (
                state,
                theme.fault_active(),
                vec![what, (" \u{b7} c clears".to_string(), false)],
            )
        }
        (None, None) => (
            "off".to_string(),
            theme.dim(),
            vec![
                (format!(" \u{b7} {}", f.action), false),
                (format!(" \u{b7} press {} to inject", f.key), false),
                (format!(" \u{b7} {}", f.explain), false),
            ],
        ),
    };
    let fixed = fit::columns(&key) + fit::columns(&name) + fit::columns(&state);
    let mut tail = String::new();
    for (part, may_cut) in &rest {
        let room = width.saturating_sub(fixed + fit::columns(&tail));
        // A description may be cut after a whole word; the other parts come whole or not at all.
        let part = if *may_cut {
            fit::fit_words(part, room)
        } else {
            part.clone()
        };
        if fit::columns(&part) > room || part.trim_matches(['\u{b7}', ' ', '\u{2026}']).len() <= 1 {
            continue;
        }
        tail.push_str(&part);
        if part.ends_with('\u{2026}') {
            break; // a cut description is the last thing on its row
        }
    }
    Line::from(vec![
        Span::styled(key, theme.key()),
        Span::raw(name),
        Span::styled(state, style),
        Span::raw(tail),
    ])
}

/// The row of the container a fault acts on, from Docker's events.
fn container_line(name: &str, state: ContainerState, theme: Theme) -> Line<'static> {
    let style = if state == ContainerState::Running {
        theme.dim()
    } else {
        theme.fault_active()
    };
    Line::from(vec![
        Span::raw("    container "),
        Span::styled(format!("{name}: {state}"), style),
    ])
}

/// One row for the faults that are off, when there is no room for a row each: their keys and names, as many
/// as fit (the help screen, `?`, lists every key).
fn idle_line(idle: &[&FaultView], width: usize, theme: Theme) -> Line<'static> {
    let names: Vec<String> = idle.iter().map(|f| format!("[{}] {}", f.key, f.name)).collect();
    let text = fit::fit_words(&format!("off: {}", names.join(" \u{b7} ")), width.saturating_sub(16));
    let text = text + " \u{b7} F lists all";
    Line::styled(text, theme.dim())
}

pub fn faults(frame: &mut Frame, area: Rect, model: &Model, theme: Theme) {
    let width = area.width.saturating_sub(2) as usize;
    let rows = area.height.saturating_sub(2) as usize;
    let active = |f: &FaultView| f.injected_since.is_some() || f.pending.is_some() || f.last_error.is_some();
    let needed = model.faults.len()
        + model.faults.iter().filter(|f| f.last_error.is_some()).count()
        + usize::from(model.container.is_some());
    // A row per fault when they fit; else the faults that are on (and the container) first, the rest on one row.
    let compact = needed > rows;
    let mut lines = Vec::new();
    for f in model.faults.iter().filter(|f| !compact || active(f)) {
        lines.push(fault_line(f, model, width, theme));
        if let Some(e) = &f.last_error {
            let text = fit::fit_words(&format!("    last change failed: {e}"), width);
            lines.push(Line::styled(text, theme.fault_active()));
        }
    }
    if let Some((name, state)) = &model.container {
        lines.push(container_line(name, *state, theme));
    }
    let idle: Vec<&FaultView> = model.faults.iter().filter(|f| !active(f)).collect();
    if compact && !idle.is_empty() && lines.len() < rows {
        lines.push(idle_line(&idle, width, theme));
    }
    if lines.is_empty() {
        lines.push(Line::styled("this scenario has no faults", theme.dim()));
    }
    super::lines_in(frame, lines, area, Some(block(" faults ".into(), false, theme)));
}
