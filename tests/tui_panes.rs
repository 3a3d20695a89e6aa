//! Pane snapshots with ratatui's TestBackend: each phase of the story at 80x24, 100x30, 120x40 and 200x50, the
//! half-open probe, the fault picker, state-management, a mistyped policy and a terminal too small. The model is fed the same events a real run produces.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use resilience_tui::event::{AppEvent, Event, FaultEvent, Stamped};
use resilience_tui::resiliency::trip::Counts;
use resilience_tui::resiliency::{BreakerState, ResiliencyEvent};
use resilience_tui::scenario::{AppSpec, FaultAction, FaultSpec, Scenario};
use resilience_tui::tui::keymap::keymap;
use resilience_tui::tui::model::Model;
use resilience_tui::tui::theme::Theme;
use resilience_tui::tui::view::{View, draw};

const OP: &str = "endpoint[order-processor, order-processor:orders]";
const CB: &str = "order-processor:orders";

fn scenario() -> Scenario {
    Scenario {
        name: "service-invoke".into(),
        title: "Resiliency: service-to-service".into(),
        summary: String::new(),
        resources: resilience_tui::scenario::ResourcesSource::Dir(PathBuf::from("resources/service-invoke")),
        apps: vec![
            AppSpec::Checkout {
                app_id: "checkout".into(),
                dapr_http_port: 3500,
                target: "order-processor".into(),
            },
            AppSpec::OrderProcessor {
                app_id: "order-processor".into(),
                app_port: 8001,
                dapr_http_port: 3501,
            },
        ],
        faults: vec![FaultSpec {
            name: "stop-order-processor".into(),
            key: 'f',
            action: FaultAction::StopAppAndSidecar {
                app_id: "order-processor".into(),
            },
            explain: "order-processor stops listening; watch the retries and the breaker.".into(),
        }],
        file: PathBuf::from("scenarios/service-invoke.yaml"),
    }
}

struct Run {
    model: Model,
}

impl Run {
    fn new() -> Self {
        let mut run = Run {
            model: Model::new(&scenario()),
        };
        run.sidecar(
            0.0,
            ResiliencyEvent::ResourceLoaded {
                name: "myresiliency".into(),
                namespace: String::new(),
            },
        );
        run.sidecar(
            0.0,
            ResiliencyEvent::BreakerCreated {
                breaker: CB.into(),
                policy: "trip consecutiveFailures >= 5 \u{b7} timeout 5s \u{b7} maxRequests 1".into(),
                max_requests: 1,
                trip: "consecutiveFailures >= 5".into(),
                timeout: Duration::from_secs(5),
            },
        );
        run
    }

    fn at(&mut self, t: f64, event: Event) {
        self.model.apply(&Stamped {
            at: Duration::from_secs_f64(t),
            event,
        });
    }

    fn app(&mut self, t: f64, app: &str, event: AppEvent) {
        self.at(
            t,
            Event::App {
                app: Arc::from(app),
                event,
            },
        );
    }

    fn sidecar(&mut self, t: f64, event: ResiliencyEvent) {
        self.at(
            t,
            Event::Resiliency {
                app_id: Arc::from("checkout"),
                event,
            },
        );
    }

    fn order(&mut self, t: f64, id: u64) {
        self.app(t, "checkout", AppEvent::OrderSent { order_id: id });
        self.sidecar(
            t,
            ResiliencyEvent::AttemptStarted {
                operation: OP.into(),
                attempt: 1,
            },
        );
        self.app(t, "order-processor", AppEvent::OrderReceived { order_id: id });
        let counts = Counts {
            requests: id as u32,
            total_successes: id as u32,
            consecutive_successes: id as u32,
            ..Counts::default()
        };
        self.sidecar(
            t,
            ResiliencyEvent::BreakerCounted {
                breaker: CB.into(),
                state: BreakerState::Closed,
                counts,
            },
        );
        self.sidecar(
            t,
            ResiliencyEvent::Finished {
                operation: OP.into(),
                attempts: 1,
                error: None,
            },
        );
        self.app(t, "checkout", AppEvent::OrderPassed { order_id: id });
    }

