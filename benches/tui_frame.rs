//! One UI frame under a synthetic stream of 10,000 events a second: at 30 frames a second each frame applies
//! the ~333 events that arrived since the last one and draws every pane (ratatui's TestBackend, so the figure
//! is our work, not the terminal's). The model starts full (every ring buffer at capacity), as after a long
//! run. Target: well under 16 ms a frame. Run: `cargo bench --bench tui_frame`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use resilience_tui::event::{AppEvent, Event, Stamped};
use resilience_tui::resiliency::trip::Counts;
use resilience_tui::resiliency::{BreakerState, ResiliencyEvent};
use resilience_tui::tui::keymap::keymap;
use resilience_tui::tui::model::Model;
use resilience_tui::tui::theme::Theme;
use resilience_tui::tui::view::{View, draw};

const EVENTS_PER_SECOND: u64 = 10_000;
const FPS: u64 = 30;
const OP: &str = "endpoint[order-processor, order-processor:orders]";
const CB: &str = "order-processor:orders";

/// The events of one healthy order, as a real run produces them; every 50th order is retried once.
struct Stream {
    order: u64,
    queue: Vec<Event>,
    sent: u64,
}

impl Stream {
    fn next(&mut self) -> Stamped {
        if self.queue.is_empty() {
            self.order += 1;
            let id = self.order;
            let sidecar = |event| Event::Resiliency {
                app_id: Arc::from("checkout"),
                event,
            };
            let app = |name: &str, event| Event::App {
                app: Arc::from(name),
                event,
            };
            let counts = Counts {
                requests: id as u32,
                total_successes: id as u32,
                consecutive_successes: id as u32,
                ..Counts::default()
            };
            let mut events = vec![
                app("checkout", AppEvent::OrderSent { order_id: id }),
                sidecar(ResiliencyEvent::AttemptStarted {
                    operation: OP.into(),
                    attempt: 1,
                }),
            ];
            if id.is_multiple_of(50) {
                events.push(sidecar(ResiliencyEvent::Retrying {
                    operation: OP.into(),
                    wait: Duration::from_secs(5),
                    error: "error invoking app channel: connection refused".into(),
                }));
                events.push(sidecar(ResiliencyEvent::RetryScheduled {
                    operation: OP.into(),
                    next_attempt: 2,
                    wait: Duration::from_secs(5),
                }));
            }
            events.extend([
                app("order-processor", AppEvent::OrderReceived { order_id: id }),
                sidecar(ResiliencyEvent::BreakerCounted {
                    breaker: CB.into(),
                    state: BreakerState::Closed,
                    counts,
                }),
                sidecar(ResiliencyEvent::Finished {
                    operation: OP.into(),
                    attempts: 1,
                    error: None,
                }),
                app("checkout", AppEvent::OrderPassed { order_id: id }),
            ]);
            events.reverse();
            self.queue = events;
        }
        self.sent += 1;
        Stamped {
            at: Duration::from_micros(self.sent * 1_000_000 / EVENTS_PER_SECOND),
            event: self.queue.pop().expect("refilled above"),
        }
    }
}

fn frame(c: &mut Criterion) {
    let scenario =
        resilience_tui::scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/service-invoke.yaml"))
            .expect("the bundled scenario loads");
    let map = keymap(&scenario.faults);
    let explain = scenario.faults[0].explain.clone();
    let mut model = Model::new(&scenario);
    let mut stream = Stream {
        order: 0,
        queue: Vec::new(),
        sent: 0,
    };
    // Fill every ring buffer first.
    for _ in 0..100_000 {
        model.apply(&stream.next());
    }
    let view = View::new(scenario.apps.len());
    for (cols, rows) in [(120u16, 40u16), (200, 60)] {
        let mut terminal = Terminal::new(TestBackend::new(cols, rows)).unwrap();
        c.bench_function(&format!("tui_frame/{cols}x{rows} with 10k events/s"), |b| {
            b.iter_batched(
                || (0..EVENTS_PER_SECOND / FPS).map(|_| stream.next()).collect::<Vec<_>>(),
                |events| {
                    for e in &events {
                        model.apply(e);
                    }
                    model.now = events.last().map(|e| e.at).unwrap_or_default();
                    terminal
                        .draw(|f| draw(f, &model, &view, &map, &explain, Theme::from_env()))
                        .unwrap();
                    black_box(terminal.backend().buffer().area);
                },
                BatchSize::SmallInput,
            )
        });
    }
}

criterion_group!(benches, frame);
criterion_main!(benches);
