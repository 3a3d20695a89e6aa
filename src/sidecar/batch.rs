//! Per-thread batching of engine events.
//!
//! A healthy request emits three events (attempt started, breaker counted, finished). Handing each one to a
//! display on another thread wakes that thread every time, and at 1000 requests a second those wake-ups
//! cost the sidecar more CPU than proxying the requests did. A thread that opts in with
//! [`batch_on_this_thread`] instead collects the events it emits and hands them over in one go:
//! - from [`flush_if_urgent`], which the sidecar's runtime calls whenever it is about to go idle: at once when
//!   the batch holds anything but the routine events of healthy calls (a retry, a breaker changing state…);
//! - otherwise from [`flush_this_thread`], which the sidecar's flusher task calls a few milliseconds after it
//!   was asked to (see `sidecar::start`), so routine events reach the displays at most that late;
//! - and whenever the batch grows large, so a saturated thread still delivers.
//!
//! Order is kept: one thread, one queue. Threads that do not opt in (tests, the main runtime) deliver at once.

use std::cell::RefCell;

use crate::resiliency::{Observer, ResiliencyEvent, SharedObserver};

/// Events held back at most this many at a time.
const MAX_PENDING: usize = 256;

thread_local! {
    static PENDING: RefCell<Option<Vec<(SharedObserver, ResiliencyEvent)>>> = const { RefCell::new(None) };
    /// The batch holds an event that must not wait for the flusher.
    static URGENT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Asks this thread's flusher task to flush soon.
    static FLUSH_SOON: RefCell<Option<std::sync::Arc<tokio::sync::Notify>>> = const { RefCell::new(None) };
}

/// Wraps an observer so that events emitted on a batching thread are delivered when that thread flushes.
pub struct Batched(pub SharedObserver);

impl Observer for Batched {
    fn on_event(&self, event: ResiliencyEvent) {
        let overflow = PENDING.with(|pending| {
            let mut pending = pending.borrow_mut();
            match pending.as_mut() {
                Some(queue) => {
                    if !event.is_routine() {
                        URGENT.with(|u| u.set(true));
                    }
                    queue.push((self.0.clone(), event));
                    Ok(queue.len() >= MAX_PENDING)
                }
                None => Err(event),
            }
        });
        match overflow {
            Ok(true) => flush_this_thread(),
            Ok(false) => {}
            Err(event) => self.0.on_event(event),
        }
    }
}

/// From now on, events this thread emits through [`Batched`] wait for [`flush_this_thread`].
pub fn batch_on_this_thread() {
    PENDING.with(|p| p.borrow_mut().get_or_insert_with(Vec::new).clear());
}

/// Hands this thread's flusher a notifier: routine events then wait for it instead of going out at every idle.
pub fn flush_soon_with(notify: std::sync::Arc<tokio::sync::Notify>) {
    FLUSH_SOON.with(|f| *f.borrow_mut() = Some(notify));
}

/// Called when the thread is about to go idle: delivers now if anything urgent is held, else asks the flusher
/// (or, without one, delivers now).
pub fn flush_if_urgent() {
    let pending = PENDING.with(|p| p.borrow().as_ref().is_some_and(|q| !q.is_empty()));
    if !pending {
        return;
    }
    let flusher = FLUSH_SOON.with(|f| f.borrow().clone());
    match flusher {
        Some(notify) if !URGENT.with(|u| u.get()) => notify.notify_one(),
        _ => flush_this_thread(),
    }
}

/// Delivers the events this thread holds, in the order they were emitted.
pub fn flush_this_thread() {
    URGENT.with(|u| u.set(false));
    loop {
        // Taken out first: an observer may emit again (it must not, but then it would not deadlock).
        let batch = PENDING.with(|p| p.borrow_mut().as_mut().map(std::mem::take).unwrap_or_default());
        if batch.is_empty() {
            return;
        }
        for (observer, event) in batch {
            observer.on_event(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::resiliency::events::Recorder;

    fn loaded(name: &str) -> ResiliencyEvent {
        ResiliencyEvent::ResourceLoaded {
            name: name.into(),
            namespace: String::new(),
        }
    }

    fn names(r: &Recorder) -> Vec<String> {
        r.events()
            .into_iter()
            .map(|(_, e)| match e {
                ResiliencyEvent::ResourceLoaded { name, .. } => name,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_batching_thread_delivers_in_order_on_flush_and_others_at_once() {
        let recorder = Recorder::new();
        let batched = Batched(recorder.clone());
        batched.on_event(loaded("direct"));
        assert_eq!(names(&recorder), ["direct"], "not batching: delivered at once");

        let other = recorder.clone();
        std::thread::spawn(move || {
            let batched = Batched(other.clone());
            batch_on_this_thread();
            batched.on_event(loaded("a"));
            batched.on_event(loaded("b"));
            assert_eq!(names(&other), ["direct"], "held until the flush");
            flush_this_thread();
            assert_eq!(names(&other), ["direct", "a", "b"]);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn routine_events_wait_for_the_flusher_and_news_goes_out_at_idle() {
        let recorder = Recorder::new();
        let other = recorder.clone();
        std::thread::spawn(move || {
            let batched = Batched(other.clone());
            batch_on_this_thread();
            let notify = std::sync::Arc::new(tokio::sync::Notify::new());
            flush_soon_with(notify.clone());
            let routine = ResiliencyEvent::Finished {
                operation: "op".into(),
                attempts: 1,
                error: None,
            };
            batched.on_event(routine.clone());
            flush_if_urgent();
            assert!(
                other.events().is_empty(),
                "a healthy call's events wait for the flusher"
            );
            // The flusher was asked: its permit is stored.
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(1), notify.notified())
                    .await
                    .expect("the flusher was notified")
            });
            batched.on_event(loaded("news"));
            flush_if_urgent();
            assert_eq!(other.events().len(), 2, "news flushes everything held, in order");
            assert!(matches!(other.events()[0].1, ResiliencyEvent::Finished { .. }));
            batched.on_event(routine);
            flush_if_urgent();
            assert_eq!(other.events().len(), 2, "urgency was reset by the flush");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_large_batch_is_delivered_without_waiting_for_idle() {
        let recorder = Recorder::new();
        let batched = Batched(recorder.clone() as Arc<dyn Observer>);
        std::thread::spawn(move || {
            batch_on_this_thread();
            for i in 0..MAX_PENDING + 1 {
                batched.on_event(loaded(&i.to_string()));
            }
        })
        .join()
        .unwrap();
        let got = names(&recorder);
        assert_eq!(
            got.len(),
            MAX_PENDING,
            "the first {MAX_PENDING} went out when the batch filled"
        );
        assert_eq!(got[0], "0");
        assert_eq!(got[MAX_PENDING - 1], (MAX_PENDING - 1).to_string());
    }
}
