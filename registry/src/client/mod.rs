//! A Rust client SDK for the registry (and bilibili/discovery-compatible servers).
//!
//! [`Client`] knows a list of nodes and fails over between them: a node that does not answer,
//! or answers -500/-503, is skipped for the next one. [`Client::keep_registered`] registers an
//! instance and renews it every 30 s, registering again when a node answers -404;
//! [`Client::watch`] long-polls a set of apps with `polls`, resetting its cursors whenever it
//! moves to another node (cursors are per node). [`Client::refresh_nodes`] learns the node
//! list from the registry itself (`infra.discovery`). [`Client::with_token`] sends a bearer
//! token (a node with a write token refuses writes without it) and [`Client::with_tls_ca`]
//! speaks TLS to nodes that serve it. It is built on the crate's hyper client, so it runs
//! under madsim too.

mod registration;
mod watch;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::Method;

use crate::api::{
    CancelArgs, Code, Envelope, FetchArgs, InstanceInfo, Metadata, RegisterArgs, RenewArgs,
    Request, Route, SetArgs, Status, StatusFilter,
};
use crate::core::DISCOVERY_APPID;
use crate::http_client::{self, HttpError, HttpRequest};

pub use registration::Registration;
pub use watch::Watcher;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No node is configured.
    #[error("no registry node is known")]
    NoNodes,
    /// Every node was tried and none answered usably; the last failure (connect, exchange,
    /// body or timeout).
    #[error("no registry node answered: {0}")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A node answered with a business code other than success.
    #[error("the registry answered {code}: {message}")]
    Refused {
        /// The business code.
        code: i32,
        /// The node's message.
        message: String,
    },
    /// The TLS trust roots could not be loaded.
    #[error("{0}")]
    Tls(String),
    /// A node answered something that is not the registry's envelope.
    #[error("unexpected answer from {node}: {problem}")]
    Protocol {
        /// The node.
        node: String,
        /// What was wrong.
        problem: String,
    },
}

/// Largest reply the client reads (fetch of a big app, polls of many apps).
const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug)]
struct Shared {
    nodes: Mutex<Vec<String>>,
    current: AtomicUsize,
    timeout: Duration,
}

/// A handle on a registry cluster; cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    shared: Arc<Shared>,
    /// `Authorization: Bearer` value sent with every request.
    token: Option<Arc<Token>>,
    /// TLS trust roots; `None` speaks plain HTTP.
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// A bearer token; its `Debug` never shows it.
struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(redacted)")
    }
}

impl Client {
    /// A client of the nodes at `nodes` (`host:port`, `http://host:port` or
    /// `https://host:port`; TLS is chosen by [`Client::with_tls_ca`], not by the scheme).
    pub fn new(nodes: Vec<String>) -> Client {
        Client {
            shared: Arc::new(Shared {
                nodes: Mutex::new(nodes.iter().map(|n| strip_scheme(n)).collect()),
                current: AtomicUsize::new(0),
                timeout: Duration::from_secs(5),
            }),
            token: None,
            tls: None,
        }
    }

