//! Shared helpers: build and locate the binary, start and stop nodes, a raw HTTP/1.1 client.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Intervals short enough for tests: a fresh cluster is ready within a second, anti-entropy
/// and retries run every second or faster.
pub(crate) const FAST: &str = r#"
shutdown_drain_ms = 2000
[cluster]
sync_retry_ms = 200
sync_timeout_ms = 1000
anti_entropy_interval_ms = 1000
self_renew_interval_ms = 10000
[cluster.replication]
ack_timeout_ms = 500
backoff_base_ms = 100
backoff_max_ms = 1000
"#;

/// The `registry` binary, built once per test run in the profile of this test binary.
pub(crate) fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let profile = if cfg!(debug_assertions) {
            "test"
        } else {
            "release"
        };
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "-q",
                "-p",
                "registry",
                "--bin",
                "registry",
                "--profile",
                profile,
            ])
            .arg("--manifest-path")
            .arg(&manifest)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the registry binary failed");
        // This test binary lives in <target>/<profile dir>/deps/.
        let exe = std::env::current_exe().expect("test binary path");
        let dir = exe.parent().and_then(Path::parent).expect("target dir");
        let binary = dir.join("registry");
        assert!(binary.exists(), "no binary at {}", binary.display());
        binary
    })
}

/// A port free right now on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

/// One `registry` process.
pub(crate) struct Node {
    pub(crate) addr: String,
    pub(crate) hostname: String,
    peers: Vec<String>,
    config: PathBuf,
    child: Option<Child>,
    /// Trust roots when the node serves TLS (requests then go over TLS).
    tls: Option<Arc<rustls::ClientConfig>>,
}

