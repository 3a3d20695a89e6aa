//! The fault picker (`F`): every fault of the scenario in a list, on or off, with what it does and its
//! explanation; enter injects or clears the one selected. For scenarios with more faults than a learner can
//! keep in mind (or than the faults pane shows on a small screen), and a way to clear one fault of several.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::model::Model;
use super::overlay::{self, Para};
use super::theme::Theme;

/// What a key does while the picker is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picked {
    Stay,
    Close,
    /// Inject fault `i` if it is off, clear it if it is on.
    Toggle(usize),
}

/// Moves the selection, or picks; `faults` is how many there are.
pub fn on_key(selected: &mut usize, key: &KeyEvent, faults: usize) -> Picked {
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => *selected = selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => *selected = (*selected + 1).min(faults.saturating_sub(1)),
        KeyCode::Enter | KeyCode::Char(' ') if faults > 0 => return Picked::Toggle(*selected),
        KeyCode::Esc | KeyCode::Char('F') => return Picked::Close,
        _ => {}
    }
    Picked::Stay
}

pub fn draw(frame: &mut Frame, area: Rect, model: &Model, selected: usize, theme: Theme) {
    let width = area.width.min(76);
    let mut lines: Vec<Para> = Vec::new();
    for (i, f) in model.faults.iter().enumerate() {
        let state = match f.injected_since {
            Some(since) => format!("ON {:.1}s", model.now.saturating_sub(since).as_secs_f64()),
            None => "off".to_string(),
        };
        let mark = if i == selected { "> " } else { "  " };
        let style = if i == selected {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        let row = Line::from(vec![
            Span::styled(format!("{mark}[{}] {}", f.key, f.name), style),
            Span::raw("  "),
            Span::styled(
                state,
                if f.injected_since.is_some() {
                    theme.fault_active()
                } else {
                    theme.dim()
                },
            ),
            Span::styled(format!("  {}", f.action), theme.dim()),
        ]);
        // A row too long for the box wraps under the fault's name.
        lines.push(Para::new(row, 4));
    }
    if let Some(f) = model.faults.get(selected) {
        lines.push(Para::blank());
        lines.push(Para::new(Line::raw(f.explain.clone()), 0));
    }
    let title = " faults (up/down, enter: on/off, esc closes) ";
    let rect = overlay::centred(area, (width, lines.len() as u16 + 8));
    let rows = overlay::rows(&lines, overlay::text_width(rect));
    overlay::draw(frame, rect, rows, 0, title, theme);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_selection_stays_in_the_list_and_enter_picks_it() {
        let mut selected = 0;
        assert_eq!(on_key(&mut selected, &key(KeyCode::Up), 3), Picked::Stay);
        assert_eq!(selected, 0);
        for _ in 0..5 {
            on_key(&mut selected, &key(KeyCode::Down), 3);
        }
        assert_eq!(selected, 2);
        assert_eq!(on_key(&mut selected, &key(KeyCode::Enter), 3), Picked::Toggle(2));
        assert_eq!(on_key(&mut selected, &key(KeyCode::Esc), 3), Picked::Close);
        assert_eq!(
            on_key(&mut selected, &key(KeyCode::Enter), 0),
            Picked::Stay,
            "no fault, nothing to pick"
        );
    }
}
