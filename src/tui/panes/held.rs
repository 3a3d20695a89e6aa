//! The held orders pane: under load, the calls that reach the service each second per caller; the order that waits in a retry (since when, which attempt, the next try), the last
//! one let through (how long it waited, after how many attempts: Dapr's count), retries in all, and when there
//! is room, retries per second with its scale.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Sparkline;

use super::{block, secs};
use crate::tui::fit;
use crate::tui::model::{Model, RetryView};
use crate::tui::theme::Theme;

/// The smallest scale of the chart: one retry is a fifth of its height, not a full bar.
const CHART_MIN_SCALE: u64 = 5;

fn wrapped(text: &str, width: usize, style: Style) -> Vec<Line<'static>> {
    fit::wrap_words(text, width)
        .into_iter()
        .map(|row| Line::styled(row, style))
        .collect()
}

/// What the pane says, most important first.
fn lines(model: &Model, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    // Under load (checkout-load apps) the calls reaching the service come first: they are the lesson.
    if let Some((callee, callers)) = &model.traffic {
        let header = format!("to {callee}, calls/s \u{b7} wait:");
        let header = if fit::columns(&header) <= width {
            header
        } else {
            "calls/s \u{b7} wait:".to_string()
        };
        lines.push(Line::raw(header));
        let name_width = callers.iter().map(|c| fit::columns(&c.caller)).max().unwrap_or(0);
        for c in callers {
            let took = match c.mean_ms {
                ms if ms >= 1000 => format!("{:.1}s", ms as f64 / 1000.0),
                ms => format!("{ms}ms"),
            };
            let text = format!(" {:<name_width$} {:>3} \u{b7} {took}", c.caller, c.reached);
            lines.push(Line::raw(fit::fit_words(&text, width)));
        }
    }
    let retry: Option<&RetryView> = model.retries.values().find(|r| r.in_retry > 0);
    match (model.ledger.oldest_waiting(), retry) {
        (held, Some(r)) => {
            // Your own apps send no orders the tool can see: then it is "a call" that waits.
            let waits = match held {
                Some((order, since)) => format!("order {order} waits {}", secs(model.now.saturating_sub(since))),
                None => "a call waits in a retry".to_string(),
            };
            lines.extend(wrapped(&waits, width, theme.warning()));
            let attempt = match (r.current_attempt, r.next_attempt_at) {
                (Some(a), Some(_)) => format!("attempt {a} failed"),
                (Some(a), None) => format!("attempt {a} in flight"),
                _ => "in a retry".to_string(),
            };
            lines.extend(wrapped(&attempt, width, Style::new()));
            if let Some(next) = r.next_attempt_at {
                let next = format!("next try in {}", secs(next.saturating_sub(model.now)));
                lines.extend(wrapped(&next, width, Style::new()));
            }
            let waiting = model.ledger.summary().in_flight;
            if waiting > 1 {
                let more = format!("+{} more waiting", waiting - 1);
                lines.extend(wrapped(&more, width, theme.dim()));
            }
        }
        _ => lines.extend(wrapped("no order waits in a retry", width, theme.dim())),
    }
    if let Some((text, _)) = model.last_retried() {
        lines.extend(wrapped(&text, width, theme.line(crate::tui::model::LineKind::Ok)));
    }
    let retries: u64 = model.retries.values().map(|r| r.retries).sum();
    lines.extend(wrapped(&format!("retries in all: {retries}"), width, theme.dim()));
    lines
}

pub fn held(frame: &mut Frame, area: Rect, model: &Model, theme: Theme) {
    let outer = block(" held orders ".into(), false, theme);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let mut text = lines(model, inner.width as usize, theme);
    text.truncate(inner.height as usize);
    let used = text.len() as u16;
    super::lines_in(frame, text, Rect { height: used, ..inner }, None);
    // The chart only when it can be read: a title, at least two rows of bars, and a scale.
    let room = inner.height.saturating_sub(used + 1);
    let Some(r) = model.retries.values().max_by_key(|r| r.retries) else {
        return;
    };
    if room < 3 {
        return;
    }
    let data: Vec<u64> = r.per_second.iter().copied().collect();
    let skip = data.len().saturating_sub(inner.width as usize);
    let data = &data[skip..];
    let top = data.iter().copied().max().unwrap_or(0).max(CHART_MIN_SCALE);
    let title = fit::fit_words(
        &format!("retries/s, last {}s (top = {top})", data.len()),
        inner.width as usize,
    );
    let chart_area = Rect {
        y: inner.y + used + 1,
        height: room,
        ..inner
    };
    let title = Line::styled(title, theme.dim().add_modifier(Modifier::ITALIC));
    super::lines_in(
        frame,
        vec![title],
        Rect {
            height: 1,
            ..chart_area
        },
        None,
    );
    let spark = Sparkline::default().data(data.to_vec()).max(top);
    frame.render_widget(
        spark,
        Rect {
            y: chart_area.y + 1,
            height: chart_area.height - 1,
            ..chart_area
        },
    );
}
