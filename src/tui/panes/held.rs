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

/// The waits before each retry of the latest retried request, oldest first: `waits: 0.6s → 0.9s → 1.4s`.
/// The oldest give way to fit `width`; the latest (the one running now) always shows.
fn waits_line(r: &RetryView, width: usize) -> String {
    let all: Vec<String> = r.waits.iter().map(|w| format!("{:.1}s", w.as_secs_f64())).collect();
    for skip in 0..all.len() {
        let more = if skip > 0 { "\u{2026} \u{2192} " } else { "" };
        let line = format!("waits: {more}{}", all[skip..].join(" \u{2192} "));
        if fit::columns(&line) <= width || skip + 1 == all.len() {
            return line;
        }
    }
    String::new()
}

/// Keeps the best-ranked groups of rows that fit in `height`, in their order.
fn keep_best(ranked: Vec<(u8, Vec<Line<'static>>)>, height: usize) -> Vec<Line<'static>> {
    let mut order: Vec<usize> = (0..ranked.len()).collect();
    order.sort_by_key(|&i| ranked[i].0);
    let mut keep = vec![false; ranked.len()];
    let mut used = 0;
    for i in order {
        if used + ranked[i].1.len() <= height {
            used += ranked[i].1.len();
            keep[i] = true;
        }
    }
    ranked
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .flat_map(|((_, rows), _)| rows)
        .collect()
}

/// What the pane says in `height` rows, most important kept.
fn lines(model: &Model, width: usize, height: usize, theme: Theme) -> Vec<Line<'static>> {
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
    let retry = model.retry_in_progress();
    // Ranked: what waits and why first, then the countdown and the waits so far (the backoff lesson's point),
    // then the last order let through, then the totals; the pane keeps the best that fit, in this order.
    let mut ranked: Vec<(u8, Vec<Line<'static>>)> = Vec::new();
    match (model.ledger.oldest_waiting(), retry) {
        (held, Some((operation, r))) => {
            // Your own apps send no orders the tool can see: then it is "a call" that waits.
            let waits = match held {
                Some((order, since)) => format!("order {order} waits {}", secs(model.now.saturating_sub(since))),
                None => "a call waits in a retry".to_string(),
            };
            ranked.push((0, wrapped(&waits, width, theme.warning())));
            // Growing waits are the point of an exponential policy: then they come before the error.
            let exponential = model
                .policies
                .for_operation(operation)
                .and_then(|p| p.retry.as_ref())
                .is_some_and(|r| r.exponential);
            let attempt = match (r.current_attempt, r.next_attempt_at, &r.last_error) {
                (Some(a), Some(_), Some(why)) => format!("attempt {a} failed: {why}"),
                (Some(a), Some(_), None) => format!("attempt {a} failed"),
                (Some(a), None, _) => format!("attempt {a} in flight"),
                _ => "in a retry".to_string(),
            };
            // At most two rows: a long error is cut at a word (the sidecar log has it whole).
            let mut rows = fit::wrap_words(&attempt, width);
            if rows.len() > 2 {
                let rest = rows[1..].join(" ");
                rows = vec![rows[0].clone(), fit::fit_words(&rest, width)];
            }
            let attempt_rows: Vec<Line<'static>> = rows.into_iter().map(Line::raw).collect();
            // Equal waits (a constant policy) say nothing the countdown does not.
            let grows = r.waits.iter().any(|w| Some(w) != r.waits.front());
            let mut waits_rows = (r.waits.len() > 1 && (exponential || grows))
                .then(|| wrapped(&waits_line(r, width), width, Style::new()));
            if exponential {
                ranked.extend(waits_rows.take().map(|w| (1, w)));
                ranked.push((2, attempt_rows));
            } else {
                ranked.push((1, attempt_rows));
            }
            if let Some(next) = r.next_attempt_at {
                let next = crate::tui::narrate::next_try(next.saturating_sub(model.now));
                ranked.push((2, wrapped(&next, width, Style::new())));
            }
            ranked.extend(waits_rows.map(|w| (2, w)));
            let waiting = model.ledger.summary().in_flight;
            if waiting > 1 {
                let more = format!("+{} more waiting", waiting - 1);
                ranked.push((4, wrapped(&more, width, theme.dim())));
            }
        }
        _ => ranked.push((0, wrapped("no order waits in a retry", width, theme.dim()))),
    }
    if let Some((text, _)) = model.last_retried() {
        ranked.push((3, wrapped(&text, width, theme.line(crate::tui::model::LineKind::Ok))));
    }
    let retries: u64 = model.retries.values().map(|r| r.retries).sum();
    ranked.push((5, wrapped(&format!("retries in all: {retries}"), width, theme.dim())));
    lines.extend(keep_best(ranked, height.saturating_sub(lines.len())));
    lines
}

pub fn held(frame: &mut Frame, area: Rect, model: &Model, theme: Theme) {
    let outer = block(" held orders ".into(), false, theme);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let mut text = lines(model, inner.width as usize, inner.height as usize, theme);
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
