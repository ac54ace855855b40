//! The world: production nodes on simulated clocks and a simulated network, driven by one
//! event queue in virtual time.
//!
//! Each [`World::step`] pops the earliest event, moves virtual time to it, hands it to the node
//! (or client) it is for, then drains what the node said (replies, peer messages, decisions)
//! into the queue and the trace. Nodes are woken exactly at their [`Node::poll_timeout`].
//!
//! Client traffic goes through the network model's partitions and loss but is never duplicated:
//! it stands for HTTP over TCP, where a copy of a request is the client's own retry. Peer
//! messages get every verdict, duplicates included.

mod describe;
mod event;

use std::collections::BTreeMap;
use std::rc::Rc;

use registry::api::{Reply, Request};
use registry::core::{Config, ConfigError, Identity, Node, Outbox, PeerMessage, RequestId};

use crate::clock::{SharedTime, SimClock};
use crate::net::{Endpoint, NetConfig, NetModel, Verdict};
use crate::queue::EventQueue;
use crate::rng::Seeds;
use crate::time::SimTime;
use crate::trace::{Trace, TraceEvent, Undelivered};

pub use event::WorldEvent;

/// A production node as the world runs it.
pub type SimNode = Node<Rc<SimClock>, Outbox>;

/// The port every simulated node listens on.
pub const NODE_PORT: u16 = 7171;

/// The shape of a world.
#[derive(Clone, Debug, PartialEq)]
pub struct WorldConfig {
    /// Number of registry nodes.
    pub nodes: usize,
    /// Number of zones; node `i` is in zone `i % zones`.
    pub zones: usize,
    /// The network model's configuration.
    pub net: NetConfig,
}

impl Default for WorldConfig {
    /// Three nodes in one zone on a quiet network.
    fn default() -> WorldConfig {
        WorldConfig {
            nodes: 3,
            zones: 1,
            net: NetConfig::default(),
        }
    }
}

/// The simulated cluster and everything around it.
#[derive(Debug)]
pub struct World {
    seeds: Seeds,
    time: SharedTime,
    clocks: Vec<Rc<SimClock>>,
    nodes: Vec<SimNode>,
    addrs: BTreeMap<String, usize>,
    queue: EventQueue<WorldEvent>,
    net: NetModel,
    trace: Trace,
    /// Each node's currently scheduled wake-up; older `NodeTimer` events are stale.
    timer_deadlines: Vec<Option<SimTime>>,
    /// Requests a node holds, and who asked.
    in_flight: BTreeMap<RequestId, usize>,
    replies: BTreeMap<RequestId, Reply>,
    next_request: u64,
}

impl World {
    /// A world of `config.nodes` fresh nodes whose every random choice derives from `seed`.
    pub fn new(seed: u64, config: &WorldConfig) -> Result<World, ConfigError> {
        let seeds = Seeds::new(seed);
        let time = SharedTime::new();
        let mut world = World {
            seeds,
            time: time.clone(),
            clocks: Vec::new(),
            nodes: Vec::new(),
            addrs: BTreeMap::new(),
            queue: EventQueue::new(),
            net: NetModel::new(config.net.clone(), seeds.network()),
            trace: Trace::new(),
            timer_deadlines: vec![None; config.nodes],
            in_flight: BTreeMap::new(),
            replies: BTreeMap::new(),
            next_request: 1,
        };
        for index in 0..config.nodes {
            let node_config = node_config(&seeds, index, config.zones.max(1));
            world.addrs.insert(node_config.identity.addr.clone(), index);
            let clock = Rc::new(SimClock::new(time.clone()));
            world.clocks.push(Rc::clone(&clock));
            world
                .nodes
                .push(Node::new(node_config, clock, Outbox::default())?);
            world.schedule_timer(index);
        }
        Ok(world)
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.time.now()
    }

    /// The seeds of this run.
    pub fn seeds(&self) -> &Seeds {
        &self.seeds
    }

    /// The nodes, by index.
    pub fn nodes(&self) -> &[SimNode] {
        &self.nodes
    }

