//! Helpers the checkers share: client-app filters, content comparison, node lifecycles.

use registry::api::SmolStr;
use std::collections::BTreeMap;

use registry::api::{
    Code, Data, FetchArgs, Instance, InstanceKey, PeerMessage, PollArgs, ReplicatedOp, Reply,
    Request, Status,
};
use registry::core::DISCOVERY_APPID;

use registry::core::NodeEvent;

use super::{CheckInput, NodeSnapshot, Violation};
use crate::fault::Fault;
use crate::time::SimTime;
use crate::trace::{Phase, TraceEvent};

/// Whether `appid` is a client app (not the registry nodes' own `infra.discovery`).
pub(super) fn is_client_app(appid: &str) -> bool {
    appid != DISCOVERY_APPID
}

/// Whether `node` may still hold instances of clients that are gone: it is protected, or its
/// last eviction round found more expired instances than the per-round cap let it evict, so
/// it is removing them as fast as it is allowed to.
pub(super) fn may_hold_dead(input: &CheckInput<'_>, node: usize) -> bool {
    if input.snapshot.get(node).is_some_and(|s| s.protected) {
        return true;
    }
    let last_round = input
        .trace
        .entries()
        .iter()
        .rev()
        .find_map(|(_, event)| match event {
            TraceEvent::Node {
                node: n,
                event: NodeEvent::EvictionRound { expired, cap, .. },
            } if *n == node => Some(expired > cap),
            _ => None,
        });
    last_round.unwrap_or(false)
}

/// The core nodes that were up at the deadline, sorted, each once.
pub(super) fn up_core(input: &CheckInput<'_>) -> Vec<usize> {
    let mut core: Vec<usize> = input
        .core
        .iter()
        .copied()
        .filter(|&n| input.snapshot.get(n).is_some_and(|s| s.up))
        .collect();
    core.sort_unstable();
    core.dedup();
    core
}

/// The client-app instances a node held at the deadline.
pub(super) fn client_registry(
    snapshot: &NodeSnapshot,
) -> impl Iterator<Item = (&InstanceKey, &Instance)> {
    snapshot
        .registry
        .iter()
        .filter(|(key, _)| is_client_app(&key.appid))
}

/// The copy of `key` node `node` held at the deadline, if any.
pub(super) fn held<'a>(
    input: &'a CheckInput<'_>,
    node: usize,
    key: &InstanceKey,
) -> Option<&'a Instance> {
    input.snapshot.get(node)?.registry.get(key)
}

/// Whether two copies carry the same client-written content (hostname, status, metadata,
/// addrs, version); timestamps are never compared.
pub(super) fn same_content(a: &Instance, b: &Instance) -> bool {
    a.hostname == b.hostname
        && a.status == b.status
        && a.metadata == b.metadata
        && a.addrs == b.addrs
        && a.version == b.version
}

/// A short rendering of an instance's content for explanations.
pub(super) fn content(instance: &Instance) -> String {
    format!(
        "{{status {:?}, metadata {:?}, addrs {:?}, version {:?}, dirty {}}}",
        instance.status,
        instance.metadata,
        instance.addrs,
        instance.version,
        instance.dirty_timestamp
    )
}

/// The sorted hostnames of the UP instances of `appid` a node held at the deadline.
pub(super) fn up_hosts(snapshot: &NodeSnapshot, appid: &str) -> Vec<SmolStr> {
    let mut hosts: Vec<SmolStr> = snapshot
        .registry
        .values()
        .filter(|i| i.appid == appid && i.status == Status::Up)
        .map(|i| i.hostname.clone())
        .collect();
    hosts.sort();
    hosts
}

