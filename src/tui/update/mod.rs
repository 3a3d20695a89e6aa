//! What a key does, without a terminal: [`update`] changes what the person is looking at (the view, the
//! frozen copy of the model, a fault's "injecting…" mark) and returns what the run must do, which the UI
//! loop hands to the lifecycle's `Control`. Pure apart from that state, so every key is unit-tested here.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;

use super::keymap::{self, Binding, Command};
use super::model::Model;
use super::view::{self, View};
use super::{help, picker};
use crate::event::FaultChange;

/// What a key asks of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Inject(usize),
    Clear(usize),
    ClearFaults,
    /// Injected latencies longer (true) or shorter.
    AdjustLatency(bool),
    /// End the run; again while it ends: stop waiting for the faults to clear.
    Quit,
}

/// What a key is pressed in.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub keymap: &'a [Binding],
    /// The scenario's summary: how long the help is depends on it.
    pub lesson: &'a str,
    /// The drawing area (the help scrolls by what fits in it).
    pub area: Rect,
    /// The run is shutting down: no fault is injected or cleared by hand any more.
    pub stopping: bool,
}

/// Applies `key` to the screen's state; says what the run must do, if anything.
pub fn update(
    model: &mut Model,
    view: &mut View,
    frozen: &mut Option<Model>,
    cx: &Context,
    key: &KeyEvent,
) -> Option<Effect> {
    let command = keymap::dispatch(cx.keymap, key);
    tracing::debug!(?key, ?command, "key");
    // The screen only asks for a bigger window: a key whose effect cannot be seen does nothing.
    let too_small = cx.area.width < view::MIN_WIDTH || cx.area.height < view::MIN_HEIGHT;
    if too_small && !matches!(command, Some(Command::Quit | Command::ToggleHelp)) {
        return None;
    }
    if view.editing.is_some() {
        edit_filter(view, key);
        return None;
    }
    if view.picker.is_some() {
        return in_picker(model, view, cx.stopping, command, key);
    }
    if view.help && key.code == KeyCode::Esc {
        view.help = false;
        return None;
    }
    let logs = view.scroll.len().max(1);
    match command? {
        Command::Quit => return Some(Effect::Quit),
        Command::InjectFault(i) => {
            let off = model.faults.get(i).is_some_and(|f| f.injected_since.is_none());
            if cx.stopping || !off {
                return None;
            }
            model.set_pending(i, FaultChange::Injecting);
            return Some(Effect::Inject(i));
        }
        Command::ClearFaults => {
            for i in 0..model.faults.len() {
                if model.faults[i].injected_since.is_some() {
                    model.set_pending(i, FaultChange::Clearing);
                }
            }
            return Some(Effect::ClearFaults);
        }
        Command::AdjustLatency(longer) => return Some(Effect::AdjustLatency(longer)),
        Command::ToggleHelp => {
            view.help = !view.help;
            view.help_scroll = 0;
        }
        c if view.help && c.scrolls() => {
            let shown = frozen.as_ref().unwrap_or(model);
            let (last, page) = help::extent(cx.area, shown, cx.keymap, cx.lesson);
            view.help_scroll = help::scrolled(view.help_scroll, c, page, last);
        }
        Command::PickFault => view.picker = Some(0),
        Command::ToggleFreeze => match frozen.take() {
            Some(_) => view.frozen_behind = None,
            None => {
                *frozen = Some(model.clone());
                view.frozen_behind = Some(0);
            }
        },
        Command::StartFilter => {
            view.editing = Some(view.filters.get(view.focus).cloned().flatten().unwrap_or_default())
        }
        Command::FocusNext => view.focus = (view.focus + 1) % logs,
        Command::FocusPrev => view.focus = (view.focus + logs - 1) % logs,
        c @ (Command::Scroll(_) | Command::Page(_) | Command::ScrollToOldest | Command::ScrollToLive) => {
            scroll(model, view, c)
        }
    }
    None
}

/// A key while the fault picker is open: q still quits (and closes it).
fn in_picker(
    model: &mut Model,
    view: &mut View,
    stopping: bool,
    command: Option<Command>,
    key: &KeyEvent,
) -> Option<Effect> {
    if command == Some(Command::Quit) {
        view.picker = None;
        return Some(Effect::Quit);
    }
    let selected = view.picker.as_mut()?;
    match picker::on_key(selected, key, model.faults.len()) {
        picker::Picked::Stay => None,
        picker::Picked::Close => {
            view.picker = None;
            None
        }
        picker::Picked::Toggle(_) if stopping => None,
        // Enter injects the fault when it is off, clears it when it is on.
        picker::Picked::Toggle(i) => match model.faults.get(i)?.injected_since {
            Some(_) => {
                model.set_pending(i, FaultChange::Clearing);
                Some(Effect::Clear(i))
            }
            None => {
                model.set_pending(i, FaultChange::Injecting);
                Some(Effect::Inject(i))
            }
        },
    }
}

/// Scrolls the focused log (its offset counts up from the newest line); scrolling stops at the oldest line,
/// never past the content.
fn scroll(model: &Model, view: &mut View, command: Command) {
    let oldest = focused_log_len(model, view.focus).saturating_sub(1);
    let Some(s) = view.scroll.get_mut(view.focus) else {
        return;
    };
    *s = match command {
        Command::Scroll(n) => s.saturating_add_signed(n as isize).min(oldest),
        Command::Page(n) => s.saturating_add_signed((n * keymap::LOG_PAGE) as isize).min(oldest),
        Command::ScrollToOldest => oldest,
        Command::ScrollToLive => 0,
        _ => *s,
    };
}

/// Lines in the log that has focus: the order logs in order, then the sidecar log.
fn focused_log_len(model: &Model, focus: usize) -> usize {
    match model.orders.get(focus) {
        Some((_, log)) => log.lines.len(),
        None => model.sidecar.lines.len(),
    }
}

/// A key while a filter is typed: enter applies it (empty clears), esc cancels.
fn edit_filter(view: &mut View, key: &KeyEvent) {
    let Some(text) = view.editing.as_mut() else { return };
    match key.code {
        KeyCode::Enter => {
            let filter = view.editing.take().filter(|t| !t.is_empty());
            if let Some(slot) = view.filters.get_mut(view.focus) {
                *slot = filter;
            }
        }
        KeyCode::Esc => view.editing = None,
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) => text.push(c),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
