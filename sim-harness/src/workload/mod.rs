//! The simulated clients: service instances and long-poll subscribers.
//!
//! They reach nodes only through the world's network, with timeouts, as real clients do: an
//! instance registers through a random node, renews every `renew_seconds` (with jitter), fails
//! over to another node on a timeout or an error, re-registers on -404, sometimes changes its
//! status or metadata, and finally cancels or crashes silently. An instance is the source of
//! truth for its own registration: a careful instance, when a renew answer shows content other
//! than what it last wrote (an acknowledged write lost with the node that took it), registers
//! again; one modelled on bilibili's Go SDK never looks, so such a loss stays. Pollers long-poll a few apps,
//! fail over, and reset their cursors when they switch nodes. Every acknowledged write, cancel
//! and death is recorded in the trace as the oracle's [`ClientEvent`].

mod actions;
mod edge;
mod instance;
mod poller;
#[cfg(test)]
mod tests;

use registry::api::SmolStr;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use registry::api::{Code, Data, Metadata, Reply, Request, Status};
use registry::core::{Limits, RequestId};

use crate::id::{ClientId, NodeId};
use crate::rng::Streams;
use crate::scenario::{ClientsOptions, WorkloadOptions};
use crate::time::SimTime;
use crate::trace::{ClientEvent, TraceEvent};
use crate::world::{node_zone, World};

pub(crate) use actions::{plan, Action};
pub(crate) use edge::Limit;
use instance::{ClientClock, InstanceClient, Life, Model, Pending};
use poller::Poller;

/// How long an instance waits for an answer before it fails over.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a poller waits: the node's 30 s hold plus slack.
const POLL_TIMEOUT: Duration = Duration::from_secs(40);
/// Pause before retrying elsewhere after an error answer.
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// python-discovery-client's polls task: at most one run per this, from the last run's start.
const PYTHON_POLL_INTERVAL: Duration = Duration::from_secs(3);

/// What a client asked the world to wake it for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Its first request is due.
    Start,
    /// An instance's renew is due; stale unless `generation` is still its latest.
    Renew {
        /// The instance's renew generation when it scheduled this.
        generation: u64,
    },
    /// The answer to request `id` is overdue (ignored if the request is no longer in flight).
    Timeout(RequestId),
    /// A poller's next poll is due after an error answer (ignored if one is in flight).
    Retry,
}

/// Every simulated client of a run.
#[derive(Debug)]
pub(crate) struct Workload {
    options: WorkloadOptions,
    clients: ClientsOptions,
    /// The nodes' validation limits, which edge clients sit at ([`edge`]).
    limits: Limits,
    rng: ChaCha8Rng,
    zones: usize,
    /// The nodes clients may talk to (all of them, then only the core).
    allowed: Vec<NodeId>,
    instances: Vec<InstanceClient>,
    pollers: Vec<Poller>,
    /// Once the liveness phase starts, clients only renew and poll.
    settled: bool,
}

impl Workload {
    /// The clients of a run, none started yet.
    pub(crate) fn new(
        options: &WorkloadOptions,
        clients: &ClientsOptions,
        limits: &Limits,
        nodes: usize,
        zones: usize,
        streams: &Streams,
    ) -> Workload {
        Workload {
            options: options.clone(),
            clients: clients.clone(),
            limits: limits.clone(),
            rng: streams.workload(),
            zones,
            allowed: (0..nodes).map(NodeId).collect(),
            instances: Vec::new(),
            pollers: Vec::new(),
            settled: false,
        }
    }

    /// Schedules every initial instance and poller to start within the first renew interval.
    pub(crate) fn start(&mut self, world: &mut World) {
        let spread = Duration::from_secs(self.options.renew_seconds.max(1));
        for _ in 0..self.options.instances {
            let at = self.random_within(world.now(), spread);
            self.spawn(world, at);
        }
        let apps = self.options.apps.max(1);
        for index in 0..self.options.pollers as usize {
            let watched = self.rng.gen_range(1..=apps.min(3));
            let mut all: Vec<u64> = (0..apps).collect();
            all.shuffle(&mut self.rng);
            let names = all[..watched as usize]
                .iter()
                .map(|a| SmolStr::from(format!("app{a}")))
                .collect();
            let node = self.pick_node(None);
            // Only scenarios with python clients draw a poller's model (the others keep the
            // draws they had before pollers had models).
            let model = if self.clients.python_weight > 0 {
                self.pick_model()
            } else {
                Model::Careful
            };
            let mut poller = Poller::new(names, node, model);
            if self.draws_edge() {
                poller.watch_at_limit(&self.limits);
            }
            self.pollers.push(poller);
            let at = self.random_within(world.now(), Duration::from_secs(10));
            world.wake_client(at, ClientId::Poller(index), Wake::Start);
        }
    }

