//! Membership: at the deadline every up core node considers exactly the rest of the core in its
//! zone up. A node's peers are the nodes of its zone (DESIGN 4.5); nodes of other zones are
//! only forwarding targets, of which it talks to one per zone, so their status says little.

use super::support::{up_core, violation};
use super::{CheckInput, Checker, Violation};

/// Each up core node's same-zone `peers_up` equals the same-zone core minus itself.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Membership;

const NAME: &str = "membership";

impl Checker for Membership {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        let mut core = input.core.clone();
        core.sort_unstable();
        core.dedup();
        let mut out = Vec::new();
        for node in up_core(input) {
            let Some(snapshot) = input.snapshot.get(node) else {
                continue;
            };
            let same_zone = |p: &usize| {
                input
                    .snapshot
                    .get(*p)
                    .is_some_and(|s| s.zone == snapshot.zone)
            };
            let mut peers: Vec<usize> = snapshot
                .peers_up
                .iter()
                .copied()
                .filter(same_zone)
                .collect();
            peers.sort_unstable();
            let expected: Vec<usize> = core
                .iter()
                .copied()
                .filter(|&p| p != node)
                .filter(same_zone)
                .collect();
            if peers != expected {
                out.push(violation(
                    NAME,
                    input.deadline,
                    Some(node),
                    None,
                    format!("node considers peers {peers:?} of its zone up, but the zone's core minus itself is {expected:?}"),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests_support::*;

    #[test]
    fn nodes_of_other_zones_are_not_judged() {
        let mut run = Run::new(3);
        run.core = vec![0, 1];
        run.snapshot[2].up = false;
        run.snapshot[2].zone = "other".into();
        // Node 0 still counts node 2 up, but node 2 is in another zone: not a peer.
        run.snapshot[1].peers_up = vec![0];
        assert!(run.check(&Membership).is_empty());
        run.snapshot[2].zone = "z".into();
        assert_one(&run.check(&Membership), NAME, Some(0), None);
    }

    #[test]
    fn a_missing_or_extra_peer_is_reported() {
        let mut run = Run::new(3);
        run.snapshot[1].peers_up = vec![0];
        assert_one(&run.check(&Membership), NAME, Some(1), None);
        let mut run = Run::new(3);
        run.core = vec![0, 1];
        run.snapshot[2].up = false;
        // Node 0 still counts node 2 (not in the core) as up.
        run.snapshot[1].peers_up = vec![0];
        assert_one(&run.check(&Membership), NAME, Some(0), None);
    }

    #[test]
    fn the_core_minus_itself_in_any_order_passes() {
        let mut run = Run::new(4);
        run.core = vec![0, 1, 2];
        run.snapshot[0].peers_up = vec![2, 1];
        run.snapshot[1].peers_up = vec![0, 2];
        run.snapshot[2].peers_up = vec![1, 0];
        // A node outside the core is not judged.
        run.snapshot[3].peers_up = vec![];
        assert!(run.check(&Membership).is_empty());
    }
}