    fn transition(&mut self, t: f64, from: BreakerState, to: BreakerState, consecutive_failures: u32) {
        let counts = Counts {
            requests: consecutive_failures,
            total_failures: consecutive_failures,
            consecutive_failures,
            ..Counts::default()
        };
        self.sidecar(
            t,
            ResiliencyEvent::BreakerStateChanged {
                breaker: CB.into(),
                from,
                to,
                counts,
            },
        );
    }

    /// Orders 1–3 pass, then order-processor is stopped at 3s and order 4 is retried until the breaker opens.
    fn outage(&mut self) {
        self.outage_attempts(5);
    }

    /// The outage up to attempt `attempts` (one every 5s from 3s; the fifth opens the breaker).
    fn outage_attempts(&mut self, attempts: u32) {
        for id in 1..=3 {
            self.order(id as f64 - 1.0, id);
        }
        let description = "stop order-processor (127.0.0.1:8001 refuses connections)".to_string();
        self.at(
            3.0,
            Event::Fault(FaultEvent::Injected {
                fault: "stop-order-processor".into(),
                description,
            }),
        );
        self.app(3.0, "order-processor", AppEvent::Stopped);
        self.app(3.0, "checkout", AppEvent::OrderSent { order_id: 4 });
        for attempt in 1..=attempts {
            let t = 3.0 + 5.0 * f64::from(attempt - 1);
            self.sidecar(
                t,
                ResiliencyEvent::AttemptStarted {
                    operation: OP.into(),
                    attempt,
                },
            );
            let error = "error invoking app channel: connection refused".to_string();
            if attempt == 1 {
                self.sidecar(
                    t,
                    ResiliencyEvent::Retrying {
                        operation: OP.into(),
                        wait: Duration::from_secs(5),
                        error,
                    },
                );
            }
            if attempt == 5 {
                self.transition(t, BreakerState::Closed, BreakerState::Open, 5);
            }
            self.sidecar(
                t,
                ResiliencyEvent::RetryScheduled {
                    operation: OP.into(),
                    next_attempt: attempt + 1,
                    wait: Duration::from_secs(5),
                },
            );
        }
    }
}

impl Run {
    /// One failed probe: after the breaker's 5s timeout the next retry goes through half-open and fails.
    fn failed_probe(&mut self, t: f64, attempt: u32) {
        self.transition(t, BreakerState::Open, BreakerState::HalfOpen, 0);
        self.sidecar(
            t,
            ResiliencyEvent::AttemptStarted {
                operation: OP.into(),
                attempt,
            },
        );
        self.transition(t + 0.001, BreakerState::HalfOpen, BreakerState::Open, 1);
        self.sidecar(
            t + 0.001,
            ResiliencyEvent::RetryScheduled {
                operation: OP.into(),
                next_attempt: attempt + 1,
                wait: Duration::from_secs(5),
            },
        );
    }

    /// The outage, two failed probes (28s, 33s), the fault cleared at 35s and the probe at 38s closing the
    /// breaker: order 4 is delivered after 35s and 8 attempts.
    fn recovery(&mut self) {
        self.outage();
        self.failed_probe(28.0, 6);
        self.failed_probe(33.0, 7);
        self.at(
            35.0,
            Event::Fault(FaultEvent::Cleared {
                fault: "stop-order-processor".into(),
                description: "order-processor listens again".into(),
            }),
        );
        self.app(
            35.0,
            "order-processor",
            AppEvent::Listening {
                addr: "127.0.0.1:8001".parse().unwrap(),
            },
        );
        self.transition(38.0, BreakerState::Open, BreakerState::HalfOpen, 0);
        self.sidecar(
            38.0,
            ResiliencyEvent::AttemptStarted {
                operation: OP.into(),
                attempt: 8,
            },
        );
        self.app(38.0, "order-processor", AppEvent::OrderReceived { order_id: 4 });
        self.transition(38.001, BreakerState::HalfOpen, BreakerState::Closed, 0);
        self.sidecar(
            38.001,
            ResiliencyEvent::Recovered {
                operation: OP.into(),
                attempts: 8,
            },
        );
        self.sidecar(
            38.001,
            ResiliencyEvent::Finished {
                operation: OP.into(),
                attempts: 8,
                error: None,
            },
        );
        self.app(38.001, "checkout", AppEvent::OrderPassed { order_id: 4 });
        for id in 5..=7 {
            self.order(34.0 + id as f64, id);
        }
    }
}

