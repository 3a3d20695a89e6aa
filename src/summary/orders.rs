//! The orders of a run, in bounded memory: running counts, a window of recent and still-open orders, and
//! the orders evicted from it remembered as ranges of ids that ended alike.
//!
//! An order leaves the window once it is settled (not in flight) and the window is over [`WINDOW`], the one
//! settled longest ago first. What it ended as is kept with its neighbours': the quickstarts' senders number
//! their orders consecutively (why-breakers has two senders, from 1 and from 1000001), and in a run most
//! orders end alike (sent, passed, received once), so a run of hours is a few ranges per fault episode. A
//! late event for an evicted order (a duplicate receipt after a retry, say) takes it back into the window as
//! it was, so every count is what an unbounded record would say.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// Settled orders kept whole (a few hundred KB); more are evicted to ranges.
pub const WINDOW: usize = 4096;

/// What the stream said about one order.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub sent: bool,
    pub passed: bool,
    /// Passed by the state app (saved); verified by reading it back.
    pub saved: bool,
    pub failed: bool,
    pub received: u32,
    /// When it was first sent, to time its wait for an answer.
    pub sent_at: Option<Duration>,
}

impl Order {
    /// Ids the sender was told passed that never arrived: for checkout, never received by order-processor; for
    /// the state app, saved but then not found when read back (a save whose read-back the end of the run cut
    /// off is in flight, not lost).
    pub fn lost(&self) -> bool {
        self.passed && self.received == 0 && (!self.saved || self.failed)
    }

    /// Sent, and not answered yet (passed, saved or failed).
    pub fn unanswered(&self) -> bool {
        self.sent && !self.passed && !self.failed
    }

    pub fn in_flight(&self) -> bool {
        let unverified = self.saved && self.received == 0 && !self.failed;
        self.unanswered() || (self.sent && unverified)
    }

    /// This order's share of each count: sent, delivered, failed, lost, duplicated, in flight, passed.
    pub fn tally(&self) -> [usize; 7] {
        [
            usize::from(self.sent),
            usize::from(self.received > 0),
            usize::from(self.failed),
            usize::from(self.lost()),
            usize::from(self.received > 1),
            usize::from(self.in_flight()),
            usize::from(self.passed),
        ]
    }

    /// What is kept of a settled order: its wait is timed, and receipts past two change no count.
    fn settled(self) -> Self {
        Self {
            received: self.received.min(2),
            sent_at: None,
            ..self
        }
    }
}

/// Evicted orders: ranges of consecutive ids (first → last, inclusive) that ended alike.
#[derive(Debug, Default, Clone)]
pub struct Evicted(BTreeMap<u64, (u64, Order)>);

impl Evicted {
    /// Remembers `id` as `order`, joining the ranges on either side that ended alike.
    fn insert(&mut self, id: u64, order: Order) {
        let (mut first, mut last) = (id, id);
        if let Some((&start, &(end, o))) = self.0.range(..id).next_back()
            && end.checked_add(1) == Some(id)
            && o == order
        {
            self.0.remove(&start);
            first = start;
        }
        if let Some(next) = id.checked_add(1)
            && let Some(&(end, o)) = self.0.get(&next)
            && o == order
        {
            self.0.remove(&next);
            last = end;
        }
        self.0.insert(first, (last, order));
    }

    /// Forgets `id`, returning what it ended as.
    fn take(&mut self, id: u64) -> Option<Order> {
        let (&first, &(last, order)) = self.0.range(..=id).next_back()?;
        if last < id {
            return None;
        }
        self.0.remove(&first);
        if first < id {
            self.0.insert(first, (id - 1, order));
        }
        if id < last {
            self.0.insert(id + 1, (last, order));
        }
        Some(order)
    }

    /// Ids of evicted orders `keep` accepts.
    fn ids<'a>(&'a self, keep: impl Fn(&Order) -> bool + 'a) -> impl Iterator<Item = u64> + 'a {
        self.0
            .iter()
            .filter(move |(_, (_, o))| keep(o))
            .flat_map(|(&first, &(last, _))| first..=last)
    }

    #[cfg(test)]
    pub fn ranges(&self) -> usize {
        self.0.len()
    }

