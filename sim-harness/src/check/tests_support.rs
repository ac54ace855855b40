//! A small builder of synthetic runs (trace and snapshot) for the checkers' tests.

use std::time::Duration;

use registry::api::{
    Code, Data, Instance, InstanceInfo, InstanceKey, PeerMessage, PollArgs, RegisterArgs,
    RenewArgs, ReplicatedOp, Reply, Request, Status, Tombstone, Version,
};
use registry::core::NodeEvent;

use super::{CheckInput, Checker, NodeSnapshot, Rules, Violation};
use crate::fault::Fault;
pub(super) use crate::id::ClientId;
use crate::time::SimTime;
use crate::trace::{ClientEvent, Phase, Trace, TraceEvent};

/// The app every test instance belongs to.
pub(super) const APP: &str = "demo.app";
/// The version a node gives client 0's cancels in these runs.
pub(super) const CANCEL_STAMP: i64 = 9;

/// A synthetic run: every node up and in the core, empty registries, full membership.
#[derive(Clone, Debug)]
pub(super) struct Run {
    pub(super) trace: Trace,
    pub(super) now: SimTime,
    pub(super) core: Vec<usize>,
    pub(super) snapshot: Vec<NodeSnapshot>,
    pub(super) liveness_start: SimTime,
    pub(super) deadline: SimTime,
    /// Whether client 0 reads back its writes (`Wrote::reads_back` of [`Run::write`]).
    pub(super) reads_back: bool,
    /// Whether client 0's registers carry its own stamp (a Eureka client's
    /// `lastDirtyTimestamp`): each written instance's `dirty_timestamp`.
    pub(super) stamps_writes: bool,
    next_id: u64,
}

impl Run {
    pub(super) fn new(nodes: usize) -> Run {
        let mut trace = Trace::new();
        trace.record(SimTime::ZERO, TraceEvent::Phase(Phase::Safety));
        Run {
            trace,
            now: SimTime::ZERO,
            core: (0..nodes).collect(),
            snapshot: (0..nodes)
                .map(|n| NodeSnapshot {
                    zone: "z".into(),
                    up: true,
                    ready: true,
                    protected: false,
                    registry: Default::default(),
                    peers_up: (0..nodes).filter(|p| *p != n).collect(),
                })
                .collect(),
            liveness_start: SimTime::MAX,
            deadline: SimTime::from_secs(10_000),
            reads_back: true,
            stamps_writes: false,
            next_id: 1,
        }
    }

    /// Moves the clock to `secs` seconds.
    pub(super) fn at(&mut self, secs: u64) -> &mut Run {
        self.now = SimTime::from_secs(secs);
        self
    }

    pub(super) fn event(&mut self, event: TraceEvent) -> &mut Run {
        self.trace.record(self.now, event);
        self
    }

    pub(super) fn node(&mut self, node: usize, event: NodeEvent) -> &mut Run {
        self.event(TraceEvent::Node { node, event })
    }

    pub(super) fn client(&mut self, event: ClientEvent) -> &mut Run {
        self.event(TraceEvent::Client(event))
    }

    pub(super) fn fault(&mut self, fault: Fault) -> &mut Run {
        self.event(TraceEvent::Fault(fault))
    }

    /// A crash and a restart of `node` now.
    pub(super) fn bounce(&mut self, node: usize) -> &mut Run {
        self.fault(Fault::Crash { node })
            .fault(Fault::Restart { node })
    }

    pub(super) fn liveness(&mut self) -> &mut Run {
        self.liveness_start = self.now;
        let core = self.core.clone();
        self.event(TraceEvent::Phase(Phase::Liveness {
            core,
            deadline: SimTime::from_secs(10_000),
        }))
    }

