//! One table of key bindings drives dispatch, the footer hints and the help overlay, so they never disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::scenario::FaultSpec;

/// Lines a page key moves a log.
pub const LOG_PAGE: i32 = 10;

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    InjectFault(usize),
    ClearFaults,
    /// Make injected latencies longer (true) or shorter.
    AdjustLatency(bool),
    ToggleHelp,
    /// Open the fault picker.
    PickFault,
    ToggleFreeze,
    StartFilter,
    FocusNext,
    FocusPrev,
    /// Lines up (positive) or down: the help while it is open, else the focused log.
    Scroll(i32),
    /// Pages up (positive) or down: the help's height while it is open, else [`LOG_PAGE`] lines of the log.
    Page(i32),
    /// To the top: the help's first line, or the focused log's oldest.
    ScrollToOldest,
    /// To the end: the help's last line, or the log's newest, following new ones (live).
    ScrollToLive,
    Quit,
}

impl Command {
    /// Moves the view of the help or of a log (the keys the help's title and footer name for scrolling).
    pub fn scrolls(self) -> bool {
        matches!(
            self,
            Command::Scroll(_) | Command::Page(_) | Command::ScrollToOldest | Command::ScrollToLive
        )
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub keys: Vec<(KeyCode, KeyModifiers)>,
    /// How the key is written in the footer and help (`f`, `space`, `PgUp`).
    pub label: String,
    pub help: String,
    pub command: Command,
    /// Shown in the footer (the help overlay shows every binding).
    pub footer: bool,
}

fn bind(keys: &[KeyCode], label: &str, help: &str, command: Command, footer: bool) -> Binding {
    Binding {
        keys: keys.iter().map(|k| (*k, KeyModifiers::NONE)).collect(),
        label: label.to_string(),
        help: help.to_string(),
        command,
        footer,
    }
}

/// The bindings for a scenario: one key per fault, then the fixed ones.
pub fn keymap(faults: &[FaultSpec]) -> Vec<Binding> {
    let mut map: Vec<Binding> = faults
        .iter()
        .enumerate()
        .map(|(i, f)| {
            bind(
                &[KeyCode::Char(f.key)],
                &f.key.to_string(),
                &f.action.summary(),
                Command::InjectFault(i),
                true,
            )
        })
        .collect();
    // `f` injects the main fault in every scenario (a teacher need not learn each scenario's keys), unless
    // the scenario gives `f` to one of its faults.
    if !faults.is_empty() && !faults.iter().any(|f| f.key == 'f') {
        map.push(bind(
            &[KeyCode::Char('f')],
            "f",
            &format!("{} (the main fault)", faults[0].action.summary()),
            Command::InjectFault(0),
            false,
        ));
    }
    // In order of importance: the footer is cut on narrow terminals, so what a learner needs comes first.
    map.extend([
        bind(&[KeyCode::Char('c')], "c", "clear faults", Command::ClearFaults, true),
        bind(&[KeyCode::Char('?')], "?", "help", Command::ToggleHelp, true),
        bind(&[KeyCode::Char('q')], "q", "quit", Command::Quit, true),
        Binding {
            keys: vec![(KeyCode::Char('c'), KeyModifiers::CONTROL)],
            label: "Ctrl-C".into(),
            help: "quit".into(),
            command: Command::Quit,
            footer: false,
        },
        bind(
            &[KeyCode::Char('F')],
            "F",
            "every fault: pick one to inject or clear",
            Command::PickFault,
            false,
        ),
        bind(&[KeyCode::Char(' ')], "space", "freeze", Command::ToggleFreeze, true),
        bind(
            &[KeyCode::Char('+'), KeyCode::Char('=')],
            "+",
            "injected latency 500ms longer",
            Command::AdjustLatency(true),
            false,
        ),
        bind(
            &[KeyCode::Char('-')],
            "-",
            "injected latency 500ms shorter",
            Command::AdjustLatency(false),
            false,
        ),
        bind(&[KeyCode::Char('/')], "/", "filter", Command::StartFilter, true),
        bind(&[KeyCode::Tab], "tab", "focus", Command::FocusNext, true),
        bind(
            &[KeyCode::BackTab],
            "shift-tab",
            "focus back",
            Command::FocusPrev,
            false,
        ),
        // While the help is open these scroll it; otherwise the focused log.
        bind(&[KeyCode::Up], "up", "scroll up", Command::Scroll(1), false),
        bind(&[KeyCode::Down], "down", "scroll down", Command::Scroll(-1), false),
        bind(&[KeyCode::PageUp], "PgUp", "page up", Command::Page(1), false),
        bind(&[KeyCode::PageDown], "PgDn", "page down", Command::Page(-1), false),
        bind(
            &[KeyCode::Home],
            "Home",
            "to the top (a log's oldest line)",
            Command::ScrollToOldest,
            false,
        ),
        bind(
            &[KeyCode::End],
            "End",
            "to the end (a log: back to live)",
            Command::ScrollToLive,
            false,
        ),
    ]);
    map
}

/// The labels of the bindings for `which` commands, each once, in the table's order (`up, down, PgUp`).
pub fn labels(map: &[Binding], which: impl Fn(Command) -> bool) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for b in map.iter().filter(|b| which(b.command)) {
        if !out.contains(&b.label.as_str()) {
            out.push(&b.label);
        }
    }
    out
}

