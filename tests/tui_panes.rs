//! Pane snapshots with ratatui's TestBackend: the breaker closed, open and half-open, a fault active, the help
//! overlay, a narrow 80x24 terminal and one too small. The model is fed the same events a real run produces.

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
            },
        );
        run.sidecar(
            0.0,
            ResiliencyEvent::BreakerCreated {
                breaker: CB.into(),
                policy: "trip consecutiveFailures >= 5 \u{b7} timeout 5s \u{b7} maxRequests 1".into(),
                max_requests: 1,
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
        for attempt in 1..=5u32 {
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

fn render(model: &Model, view: &View, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let scenario = scenario();
    let map = keymap(&scenario.faults);
    terminal
        .draw(|f| draw(f, model, view, &map, &scenario.faults[0].explain, Theme::plain()))
        .unwrap();
    terminal.backend().to_string()
}

#[test]
fn closed_breaker_orders_flowing() {
    let mut run = Run::new();
    for id in 1..=3 {
        run.order(id as f64 - 1.0, id);
    }
    run.model.now = Duration::from_secs(3);
    let screen = render(&run.model, &View::new(3), 100, 30);
    assert!(screen.contains("CLOSED"));
    assert_snapshot!(screen);
}

#[test]
fn open_breaker_with_fault_active() {
    let mut run = Run::new();
    run.outage();
    run.model.now = Duration::from_secs(25);
    let screen = render(&run.model, &View::new(3), 100, 30);
    assert!(screen.contains("OPEN") && screen.contains("INJECTED"), "{screen}");
    assert!(
        screen.contains("Retrying") && screen.contains("in 5s\u{2026}"),
        "{screen}"
    );
    assert_snapshot!(screen);
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
    assert!(screen.contains("HALF-OPEN  for 0.4s"), "{screen}");
    assert_snapshot!(screen);
}

#[test]
fn narrow_terminal_and_help() {
    let mut run = Run::new();
    run.outage();
    run.model.now = Duration::from_secs(25);
    let screen = render(&run.model, &View::new(3), 80, 24);
    assert!(screen.contains("OPEN"), "{screen}");
    assert_snapshot!("narrow_80x24", screen);
    let view = View {
        help: true,
        ..View::new(3)
    };
    let screen = render(&run.model, &view, 80, 24);
    assert!(screen.contains("What to watch"), "{screen}");
    assert_snapshot!("help_80x24", screen);
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
