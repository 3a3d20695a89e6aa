//! Per-thread batching of engine events.
//!
//! A healthy request emits a few events (policy applied, attempt started, breaker counted, finished). A
//! thread that opts in with [`batch_on_this_thread`] collects the events it emits and hands them over in one
//! go from [`flush_this_thread`], which the sidecar's runtime calls whenever it is about to go idle, and
//! whenever the batch grows large, so a saturated thread still delivers. The hand-over wakes no other thread
//! for routine events: the event bus's reader drains them on its own tick (`event/bus.rs`); news (a retry,
//! a breaker changing state…) wakes it. So no timer runs on the sidecar's thread for them either.
//!
//! Order is kept: one thread, one queue. Threads that do not opt in (tests, the main runtime) deliver at once.

use std::cell::RefCell;

use crate::resiliency::{Observer, ResiliencyEvent, SharedObserver};

/// Events held back at most this many at a time.
const MAX_PENDING: usize = 256;

thread_local! {
    static PENDING: RefCell<Option<Vec<(SharedObserver, ResiliencyEvent)>>> = const { RefCell::new(None) };
}

/// Wraps an observer so that events emitted on a batching thread are delivered when that thread flushes.
pub struct Batched(pub SharedObserver);

impl Observer for Batched {
    fn on_event(&self, event: ResiliencyEvent) {
        let overflow = PENDING.with(|pending| {
            let mut pending = pending.borrow_mut();
            match pending.as_mut() {
                Some(queue) => {
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

/// Delivers the events this thread holds, in the order they were emitted.
pub fn flush_this_thread() {
    loop {
        // Taken out first: an observer may emit again (it must not, but then it would not deadlock).
        let taken = PENDING.with(|p| match p.borrow_mut().as_mut() {
            Some(queue) if !queue.is_empty() => Some(std::mem::take(queue)),
            _ => None,
        });
        let Some(mut batch) = taken else {
            return;
        };
        for (observer, event) in batch.drain(..) {
            observer.on_event(event);
        }
        // Handed back empty, so the next requests' events need no new allocation.
        PENDING.with(|p| {
            if let Some(queue) = p.borrow_mut().as_mut().filter(|q| q.is_empty()) {
                *queue = batch;
            }
        });
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
