//! The event path from emitters (sidecar threads, app tasks, faults) to the one display of a run.
//!
//! It is bounded, and what it bounds never changes the counts: routine events (a healthy call's attempt, the
//! breaker's count, its end; see [`ResiliencyEvent::is_routine`]) are held at most [`ROUTINE_HELD`] at a
//! time, and past that they are dropped and counted. News (orders, retries, breaker transitions, faults,
//! notices) arrives at the rate of the scenario's orders and retries, so a display that stops reading for
//! many minutes still gets all of it; only a flood from outside (a load generator sending thousands of
//! orders a second through a sidecar) can fill its [`NEWS_HELD`] places, and then the excess is dropped and
//! counted too. The [`Recorder`] (the summary's Ledger) is given every event as it is emitted, so the
//! summary's counts are exact whatever was dropped. Emitting never blocks, so a slow display can never stall a
//! sidecar.
//!
//! One queue keeps the order in which events were emitted. [`EventBus::close`] ends the stream: the display
//! reads what is left, then [`Events::recv`] returns `None`.
//!
//! Routine events wake nobody while the reader is busy: a reader that has just read something looks again
//! on its own every [`READ_TICK`], so under load (a thousand healthy calls a second) it drains the queue on
//! its tick instead of being woken from another thread for every hand-over, which cost the sidecar more CPU
//! than the events themselves (BENCHMARKS.md). News always wakes it; so does a routine event once the reader
//! has seen nothing for a few ticks and waits without a tick (an idle run costs no wake-ups).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Event, Stamped};
use crate::resiliency::{Observer, ResiliencyEvent, SharedObserver};

/// Routine events held for a display that is behind; more are dropped (and counted).
pub const ROUTINE_HELD: usize = 4096;
/// News held for a display that is behind (some 10 MB); more is dropped (and counted).
pub const NEWS_HELD: usize = 65_536;
/// How often a reader that is reading looks for routine events no one woke it for: they reach it this late
/// at most (the TUI draws at 30 fps).
pub const READ_TICK: Duration = Duration::from_millis(20);
/// Ticks with nothing to read before the reader waits to be woken instead.
const IDLE_TICKS: u32 = 5;

/// A consumer of the stream that must see all of it, as it is emitted: what a display that fell behind was
/// not given still counts (the summary's Ledger is one). Called with the queue locked, so it sees the events
/// in the displays' order; it must be quick and must not emit.
pub trait Recorder: Send + Sync {
    fn record(&self, e: &Stamped);
    /// An event a display that fell behind did not get: routine, or news.
    fn dropped(&self, routine: bool);
}

struct Queue {
    events: VecDeque<Stamped>,
    routine_held: usize,
    /// Given every event, dropped or not.
    recorder: Arc<dyn Recorder>,
    routine_dropped: u64,
    closed: bool,
    /// The reader is waiting on its tick: routine events need not wake it.
    reader_ticking: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    notify: Notify,
}

