//! The event queue: the world jumps from one event to the next in `(time, sequence)` order.

use std::collections::BTreeMap;

use crate::time::SimTime;

/// Pending events keyed by `(time, sequence)`: earliest first, and events scheduled for the
/// same instant come out in the order they were pushed.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    events: BTreeMap<(SimTime, u64), E>,
    next_sequence: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> EventQueue<E> {
        EventQueue {
            events: BTreeMap::new(),
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
        self.events.insert((at, sequence), event);
        sequence
    }

    /// Removes and returns the earliest event, ties in push order.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.events.pop_first().map(|((at, _), event)| (at, event))
    }

    /// When the earliest event is due.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.events.first_key_value().map(|((at, _), _)| *at)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The pending events in the order they will come out, without removing them.
    pub fn iter(&self) -> impl Iterator<Item = (SimTime, &E)> {
        self.events.iter().map(|((at, _), event)| (*at, event))
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
