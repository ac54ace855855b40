//! Membership by self-discovery: a node registers itself as `infra.discovery`, and its peers
//! are the configured seeds and other zones' nodes plus every `infra.discovery` instance of its
//! env, minus itself.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::{
    AppKey, BadRequest, InstanceKey, RegisterArgs, ReplicatedOp, Request, SmolStr, Status,
    StatusFilter, Tombstone, Version,
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
        let (desired, registered) = self.desired_peers();
        if let Some(peers) = self.replication.set_peers(desired, registered) {
            self.events.push_back(NodeEvent::PeersChanged(peers));
        }
    }

    /// Membership follows the node's own app, `infra.discovery`.
    pub(super) fn on_app_changed(&mut self, app: &AppKey) {
        if app.appid == DISCOVERY_APPID && app.env == self.config.identity.env {
            self.refresh_peers();
        }
    }

    /// The peer set (address to zone), and which of its addresses are registered now.
    fn desired_peers(&self) -> (BTreeMap<SmolStr, SmolStr>, BTreeSet<SmolStr>) {
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
        let mut registered = BTreeSet::new();
        if let Some(info) = self.table.info(&app, "", StatusFilter::ALL) {
            for instance in info.instances.values().flatten() {
                if let Some(addr) = instance.addrs.first().and_then(|a| peer_addr(a)) {
                    desired.insert(addr.into(), instance.zone.clone());
                    registered.insert(addr.into());
                }
            }
        }
        desired.remove(&identity.addr);
        (desired, registered)
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
        let scheme = if identity.serves_tls { "https" } else { "http" };
        let args = RegisterArgs {
            key: self.self_key(),
            region: identity.region.clone(),
            status: Status::Up,
            addrs: vec![format!("{scheme}://{}", identity.addr).into()],
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

/// Refuses a client's write of a registry node's registration. Nodes register themselves and
/// replicate it through the peer protocol (authenticated when a secret is set); a client that
/// could register `infra.discovery` could make every node take it as a peer and send it other
/// clients' writes, and one that could cancel or set it could take a node out of the cluster.
pub(super) fn refuse_node_registration(request: &Request) -> Result<(), BadRequest> {
    let appid = match request {
        Request::Register(a) => &a.key.appid,
        Request::Renew(a) => &a.key.appid,
        Request::Cancel(a) => &a.key.appid,
        Request::Set(a) => &a.appid,
        _ => return Ok(()),
    };
    if appid != DISCOVERY_APPID {
        return Ok(());
    }
    Err(BadRequest::new(
        "appid",
        format!(
            "{DISCOVERY_APPID} is reserved for registry nodes, which register themselves \
             through the peer protocol"
        ),
    ))
}

/// The `host:port` a node's registered address names (`http://` or `https://` stripped), or
/// `None` if it is not one: a peer address is dialled, and an address that cannot be must not
/// become a peer.
fn peer_addr(addr: &str) -> Option<&str> {
    let rest = addr
        .strip_prefix("http://")
        .or_else(|| addr.strip_prefix("https://"))
        .unwrap_or(addr);
    let (host, port) = rest.rsplit_once(':')?;
    let host_ok = !host.is_empty()
        && !host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/\\@?#".contains(c));
    let port_ok = port.parse::<u16>().is_ok_and(|p| p != 0);
    (host_ok && port_ok).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::peer_addr;

    #[test]
    fn a_peer_address_is_a_host_and_a_port_and_nothing_that_could_steer_a_request() {
        assert_eq!(peer_addr("http://n1:7171"), Some("n1:7171"));
        assert_eq!(peer_addr("https://10.0.0.1:443"), Some("10.0.0.1:443"));
        assert_eq!(peer_addr("n2:1"), Some("n2:1"));
        for bad in [
            "n1",
            ":7171",
            "n1:0",
            "n1:port",
            "n1:65536",
            "n 1:7171",
            "n\u{7}1:7171",
            "n/1:7171",
            "n\\1:7171",
            "u@n1:7171",
            "n1?:7171",
            "n1#:7171",
        ] {
            assert_eq!(peer_addr(bad), None, "{bad:?}");
        }
    }
}