impl Queue {
    fn pop(&mut self) -> Option<Stamped> {
        let e = self.events.pop_front()?;
        if matches!(&e.event, Event::Resiliency { event, .. } if event.is_routine()) {
            self.routine_held -= 1;
        }
        Some(e)
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The sending side of the event stream; cheap to clone.
#[derive(Clone)]
pub struct EventBus {
    shared: Arc<Shared>,
    start: Instant,
}

/// The receiving side: the one display of a run reads it.
pub struct Events {
    shared: Arc<Shared>,
    /// Ticks in a row that found nothing to read.
    idle_ticks: u32,
}

impl EventBus {
    pub fn new(recorder: Arc<dyn Recorder>) -> (Self, Events) {
        let queue = Queue {
            events: VecDeque::new(),
            routine_held: 0,
            recorder,
            routine_dropped: 0,
            closed: false,
            reader_ticking: false,
        };
        let shared = Arc::new(Shared {
            queue: Mutex::new(queue),
            notify: Notify::new(),
        });
        let events = Events {
            shared: shared.clone(),
            idle_ticks: 0,
        };
        (
            Self {
                shared,
                start: Instant::now(),
            },
            events,
        )
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn emit(&self, event: Event) {
        let routine = matches!(&event, Event::Resiliency { event, .. } if event.is_routine());
        let stamped = Stamped {
            at: self.elapsed(),
            event,
        };
        let wake = {
            let mut q = self.shared.lock();
            if q.closed {
                return;
            }
            q.recorder.record(&stamped);
            let news = q.events.len() - q.routine_held;
            if routine {
                if q.routine_held >= ROUTINE_HELD {
                    q.routine_dropped += 1;
                    q.recorder.dropped(true);
                    return;
                }
                q.routine_held += 1;
            } else if news >= NEWS_HELD {
                q.recorder.dropped(false);
                return;
            }
            q.events.push_back(stamped);
            !(routine && q.reader_ticking)
        };
        if wake {
            // One reader: a permit stored while it is busy wakes its next wait at once.
            self.shared.notify.notify_one();
        }
    }

    /// Ends the stream: later events are ignored; the reader gets what is queued, then `None`.
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.notify.notify_one();
    }

    pub fn app(&self, app: &Arc<str>, event: super::AppEvent) {
        self.emit(Event::App {
            app: app.clone(),
            event,
        });
    }

    /// An observer for one sidecar's resiliency engine.
    pub fn resiliency_observer(&self, app_id: &str) -> SharedObserver {
        Arc::new(SidecarObserver {
            bus: self.clone(),
            app_id: app_id.into(),
        })
    }
}

impl Events {
    /// The next event; `None` once the bus is closed and everything queued has been read.
    pub async fn recv(&mut self) -> Option<Stamped> {
        loop {
            let ticking = self.idle_ticks < IDLE_TICKS;
            {
                let mut q = self.shared.lock();
                if let Some(e) = q.pop() {
                    self.idle_ticks = 0;
                    return Some(e);
                }
                if q.closed {
                    return None;
                }
                // Said under the lock that emitters take: an event pushed after this either wakes the
                // reader or is found on its tick.
                q.reader_ticking = ticking;
            }
            if ticking {
                tokio::select! {
                    () = self.shared.notify.notified() => {}
                    () = tokio::time::sleep(READ_TICK) => self.idle_ticks += 1,
                }
            } else {
                self.shared.notify.notified().await;
            }
        }
    }

    /// The next queued event, if any, without waiting.
    pub fn try_recv(&mut self) -> Option<Stamped> {
        self.shared.lock().pop()
    }

    /// Routine events dropped so far because this reader was behind.
    pub fn routine_dropped(&self) -> u64 {
        self.shared.lock().routine_dropped
    }

    /// Events waiting to be read.
    pub fn queued(&self) -> usize {
        self.shared.lock().events.len()
    }
}

impl Drop for Events {
    /// With no reader left, nothing more is queued.
    fn drop(&mut self) {
        self.shared.lock().closed = true;
    }
}

struct SidecarObserver {
    bus: EventBus,
    app_id: Arc<str>,
}

impl Observer for SidecarObserver {
    fn on_event(&self, event: ResiliencyEvent) {
        self.bus.emit(Event::Resiliency {
            app_id: self.app_id.clone(),
            event,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::AppEvent;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    /// Counts what it is given: orders sent, and news dropped.
    #[derive(Default)]
    struct Counter {
        sent: AtomicU64,
        news_dropped: AtomicU64,
    }

    impl Recorder for Counter {
        fn record(&self, e: &Stamped) {
            if matches!(
                e.event,
                Event::App {
                    event: AppEvent::OrderSent { .. },
                    ..
                }
            ) {
                self.sent.fetch_add(1, Relaxed);
            }
        }
        fn dropped(&self, routine: bool) {
            if !routine {
                self.news_dropped.fetch_add(1, Relaxed);
            }
        }
    }

    fn bus() -> (EventBus, Events) {
        EventBus::new(Arc::new(Counter::default()))
    }

    fn healthy(op: &str) -> Event {
        Event::Resiliency {
            app_id: "checkout".into(),
            event: ResiliencyEvent::Finished {
                operation: op.into(),
                attempts: 1,
                error: None,
            },
        }
    }

    fn order(id: u64) -> Event {
        Event::App {
            app: "checkout".into(),
            event: AppEvent::OrderSent { order_id: id },
        }
    }

    #[tokio::test]
    async fn a_reader_that_is_behind_loses_routine_events_only_and_keeps_the_order() {
        let (bus, mut events) = bus();
        for i in 0..ROUTINE_HELD as u64 + 1000 {
            bus.emit(healthy("op"));
            if i % 100 == 0 {
                bus.emit(order(i / 100));
            }
        }
        assert_eq!(events.routine_dropped(), 1000);
        bus.close();
        let (mut orders, mut routine) = (Vec::new(), 0);
        while let Some(e) = events.recv().await {
            match e.event {
                Event::App {
                    event: AppEvent::OrderSent { order_id },
                    ..
                } => orders.push(order_id),
                _ => routine += 1,
            }
        }
        assert_eq!(orders, (0..51).collect::<Vec<_>>(), "every order, in order");
        assert_eq!(routine, ROUTINE_HELD);
    }

    #[tokio::test]
    async fn a_flood_of_news_is_bounded_and_the_ledger_still_counts_every_order() {
        let counter = Arc::new(Counter::default());
        let (bus, mut events) = EventBus::new(counter.clone());
        let flood = NEWS_HELD as u64 + 10;
        for id in 1..=flood {
            bus.emit(order(id));
        }
        assert_eq!(counter.news_dropped.load(Relaxed), 10);
        assert_eq!(counter.sent.load(Relaxed), flood, "the recorder was given every order");
        assert_eq!(events.queued(), NEWS_HELD);
        assert!(events.try_recv().is_some());
        bus.emit(order(flood + 1));
        assert_eq!(counter.news_dropped.load(Relaxed), 10, "one was read, so one more fits");
    }

    #[tokio::test]
    async fn reading_makes_room_for_routine_events_again() {
        let (bus, mut events) = bus();
        for _ in 0..ROUTINE_HELD {
            bus.emit(healthy("op"));
        }
        assert!(events.try_recv().is_some());
        bus.emit(healthy("op"));
        assert_eq!(events.routine_dropped(), 0, "one was read, so one more fits");
        bus.emit(healthy("op"));
        assert_eq!(events.routine_dropped(), 1);
        assert_eq!(events.queued(), ROUTINE_HELD);
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_for_an_event_and_ends_after_close() {
        let (bus, mut events) = bus();
        let reader = tokio::spawn(async move {
            let first = events.recv().await.map(|e| e.event);
            let end = events.recv().await;
            (first, end)
        });
        tokio::task::yield_now().await;
        bus.emit(order(7));
        bus.close();
        bus.emit(order(8));
        let (first, end) = reader.await.unwrap();
        assert_eq!(first, Some(order(7)));
        assert_eq!(end, None, "closed: order 8 came after the close and is ignored");
    }
}
