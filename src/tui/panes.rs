//! The panes: order logs, the sidecar's resiliency log, circuit breakers, retries and faults.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};

use super::model::{BreakerView, Log, Model, RetryView};
use super::theme::Theme;
use crate::event::ContainerState;
use crate::resiliency::BreakerState;

fn secs(d: std::time::Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn block(title: String, focused: bool, theme: Theme) -> Block<'static> {
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(title)
}

/// A log, newest at the bottom, `scroll` lines up from the end, keeping only lines containing `filter`.
pub fn log(frame: &mut Frame, area: Rect, log: &Log, focused: bool, scroll: usize, filter: Option<&str>, theme: Theme) {
    let inner_height = area.height.saturating_sub(2) as usize;
    let width = area.width.saturating_sub(2).max(1) as usize;
    let lines: Vec<&super::model::LogLine> = log
        .lines
        .iter()
        .filter(|l| filter.is_none_or(|f| l.text.contains(f)))
        .collect();
    // Never scrolled past the content: at most so far that the oldest line is at the top of a full pane.
    let scroll = scroll.min(lines.len().saturating_sub(fits_from_top(&lines, width, inner_height)));
    let end = lines.len().saturating_sub(scroll);
    // Long lines wrap (Dapr's lines are verbatim and the end matters: "Retrying in 5s…"), so fill the pane
    // from the bottom by wrapped height.
    let (mut start, mut rows) = (end, 0);
    while start > 0 {
        let needed = lines[start - 1].text.chars().count().div_ceil(width).max(1);
        if rows + needed > inner_height {
            break;
        }
        rows += needed;
        start -= 1;
    }
    let mut title = format!(" {} ", log.title);
    if let Some(f) = filter {
        title.push_str(&format!("[/{f}] "));
    }
    if scroll > 0 {
        title.push_str(&format!("[{scroll} up · End: live] "));
    }
    let shown: Vec<Line> = lines[start..end]
        .iter()
        .map(|l| Line::styled(l.text.clone(), theme.line(l.kind)))
        .collect();
    let widget = Paragraph::new(shown)
        .wrap(Wrap { trim: false })
        .block(block(title, focused, theme));
    frame.render_widget(widget, area);
}

/// How many of the oldest lines fill a pane of `height` rows, `width` wide (long lines wrap).
fn fits_from_top(lines: &[&super::model::LogLine], width: usize, height: usize) -> usize {
    let mut rows = 0;
    for (i, line) in lines.iter().enumerate() {
        rows += line.text.chars().count().div_ceil(width).max(1);
        if rows > height {
            return i;
        }
    }
    lines.len()
}

fn state_word(s: BreakerState) -> &'static str {
    match s {
        BreakerState::Closed => "CLOSED",
        BreakerState::Open => "OPEN",
        BreakerState::HalfOpen => "HALF-OPEN",
    }
}

/// One breaker: name, state in words and color, time in state, policy, live counts, transition timeline.
fn breaker_lines(b: &BreakerView, now: std::time::Duration, theme: Theme) -> Vec<Line<'static>> {
    let c = b.counts;
    let mut lines = vec![
        Line::from(vec![
            Span::styled(b.name.clone(), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw("  "),
            Span::styled(state_word(b.state), theme.breaker(b.state)),
            Span::raw(format!("  for {}", secs(now.saturating_sub(b.since)))),
        ]),
        Line::styled(format!("  {}", b.policy), theme.dim()),
        Line::raw(match b.state {
            BreakerState::HalfOpen => format!(
                "  consecutiveSuccesses {} of {} needed \u{b7} requests {}",
                c.consecutive_successes, b.max_requests, c.requests
            ),
            _ => format!(
                "  consecutiveFailures {} \u{b7} totalFailures {} \u{b7} requests {}",
                c.consecutive_failures, c.total_failures, c.requests
            ),
        }),
    ];
    for t in b.transitions.iter().rev().take(6) {
        let why = match t.to {
            BreakerState::Open if t.from == BreakerState::Closed => {
                format!(" after {} consecutive failures", t.counts.consecutive_failures)
            }
            BreakerState::Open => " (the probe failed)".to_string(),
            BreakerState::HalfOpen => " (timeout passed: one probe may go)".to_string(),
            BreakerState::Closed => " (the probe succeeded)".to_string(),
        };
        lines.push(Line::from(vec![
            Span::raw(format!("  {:>7} ", secs(t.at))),
            Span::styled(state_word(t.from), theme.breaker(t.from)),
            Span::raw(" -> "),
            Span::styled(state_word(t.to), theme.breaker(t.to)),
            Span::styled(why, theme.dim()),
        ]));
    }
    lines
}

