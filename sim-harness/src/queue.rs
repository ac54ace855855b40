//! The event queue: the world jumps from one event to the next in `(time, sequence)` order.
//!
//! Binary heaps of small `(time, sequence, slot)` keys over a slab of events: the heaps move
//! 24-byte keys while they sift, and each event is written once and read once, however large
//! it is. (A `BTreeMap` keyed by `(time, sequence)` moved whole events around its nodes on
//! every pop, a sixth of the simulator's time.)
//!
//! Two heaps, split by how far ahead an event is when it is pushed. Most events are due within
//! milliseconds (a message's delivery, a write's batch) while a few hundred wait seconds
//! (renewals, timeouts, lease timers). In one heap, every near event sifts past all of the far
//! ones, both in and out; apart, the near heap holds a handful of keys, and far keys, pushed
//! behind nearly everything, rarely sift up at all. A pop takes the earlier of the two tops,
//! so the order is exactly that of one heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use std::time::Duration;

use crate::time::SimTime;

/// Events due within this of the latest pop go to the near heap (see the module docs).
const NEAR: Duration = Duration::from_millis(50);

/// `(time, sequence, slot)`, ordered for a min-heap; sequences are unique, so slots never
/// decide.
type Key = Reverse<(SimTime, u64, usize)>;

/// Pending events keyed by `(time, sequence)`: earliest first, and events scheduled for the
/// same instant come out in the order they were pushed.
#[derive(Clone, Debug)]
pub(crate) struct EventQueue<E> {
    /// Keys of events due within [`NEAR`] of `now` when pushed.
    near: BinaryHeap<Key>,
    /// Keys of the other events.
    far: BinaryHeap<Key>,
    /// The time of the latest pop.
    now: SimTime,
    /// The events, by slot; `None` marks a free slot.
    slots: Vec<Option<E>>,
    /// Free slots, reused before the slab grows.
    free: Vec<usize>,
    next_sequence: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> EventQueue<E> {
        EventQueue {
            near: BinaryHeap::new(),
            far: BinaryHeap::new(),
            now: SimTime::ZERO,
            slots: Vec::new(),
            free: Vec::new(),
            next_sequence: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub(crate) fn new() -> EventQueue<E> {
        EventQueue::default()
    }

    /// Schedules `event` at `at`; returns its sequence number (unique, increasing).
    pub(crate) fn push(&mut self, at: SimTime, event: E) -> u64 {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                self.slots.len() - 1
            }
        };
        let key = Reverse((at, sequence, slot));
        if at.as_nanos().saturating_sub(self.now.as_nanos()) < NEAR.as_nanos() as u64 {
            self.near.push(key);
        } else {
            self.far.push(key);
        }
        sequence
    }

    /// Removes and returns the earliest event, ties in push order.
    pub(crate) fn pop(&mut self) -> Option<(SimTime, E)> {
        // `Reverse` turns the heaps' maximum into the earliest key: the greater top is earlier.
        let heap = match (self.near.peek(), self.far.peek()) {
            (Some(near), Some(far)) if far > near => &mut self.far,
            (None, Some(_)) => &mut self.far,
            _ => &mut self.near,
        };
        let Reverse((at, _, slot)) = heap.pop()?;
        self.now = at;
        self.free.push(slot);
        // Every key in the heap names a filled slot: push fills it, only pop empties it.
        let event = self.slots[slot].take()?;
        Some((at, event))
    }

    /// When the earliest event is due.
    pub(crate) fn peek_time(&self) -> Option<SimTime> {
        self.near
            .peek()
            .max(self.far.peek())
            .map(|Reverse((at, _, _))| *at)
    }

    /// Number of pending events.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.near.len() + self.far.len()
    }

    /// Whether nothing is pending.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.near.is_empty() && self.far.is_empty()
    }

    /// The pending events in the order they will come out, without removing them.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (SimTime, &E)> {
        let mut keys: Vec<(SimTime, u64, usize)> =
            self.near.iter().chain(&self.far).map(|k| k.0).collect();
        keys.sort_unstable();
        keys.into_iter()
            .filter_map(|(at, _, slot)| self.slots[slot].as_ref().map(|event| (at, event)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn pops_in_time_order() {
        let mut queue = EventQueue::new();
        queue.push(SimTime::from_secs(3), "c");
        queue.push(SimTime::from_secs(1), "a");
        queue.push(SimTime::from_secs(2), "b");
        assert_eq!(queue.peek_time(), Some(SimTime::from_secs(1)));
        assert_eq!(queue.len(), 3);
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(
            order,
            [
                (SimTime::from_secs(1), "a"),
                (SimTime::from_secs(2), "b"),
                (SimTime::from_secs(3), "c")
            ]
        );
        assert!(queue.is_empty());
        assert_eq!(queue.pop(), None);
        assert_eq!(queue.peek_time(), None);
    }

    #[test]
    fn ties_break_by_insertion_order() {
        let mut queue = EventQueue::new();
        let at = SimTime::from_millis(5);
        for label in ["first", "second", "third"] {
            queue.push(at, label);
        }
        queue.push(SimTime::from_millis(4), "earlier");
        let labels: Vec<_> = std::iter::from_fn(|| queue.pop()).map(|(_, e)| e).collect();
        assert_eq!(labels, ["earlier", "first", "second", "third"]);
    }

    #[test]
    fn sequence_keeps_growing_across_pops() {
        let mut queue = EventQueue::new();
        let a = queue.push(SimTime::ZERO, 1);
        queue.pop();
        let b = queue.push(SimTime::ZERO, 2);
        assert!(b > a);
        queue.push(SimTime::ZERO, 3);
        let seen: Vec<_> = queue.iter().map(|(_, e)| *e).collect();
        assert_eq!(seen, [2, 3]);
    }

    proptest! {
        /// Pushes at any distance ahead (near, far, and the same instant as others) and pops in
        /// any interleaving come out exactly as from one ordered map of `(time, sequence)`.
        #[test]
        fn pops_as_one_ordered_map(
            ops in proptest::collection::vec((any::<bool>(), 0u64..4, 0u64..100), 0..300)
        ) {
            let mut queue = EventQueue::new();
            let mut model: BTreeMap<(SimTime, u64), u64> = BTreeMap::new();
            let mut now = SimTime::ZERO;
            for (i, (pop, scale, amount)) in ops.into_iter().enumerate() {
                if pop {
                    let expected = model.pop_first().map(|((at, _), label)| (at, label));
                    prop_assert_eq!(queue.pop(), expected);
                    if let Some((at, _)) = expected {
                        now = at;
                    }
                } else {
                    // 0 ns, up to 99 µs, up to 99 ms, up to 99 s ahead: both heaps, and ties.
                    let ahead = amount * [0, 1_000, 1_000_000, 1_000_000_000][scale as usize];
                    let at = SimTime::from_nanos(now.as_nanos() + ahead);
                    let sequence = queue.push(at, i as u64);
                    model.insert((at, sequence), i as u64);
                }
                prop_assert_eq!(queue.len(), model.len());
                prop_assert_eq!(queue.peek_time(), model.keys().next().map(|(at, _)| *at));
            }
            let rest: Vec<_> = queue.iter().map(|(at, label)| (at, *label)).collect();
            let expected: Vec<_> = model.iter().map(|((at, _), label)| (*at, *label)).collect();
            prop_assert_eq!(rest, expected);
        }
    }
}
