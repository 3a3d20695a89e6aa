//! The help overlay (`?`) with ratatui's TestBackend, for a built-in scenario as it loads: the lesson first,
//! the box sized to the terminal (nearly all of 80x24, wider at 110x50), scrolled to its end, and every word
//! of its text on some row.

use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use resilience_tui::scenario::Scenario;
use resilience_tui::tui::keymap::keymap;
use resilience_tui::tui::model::Model;
use resilience_tui::tui::theme::Theme;
use resilience_tui::tui::view::{View, draw};
use resilience_tui::tui::{help, overlay};

fn scenario(name: &str) -> Scenario {
    resilience_tui::scenario::find(name).unwrap().load().unwrap()
}

/// The screen with the help open at `scroll`.
fn render(scenario: &Scenario, width: u16, height: u16, scroll: usize) -> String {
    let model = Model::new(scenario);
    let view = View {
        help: true,
        help_scroll: scroll,
        ..View::new(scenario.apps.len() + 1)
    };
    let map = keymap(&scenario.faults);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| draw(f, &model, &view, &map, &scenario.summary, Theme::plain()))
        .unwrap();
    terminal.backend().to_string()
}

/// The rows of the screen, without TestBackend's quotes.
fn rows(screen: &str) -> Vec<String> {
    screen.lines().map(|l| l.trim_matches('"').to_string()).collect()
}

fn last_scroll(scenario: &Scenario, width: u16, height: u16) -> usize {
    let map = keymap(&scenario.faults);
    help::extent(
        Rect::new(0, 0, width, height),
        &Model::new(scenario),
        &map,
        &scenario.summary,
    )
    .0
}

#[test]
fn at_80x24_the_lesson_comes_first_and_the_end_is_reachable() {
    let s = scenario("service-invoke");
    let top = render(&s, 80, 24, 0);
    let screen = rows(&top);
    assert!(
        screen[1].starts_with(" \u{250c} help") && screen[22].chars().nth(1) == Some('\u{2514}'),
        "nearly the whole screen: one row and column of the UI around it:\n{top}"
    );
    assert!(screen[2].contains("Resiliency: service-to-service"), "{top}");
    assert!(
        screen[3].contains("checkout calls order-processor"),
        "the lesson's summary next:\n{top}"
    );
    assert!(top.contains("What to watch"), "{top}");
    assert!(top.contains("\u{2193} more \u{b7} 1-20 of "), "says it scrolls:\n{top}");
    assert!(screen[0].contains("0.0s"), "the clock stays in view:\n{top}");
    assert!(
        screen[23].contains("close the help") && screen[23].contains("scroll"),
        "{top}"
    );
    assert_snapshot!("help_80x24_top", top);

    let last = last_scroll(&s, 80, 24);
    assert!(last > 0, "service-invoke's help is taller than 80x24");
    let end = render(&s, 80, 24, last);
    assert!(end.contains("\u{2191} end"), "{end}");
    assert!(end.contains("End       to the end"), "the last binding:\n{end}");
    assert_eq!(render(&s, 80, 24, last + 50), end, "scrolling stops at the last row");
    assert_snapshot!("help_80x24_end", end);
}

#[test]
fn at_110x50_the_box_grows_with_the_terminal() {
    let s = scenario("timeouts");
    let screen = render(&s, 110, 50, 0);
    let top = rows(&screen).into_iter().find(|r| r.contains("\u{250c} help")).unwrap();
    let chars: Vec<char> = top.chars().collect();
    let left = chars.iter().position(|c| *c == '\u{250c}').unwrap();
    let right = chars.iter().rposition(|c| *c == '\u{2510}').unwrap();
    let width = right - left + 1;
    assert_eq!(width, usize::from(help::MAX_WIDTH), "{screen}");
    assert!(screen.contains("Lesson: timeouts"), "{screen}");
    assert!(
        !screen.contains("more \u{b7}"),
        "the whole help fits at 110x50, so nothing says it scrolls:\n{screen}"
    );
    assert_snapshot!("help_110x50", screen);
}

/// Every word of the help is on some row, in order: the rows rejoined give back the text of each line, for
/// every built-in scenario at 80 columns (74 columns of text in a box of 78).
#[test]
fn no_word_of_the_help_is_lost_or_split() {
    for name in resilience_tui::scenario::builtin::BUILT_IN.iter().map(|b| b.name) {
        let s = scenario(name);
        let model = Model::new(&s);
        let map = keymap(&s.faults);
        let paras = help::paras(&model, &map, &s.summary, Theme::plain());
        let text = |line: &ratatui::text::Line| -> String { line.spans.iter().map(|s| s.content.as_ref()).collect() };
        let words = |t: String| t.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let want: Vec<String> = paras.iter().flat_map(|p| words(text(&p.line))).collect();
        let rows = overlay::rows(&paras, 74);
        let got: Vec<String> = rows.iter().flat_map(|r| words(text(r))).collect();
        assert_eq!(got, want, "{name}");
        for r in &rows {
            assert!(text(r).chars().count() <= 74, "{name}: {:?}", text(r));
        }
        let watch = s
            .faults
            .last()
            .unwrap()
            .explain
            .split_whitespace()
            .last()
            .unwrap()
            .to_string();
        assert!(
            want.contains(&watch),
            "{name}: the last word of What to watch is in the help"
        );
    }
}
