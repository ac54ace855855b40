//! Who is at either end of a message: registry nodes and simulated clients, each its own type.
//!
//! The trace's hash is taken over its `Debug` rendering, so both render as the bare numbers
//! they replaced: a node as its index, an instance client as its index and a poller as
//! [`POLLER_NUMBER_BASE`] plus its index. Recorded trace hashes and reports stay valid.

use std::fmt;

/// Registry node `i` of a world (its address is `node{i}:7171`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The number a poller's id renders as is this plus its index.
pub(crate) const POLLER_NUMBER_BASE: usize = 1_000_000;

/// A simulated client: a service instance or a long-poll subscriber, by its index among its
/// kind (in the order the workload created them).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientId {
    /// Service instance `i`: registers, renews, sets, cancels.
    Instance(usize),
    /// Poller `i`: long-polls a few apps.
    Poller(usize),
}

impl ClientId {
    /// The number the id renders as (see the module documentation).
    fn number(self) -> usize {
        match self {
            ClientId::Instance(index) => index,
            ClientId::Poller(index) => POLLER_NUMBER_BASE + index,
        }
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.number(), f)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.number(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_render_as_the_numbers_the_trace_always_hashed() {
        assert_eq!(format!("{:?}", NodeId(3)), "3");
        assert_eq!(format!("{:?}", ClientId::Instance(7)), "7");
        assert_eq!(format!("{:?}", ClientId::Poller(5)), "1000005");
        assert_eq!(format!("{}", ClientId::Poller(5)), "1000005");
        assert!(
            ClientId::Instance(999_999) < ClientId::Poller(0),
            "the numbers' order"
        );
    }
}