pub(crate) fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("registry-http-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

impl Node {
    /// Starts a node listening on `addr` with seed `peers` and the given TOML config.
    pub(crate) fn start(addr: &str, hostname: &str, peers: &[String], config: &str) -> Node {
        Node::start_with(addr, hostname, peers, config, None)
    }

    /// [`Node::start`], talking TLS to the node with `tls` when given.
    pub(crate) fn start_with(
        addr: &str,
        hostname: &str,
        peers: &[String],
        config: &str,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Node {
        let path = scratch_dir().join(format!("{hostname}-{}.toml", addr.replace(':', "_")));
        std::fs::write(&path, config).expect("write config");
        let mut node = Node {
            addr: addr.into(),
            hostname: hostname.into(),
            peers: peers.to_vec(),
            config: path,
            child: None,
            tls,
        };
        node.spawn();
        node
    }

    /// A handle on a node someone else started, talking TLS with `tls` (no process).
    pub(crate) fn connect_only(addr: &str, tls: Arc<rustls::ClientConfig>) -> Node {
        Node {
            addr: addr.into(),
            hostname: String::new(),
            peers: Vec::new(),
            config: PathBuf::new(),
            child: None,
            tls: Some(tls),
        }
    }

    /// A single node with no peers (ready at once).
    pub(crate) fn single(config: &str) -> Node {
        let addr = format!("127.0.0.1:{}", free_port());
        let node = Node::start(&addr, "solo", &[], config);
        node.wait_ready();
        node
    }

    fn spawn(&mut self) {
        let log = scratch_dir().join(format!("{}.log", self.hostname));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let mut command = Command::new(binary());
        command
            .args(["--listen", &self.addr, "--hostname", &self.hostname])
            .args(["--zone", "z1", "--env", "dev"])
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log);
        if !self.peers.is_empty() {
            command.args(["--peers", &self.peers.join(",")]);
        }
        self.child = Some(command.spawn().expect("registry starts"));
        let log = scratch_dir().join(format!("{}.log", self.hostname));
        wait_until(Duration::from_secs(10), "node answers /health", || {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("registry exited with {status}:\n{log}");
            }
            self.send("GET", "/health", "", &[]).is_ok()
        });
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits until `/health` says ready.
    pub(crate) fn wait_ready(&self) {
        wait_until(Duration::from_secs(10), "node ready", || {
            self.health().map(|h| h["ready"] == true).unwrap_or(false)
        });
    }

    pub(crate) fn health(&self) -> Option<Value> {
        let response = self.send("GET", "/health", "", &[]).ok()?;
        serde_json::from_str(&response.body).ok()
    }

    /// SIGKILL, as `kill -9` would.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) to the process, as `kill -SIGNAL` would.
    pub(crate) fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} failed");
    }

    /// SIGTERM, then waits for the exit (at most 10 s).
    pub(crate) fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit()
    }

    /// Waits for the process to exit (at most 10 s) and reaps it.
    pub(crate) fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "node did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the process again with the same arguments (after a kill).
    pub(crate) fn restart(&mut self) {
        assert!(self.child.is_none(), "still running");
        self.spawn();
    }

    pub(crate) fn get(&self, path_and_query: &str) -> Response {
        self.request("GET", path_and_query, "", &[])
    }

    pub(crate) fn post(&self, path: &str, body: &str) -> Response {
        let form = [("content-type", "application/x-www-form-urlencoded")];
        self.request("POST", path, body, &form)
    }

    /// One request to this node (over TLS if it serves TLS); panics if it is not answered.
    pub(crate) fn request(
        &self,
        method: &str,
        target: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        self.send(method, target, body, headers)
            .unwrap_or_else(|e| panic!("{method} {target} on {}: {e}", self.addr))
    }

    /// One request to this node (over TLS if it serves TLS).
    pub(crate) fn send(
        &self,
        method: &str,
        target: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> std::io::Result<Response> {
        let bytes = request_bytes(&self.addr, method, target, body, headers);
        match &self.tls {
            None => raw(&self.addr, &bytes),
            Some(tls) => raw_tls(&self.addr, tls.clone(), &bytes),
        }
    }

    /// The value of an unlabelled metric.
    pub(crate) fn metric(&self, name: &str) -> u64 {
        let text = self.get("/metrics").body;
        let prefix = format!("{name} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `n` nodes of zone z1, each seeded with all of them; waits until all are ready.
pub(crate) fn cluster(n: usize, config: &str) -> Vec<Node> {
    let addrs: Vec<String> = (0..n)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let nodes: Vec<Node> = addrs
        .iter()
        .enumerate()
        .map(|(i, addr)| Node::start(addr, &format!("n{i}"), &addrs, config))
        .collect();
    nodes.iter().for_each(Node::wait_ready);
    nodes
}

/// Polls `check` every 50 ms until it holds; panics naming `what` after `limit`.
pub(crate) fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A whole HTTP response.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Response {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The business code of an envelope reply.
    pub(crate) fn code(&self) -> i64 {
        self.json()["code"].as_i64().expect("code")
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Host names in a fetch reply's `data.instances`, sorted.
    pub(crate) fn hostnames(&self) -> Vec<String> {
        let json = self.json();
        let mut names: Vec<String> = json["data"]["instances"]
            .as_object()
            .into_iter()
            .flat_map(|zones| zones.values())
            .flat_map(|list| list.as_array().cloned().unwrap_or_default())
            .filter_map(|i| i["hostname"].as_str().map(str::to_string))
            .collect();
        names.sort();
        names
    }
}

pub(crate) fn request(
    addr: &str,
    method: &str,
    target: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Response {
    try_request(addr, method, target, body, headers)
        .unwrap_or_else(|e| panic!("{method} {target} on {addr}: {e}"))
}

/// Sends one request with `Connection: close` and reads the response to the end.
pub(crate) fn try_request(
    addr: &str,
    method: &str,
    target: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    raw(addr, &request_bytes(addr, method, target, body, headers))
}

/// The bytes of one request with `Connection: close`.
fn request_bytes(
    addr: &str,
    method: &str,
    target: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Vec<u8> {
    let mut text = format!(
        "{method} {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// Writes `bytes` as they are and parses what comes back until the server closes.
pub(crate) fn raw(addr: &str, bytes: &[u8]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.write_all(bytes)?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out)?;
    parse(&out)
}

/// [`raw`] over TLS, trusting `tls`'s roots for the host of `addr`.
pub(crate) fn raw_tls(
    addr: &str,
    tls: Arc<rustls::ClientConfig>,
    bytes: &[u8],
) -> std::io::Result<Response> {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let connection = rustls::ClientConnection::new(tls, name).map_err(std::io::Error::other)?;
    let socket = TcpStream::connect(addr)?;
    socket.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut stream = rustls::StreamOwned::new(connection, socket);
    stream.write_all(bytes)?;
    let mut out = Vec::new();
    match stream.read_to_end(&mut out) {
        Ok(_) => {}
        // A server that closed without close_notify after a whole response.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {}
        Err(e) => return Err(e),
    }
    parse(&out)
}

pub(crate) fn parse(out: &[u8]) -> std::io::Result<Response> {
    let text = String::from_utf8_lossy(out);
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bad response: {text:?}"),
        )
    };
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_string(),
    })
}

/// A register form for `appid`/`hostname` in zone z1, env dev.
pub(crate) fn register_form(appid: &str, hostname: &str) -> String {
    format!("zone=z1&env=dev&appid={appid}&hostname={hostname}&status=1&addrs=http://10.0.0.1:80,grpc://10.0.0.1:90")
}

pub(crate) fn fetch_path(appid: &str) -> String {
    format!("/discovery/fetch?zone=z1&env=dev&appid={appid}&status=3")
}
