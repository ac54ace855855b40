//! The event queue: the world jumps from one event to the next in `(time, sequence)` order.
//!
//! A binary heap of small `(time, sequence, slot)` keys over a slab of events: the heap moves
//! 24-byte keys while it sifts, and each event is written once and read once, however large
//! it is. (A `BTreeMap` keyed by `(time, sequence)` moved whole events around its nodes on
//! every pop, a sixth of the simulator's time.)

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::SimTime;

/// Pending events keyed by `(time, sequence)`: earliest first, and events scheduled for the
/// same instant come out in the order they were pushed.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    /// Min-heap of `(time, sequence, slot)`; sequences are unique, so slots never decide.
    order: BinaryHeap<Reverse<(SimTime, u64, usize)>>,
    /// The events, by slot; `None` marks a free slot.
    slots: Vec<Option<E>>,
    /// Free slots, reused before the slab grows.
    free: Vec<usize>,
    next_sequence: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> EventQueue<E> {
        EventQueue {
            order: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            next_sequence: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> EventQueue<E> {
        EventQueue::default()
    }

    /// Schedules `event` at `at`; returns its sequence number (unique, increasing).
    pub fn push(&mut self, at: SimTime, event: E) -> u64 {
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
        self.order.push(Reverse((at, sequence, slot)));
        sequence
    }

    /// Removes and returns the earliest event, ties in push order.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let Reverse((at, _, slot)) = self.order.pop()?;
        self.free.push(slot);
        // Every key in the heap names a filled slot: push fills it, only pop empties it.
        let event = self.slots[slot].take()?;
        Some((at, event))
    }

    /// When the earliest event is due.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.order.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The pending events in the order they will come out, without removing them.
    pub fn iter(&self) -> impl Iterator<Item = (SimTime, &E)> {
        let mut keys: Vec<(SimTime, u64, usize)> = self.order.iter().map(|k| k.0).collect();
        keys.sort_unstable();
        keys.into_iter()
            .filter_map(|(at, _, slot)| self.slots[slot].as_ref().map(|event| (at, event)))
    }
}

#[cfg(test)]
mod tests {
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
}
