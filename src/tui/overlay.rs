//! The box drawn over the panes, shared by the help (`?`) and the fault picker (`F`): its text wrapped between
//! words here (so the number of rows is known before drawing, and a key can scroll to the last one), drawn
//! from a scroll offset, with where the view is (`↓ more · 1-20 of 52`) in its bottom border.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph};

use super::fit;
use super::theme::Theme;

/// One line of an overlay's text: wrapped between words when it is wider than the box, its continuation rows
/// indented by `hang` columns (a key's description stays right of its key).
#[derive(Debug, Clone)]
pub struct Para {
    pub line: Line<'static>,
    pub hang: usize,
}

impl Para {
    pub fn new(line: impl Into<Line<'static>>, hang: usize) -> Self {
        Self {
            line: line.into(),
            hang,
        }
    }

    pub fn blank() -> Self {
        Self::new(Line::raw(""), 0)
    }
}

/// A box of `size` (width, height) over the middle of `area`, at most the area.
pub fn centred(area: Rect, size: (u16, u16)) -> Rect {
    let (width, height) = (size.0.min(area.width), size.1.min(area.height));
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// `paras` as rows of at most `width` columns.
pub fn rows(paras: &[Para], width: usize) -> Vec<Line<'static>> {
    paras.iter().flat_map(|p| wrap(&p.line, width, p.hang)).collect()
}

/// Columns of text in a box: inside its border and a column of space on either side.
pub fn text_width(rect: Rect) -> usize {
    usize::from(rect.width.saturating_sub(4))
}

/// Rows of text a box shows (inside its border).
pub fn visible(rect: Rect) -> usize {
    usize::from(rect.height.saturating_sub(2))
}

/// The furthest `rows` can scroll in a box: the offset that shows the last row at the bottom.
pub fn max_scroll(rows: usize, rect: Rect) -> usize {
    rows.saturating_sub(visible(rect))
}

/// Draws `rows` (from [`rows`], at [`text_width`]) in a bordered box at `rect`, from row `scroll` (kept
/// within the text), with `title` on top and, when the text is taller than the box, where the view is below.
pub fn draw(frame: &mut Frame, rect: Rect, rows: Vec<Line<'static>>, scroll: usize, title: &str, theme: Theme) {
    let shown = visible(rect);
    let total = rows.len();
    let scroll = scroll.min(max_scroll(total, rect));
    let mut block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .padding(Padding::horizontal(1))
        .title(title.to_string());
    if total > shown {
        let last = (scroll + shown).min(total);
        let more = match (scroll > 0, last < total) {
            (false, _) => "\u{2193} more",
            (true, true) => "\u{2191}\u{2193} more",
            (true, false) => "\u{2191} end",
        };
        let at = format!(" {more} \u{b7} {}-{last} of {total} ", scroll + 1);
        block = block.title_bottom(Line::styled(at, theme.key()).right_aligned());
    }
    let text: Vec<Line> = rows.into_iter().skip(scroll).take(shown).collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(text).block(block), rect);
}

/// `line` as rows of at most `width` columns, broken at spaces (its styles kept); a continuation row starts
/// with `hang` spaces. A word wider than a row is shortened in its middle, never split across rows.
fn wrap(line: &Line<'static>, width: usize, hang: usize) -> Vec<Line<'static>> {
    let chars: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, line.style.patch(s.style))))
        .collect();
    if chars.len() <= width {
        return vec![line.clone()];
    }
    let hang = hang.min(width / 2);
    // The words: runs of non-spaces, as (start, end) in `chars`.
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].0 == ' ' {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].0 != ' ' {
            i += 1;
        }
        words.push((start, i));
    }
    let mut out = Vec::new();
    // The row being built, as (start, end) in `chars`; the first row starts at 0, keeping the line's indent.
    let mut row: Option<(usize, usize)> = None;
    let mut first = true;
    let mut indent = 0;
    for (start, end) in words {
        if let Some((s, e)) = row
            && indent + (end - s) > width
        {
            out.push(styled_row(indent, &chars[s..e]));
            (row, first, indent) = (None, false, hang);
        }
        let s = row.map_or(if first { 0 } else { start }, |(s, _)| s);
        if indent + (end - s) > width {
            // A word alone too wide for a row (a long name): its middle gives way.
            let word: String = chars[start..end].iter().map(|(c, _)| c).collect();
            let short = fit::elide_middle(&word, width - indent);
            out.push(Line::from(vec![
                Span::raw(" ".repeat(indent)),
                Span::styled(short, chars[start].1),
            ]));
            (row, first, indent) = (None, false, hang);
            continue;
        }
        row = Some((s, end));
    }
    if let Some((s, e)) = row {
        out.push(styled_row(indent, &chars[s..e]));
    }
    out
}

/// `indent` spaces, then `chars` grouped into spans of one style.
fn styled_row(indent: usize, chars: &[(char, Style)]) -> Line<'static> {
    let mut spans = Vec::new();
    if indent > 0 {
        spans.push(Span::raw(" ".repeat(indent)));
    }
    let mut run = String::new();
    let mut style = chars.first().map(|(_, s)| *s).unwrap_or_default();
    for (c, s) in chars {
        if *s != style && !run.is_empty() {
            spans.push(Span::styled(std::mem::take(&mut run), style));
        }
        style = *s;
        run.push(*c);
    }
    spans.push(Span::styled(run, style));
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Modifier;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_line_wraps_between_words_with_its_styles_and_hanging_indent() {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let line = Line::from(vec![
            Span::styled("  PgUp      ", bold),
            Span::raw("page up through the focused log or this help"),
        ]);
        let rows = wrap(&line, 30, 12);
        let texts: Vec<String> = rows.iter().map(text).collect();
        assert_eq!(
            texts,
            [
                "  PgUp      page up through",
                "            the focused log or",
                "            this help",
            ]
        );
        assert_eq!(rows[0].spans[0].style, bold, "the key keeps its style");
        for row in &texts {
            assert!(fit::columns(row) <= 30, "{row:?}");
        }
    }

    #[test]
    fn a_word_wider_than_the_row_is_shortened_not_split() {
        let line = Line::raw("see endpoint[order-processor:orders-and-more-orders] now");
        let texts: Vec<String> = wrap(&line, 20, 2).iter().map(text).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert_eq!(texts[0], "see");
        assert!(
            texts[1].contains('\u{2026}') && fit::columns(&texts[1]) <= 20,
            "{texts:?}"
        );
        assert_eq!(texts[2], "  now");
    }

    #[test]
    fn the_scroll_offset_stays_within_the_text() {
        let rect = Rect::new(0, 0, 40, 12);
        assert_eq!(visible(rect), 10);
        assert_eq!(max_scroll(25, rect), 15);
        assert_eq!(max_scroll(5, rect), 0);
    }
}
