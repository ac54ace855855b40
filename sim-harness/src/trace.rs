//! The trace: everything that happened in a run, in order, with a stable fingerprint.
//!
//! Checkers read it; `--check-determinism` compares two of them. Its hash is FNV-1a over each
//! entry's `Debug` rendering, so it is the same on every run of the same build.

use std::cell::Cell;
use std::fmt::Write as _;
use std::rc::Rc;

use registry::api::{InstanceKey, Reply, Request, SmolStr};
use registry::core::{Fnv1a, NodeEvent, PeerMessage};

use crate::id::ClientId;
use crate::net::{DropReason, Endpoint};
use crate::time::SimTime;

/// Why a message was dropped, as the trace records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undelivered {
    /// The network model dropped it.
    Net(DropReason),
    /// It was sent to an address no node has.
    UnknownAddr,
    /// Its destination was down when it arrived.
    DestinationDown,
}

/// A phase of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Faults on; invariants checked all along.
    Safety,
    /// Faults healed for `core`; the core must converge by `deadline`.
    Liveness {
        /// The nodes that must converge.
        core: Vec<usize>,
        /// When convergence is due.
        deadline: SimTime,
    },
    /// The run is over.
    End,
}

/// What a client did, as the oracle records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// The client's last write was acknowledged: this is the instance it expects to exist.
    Wrote {
        /// The client (an instance).
        client: ClientId,
        /// The node that acknowledged.
        node: usize,
        /// The request whose answer this is (ids are handed out in send order).
        request: u64,
        /// The instance as the client wrote it (status, metadata, addrs).
        instance: Box<registry::api::Instance>,
        /// Whether the client reads back what it wrote (a careful client re-registers when a
        /// renew answer shows other content; one like bilibili's Go SDK never looks).
        reads_back: bool,
    },
    /// The client's cancel was acknowledged (or found nothing): it expects no instance.
    Cancelled {
        /// The client (an instance).
        client: ClientId,
        /// The node that answered.
        node: usize,
        /// The request whose answer this is.
        request: u64,
        /// Which instance.
        key: registry::api::InstanceKey,
    },
    /// The client died without cancelling: its lease will run out.
    Died {
        /// The client (an instance).
        client: ClientId,
        /// Which instance it held.
        key: registry::api::InstanceKey,
    },
    /// The client sent a request that carries what sits exactly at one of the nodes'
    /// validation limits, or (`past`) one past it: the `limits` checker judges its answers.
    AtLimit {
        /// The client.
        client: ClientId,
        /// The request.
        request: u64,
        /// The limit.
        limit: crate::workload::Limit,
        /// Whether it is one past the limit (must be refused -400) rather than at it (must
        /// not be).
        past: bool,
    },
    /// A poller received a view of an app.
    Viewed {
        /// The poller's index (`ClientId::Poller(poller)`).
        poller: usize,
        /// The node that answered.
        node: usize,
        /// The app.
        appid: SmolStr,
        /// The hostnames of the UP instances it saw.
        hosts: Vec<SmolStr>,
    },
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// A phase began.
    Phase(Phase),
    /// A fault was injected or healed.
    Fault(crate::fault::Fault),
    /// A client's request reached a node.
    Request {
        /// The client.
        client: ClientId,
        /// The node.
        node: usize,
        /// The world-wide request id.
        id: u64,
        /// The request.
        request: Box<Request>,
    },
    /// A node answered a request (whether or not the answer reaches the client).
    Reply {
        /// The node.
        node: usize,
        /// The client.
        client: ClientId,
        /// The request id.
        id: u64,
        /// The reply (shared with the client's delivery: recording it copies nothing).
        reply: Rc<Reply>,
    },
    /// The version a node gave a client write it applied (answered 0, or -404 to a cancel):
    /// the instance's `dirty_timestamp` after a register or set, the tombstone's after a cancel. Replication carries most
    /// versions to the trace, but one that never left its node (cut off, or crashed first) is
    /// known only from here, and the checkers' design exceptions compare versions.
    Stamped {
        /// The node.
        node: usize,
        /// The request it answered.
        id: u64,
        /// The instance written.
        key: InstanceKey,
        /// The version it gave the write.
        dirty_timestamp: i64,
    },
    /// A peer message reached its node.
    PeerDelivered {
        /// Sender.
        from: usize,
        /// Receiver.
        to: usize,
        /// The message (the node reads it here: recording it copies nothing).
        message: PeerMessage,
    },
    /// A message (or one copy of it) will never arrive.
    Dropped {
        /// Sender.
        from: Endpoint,
        /// Intended receiver, if it is known.
        to: Option<Endpoint>,
        /// A short description of the message.
        what: String,
        /// Why.
        reason: Undelivered,
    },
    /// A node's timers fired.
    TimerFired {
        /// Which node.
        node: usize,
    },
    /// A decision a node took on its own.
    Node {
        /// Which node.
        node: usize,
        /// What it decided.
        event: NodeEvent,
    },
    /// What a client did (the oracle's record).
    Client(ClientEvent),
    /// The world made `events` events at this instant without time moving (a node asking to be
    /// woken at once, again and again, say): the run stopped here, as it would otherwise never
    /// end. The convergence checker reports it.
    Stuck {
        /// Events at this instant when the run stopped.
        events: u64,
    },
}

/// Everything that happened in a run, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    entries: Vec<(SimTime, TraceEvent)>,
}

