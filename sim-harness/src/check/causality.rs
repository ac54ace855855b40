//! What the trace says about where a version came from and who had seen it: the evidence the
//! checkers' design exceptions rest on (a write lost with the node that took it, two writes no
//! node could order, a write the client never saw answered).
//!
//! Every function here errs towards "not excused": missing evidence makes a checker report,
//! never stay silent.

use std::collections::BTreeSet;

use registry::api::{
    Instance, InstanceKey, PeerMessage, ReplicatedOp, Request, Tombstone, Version,
};
use registry::core::copy_beats;

use super::support::{Change, Lives};
use super::CheckInput;
use crate::trace::TraceEvent;

/// Whether `instance` is a copy of `key` (compared in place: no key is built).
pub(super) fn is_copy_of(instance: &Instance, key: &InstanceKey) -> bool {
    instance.hostname == key.hostname
        && instance.appid == key.appid
        && instance.zone == key.zone
        && instance.env == key.env
}

/// A version a peer message carries: a copy, or a cancel's tombstone.
pub(super) enum Carried<'a> {
    Copy(&'a Instance),
    Tombstone(&'a Tombstone),
}

impl Carried<'_> {
    pub(super) fn is_of(&self, key: &InstanceKey) -> bool {
        match self {
            Carried::Copy(instance) => is_copy_of(instance, key),
            Carried::Tombstone(tombstone) => &tombstone.key == key,
        }
    }

    pub(super) fn key(&self) -> InstanceKey {
        match self {
            Carried::Copy(instance) => InstanceKey::of(instance),
            Carried::Tombstone(tombstone) => tombstone.key.clone(),
        }
    }

    pub(super) fn stamp(&self) -> i64 {
        match self {
            Carried::Copy(instance) => instance.dirty_timestamp,
            Carried::Tombstone(tombstone) => tombstone.dirty_timestamp,
        }
    }
}

/// Calls `each` with every version (copy or cancel) a peer message carries. Renews carry no
/// version: a receiver that lacks the sender's copy asks for it.
pub(super) fn for_each_version<'a>(message: &'a PeerMessage, mut each: impl FnMut(Carried<'a>)) {
    match message {
        PeerMessage::Replicate { ops, .. } => {
            for op in ops {
                match &**op {
                    ReplicatedOp::Write(Version::Put(instance)) => each(Carried::Copy(instance)),
                    ReplicatedOp::Write(Version::Tombstone(tombstone)) => {
                        each(Carried::Tombstone(tombstone))
                    }
                    ReplicatedOp::Renew { .. } => {}
                }
            }
        }
        PeerMessage::ReplicateAck { results, .. } => {
            for result in results {
                if let registry::api::OpResult::Conflict { instance } = result {
                    each(Carried::Copy(instance));
                }
            }
        }
        PeerMessage::Repair { apps, .. }
        | PeerMessage::RepairBack { apps, .. }
        | PeerMessage::SyncResponse { apps, .. } => {
            for state in apps {
                state.instances.iter().for_each(|i| each(Carried::Copy(i)));
                state
                    .tombstones
                    .iter()
                    .for_each(|t| each(Carried::Tombstone(t)));
            }
        }
        PeerMessage::Digests { .. } | PeerMessage::SyncRequest { .. } => {}
    }
}

/// The `dirty_timestamp`s of the versions of `key` (copies and cancels) a peer message
/// carries.
pub(super) fn versions_carried(message: &PeerMessage, key: &InstanceKey) -> Vec<i64> {
    let mut stamps = Vec::new();
    for_each_version(message, |carried| {
        if carried.is_of(key) {
            stamps.push(carried.stamp());
        }
    });
    stamps
}

/// The trace index at which request `id` reached its node.
pub(super) fn request_index(input: &CheckInput<'_>, id: u64) -> Option<usize> {
    input
        .trace
        .entries()
        .iter()
        .position(|(_, e)| matches!(e, TraceEvent::Request { id: i, .. } if *i == id))
}