pub fn breakers(frame: &mut Frame, area: Rect, model: &Model, theme: Theme) {
    let mut lines = Vec::new();
    for b in model.breakers.values() {
        lines.extend(breaker_lines(b, model.now, theme));
    }
    if lines.is_empty() {
        lines.push(Line::styled(
            "no breaker yet: one is made on the first call to its target",
            theme.dim(),
        ));
    }
    let widget =
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(" circuit breakers ".into(), false, theme));
    frame.render_widget(widget, area);
}

/// `endpoint[app, app:method]` is long; the pane shows the target part (`app:method`, `component[store] output`).
fn short_operation(op: &str) -> &str {
    op.strip_prefix("endpoint[")
        .and_then(|rest| rest.split_once(", "))
        .map_or(op, |(_, t)| t.trim_end_matches(']'))
}

fn retry_lines(op: &str, r: &RetryView, now: std::time::Duration) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::styled(
            short_operation(op).to_string(),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Line::raw(format!("  in retry now {}", r.in_retry)),
        Line::raw(format!("  attempts {} \u{b7} retries {}", r.attempts, r.retries)),
    ];
    match (r.current_attempt, r.next_attempt_at) {
        (Some(a), Some(next)) => lines.push(Line::raw(format!(
            "  attempt {a} failed, next in {}",
            secs(next.saturating_sub(now))
        ))),
        (Some(a), None) => lines.push(Line::raw(format!("  attempt {a} in flight"))),
        _ => lines.push(Line::raw("  idle")),
    }
    lines
}

pub fn retries(frame: &mut Frame, area: Rect, model: &Model, theme: Theme) {
    let outer = block(" retries ".into(), false, theme);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let Some((op, r)) = model.retries.iter().next() else {
        frame.render_widget(Paragraph::new(Line::styled("no calls yet", theme.dim())), inner);
        return;
    };
    let text = retry_lines(op, r, model.now);
    let text_height = (text.len() as u16).min(inner.height);
    frame.render_widget(
        Paragraph::new(text),
        Rect {
            height: text_height,
            ..inner
        },
    );
    if inner.height > text_height + 1 {
        let spark_area = Rect {
            y: inner.y + text_height,
            height: inner.height - text_height,
            ..inner
        };
        let data: Vec<u64> = r.per_second.iter().copied().collect();
        let skip = data.len().saturating_sub(spark_area.width as usize);
        let spark = Sparkline::default()
            .block(Block::new().title(Line::styled("retries per second", theme.dim())))
            .data(data[skip..].to_vec());
        frame.render_widget(spark, spark_area);
    }
}

pub fn faults(frame: &mut Frame, area: Rect, model: &Model, theme: Theme) {
    let mut lines = Vec::new();
    for f in &model.faults {
        let mut spans = vec![
            Span::styled(format!("[{}] ", f.key), theme.key()),
            Span::raw(format!("{}: ", f.name)),
        ];
        match (f.pending, f.injected_since) {
            (Some(what), _) => spans.push(Span::styled(format!("{what}\u{2026}"), theme.fault_active())),
            (None, Some(since)) => {
                spans.push(Span::styled("INJECTED", theme.fault_active()));
                let since = secs(model.now.saturating_sub(since));
                spans.push(Span::raw(format!(
                    " for {since} \u{b7} press c to clear \u{b7} {}",
                    f.description
                )));
            }
            (None, None) => spans.push(Span::styled(
                format!("not injected \u{b7} press {} to inject", f.key),
                theme.dim(),
            )),
        }
        lines.push(Line::from(spans));
        if let Some(e) = &f.last_error {
            lines.push(Line::styled(
                format!("    last change failed: {e}"),
                theme.fault_active(),
            ));
        }
    }
    if let Some((name, state)) = &model.container {
        let style = if *state == ContainerState::Running {
            theme.dim()
        } else {
            theme.fault_active()
        };
        lines.push(Line::from(vec![
            Span::raw("    container "),
            Span::styled(format!("{name}: {state}"), style),
        ]));
    }
    if lines.is_empty() {
        lines.push(Line::styled("this scenario has no faults", theme.dim()));
    }
    frame.render_widget(
        Paragraph::new(lines).block(block(" faults ".into(), false, theme)),
        area,
    );
}