    /// Stops all churn, and keeps clients to `core` from now on.
    pub(crate) fn enter_liveness(&mut self, world: &mut World, core: &[usize]) {
        self.settled = true;
        self.allowed = core.iter().copied().map(NodeId).collect();
        for index in 0..self.instances.len() {
            if !core.contains(&self.instances[index].node.0) {
                self.instances[index].node = self.pick_node(None);
            }
        }
        for index in 0..self.pollers.len() {
            if !core.contains(&self.pollers[index].node.0) {
                let node = self.pick_node(None);
                let was_polling = self.pollers[index].pending.is_some();
                self.pollers[index].switch_to(node);
                if was_polling {
                    self.poll(world, index);
                }
            }
        }
    }

    /// A reply reached `client`.
    pub(crate) fn on_reply(
        &mut self,
        world: &mut World,
        client: ClientId,
        id: RequestId,
        reply: &Reply,
    ) {
        match client {
            ClientId::Instance(index) => self.instance_reply(world, index, id, reply),
            ClientId::Poller(index) => self.poller_reply(world, index, id, reply),
        }
    }

    /// A wake-up `client` asked for is due.
    pub(crate) fn on_wake(&mut self, world: &mut World, client: ClientId, wake: Wake) {
        match client {
            ClientId::Instance(index) => self.instance_wake(world, index, wake),
            ClientId::Poller(index) => self.poller_wake(world, index, wake),
        }
    }

    fn poller_wake(&mut self, world: &mut World, index: usize, wake: Wake) {
        let pending = self.pollers[index].pending;
        let due = match wake {
            Wake::Start => true,
            Wake::Timeout(id) if pending == Some(id) => {
                if self.pollers[index].model.fails_over() {
                    let node = self.pick_node(Some(self.pollers[index].node));
                    self.pollers[index].switch_to(node);
                }
                true
            }
            Wake::Retry => pending.is_none(),
            Wake::Timeout(_) | Wake::Renew { .. } => false,
        };
        if due {
            self.poll(world, index);
        }
    }

    fn instance_wake(&mut self, world: &mut World, client: usize, wake: Wake) {
        let c = &self.instances[client];
        if c.life == Life::Gone {
            return;
        }
        match wake {
            // An instance ended before it started (churn picks among the registered only, so
            // this is a mass death) has nothing to register.
            Wake::Start if c.life == Life::Alive && c.pending.is_none() => {
                // A stamping client's first stamp is its start (Eureka: the instance info's).
                let c = &mut self.instances[client];
                c.touch(true_wall(world));
                let request = c.register();
                self.send(world, client, request);
            }
            Wake::Renew { generation }
                if generation == c.renew_generation && c.life == Life::Alive =>
            {
                if c.pending.is_some() {
                    self.instances[client].renew_owed = true;
                    return;
                }
                let request = if c.registered {
                    c.renew()
                } else {
                    c.register()
                };
                self.send(world, client, request);
            }
            Wake::Timeout(id) => {
                if let Some(pending) = c.pending.clone().filter(|p| p.id == id) {
                    if pending.past_limit {
                        // The operator's change went unanswered: given up, like any answer.
                        self.instances[client].pending = None;
                        self.schedule_renew(world, client);
                    } else if c.model.fails_over() {
                        // Timed out: fail over and try the same request elsewhere.
                        let node = self.pick_node(Some(pending.node));
                        self.instances[client].node = node;
                        self.send(world, client, pending.request);
                    } else {
                        self.instances[client].pending = None;
                        self.stay_after_failure(world, client, pending.request, Duration::ZERO);
                    }
                }
            }
            Wake::Start | Wake::Renew { .. } | Wake::Retry => {}
        }
    }