/// Whether a client's write of `key` (request `request`, answered by `node`) died with the
/// nodes that held it: every node it reached (the one that took it, and each node handed its
/// version or a later one by a node that had it) crashed before the deadline. Writes are
/// answered once applied locally and replicated after (as in bilibili/discovery and Eureka),
/// so such a write is lost by design; nothing else can be. A message a node sent carries the
/// write even if it arrives after that node crashed; an older version of `key` reaching a node
/// does not carry it.
pub(super) fn lost_with_its_node(
    input: &CheckInput<'_>,
    node: usize,
    key: &InstanceKey,
    request: u64,
) -> bool {
    let (Some(from), Some(stamp)) = (
        request_index(input, request),
        write_stamp(input, request, key),
    ) else {
        return false;
    };
    // Nodes the write reached (a message they sent carries it even if it arrives after they
    // crashed), and those of them still holding it.
    let (mut reached, mut holders) = (BTreeSet::new(), BTreeSet::new());
    let mut lives = Lives::default();
    for (index, (_, event)) in input.trace.entries().iter().enumerate() {
        let change = lives.observe(event);
        if index < from {
            continue;
        }
        if index == from {
            reached.insert(node);
            holders.insert(node);
        }
        match event {
            TraceEvent::PeerDelivered {
                from: sender,
                to,
                message,
            } if reached.contains(sender)
                && versions_carried(message, key).iter().any(|s| *s >= stamp) =>
            {
                reached.insert(*to);
                holders.insert(*to);
            }
            _ => {
                if let Some(Change::Crashed(n)) = change {
                    holders.remove(&n);
                }
            }
        }
    }
    holders.is_empty()
}

/// Whether a held copy stamped `stamp` and a client's later write of `key` (request index
/// `write_index`, taken by `write_node`) were concurrent as far as the registry could know:
/// the copy was stamped, by another node, before the write was taken, and the write's node had
/// never been handed that version. Such writes are ordered by their nodes' clocks, and a clock
/// ahead (by skew, or by a jump the hybrid clocks passed on) can put the later write first.
/// When the write's node had seen the copy, its hybrid clock must order the write after it.
pub(super) fn concurrent(
    input: &CheckInput<'_>,
    copy: &Instance,
    write_node: usize,
    write_index: usize,
) -> bool {
    origin_of(input, copy).is_some_and(|(_, origin_node, origin_index)| {
        origin_index < write_index
            && origin_node != write_node
            && !had_seen(input, write_node, copy, write_index)
    })
}

/// The version a node gave `key` when it applied request `request` (a register or set
/// answered 0, a cancel answered 0 or -404), as the world recorded it.
pub(super) fn write_stamp(input: &CheckInput<'_>, request: u64, key: &InstanceKey) -> Option<i64> {
    input
        .trace
        .entries()
        .iter()
        .find_map(|(_, event)| match event {
            TraceEvent::Stamped {
                id,
                key: k,
                dirty_timestamp,
                ..
            } if *id == request && k == key => Some(*dirty_timestamp),
            _ => None,
        })
}

