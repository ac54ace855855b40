//! The world: production nodes on simulated clocks and a simulated network, driven by one
//! event queue in virtual time.
//!
//! Each [`World::step`] pops the earliest event, moves virtual time to it, hands it to the node
//! it is for, then drains what the node said (replies, peer messages, decisions) into the queue
//! and the trace. Nodes are woken exactly at their [`Node::poll_timeout`]. Events for clients
//! and for the world's driver come back out of `step` as an [`Output`].
//!
//! A node whose deadline moves back to an instant already queued for it reuses that event
//! rather than queuing another that could only come out stale (see `NodeTimers`).
//!
//! Client traffic goes through the network model's partitions and loss but is never duplicated:
//! it stands for HTTP over TCP, where a copy of a request is the client's own retry. Peer
//! messages get every verdict, duplicates included.

mod event;
mod in_flight;
mod lifecycle;
mod stats;

use registry::api::SmolStr;
use std::collections::BTreeMap;
use std::rc::Rc;

use registry::api::{Code, InstanceKey, Reply, Request};
use registry::core::{
    Config, ConfigError, Identity, Node, NodeStats, Outbox, PeerMessage, RequestId,
};

use crate::clock::{SharedTime, SimClock};
use crate::id::{ClientId, NodeId};
use crate::net::{Endpoint, NetConfig, NetModel, Verdict};
use crate::queue::EventQueue;
use crate::rng::Streams;
use crate::time::SimTime;
use crate::trace::{Trace, TraceEvent, Undelivered};
use crate::workload::Wake;

use in_flight::InFlight;

pub(crate) use event::WorldEvent;

/// A production node as the world runs it.
pub(crate) type SimNode = Node<Rc<SimClock>, Outbox>;

/// The port every simulated node listens on.
pub(crate) const NODE_PORT: u16 = 7171;

/// The environment every simulated node and client uses.
pub(crate) const ENV: &str = "sim";

/// The shape of a world.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WorldConfig {
    /// Number of registry nodes.
    pub nodes: usize,
    /// Number of zones; node `i` is in zone `i % zones`.
    pub zones: usize,
    /// The network model's configuration.
    pub net: NetConfig,
    /// The node configuration every node starts from (identity and seed are set per node).
    pub node: Config,
}

impl Default for WorldConfig {
    /// Three nodes in one zone on a quiet network.
    fn default() -> WorldConfig {
        WorldConfig {
            nodes: 3,
            zones: 1,
            net: NetConfig::default(),
            node: Config::default(),
        }
    }
}

/// What a step hands back to the world's driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// A reply reached a client.
    Reply {
        /// The client.
        client: ClientId,
        /// The request answered.
        id: RequestId,
        /// The reply (shared with the trace).
        reply: Rc<Reply>,
    },
    /// A client's wake-up is due.
    ClientWake {
        /// The client.
        client: ClientId,
        /// What it asked to be woken for.
        wake: Wake,
    },
    /// Something the driver scheduled is due.
    Scheduled {
        /// The driver's index.
        index: usize,
    },
}

/// A node's slot: running, paused with the events it has yet to see, or down.
#[derive(Debug)]
enum Slot {
    Up(Box<SimNode>),
    /// Paused since the given time, holding what reached it meanwhile.
    Paused(Box<SimNode>, SimTime, Vec<WorldEvent>),
    Down,
}

/// The simulated cluster and everything around it.
#[derive(Debug)]
pub(crate) struct World {
    streams: Streams,
    time: SharedTime,
    clocks: Vec<Rc<SimClock>>,
    slots: Vec<Slot>,
    configs: Vec<Config>,
    incarnations: Vec<u64>,
    /// Each node's index by its address; Fx-hashed (fixed, unseeded) and only looked up.
    addrs: rustc_hash::FxHashMap<SmolStr, usize>,
    queue: EventQueue<WorldEvent>,
    net: NetModel,
    trace: Trace,
    /// Each node's deadline and the timer events queued for it.
    timers: Vec<NodeTimers>,
    /// Requests a node holds: who asked, and which node holds it.
    in_flight: InFlight,
    next_request: u64,
    /// Counters of node incarnations that crashed (see `total_stats`).
    retired_stats: NodeStats,
    /// Spare buffers for draining a node (see `drain`).
    scratch: Drained,
}

