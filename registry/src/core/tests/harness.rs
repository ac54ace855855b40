//! A single node on a manual clock, with helpers that build requests and read replies.

use std::rc::Rc;
use std::time::Duration;

use crate::api::{
    CancelArgs, Code, Data, FetchArgs, Instance, InstanceInfo, OpResult, PeerMessage, PollsArgs,
    RegisterArgs, RenewArgs, Reply, Request, SetArgs, Status, StatusFilter,
};
use crate::core::{Clock, Config, InstanceKey, ManualClock, Node, NodeEvent, Outbox, RequestId};

pub(super) const START_WALL: i64 = 1_700_000_000_000_000_000;

/// Every node holds one instance of its own: its `infra.discovery` registration.
pub(super) const SELF: u64 = 1;

pub(super) struct Harness {
    pub(super) node: Node<Rc<ManualClock>, Outbox>,
    pub(super) clock: Rc<ManualClock>,
    next_id: u64,
    pub(super) events: Vec<NodeEvent>,
}

impl Harness {
    pub(super) fn new() -> Harness {
        Harness::with_config(Config::default())
    }

    pub(super) fn with_config(config: Config) -> Harness {
        let clock = Rc::new(ManualClock::new(START_WALL));
        let node = Node::new(config, clock.clone(), Outbox::default()).expect("valid config");
        Harness {
            node,
            clock,
            next_id: 0,
            events: Vec::new(),
        }
    }

    /// Sends a request and returns its immediate reply; panics if it was parked.
    pub(super) fn call(&mut self, request: Request) -> Reply {
        let id = self.send(request);
        self.node
            .net_mut()
            .take_reply(id)
            .expect("an immediate reply")
    }

    /// Sends a request and returns its id (for long-polls that may be parked).
    pub(super) fn send(&mut self, request: Request) -> RequestId {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.node.handle_request(id, request);
        self.drain_events();
        id
    }

    pub(super) fn reply_to(&mut self, id: RequestId) -> Option<Reply> {
        self.node.net_mut().take_reply(id)
    }

    /// Advances time by `by`, firing every deadline on the way at its exact instant.
    ///
    /// A node that asks to be woken again and again at the same instant without getting
    /// anywhere is spinning (a deadline it never clears): that fails the test here rather than
    /// hanging it.
    pub(super) fn advance(&mut self, by: Duration) {
        let target = self.clock.mono() + by;
        let mut wakeups_without_time_moving = 0;
        while let Some(deadline) = self.node.poll_timeout().filter(|d| *d <= target) {
            let step = deadline.saturating_since(self.clock.mono());
            wakeups_without_time_moving = if step.is_zero() {
                wakeups_without_time_moving + 1
            } else {
                0
            };
            assert!(
                wakeups_without_time_moving < 10_000,
                "the node asked to be woken at {deadline:?} 10,000 times without time moving"
            );
            self.clock.advance(step);
            // A clock that does not move would loop here for ever, not fail.
            assert_eq!(
                self.clock.mono(),
                deadline,
                "the clock did not reach {deadline:?}"
            );
            self.node.handle_timeout();
            self.drain_events();
        }
        let rest = target.saturating_since(self.clock.mono());
        self.clock.advance(rest);
    }

    /// The node does not run for `by` (its process paused): the clock moves on with no timer
    /// fired, then the driver reports the stall and the overdue timers fire.
    pub(super) fn pause(&mut self, by: Duration) {
        self.clock.advance(by);
        self.stall(by);
        self.node.handle_timeout();
        self.drain_events();
    }

    /// The driver reports that the node did not run for `stalled_for`.
    pub(super) fn stall(&mut self, stalled_for: Duration) {
        self.node.handle_stall(stalled_for);
        self.drain_events();
    }

    pub(super) fn drain_events(&mut self) {
        while let Some(event) = self.node.poll_event() {
            self.events.push(event);
        }
    }

    pub(super) fn register(&mut self, host: &str) -> Reply {
        self.call(Request::Register(register_args(host)))
    }

    pub(super) fn renew(&mut self, host: &str) -> Reply {
        self.call(Request::Renew(renew_args(host)))
    }

    pub(super) fn cancel(&mut self, host: &str) -> Reply {
        self.call(Request::Cancel(CancelArgs {
            key: key(host),
            replication: false,
            latest_timestamp: 0,
        }))
    }

    pub(super) fn fetch(&mut self, filter: StatusFilter) -> Reply {
        self.call(Request::Fetch(FetchArgs {
            zone: Default::default(),
            env: "dev".into(),
            appid: "app".into(),
            status: filter,
        }))
    }