/// The cancels (ops and tombstones) a peer message carries: each key with its stamp.
pub(super) fn cancels_carried(message: &PeerMessage) -> Vec<(&InstanceKey, i64)> {
    match message {
        PeerMessage::Replicate { ops, .. } => ops
            .iter()
            .filter_map(|op| match &**op {
                ReplicatedOp::Write(Version::Tombstone(tombstone)) => {
                    Some((&tombstone.key, tombstone.dirty_timestamp))
                }
                _ => None,
            })
            .collect(),
        PeerMessage::Repair { apps, .. }
        | PeerMessage::RepairBack { apps, .. }
        | PeerMessage::SyncResponse { apps, .. } => apps
            .iter()
            .flat_map(|a| &a.tombstones)
            .map(|t| (&t.key, t.dirty_timestamp))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a client's acknowledged cancel of `key` (request `request`, answered by
/// `answered_by`) lost to the held `copy` by design: the cancel died with the nodes
/// that held it (swarm seeds 568, 3243), or `copy` is a concurrent write stamped above it
/// ([`outranks_cancel`]). The instance is then a dead one, which protection may keep like any
/// other.
pub(super) fn cancel_lost(
    input: &CheckInput<'_>,
    answered_by: usize,
    key: &InstanceKey,
    request: u64,
    copy: &Instance,
) -> bool {
    lost_with_its_node(input, answered_by, key, request)
        || outranks_cancel(input, answered_by, key, request, copy)
}

/// Whether a held `copy` of `key` outranks a client's acknowledged
/// cancel (request `request`, answered by `answered_by`) by design: it is a concurrent write
/// (stamped before the cancel was taken, by another node, which the cancel's node had never
/// been handed) whose node's clock ran ahead of the cancel's (seeds 911, 2173, 13499, 16350:
/// a register on a node whose clock ran ahead, a cancel on a node cut off from it). A copy
/// stamped below the cancel (a tombstone dropped early), stamped after it, or one the
/// cancel's node had seen is not excused.
pub(super) fn outranks_cancel(
    input: &CheckInput<'_>,
    answered_by: usize,
    key: &InstanceKey,
    request: u64,
    copy: &Instance,
) -> bool {
    let Some(index) = request_index(input, request) else {
        return false;
    };
    write_stamp(input, request, key).is_some_and(|cancel| cancel < copy.dirty_timestamp)
        && concurrent(input, copy, answered_by, index)
}

/// The client write that stamped the held `copy`: its request id, the node that took it and
/// the trace index of its request. A version is a stamp and a content: a client that stamps
/// its own writes (Eureka's `lastDirtyTimestamp`, off a coarse clock) can give two different
/// writes one stamp, so of the writes stamped alike the origin is the one that wrote the copy's
/// content (a register carries it; a set or cancel is stamped by its node, uniquely).
pub(super) fn origin_of(input: &CheckInput<'_>, copy: &Instance) -> Option<(u64, usize, usize)> {
    let key = InstanceKey::of(copy);
    input
        .trace
        .entries()
        .iter()
        .filter_map(|(_, event)| match event {
            TraceEvent::Stamped {
                node,
                id,
                key: k,
                dirty_timestamp,
            } if *dirty_timestamp == copy.dirty_timestamp && *k == key => Some((*id, *node)),
            _ => None,
        })
        .find_map(|(id, node)| {
            let index = request_index(input, id)?;
            wrote(input, index, copy).then_some((id, node, index))
        })
}

/// Whether the request at trace index `index` could have written `copy`'s content: a register
/// of that content, or any other write (its node computed the content).
fn wrote(input: &CheckInput<'_>, index: usize, copy: &Instance) -> bool {
    match &input.trace.entries()[index].1 {
        TraceEvent::Request { request, .. } => match &**request {
            Request::Register(args) => {
                args.status == copy.status
                    && args.metadata == copy.metadata
                    && args.version == copy.version
                    && args.addrs.iter().eq(copy.addrs.iter())
            }
            _ => true,
        },
        _ => false,
    }
}

/// Whether the write at trace index `index` carried its client's own stamp (a register with a
/// `dirty_timestamp`): it is then ordered by that stamp, not by its node's hybrid clock.
fn stamped_by_client(input: &CheckInput<'_>, index: usize) -> bool {
    matches!(
        &input.trace.entries()[index].1,
        TraceEvent::Request { request, .. }
            if matches!(&**request, Request::Register(args) if args.dirty_timestamp > 0)
    )
}

/// Whether the held `copy` beat a client's write (request `request`, answered by `node`) as a
/// concurrent write: it was stamped by another node, before the client's request arrived, and
/// `node` had never been handed it, so only the two nodes' clocks ordered them.
pub(super) fn overtaken_concurrently(
    input: &CheckInput<'_>,
    node: usize,
    request: u64,
    copy: &Instance,
) -> bool {
    let (Some((_, origin_node, origin_index)), Some(index)) =
        (origin_of(input, copy), request_index(input, request))
    else {
        return false;
    };
    origin_index < index && origin_node != node && !had_seen(input, node, copy, index)
}

/// Whether `node`, in the incarnation that reached trace index `until` (the request of a
/// client write it took), had been handed the held `copy`'s version or a later one before
/// that index, or stamped one itself: then it had to order the write after the copy. A write
/// its node stamped (hybrid clock) is stamped above every version the node has applied, so any
/// version stamped as late as the copy counts. A write its client stamped is ordered by that
/// stamp, and two different versions can share it: then only the copy's version itself, or one
/// that outranks it in the order every node applies (`registry::core::copy_beats`), counts.
pub(super) fn had_seen(input: &CheckInput<'_>, node: usize, copy: &Instance, until: usize) -> bool {
    let key = InstanceKey::of(copy);
    let stamp = copy.dirty_timestamp;
    let by_client = stamped_by_client(input, until);
    let mut lives = Lives::default();
    let mut seen = false;
    for (_, event) in &input.trace.entries()[..until] {
        if let Some(Change::Crashed(n) | Change::Restarted(n)) = lives.observe(event) {
            if n == node {
                seen = false;
            }
        }
        let handed = match event {
            TraceEvent::PeerDelivered { to, message, .. } if *to == node => {
                let mut at_least = false;
                for_each_version(message, |carried| {
                    if !carried.is_of(&key) || carried.stamp() < stamp {
                        return;
                    }
                    at_least |= carried.stamp() > stamp
                        || !by_client
                        || match carried {
                            Carried::Copy(held) => !copy_beats(copy, held),
                            // A cancel outranks a copy of its stamp.
                            Carried::Tombstone(_) => true,
                        };
                });
                at_least
            }
            TraceEvent::Stamped {
                node: n,
                id,
                key: k,
                dirty_timestamp,
            } if *n == node && *k == key && *dirty_timestamp >= stamp => {
                *dirty_timestamp > stamp
                    || !by_client
                    || request_index(input, *id).is_some_and(|at| wrote(input, at, copy))
            }
            _ => false,
        };
        seen |= handed;
    }
    seen
}
