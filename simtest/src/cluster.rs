//! A cluster of real nodes on simulated hosts, and hosts for clients.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use madsim::net::NetSim;
use madsim::runtime::{Handle, NodeHandle};
use registry::client::Client;
use registry::runtime::{self, Overrides, Settings};

/// The port every node serves on (each node has its own IP).
pub const PORT: u16 = 7171;
/// The environment and zone of the cluster and its clients.
pub const ENV: &str = "dev";
/// The zone of the cluster and its clients.
pub const ZONE: &str = "z1";

/// The IP of node `i` (from 0).
pub fn node_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + i as u8))
}

/// The `host:port` of node `i`.
pub fn node_addr(i: usize) -> String {
    format!("{}:{PORT}", node_ip(i))
}

/// The settings node `i` of `n` starts with: what `registry --listen A --peers A,B,C
/// --hostname nI --zone z1 --env dev` would give, then `tweak`.
pub fn settings(i: usize, n: usize, tweak: fn(&mut Settings)) -> Settings {
    let overrides = Overrides {
        listen: Some(node_addr(i)),
        hostname: Some(format!("n{i}")),
        zone: Some(ZONE.into()),
        env: Some(ENV.into()),
        peers: Some((0..n).map(node_addr).collect()),
        ..Overrides::default()
    };
    // The flags above are valid by construction; a failure is a bug in this file.
    let mut settings = Settings::load(None, overrides).expect("valid node flags");
    tweak(&mut settings);
    settings
}

/// Nodes of one zone on simulated hosts.
pub struct Cluster {
    /// The simulated hosts, by node index.
    pub nodes: Vec<NodeHandle>,
    clients: usize,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("nodes", &self.nodes.len())
            .field("clients", &self.clients)
            .finish()
    }
}

impl Cluster {
    /// Starts `n` nodes, each serving until madsim sends it ctrl-c (graceful shutdown, the
    /// binary's SIGINT path); a killed or restarted node starts again from nothing.
    pub fn start(n: usize, tweak: fn(&mut Settings)) -> Cluster {
        let handle = Handle::current();
        let nodes = (0..n)
            .map(|i| {
                let settings = settings(i, n, tweak);
                handle
                    .create_node()
                    .name(format!("n{i}"))
                    .ip(node_ip(i))
                    .init(move || serve(settings.clone()))
                    .build()
            })
            .collect();
        Cluster { nodes, clients: 0 }
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there is no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every node's `host:port`.
    pub fn addrs(&self) -> Vec<String> {
        (0..self.len()).map(node_addr).collect()
    }

    /// A new host for a client, with its own IP.
    pub fn client_host(&mut self, name: &str) -> NodeHandle {
        self.clients += 1;
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 1, self.clients as u8));
        Handle::current().create_node().name(name).ip(ip).build()
    }

    /// A client of every node, in node order.
    pub fn client(&self) -> Client {
        Client::new(self.addrs())
    }

    /// Kills node `i` (state lost); [`Cluster::restart`] brings it back.
    pub fn kill(&self, i: usize) {
        Handle::current().kill(self.nodes[i].id());
    }

    /// Restarts node `i` from nothing (killing it first if it runs).
    pub fn restart(&self, i: usize) {
        // madsim's `restart` keeps the old incarnation's sockets bound (its `kill` closes
        // them): without the kill, the new node cannot bind its port.
        Handle::current().kill(self.nodes[i].id());
        Handle::current().restart(self.nodes[i].id());
    }

    /// Pauses node `i`: it runs nothing, its sockets stay open.
    pub fn pause(&self, i: usize) {
        Handle::current().pause(self.nodes[i].id());
    }

    /// Resumes a paused node `i`.
    pub fn resume(&self, i: usize) {
        Handle::current().resume(self.nodes[i].id());
    }

    /// Graceful shutdown of node `i` (ctrl-c, as the binary gets SIGINT).
    pub fn stop(&self, i: usize) {
        Handle::current().send_ctrl_c(self.nodes[i].id());
    }

    /// Cuts both directions between nodes `a` and `b`.
    pub fn clog_pair(&self, a: usize, b: usize) {
        let net = NetSim::current();
        net.clog_link(self.nodes[a].id(), self.nodes[b].id());
        net.clog_link(self.nodes[b].id(), self.nodes[a].id());
    }

    /// Cuts messages from node `a` to node `b` only.
    pub fn clog_one_way(&self, a: usize, b: usize) {
        NetSim::current().clog_link(self.nodes[a].id(), self.nodes[b].id());
    }

    /// Cuts node `i` off from everyone (clients too).
    pub fn clog_node(&self, i: usize) {
        NetSim::current().clog_node(self.nodes[i].id());
    }

    /// Removes every clog between nodes and of nodes, and any packet loss.
    pub fn heal(&self) {
        let net = NetSim::current();
        for a in &self.nodes {
            net.unclog_node(a.id());
            for b in &self.nodes {
                if a.id() != b.id() {
                    net.unclog_link(a.id(), b.id());
                }
            }
        }
        net.update_config(|c| c.packet_loss_rate = 0.0);
    }

    /// Sets the probability that a packet is lost.
    pub fn set_packet_loss(&self, rate: f64) {
        NetSim::current().update_config(|c| c.packet_loss_rate = rate);
    }
}

/// A node's whole life: serve until ctrl-c.
async fn serve(settings: Settings) {
    let stopped = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    // A node that cannot bind is a broken test setup: fail loudly.
    runtime::serve_until(settings, stopped)
        .await
        .expect("node starts");
}

/// Waits until `check` holds, polling every 100 ms for at most `limit`; whether it held.
pub async fn wait_until<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
