//! Convergence: at the deadline every up core node holds the same client instances, copy for
//! copy (dirty timestamp, status, metadata, addrs, version).
//!
//! One exception, the one protection mode and the eviction cap exist for: an instance whose
//! client is gone (its last oracle record is a death or a cancel) may linger on nodes that are
//! protected, or still evicting at their per-round cap, while the others have evicted it.
//! Every live client's instance must match everywhere.

use std::collections::BTreeSet;

use registry::api::Instance;

use super::support::{client_registry, content, held, may_hold_dead, up_core, violation};
use super::{CheckInput, Checker, Violation};
use crate::trace::{ClientEvent, TraceEvent};

/// Every up core node holds identical registries over client apps at the deadline.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Convergence;

const NAME: &str = "convergence";

/// The fields two converged copies must agree on.
fn version(i: &Instance) -> impl PartialEq + '_ {
    (
        i.dirty_timestamp,
        i.status,
        &i.metadata,
        &i.addrs,
        &i.version,
    )
}

impl Checker for Convergence {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        // A run whose time stopped moving never reached its deadline: nothing converges.
        let stuck = input
            .trace
            .entries()
            .iter()
            .find_map(|(at, event)| match event {
                TraceEvent::Stuck { events } => Some((*at, *events)),
                _ => None,
            });
        if let Some((at, events)) = stuck {
            return vec![violation(
                NAME,
                at,
                None,
                None,
                format!("time stopped moving: {events} events at this instant (a node woken at once again and again?); the run stopped here"),
            )];
        }
        let core = up_core(input);
        let Some((&first, rest)) = core.split_first() else {
            return Vec::new();
        };
        let keys: BTreeSet<_> = core
            .iter()
            .filter_map(|&n| input.snapshot.get(n))
            .flat_map(|s| client_registry(s).map(|(k, _)| k.clone()))
            .collect();
        let gone = gone_clients(input);
        let mut out = Vec::new();
        for key in &keys {
            let kept_only_by_protected = core
                .iter()
                .filter(|&&n| held(input, n, key).is_some())
                .all(|&n| may_hold_dead(input, n));
            if gone.contains(key) && kept_only_by_protected {
                continue;
            }
            let reference = held(input, first, key);
            let differs = rest
                .iter()
                .copied()
                .find(|&n| match (reference, held(input, n, key)) {
                    (Some(a), Some(b)) => version(a) != version(b),
                    (None, None) => false,
                    _ => true,
                });
            if let Some(node) = differs {
                let show = |n: usize| held(input, n, key).map_or("no copy".to_string(), content);
                out.push(violation(
                    NAME,
                    input.deadline,
                    Some(node),
                    Some(key),
                    format!(
                        "core nodes disagree at the deadline: node {first} holds {}, node {node} holds {}",
                        show(first),
                        show(node)
                    ),
                ));
            }
        }
        out
    }
}

/// Instances whose client's last record is a death or a cancel.
fn gone_clients(input: &CheckInput<'_>) -> BTreeSet<registry::api::InstanceKey> {
    let mut last = std::collections::BTreeMap::new();
    for (_, event) in input.trace.entries() {
        match event {
            TraceEvent::Client(ClientEvent::Wrote {
                client, instance, ..
            }) => {
                last.insert(*client, (registry::api::InstanceKey::of(instance), false));
            }
            TraceEvent::Client(
                ClientEvent::Died { client, key } | ClientEvent::Cancelled { client, key, .. },
            ) => {
                last.insert(*client, (key.clone(), true));
            }
            _ => {}
        }
    }
    last.into_values()
        .filter(|(_, gone)| *gone)
        .map(|(key, _)| key)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests_support::*;

    #[test]
    fn a_run_whose_time_stopped_moving_is_reported_whatever_the_nodes_hold() {
        let mut run = Run::new(2);
        run.hold(0, &instance("a")).hold(1, &instance("a"));
        assert!(run.check(&Convergence).is_empty());
        run.event(TraceEvent::Stuck { events: 100_001 });
        assert_one(&run.check(&Convergence), NAME, None, None);
    }

    #[test]
    fn a_node_with_a_different_copy_is_reported() {
        let mut run = Run::new(3);
        run.hold(0, &colored("a", "red", 5))
            .hold(1, &colored("a", "red", 5))
            .hold(2, &colored("a", "blue", 5))
            .hold(0, &instance("b"))
            .hold(1, &instance("b"))
            .hold(2, &instance("b"));
        assert_one(&run.check(&Convergence), NAME, Some(2), Some(&key("a")));
    }

    #[test]
    fn a_node_missing_a_copy_or_differing_in_dirty_timestamp_is_reported() {
        let mut run = Run::new(3);
        run.hold(1, &instance("a")).hold(2, &instance("a"));
        assert_one(&run.check(&Convergence), NAME, Some(1), Some(&key("a")));
        let mut run = Run::new(2);
        run.hold(0, &colored("a", "red", 5))
            .hold(1, &colored("a", "red", 6));
        assert_one(&run.check(&Convergence), NAME, Some(1), Some(&key("a")));
    }

    #[test]
    fn a_dead_instance_may_linger_only_on_protected_nodes() {
        let mut run = Run::new(3);
        run.client(ClientEvent::Died {
            client: client(0),
            key: key("a"),
        });
        run.hold(1, &instance("a"));
        assert_one(&run.check(&Convergence), NAME, Some(1), Some(&key("a")));
        run.snapshot[1].protected = true;
        assert!(
            run.check(&Convergence).is_empty(),
            "protection keeps dead instances"
        );
        // A live client's instance gets no such pass.
        let mut run = Run::new(3);
        run.client(wrote(0, &instance("a"))).hold(1, &instance("a"));
        run.snapshot[1].protected = true;
        assert_one(&run.check(&Convergence), NAME, Some(1), Some(&key("a")));
    }

    #[test]
    fn identical_core_registries_pass_and_down_or_non_core_nodes_do_not_count() {
        let mut run = Run::new(4);
        let mut renewed_later = colored("a", "red", 5);
        renewed_later.renew_timestamp = 99;
        run.hold(0, &colored("a", "red", 5))
            .hold(1, &renewed_later)
            .hold(3, &instance("stray"));
        run.snapshot[2].up = false;
        run.core = vec![0, 1, 2];
        // The nodes' own registrations differ per node and are ignored.
        let mut own = instance("node0");
        own.appid = registry::core::DISCOVERY_APPID.into();
        run.hold(0, &own);
        assert!(run.check(&Convergence).is_empty());
    }
}