    /// This client, sending `Authorization: Bearer <token>` with every request (the write
    /// token of nodes that require one).
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(Arc::new(Token(token.into())));
        self
    }

    /// This client, speaking TLS to the nodes and trusting the PEM certificates in `ca_file`.
    pub fn with_tls_ca(mut self, ca_file: &std::path::Path) -> Result<Client, ClientError> {
        let config = crate::runtime::tls_client_config(ca_file).map_err(ClientError::Tls)?;
        self.tls = Some(config);
        Ok(self)
    }

    /// The nodes known, in failover order.
    pub fn nodes(&self) -> Vec<String> {
        // A poisoned lock only means another thread panicked mid-update of a plain Vec.
        self.shared
            .nodes
            .lock()
            .map(|n| n.clone())
            .unwrap_or_default()
    }

    /// The node requests go to first.
    pub fn current_node(&self) -> Option<String> {
        let nodes = self.nodes();
        let at = self.shared.current.load(Ordering::Relaxed);
        nodes.get(at % nodes.len().max(1)).cloned()
    }

    /// Moves on to the next node (after `node` failed).
    fn advance_from(&self, node: &str) {
        #[cfg(madsim)]
        if crate::knobs::on(crate::knobs::Knob::NoFailover) {
            return;
        }
        let nodes = self.nodes();
        if let Some(at) = nodes.iter().position(|n| n == node) {
            self.shared
                .current
                .store((at + 1) % nodes.len(), Ordering::Relaxed);
        }
    }

    /// Registers `instance` once.
    pub async fn register(&self, instance: &RegisterArgs) -> Result<(), ClientError> {
        let envelope = self.call(&Request::Register(instance.clone())).await?;
        expect_ok(envelope).map(|_| ())
    }

    /// Renews `instance` once: `Ok(Code::Ok)`, or `Ok(Code::NothingFound)` when the node does
    /// not know it (register again).
    pub async fn renew(&self, instance: &RegisterArgs) -> Result<Code, ClientError> {
        let request = Request::Renew(RenewArgs {
            key: instance.key.clone(),
            replication: false,
            dirty_timestamp: 0,
        });
        let envelope = self.call(&request).await?;
        match code(&envelope) {
            Some(Code::NothingFound) => Ok(Code::NothingFound),
            _ => expect_ok(envelope).map(|_| Code::Ok),
        }
    }

    /// Cancels `instance`.
    pub async fn cancel(&self, instance: &RegisterArgs) -> Result<(), ClientError> {
        let request = Request::Cancel(CancelArgs {
            key: instance.key.clone(),
            replication: false,
            latest_timestamp: 0,
        });
        expect_ok(self.call(&request).await?).map(|_| ())
    }

    /// Changes the status and/or the metadata (merged into what is there) of `instance`; `None`
    /// leaves that part alone.
    pub async fn set(
        &self,
        instance: &RegisterArgs,
        status: Option<Status>,
        metadata: Option<Metadata>,
    ) -> Result<(), ClientError> {
        let key = &instance.key;
        let request = Request::Set(SetArgs {
            zone: key.zone.clone(),
            env: key.env.clone(),
            appid: key.appid.clone(),
            hostnames: vec![key.hostname.clone()],
            statuses: status.into_iter().collect(),
            metadata: metadata.into_iter().collect(),
            replication: false,
            set_timestamp: 0,
        });
        expect_ok(self.call(&request).await?).map(|_| ())
    }

    /// The instances of `appid` in `env`, in every zone, whatever their status.
    pub async fn fetch(&self, env: &str, appid: &str) -> Result<InstanceInfo, ClientError> {
        let request = Request::Fetch(FetchArgs {
            zone: Default::default(),
            env: env.into(),
            appid: appid.into(),
            status: StatusFilter::ALL,
        });
        let node = self.current_node().unwrap_or_default();
        let data = expect_ok(self.call(&request).await?)?;
        serde_json::from_value(data).map_err(|e| ClientError::Protocol {
            node,
            problem: e.to_string(),
        })
    }

    /// Replaces the node list with the registry nodes registered as `infra.discovery` in
    /// `env`; keeps the old list if none is found.
    pub async fn refresh_nodes(&self, env: &str) -> Result<Vec<String>, ClientError> {
        let info = self.fetch(env, DISCOVERY_APPID).await?;
        let mut found: Vec<String> = info
            .instances
            .values()
            .flatten()
            .filter_map(|i| i.addrs.first())
            .map(|a| strip_scheme(a))
            .collect();
        found.sort();
        found.dedup();
        if !found.is_empty() {
            let current = self.current_node();
            if let Ok(mut nodes) = self.shared.nodes.lock() {
                *nodes = found.clone();
            }
            let at = current.and_then(|c| found.iter().position(|n| *n == c));
            self.shared
                .current
                .store(at.unwrap_or(0), Ordering::Relaxed);
        }
        Ok(found)
    }

    /// Registers `instance` and keeps it registered (renew every `interval`, 30 s in
    /// production) until the returned handle is cancelled or dropped.
    pub fn keep_registered(&self, instance: RegisterArgs, interval: Duration) -> Registration {
        Registration::start(self.clone(), instance, interval)
    }

    /// Watches `appids` in `env` by long-poll; `hostname` names the watcher to the server.
    pub fn watch(&self, env: &str, hostname: &str, appids: &[&str]) -> Watcher {
        Watcher::new(self.clone(), env, hostname, appids)
    }

    /// Sends `request` to the current node, failing over to each other node once.
    async fn call(&self, request: &Request) -> Result<Envelope<serde_json::Value>, ClientError> {
        let attempts = self.nodes().len();
        let mut last = ClientError::NoNodes;
        for _ in 0..attempts {
            let Some(node) = self.current_node() else {
                break;
            };
            match self.call_on(&node, request, self.shared.timeout).await {
                Ok(envelope) if fails_over(code(&envelope)) => last = refused(envelope),
                Ok(envelope) => return Ok(envelope),
                Err(error) => last = error,
            }
            self.advance_from(&node);
        }
        Err(last)
    }

    /// Sends `request` to `node` only.
    async fn call_on(
        &self,
        node: &str,
        request: &Request,
        timeout: Duration,
    ) -> Result<Envelope<serde_json::Value>, ClientError> {
        let (route, form) = request.to_form();
        let encoded = form.encode();
        let (path, body, content_type) = if route.is_post() {
            (
                route.path().to_string(),
                encoded,
                Some("application/x-www-form-urlencoded"),
            )
        } else {
            (format!("{}?{encoded}", route.path()), String::new(), None)
        };
        let response = http_client::send(HttpRequest {
            addr: node,
            method: method(route),
            path: &path,
            headers: self
                .token
                .iter()
                .map(|token| ("authorization", format!("Bearer {}", token.0)))
                .collect(),
            content_type,
            body: body.into(),
            timeout,
            max_response_bytes: MAX_REPLY_BYTES,
            tls: self.tls.clone(),
        })
        .await
        .map_err(unreachable)?;
        serde_json::from_slice(&response.body).map_err(|e| ClientError::Protocol {
            node: node.to_string(),
            problem: format!("HTTP {}: {e}", response.status),
        })
    }
}

fn method(route: Route) -> Method {
    if route.is_post() {
        Method::POST
    } else {
        Method::GET
    }
}

fn strip_scheme(addr: &str) -> String {
    addr.trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string()
}

/// The business code of `envelope`; `None` for a code this client does not know.
fn code(envelope: &Envelope<serde_json::Value>) -> Option<Code> {
    Code::try_from(envelope.code).ok()
}

/// Whether a node that answered `code` cannot serve now, so the next node is tried.
fn fails_over(code: Option<Code>) -> bool {
    matches!(code, Some(Code::NotReady | Code::ServerError))
}

fn unreachable(error: HttpError) -> ClientError {
    ClientError::Unreachable(Box::new(error))
}

fn refused(envelope: Envelope<serde_json::Value>) -> ClientError {
    ClientError::Refused {
        code: envelope.code,
        message: envelope.message.into(),
    }
}

fn expect_ok(envelope: Envelope<serde_json::Value>) -> Result<serde_json::Value, ClientError> {
    if code(&envelope) == Some(Code::Ok) {
        Ok(envelope.data.unwrap_or_default())
    } else {
        Err(refused(envelope))
    }
}
