//! Session order: no core node ends with a client's earlier write instead of its last one,
//! whatever the clocks said (a last-writer-wins ordering bug shows up here); and no node ever
//! refuses a client's write as older than what it holds (-409). A node stamps a client write
//! with its hybrid clock, above every version it has seen, so the write it takes always wins
//! there; a -409 means the clock ordered the write into the past.

use std::collections::BTreeMap;

use registry::api::{Code, Instance, InstanceKey, Request};

use super::support::{content, held, is_client_app, same_content, up_core, violation};
use super::{CheckInput, Checker, Violation};
use crate::trace::{ClientEvent, TraceEvent};

/// An up core node's copy never matches an earlier write of a client but not its last.
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionOrder;

const NAME: &str = "session_order";

impl Checker for SessionOrder {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        let mut out = refused_client_writes(input);
        let mut writes: BTreeMap<usize, Vec<&Instance>> = BTreeMap::new();
        for (_, event) in input.trace.entries() {
            if let TraceEvent::Client(ClientEvent::Wrote {
                client, instance, ..
            }) = event
            {
                writes.entry(*client).or_default().push(instance);
            }
        }
        let core = up_core(input);
        for (client, writes) in writes {
            let Some((last, earlier)) = writes.split_last() else {
                continue;
            };
            let key = InstanceKey::of(last);
            if !is_client_app(&key.appid) {
                continue;
            }
            // Only earlier writes of the same instance can be reverted to.
            let earlier: Vec<&Instance> = earlier
                .iter()
                .copied()
                .filter(|w| InstanceKey::of(w) == key)
                .collect();
            for &node in &core {
                let Some(copy) = held(input, node, &key) else {
                    continue;
                };
                if same_content(copy, last) || !earlier.iter().any(|w| same_content(copy, w)) {
                    continue;
                }
                out.push(violation(
                    NAME,
                    input.deadline,
                    Some(node),
                    Some(&key),
                    format!(
                        "reverted to an earlier write of client {client}: holds {} but its last write was {}",
                        content(copy),
                        content(last)
                    ),
                ));
            }
        }
        out
    }
}

/// Every client register, set or cancel a node answered -409.
fn refused_client_writes(input: &CheckInput<'_>) -> Vec<Violation> {
    let mut asked: BTreeMap<u64, Option<InstanceKey>> = BTreeMap::new();
    let mut out = Vec::new();
    for (at, event) in input.trace.entries() {
        match event {
            TraceEvent::Request { id, request, .. } => {
                let key = match &**request {
                    Request::Register(a) if !a.replication => {
                        Some(Some(key_of(&a.env, &a.appid, &a.zone, &a.hostname)))
                    }
                    Request::Cancel(a) if !a.replication => {
                        Some(Some(key_of(&a.env, &a.appid, &a.zone, &a.hostname)))
                    }
                    Request::Set(a) if !a.replication => Some(
                        a.hostnames
                            .first()
                            .map(|h| key_of(&a.env, &a.appid, &a.zone, h)),
                    ),
                    _ => None,
                };
                if let Some(key) = key {
                    asked.insert(*id, key);
                }
            }
            TraceEvent::Reply {
                node, id, reply, ..
            } => {
                if let Some(key) = asked.remove(id) {
                    if reply.code == Code::Conflict {
                        out.push(violation(
                            NAME,
                            *at,
                            Some(*node),
                            key.as_ref(),
                            "a client's write was refused as older than what the node holds: its hybrid clock ordered the write into the past".to_string(),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn key_of(env: &str, appid: &str, zone: &str, hostname: &str) -> InstanceKey {
    InstanceKey {
        env: env.into(),
        appid: appid.into(),
        zone: zone.into(),
        hostname: hostname.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests_support::*;

    #[test]
    fn a_copy_reverted_to_an_earlier_write_is_reported() {
        let mut run = Run::new(2);
        // Under skew the later write got the smaller dirty timestamp, and lost.
        run.client(wrote(0, &colored("a", "red", 50)))
            .client(wrote(0, &colored("a", "blue", 10)))
            .hold(0, &colored("a", "blue", 10))
            .hold(1, &colored("a", "red", 50));
        assert_one(&run.check(&SessionOrder), NAME, Some(1), Some(&key("a")));
    }

    #[test]
    fn a_client_write_refused_as_stale_is_reported() {
        let mut run = Run::new(2);
        let id = run.at(10).request(0, 1, register(&instance("a")));
        run.reply(1, 0, id, ok());
        assert!(run.check(&SessionOrder).is_empty());
        let id = run.at(20).request(0, 1, register(&instance("a")));
        run.reply(1, 0, id, code(Code::Conflict));
        assert_one(&run.check(&SessionOrder), NAME, Some(1), Some(&key("a")));
    }

    #[test]
    fn the_last_write_or_unrelated_content_passes() {
        let mut run = Run::new(3);
        run.client(wrote(0, &colored("a", "red", 1)))
            .client(wrote(0, &colored("a", "blue", 2)))
            .client(wrote(0, &colored("a", "red", 3)))
            .client(wrote(1, &colored("b", "red", 1)))
            .client(wrote(1, &colored("b", "blue", 2)))
            .client(wrote(2, &colored("c", "red", 1)))
            // Node 0: the last write (same content as the first one).
            .hold(0, &colored("a", "red", 3))
            // Node 1: content no write of the client had (convergence/oracle judge that).
            .hold(1, &colored("b", "green", 3))
            .hold(2, &colored("c", "red", 1));
        assert!(run.check(&SessionOrder).is_empty());
    }
}
