//! Layout and the frame around the panes: header, footer (from the keymap), help overlay, and the message
//! shown when the terminal is too small.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::keymap::Binding;
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

/// Draws everything; `explain` is the scenario's text for learners (shown in the help overlay).
pub fn draw(frame: &mut Frame, model: &Model, view: &View, keymap: &[Binding], explain: &str, theme: Theme) {
    if view.panic_in_pane && model.faults.iter().any(|f| f.injected_since.is_some()) {
        panic!("a pane failed to draw (RESILIENCE_TUI_TEST_PANIC_IN_PANE)");
    }
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "The terminal is {}x{}; resilience-tui needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\nEnlarge the window, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let faults_height = 2 + model.faults.len().max(1) as u16 + u16::from(model.container.is_some());
    let bottom_height = (area.height / 3).clamp(8, 16);
    let [header, story, orders, sidecar, bottom, faults, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Length(bottom_height),
        Constraint::Length(faults_height),
        Constraint::Length(1),
    ])
    .areas(area);
    header_line(frame, header, model, view, theme);
    let text = super::story::fit_words(&super::story::story(model), story.width.saturating_sub(1) as usize);
    let line = Line::styled(format!(" {text}"), theme.key());
    frame.render_widget(Paragraph::new(line), story);
    let columns = Layout::horizontal(vec![Constraint::Fill(1); model.orders.len().max(1)]).split(orders);
    for (i, (_, log)) in model.orders.iter().enumerate() {
        let filter = view.filters.get(i).and_then(|f| f.as_deref());
        let scroll = view.scroll.get(i).copied().unwrap_or(0);
        panes::log(frame, columns[i], log, view.focus == i, scroll, filter, theme);
    }
    let s = model.orders.len();
    let filter = view.filters.get(s).and_then(|f| f.as_deref());
    panes::log(
        frame,
        sidecar,
        &model.sidecar,
        view.focus == s,
        view.scroll.get(s).copied().unwrap_or(0),
        filter,
        theme,
    );
    let [breakers, retries] =
        Layout::horizontal([Constraint::Percentage(65), Constraint::Percentage(35)]).areas(bottom);
    panes::breakers(frame, breakers, model, theme);
    panes::retries(frame, retries, model, theme);
    panes::faults(frame, faults, model, theme);
    footer_line(frame, footer, view, keymap, theme);
    if view.help {
        help(frame, area, keymap, explain, theme);
    }
}

fn header_line(frame: &mut Frame, area: Rect, model: &Model, view: &View, theme: Theme) {
    let clock = Span::raw(format!(" {:.1}s ", model.now.as_secs_f64()));
    if model.stopping {
        // While the run ends, the header says only that, and what it is doing: nothing else matters now.
        let doing = model.stopping_detail.as_deref().unwrap_or("clearing faults");
        let line = Line::from(vec![
            clock,
            Span::styled(" SHUTTING DOWN (q: stop waiting) ", theme.fault_active()),
            Span::raw(format!(" {doing}")),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut spans = vec![
        Span::styled(format!(" {} ", model.title), Style::new().add_modifier(Modifier::BOLD)),
        clock,
    ];
    if let Some(behind) = view.frozen_behind {
        spans.push(Span::styled(
            format!(" FROZEN ({behind} new events) "),
            theme.fault_active(),
        ));
    }
    let s = model.ledger.summary();
    spans.push(Span::styled(
        format!(
            " orders: {} sent \u{b7} {} delivered \u{b7} {} failed ",
            s.sent, s.delivered, s.failed
        ),
        theme.dim(),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn footer_line(frame: &mut Frame, area: Rect, view: &View, keymap: &[Binding], theme: Theme) {
    let line = match &view.editing {
        Some(text) => Line::from(vec![
            Span::styled(" filter: ", theme.key()),
            Span::raw(format!("{text}_")),
            Span::styled("  (enter applies, esc cancels, empty clears)", theme.dim()),
        ]),
        None => Line::from(
            keymap
                .iter()
                .filter(|b| b.footer)
                .flat_map(|b| {
                    [
                        Span::styled(format!(" {}", b.label), theme.key()),
                        Span::raw(format!(" {} ", b.help)),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn help(frame: &mut Frame, area: Rect, keymap: &[Binding], explain: &str, theme: Theme) {
    let width = area.width.min(76);
    let mut lines: Vec<Line> = keymap
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!("  {:<10}", b.label), theme.key()),
                Span::raw(b.help.clone()),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled("What to watch", Style::new().add_modifier(Modifier::BOLD)));
    lines.push(Line::raw(explain.to_string()));
    let height = (lines.len() as u16 + 6).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(" help (? closes) ");
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), rect);
}
