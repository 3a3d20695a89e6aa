//! Layout and the frame around the panes: header, footer (from the keymap), the help overlay's place, and the message
//! shown when the terminal is too small.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::fit;
use super::keymap::{Binding, Command};
use super::model::Model;
use super::panes;
use super::theme::Theme;

/// The smallest terminal the UI lays out in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// View state: what the person is looking at (not what happened, which is the model).
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Which log has focus: the order logs in order, then the sidecar log.
    pub focus: usize,
    pub scroll: Vec<usize>,
    pub filters: Vec<Option<String>>,
    /// A filter being typed for the focused log.
    pub editing: Option<String>,
    pub help: bool,
    /// The help's first row on screen (kept within its text when drawn).
    pub help_scroll: usize,
    /// The fault picker is open, with this fault selected.
    pub picker: Option<usize>,
    /// Events that arrived since the display was frozen (None: not frozen).
    pub frozen_behind: Option<u64>,
    /// A test hook (tests/tui_tmux.rs), read once at start: a pane panics once a fault shows on screen.
    pub panic_in_pane: bool,
}

impl View {
    pub fn new(logs: usize) -> Self {
        Self {
            scroll: vec![0; logs],
            filters: vec![None; logs],
            ..Self::default()
        }
    }
}

/// Draws everything; `lesson` is the scenario's summary, what the lesson is about (first in the help).
pub fn draw(frame: &mut Frame, model: &Model, view: &View, keymap: &[Binding], lesson: &str, theme: Theme) {
    if view.panic_in_pane && model.faults.iter().any(|f| f.injected_since.is_some()) {
        panic!("a pane failed to draw (RESILIENCE_TUI_TEST_PANIC_IN_PANE)");
    }
    let area = frame.area();
    fit::set_screen_width(area.width);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "The terminal is {}x{}; resilience-tui needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\nEnlarge the window, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let rows = Rows::for_area(area, model);
    let [header, story, banner, orders, sidecar, bottom, faults, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(rows.banner),
        Constraint::Length(rows.orders),
        Constraint::Length(rows.sidecar),
        Constraint::Length(rows.bottom),
        Constraint::Length(rows.faults),
        Constraint::Length(1),
    ])
    .areas(area);
    header_line(frame, header, model, view, theme);
    let text = super::story::fitted(model, story.width.saturating_sub(1) as usize);
    panes::lines_in(frame, vec![Line::styled(format!(" {text}"), theme.key())], story, None);
    if rows.banner > 0 {
        banner_line(frame, banner, model, theme);
    }
    let columns = Layout::horizontal(vec![Constraint::Fill(1); model.orders.len().max(1)]).split(orders);
    for (i, (_, log)) in model.orders.iter().enumerate() {
        let filter = view.filters.get(i).and_then(|f| f.as_deref());
        let scroll = view.scroll.get(i).copied().unwrap_or(0);
        panes::log(frame, columns[i], log, view.focus == i, scroll, filter, theme);
    }
    let s = model.orders.len();
    let filter = view.filters.get(s).and_then(|f| f.as_deref());
    let scroll = view.scroll.get(s).copied().unwrap_or(0);
    panes::log(frame, sidecar, &model.sidecar, view.focus == s, scroll, filter, theme);
    // The held orders pane needs about 30 columns; the breakers' strips use the rest.
    let held_width = (area.width * 2 / 5).clamp(30, 50);
    let [breakers, held] = Layout::horizontal([Constraint::Fill(1), Constraint::Length(held_width)]).areas(bottom);
    panes::breakers(frame, breakers, model, theme);
    panes::held(frame, held, model, theme);
    panes::faults(frame, faults, model, theme);
    footer_line(frame, footer, model, view, keymap, theme);
    if view.help {
        super::help::draw(frame, area, model, keymap, lesson, view.help_scroll, theme);
    }
    if let Some(selected) = view.picker {
        super::picker::draw(frame, area, model, selected, theme);
    }
}

