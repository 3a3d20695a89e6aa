//! The circuit breakers pane: per breaker, its state and what comes next, a strip of its recent history with
//! every half-open probe marked, its live counts, its transitions and policy, as many as fit.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::{block, secs};
use crate::resiliency::BreakerState;
use crate::tui::model::{BreakerView, Cell, Model};
use crate::tui::theme::Theme;
use crate::tui::{fit, narrate};

/// Seconds per strip cell.
const STRIP_STEP: Duration = Duration::from_secs(1);

fn state_word(s: BreakerState) -> &'static str {
    match s {
        BreakerState::Closed => "CLOSED",
        BreakerState::Open => "OPEN",
        BreakerState::HalfOpen => "HALF-OPEN",
    }
}

/// A line and how much it is worth keeping (0 first) when the pane is short.
type Ranked = (u8, Line<'static>);

/// `NAME  OPEN 2.0s · probe in 3.0s`: the name gives way first, then what comes next.
fn head(b: &BreakerView, model: &Model, width: usize, theme: Theme) -> Line<'static> {
    let state = state_word(b.state);
    let time = format!(" {}", secs(model.now.saturating_sub(b.since)));
    let next = match b.state {
        BreakerState::Closed => format!(" \u{b7} opens when {}", b.trip),
        BreakerState::HalfOpen => " \u{b7} a probe is deciding".to_string(),
        BreakerState::Open => match model.time_to_probe(b) {
            Some(wait) if wait >= crate::tui::narrate::DUE => format!(" \u{b7} probe in {}", secs(wait)),
            _ => " \u{b7} probe on the next call".to_string(),
        },
    };
    // When a probe comes matters more than the whole name: for an open or half-open breaker the name is
    // elided first, then `next` dropped; a closed breaker's `opens when …` never costs its name.
    let fixed = fit::columns(state) + fit::columns(&time) + 2;
    let room_for_next = match b.state {
        BreakerState::Closed => width.saturating_sub(fixed + fit::columns(&b.name)),
        _ => width.saturating_sub(fixed + 9),
    };
    let next = if fit::columns(&next) <= room_for_next {
        next
    } else {
        String::new()
    };
    // Whole, or its one short form (the same on every line of the screen).
    let room = width.saturating_sub(fixed + fit::columns(&next));
    let name = if fit::columns(&b.name) <= room {
        b.name.clone()
    } else {
        fit::short_name(&b.name)
    };
    let next = if fit::columns(&name) + fixed + fit::columns(&next) <= width {
        next
    } else {
        String::new()
    };
    Line::from(vec![
        Span::styled(name, Style::new().add_modifier(Modifier::BOLD)),
        Span::raw("  "),
        Span::styled(state, theme.breaker(b.state)),
        Span::raw(time),
        Span::raw(next),
    ])
}

/// `last 30s ─────███◆████◆██`: one cell a second, probes as `◆`, faults shaded behind.
fn strip(b: &BreakerView, model: &Model, width: usize, theme: Theme) -> Line<'static> {
    let cells = width.saturating_sub(11).clamp(4, 120);
    let faults: Vec<_> = model.fault_spans.iter().copied().collect();
    let label = format!(" last {cells}s ");
    let room = width.saturating_sub(fit::columns(&label));
    let cells = room.clamp(4, 120);
    // Right-aligned, so the strip always ends at the pane's edge: now.
    let mut spans = vec![Span::styled(label + &" ".repeat(room - cells.min(room)), theme.dim())];
    for Cell { state, probe, fault } in b.strip(model.now, cells, STRIP_STEP, &faults) {
        let (glyph, style) = match (probe, state) {
            (_, None) => (" ", Style::new()),
            (true, Some(_)) => ("\u{25c6}", theme.strip_cell(BreakerState::HalfOpen, fault)),
            (false, Some(s @ BreakerState::Closed)) => ("\u{2500}", theme.strip_cell(s, fault)),
            (false, Some(s)) => ("\u{2588}", theme.strip_cell(s, fault)),
        };
        spans.push(Span::styled(glyph, style));
    }
    Line::from(spans)
}

