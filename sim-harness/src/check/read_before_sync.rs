//! No read before sync: a node incarnation answers no read with code 0 before it has synced.

use std::collections::BTreeSet;

use registry::api::Code;
use registry::core::NodeEvent;

use super::support::{is_read, violation, Change, Lives, Requests};
use super::{CheckInput, Checker, Violation};
use crate::trace::TraceEvent;

/// A code-0 reply to a read from a node incarnation before its `Synced` is a violation.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ReadBeforeSync;

const NAME: &str = "read_before_sync";

impl Checker for ReadBeforeSync {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        let mut lives = Lives::default();
        let mut requests = Requests::default();
        let mut synced: BTreeSet<usize> = BTreeSet::new();
        let mut out = Vec::new();
        for (at, event) in input.trace.entries() {
            if let Some(Change::Crashed(node) | Change::Restarted(node)) = lives.observe(event) {
                synced.remove(&node);
            }
            let answered = requests.observe(event);
            match event {
                TraceEvent::Node {
                    node,
                    event: NodeEvent::Synced { .. },
                } => {
                    synced.insert(*node);
                }
                TraceEvent::Reply {
                    node,
                    client,
                    reply,
                    ..
                } if reply.code == Code::Ok
                    && !synced.contains(node)
                    && answered.is_some_and(is_read) =>
                {
                    out.push(violation(
                        NAME,
                        *at,
                        Some(*node),
                        None,
                        format!(
                            "incarnation {} answered a read of client {client} with code 0 before it synced",
                            lives.incarnation(*node)
                        ),
                    ));
                }
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests_support::*;

    fn synced(run: &mut Run, node: usize) {
        run.node(node, NodeEvent::Synced { from: None });
    }

    #[test]
    fn a_read_served_before_the_first_sync_or_after_a_restart_is_reported() {
        let mut run = Run::new(2);
        run.at(1).served_poll(client(9), 0, &["a"]);
        assert_one(&run.check(&ReadBeforeSync), NAME, Some(0), None);

        let mut run = Run::new(2);
        synced(&mut run, 0);
        synced(&mut run, 1);
        run.at(5).bounce(1).at(6).served_poll(client(9), 1, &[]);
        let found = run.check(&ReadBeforeSync);
        assert_one(&found, NAME, Some(1), None);
        assert_eq!(found[0].at, crate::time::SimTime::from_secs(6));
    }

    #[test]
    fn refusals_writes_and_reads_after_sync_pass() {
        let mut run = Run::new(2);
        let id = run.request(client(9), 0, poll());
        run.reply(0, client(9), id, code(Code::NotReady));
        let id = run.request(client(3), 0, register(&instance("a")));
        run.reply(0, client(3), id, code(Code::Ok));
        synced(&mut run, 0);
        run.served_poll(client(9), 0, &["a"]);
        run.at(5).bounce(1).at(6);
        synced(&mut run, 1);
        run.served_poll(client(9), 1, &["a"]);
        assert!(run.check(&ReadBeforeSync).is_empty());
    }
}