    /// Node `index`'s clock (to skew, drift or jump it).
    pub fn clock(&self, index: usize) -> &SimClock {
        &self.clocks[index]
    }

    /// The network model (to partition or heal).
    pub fn net_mut(&mut self) -> &mut NetModel {
        &mut self.net
    }

    /// Everything that happened so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Records `event` now (faults and phase changes come from outside the world).
    pub fn record(&mut self, event: TraceEvent) {
        self.trace.record(self.now(), event);
    }

    /// Schedules `client` to send `request` to `node` at `at` (not before now); returns the id
    /// its reply will carry.
    pub fn send_request(
        &mut self,
        at: SimTime,
        client: usize,
        node: usize,
        request: Request,
    ) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        let event = WorldEvent::ClientSends {
            client,
            node,
            id,
            request,
        };
        self.queue.push(at.max(self.now()), event);
        id
    }

    /// Removes and returns the reply a client received for `id`, if it arrived.
    pub fn take_reply(&mut self, id: RequestId) -> Option<Reply> {
        self.replies.remove(&id)
    }

    /// Runs the earliest event; returns its time, or `None` when nothing is pending.
    pub fn step(&mut self) -> Option<SimTime> {
        let (at, event) = self.queue.pop()?;
        self.time.advance_to(at);
        match event {
            WorldEvent::ClientSends {
                client,
                node,
                id,
                request,
            } => self.client_sends(client, node, id, request),
            WorldEvent::RequestArrives {
                client,
                node,
                id,
                request,
            } => {
                self.record(TraceEvent::Request {
                    client,
                    node,
                    id: id.0,
                    what: describe::request(&request),
                });
                self.in_flight.insert(id, client);
                self.nodes[node].handle_request(id, request);
                self.drain(node);
            }
            WorldEvent::ReplyArrives {
                node,
                client,
                id,
                reply,
            } => {
                self.record(TraceEvent::Delivered {
                    from: Endpoint::Node(node),
                    to: Endpoint::Client(client),
                    what: format!("reply #{} {}", id.0, describe::reply(&reply)),
                });
                self.replies.insert(id, reply);
            }
            WorldEvent::PeerArrives { from, to, message } => {
                self.record(TraceEvent::Delivered {
                    from: Endpoint::Node(from),
                    to: Endpoint::Node(to),
                    what: format!("{message:?}"),
                });
                let from_addr = self.nodes[from].config().identity.addr.clone();
                self.nodes[to].handle_peer_message(&from_addr, message);
                self.drain(to);
            }
            WorldEvent::NodeTimer { node, at } => self.timer_fires(node, at),
        }
        Some(at)
    }

    /// Runs every event due up to and including `until`, then moves time to `until`.
    pub fn run_until(&mut self, until: SimTime) {
        while self.queue.peek_time().is_some_and(|at| at <= until) {
            self.step();
        }
        if until > self.now() {
            self.time.advance_to(until);
        }
    }

    fn client_sends(&mut self, client: usize, node: usize, id: RequestId, request: Request) {
        let (from, to) = (Endpoint::Client(client), Endpoint::Node(node));
        // Only the first verdict counts: client traffic is never duplicated (see module docs).
        match self.net.route(from, to)[0] {
            Verdict::Deliver { after } => {
                let event = WorldEvent::RequestArrives {
                    client,
                    node,
                    id,
                    request,
                };
                self.queue.push(self.now() + after, event);
            }
            Verdict::Drop { reason } => self.record(TraceEvent::Dropped {
                from,
                to: Some(to),
                what: format!("request #{} {}", id.0, describe::request(&request)),
                reason: Undelivered::Net(reason),
            }),
        }
    }

    fn timer_fires(&mut self, node: usize, at: SimTime) {
        if self.timer_deadlines[node] != Some(at) {
            return; // Stale: the node moved its deadline after this was scheduled.
        }
        self.timer_deadlines[node] = None;
        self.record(TraceEvent::TimerFired { node });
        self.nodes[node].handle_timeout();
        self.drain(node);
    }

    /// Moves everything node `index` said into the trace and the queue, then re-arms its timer.
    fn drain(&mut self, index: usize) {
        while let Some(event) = self.nodes[index].poll_event() {
            self.record(TraceEvent::Node { node: index, event });
        }
        let outbox = self.nodes[index].net_mut();
        let replies = std::mem::take(&mut outbox.replies);
        let sent = std::mem::take(&mut outbox.sent);
        for (id, reply) in replies {
            self.route_reply(index, id, reply);
        }
        for (addr, message) in sent {
            self.route_peer(index, &addr, message);
        }
        self.schedule_timer(index);
    }

    fn route_reply(&mut self, node: usize, id: RequestId, reply: Reply) {
        // The node contract: each request is answered exactly once.
        let Some(client) = self.in_flight.remove(&id) else {
            panic!("node {node} answered request #{} it does not hold", id.0);
        };
        let what = format!("reply #{} {}", id.0, describe::reply(&reply));
        self.record(TraceEvent::Reply {
            node,
            client,
            id: id.0,
            what: describe::reply(&reply),
        });
        let (from, to) = (Endpoint::Node(node), Endpoint::Client(client));
        match self.net.route(from, to)[0] {
            Verdict::Deliver { after } => {
                let event = WorldEvent::ReplyArrives {
                    node,
                    client,
                    id,
                    reply,
                };
                self.queue.push(self.now() + after, event);
            }
            Verdict::Drop { reason } => self.record(TraceEvent::Dropped {
                from,
                to: Some(to),
                what,
                reason: Undelivered::Net(reason),
            }),
        }
    }

    fn route_peer(&mut self, from: usize, addr: &str, message: PeerMessage) {
        let what = format!("{message:?}");
        let Some(&to) = self.addrs.get(addr) else {
            self.record(TraceEvent::Dropped {
                from: Endpoint::Node(from),
                to: None,
                what: format!("to {addr}: {what}"),
                reason: Undelivered::UnknownAddr,
            });
            return;
        };
        let (source, target) = (Endpoint::Node(from), Endpoint::Node(to));
        self.record(TraceEvent::Sent {
            from: source,
            to: target,
            what: what.clone(),
        });
        let mut arrivals = Vec::new();
        for verdict in self.net.route(source, target) {
            match verdict {
                Verdict::Deliver { after } => arrivals.push(self.now() + after),
                Verdict::Drop { reason } => self.record(TraceEvent::Dropped {
                    from: source,
                    to: Some(target),
                    what: what.clone(),
                    reason: Undelivered::Net(reason),
                }),
            }
        }
        for (at, message) in copies(message, arrivals) {
            self.queue
                .push(at, WorldEvent::PeerArrives { from, to, message });
        }
    }

    /// Queues a wake-up at the node's deadline unless one is already queued for it.
    fn schedule_timer(&mut self, index: usize) {
        let deadline = self.nodes[index]
            .poll_timeout()
            .map(|mono| SimTime::from_mono(mono).max(self.now()));
        if deadline == self.timer_deadlines[index] {
            return;
        }
        self.timer_deadlines[index] = deadline;
        if let Some(at) = deadline {
            self.queue
                .push(at, WorldEvent::NodeTimer { node: index, at });
        }
    }
}

/// One copy of `message` per arrival time.
///
/// Generic on purpose: while `PeerMessage` has no variants, cloning one in place is flagged as
/// unreachable code; here the compiler cannot know.
fn copies<M: Clone>(message: M, arrivals: Vec<SimTime>) -> Vec<(SimTime, M)> {
    arrivals
        .into_iter()
        .map(|at| (at, message.clone()))
        .collect()
}

/// Node `index`'s configuration: the reference defaults, its own seed and identity.
fn node_config(seeds: &Seeds, index: usize, zones: usize) -> Config {
    Config {
        seed: seeds.node(index),
        identity: Identity {
            hostname: format!("node{index}"),
            addr: format!("node{index}:{NODE_PORT}"),
            zone: format!("zone{}", index % zones),
            env: "sim".to_string(),
            region: "sim".to_string(),
        },
        ..Config::default()
    }
}

#[cfg(test)]
mod tests;