    /// `request` from `client` arrives at `node`; returns its id.
    pub(super) fn request(&mut self, client: ClientId, node: usize, request: Request) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.event(TraceEvent::Request {
            client,
            node,
            id,
            request: Box::new(request),
        });
        id
    }

    /// Client 0's write request `id` (ids are the client's send order) reaches `node`, which
    /// answers it 0; `acked` says whether the answer reached the client (its `Wrote` record).
    pub(super) fn write(
        &mut self,
        id: u64,
        node: usize,
        instance: &Instance,
        acked: bool,
    ) -> &mut Run {
        let mut request = register(instance);
        if let Request::Register(args) = &mut request {
            if self.stamps_writes {
                args.dirty_timestamp = instance.dirty_timestamp;
            }
        }
        self.event(TraceEvent::Request {
            client: client(0),
            node,
            id,
            request: Box::new(request),
        });
        self.reply(node, client(0), id, ok());
        self.event(TraceEvent::Stamped {
            node,
            id,
            key: InstanceKey::of(instance),
            dirty_timestamp: instance.dirty_timestamp,
        });
        if acked {
            self.client(ClientEvent::Wrote {
                client: client(0),
                node,
                request: id,
                instance: Box::new(instance.clone()),
                reads_back: self.reads_back,
            });
        }
        self
    }

    /// Client 0's cancel of `host` (request `id`) reaches `node`, which answers it 0 (stamping
    /// it [`CANCEL_STAMP`]), and the answer reaches the client.
    pub(super) fn cancel(&mut self, id: u64, node: usize, host: &str) -> &mut Run {
        self.cancel_answered(id, node, host, Code::Ok)
    }

    /// [`Run::cancel`] answered `answer`: -404 from a node that had not heard of the instance
    /// (it keeps the tombstone all the same, and the client counts the instance as gone).
    pub(super) fn cancel_answered(
        &mut self,
        id: u64,
        node: usize,
        host: &str,
        answer: Code,
    ) -> &mut Run {
        self.event(TraceEvent::Request {
            client: client(0),
            node,
            id,
            request: Box::new(cancel(host)),
        });
        self.reply(node, client(0), id, code(answer));
        self.event(TraceEvent::Stamped {
            node,
            id,
            key: key(host),
            dirty_timestamp: CANCEL_STAMP,
        });
        self.client(ClientEvent::Cancelled {
            client: client(0),
            node,
            request: id,
            key: key(host),
        })
    }

    /// A replicated batch of the one `op` from `from` reaches `to`.
    fn replicated(&mut self, from: usize, to: usize, op: ReplicatedOp) -> &mut Run {
        self.event(TraceEvent::PeerDelivered {
            from,
            to,
            message: PeerMessage::Replicate {
                batch: 1,
                forward: false,
                ops: vec![op.into()],
                sent_at: 0,
            },
        })
    }

    /// A replicated cancel of `host` from `from` reaches `to`.
    pub(super) fn replicated_cancel(&mut self, from: usize, to: usize, host: &str) -> &mut Run {
        let key = key(host);
        self.replicated(
            from,
            to,
            ReplicatedOp::Write(Version::Tombstone(Tombstone {
                key,
                dirty_timestamp: CANCEL_STAMP,
            })),
        )
    }

    /// Swarm seed 568's shape: client 0 registered "a" through node 0 (copied to node 1) and
    /// cancelled it through node 1, which crashed; node 0 holds "a", protected or not. With
    /// `told`, the cancel reached node 0 before the crash.
    pub(super) fn cancel_taken_by_a_node_that_crashed(told: bool, protected: bool) -> Run {
        let mut run = Run::new(2);
        run.write(1, 0, &instance("a"), true)
            .put(0, 1, &instance("a"))
            .cancel(2, 1, "a");
        if told {
            run.replicated_cancel(1, 0, "a");
        }
        run.fault(Fault::Crash { node: 1 }).hold(0, &instance("a"));
        run.snapshot[1].up = false;
        run.snapshot[0].protected = protected;
        run
    }

    /// A replicated copy of `instance` from `from` reaches `to`.
    pub(super) fn put(&mut self, from: usize, to: usize, instance: &Instance) -> &mut Run {
        let instance = Box::new(instance.clone());
        self.replicated(from, to, ReplicatedOp::Write(Version::Put(instance)))
    }

    /// `node` answers request `id` of `client`.
    pub(super) fn reply(
        &mut self,
        node: usize,
        client: ClientId,
        id: u64,
        reply: Reply,
    ) -> &mut Run {
        self.event(TraceEvent::Reply {
            node,
            client,
            id,
            reply: reply.into(),
        })
    }

    /// A poll of `APP` from `client` at `node`, answered at once with `hosts` UP.
    pub(super) fn served_poll(
        &mut self,
        client: ClientId,
        node: usize,
        hosts: &[&str],
    ) -> &mut Run {
        let id = self.request(client, node, poll());
        self.reply(node, client, id, app_reply(hosts))
    }

    /// `from` acknowledges batch 1 of `to` with `results`.
    pub(super) fn replicate_ack(
        &mut self,
        from: usize,
        to: usize,
        results: &[registry::api::OpResult],
    ) -> &mut Run {
        self.event(TraceEvent::PeerDelivered {
            from,
            to,
            message: PeerMessage::ReplicateAck {
                batch: 1,
                results: results.to_vec(),
                sent_at: 0,
            },
        })
    }

    /// A replicated batch of renews of `keys` from `from` arrives at `to`.
    pub(super) fn replicated_renews(
        &mut self,
        from: usize,
        to: usize,
        keys: &[InstanceKey],
    ) -> &mut Run {
        let ops = keys
            .iter()
            .map(|key| {
                ReplicatedOp::Renew {
                    key: key.clone(),
                    dirty_timestamp: 1,
                }
                .into()
            })
            .collect();
        self.event(TraceEvent::PeerDelivered {
            from,
            to,
            message: PeerMessage::Replicate {
                batch: 1,
                forward: false,
                ops,
                sent_at: 0,
            },
        })
    }

    /// `node` holds `instance` at the deadline.
    pub(super) fn hold(&mut self, node: usize, instance: &Instance) -> &mut Run {
        if let Some(snapshot) = self.snapshot.get_mut(node) {
            snapshot
                .registry
                .insert(InstanceKey::of(instance), instance.clone());
        }
        self
    }

    pub(super) fn input(&self) -> CheckInput<'_> {
        CheckInput {
            trace: &self.trace,
            rules: rules(),
            nodes: self.snapshot.len(),
            core: self.core.clone(),
            liveness_start: self.liveness_start,
            deadline: self.deadline,
            snapshot: self.snapshot.clone(),
        }
    }

    pub(super) fn check(&self, checker: &dyn Checker) -> Vec<Violation> {
        checker.check(&self.input())
    }
}

