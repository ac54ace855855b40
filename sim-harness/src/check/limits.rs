//! Limits: a request at a validation limit is not refused as bad; one past it is.
//!
//! Edge clients (`workload/edge.rs`) label each request that carries what sits exactly at one of
//! the nodes' limits, or one past it (`ClientEvent::AtLimit`). A node's answer to a request at
//! the limit must not be -400: the limit allows it. Its answer to one past must be -400, or -503
//! from a node that is stopping (it answers that before it looks at a request); anything else
//! (0, -304, -404, -409) means it took the request for valid. That a refused request changes
//! nothing is the oracle's to see: the client keeps the content it had, so a node holding the
//! refused content disagrees with it.

use std::collections::BTreeMap;

use registry::api::{Code, Reply};

use super::support::violation;
use super::{CheckInput, Checker, Violation};
use crate::id::ClientId;
use crate::time::SimTime;
use crate::trace::{ClientEvent, Trace, TraceEvent};
use crate::workload::Limit;

/// A -400 to a request at a limit, or any answer but -400 (or a stopping node's -503) to one
/// past it, is a violation.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Limits;

const NAME: &str = "limits";

impl Checker for Limits {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        labelled_answers(input.trace)
            .filter(|a| {
                let refused = a.reply.code == Code::BadRequest;
                if a.past {
                    !refused && a.reply.code != Code::NotReady
                } else {
                    refused
                }
            })
            .map(|a| {
                let side = if a.past { "one past" } else { "at" };
                violation(
                    NAME,
                    a.at,
                    Some(a.node),
                    None,
                    format!(
                        "client {}'s request {}, {side} the {:?} limit, was answered {:?}: {}",
                        a.client, a.id, a.limit, a.reply.code, a.reply.message
                    ),
                )
            })
            .collect()
    }
}

/// A node's answer to a request labelled `ClientEvent::AtLimit`.
pub(crate) struct LabelledAnswer<'a> {
    pub(crate) at: SimTime,
    pub(crate) node: usize,
    pub(crate) client: ClientId,
    pub(crate) id: u64,
    pub(crate) limit: Limit,
    pub(crate) past: bool,
    pub(crate) reply: &'a Reply,
}

/// Every answer to a labelled request, in trace order (a request the network duplicated may be
/// answered twice).
pub(crate) fn labelled_answers(trace: &Trace) -> impl Iterator<Item = LabelledAnswer<'_>> {
    let mut labelled: BTreeMap<u64, (Limit, bool)> = BTreeMap::new();
    trace
        .entries()
        .iter()
        .filter_map(move |(at, event)| match event {
            TraceEvent::Client(ClientEvent::AtLimit {
                request,
                limit,
                past,
                ..
            }) => {
                labelled.insert(*request, (*limit, *past));
                None
            }
            TraceEvent::Reply {
                node,
                client,
                id,
                reply,
            } => labelled.get(id).map(|&(limit, past)| LabelledAnswer {
                at: *at,
                node: *node,
                client: *client,
                id: *id,
                limit,
                past,
                reply,
            }),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests_support::*;

    fn labelled(run: &mut Run, past: bool, answer: Code) {
        let request = run.request(client(1), 0, renew("h"));
        run.client(ClientEvent::AtLimit {
            client: client(1),
            request,
            limit: Limit::Hostname,
            past,
        });
        run.reply(0, client(1), request, code(answer));
    }

    #[test]
    fn a_request_at_a_limit_refused_as_bad_is_reported() {
        let mut run = Run::new(1);
        labelled(&mut run, false, Code::BadRequest);
        assert_one(&run.check(&Limits), NAME, Some(0), None);
    }

    #[test]
    fn a_request_one_past_a_limit_taken_is_reported() {
        for answer in [
            Code::Ok,
            Code::NotModified,
            Code::NothingFound,
            Code::Conflict,
        ] {
            let mut run = Run::new(1);
            labelled(&mut run, true, answer);
            assert_one(&run.check(&Limits), NAME, Some(0), None);
        }
    }

    #[test]
    fn refusals_past_a_limit_and_other_answers_at_it_are_not() {
        let mut run = Run::new(1);
        labelled(&mut run, true, Code::BadRequest);
        labelled(&mut run, true, Code::NotReady);
        for answer in [Code::Ok, Code::NothingFound, Code::Conflict, Code::NotReady] {
            labelled(&mut run, false, answer);
        }
        // An unlabelled request refused as bad is not this checker's business.
        let request = run.request(client(2), 0, renew("g"));
        run.reply(0, client(2), request, code(Code::BadRequest));
        assert!(run.check(&Limits).is_empty());
    }
}