/// Each phase of the story at the four sizes a projector or a laptop gives (80x24, 100x30, 120x40, 200x50);
/// no line is drawn wider than its pane at any of them.
fn snapshot_sizes(phase: &str, model: &Model, must_show: &[&str]) {
    for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 50)] {
        let before = resilience_tui::tui::fit::clipped();
        let screen = render(model, &View::new(3), w, h);
        assert_eq!(
            resilience_tui::tui::fit::clipped(),
            before,
            "a line was cut at {w}x{h}:\n{screen}"
        );
        for text in must_show {
            assert!(screen.contains(text), "{phase} at {w}x{h} shows {text:?}:\n{screen}");
        }
        assert_snapshot!(format!("{phase}_{w}x{h}"), screen);
    }
}

#[test]
fn phases_at_every_size() {
    let mut run = Run::new();
    for id in 1..=3 {
        run.order(id as f64 - 1.0, id);
    }
    run.model.now = Duration::from_secs(3);
    snapshot_sizes("1_flowing", &run.model, &["CLOSED", "Orders flow. Press f"]);

    let mut run = Run::new();
    run.outage_attempts(2);
    run.model.now = Duration::from_secs(10);
    snapshot_sizes(
        "2_retrying",
        &run.model,
        &[
            "order 4 waits 7.0s",
            "attempt 2 failed",
            "next try in 3.0s",
            "INJECTED 7.0s",
            "Retrying in 5s",
        ],
    );

    let mut run = Run::new();
    run.outage();
    run.model.now = Duration::from_secs(25);
    snapshot_sizes(
        "3_open",
        &run.model,
        &["OPEN 2.0s", "probe in 3.0s", "order 4 waits 22.0s", "Retrying in 5s"],
    );

    let mut run = Run::new();
    run.outage();
    run.failed_probe(28.0, 6);
    run.model.now = Duration::from_secs_f64(30.5);
    snapshot_sizes(
        "4_probe_failed",
        &run.model,
        &["\u{25c6}", "OPEN 2.5s", "(reset on state change)"],
    );

    let mut run = Run::new();
    run.recovery();
    run.model.now = Duration::from_secs(41);
    snapshot_sizes(
        "5_recovered",
        &run.model,
        &[
            "order 4 delivered after 35.0s",
            "8 attempts",
            "CLOSED 3.0s",
            "Order 4 delivered after 35.0s and 8 attempts. Nothing lost.",
        ],
    );
}

fn render(model: &Model, view: &View, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let scenario = scenario();
    let map = keymap(&scenario.faults);
    terminal
        .draw(|f| draw(f, model, view, &map, &scenario.summary, Theme::plain()))
        .unwrap();
    terminal.backend().to_string()
}

#[test]
fn half_open_probe() {
    let mut run = Run::new();
    run.outage();
    run.transition(28.0, BreakerState::Open, BreakerState::HalfOpen, 0);
    run.sidecar(
        28.0,
        ResiliencyEvent::AttemptStarted {
            operation: OP.into(),
            attempt: 6,
        },
    );
    run.model.now = Duration::from_secs_f64(28.4);
    let screen = render(&run.model, &View::new(3), 100, 30);
    assert!(screen.contains("HALF-OPEN 0.4s"), "{screen}");
    assert_snapshot!(screen);
}