    /// The hostnames a fetch of every status returns, sorted; empty on -404.
    pub(super) fn hosts(&mut self) -> Vec<String> {
        match self.fetch(StatusFilter::ALL).data {
            Data::App(info) => hostnames(&info),
            _ => Vec::new(),
        }
    }

    pub(super) fn stored(&self, host: &str) -> Option<Instance> {
        self.node.instance(&key(host)).cloned()
    }

    pub(super) fn cursor(&mut self) -> i64 {
        match self.fetch(StatusFilter::ALL).data {
            Data::App(info) => info.latest_timestamp,
            other => panic!("no cursor in {other:?}"),
        }
    }

    pub(super) fn polls(&mut self, apps: &[(&str, i64)]) -> RequestId {
        self.polls_as("poller", apps)
    }

    /// `polls` from the poller named `hostname`.
    pub(super) fn polls_as(&mut self, hostname: &str, apps: &[(&str, i64)]) -> RequestId {
        self.send(Request::Polls(PollsArgs {
            zone: Default::default(),
            env: "dev".into(),
            appids: apps.iter().map(|(a, _)| (*a).into()).collect(),
            hostname: hostname.into(),
            latest_timestamps: apps.iter().map(|(_, c)| *c).collect(),
        }))
    }
}

/// Registers `n` instances named h0..h{n-1}.
pub(super) fn populate(h: &mut Harness, n: usize) -> Vec<String> {
    let hosts: Vec<String> = (0..n).map(|i| format!("h{i}")).collect();
    hosts
        .iter()
        .for_each(|host| assert_code(&h.register(host), Code::Ok));
    hosts
}

/// Advances `total` in 30 s steps, renewing `renewing` at each step (each must still be known).
pub(super) fn run_renewing(h: &mut Harness, renewing: &[String], total: Duration) {
    let mut elapsed = Duration::ZERO;
    while elapsed < total {
        h.advance(Duration::from_secs(30));
        elapsed += Duration::from_secs(30);
        renewing
            .iter()
            .for_each(|host| assert_code(&h.renew(host), Code::Ok));
    }
}

pub(super) fn register_args(host: &str) -> RegisterArgs {
    RegisterArgs {
        key: key(host),
        region: "r1".into(),
        status: Status::Up,
        addrs: vec![format!("http://{host}:8000").into()],
        version: "v1".into(),
        metadata: Default::default(),
        replication: false,
        latest_timestamp: 0,
        dirty_timestamp: 0,
    }
}

pub(super) fn renew_args(host: &str) -> RenewArgs {
    RenewArgs {
        key: key(host),
        replication: false,
        dirty_timestamp: 0,
    }
}

pub(super) fn set_args(hosts: &[&str]) -> SetArgs {
    SetArgs {
        zone: "z1".into(),
        env: "dev".into(),
        appid: "app".into(),
        hostnames: hosts.iter().map(|h| (*h).into()).collect(),
        statuses: Vec::new(),
        metadata: Vec::new(),
        replication: false,
        set_timestamp: 0,
    }
}

pub(super) fn key(host: &str) -> InstanceKey {
    InstanceKey {
        env: "dev".into(),
        appid: "app".into(),
        zone: "z1".into(),
        hostname: host.into(),
    }
}

pub(super) fn hostnames(info: &InstanceInfo) -> Vec<String> {
    let mut hosts: Vec<String> = info
        .instances
        .values()
        .flatten()
        .map(|i| i.hostname.to_string())
        .collect();
    hosts.sort();
    hosts
}

pub(super) fn assert_code(reply: &Reply, code: Code) {
    assert_eq!(reply.code, code, "unexpected reply {reply:?}");
}

/// Acknowledges, as each of `peers`, every batch the node sent it, taking those batches out
/// of `sent`; the rest stays there.
pub(super) fn ack_from(h: &mut Harness, peers: &[&str]) {
    let sent = std::mem::take(&mut h.node.net_mut().sent);
    let (to_ack, rest): (Vec<_>, Vec<_>) = sent.into_iter().partition(|(addr, message)| {
        peers.contains(&addr.as_str()) && matches!(message, PeerMessage::Replicate { .. })
    });
    h.node.net_mut().sent = rest;
    for (addr, message) in to_ack {
        if let PeerMessage::Replicate { batch, ops, .. } = message {
            let ack = PeerMessage::ReplicateAck {
                batch,
                results: ops.iter().map(|_| OpResult::Ok).collect(),
                sent_at: 0,
            };
            h.node.handle_peer_message(&addr, &ack);
        }
    }
}