/// Rows given to each part of the screen. The faults pane and the banner take what they need; of the rest a
/// third goes to the breakers and held orders (at least 4 lines), then the sidecar log (at least 4 lines, so
/// open, half-open and closed stay on screen together at 80x24), and the order logs take what is left (at
/// least 2 lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rows {
    banner: u16,
    orders: u16,
    sidecar: u16,
    bottom: u16,
    faults: u16,
}

impl Rows {
    fn for_area(area: Rect, model: &Model) -> Self {
        let errors = model.faults.iter().filter(|f| f.last_error.is_some()).count();
        let container = usize::from(model.container.is_some());
        let fault_rows = (model.faults.len() + errors).max(1) + container;
        let cap = (area.height / 6) as usize;
        // Too many faults for a row each: the pane shows those on, the container, and one row for the rest.
        let on = model
            .faults
            .iter()
            .filter(|f| f.injected_since.is_some() || f.pending.is_some())
            .count();
        let rows = if fault_rows <= cap {
            fault_rows
        } else {
            (on + errors + container + 1).min(cap)
        };
        let faults = 2 + rows as u16;
        let banner = u16::from(!model.warnings.is_empty());
        let rest = area.height.saturating_sub(3 + banner + faults);
        let bottom = (rest * 34 / 100).max(6);
        // Room for 4 lines: three of one row and the one that takes the most rows at this width (a line whose
        // names cannot be elided enough wraps), so the pane is sized once and does not jump as lines arrive.
        let width = area.width.saturating_sub(2) as usize;
        let widest = model
            .sidecar
            .longest
            .iter()
            .map(|l| fit::log_rows(&l.variants(), width).len())
            .max()
            .unwrap_or(1) as u16;
        let least = (2 + 3 + widest).min(rest.saturating_sub(bottom + 4)).max(6);
        let sidecar = ((rest.saturating_sub(bottom)) * 55 / 100).max(least);
        let orders = rest.saturating_sub(bottom + sidecar);
        Self {
            banner,
            orders,
            sidecar,
            bottom,
            faults,
        }
    }
}

/// The loader's warnings, above everything a learner might otherwise trust: the first one, and how many more.
fn banner_line(frame: &mut Frame, area: Rect, model: &Model, theme: Theme) {
    let w = &model.warnings[0];
    let first = match &w.location {
        Some(at) => format!("{} ({at})", w.message),
        None => w.message.clone(),
    };
    let more = match model.warnings.len() {
        1 => String::new(),
        n => format!(" (+{} more: ? lists them)", n - 1),
    };
    let width = (area.width as usize).saturating_sub(fit::columns(&more) + 12);
    let text = format!(" warning: {}{more}", fit::fit_words(&first, width));
    panes::lines_in(frame, vec![Line::styled(text, theme.warning())], area, None);
}