fn counts(b: &BreakerView, width: usize, theme: Theme) -> Line<'static> {
    let c = b.counts;
    // gobreaker starts a new generation, with zeroed counts, on every state change (gobreaker.go,
    // toNewGeneration): said once the breaker has changed state, before the less telling counts.
    let note = if b.transitions.is_empty() {
        ""
    } else {
        " (reset on state change)"
    };
    let parts: Vec<String> = match b.state {
        BreakerState::HalfOpen => vec![
            format!(
                " consecutiveSuccesses {} of {} needed",
                c.consecutive_successes, b.max_requests
            ),
            format!(" \u{b7} requests {}", c.requests),
        ],
        _ => vec![
            format!(" consecutiveFailures {}", c.consecutive_failures),
            format!(" \u{b7} totalFailures {}", c.total_failures),
            format!(" \u{b7} requests {}", c.requests),
        ],
    };
    let first = fit::fit_words(&parts[0], width);
    let note = if fit::columns(&first) + fit::columns(note) <= width {
        note
    } else {
        ""
    };
    let mut rest = String::new();
    for part in &parts[1..] {
        if fit::columns(&first) + fit::columns(note) + fit::columns(&rest) + fit::columns(part) <= width {
            rest.push_str(part);
        }
    }
    Line::from(vec![Span::raw(first + &rest), Span::styled(note, theme.dim())])
}

fn transitions(b: &BreakerView, width: usize, theme: Theme) -> Vec<Line<'static>> {
    b.transitions
        .iter()
        .rev()
        .map(|t| {
            // Each reason in two lengths: the shorter one when the pane is narrow.
            let why: [String; 2] = match t.to {
                BreakerState::Open if t.from == BreakerState::Closed => {
                    let n = t.counts.consecutive_failures;
                    [
                        format!(" after {n} consecutive failures"),
                        format!(" after {n} failures"),
                    ]
                }
                BreakerState::Open => [" (the probe failed)".into(), " (probe failed)".into()],
                BreakerState::HalfOpen => [" (timeout passed: one call may probe)".into(), " (may probe)".into()],
                BreakerState::Closed => [" (the probe succeeded)".into(), " (probe passed)".into()],
            };
            let at = format!(" {:>6} ", secs(t.at));
            let fixed = fit::columns(&at) + state_word(t.from).len() + 4 + state_word(t.to).len();
            let why = why
                .into_iter()
                .find(|w| fixed + fit::columns(w) <= width)
                .unwrap_or_default();
            Line::from(vec![
                Span::raw(at),
                Span::styled(state_word(t.from), theme.breaker(t.from)),
                Span::raw(" -> "),
                Span::styled(state_word(t.to), theme.breaker(t.to)),
                Span::styled(why, theme.dim()),
            ])
        })
        .collect()
}

/// One breaker's lines in display order, each ranked: state, strip, counts, latest transition, policy, the rest.
fn breaker_lines(b: &BreakerView, model: &Model, width: usize, theme: Theme) -> Vec<Ranked> {
    // The policy's parts whole, as many as fit (`maxRequests…` without its number would mislead).
    let mut policy = String::new();
    for part in b.policy.split(" \u{b7} ") {
        let next = if policy.is_empty() {
            format!(" {part}")
        } else {
            format!("{policy} \u{b7} {part}")
        };
        if fit::columns(&next) > width {
            break;
        }
        policy = next;
    }
    let mut lines = vec![
        (0, head(b, model, width, theme)),
        (1, strip(b, model, width, theme)),
        (2, counts(b, width, theme)),
        (4, Line::styled(policy, theme.dim())),
    ];
    for (i, t) in transitions(b, width, theme).into_iter().enumerate() {
        lines.push((if i == 0 { 3 } else { 5 }, t));
    }
    lines
}