#[test]
fn too_small() {
    let screen = render(&Run::new().model, &View::new(3), 60, 20);
    assert!(
        screen.contains("The terminal is 60x20; resilience-tui needs at least 80x24."),
        "{screen}"
    );
}

#[test]
fn filter_and_freeze_indicators() {
    let mut run = Run::new();
    for id in 1..=12 {
        run.order(id as f64, id);
    }
    let view = View {
        filters: vec![Some("\"orderId\":1".into()), None, None],
        frozen_behind: Some(7),
        ..View::new(3)
    };
    let screen = render(&run.model, &view, 100, 30);
    assert!(screen.contains("FROZEN (7 new events)"), "{screen}");
    assert!(screen.contains("[/\"orderId\":1]"), "{screen}");
    let checkout_lines: Vec<&str> = screen.lines().filter(|l| l.contains("Order passed")).collect();
    assert_eq!(
        checkout_lines.len(),
        4,
        "orders 1, 10, 11, 12 match the filter:\n{screen}"
    );
}

#[test]
fn shutting_down_while_a_fault_clears() {
    let mut run = Run::new();
    run.outage();
    run.at(
        25.0,
        Event::ShuttingDown {
            reason: resilience_tui::event::StopReason::Quit,
        },
    );
    run.at(
        25.0,
        Event::Fault(FaultEvent::Changing {
            fault: "stop-order-processor".into(),
            what: resilience_tui::event::FaultChange::Clearing,
            description: "order-processor listens again on 127.0.0.1:8001".into(),
        }),
    );
    run.model.now = Duration::from_secs(25);
    let screen = render(&run.model, &View::new(3), 100, 30);
    assert!(
        screen.contains(
            "SHUTTING DOWN (q: stop waiting)  clearing: order-processor listens again on 127.0.0.1:8001\u{2026}"
        ),
        "{screen}"
    );
    assert!(screen.contains("stop-order-processor: clearing\u{2026}"), "{screen}");
    assert!(
        screen.contains("shutting down (quit)"),
        "the sidecar log says it too: {screen}"
    );
    assert_snapshot!(screen);
}

/// Scrolling stops at the oldest line: a pane is never scrolled past its content into emptiness.
#[test]
fn scrolling_stops_at_the_oldest_line() {
    let mut run = Run::new();
    for id in 1..=12 {
        run.order(id as f64, id);
    }
    let view = View {
        scroll: vec![1000, 0, 0],
        ..View::new(3)
    };
    let screen = render(&run.model, &view, 100, 30);
    assert!(
        screen.contains("Order passed: {\"orderId\":1}"),
        "the oldest line is shown:\n{screen}"
    );
    assert!(!screen.contains("[1000 up"), "the count is clamped:\n{screen}");
    assert!(
        screen.contains(" up · End: live]"),
        "and says how to get back:\n{screen}"
    );
}

fn render_scenario(scenario: &Scenario, model: &Model, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let map = keymap(&scenario.faults);
    let view = View::new(scenario.apps.len() + 1);
    terminal
        .draw(|f| draw(f, model, &view, &map, &scenario.summary, Theme::plain()))
        .unwrap();
    terminal.backend().to_string()
}

