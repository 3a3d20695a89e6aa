//! What the lessons say at 80x24, from real runs: each built-in lesson on a paused clock over real TCP (its own
//! resources, its fault injected at an exact time), the events fed to the UI's model as the TUI feeds them,
//! and the screen drawn with ratatui's TestBackend at chosen moments. Every sentence checked here is one that
//! was false or missing before: words that must follow from the policy in force and from the counts.

use crate::common;

use std::time::Duration;

use common::story::run_scenario;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use resilience_tui::event::{Event, FaultEvent, Stamped};
use resilience_tui::resiliency::ResiliencyEvent;
use resilience_tui::scenario::{self, Scenario};
use resilience_tui::tui::keymap::keymap;
use resilience_tui::tui::model::{LineKind, Model};
use resilience_tui::tui::theme::Theme;
use resilience_tui::tui::view::{View, draw};

/// The screen of `scenario` at `at` seconds, `width`x`height`, from the run's events up to then.
fn screen_at(scenario: &Scenario, events: &[Stamped], at: f64, width: u16, height: u16) -> String {
    let mut model = Model::new(scenario);
    let until = Duration::from_secs_f64(at);
    events.iter().filter(|e| e.at <= until).for_each(|e| model.apply(e));
    model.now = until;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let map = keymap(&scenario.faults);
    let view = View::new(scenario.apps.len() + 1);
    terminal
        .draw(|f| draw(f, &model, &view, &map, &scenario.summary, Theme::plain()))
        .unwrap();
    // TestBackend's text: one quoted row per line.
    terminal
        .backend()
        .to_string()
        .lines()
        .map(|l| l.trim_matches('"').to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn lesson(name: &str) -> Scenario {
    scenario::find(name).unwrap().load().unwrap()
}

/// The story line: the screen's second row.
fn story_line(screen: &str) -> &str {
    screen.lines().nth(1).unwrap_or_default().trim()
}

/// Item 1: "Nothing lost" only when nothing failed. `timeouts` fails orders while its breaker is open; after
/// the clear, the story line counts them instead.
#[tokio::test(start_paused = true)]
async fn the_story_counts_failed_orders_and_says_nothing_lost_only_when_none_failed() {
    let scenario = lesson("timeouts");
    let events = run_scenario("timeouts", None, 0, (3, Some(25)), 40).await;
    let mut checked = 0;
    for t in (26..40).map(f64::from) {
        let screen = screen_at(&scenario, &events, t, 80, 24);
        let story = story_line(&screen);
        assert!(!story.contains("Nothing lost"), "at {t}s, orders failed:\n{screen}");
        if story.contains("failed in all, none lost.") {
            checked += 1;
        }
    }
    assert!(checked > 0, "the story line never counted the failed orders");
    // service-invoke's outage fails nothing: there it says so.
    let scenario = lesson("service-invoke");
    let events = run_scenario("service-invoke", None, 0, (5, Some(37)), 45).await;
    let screen = screen_at(&scenario, &events, 42.0, 80, 24);
    assert!(story_line(&screen).ends_with("Nothing lost."), "{screen}");
}

/// Item 2: with no Resiliency policy the screen says so, and what each fault meets: the built-in retries for
/// an unreachable sidecar, nothing for an app's 503.
#[tokio::test(start_paused = true)]
async fn no_resiliency_names_the_built_in_retries_and_what_each_fault_meets() {
    let scenario = lesson("no-resiliency");
    let events = run_scenario("no-resiliency", None, 0, (3, None), 12).await;
    let before = screen_at(&scenario, &events, 2.5, 80, 24);
    assert!(story_line(&before).contains("No Resiliency policy"), "{before}");
    assert!(!before.contains("watch the policy work"), "{before}");
    // Between two orders' retries (the first failed at 6s after 3 built-in retries; the next is sent at 7s).
    let outage = screen_at(&scenario, &events, 6.5, 80, 24);
    let story = story_line(&outage);
    assert!(
        story.contains("built-in retries") && story.contains("then the call fails"),
        "{outage}"
    );
    assert!(!story.contains("the policy will retry"), "{outage}");
    let events = run_scenario("no-resiliency", None, 2, (3, None), 8).await;
    let story = story_line(&screen_at(&scenario, &events, 6.5, 80, 24)).to_string();
    assert!(
        story.contains("answers 503") && story.contains("fail at once"),
        "{story}"
    );
}

/// Item 3: a policy with no circuit breaker says so, and where one would go; never "no breaker yet".
#[tokio::test(start_paused = true)]
async fn a_policy_without_a_breaker_says_so() {
    for name in ["exponential-backoff", "defaults", "no-resiliency"] {
        let scenario = lesson(name);
        let events = run_scenario(name, None, 0, (3, None), 5).await;
        let screen = screen_at(&scenario, &events, 2.5, 80, 24);
        assert!(screen.contains("order-processor: no"), "{name}:\n{screen}");
        assert!(screen.contains("circuit breaker"), "{name}:\n{screen}");
        assert!(!screen.contains("no breaker yet"), "{name}:\n{screen}");
        let tall = screen_at(&scenario, &events, 2.5, 120, 40);
        assert!(
            tall.contains("targets.apps.order-processor.circuitBreaker"),
            "{name}: where a breaker would go:\n{tall}"
        );
    }
}

/// Item 8: each failed attempt's reason where the held order is, with the timeout that caused it; the
/// breaker's `timeout` reads as how long it stays open.
#[tokio::test(start_paused = true)]
async fn timeouts_show_context_deadline_exceeded_and_the_breaker_stays_open() {
    let scenario = lesson("timeouts");
    let events = run_scenario("timeouts", None, 0, (3, None), 8).await;
    let screen = screen_at(&scenario, &events, 5.0, 80, 24);
    assert!(screen.contains("attempt 1 failed: context"), "{screen}");
    assert!(screen.contains("deadline exceeded (1s timeout)"), "{screen}");
    let tall = screen_at(&scenario, &events, 5.0, 120, 40);
    assert!(tall.contains("stays open 10s"), "{tall}");
    assert!(!tall.contains("\u{b7} timeout 10s"), "{tall}");
}

/// Item 9: the growing waits of an exponential policy, in order, where the held order is.
#[tokio::test(start_paused = true)]
async fn exponential_backoff_lists_the_growing_waits() {
    let scenario = lesson("exponential-backoff");
    let events = run_scenario("exponential-backoff", None, 0, (3, None), 12).await;
    let screen = screen_at(&scenario, &events, 11.0, 80, 24);
    let row = screen
        .lines()
        .find_map(|l| l.split("waits: ").nth(1))
        .unwrap_or_else(|| panic!("no waits row:\n{screen}"));
    let waits: Vec<f64> = row
        .trim_end_matches(['│', ' '])
        .split(" \u{2192} ")
        .filter_map(|w| w.trim_end_matches('s').parse().ok())
        .collect();
    assert!(waits.len() >= 3, "{row}");
    // The row is the latest waits the engine scheduled, in order (randomized ±50% around 500ms × 1.5ⁿ).
    let scheduled: Vec<f64> = events
        .iter()
        .filter(|e| e.at <= Duration::from_secs(11))
        .filter_map(|e| match &e.event {
            Event::Resiliency {
                event: ResiliencyEvent::RetryScheduled { wait, .. },
                ..
            } => Some((wait.as_secs_f64() * 10.0).round() / 10.0),
            _ => None,
        })
        .collect();
    assert_eq!(waits, scheduled[scheduled.len() - waits.len()..], "{row}");
    assert!(scheduled.len() >= 4, "{scheduled:?}");
    let (first, last) = (&scheduled[..3], &scheduled[scheduled.len() - 3..]);
    assert!(
        last.iter().cloned().fold(0.0, f64::max) > first.iter().cloned().fold(f64::MAX, f64::min),
        "the waits grow: {scheduled:?}"
    );
}

/// Item 10: the defaults lesson names the policy in force and why it won.
#[tokio::test(start_paused = true)]
async fn defaults_name_the_policy_in_force_and_what_it_won_over() {
    let scenario = lesson("defaults");
    let events = run_scenario("defaults", None, 0, (3, None), 5).await;
    let screen = screen_at(&scenario, &events, 2.5, 80, 24);
    assert!(story_line(&screen).contains("DefaultAppRetryPolicy"), "{screen}");
    assert!(screen.contains("chosen over DefaultRetryPolicy"), "{screen}");
}

/// Item 12: a name is drawn whole or in its one short form, never cut to different lengths on one screen;
/// the lesson's title stays in the header.
#[tokio::test(start_paused = true)]
async fn one_short_form_per_name_and_the_title_stays() {
    let scenario = lesson("service-invoke");
    let events = run_scenario("service-invoke", None, 0, (5, Some(37)), 45).await;
    for t in [26.0, 31.0, 42.0] {
        let screen = screen_at(&scenario, &events, t, 80, 24);
        let mut forms: Vec<&str> = screen
            .split(|c: char| c == '"' || c == '[' || c == ']' || c.is_whitespace() || c == '│')
            .filter(|w| w.contains('\u{2026}') && w.ends_with("orders"))
            .collect();
        forms.sort_unstable();
        forms.dedup();
        assert!(forms.len() <= 1, "at {t}s: {forms:?}\n{screen}");
    }
    let why = lesson("why-breakers");
    let events = run_scenario("why-breakers", None, 0, (3, None), 20).await;
    let screen = screen_at(&why, &events, 19.0, 80, 24);
    assert!(
        screen.lines().next().unwrap().contains("Lesson: why circuit breakers"),
        "{screen}"
    );
    assert!(
        screen.contains("checkout-retry \u{2192} order-processor: no breaker"),
        "{screen}"
    );
}

/// Items 5 and 6 on the model: a reload forgets the old breakers and policies; `+`/`-` keep the fault's
/// action current and mark the sidecar log once, not the app panes.
#[test]
fn reloads_and_adjustments_keep_the_panes_current() {
    let scenario = lesson("timeouts");
    let mut model = Model::new(&scenario);
    let at = |s: u64, event| Stamped {
        at: Duration::from_secs(s),
        event,
    };
    let created = |trip: &str| Event::Resiliency {
        app_id: "checkout".into(),
        event: ResiliencyEvent::BreakerCreated {
            breaker: "order-processor:orders".into(),
            policy: format!("trip {trip}"),
            max_requests: 1,
            trip: trip.into(),
            timeout: Duration::from_secs(10),
        },
    };
    model.apply(&at(1, created("consecutiveFailures > 5")));
    model.apply(&at(
        20,
        Event::SidecarRestarting {
            app_id: "checkout".into(),
        },
    ));
    assert!(model.breakers.is_empty(), "the reloaded sidecar has new breakers");
    model.apply(&at(21, created("consecutiveFailures > 2")));
    let b = &model.breakers["order-processor:orders"];
    assert_eq!(
        (b.trip.as_str(), b.since),
        ("consecutiveFailures > 2", Duration::from_secs(21))
    );

    let adjusted = Event::Fault(FaultEvent::Adjusted {
        fault: "slow-order-processor".into(),
        description: "calls to order-processor now wait 1.5s".into(),
        action: "latency 1.5s".into(),
        delay: Duration::from_millis(1500),
    });
    model.apply(&at(22, adjusted));
    assert_eq!(model.faults[0].action, "latency 1.5s");
    let markers =
        |log: &resilience_tui::tui::model::Log| log.lines.iter().filter(|l| l.kind == LineKind::Marker).count();
    assert_eq!(markers(&model.sidecar), 1);
    for (_, log) in &model.orders {
        assert_eq!(markers(log), 0, "no adjustment marker in the app panes");
    }
}