/// Keeps the best-ranked lines that fit in `height`, in display order.
fn keep_best(lines: Vec<Ranked>, height: usize) -> Vec<Line<'static>> {
    let mut ranks: Vec<(u8, usize)> = lines.iter().enumerate().map(|(i, (r, _))| (*r, i)).collect();
    ranks.sort();
    let mut keep: Vec<usize> = ranks.into_iter().take(height).map(|(_, i)| i).collect();
    keep.sort_unstable();
    let mut lines: Vec<Option<Line>> = lines.into_iter().map(|(_, l)| Some(l)).collect();
    keep.into_iter().filter_map(|i| lines[i].take()).collect()
}

/// Why there is no breaker to show: the target names a policy that does not exist, its policy has none,
/// or no call has been made yet.
fn no_breaker(model: &Model, width: usize, height: usize, theme: Theme) -> Vec<Line<'static>> {
    // A target's `circuitBreaker` naming a policy that does not exist (resources/mod.rs says so, located).
    let missing = model
        .warnings
        .iter()
        .find(|w| w.field.as_deref().is_some_and(|f| f.ends_with(".circuitBreaker")));
    let texts: Vec<String> = match missing {
        Some(w) => vec![format!(
            "no breaker: the target's circuitBreaker is not defined (the warning above{}){}",
            w.location.as_deref().map(|l| format!(", {l}")).unwrap_or_default(),
            w.help.as_deref().map(|h| format!("; {h}")).unwrap_or_default()
        )],
        None if model.policies.is_empty() => {
            vec!["no call yet: a breaker, if the policy has one, is made on the first call to its target".into()]
        }
        None => {
            // Whole sentences while they fit: a cut one would end mid-thought.
            let mut rows = Vec::new();
            for sentence in model.policies.all().flat_map(|(_, p)| narrate::no_breaker(p)) {
                let wrapped = fit::wrap_words(&sentence, width);
                if rows.len() + wrapped.len() <= height || rows.is_empty() {
                    rows.extend(wrapped);
                }
            }
            return rows.into_iter().map(|row| Line::styled(row, theme.dim())).collect();
        }
    };
    let style = if missing.is_some() {
        theme.warning()
    } else {
        theme.dim()
    };
    texts
        .iter()
        .flat_map(|t| fit::wrap_words(t, width))
        .map(|row| Line::styled(row, style))
        .collect()
}

/// One row per caller whose policy for a target has no breaker, next to the breakers others have
/// (why-breakers: checkout-retry has none).
fn without_breaker(model: &Model, width: usize, theme: Theme) -> Vec<Line<'static>> {
    model
        .policies
        .all()
        .filter(|(_, p)| p.circuit_breaker.is_none())
        .map(|(caller, p)| {
            let text = format!("{caller} \u{2192} {}: no breaker", p.target);
            Line::styled(fit::fit_words(&text, width), theme.dim())
        })
        .collect()
}

pub fn breakers(frame: &mut Frame, area: Rect, model: &Model, theme: Theme) {
    let width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(2) as usize;
    let count = model.breakers.len();
    let mut lines = Vec::new();
    let others = if count > 0 {
        without_breaker(model, width, theme)
    } else {
        Vec::new()
    };
    // A breaker's state, strip and counts come before the callers without one; those before transitions.
    let height_for_breakers = height.saturating_sub(others.len()).max(3.min(height));
    let others_shown = height - height_for_breakers.min(height);
    let height = height_for_breakers;
    // Each breaker gets an equal share of the rows (at least its state line); what does not fit is counted.
    let share = height.checked_div(count).unwrap_or(0).max(1);
    let shown = (height / share).min(count);
    for b in model.breakers.values().take(shown) {
        lines.extend(keep_best(breaker_lines(b, model, width, theme), share));
    }
    if shown < count {
        lines.truncate(height.saturating_sub(1));
        lines.push(Line::styled(format!("+{} more breakers", count - shown), theme.dim()));
    }
    lines.extend(others.into_iter().take(others_shown));
    if count == 0 {
        lines = no_breaker(model, width, height, theme);
    }
    let title = " circuit breakers ".to_string();
    super::lines_in(frame, lines, area, Some(block(title, false, theme)));
}
