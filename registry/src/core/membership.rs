//! Membership by self-discovery: a node registers itself as `infra.discovery`, and its peers
//! are the configured seeds and other zones' nodes plus every `infra.discovery` instance of its
//! env, minus itself.

use std::collections::BTreeMap;

use crate::api::{
    AppKey, InstanceKey, RegisterArgs, ReplicatedOp, SmolStr, Status, StatusFilter, Tombstone,
    Version,
};

use super::clock::Clock;
use super::network::Network;
use super::node::{LeaseRenewed, Node, NodeEvent};
use super::table::Applied;

/// The appid under which registry nodes register themselves.
pub const DISCOVERY_APPID: &str = "infra.discovery";

impl<C: Clock, N: Network> Node<C, N> {
    /// Recomputes the peer set from configuration and `infra.discovery`.
    pub(super) fn refresh_peers(&mut self) {
        let desired = self.desired_peers();
        if let Some(peers) = self.replication.set_peers(desired) {
            self.events.push_back(NodeEvent::PeersChanged(peers));
        }
    }

    /// Membership follows the node's own app, `infra.discovery`.
    pub(super) fn on_app_changed(&mut self, app: &AppKey) {
        if app.appid == DISCOVERY_APPID && app.env == self.config.identity.env {
            self.refresh_peers();
        }
    }

    fn desired_peers(&self) -> BTreeMap<SmolStr, SmolStr> {
        let identity = &self.config.identity;
        let cluster = &self.config.cluster;
        let mut desired: BTreeMap<SmolStr, SmolStr> = cluster
            .seeds
            .iter()
            .map(|addr| (addr.into(), identity.zone.clone()))
            .collect();
        for (zone, addrs) in &cluster.zones {
            desired.extend(addrs.iter().map(|addr| (addr.into(), zone.into())));
        }
        let app = AppKey {
            env: identity.env.clone(),
            appid: DISCOVERY_APPID.into(),
        };
        if let Some(info) = self.table.info(&app, "", StatusFilter::ALL) {
            for instance in info.instances.values().flatten() {
                if let Some(addr) = instance.addrs.first() {
                    let addr = addr.strip_prefix("http://").unwrap_or(addr);
                    desired.insert(addr.into(), instance.zone.clone());
                }
            }
        }
        desired.remove(&identity.addr);
        desired
    }

    fn self_key(&self) -> InstanceKey {
        let identity = &self.config.identity;
        InstanceKey {
            env: identity.env.clone(),
            appid: DISCOVERY_APPID.into(),
            zone: identity.zone.clone(),
            hostname: identity.hostname.clone(),
        }
    }

    /// Registers this node as `infra.discovery` (replicated like any register).
    pub(super) fn register_self(&mut self) {
        let identity = &self.config.identity;
        let args = RegisterArgs {
            key: self.self_key(),
            region: identity.region.clone(),
            status: Status::Up,
            addrs: vec![format!("http://{}", identity.addr).into()],
            version: SmolStr::default(),
            metadata: Default::default(),
            replication: false,
            latest_timestamp: 0,
            dirty_timestamp: 0,
        };
        self.register(args);
    }

    /// Renews this node's own registration, or registers it again if it is gone.
    pub(super) fn renew_self(&mut self) {
        if self.shutting_down {
            return; // Renewing (or re-registering) would undo the shutdown's cancel.
        }
        let key = self.self_key();
        self.events.push_back(NodeEvent::SelfRenewed);
        match self.renew_lease(&key, None) {
            LeaseRenewed::Renewed(instance) => {
                let dirty_timestamp = instance.dirty_timestamp;
                self.replicate(ReplicatedOp::Renew {
                    key,
                    dirty_timestamp,
                });
            }
            _ => self.register_self(),
        }
    }

    /// Cancels this node's own registration (graceful shutdown).
    pub(super) fn cancel_self(&mut self) {
        let tombstone = Version::Tombstone(Tombstone {
            key: self.self_key(),
            dirty_timestamp: self.hlc.stamp(self.clock.wall()),
        });
        if matches!(self.apply(tombstone.clone()), Applied::Removed) {
            self.replicate(ReplicatedOp::Write(tombstone));
        }
    }
}