    /// Carries out a planned action.
    pub(crate) fn act(&mut self, world: &mut World, action: &Action) {
        if self.settled {
            return;
        }
        match action {
            Action::SetStatus => {
                if let Some(client) = self.pick_idle_registered() {
                    if self.tried_past_limit(world, client) {
                        return;
                    }
                    let status = match self.instances[client].status {
                        Status::Up => Status::Waiting,
                        Status::Waiting => Status::Up,
                    };
                    let metadata = self.instances[client].metadata.clone();
                    self.write_set(world, client, status, metadata);
                }
            }
            Action::SetMetadata => {
                if let Some(client) = self.pick_idle_registered() {
                    if self.tried_past_limit(world, client) {
                        return;
                    }
                    let mut metadata = self.instances[client].metadata.clone();
                    let value = self.rng.gen_range(0..1000u32);
                    let fixed_width = self.instances[client].edge.is_some_and(Limit::in_metadata);
                    let value = if fixed_width {
                        edge::weight(value)
                    } else {
                        value.to_string()
                    };
                    metadata.insert("weight", value);
                    let status = self.instances[client].status;
                    self.write_set(world, client, status, metadata);
                }
            }
            Action::End => {
                if let Some(client) = self.pick_alive() {
                    let cancels = self
                        .rng
                        .gen_bool(self.options.cancel_probability.clamp(0.0, 1.0));
                    if cancels && self.instances[client].model.writes_after_register() {
                        self.instances[client].life = Life::Leaving;
                        let request = self.instances[client].cancel();
                        self.send(world, client, request);
                    } else {
                        self.die(world, client);
                    }
                    let at = self.random_within(world.now(), Duration::from_secs(10));
                    self.spawn(world, at);
                }
            }
            Action::MassDeath => {
                let fraction = self.options.mass_death_fraction.clamp(0.0, 1.0);
                for client in 0..self.instances.len() {
                    if self.instances[client].life == Life::Alive && self.rng.gen_bool(fraction) {
                        self.die(world, client);
                    }
                }
            }
        }
    }

    fn spawn(&mut self, world: &mut World, at: SimTime) {
        let index = self.instances.len();
        let node = self.pick_node(None);
        let zone = node_zone(node.0, self.zones);
        let model = self.pick_model();
        let clock = model.stamps_writes().then(|| self.client_clock());
        let mut instance = InstanceClient::new(index, self.options.apps, zone, node, model, clock);
        if self.draws_edge() {
            let limit = *Limit::INSTANCE
                .choose(&mut self.rng)
                .expect("there are instance limits");
            instance.sit_at(limit, &self.limits);
        }
        self.instances.push(instance);
        world.wake_client(at, ClientId::Instance(index), Wake::Start);
    }

    fn die(&mut self, world: &mut World, client: usize) {
        let c = &mut self.instances[client];
        c.life = Life::Gone;
        c.pending = None;
        let key = c.key.clone();
        world.record(TraceEvent::Client(ClientEvent::Died {
            client: ClientId::Instance(client),
            key,
        }));
    }

    fn write_set(&mut self, world: &mut World, client: usize, status: Status, metadata: Metadata) {
        // Clients spread writes over nodes (as load-balancing clients do), so a set often lands
        // on another node than the register did: under clock skew that is what tests ordering.
        let node = self.pick_node(None);
        self.instances[client].node = node;
        let c = &mut self.instances[client];
        c.status = status;
        c.metadata = metadata;
        // A Eureka client says a change by registering again, stamped with the change's time.
        let request = if c.model.stamps_writes() {
            c.touch(true_wall(world));
            c.register()
        } else {
            c.set(c.status, &c.metadata)
        };
        self.send(world, client, request);
    }

    fn send(&mut self, world: &mut World, client: usize, request: Request) {
        self.send_at(world, client, request, world.now());
    }

    /// Sends `request` to the instance's node at `at`, and gives up on it `REQUEST_TIMEOUT`
    /// later.
    fn send_at(&mut self, world: &mut World, client: usize, request: Request, at: SimTime) {
        self.dispatch(world, client, request, at, false);
    }

    /// Sends `request` to the instance's node at `at` (see `send_at`); `past_limit` when it is
    /// the edge instance's change one past its limit. Labels it for the `limits` checker when
    /// it carries what sits at (or past) the instance's limit.
    fn dispatch(
        &mut self,
        world: &mut World,
        client: usize,
        request: Request,
        at: SimTime,
        past_limit: bool,
    ) {
        let node = self.instances[client].node;
        let limit = self.instances[client].edge;
        let id = world.send_request(at, ClientId::Instance(client), node, request.clone());
        if let Some(limit) = limit.filter(|limit| edge::carries(*limit, &request)) {
            world.record(TraceEvent::Client(ClientEvent::AtLimit {
                client: ClientId::Instance(client),
                request: id.0,
                limit,
                past: past_limit,
            }));
        }
        self.instances[client].pending = Some(Pending {
            id,
            node,
            request,
            past_limit,
        });
        world.wake_client(
            at + REQUEST_TIMEOUT,
            ClientId::Instance(client),
            Wake::Timeout(id),
        );
    }

