use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::{Context, Effect, update};
use crate::event::FaultChange;
use crate::tui::keymap::{self, Binding, Command, LOG_PAGE};
use crate::tui::model::{LineKind, LogLine, Model};
use crate::tui::view::View;

/// Lines in the first order log, and where its view starts (scrolled up a little, so every way of
/// scrolling shows).
const LINES: usize = 30;
const SCROLLED: usize = 5;

/// The screen of state-management (four faults, and a help longer than 80x24), as the UI loop holds it.
struct Screen {
    model: Model,
    view: View,
    frozen: Option<Model>,
    keymap: Vec<Binding>,
    lesson: String,
    area: Rect,
    stopping: bool,
}

impl Screen {
    fn new() -> Self {
        let builtin = crate::scenario::builtin::get("state-management").unwrap();
        let scenario = crate::scenario::Source::BuiltIn(builtin).load().unwrap();
        let mut model = Model::new(&scenario);
        for i in 0..LINES {
            model.orders[0].1.lines.push_back(LogLine {
                at: Duration::from_millis(i as u64),
                text: format!("line {i}"),
                short: None,
                kind: LineKind::Info,
            });
        }
        let mut view = View::new(model.orders.len() + 1);
        view.scroll[0] = SCROLLED;
        Self {
            model,
            view,
            frozen: None,
            keymap: keymap::keymap(&scenario.faults),
            lesson: scenario.summary.clone(),
            area: Rect::new(0, 0, 80, 24),
            stopping: false,
        }
    }

    fn press_with(&mut self, code: KeyCode, mods: KeyModifiers) -> Option<Effect> {
        let cx = Context {
            keymap: &self.keymap,
            lesson: &self.lesson,
            area: self.area,
            stopping: self.stopping,
        };
        update(
            &mut self.model,
            &mut self.view,
            &mut self.frozen,
            &cx,
            &KeyEvent::new(code, mods),
        )
    }

    fn press(&mut self, code: KeyCode) -> Option<Effect> {
        self.press_with(code, KeyModifiers::NONE)
    }

    fn inject(&mut self, i: usize) {
        self.model.faults[i].injected_since = Some(Duration::ZERO);
    }
}

/// Every key of every binding, pressed on a fresh screen, does what its binding says. The match names every
/// command: a new one does not compile until it is tested here.
#[test]
fn every_key_of_the_keymap_does_what_its_binding_says() {
    let keymap = Screen::new().keymap;
    let logs = Screen::new().view.scroll.len();
    let scrolled = |by: isize| SCROLLED.saturating_add_signed(by).min(LINES - 1);
    let mut pressed = 0;
    for binding in &keymap {
        for &(code, mods) in &binding.keys {
            let mut s = Screen::new();
            let effect = s.press_with(code, mods);
            let what = format!("{} ({code:?} {mods:?})", binding.label);
            let no_effect = |e: Option<Effect>| assert_eq!(e, None, "{what}");
            match binding.command {
                Command::InjectFault(i) => {
                    assert_eq!(effect, Some(Effect::Inject(i)), "{what}");
                    assert_eq!(s.model.faults[i].pending, Some(FaultChange::Injecting), "{what}");
                }
                Command::ClearFaults => assert_eq!(effect, Some(Effect::ClearFaults), "{what}"),
                Command::AdjustLatency(longer) => {
                    assert_eq!(effect, Some(Effect::AdjustLatency(longer)), "{what}")
                }
                Command::ToggleHelp => {
                    no_effect(effect);
                    assert!(s.view.help, "{what}");
                }
                Command::PickFault => {
                    no_effect(effect);
                    assert_eq!(s.view.picker, Some(0), "{what}");
                }
                Command::ToggleFreeze => {
                    no_effect(effect);
                    assert!(s.frozen.is_some(), "{what}");
                    assert_eq!(s.view.frozen_behind, Some(0), "{what}");
                }
                Command::StartFilter => {
                    no_effect(effect);
                    assert_eq!(s.view.editing.as_deref(), Some(""), "{what}");
                }
                Command::FocusNext => {
                    no_effect(effect);
                    assert_eq!(s.view.focus, 1, "{what}");
                }
                Command::FocusPrev => {
                    no_effect(effect);
                    assert_eq!(s.view.focus, logs - 1, "{what}: from the first log to the last");
                }
                Command::Scroll(n) => {
                    no_effect(effect);
                    assert_eq!(s.view.scroll[0], scrolled(n as isize), "{what}");
                }
                Command::Page(n) => {
                    no_effect(effect);
                    assert_eq!(s.view.scroll[0], scrolled((n * LOG_PAGE) as isize), "{what}");
                }
                Command::ScrollToOldest => {
                    no_effect(effect);
                    assert_eq!(s.view.scroll[0], LINES - 1, "{what}");
                }
                Command::ScrollToLive => {
                    no_effect(effect);
                    assert_eq!(s.view.scroll[0], 0, "{what}");
                }
                Command::Quit => assert_eq!(effect, Some(Effect::Quit), "{what}"),
            }
            pressed += 1;
        }
    }
    // state-management: four fault keys and f, then 18 fixed keys (+ and = both lengthen).
    assert_eq!(pressed, 4 + 1 + 18, "{keymap:#?}");
}

