//! A hand-driven [`Clock`] and a recording [`Network`], for tests, examples and simple drivers.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use crate::api::Reply;
use crate::api::SmolStr;

use super::clock::{Clock, Mono};
use super::network::{Network, RequestId};
use crate::api::PeerMessage;

/// A clock that moves only when told to. Share it with [`Rc`] to advance it from outside.
#[derive(Debug, Default)]
pub struct ManualClock {
    wall: Cell<i64>,
    mono: Cell<Mono>,
}

impl ManualClock {
    /// A clock at `wall` Unix nanoseconds and the monotonic origin.
    pub fn new(wall: i64) -> ManualClock {
        ManualClock {
            wall: Cell::new(wall),
            mono: Cell::new(Mono::ZERO),
        }
    }

    /// Moves both clocks forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.mono.set(self.mono.get() + by);
        let nanos = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        self.wall.set(self.wall.get().saturating_add(nanos));
    }

    /// Sets the wall clock alone (skew, jumps); the monotonic clock is untouched.
    pub fn set_wall(&self, wall: i64) {
        self.wall.set(wall);
    }
}

impl Clock for ManualClock {
    fn wall(&self) -> i64 {
        self.wall.get()
    }

    fn mono(&self) -> Mono {
        self.mono.get()
    }
}

impl<C: Clock + ?Sized> Clock for Rc<C> {
    fn wall(&self) -> i64 {
        (**self).wall()
    }

    fn mono(&self) -> Mono {
        (**self).mono()
    }
}

/// A network that records everything the node says, in order.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Replies, in the order they were given.
    pub replies: Vec<(RequestId, Reply)>,
    /// Peer messages with their destination, in the order they were sent.
    pub sent: Vec<(SmolStr, PeerMessage)>,
}

impl Outbox {
    /// Removes and returns the reply to `id`, if it was given.
    pub fn take_reply(&mut self, id: RequestId) -> Option<Reply> {
        let index = self.replies.iter().position(|(to, _)| *to == id)?;
        Some(self.replies.remove(index).1)
    }
}

impl Network for Outbox {
    fn reply(&mut self, to: RequestId, reply: Reply) {
        self.replies.push((to, reply));
    }

    fn send(&mut self, addr: &str, message: PeerMessage) {
        self.sent.push((addr.into(), message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a node reads from the clock it was given.
    fn read<C: Clock>(clock: C) -> (i64, Mono) {
        (clock.wall(), clock.mono())
    }

    #[test]
    fn advance_moves_both_clocks_and_set_wall_only_the_wall() {
        let clock = Rc::new(ManualClock::new(1_000));
        assert_eq!(read(Rc::clone(&clock)), (1_000, Mono::ZERO));
        clock.advance(Duration::from_nanos(500));
        assert_eq!(read(Rc::clone(&clock)), (1_500, Mono::from_nanos(500)));
        clock.set_wall(42);
        assert_eq!(read(Rc::clone(&clock)), (42, Mono::from_nanos(500)));
        // The clock itself reads the same as the shared handle.
        assert_eq!(read(&*clock), (42, Mono::from_nanos(500)));
    }
}