/// The default node rules: 90 s lease, 1 h protected, 60 s window, 85 %, keep 85 %.
/// Swarm seed 84's shape: client 0's red taken by node 0, then its blue (stamped below red) by
/// node 1, which had been handed red only if `node_1_had_red`; red ends on both nodes. The
/// client reads back its writes if `reads_back`.
pub(super) fn red_overtakes_blue(reads_back: bool, node_1_had_red: bool) -> Run {
    let (red, blue) = (colored("a", "red", 10), colored("a", "blue", 5));
    let mut run = Run::new(2);
    run.reads_back = reads_back;
    run.write(1, 0, &red, true);
    if node_1_had_red {
        run.put(0, 1, &red);
    }
    run.write(2, 1, &blue, true);
    run.put(0, 1, &red).hold(0, &red).hold(1, &red);
    run
}

pub(super) fn rules() -> Rules {
    Rules {
        evict_after: Duration::from_secs(90),
        protected_evict_after: Duration::from_secs(3600),
        renew_window: Duration::from_secs(60),
        threshold_percent: 85,
        eviction_keep_percent: 85,
    }
}

/// An UP instance of `APP` on `host`, version 1 at dirty timestamp 1.
pub(super) fn instance(host: &str) -> Instance {
    Instance {
        region: "sim".into(),
        zone: "zone0".into(),
        env: "sim".into(),
        appid: APP.into(),
        hostname: host.into(),
        addrs: vec![format!("http://{host}:8080").into()].into(),
        version: "v1".into(),
        metadata: Default::default(),
        status: Status::Up,
        reg_timestamp: 1,
        up_timestamp: 1,
        renew_timestamp: 1,
        dirty_timestamp: 1,
        latest_timestamp: 1,
    }
}