#[test]
fn a_fault_already_on_or_a_run_stopping_injects_nothing() {
    let mut s = Screen::new();
    s.inject(0);
    assert_eq!(s.press(KeyCode::Char('r')), None, "already on");
    assert_eq!(s.model.faults[0].pending, None);
    let mut s = Screen::new();
    s.stopping = true;
    assert_eq!(s.press(KeyCode::Char('p')), None, "stopping");
    assert_eq!(
        s.press(KeyCode::Char('q')),
        Some(Effect::Quit),
        "q again while stopping"
    );
}

#[test]
fn c_marks_only_the_faults_that_are_on_as_clearing() {
    let mut s = Screen::new();
    s.inject(2);
    assert_eq!(s.press(KeyCode::Char('c')), Some(Effect::ClearFaults));
    let pending: Vec<_> = s.model.faults.iter().map(|f| f.pending).collect();
    assert_eq!(pending, [None, None, Some(FaultChange::Clearing), None]);
}

#[test]
fn too_small_a_window_takes_only_q_and_help() {
    let mut s = Screen::new();
    s.area = Rect::new(0, 0, 60, 15);
    for key in ['r', 'c', 'F', ' ', '/', '+'] {
        assert_eq!(s.press(KeyCode::Char(key)), None, "{key}");
    }
    assert_eq!(s.press(KeyCode::Up), None);
    assert_eq!(s.view.scroll[0], SCROLLED, "nothing moved");
    assert!(s.view.picker.is_none() && s.frozen.is_none() && s.view.editing.is_none());
    assert_eq!(s.model.faults[0].pending, None);
    assert_eq!(s.press(KeyCode::Char('?')), None);
    assert!(s.view.help);
    assert_eq!(s.press(KeyCode::Char('q')), Some(Effect::Quit));
}

#[test]
fn the_picker_moves_injects_clears_closes_and_lets_q_quit() {
    let mut s = Screen::new();
    s.inject(1);
    s.press(KeyCode::Char('F'));
    assert_eq!(s.press(KeyCode::Down), None);
    assert_eq!(s.view.picker, Some(1));
    assert_eq!(s.press(KeyCode::Enter), Some(Effect::Clear(1)), "on: enter clears it");
    assert_eq!(s.model.faults[1].pending, Some(FaultChange::Clearing));
    s.press(KeyCode::Down);
    assert_eq!(
        s.press(KeyCode::Char(' ')),
        Some(Effect::Inject(2)),
        "off: space injects it"
    );
    assert_eq!(
        s.press(KeyCode::Char('r')),
        None,
        "a fault key does not act through the picker"
    );
    assert_eq!(s.press(KeyCode::Esc), None);
    assert_eq!(s.view.picker, None);
    s.press(KeyCode::Char('F'));
    s.stopping = true;
    assert_eq!(s.press(KeyCode::Enter), None, "nothing while the run stops");
    assert_eq!(s.press(KeyCode::Char('q')), Some(Effect::Quit));
    assert_eq!(s.view.picker, None, "q closes it too");
}

#[test]
fn while_the_help_is_open_the_scroll_keys_scroll_it_and_esc_closes_it() {
    let mut s = Screen::new();
    s.press(KeyCode::Char('?'));
    s.press(KeyCode::Down);
    assert_eq!(s.view.help_scroll, 1, "the help, not the log");
    assert_eq!(s.view.scroll[0], SCROLLED);
    s.press(KeyCode::End);
    let last = s.view.help_scroll;
    assert!(last > 1, "state-management's help is longer than 80x24");
    s.press(KeyCode::Home);
    assert_eq!(s.view.help_scroll, 0);
    assert_eq!(s.press(KeyCode::Esc), None);
    assert!(!s.view.help);
    s.press(KeyCode::Char('?'));
    s.press(KeyCode::Char('?'));
    assert!(!s.view.help, "? closes it too");
}

#[test]
fn a_filter_is_typed_applied_and_cancelled_without_acting_on_keys() {
    let mut s = Screen::new();
    s.press(KeyCode::Tab);
    s.press(KeyCode::Char('/'));
    for key in ['q', 'r', 'x'] {
        assert_eq!(s.press(KeyCode::Char(key)), None, "{key} is typed");
    }
    s.press(KeyCode::Backspace);
    assert_eq!(s.press(KeyCode::Enter), None);
    assert_eq!(s.view.filters[1].as_deref(), Some("qr"), "on the focused log");
    assert_eq!(s.model.faults[0].pending, None);
    s.press(KeyCode::Char('/'));
    assert_eq!(s.view.editing.as_deref(), Some("qr"), "starts from the filter in force");
    s.press(KeyCode::Char('!'));
    s.press(KeyCode::Esc);
    assert_eq!(s.view.filters[1].as_deref(), Some("qr"), "esc keeps the old one");
    s.press(KeyCode::Char('/'));
    for _ in 0..2 {
        s.press(KeyCode::Backspace);
    }
    s.press(KeyCode::Enter);
    assert_eq!(s.view.filters[1], None, "empty clears it");
}

#[test]
fn space_freezes_then_follows_again() {
    let mut s = Screen::new();
    s.press(KeyCode::Char(' '));
    assert!(s.frozen.is_some());
    s.press(KeyCode::Char(' '));
    assert!(s.frozen.is_none());
    assert_eq!(s.view.frozen_behind, None);
}
