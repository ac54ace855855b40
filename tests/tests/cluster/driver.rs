//! A tiny deterministic cluster driver: every node on its own manual clock (so clocks can be
//! skewed), messages delivered instantly unless a filter drops or holds them.

use std::rc::Rc;
use std::time::Duration;

use registry::api::{Code, Data, Instance, PeerMessage, RegisterArgs, Reply, Request, Status};
use registry::core::{Clock, Config, InstanceKey, ManualClock, Mono, Node, Outbox, RequestId};

pub(crate) const START_WALL: i64 = 1_700_000_000_000_000_000;

pub(crate) type SimNode = Node<Rc<ManualClock>, Outbox>;

/// A message in flight between two nodes.
#[derive(Clone, Debug)]
pub(crate) struct Envelope {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) message: PeerMessage,
}

/// What to do with one message.
pub(crate) enum Verdict {
    Deliver,
    Drop,
    Hold,
}

pub(crate) struct Cluster {
    pub(crate) nodes: Vec<Option<SimNode>>,
    pub(crate) clocks: Vec<Rc<ManualClock>>,
    pub(crate) configs: Vec<Config>,
    pub(crate) held: Vec<Envelope>,
    pub(crate) filter: Box<dyn FnMut(&Envelope) -> Verdict>,
    pub(crate) delivered: Vec<Envelope>,
    next_id: u64,
}

pub(crate) fn addr(i: usize) -> String {
    format!("node{i}:7171")
}

pub(crate) fn config(i: usize, zone: &str, seeds: &[usize]) -> Config {
    let mut config = Config {
        seed: i as u64,
        ..Config::default()
    };
    config.identity.hostname = format!("node{i}").into();
    config.identity.addr = addr(i).into();
    config.identity.zone = zone.into();
    config.cluster.seeds = seeds.iter().map(|s| addr(*s)).collect();
    config
}

impl Cluster {
    /// `n` nodes of one zone, each seeded with all of them; advanced until all are ready.
    pub(crate) fn new(n: usize) -> Cluster {
        let all: Vec<usize> = (0..n).collect();
        Cluster::with_configs((0..n).map(|i| config(i, "z1", &all)).collect())
    }

    pub(crate) fn with_configs(configs: Vec<Config>) -> Cluster {
        let mut cluster = Cluster {
            nodes: Vec::new(),
            clocks: Vec::new(),
            configs: Vec::new(),
            held: Vec::new(),
            filter: Box::new(|_| Verdict::Deliver),
            delivered: Vec::new(),
            next_id: 0,
        };
        for config in configs {
            cluster.add(config);
        }
        // What the nodes sent as they started (sync requests, their own registration) is
        // delivered now, as after any other step, not only once the first timer fires: by then
        // a node may have asked its peers again.
        cluster.deliver_all();
        cluster.run_for(Duration::from_secs(20));
        cluster
    }

    pub(crate) fn add(&mut self, config: Config) -> usize {
        let clock = Rc::new(ManualClock::new(START_WALL));
        if let Some(first) = self.clocks.first() {
            clock.advance(first.mono().saturating_since(Mono::ZERO));
        }
        let node =
            Node::new(config.clone(), clock.clone(), Outbox::default()).expect("valid config");
        self.nodes.push(Some(node));
        self.clocks.push(clock);
        self.configs.push(config);
        self.nodes.len() - 1
    }

    pub(crate) fn node(&self, i: usize) -> &SimNode {
        self.nodes[i].as_ref().expect("node is up")
    }

    pub(crate) fn node_mut(&mut self, i: usize) -> &mut SimNode {
        self.nodes[i].as_mut().expect("node is up")
    }

    /// Crashes node `i` (all state lost) and starts it again empty.
    pub(crate) fn restart(&mut self, i: usize) {
        let node = Node::new(
            self.configs[i].clone(),
            self.clocks[i].clone(),
            Outbox::default(),
        )
        .expect("config");
        self.nodes[i] = Some(node);
    }

    pub(crate) fn stop(&mut self, i: usize) {
        self.nodes[i] = None;
    }

    /// Sends a client request to node `i` and returns the immediate reply.
    pub(crate) fn call(&mut self, i: usize, request: Request) -> Reply {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.node_mut(i).handle_request(id, request);
        let reply = self
            .node_mut(i)
            .net_mut()
            .take_reply(id)
            .expect("an immediate reply");
        self.deliver_all();
        reply
    }