/// The command a key press maps to.
pub fn dispatch(map: &[Binding], key: &KeyEvent) -> Option<Command> {
    let mods = key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
    map.iter()
        .find(|b| b.keys.iter().any(|(code, m)| *code == key.code && *m == mods))
        .map(|b| b.command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::FaultAction;

    #[test]
    fn fault_keys_come_first_and_ctrl_c_quits() {
        let fault = FaultSpec {
            name: "stop".into(),
            key: 'f',
            action: FaultAction::StopApp { app_id: "op".into() },
            explain: String::new(),
        };
        let map = keymap(&[fault]);
        let press = |code, mods| dispatch(&map, &KeyEvent::new(code, mods));
        assert_eq!(
            press(KeyCode::Char('f'), KeyModifiers::NONE),
            Some(Command::InjectFault(0))
        );
        assert_eq!(
            press(KeyCode::Char('c'), KeyModifiers::NONE),
            Some(Command::ClearFaults)
        );
        assert_eq!(press(KeyCode::Char('c'), KeyModifiers::CONTROL), Some(Command::Quit));
        assert_eq!(
            press(KeyCode::Char('F'), KeyModifiers::SHIFT),
            Some(Command::PickFault),
            "F is the picker, not f"
        );
        assert_eq!(map[0].help, "stop app only");
    }

    #[test]
    fn f_injects_the_main_fault_in_every_scenario() {
        let fault = |key| FaultSpec {
            name: "stop-redis".into(),
            key,
            action: FaultAction::StopStateStore {
                component: "statestore".into(),
            },
            explain: String::new(),
        };
        let press_f = |map: &[Binding]| dispatch(map, &KeyEvent::new(KeyCode::Char('f'), KeyModifiers::NONE));
        let map = keymap(&[fault('r')]);
        assert_eq!(press_f(&map), Some(Command::InjectFault(0)));
        assert_eq!(
            dispatch(&map, &KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE)),
            Some(Command::InjectFault(0)),
            "the scenario's own key stays"
        );
        assert_eq!(press_f(&keymap(&[])), None, "no fault, nothing to inject");
    }

    #[test]
    fn the_keys_scenario_files_may_not_use_are_the_fixed_keys() {
        let fixed: Vec<char> = keymap(&[])
            .iter()
            .flat_map(|b| &b.keys)
            .filter_map(|(code, mods)| match code {
                KeyCode::Char(c) if mods.is_empty() => Some(*c),
                _ => None,
            })
            .collect();
        let mut reserved: Vec<char> = crate::scenario::RESERVED_KEYS.iter().map(|(c, _)| *c).collect();
        let mut fixed_sorted = fixed.clone();
        fixed_sorted.sort_unstable();
        reserved.sort_unstable();
        assert_eq!(reserved, fixed_sorted);
    }
}