fn header_line(frame: &mut Frame, area: Rect, model: &Model, view: &View, theme: Theme) {
    let width = area.width as usize;
    let clock = format!(" {:.1}s ", model.now.as_secs_f64());
    if model.stopping {
        // While the run ends, the header says only that, and what it is doing: nothing else matters now.
        let shutting = " SHUTTING DOWN (q: stop waiting) ";
        let doing = model.stopping_detail.as_deref().unwrap_or("clearing faults");
        let room = width.saturating_sub(fit::columns(&clock) + fit::columns(shutting) + 1);
        let line = Line::from(vec![
            Span::raw(clock),
            Span::styled(shutting, theme.fault_active()),
            Span::raw(format!(" {}", fit::fit_words(doing, room))),
        ]);
        panes::lines_in(frame, vec![line], area, None);
        return;
    }
    let s = model.ledger.summary();
    let frozen = view
        .frozen_behind
        .map(|behind| format!(" FROZEN ({behind} new events) "))
        .unwrap_or_default();
    // Apps the tool did not write send no orders it can count: then the header has no order counts. The
    // lesson's title stays: the counts lose their words first (`orders:`, then `sent`), the title last.
    let counts: Vec<String> = match s.sent {
        0 if model.ledger.passed() == 0 => vec![String::new()],
        _ => vec![
            format!(
                " orders: {} sent \u{b7} {} {} \u{b7} {} failed ",
                s.sent, s.delivered, model.delivered_word, s.failed
            ),
            format!(
                " {} sent \u{b7} {} {} \u{b7} {} failed ",
                s.sent, s.delivered, model.delivered_word, s.failed
            ),
        ],
    };
    let title = format!(" {} ", model.title);
    let fixed = fit::columns(&clock) + fit::columns(&frozen);
    let (title, counts) = counts
        .iter()
        .find(|c| fit::columns(&title) + fixed + fit::columns(c) <= width)
        .map(|c| (title.clone(), c.clone()))
        .unwrap_or_else(|| (String::new(), counts[0].clone()));
    let line = Line::from(vec![
        Span::styled(title, Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(clock),
        Span::styled(frozen, theme.fault_active()),
        Span::styled(counts, theme.dim()),
    ]);
    panes::lines_in(frame, vec![line], area, None);
}

/// The key hints, each binding whole: the ones that do not fit are on the help screen (`?`).
fn footer_line(frame: &mut Frame, area: Rect, model: &Model, view: &View, keymap: &[Binding], theme: Theme) {
    let line = match &view.editing {
        Some(text) => Line::from(vec![
            Span::styled(" filter: ", theme.key()),
            Span::raw(format!("{text}_")),
            Span::styled("  (enter applies, esc cancels, empty clears)", theme.dim()),
        ]),
        // While the help is open: how to close and scroll it (the bindings of the keymap, as its title says).
        None if view.help => {
            let labels = |which: fn(Command) -> bool| super::keymap::labels(keymap, which).join(" ");
            let mut spans = Vec::new();
            for (keys, does) in [
                (labels(|c| c == Command::ToggleHelp) + " esc", "close the help"),
                (labels(Command::scrolls), "scroll"),
                (labels(|c| c == Command::Quit), "quit"),
            ] {
                spans.push(Span::styled(format!(" {keys}"), theme.key()));
                spans.push(Span::raw(format!(" {does} ")));
            }
            Line::from(spans)
        }
        None => {
            // The main fault, then clear, help and quit: what a learner must find; the rest as room allows.
            let rank = |b: &&Binding| match b.command {
                Command::InjectFault(0) => 0,
                Command::ClearFaults => 1,
                Command::ToggleHelp => 2,
                Command::Quit => 3,
                Command::InjectFault(_) => 4,
                _ => 5,
            };
            let mut shown: Vec<&Binding> = keymap.iter().filter(|b| b.footer).collect();
            shown.sort_by_key(rank);
            let mut spans = Vec::new();
            let mut used = 0;
            for b in shown {
                let (label, help) = (format!(" {}", b.label), format!(" {} ", binding_help(b, model)));
                let cost = fit::columns(&label) + fit::columns(&help);
                if used + cost > area.width as usize {
                    break;
                }
                used += cost;
                spans.push(Span::styled(label, theme.key()));
                spans.push(Span::raw(help));
            }
            Line::from(spans)
        }
    };
    panes::lines_in(frame, vec![line], area, None);
}

/// What a binding does now: a fault's key says the fault as it is (`latency 1.5s` after `-`).
pub(super) fn binding_help(b: &Binding, model: &Model) -> String {
    match b.command {
        Command::InjectFault(i) => match model.faults.get(i) {
            // `f`, when it is not the fault's own key, stands for the main fault.
            Some(f) if b.label != f.key.to_string() => format!("{} (the main fault)", f.action),
            Some(f) => f.action.clone(),
            None => b.help.clone(),
        },
        _ => b.help.clone(),
    }
}
