//! Helpers the checkers share: client-app filters, content comparison, node lifecycles.

use registry::api::{Instance, InstanceKey};
use registry::core::DISCOVERY_APPID;

use super::{CheckInput, NodeSnapshot, Violation};
use crate::time::SimTime;

/// Whether `appid` is a client app (not the registry nodes' own `infra.discovery`).
pub(super) fn is_client_app(appid: &str) -> bool {
    appid != DISCOVERY_APPID
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
