//! Text that fits its pane: cut only after whole words (with `…`), elided only inside names.
//!
//! On a projector (80x24) every pane is narrow, and a line cut mid-word (`next i`, `stop order-p`) reads as a
//! bug. So text is fitted here, in one place: sentences lose whole words from their end, optional parts
//! fold away before key text, and only names (`endpoint[order-processor, order-processor:orders]`, a quoted
//! breaker name, a path) lose characters from their middle. Everything counts one column per `char`: the
//! UI draws only ASCII, Latin text and single-width symbols.

/// Columns `text` takes.
pub fn columns(text: &str) -> usize {
    text.chars().count()
}

/// `text` in at most `width` columns, cut after a whole word (with `…`), never inside one.
pub fn fit_words(text: &str, width: usize) -> String {
    if columns(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for (i, word) in text.split(' ').enumerate() {
        // Leading spaces (an indent, ` · part`) are kept: only the end of the text gives way.
        let next = if i == 0 {
            word.to_string()
        } else {
            format!("{out} {word}")
        };
        if columns(&next) + 1 > width {
            break;
        }
        out = next;
    }
    if out.trim().is_empty() {
        // Not even the first word fits: it is a name (a breaker, an app id), so shorten it in the middle.
        return elide_middle(text.split(' ').next().unwrap_or_default(), width);
    }
    // A separator left dangling before the ellipsis (`timeout 5s ·…`) goes too.
    out.trim_end_matches([' ', '\u{b7}', ',', ';', ':']).to_string() + "\u{2026}"
}

/// `name` in at most `width` columns: its head and tail kept, the middle replaced by `…` (the tail carries more:
/// `order-processor:orders` ends in the method).
pub fn elide_middle(name: &str, width: usize) -> String {
    let n = columns(name);
    if n <= width {
        return name.to_string();
    }
    if width <= 1 {
        return "\u{2026}".chars().take(width).collect();
    }
    let keep = width - 1;
    let head = keep / 3;
    let tail = keep - head;
    let chars: Vec<char> = name.chars().collect();
    let mut out: String = chars[..head].iter().collect();
    out.push('\u{2026}');
    out.extend(&chars[n - tail..]);
    out
}

/// The shortest a name's short form gets (`or…orders`): Dapr's `Recovered processing operation endpoint[…]
/// after 7 attempts` keeps one row at 80 columns with it.
const SHORTEST_NAME: usize = 9;

thread_local! {
    /// How long a name's one short form is on the screen being drawn ([`set_screen_width`]).
    static SHORT_NAME: std::cell::Cell<usize> = const { std::cell::Cell::new(SHORTEST_NAME) };
}

/// Sets the short form's length for a screen `width` columns wide: every line of a screen shows a name whole
/// or in one short form (`or…orders` at 80 columns, for the breaker `order-processor:orders` and the endpoint
/// `order-processor, order-processor:orders` alike), never cut to a different length per line. The longest
/// Dapr line the panes show (`Recovered processing operation endpoint[…] after 7 attempts`) has 71 columns
/// around the name; from 110 columns names are whole.
pub fn set_screen_width(width: u16) {
    SHORT_NAME.set(usize::from(width).saturating_sub(71).max(SHORTEST_NAME));
}

/// A name's one short form on this screen, or the name when it is no longer.
pub fn short_name(name: &str) -> String {
    elide_middle(name, SHORT_NAME.get())
}

/// Byte ranges of the names in `text`: the inside of `word[...]` (not `WARN[0003]`), of `"..."`, and
/// whitespace-separated tokens holding a `/` (paths), and Dapr's built-in policy names.
fn names(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'[' if i > 0 && bytes[i - 1].is_ascii_alphabetic() => {
                if let Some(end) = text[i + 1..].find(']') {
                    let inside = i + 1..i + 1 + end;
                    if !text[inside.clone()].bytes().all(|b| b.is_ascii_digit()) {
                        spans.push(inside);
                    }
                    i += end + 2;
                    continue;
                }
            }
            b'"' if i == 0 || bytes[i - 1] != b'{' => {
                if let Some(end) = text[i + 1..].find('"') {
                    spans.push(i + 1..i + 1 + end);
                    i += end + 2;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut start = 0;
    for token in text.split(' ') {
        let range = start..start + token.len();
        start = range.end + 1;
        let inside_another = spans.iter().any(|s| s.start < range.end && range.start < s.end);
        if token.contains('/') && !token.starts_with("http") && !inside_another {
            spans.push(range);
        } else if token.starts_with("DaprBuiltIn") && !inside_another {
            // A built-in policy named as the operation (`operation DaprBuiltInServiceRetries. Retrying…`).
            let name = token.trim_end_matches(['.', ',']);
            spans.push(range.start..range.start + name.len());
        }
    }
    spans.sort_by_key(|r| r.start);
    spans
}

/// `text` on one row of `width` by shortening the names in it to their one short form ([`short_name`]), the
/// longest first; None when that is not enough (the caller wraps at words instead).
pub fn elide_names(text: &str, width: usize) -> Option<String> {
    let total = columns(text);
    if total <= width {
        return Some(text.to_string());
    }
    let spans = names(text);
    let mut sizes: Vec<usize> = spans.iter().map(|r| columns(&text[r.clone()])).collect();
    let mut short = vec![false; spans.len()];
    let mut excess = total - width;
    let mut by_length: Vec<usize> = (0..spans.len()).collect();
    by_length.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let short_len = SHORT_NAME.get();
    for i in by_length {
        if excess == 0 || sizes[i] <= short_len {
            break;
        }
        excess = excess.saturating_sub(sizes[i] - short_len);
        sizes[i] = short_len;
        short[i] = true;
    }
    if excess > 0 {
        return None;
    }
    let mut out = String::new();
    let mut at = 0;
    for (range, short) in spans.iter().zip(short) {
        out.push_str(&text[at..range.start]);
        let name = &text[range.clone()];
        out.push_str(&if short { short_name(name) } else { name.to_string() });
        at = range.end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// `text` as rows of at most `width`, broken between words; a word longer than a row is elided in its middle.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut row = String::new();
    for word in text.split(' ') {
        let word = elide_middle(word, width);
        if row.is_empty() {
            row = word;
        } else if columns(&row) + 1 + columns(&word) <= width {
            row.push(' ');
            row.push_str(&word);
        } else {
            rows.push(std::mem::take(&mut row));
            row = word;
        }
    }
    rows.push(row);
    rows
}

/// The rows one log line takes in a pane `width` wide: the first of `variants` (longest first) that fits on
/// one row, else the last one with its names elided, else the last one wrapped at words. Measuring and
/// drawing both use this, so the newest line is always at the bottom.
pub fn log_rows(variants: &[&str], width: usize) -> Vec<String> {
    if let Some(fits) = variants.iter().find(|v| columns(v) <= width) {
        return vec![fits.to_string()];
    }
    let shortest = variants.last().copied().unwrap_or_default();
    match elide_names(shortest, width) {
        Some(one_row) => vec![one_row],
        // The shortest form wrapped: a marker's `3.0s injected: NAME` takes fewer rows than its long form.
        None => wrap_words(shortest, width),
    }
}

/// Lines drawn wider than their area since the start (ratatui would cut them at the edge, mid-word). Every
/// pane fits its text first, so this stays 0: tests and the tmux runs check it, and a debug build says so at
/// exit if it is not.
static CLIPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts the lines of `lines` wider than `width` (see [`clipped`]).
pub fn check(lines: &[ratatui::text::Line], width: u16) {
    let over = lines.iter().filter(|l| l.width() > width as usize).count();
    CLIPPED.fetch_add(over, std::sync::atomic::Ordering::Relaxed);
}

/// How many lines were drawn wider than their area so far.
pub fn clipped() -> usize {
    CLIPPED.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_cut_after_a_whole_word() {
        assert_eq!(
            fit_words("Breaker OPEN: calls fail fast.", 80),
            "Breaker OPEN: calls fail fast."
        );
        assert_eq!(fit_words("one two three four", 12), "one two\u{2026}");
        assert_eq!(fit_words("timeout 5s \u{b7} maxRequests 1", 14), "timeout 5s\u{2026}");
        assert_eq!(
            fit_words(" \u{b7} stop order-processor", 12),
            " \u{b7} stop\u{2026}",
            "the indent stays"
        );
    }

    #[test]
    fn dapr_s_retry_line_fits_80_columns_by_eliding_the_endpoint_only() {
        let line = "WARN[0003] Error processing operation endpoint[order-processor, order-processor:orders]. Retrying in 5s\u{2026}";
        let fitted = elide_names(line, 78).unwrap();
        assert!(columns(&fitted) <= 78, "{fitted}");
        assert!(
            fitted.starts_with("WARN[0003] Error processing operation endpoint["),
            "{fitted}"
        );
        assert!(fitted.ends_with("orders]. Retrying in 5s\u{2026}"), "{fitted}");
    }

    #[test]
    fn a_name_has_one_short_form_on_a_screen() {
        set_screen_width(80);
        let retry = "WARN[0003] Error processing operation endpoint[order-processor, order-processor:orders]. Retrying in 5s\u{2026}";
        let open = "INFO[0023] Circuit breaker \"order-processor:orders\" changed state from half-open to open";
        let recovered = "INFO[0040] Recovered processing operation endpoint[order-processor, order-processor:orders] after 8 attempts";
        let forms: Vec<String> = [retry, open, recovered]
            .iter()
            .map(|l| {
                let fitted = elide_names(l, 78).unwrap();
                let start = fitted.find(['[', '"']).unwrap();
                let start = fitted[start + 1..].find(['[', '"']).map_or(start, |s| start + 1 + s) + 1;
                let name = &fitted[start..];
                name[..name.find([']', '"']).unwrap()].to_string()
            })
            .collect();
        assert_eq!(forms, ["or\u{2026}orders"; 3], "one form on every line");
        set_screen_width(120);
        assert_eq!(
            elide_names(recovered, 118).as_deref(),
            Some(recovered),
            "whole at 120 columns"
        );
    }

    #[test]
    fn a_quoted_breaker_name_is_elided_not_the_words_around_it() {
        let line = "INFO[0023] Circuit breaker \"order-processor:orders\" changed state from closed to open";
        let fitted = elide_names(line, 78).unwrap();
        assert!(fitted.ends_with("\" changed state from closed to open"), "{fitted}");
        assert!(fitted.contains('\u{2026}'), "{fitted}");
    }

    #[test]
    fn json_and_plain_words_are_never_elided() {
        assert_eq!(elide_names("Order passed: {\"orderId\":1234567890123}", 20), None);
        assert_eq!(elide_names("a sentence with no names in it at all", 10), None);
    }

    #[test]
    fn wrapping_breaks_between_words() {
        assert_eq!(
            wrap_words("attempt 5 failed, next in 3.0s", 18),
            ["attempt 5 failed,", "next in 3.0s"]
        );
    }

    #[test]
    fn the_shorter_variant_is_used_before_eliding() {
        let rows = log_rows(
            &[
                "---- 3.0s fault injected: stop-order-processor ----",
                "3.0s injected: stop-order-processor",
            ],
            38,
        );
        assert_eq!(rows, ["3.0s injected: stop-order-processor"]);
    }
}