    fn instance_reply(&mut self, world: &mut World, client: usize, id: RequestId, reply: &Reply) {
        let Some(pending) = self.instances[client].pending.take_if(|p| p.id == id) else {
            return; // A late answer to a request already retried elsewhere.
        };
        if self.instances[client].life == Life::Gone {
            return;
        }
        self.handle_instance_reply(world, client, id, pending, reply);
        // A renew that came due meanwhile goes out now.
        let c = &mut self.instances[client];
        if c.renew_owed && c.pending.is_none() && c.life == Life::Alive && c.registered {
            c.renew_owed = false;
            let request = c.renew();
            self.send(world, client, request);
        }
    }

    fn handle_instance_reply(
        &mut self,
        world: &mut World,
        client: usize,
        id: RequestId,
        pending: Pending,
        reply: &Reply,
    ) {
        let node = pending.node;
        if pending.past_limit {
            // Refused (or, were the node wrong, taken): either way the client keeps what it
            // had and renews on; the `limits` checker judges the answer.
            self.schedule_renew(world, client);
            return;
        }
        match (&pending.request, reply.code) {
            (Request::Register(_) | Request::Set(_), Code::Ok) => {
                let c = &mut self.instances[client];
                c.registered = true;
                let instance = Box::new(c.intended());
                world.record(TraceEvent::Client(ClientEvent::Wrote {
                    client: ClientId::Instance(client),
                    node: node.0,
                    request: id.0,
                    instance,
                    reads_back: c.model == Model::Careful,
                }));
                // A register starts the renew ticker; a set leaves it running.
                if matches!(pending.request, Request::Register(_)) {
                    let c = &mut self.instances[client];
                    c.renew_owed = false;
                    if c.model == Model::Python && c.renew_generation == 0 {
                        // python-discovery-client adds its renew task after the first register
                        // with no run behind it: the first tick is due at once.
                        let at = self.random_within(world.now(), Duration::from_secs(1));
                        self.renew_at(world, client, at);
                    } else {
                        self.schedule_renew(world, client);
                    }
                }
            }
            (Request::Register(args), Code::Conflict) if args.dirty_timestamp > 0 => {
                // A register stamped by its client and refused as older than what the node
                // holds: a Eureka client logs it and goes on heartbeating (its next change, or
                // a 404, registers again with a fresh stamp); every node that has the newer
                // version would refuse it alike.
                self.schedule_renew(world, client);
            }
            (Request::Renew(_), Code::Ok) => {
                // The instance is the source of truth for its own registration: if the registry
                // holds something else (a write acknowledged by a node that crashed before it
                // replicated), say it again.
                // (A Go-SDK-like client never looks: a lost write stays lost.)
                let c = &self.instances[client];
                let differs = match &reply.data {
                    Data::Instance(held) if c.model == Model::Careful => {
                        held.status != c.status || held.metadata != c.metadata
                    }
                    _ => false,
                };
                if differs {
                    let request = c.register();
                    self.send(world, client, request);
                } else {
                    self.schedule_renew(world, client);
                }
            }
            (Request::Renew(_) | Request::Set(_), Code::NothingFound) => {
                // The node lost us (or never had us): register again, with what we want now.
                // A Eureka client marks its instance dirty first (`setIsDirtyWithTime`): the
                // register carries a fresh stamp.
                let c = &mut self.instances[client];
                c.registered = false;
                c.touch(true_wall(world));
                let request = c.register();
                self.send(world, client, request);
            }
            (Request::Cancel(_), Code::Ok | Code::NothingFound) => {
                let c = &mut self.instances[client];
                c.life = Life::Gone;
                let key = c.key.clone();
                world.record(TraceEvent::Client(ClientEvent::Cancelled {
                    client: ClientId::Instance(client),
                    node: node.0,
                    request: id.0,
                    key,
                }));
            }
            (request, _) if !self.instances[client].model.fails_over() => {
                let request = request.clone();
                self.stay_after_failure(world, client, request, RETRY_DELAY);
            }
            (request, _) => {
                // Any other answer: try again elsewhere after a pause.
                let request = request.clone();
                let node = self.pick_node(Some(node));
                self.instances[client].node = node;
                self.send_at(world, client, request, world.now() + RETRY_DELAY);
            }
        }
    }