/// A node's deadline and the `NodeTimer` events queued for it: a `NodeTimer` fires only if its
/// instant is still the deadline when it comes out.
#[derive(Debug, Default)]
struct NodeTimers {
    deadline: Option<SimTime>,
    /// The instants of the node's queued `NodeTimer`s, one event each. A deadline that moves
    /// away often comes back (a batch's timer fires before the next eviction round, which is
    /// then the deadline again): the event still queued for it serves. Another pushed for the
    /// same instant would come out behind it, stale, so the order of what fires is unchanged.
    queued: Vec<SimTime>,
}

/// What a node said in one step, in reusable buffers.
#[derive(Debug, Default)]
struct Drained {
    events: Vec<registry::core::NodeEvent>,
    replies: Vec<(RequestId, Reply)>,
    sent: Vec<(SmolStr, PeerMessage)>,
}

impl World {
    /// A world of `config.nodes` fresh nodes whose every random choice derives from `seed`.
    pub(crate) fn new(seed: u64, config: &WorldConfig) -> Result<World, ConfigError> {
        let streams = Streams::new(seed);
        let time = SharedTime::new();
        let zones = config.zones.clamp(1, config.nodes.max(1));
        let configs: Vec<Config> = (0..config.nodes)
            .map(|i| node_config(&config.node, &streams, i, config.nodes, zones))
            .collect();
        let mut world = World {
            streams,
            time: time.clone(),
            clocks: (0..config.nodes)
                .map(|_| Rc::new(SimClock::new(time.clone())))
                .collect(),
            slots: Vec::new(),
            addrs: configs
                .iter()
                .enumerate()
                .map(|(i, c)| (c.identity.addr.clone(), i))
                .collect(),
            configs,
            incarnations: vec![0; config.nodes],
            queue: EventQueue::new(),
            net: NetModel::new(config.net.clone(), streams.network()),
            trace: Trace::sized_for_a_run(),
            timers: (0..config.nodes).map(|_| NodeTimers::default()).collect(),
            in_flight: InFlight::default(),
            next_request: 1,
            retired_stats: NodeStats::default(),
            scratch: Drained::default(),
        };
        for index in 0..config.nodes {
            let node = Node::new(
                world.configs[index].clone(),
                Rc::clone(&world.clocks[index]),
                Outbox::default(),
            )?;
            world.slots.push(Slot::Up(Box::new(node)));
            world.drain(index);
        }
        Ok(world)
    }

    /// The current virtual time.
    pub(crate) fn now(&self) -> SimTime {
        self.time.now()
    }

    /// How many nodes the world has (up or not).
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Node `index`, unless it is down.
    pub(crate) fn node(&self, index: usize) -> Option<&SimNode> {
        match &self.slots[index] {
            Slot::Up(node) | Slot::Paused(node, _, _) => Some(node),
            Slot::Down => None,
        }
    }

    /// Whether node `index` is running (not down, not paused).
    pub(crate) fn is_running(&self, index: usize) -> bool {
        matches!(self.slots[index], Slot::Up(_))
    }

    /// The configuration node `index` runs with.
    #[cfg(test)]
    pub(crate) fn config(&self, index: usize) -> &Config {
        &self.configs[index]
    }

    /// The network model (to partition or heal).
    pub(crate) fn net_mut(&mut self) -> &mut NetModel {
        &mut self.net
    }

    /// Everything that happened so far.
    #[cfg(test)]
    pub(crate) fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Takes the trace out of the world (at the end of a run).
    pub(crate) fn take_trace(&mut self) -> Trace {
        self.trace.finished();
        std::mem::take(&mut self.trace)
    }

    /// Records `event` now.
    pub(crate) fn record(&mut self, event: TraceEvent) {
        self.trace.record(self.now(), event);
    }

    /// Moves virtual time forward to `at` without running anything (the end of a run).
    pub(crate) fn advance_to(&mut self, at: SimTime) {
        if at > self.now() {
            self.time.advance_to(at);
        }
    }