/// The keys of the `Renew` ops of a delivered `Replicate` batch (none for other messages).
pub(super) fn renew_ops(message: &PeerMessage) -> Vec<&InstanceKey> {
    match message {
        PeerMessage::Replicate { ops, .. } => ops
            .iter()
            .filter_map(|op| match &**op {
                ReplicatedOp::Renew { key, .. } => Some(key),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a request only reads.
pub(super) fn is_read(request: &Request) -> bool {
    matches!(
        request,
        Request::Fetch(_)
            | Request::Fetchs(_)
            | Request::Poll(_)
            | Request::Polls(_)
            | Request::Nodes
            | Request::FetchAll
    )
}

/// The index of the first trace entry of the liveness phase: just after its `Phase::Liveness`
/// record, or (without one) the first entry at or after `input.liveness_start`.
pub(super) fn liveness_index(input: &CheckInput<'_>) -> usize {
    let entries = input.trace.entries();
    entries
        .iter()
        .position(|(_, e)| matches!(e, TraceEvent::Phase(Phase::Liveness { .. })))
        .map(|i| i + 1)
        .or_else(|| entries.iter().position(|(t, _)| *t >= input.liveness_start))
        .unwrap_or(entries.len())
}

/// A violation.
pub(super) fn violation(
    checker: &'static str,
    at: SimTime,
    node: Option<usize>,
    instance: Option<&InstanceKey>,
    explanation: String,
) -> Violation {
    Violation {
        checker,
        at,
        node,
        instance: instance.cloned(),
        explanation,
    }
}

/// What a fault did to a node's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Change {
    /// The node crashed: everything it knew is gone.
    Crashed(usize),
    /// The node started a new, empty incarnation.
    Restarted(usize),
}

/// Each node's incarnation as a walk through the trace sees it. Every node starts up, in
/// incarnation 0; a crash takes it down; a restart of a down node starts the next incarnation
/// (a restart of a node that is up does nothing, as in the world).
#[derive(Clone, Debug, Default)]
pub(super) struct Lives {
    /// Per node: (incarnation, down).
    nodes: BTreeMap<usize, (u64, bool)>,
}

impl Lives {
    /// Follows one trace event; says what it changed, if anything.
    pub(super) fn observe(&mut self, event: &TraceEvent) -> Option<Change> {
        match event {
            TraceEvent::Fault(Fault::Crash { node }) => {
                let life = self.nodes.entry(*node).or_default();
                let was_up = !life.1;
                life.1 = true;
                was_up.then_some(Change::Crashed(*node))
            }
            TraceEvent::Fault(Fault::Restart { node }) => {
                let life = self.nodes.entry(*node).or_default();
                if !life.1 {
                    return None;
                }
                *life = (life.0.saturating_add(1), false);
                Some(Change::Restarted(*node))
            }
            _ => None,
        }
    }

    /// The node's current incarnation (0 until its first restart).
    pub(super) fn incarnation(&self, node: usize) -> u64 {
        self.nodes.get(&node).map_or(0, |life| life.0)
    }
}

/// Matches replies to the requests they answer, by request id, along a trace walk.
#[derive(Clone, Debug, Default)]
pub(super) struct Requests<'a> {
    pending: BTreeMap<u64, &'a Request>,
}

impl<'a> Requests<'a> {
    /// Follows one trace event; for a reply, the request it answers (if the trace holds it).
    pub(super) fn observe(&mut self, event: &'a TraceEvent) -> Option<&'a Request> {
        match event {
            TraceEvent::Request { id, request, .. } => {
                self.pending.insert(*id, request);
                None
            }
            TraceEvent::Reply { id, .. } => self.pending.remove(id),
            _ => None,
        }
    }
}

/// The copy of `key` a code-0 read reply served, if it served one.
pub(super) fn served_copy<'a>(reply: &'a Reply, key: &InstanceKey) -> Option<&'a Instance> {
    if reply.code != Code::Ok {
        return None;
    }
    let is_key = |i: &&Instance| super::causality::is_copy_of(i, key);
    match &reply.data {
        Data::App(info) => info.instances.values().flatten().find(is_key),
        Data::Apps(apps) => apps
            .values()
            .flat_map(|info| info.instances.values().flatten())
            .find(is_key),
        Data::All(apps) => apps.values().flatten().find(is_key),
        _ => None,
    }
}

/// The views a code-0 read reply served: per app, the sorted hostnames of its UP instances.
pub(super) fn served_views(request: &Request, reply: &Reply) -> Vec<(SmolStr, Vec<SmolStr>)> {
    if reply.code != Code::Ok {
        return Vec::new();
    }
    let up = |instances: &mut dyn Iterator<Item = &Instance>| {
        let mut hosts: Vec<SmolStr> = instances
            .filter(|i| i.status == Status::Up)
            .map(|i| i.hostname.clone())
            .collect();
        hosts.sort();
        hosts
    };
    match (request, &reply.data) {
        (Request::Fetch(FetchArgs { appid, .. }), Data::App(info))
        | (Request::Poll(PollArgs { appid, .. }), Data::App(info)) => {
            vec![(appid.clone(), up(&mut info.instances.values().flatten()))]
        }
        (Request::Fetchs(_) | Request::Polls(_), Data::Apps(apps)) => apps
            .iter()
            .map(|(appid, info)| (appid.clone(), up(&mut info.instances.values().flatten())))
            .collect(),
        (Request::FetchAll, Data::All(apps)) => apps
            .iter()
            .map(|(appid, instances)| (appid.clone(), up(&mut instances.iter())))
            .collect(),
        _ => Vec::new(),
    }
}