    fn schedule_renew(&mut self, world: &mut World, client: usize) {
        let interval = Duration::from_secs(self.options.renew_seconds.max(1));
        let jitter = Duration::from_millis(self.rng.gen_range(0..2_000));
        self.renew_at(world, client, world.now() + interval + jitter);
    }

    /// Makes `at` the instance's next renew (an earlier scheduled one goes stale).
    fn renew_at(&mut self, world: &mut World, client: usize, at: SimTime) {
        let c = &mut self.instances[client];
        c.renew_generation += 1;
        world.wake_client(
            at,
            ClientId::Instance(client),
            Wake::Renew {
                generation: c.renew_generation,
            },
        );
    }

    /// A client that never fails over after `request` timed out or failed: a renew's tick is
    /// lost (the next one is on the ticker), a register goes to the same node again after
    /// `pause` (the application retries its start).
    fn stay_after_failure(
        &mut self,
        world: &mut World,
        client: usize,
        request: Request,
        pause: Duration,
    ) {
        if matches!(request, Request::Renew(_)) {
            self.schedule_renew(world, client);
            return;
        }
        self.send_at(world, client, request, world.now() + pause);
    }

    /// The next poll after an answer: at once, or for python-discovery-client on its crontab
    /// (the polls task runs at most every 3 s from its last start, looked at every second),
    /// whatever the answer was.
    fn poll_again(&mut self, world: &mut World, index: usize) {
        if self.pollers[index].model != Model::Python {
            self.poll(world, index);
            return;
        }
        let due = (self.pollers[index].started + PYTHON_POLL_INTERVAL).max(world.now());
        let at = self.random_within(due, Duration::from_secs(1));
        world.wake_client(at, ClientId::Poller(index), Wake::Retry);
    }

    fn poll(&mut self, world: &mut World, index: usize) {
        let poller = &self.pollers[index];
        let request = poller.request(index);
        let past = poller.past_limit(&self.limits);
        let at_limit = poller.at_limit;
        let id = world.send_request(world.now(), ClientId::Poller(index), poller.node, request);
        if at_limit {
            world.record(TraceEvent::Client(ClientEvent::AtLimit {
                client: ClientId::Poller(index),
                request: id.0,
                limit: Limit::AppList,
                past,
            }));
        }
        self.pollers[index].pending = Some(id);
        self.pollers[index].started = world.now();
        world.wake_client(
            world.now() + POLL_TIMEOUT,
            ClientId::Poller(index),
            Wake::Timeout(id),
        );
    }

    fn poller_reply(&mut self, world: &mut World, index: usize, id: RequestId, reply: &Reply) {
        if self.pollers[index].pending != Some(id) {
            return;
        }
        self.pollers[index].pending = None;
        if self.pollers[index].past_limit(&self.limits) {
            self.pollers[index].trim_to(&self.limits);
        }
        let node = self.pollers[index].node;
        match (reply.code, &reply.data) {
            (Code::Ok, Data::Apps(apps)) => {
                self.pollers[index].take_answer(
                    apps.iter()
                        .map(|(appid, info)| (appid, info.latest_timestamp)),
                );
                for (appid, info) in apps {
                    let mut hosts: Vec<SmolStr> = info
                        .instances
                        .values()
                        .flatten()
                        .map(|i| i.hostname.clone())
                        .collect();
                    hosts.sort();
                    world.record(TraceEvent::Client(ClientEvent::Viewed {
                        poller: index,
                        node: node.0,
                        appid: appid.clone(),
                        hosts,
                    }));
                }
                self.poll_again(world, index);
            }
            (Code::NotModified, _) => self.poll_again(world, index),
            _ if self.pollers[index].model == Model::Python => self.poll_again(world, index),
            _ => {
                if self.pollers[index].model.fails_over() {
                    let node = self.pick_node(Some(node));
                    self.pollers[index].switch_to(node);
                }
                world.wake_client(
                    world.now() + RETRY_DELAY,
                    ClientId::Poller(index),
                    Wake::Retry,
                );
            }
        }
    }