    /// Delivers messages until none are left (held ones stay held).
    pub(crate) fn deliver_all(&mut self) {
        for _ in 0..10_000 {
            let mut outgoing = Vec::new();
            for (i, node) in self.nodes.iter_mut().enumerate() {
                if let Some(node) = node {
                    for (to, message) in node.net_mut().sent.drain(..) {
                        outgoing.push(Envelope {
                            from: addr(i),
                            to: to.to_string(),
                            message,
                        });
                    }
                    node.net_mut().replies.clear();
                }
            }
            if outgoing.is_empty() {
                return;
            }
            for envelope in outgoing {
                match (self.filter)(&envelope) {
                    Verdict::Deliver => self.deliver(envelope),
                    Verdict::Drop => {}
                    Verdict::Hold => self.held.push(envelope),
                }
            }
        }
        panic!("messages never quiesced");
    }

    pub(crate) fn deliver(&mut self, envelope: Envelope) {
        let target = (0..self.nodes.len()).find(|i| addr(*i) == envelope.to);
        if let Some(node) = target.and_then(|i| self.nodes[i].as_mut()) {
            node.handle_peer_message(&envelope.from, &envelope.message);
            self.delivered.push(envelope);
        }
    }

    /// Advances every clock together, firing each node's deadlines at their instants.
    pub(crate) fn run_for(&mut self, total: Duration) {
        let target = self.clocks[0].mono() + total;
        loop {
            let next = self
                .nodes
                .iter()
                .flatten()
                .filter_map(|n| n.poll_timeout())
                .min();
            let Some(next) = next.filter(|at| *at <= target) else {
                break;
            };
            let step = next.saturating_since(self.clocks[0].mono());
            self.clocks.iter().for_each(|c| c.advance(step));
            for node in self.nodes.iter_mut().flatten() {
                if node.poll_timeout().is_some_and(|at| at <= next) {
                    node.handle_timeout();
                }
            }
            self.deliver_all();
        }
        let rest = target.saturating_since(self.clocks[0].mono());
        self.clocks.iter().for_each(|c| c.advance(rest));
    }

    pub(crate) fn instance(&self, i: usize, host: &str) -> Option<Instance> {
        self.node(i).instance(&key(host)).cloned()
    }

    /// Whether every running node holds the same versions of everything.
    pub(crate) fn converged(&self) -> bool {
        let digests: Vec<_> = self.nodes.iter().flatten().map(|n| n.digests()).collect();
        digests.windows(2).all(|pair| pair[0] == pair[1])
    }
}

pub(crate) fn register(host: &str) -> Request {
    Request::Register(RegisterArgs {
        key: key(host),
        region: Default::default(),
        status: Status::Up,
        addrs: vec![format!("http://{host}:1").into()],
        version: "v1".into(),
        metadata: Default::default(),
        replication: false,
        latest_timestamp: 0,
        dirty_timestamp: 0,
    })
}

pub(crate) fn renew(host: &str) -> Request {
    Request::Renew(registry::api::RenewArgs {
        key: key(host),
        replication: false,
        dirty_timestamp: 0,
    })
}

pub(crate) fn set_status(host: &str, status: Status) -> Request {
    Request::Set(registry::api::SetArgs {
        zone: "z1".into(),
        env: "dev".into(),
        appid: "app".into(),
        hostnames: vec![host.into()],
        statuses: vec![status],
        metadata: vec![],
        replication: false,
        set_timestamp: 0,
    })
}

pub(crate) fn key(host: &str) -> InstanceKey {
    InstanceKey {
        env: "dev".into(),
        appid: "app".into(),
        zone: "z1".into(),
        hostname: host.into(),
    }
}

pub(crate) fn assert_ok(reply: &Reply) {
    assert_eq!(reply.code, Code::Ok, "{reply:?}");
}

pub(crate) fn is_replicate(envelope: &Envelope) -> bool {
    matches!(envelope.message, PeerMessage::Replicate { .. })
}

pub(crate) fn fetch_code(cluster: &mut Cluster, i: usize) -> Code {
    let reply = cluster.call(i, Request::FetchAll);
    assert!(matches!(reply.data, Data::All(_) | Data::None));
    reply.code
}