thread_local! {
    /// The longest trace a run on this thread has finished with. A run's trace starts with
    /// this capacity: a sweep's runs are alike, and a trace grown from empty is copied a dozen
    /// times on the way to tens of thousands of entries (1.5 % of a standard run's
    /// instructions, and more of its memory traffic). Capacity changes no entry, so the trace
    /// and its hash are the same whatever this holds.
    static LONGEST: Cell<usize> = const { Cell::new(0) };
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Trace {
        Trace::default()
    }

    /// An empty trace with room for as many entries as the longest run on this thread
    /// finished with ([`Trace::finished`]).
    pub(crate) fn sized_for_a_run() -> Trace {
        Trace {
            entries: Vec::with_capacity(LONGEST.with(Cell::get)),
        }
    }

    /// Notes that a run finished with this trace, for [`Trace::sized_for_a_run`].
    pub(crate) fn finished(&self) {
        LONGEST.with(|longest| longest.set(longest.get().max(self.entries.len())));
    }

    /// Records `event` at `at`.
    pub fn record(&mut self, at: SimTime, event: TraceEvent) {
        self.entries.push((at, event));
    }

    /// The latest entry's event.
    pub fn last_event(&self) -> Option<&TraceEvent> {
        self.entries.last().map(|(_, event)| event)
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[(SimTime, TraceEvent)] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A fingerprint of the whole trace, stable across runs and machines of the same build.
    pub fn hash(&self) -> u64 {
        let mut hasher = Fnv1a::new();
        for entry in &self.entries {
            hash_entry(&mut hasher, entry);
        }
        hasher.finish()
    }
}

/// Hashes one entry with a separator, so `["ab", "c"]` and `["a", "bc"]` differ.
fn hash_entry(hasher: &mut Fnv1a, (at, event): &(SimTime, TraceEvent)) {
    hasher.write_u64(at.as_nanos());
    // Writing into a hasher cannot fail; `Debug` of these types does not fail either.
    let _ = write!(hasher, "{event:?}");
    hasher.write(&[0xff]);
}

/// The index of the first entry where `a` and `b` differ, or `None` if they are identical.
///
/// If one trace is a prefix of the other, the answer is the shorter one's length.
pub fn first_divergence(a: &Trace, b: &Trace) -> Option<usize> {
    let common = a.entries.iter().zip(&b.entries).position(|(x, y)| x != y);
    match common {
        Some(index) => Some(index),
        None if a.len() == b.len() => None,
        None => Some(a.len().min(b.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::NodeId;

    fn sample(n: usize) -> Trace {
        let mut trace = Trace::new();
        trace.record(SimTime::ZERO, TraceEvent::Phase(Phase::Safety));
        for i in 0..n {
            trace.record(
                SimTime::from_millis(i as u64),
                TraceEvent::Dropped {
                    from: Endpoint::Node(NodeId(0)),
                    to: Some(Endpoint::Node(NodeId(1))),
                    what: format!("msg{i}"),
                    reason: Undelivered::UnknownAddr,
                },
            );
        }
        trace
    }

    #[test]
    fn a_run_trace_has_room_for_the_longest_finished_before() {
        sample(40).finished();
        sample(10).finished();
        let next = Trace::sized_for_a_run();
        assert!(next.entries.capacity() >= 41, "{}", next.entries.capacity());
        assert!(next.is_empty());
    }

    #[test]
    fn equal_traces_hash_equal_and_do_not_diverge() {
        assert_eq!(sample(5).hash(), sample(5).hash());
        assert_eq!(first_divergence(&sample(5), &sample(5)), None);
        assert_eq!(sample(5).len(), 6);
    }

    #[test]
    fn the_hash_is_pinned() {
        // The same build must give the same hash in every process; a change to the rendering
        // shows up here first.
        let mut trace = Trace::new();
        trace.record(SimTime::from_secs(1), TraceEvent::TimerFired { node: 2 });
        let mut expected = Fnv1a::new();
        expected.write_u64(1_000_000_000);
        expected.write(b"TimerFired { node: 2 }");
        expected.write(&[0xff]);
        assert_eq!(trace.hash(), expected.finish());
    }

    #[test]
    fn any_change_changes_the_hash() {
        let base = sample(3);
        let mut later = base.clone();
        later.entries[1].0 = SimTime::from_nanos(1);
        let mut other_text = base.clone();
        other_text.entries[2].1 = TraceEvent::TimerFired { node: 0 };
        assert_ne!(base.hash(), later.hash());
        assert_ne!(base.hash(), other_text.hash());
        assert_ne!(base.hash(), sample(4).hash());
        assert_ne!(Trace::new().hash(), base.hash());
    }

    #[test]
    fn first_divergence_finds_the_first_differing_entry() {
        let a = sample(5);
        let mut b = a.clone();
        b.entries[3].1 = TraceEvent::Fault(crate::fault::Fault::Crash { node: 1 });
        b.entries[4].1 = TraceEvent::TimerFired { node: 1 };
        assert_eq!(first_divergence(&a, &b), Some(3));
    }

    #[test]
    fn a_prefix_diverges_where_it_ends() {
        assert_eq!(first_divergence(&sample(2), &sample(5)), Some(3));
        assert_eq!(first_divergence(&sample(5), &sample(2)), Some(3));
        assert_eq!(first_divergence(&Trace::new(), &sample(0)), Some(0));
        assert!(Trace::new().is_empty());
    }
}