    /// The time of the next pending event.
    pub(crate) fn peek_time(&self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Has `client` send `request` to `node` at `at`: at once if `at` is not in the future (the
    /// network routes it now, with no event of its own), otherwise through a `ClientSends`
    /// event. Returns the id its reply will carry.
    pub(crate) fn send_request(
        &mut self,
        at: SimTime,
        client: ClientId,
        NodeId(node): NodeId,
        request: Request,
    ) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        if at <= self.now() {
            self.client_sends(client, node, id, Box::new(request));
            return id;
        }
        self.queue.push(
            at,
            WorldEvent::ClientSends {
                client,
                node,
                id,
                request: Box::new(request),
            },
        );
        id
    }

    /// Wakes `client` for `wake` at `at`.
    pub(crate) fn wake_client(&mut self, at: SimTime, client: ClientId, wake: Wake) {
        self.queue
            .push(at.max(self.now()), WorldEvent::ClientWake { client, wake });
    }

    /// Hands `index` back to the driver at `at`.
    pub(crate) fn schedule(&mut self, at: SimTime, index: usize) {
        self.queue
            .push(at.max(self.now()), WorldEvent::Scheduled { index });
    }

    /// Runs the earliest event; returns its time and what it means for the driver, or `None`
    /// when nothing is pending.
    pub(crate) fn step(&mut self) -> Option<(SimTime, Option<Output>)> {
        let (at, event) = self.queue.pop()?;
        self.time.advance_to(at);
        Some((at, self.handle(event)))
    }

    fn handle(&mut self, event: WorldEvent) -> Option<Output> {
        if let Some(node) = event.node() {
            match &mut self.slots[node] {
                Slot::Paused(_, _, held) => {
                    held.push(event);
                    return None;
                }
                Slot::Down => {
                    self.lost_to_down_node(event);
                    return None;
                }
                Slot::Up(_) => {}
            }
        }
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
                let copy = Request::clone(&request);
                let versioned = match *request {
                    Request::Register(_) | Request::Set(_) | Request::Cancel(_) => {
                        request.instance_keys()
                    }
                    _ => Vec::new(),
                };
                let cancel = matches!(*request, Request::Cancel(_));
                self.record(TraceEvent::Request {
                    client,
                    node,
                    id: id.0,
                    request,
                });
                let from = self.trace.len();
                self.in_flight.insert(id, client, node);
                self.with_node(node, |n| n.handle_request(id, copy));
                self.record_stamps(node, id, versioned, cancel, from);
            }
            WorldEvent::ReplyArrives { client, id, reply } => {
                return Some(Output::Reply { client, id, reply })
            }
            WorldEvent::PeerArrives { from, to, message } => {
                // The message moves into the trace and the node reads it there.
                self.record(TraceEvent::PeerDelivered { from, to, message });
                if let (Slot::Up(node), Some(TraceEvent::PeerDelivered { message, .. })) =
                    (&mut self.slots[to], self.trace.last_event())
                {
                    node.handle_peer_message(&self.configs[from].identity.addr, message);
                }
                self.drain(to);
            }
            WorldEvent::NodeTimer { node, at } => {
                let timers = &mut self.timers[node];
                timers.queued.retain(|queued| *queued != at);
                if timers.deadline == Some(at) {
                    timers.deadline = None;
                    self.record(TraceEvent::TimerFired { node });
                    self.with_node(node, |n| n.handle_timeout());
                }
            }
            WorldEvent::ClientWake { client, wake } => {
                return Some(Output::ClientWake { client, wake })
            }
            WorldEvent::Scheduled { index } => return Some(Output::Scheduled { index }),
        }
        None
    }

    /// Runs `f` on a running node, then drains what it said.
    fn with_node(&mut self, index: usize, f: impl FnOnce(&mut SimNode)) {
        if let Slot::Up(node) = &mut self.slots[index] {
            f(node);
            self.drain(index);
        }
    }

    /// Records the versions node `node` gave the instances `keys` of request `id`, if it
    /// applied it: answered 0, or -404 to a cancel (the node keeps the tombstone and
    /// replicates it, and clients count the instance as gone), among the trace entries from
    /// `from` on (a write is answered as it is applied, or held for a peer's acknowledgement).
    fn record_stamps(
        &mut self,
        node: usize,
        id: RequestId,
        keys: Vec<InstanceKey>,
        cancel: bool,
        from: usize,
    ) {
        // A write answered 0 was applied; so was one not answered yet (its answer waits for a
        // peer's acknowledgement: `durability = "peer"` holds only applied writes).
        let reply = self.trace.entries()[from..]
            .iter()
            .find_map(|(_, event)| match event {
                TraceEvent::Reply { id: i, reply, .. } if *i == id.0 => Some(reply.code),
                _ => None,
            });
        let applied =
            reply.is_none_or(|code| code == Code::Ok || cancel && code == Code::NothingFound);
        let Slot::Up(held) = &self.slots[node] else {
            return;
        };
        if !applied {
            return;
        }
        let stamps: Vec<(InstanceKey, i64)> = keys
            .into_iter()
            .filter_map(|key| {
                let stamp = if cancel {
                    held.tombstone(&key)
                } else {
                    held.instance(&key).map(|i| i.dirty_timestamp)
                };
                stamp.map(|stamp| (key, stamp))
            })
            .collect();
        for (key, dirty_timestamp) in stamps {
            self.record(TraceEvent::Stamped {
                node,
                id: id.0,
                key,
                dirty_timestamp,
            });
        }
    }

    fn lost_to_down_node(&mut self, event: WorldEvent) {
        let (from, to, what) = match event {
            WorldEvent::RequestArrives {
                client, node, id, ..
            } => (
                Endpoint::Client(client),
                Endpoint::Node(NodeId(node)),
                format!("request #{}", id.0),
            ),
            WorldEvent::PeerArrives { from, to, message } => (
                Endpoint::Node(NodeId(from)),
                Endpoint::Node(NodeId(to)),
                peer_kind(&message).to_string(),
            ),
            _ => return, // A down node's timers simply never fire.
        };
        self.record(TraceEvent::Dropped {
            from,
            to: Some(to),
            what,
            reason: Undelivered::DestinationDown,
        });
    }

    fn client_sends(
        &mut self,
        client: ClientId,
        node: usize,
        id: RequestId,
        request: Box<Request>,
    ) {
        let (from, to) = (Endpoint::Client(client), Endpoint::Node(NodeId(node)));
        // Only the first verdict counts: client traffic is never duplicated (see module docs).
        match self.net.route(from, to)[0] {
            Verdict::Deliver { after } => {
                self.queue.push(
                    self.now() + after,
                    WorldEvent::RequestArrives {
                        client,
                        node,
                        id,
                        request,
                    },
                );
            }
            Verdict::Drop { reason } => self.record(TraceEvent::Dropped {
                from,
                to: Some(to),
                what: format!("request #{}", id.0),
                reason: Undelivered::Net(reason),
            }),
        }
    }

    /// Moves everything node `index` said into the trace and the queue, then re-arms its timer.
    fn drain(&mut self, index: usize) {
        let Slot::Up(node) = &mut self.slots[index] else {
            return;
        };
        let first = node.poll_event();
        let outbox = node.net_mut();
        if first.is_none() && outbox.replies.is_empty() && outbox.sent.is_empty() {
            // Nothing said (an acknowledgement, most often): only the timer may have moved.
            self.schedule_timer(index);
            return;
        }
        // The outbox's buffers are swapped with the world's spare ones rather than taken, so
        // neither side allocates again on the next step.
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.events.extend(first);
        while let Some(event) = node.poll_event() {
            scratch.events.push(event);
        }
        let outbox = node.net_mut();
        std::mem::swap(&mut scratch.replies, &mut outbox.replies);
        std::mem::swap(&mut scratch.sent, &mut outbox.sent);
        for event in scratch.events.drain(..) {
            self.record(TraceEvent::Node { node: index, event });
        }
        for (id, reply) in scratch.replies.drain(..) {
            self.route_reply(index, id, reply);
        }
        for (addr, message) in scratch.sent.drain(..) {
            self.route_peer(index, &addr, message);
        }
        self.scratch = scratch;
        self.schedule_timer(index);
    }

    fn route_reply(&mut self, node: usize, id: RequestId, reply: Reply) {
        // The node contract: each request is answered exactly once.
        let Some((client, _)) = self.in_flight.remove(id) else {
            panic!("node {node} answered request #{} it does not hold", id.0);
        };
        let reply = Rc::new(reply);
        self.record(TraceEvent::Reply {
            node,
            client,
            id: id.0,
            reply: Rc::clone(&reply),
        });
        let (from, to) = (Endpoint::Node(NodeId(node)), Endpoint::Client(client));
        match self.net.route(from, to)[0] {
            Verdict::Deliver { after } => {
                self.queue.push(
                    self.now() + after,
                    WorldEvent::ReplyArrives { client, id, reply },
                );
            }
            Verdict::Drop { reason } => self.record(TraceEvent::Dropped {
                from,
                to: Some(to),
                what: format!("reply #{}", id.0),
                reason: Undelivered::Net(reason),
            }),
        }
    }

    fn route_peer(&mut self, from: usize, addr: &str, message: PeerMessage) {
        let Some(&to) = self.addrs.get(addr) else {
            self.record(TraceEvent::Dropped {
                from: Endpoint::Node(NodeId(from)),
                to: None,
                what: format!("{} to {addr}", peer_kind(&message)),
                reason: Undelivered::UnknownAddr,
            });
            return;
        };
        let (source, target) = (Endpoint::Node(NodeId(from)), Endpoint::Node(NodeId(to)));
        let verdicts = self.net.route(source, target);
        let kind = peer_kind(&message);
        let mut message = Some(message);
        for (i, verdict) in verdicts.iter().enumerate() {
            match *verdict {
                Verdict::Deliver { after } => {
                    // A duplicate gets a copy; the last delivery takes the message itself.
                    let message = if i + 1 < verdicts.len() {
                        message.clone()
                    } else {
                        message.take()
                    };
                    let Some(message) = message else { continue };
                    let event = WorldEvent::PeerArrives { from, to, message };
                    self.queue.push(self.now() + after, event);
                }
                Verdict::Drop { reason } => self.record(TraceEvent::Dropped {
                    from: source,
                    to: Some(target),
                    what: kind.to_string(),
                    reason: Undelivered::Net(reason),
                }),
            }
        }
    }

    /// Queues a wake-up at the node's deadline unless one is already queued for it.
    fn schedule_timer(&mut self, index: usize) {
        let Slot::Up(node) = &self.slots[index] else {
            return;
        };
        let deadline = node
            .poll_timeout()
            .map(|mono| SimTime::from_mono(mono).max(self.now()));
        let timers = &mut self.timers[index];
        if deadline == timers.deadline {
            return;
        }
        timers.deadline = deadline;
        let Some(at) = deadline else {
            return;
        };
        if !timers.queued.contains(&at) {
            self.queue
                .push(at, WorldEvent::NodeTimer { node: index, at });
            timers.queued.push(at);
        }
    }
}