    fn pick_node(&mut self, avoid: Option<NodeId>) -> NodeId {
        let choices: Vec<NodeId> = self
            .allowed
            .iter()
            .copied()
            .filter(|n| Some(*n) != avoid)
            .collect();
        let pool = if choices.is_empty() {
            &self.allowed
        } else {
            &choices
        };
        pool.choose(&mut self.rng).copied().unwrap_or(NodeId(0))
    }

    /// A new instance's model, by the scenario's weights. Draws only when there is a choice, so
    /// scenarios with one model keep the random streams (and traces) they had before models.
    fn pick_model(&mut self) -> Model {
        // In the order the models were added: without the later ones, the draw is the one made
        // before they existed.
        let weights = [
            (self.options.careful_weight, Model::Careful),
            (self.options.go_sdk_weight, Model::GoSdk),
            (self.clients.python_weight, Model::Python),
            (self.clients.eureka_weight, Model::Eureka),
        ];
        let total: u64 = weights.iter().map(|(w, _)| w).sum();
        let only = weights.iter().filter(|(w, _)| *w > 0).count();
        match (total, only) {
            (0, _) => Model::Careful,
            (_, 1) => weights
                .iter()
                .find(|(w, _)| *w > 0)
                .map_or(Model::Careful, |(_, m)| *m),
            _ => {
                let mut drawn = self.rng.gen_range(0..total);
                for (weight, model) in weights {
                    if drawn < weight {
                        return model;
                    }
                    drawn -= weight;
                }
                unreachable!("a draw below the total weight falls in some model's share")
            }
        }
    }

    /// A stamping client's clock, by the scenario's skew and resolution.
    fn client_clock(&mut self) -> ClientClock {
        let skew = i64::try_from(self.clients.client_clock_skew_ms)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000);
        let resolution_ms = i64::try_from(self.clients.client_stamp_ms.max(1)).unwrap_or(i64::MAX);
        ClientClock {
            offset_ns: self.rng.gen_range(-skew..=skew),
            resolution_ns: resolution_ms.saturating_mul(1_000_000),
        }
    }

    fn pick_alive(&mut self) -> Option<usize> {
        // Only instances that have registered: ending one that has not started would leave
        // its start to race its own cancel.
        let alive: Vec<usize> = (0..self.instances.len())
            .filter(|c| self.instances[*c].life == Life::Alive && self.instances[*c].registered)
            .collect();
        alive.choose(&mut self.rng).copied()
    }

    fn pick_idle_registered(&mut self) -> Option<usize> {
        let idle: Vec<usize> = (0..self.instances.len())
            .filter(|c| {
                let c = &self.instances[*c];
                c.life == Life::Alive
                    && c.registered
                    && c.pending.is_none()
                    && c.model.writes_after_register()
            })
            .collect();
        idle.choose(&mut self.rng).copied()
    }

    /// Whether a new client is an edge client ([`edge`]): drawn only when the scenario has
    /// them, so that other scenarios keep their random streams.
    fn draws_edge(&mut self) -> bool {
        let p = self.clients.edge_probability.clamp(0.0, 1.0);
        p > 0.0 && self.rng.gen_bool(p)
    }

    /// For a planned change of `client`'s status or metadata: half the time, an edge
    /// instance's operator tries a change one past its limit instead. Whether it did.
    fn tried_past_limit(&mut self, world: &mut World, client: usize) -> bool {
        if self.instances[client].edge.is_none() || !self.rng.gen_bool(0.5) {
            return false;
        }
        let c = &self.instances[client];
        let Some(request) = c.past_limit(&self.limits, true_wall(world)) else {
            return false;
        };
        // Spread over nodes as every change is (see `write_set`).
        self.instances[client].node = self.pick_node(None);
        self.dispatch(world, client, request, world.now(), true);
        true
    }

    fn random_within(&mut self, from: SimTime, spread: Duration) -> SimTime {
        from + Duration::from_nanos(self.rng.gen_range(0..spread.as_nanos().max(1) as u64))
    }
}

/// True wall time at the world's present moment (what a perfect clock reads): stamping clients
/// read theirs off it.
fn true_wall(world: &World) -> i64 {
    let since_start = i64::try_from(world.now().as_nanos()).unwrap_or(i64::MAX);
    crate::clock::EPOCH_NS.saturating_add(since_start)
}