    #[cfg(test)]
    pub fn contains(&self, id: u64) -> bool {
        self.0
            .range(..=id)
            .next_back()
            .is_some_and(|(_, (last, _))| *last >= id)
    }
}

/// Every order of a run, with its counts kept as events arrive.
#[derive(Debug, Clone)]
pub struct Orders {
    /// Recent and still-open orders.
    window: BTreeMap<u64, Order>,
    /// Settled orders of the window, settled longest ago first (an id may be stale: it is checked when taken).
    settled: VecDeque<u64>,
    /// Orders in flight, by id: the oldest waiting without a scan.
    waiting: BTreeSet<u64>,
    pub evicted: Evicted,
    /// See [`Order::tally`].
    tally: [usize; 7],
    /// Some order was saved (the state app): its orders are saved and read back, not delivered.
    saved: bool,
    cap: usize,
}

impl Default for Orders {
    fn default() -> Self {
        Self::with_window(WINDOW)
    }
}

impl Orders {
    pub fn with_window(cap: usize) -> Self {
        Self {
            window: BTreeMap::new(),
            settled: VecDeque::new(),
            waiting: BTreeSet::new(),
            evicted: Evicted::default(),
            tally: [0; 7],
            saved: false,
            cap,
        }
    }

    /// Applies `change` to order `id` (taking it back from the evicted ones if need be) and keeps the counts.
    pub fn update(&mut self, id: u64, change: impl FnOnce(&mut Order)) {
        let (order, was_open) = match self.window.entry(id) {
            std::collections::btree_map::Entry::Occupied(e) => {
                let order = e.into_mut();
                let open = order.in_flight();
                (order, open)
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                (e.insert(self.evicted.take(id).unwrap_or_default()), true)
            }
        };
        let before = order.tally();
        change(order);
        for (total, (now, was)) in self.tally.iter_mut().zip(order.tally().into_iter().zip(before)) {
            *total = *total + now - was;
        }
        self.saved |= order.saved;
        if order.in_flight() {
            self.waiting.insert(id);
        } else {
            self.waiting.remove(&id);
            if was_open {
                self.settled.push_back(id);
            }
        }
        self.evict();
    }

    fn evict(&mut self) {
        while self.window.len() > self.cap {
            let Some(id) = self.settled.pop_front() else {
                return; // all in flight
            };
            if let Some(order) = self.window.get(&id).filter(|o| !o.in_flight()).copied() {
                self.window.remove(&id);
                self.evicted.insert(id, order.settled());
            }
        }
    }

    /// An order of the window (every order in flight is).
    pub fn get(&self, id: u64) -> Option<&Order> {
        self.window.get(&id)
    }

    /// Sent, delivered, failed, lost, duplicated, in flight, passed.
    pub fn tally(&self) -> [usize; 7] {
        self.tally
    }

    pub fn any_saved(&self) -> bool {
        self.saved
    }

    /// Orders kept whole.
    #[cfg(test)]
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// Ids of every order `keep` accepts, ascending.
    pub fn ids(&self, keep: impl Fn(&Order) -> bool + Copy) -> Vec<u64> {
        let mut ids: Vec<u64> = self.window.iter().filter(|(_, o)| keep(o)).map(|(id, _)| *id).collect();
        ids.extend(self.evicted.ids(keep));
        ids.sort_unstable();
        ids
    }

    /// The oldest order in flight, and when it was sent.
    pub fn oldest_waiting(&self) -> Option<(u64, Duration)> {
        let id = *self.waiting.first()?;
        Some((id, self.window.get(&id)?.sent_at.unwrap_or_default()))
    }

    /// The order still unanswered at `end` that has waited longest, and how long.
    pub fn oldest_unanswered(&self, end: Duration) -> Option<(u64, Duration)> {
        self.waiting
            .iter()
            .filter_map(|id| Some((*id, self.window.get(id).filter(|o| o.unanswered())?.sent_at?)))
            .map(|(id, sent_at)| (id, end.saturating_sub(sent_at)))
            .max_by_key(|(_, waited)| *waited)
    }

    /// Every order kept whole, for tests that recount.
    #[cfg(test)]
    pub fn window(&self) -> &BTreeMap<u64, Order> {
        &self.window
    }
}