/// The kind of a peer message, for drop records.
fn peer_kind(message: &PeerMessage) -> &'static str {
    match message {
        PeerMessage::Replicate { .. } => "replicate",
        PeerMessage::ReplicateAck { .. } => "replicate-ack",
        PeerMessage::Digests { .. } => "digests",
        PeerMessage::Repair { .. } => "repair",
        PeerMessage::RepairBack { .. } => "repair-back",
        PeerMessage::SyncRequest { .. } => "sync-request",
        PeerMessage::SyncResponse { .. } => "sync-response",
    }
}

/// The address of node `index`.
pub(crate) fn node_addr(index: usize) -> String {
    format!("node{index}:{NODE_PORT}")
}

/// The zone of node `index` among `zones`.
pub(crate) fn node_zone(index: usize, zones: usize) -> String {
    format!("zone{}", index % zones.max(1))
}

/// Node `index`'s configuration: the template, its own seed and identity, every node of its
/// zone as its peer seeds (`cluster.seeds`) and every node of other zones as cross-zone peers.
fn node_config(
    template: &Config,
    streams: &Streams,
    index: usize,
    nodes: usize,
    zones: usize,
) -> Config {
    let zone = node_zone(index, zones);
    let mut config = template.clone();
    config.seed = streams.node_seed(index);
    config.identity = Identity {
        hostname: format!("node{index}").into(),
        addr: node_addr(index).into(),
        zone: zone.clone().into(),
        env: ENV.into(),
        region: ENV.into(),
        serves_tls: false,
    };
    config.cluster.seeds = (0..nodes)
        .filter(|i| node_zone(*i, zones) == zone)
        .map(node_addr)
        .collect();
    config.cluster.zones = BTreeMap::new();
    for other in (0..nodes).filter(|i| node_zone(*i, zones) != zone) {
        config
            .cluster
            .zones
            .entry(node_zone(other, zones))
            .or_default()
            .push(node_addr(other));
    }
    config
}

#[cfg(test)]
mod tests;