/// State-management with Redis stopped: the container reads `exited` for the whole outage, the save waits in
/// a retry, the component breaker is open; at 80x24 and 120x40.
#[test]
fn state_management_with_redis_stopped() {
    let scenario = resilience_tui::scenario::find("state-management")
        .unwrap()
        .load()
        .unwrap();
    let mut run = Run {
        model: Model::new(&scenario),
    };
    const SAVE: &str = "component[statestore] output";
    const STORE_CB: &str = "simpleCB-statestore";
    run.sidecar(
        0.0,
        ResiliencyEvent::BreakerCreated {
            breaker: STORE_CB.into(),
            policy: "trip consecutiveFailures >= 5 \u{b7} timeout 5s \u{b7} maxRequests 1".into(),
            max_requests: 1,
            trip: "consecutiveFailures >= 5".into(),
            timeout: Duration::from_secs(5),
        },
    );
    for id in 1..=3u64 {
        let t = id as f64;
        run.app(t, "order-processor", AppEvent::OrderSent { order_id: id });
        run.app(t, "order-processor", AppEvent::OrderSaved { order_id: id });
        run.app(t, "order-processor", AppEvent::OrderRead { order_id: id });
    }
    run.at(
        3.5,
        Event::Fault(FaultEvent::Injected {
            fault: "stop-redis".into(),
            description: "docker stop dapr_redis".into(),
        }),
    );
    run.at(
        3.5,
        Event::Container {
            name: "dapr_redis".into(),
            state: resilience_tui::event::ContainerState::Exited,
        },
    );
    run.app(4.0, "order-processor", AppEvent::OrderSent { order_id: 4 });
    for attempt in 1..=5u32 {
        let t = 4.0 + 5.0 * f64::from(attempt - 1);
        run.sidecar(
            t,
            ResiliencyEvent::AttemptStarted {
                operation: SAVE.into(),
                attempt,
            },
        );
        if attempt == 1 {
            let error = "dial tcp 127.0.0.1:6379: connect: connection refused".to_string();
            run.sidecar(
                t,
                ResiliencyEvent::Retrying {
                    operation: SAVE.into(),
                    wait: Duration::from_secs(5),
                    error,
                },
            );
        }
        if attempt == 5 {
            let counts = Counts {
                consecutive_failures: 5,
                total_failures: 5,
                requests: 5,
                ..Counts::default()
            };
            let change = ResiliencyEvent::BreakerStateChanged {
                breaker: STORE_CB.into(),
                from: BreakerState::Closed,
                to: BreakerState::Open,
                counts,
            };
            run.sidecar(t, change);
        }
        let wait = Duration::from_secs(5);
        run.sidecar(
            t,
            ResiliencyEvent::RetryScheduled {
                operation: SAVE.into(),
                next_attempt: attempt + 1,
                wait,
            },
        );
    }
    run.model.now = Duration::from_secs(26);
    for (w, h) in [(80, 24), (120, 40)] {
        let before = resilience_tui::tui::fit::clipped();
        let screen = render_scenario(&scenario, &run.model, w, h);
        assert_eq!(
            resilience_tui::tui::fit::clipped(),
            before,
            "a line was cut at {w}x{h}:\n{screen}"
        );
        for text in [
            "container dapr_redis: exited",
            "order 4 waits 22.0s",
            "OPEN 2.0s",
            "[r] stop-redis",
        ] {
            assert!(screen.contains(text), "{text:?} at {w}x{h}:\n{screen}");
        }
        assert!(!screen.contains("stopping"), "{screen}");
        assert_snapshot!(format!("state_redis_stopped_{w}x{h}"), screen);
    }
}

/// A target naming a circuit breaker policy that does not exist: the banner says so at once, and the
/// breakers pane names it instead of "no breaker yet".
#[test]
fn a_mistyped_policy_is_named_in_the_banner_and_the_breakers_pane() {
    let mut run = Run {
        model: Model::new(&scenario()),
    };
    // What the loader says of a target's `circuitBreaker: simpleCb` (lifecycle/start.rs passes it on, typed).
    let warning = Event::Warning {
        message: "circuit breaker policy `simpleCb` is not defined, so Dapr silently applies no circuit breaker here"
            .into(),
        location: Some("resources/resiliency.yaml:31:25".into()),
        field: Some("spec.targets.apps.order-processor.circuitBreaker".into()),
        help: Some("did you mean `simpleCB`?".into()),
    };
    run.at(0.0, warning);
    run.order(1.0, 1);
    run.model.now = Duration::from_secs(2);
    let before = resilience_tui::tui::fit::clipped();
    let screen = render(&run.model, &View::new(3), 80, 24);
    assert_eq!(resilience_tui::tui::fit::clipped(), before, "{screen}");
    let banner = screen.lines().nth(2).unwrap();
    assert!(
        banner.contains("warning: circuit breaker policy `simpleCb` is not defined"),
        "{screen}"
    );
    assert!(
        screen.contains("no breaker: the target's circuitBreaker is"),
        "{screen}"
    );
    assert!(screen.contains("mean `simpleCB`?"), "{screen}");
    assert!(!screen.contains("no breaker yet"), "{screen}");
    assert_snapshot!("mistyped_policy_80x24", screen);
}

