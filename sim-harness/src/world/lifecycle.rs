//! Node faults applied to the world: crash and restart, pause and resume, clocks, partitions.

use std::rc::Rc;

use registry::core::{Node, Outbox};

use super::{Slot, World, WorldEvent};
use crate::check::NodeSnapshot;
use crate::fault::Fault;
use crate::trace::TraceEvent;

impl World {
    /// Applies `fault` now and records it.
    pub(crate) fn apply(&mut self, fault: &Fault) {
        self.record(TraceEvent::Fault(fault.clone()));
        match fault {
            Fault::Crash { node } => self.crash(*node),
            Fault::Restart { node } => self.restart(*node),
            Fault::Pause { node } => {
                let slot = std::mem::replace(&mut self.slots[*node], Slot::Down);
                self.slots[*node] = match slot {
                    Slot::Up(n) => Slot::Paused(n, self.now(), Vec::new()),
                    other => other,
                };
            }
            Fault::Resume { node } => self.resume(*node),
            Fault::Partition { rule } => self.net.add_rule(rule.clone()),
            Fault::HealNetwork => self.net.heal(),
            Fault::ClockOffset { node, offset_ns } => self.clocks[*node].set_offset_ns(*offset_ns),
            Fault::ClockDrift { node, ppm } => self.clocks[*node].set_drift_ppm(*ppm),
            Fault::ClockJump { node, by_ns } => self.clocks[*node].jump_ns(*by_ns),
        }
    }

    /// The node loses everything: its state, its parked requests, its timers.
    fn crash(&mut self, node: usize) {
        self.retire_stats(node);
        self.slots[node] = Slot::Down;
        // Its queued timer events are dropped as they come out: it is down.
        self.timers[node] = Default::default();
        // Requests the node held are never answered; their clients time out.
        self.in_flight.forget_node(node);
    }

    /// A crashed node starts again, empty, with a seed of its own for this incarnation.
    fn restart(&mut self, node: usize) {
        if !matches!(self.slots[node], Slot::Down) {
            return;
        }
        self.incarnations[node] += 1;
        let mut config = self.configs[node].clone();
        config.seed = self.streams.derive(
            "node-restart",
            (node as u64) << 32 | self.incarnations[node],
        );
        match Node::new(config, Rc::clone(&self.clocks[node]), Outbox::default()) {
            Ok(fresh) => {
                self.slots[node] = Slot::Up(Box::new(fresh));
                self.drain(node);
            }
            Err(err) => {
                panic!("node {node} cannot restart with a configuration it started with: {err}")
            }
        }
    }

    /// A paused node catches up on everything that waited, in arrival order.
    fn resume(&mut self, node: usize) {
        let slot = std::mem::replace(&mut self.slots[node], Slot::Down);
        let Slot::Paused(mut n, since, held) = slot else {
            self.slots[node] = slot;
            return;
        };
        let now = self.now();
        // The runtime's driver notices a stall by its heartbeat firing late and tells the node
        // before anything it read meanwhile (`runtime/driver.rs`); so does the world.
        n.handle_stall(now.saturating_since(since));
        self.slots[node] = Slot::Up(n);
        for event in held {
            match event {
                // Its timers were due while it slept: it is woken afresh below, at once.
                WorldEvent::NodeTimer { at, .. } => self.timers[node].queued.retain(|q| *q != at),
                event => {
                    self.queue.push(now, event);
                }
            }
        }
        // Timer events not due yet stay queued: a deadline still at one of them reuses it.
        self.timers[node].deadline = None;
        self.drain(node);
    }

    /// Every node as the checkers see it at the end of a run.
    pub(crate) fn snapshot(&self) -> Vec<NodeSnapshot> {
        (0..self.len())
            .map(|index| match self.node(index) {
                Some(node) => NodeSnapshot {
                    zone: self.configs[index].identity.zone.to_string(),
                    up: true,
                    ready: node.is_ready(),
                    protected: node.protection().protected,
                    registry: node
                        .registry()
                        .into_values()
                        .flatten()
                        .map(|i| (registry::api::InstanceKey::of(&i), i))
                        .collect(),
                    peers_up: node
                        .peers()
                        .into_iter()
                        .filter(|p| p.status == registry::api::NodeStatus::Up)
                        .filter_map(|p| self.addrs.get(&p.addr).copied())
                        .collect(),
                },
                None => NodeSnapshot {
                    zone: self.configs[index].identity.zone.to_string(),
                    up: false,
                    ready: false,
                    protected: false,
                    registry: Default::default(),
                    peers_up: Vec::new(),
                },
            })
            .collect()
    }
}