/// `instance(host)` with metadata `color = value` at dirty timestamp `dirty`.
pub(super) fn colored(host: &str, value: &str, dirty: i64) -> Instance {
    let mut i = instance(host);
    i.metadata.insert("color", value);
    i.dirty_timestamp = dirty;
    i
}

pub(super) fn key(host: &str) -> InstanceKey {
    InstanceKey::of(&instance(host))
}

pub(super) fn register(instance: &Instance) -> Request {
    Request::Register(RegisterArgs {
        key: InstanceKey {
            zone: instance.zone.clone(),
            env: instance.env.clone(),
            appid: instance.appid.clone(),
            hostname: instance.hostname.clone(),
        },
        region: instance.region.clone(),
        status: instance.status,
        addrs: instance.addrs.to_vec(),
        version: instance.version.clone(),
        metadata: instance.metadata.clone(),
        replication: false,
        latest_timestamp: 0,
        dirty_timestamp: 0,
    })
}

pub(super) fn set_status(host: &str) -> Request {
    Request::Set(registry::api::SetArgs {
        zone: "zone0".into(),
        env: "sim".into(),
        appid: APP.into(),
        hostnames: vec![host.into()],
        statuses: vec![registry::api::Status::Up],
        metadata: vec![],
        replication: false,
        set_timestamp: 0,
    })
}

pub(super) fn cancel(host: &str) -> Request {
    Request::Cancel(registry::api::CancelArgs {
        key: InstanceKey {
            zone: "zone0".into(),
            env: "sim".into(),
            appid: APP.into(),
            hostname: host.into(),
        },
        replication: false,
        latest_timestamp: 0,
    })
}

pub(super) fn renew(host: &str) -> Request {
    Request::Renew(RenewArgs {
        key: InstanceKey {
            zone: "zone0".into(),
            env: "sim".into(),
            appid: APP.into(),
            hostname: host.into(),
        },
        replication: false,
        dirty_timestamp: 0,
    })
}

pub(super) fn poll() -> Request {
    Request::Poll(PollArgs {
        zone: "zone0".into(),
        env: "sim".into(),
        appid: APP.into(),
        hostname: "poller".into(),
        latest_timestamp: 0,
    })
}

/// A code-0 fetch/poll answer listing `hosts` of `APP`, all UP.
pub(super) fn app_reply(hosts: &[&str]) -> Reply {
    let mut info = InstanceInfo::default();
    info.instances
        .insert("zone0".into(), hosts.iter().map(|h| instance(h)).collect());
    Reply::ok(Data::App(info.into()))
}

pub(super) fn code(code: Code) -> Reply {
    Reply::code(code)
}

/// Instance client `index`.
pub(super) fn client(index: usize) -> ClientId {
    ClientId::Instance(index)
}

/// Poller `index`.
pub(super) fn poller(index: usize) -> ClientId {
    ClientId::Poller(index)
}

pub(super) fn wrote(client: usize, instance: &Instance) -> ClientEvent {
    ClientEvent::Wrote {
        client: ClientId::Instance(client),
        node: 0,
        request: 0,
        instance: Box::new(instance.clone()),
        reads_back: true,
    }
}

pub(super) fn viewed(poller: usize, node: usize, hosts: &[&str]) -> ClientEvent {
    ClientEvent::Viewed {
        poller,
        node,
        appid: APP.into(),
        hosts: hosts.iter().map(|h| (*h).into()).collect(),
    }
}

/// Asserts exactly one violation, by `checker`, at `node` about `instance`.
pub(super) fn assert_one(
    found: &[Violation],
    checker: &str,
    node: Option<usize>,
    instance: Option<&InstanceKey>,
) {
    assert_eq!(found.len(), 1, "expected one violation, got {found:#?}");
    assert_eq!(found[0].checker, checker);
    assert_eq!(found[0].node, node, "{}", found[0]);
    assert_eq!(found[0].instance.as_ref(), instance, "{}", found[0]);
    assert!(!found[0].explanation.is_empty());
}

/// A bare success reply.
pub(super) fn ok() -> Reply {
    Reply::ok(registry::api::Data::None)
}
