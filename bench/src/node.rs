//! Starting `registry` processes for a run (pinned to a core with `taskset`), or naming one that
//! already runs, and waiting until they serve.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::Conn;

/// The node's settings for a run: polls held long enough that none is answered "not
/// modified" during a phase, one client address allowed every connection the load opens, and
/// cluster intervals short enough that a fresh 3-node cluster is ready within a second.
const CONFIG: &str = r#"
poll_hold_ms = 600000
[cluster]
sync_retry_ms = 200
sync_timeout_ms = 1000
[http]
max_connections_per_client = 1000000
max_polls_per_client = 1000000
"#;

/// When the nodes the benchmark starts answer a client's write (`[cluster.replication]
/// durability`; see the README's durability section).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Durability {
    /// Once applied on the node that took it (the registry's default; the setting is not
    /// written, so builds that predate it run too).
    #[default]
    Local,
    /// Once a peer acknowledged it (at most `peer_ack_wait_ms`).
    Peer,
}

impl Durability {
    /// The node settings for a run in this mode.
    fn config(self) -> String {
        match self {
            Durability::Local => CONFIG.to_string(),
            Durability::Peer => format!("{CONFIG}[cluster.replication]\ndurability = \"peer\"\n"),
        }
    }
}

/// A node under test.
#[derive(Debug)]
pub(crate) struct Server {
    /// `host:port` it serves on.
    pub(crate) addr: String,
    /// Its process id, when known (CPU and memory figures need it).
    pub(crate) pid: Option<u32>,
    child: Option<Child>,
}

impl Server {
    /// A node someone else started.
    pub(crate) fn running(addr: &str, pid: Option<u32>) -> Server {
        Server {
            addr: addr.to_string(),
            pid,
            child: None,
        }
    }

    /// Starts `count` nodes of `binary` that know each other, each pinned to `cpu` when given,
    /// and waits until every one says it is ready.
    pub(crate) async fn start_cluster(
        binary: &Path,
        count: usize,
        cpu: Option<usize>,
        durability: Durability,
    ) -> std::io::Result<Vec<Server>> {
        let addrs: Vec<String> = (0..count)
            .map(|_| free_port().map(|port| format!("127.0.0.1:{port}")))
            .collect::<std::io::Result<_>>()?;
        let config = scratch_file("bench.toml");
        std::fs::write(&config, durability.config())?;
        let mut servers = Vec::with_capacity(count);
        for (index, addr) in addrs.iter().enumerate() {
            let peers: Vec<&str> = addrs
                .iter()
                .filter(|a| *a != addr)
                .map(String::as_str)
                .collect();
            let child = spawn(binary, addr, &format!("bench{index}"), &peers, &config, cpu)?;
            servers.push(Server {
                addr: addr.clone(),
                pid: Some(child.id()),
                child: Some(child),
            });
        }
        for server in &servers {
            server.wait_ready(Duration::from_secs(30)).await?;
        }
        Ok(servers)
    }

    /// Waits until `/health` answers `"ready":true`.
    pub(crate) async fn wait_ready(&self, within: Duration) -> std::io::Result<()> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(mut conn) = Conn::open(&self.addr).await {
                if let Ok(body) = conn.get_plain("/health").await {
                    if body.windows(12).any(|w| w == b"\"ready\":true") {
                        return Ok(());
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(std::io::Error::other(format!(
            "{} was not ready within {within:?}",
            self.addr
        )))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(
    binary: &Path,
    addr: &str,
    hostname: &str,
    peers: &[&str],
    config: &Path,
    cpu: Option<usize>,
) -> std::io::Result<Child> {
    // `taskset` execs the node, so the child's pid is the node's.
    let mut command = match cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(binary);
            c
        }
        None => Command::new(binary),
    };
    command
        .args(["--listen", addr, "--hostname", hostname])
        .args(["--zone", "z1", "--env", "dev"])
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !peers.is_empty() {
        command.args(["--peers", &peers.join(",")]);
    }
    command.spawn()
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn scratch_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("registry-bench-{}-{name}", std::process::id()))
}

/// Pins this process (every thread it has and will start) to `cpu`.
pub(crate) fn pin_self(cpu: usize) -> std::io::Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu.to_string()])
        .arg(std::process::id().to_string())
        .stdout(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("taskset exited {status}")))
    }
}