/// `F` opens the fault picker: every fault of the scenario with its state and what it does, the selected
/// one's explanation below; at 80x24 over state-management's four faults.
#[test]
fn the_fault_picker_lists_every_fault() {
    let scenario = resilience_tui::scenario::find("state-management")
        .unwrap()
        .load()
        .unwrap();
    let mut run = Run {
        model: Model::new(&scenario),
    };
    run.at(
        2.0,
        Event::Fault(FaultEvent::Injected {
            fault: "slow-redis".into(),
            description: "every call to the statestore store waits 2s".into(),
        }),
    );
    run.model.now = Duration::from_secs(5);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let map = keymap(&scenario.faults);
    let view = View {
        picker: Some(1),
        ..View::new(2)
    };
    terminal
        .draw(|f| draw(f, &run.model, &view, &map, "", Theme::plain()))
        .unwrap();
    let screen = terminal.backend().to_string();
    for text in [
        "[r] stop-redis",
        "> [p] pause-redis",
        "[l] slow-redis  ON 3.0s",
        "[e] redis-errors",
        "Redis freezes",
    ] {
        assert!(screen.contains(text), "{text:?}:\n{screen}");
    }
    assert_snapshot!("fault_picker_80x24", screen);
}

/// Under load (why-breakers), the held orders pane shows the calls reaching the service per caller, and an
/// order log whose newest line is taller than its pane still shows that line's start.
#[test]
fn traffic_and_a_line_taller_than_its_pane() {
    let scenario = resilience_tui::scenario::find("why-breakers").unwrap().load().unwrap();
    let mut run = Run {
        model: Model::new(&scenario),
    };
    let failed = AppEvent::OrderFailed {
        order_id: 90,
        status: 500,
        error_code: None,
        message: "{\"error\":\"fault injected: 500 Internal Server Error\"}".into(),
    };
    run.app(12.0, "checkout-retry", failed);
    let traffic = |caller: &str, reached, mean_ms| resilience_tui::event::CallerTraffic {
        caller: caller.into(),
        reached,
        answered: 10,
        mean_ms,
        max_ms: mean_ms,
    };
    run.at(
        13.0,
        Event::Traffic {
            callee: "order-processor".into(),
            callers: vec![traffic("checkout-retry", 60, 5012), traffic("checkout-breaker", 0, 1)],
        },
    );
    run.model.now = Duration::from_secs(13);
    let screen = render_scenario(&scenario, &run.model, 80, 24);
    for text in [
        "calls/s · wait:",
        "checkout-retry    60 · 5.0s",
        "checkout-breaker   0 · 1ms",
        "│Order 90 failed (500):",
    ] {
        assert!(screen.contains(text), "{text:?}:\n{screen}");
    }
    assert_snapshot!("why_breakers_80x24", screen);
}

/// The story line says when an open breaker may probe from the breaker's own timeout, also when no retry is
/// waiting (calls failing fast, as in the timeouts lesson), and says the same as the breakers pane.
#[test]
fn the_story_line_and_the_breaker_row_agree_on_the_next_probe() {
    let mut run = Run::new();
    run.outage();
    run.model.retries.values_mut().for_each(|r| r.next_attempt_at = None);
    run.model.now = Duration::from_secs(25);
    let screen = render(&run.model, &View::new(3), 100, 30);
    assert!(screen.contains("In 3.0s one call may probe (half-open)."), "{screen}");
    assert!(screen.contains("probe in 3.0s"), "{screen}");
}
