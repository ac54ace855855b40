//! False evictions: instances a node evicted (or repair dropped) while their client was alive.
//!
//! A client is alive from its first acknowledged write (`ClientEvent::Wrote`) until it dies or
//! its cancel is acknowledged (`Died`, `Cancelled`). An `Evicted` node event for its key in
//! that span counts as evicted-unprotected or evicted-protected by the node's protection mode
//! at the time (from its `ProtectionChanged` events; a crash resets it); a `DroppedDead` event
//! counts as dropped-by-repair.

use std::collections::{BTreeMap, BTreeSet};

use registry::api::InstanceKey;
use registry::core::NodeEvent;
use serde::{Deserialize, Serialize};

use crate::fault::Fault;
use crate::trace::{ClientEvent, Trace, TraceEvent};

/// False evictions by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FalseEvictions {
    /// Evicted by a node that was not protected.
    pub evicted_unprotected: u64,
    /// Evicted by a protected node (past the protected ceiling).
    pub evicted_protected: u64,
    /// Dropped by anti-entropy as a dead copy.
    pub dropped_by_repair: u64,
}

impl FalseEvictions {
    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &FalseEvictions) {
        self.evicted_unprotected += other.evicted_unprotected;
        self.evicted_protected += other.evicted_protected;
        self.dropped_by_repair += other.dropped_by_repair;
    }

    /// All causes together.
    pub fn total(&self) -> u64 {
        self.evicted_unprotected + self.evicted_protected + self.dropped_by_repair
    }
}

/// Counts the false evictions of a trace.
pub(super) fn false_evictions(trace: &Trace) -> FalseEvictions {
    let mut alive: BTreeSet<InstanceKey> = BTreeSet::new();
    let mut ended: BTreeSet<InstanceKey> = BTreeSet::new();
    let mut protected: BTreeMap<usize, bool> = BTreeMap::new();
    let mut out = FalseEvictions::default();
    for (_, event) in trace.entries() {
        match event {
            TraceEvent::Client(ClientEvent::Wrote { instance, .. }) => {
                let key = InstanceKey::of(instance);
                if !ended.contains(&key) {
                    alive.insert(key);
                }
            }
            TraceEvent::Client(
                ClientEvent::Died { key, .. } | ClientEvent::Cancelled { key, .. },
            ) => {
                alive.remove(key);
                ended.insert(key.clone());
            }
            TraceEvent::Fault(Fault::Crash { node }) => {
                protected.insert(*node, false);
            }
            TraceEvent::Node { node, event } => match event {
                NodeEvent::ProtectionChanged(status) => {
                    protected.insert(*node, status.protected);
                }
                NodeEvent::Evicted { key, .. } if alive.contains(key) => {
                    if protected.get(node).copied().unwrap_or(false) {
                        out.evicted_protected += 1;
                    } else {
                        out.evicted_unprotected += 1;
                    }
                }
                NodeEvent::DroppedDead { key, .. } if alive.contains(key) => {
                    out.dropped_by_repair += 1;
                }
                _ => {}
            },
            _ => {}
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use crate::id::ClientId;

    use registry::api::Instance;

    use super::*;
    use crate::time::SimTime;

    pub(crate) fn instance(host: &str) -> Instance {
        Instance {
            region: "sim".into(),
            zone: "zone0".into(),
            env: "sim".into(),
            appid: "app".into(),
            hostname: host.into(),
            addrs: Default::default(),
            version: "v1".into(),
            metadata: Default::default(),
            status: registry::api::Status::Up,
            reg_timestamp: 1,
            up_timestamp: 1,
            renew_timestamp: 1,
            dirty_timestamp: 1,
            latest_timestamp: 1,
        }
    }

    fn evicted(node: usize, host: &str) -> TraceEvent {
        TraceEvent::Node {
            node,
            event: NodeEvent::Evicted {
                key: InstanceKey::of(&instance(host)),
                silent_for: Duration::from_secs(91),
            },
        }
    }

    #[test]
    fn only_evictions_while_the_client_lives_count() {
        let mut trace = Trace::new();
        let t = SimTime::ZERO;
        trace.record(t, evicted(0, "h1")); // before its first write: not alive yet
        trace.record(
            t,
            TraceEvent::Client(ClientEvent::Wrote {
                client: ClientId::Instance(0),
                node: 0,
                request: 0,
                instance: Box::new(instance("h1")),
                reads_back: true,
            }),
        );
        trace.record(t, evicted(0, "h1"));
        trace.record(
            t,
            TraceEvent::Node {
                node: 1,
                event: NodeEvent::DroppedDead {
                    key: InstanceKey::of(&instance("h1")),
                    silent_for: Duration::from_secs(91),
                },
            },
        );
        trace.record(
            t,
            TraceEvent::Client(ClientEvent::Died {
                client: ClientId::Instance(0),
                key: InstanceKey::of(&instance("h1")),
            }),
        );
        trace.record(t, evicted(0, "h1")); // dead: a true eviction
        let counts = false_evictions(&trace);
        assert_eq!(
            counts,
            FalseEvictions {
                evicted_unprotected: 1,
                evicted_protected: 0,
                dropped_by_repair: 1
            }
        );
        assert_eq!(counts.total(), 2);
    }
}
