//! The checker list as a whole: order, names, and no panic on odd traces.

use std::time::Duration;

use registry::api::{Code, PeerMessage};
use registry::core::NodeEvent;

use super::all;
use super::tests_support::*;
use crate::fault::Fault;
use crate::trace::{ClientEvent, TraceEvent};

#[test]
fn all_lists_the_nine_checkers_in_report_order() {
    let names: Vec<&str> = all().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "convergence",
            "oracle",
            "resurrection",
            "session_order",
            "premature_eviction",
            "protection",
            "poll_delivery",
            "membership",
            "read_before_sync",
            "limits",
        ]
    );
}

#[test]
fn a_quiet_converged_run_passes_every_checker() {
    let mut run = Run::new(3);
    for node in 0..3 {
        run.node(node, NodeEvent::Synced { from: None });
    }
    run.at(1).request(client(0), 0, register(&instance("a")));
    run.client(wrote(0, &instance("a")));
    let id = run.at(30).request(client(0), 1, renew("a"));
    run.reply(1, client(0), id, ok());
    run.at(60);
    for node in 0..3 {
        let renews = u64::from(node == 1);
        run.node(
            node,
            NodeEvent::WindowClosed {
                renews,
                unheld_renews: 0,
                expected: 0,
                threshold: 0,
                protected: false,
            },
        );
    }
    run.at(100)
        .liveness()
        .at(120)
        .served_poll(client(3), 2, &["a"]);
    run.client(viewed(3, 2, &["a"]));
    for node in 0..3 {
        run.hold(node, &instance("a"));
    }
    for checker in all() {
        assert!(run.check(checker.as_ref()).is_empty(), "{}", checker.name());
    }
}

#[test]
fn odd_traces_do_not_panic() {
    let mut run = Run::new(2);
    run.core = vec![0, 1, 7, 1];
    run.fault(Fault::Restart { node: 9 })
        .fault(Fault::Crash { node: 9 })
        .fault(Fault::Crash { node: 9 })
        .event(TraceEvent::Reply {
            node: 8,
            client: client(3),
            id: 77,
            reply: code(Code::Ok).into(),
        })
        .event(TraceEvent::PeerDelivered {
            from: 5,
            to: 6,
            message: PeerMessage::SyncRequest { full: true },
        })
        .node(
            6,
            NodeEvent::Evicted {
                key: key("x"),
                silent_for: Duration::ZERO,
            },
        )
        .node(
            6,
            NodeEvent::EvictionRound {
                registry_size: usize::MAX,
                expired: usize::MAX,
                cap: usize::MAX,
                evicted: usize::MAX,
                protected: true,
            },
        )
        .node(
            6,
            NodeEvent::WindowClosed {
                renews: u64::MAX,
                unheld_renews: u64::MAX,
                expected: u64::MAX,
                threshold: u64::MAX,
                protected: false,
            },
        )
        .client(ClientEvent::Died {
            client: client(4),
            key: key("x"),
        })
        .client(viewed(1, 7, &["x"]));
    run.liveness();
    for checker in all() {
        let _ = run.check(checker.as_ref());
    }
    let empty = Run::new(0);
    for checker in all() {
        assert!(
            empty.check(checker.as_ref()).is_empty(),
            "{}",
            checker.name()
        );
    }
}
