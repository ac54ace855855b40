//! The production runtime: drives a [`crate::core::Node`] with the system clock and HTTP.
//!
//! One tokio task owns the node and is its only writer (`driver.rs`); HTTP handlers and peers
//! reach it through a channel. It sleeps until the node's next deadline or the next command.
//! Replies complete the oneshot channels of waiting handlers; peer messages are POSTed as JSON
//! to `http://{addr}/internal/peer` (`https://` when the node has TLS), fire and forget.
//! Operators read the node (and its peers) on the status page at `/` (`status/`). tokio
//! comes through the `madsim-tokio` alias and the server and client use hyper's connection
//! APIs, so the same code can run under madsim.

mod access;
mod answers;
mod clock;
mod driver;
mod eureka;
mod handle;
mod limits;
mod metrics;
mod net;
mod peer_auth;
mod peer_sender;
mod per_client;
// Drives the router on a tokio test runtime, which madsim does not provide.
#[cfg(all(test, not(madsim)))]
mod router_tests;
mod routes;
mod server;
mod settings;
mod settings_file;
mod status;
mod streamed;
mod timer;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

// Exported: what the `registry` binary and the real-process tests (`tests/tests/http`) use,
// and the types in those items' signatures. Everything else is crate-private.
pub use access::{ADMIN_TOKEN_ENV, MIN_TOKEN_BYTES, WRITE_TOKEN_ENV};
pub use peer_auth::{
    now_unix_ms, PeerAuth, Secret, SecretTooShort, MIN_SECRET_BYTES, PREVIOUS_SECRET_ENV,
    SECRET_ENV, SIGNATURE_HEADER, TIME_HEADER,
};
pub use settings::{parse_protection_override, LogFormat, Overrides, Settings, SettingsError};

pub(crate) use tls::client_config as tls_client_config;

use crate::core::{ConfigError, Node};
use access::AuthRefusals;
use clock::SystemClock;
use driver::Driver;
use handle::NodeHandle;
use net::HttpNetwork;
use peer_auth::PeerRefusals;
use peer_sender::PeerSender;
use per_client::PerClient;

/// Commands waiting for the node task before handlers wait in turn (back-pressure).
const COMMAND_QUEUE: usize = 4096;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The node refused its configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A running node: its server and its driver task.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    node: NodeHandle,
    stop_accepting: watch::Sender<bool>,
    server: JoinHandle<()>,
    driver: JoinHandle<()>,
}

/// Binds the listen address, starts the node task and serves HTTP.
pub async fn start(settings: Settings) -> Result<Running, StartError> {
    let listener = TcpListener::bind(&settings.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: settings.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: settings.listen.clone(),
        source,
    })?;
    let http_limits = settings.http_limits.clone();
    let tls = settings
        .tls
        .server
        .clone()
        .map(tokio_rustls::TlsAcceptor::from);
    let Launched {
        router,
        node,
        driver,
        per_client,
    } = launch(settings)?;
    let (stop_accepting, stop) = watch::channel(false);
    let server = tokio::task::spawn(server::serve(
        listener,
        router,
        http_limits,
        tls,
        per_client,
        stop,
    ));
    Ok(Running {
        addr,
        node,
        stop_accepting,
        server,
        driver,
    })
}

/// Starts a node, serves until `shutdown` completes, then shuts down gracefully. The one serve
/// path of the binary (which passes SIGINT/SIGTERM) and of the madsim tests (which pass
/// madsim's ctrl-c), so the simulation exercises the shutdown users get.
pub async fn serve_until(
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let identity = settings.config.identity.clone();
    let seeds = settings.config.cluster.seeds.clone();
    let (tls, write_token, admin_token) = (
        settings.tls_on(),
        settings.write_token_on(),
        settings.admin_token_on(),
    );
    if !settings.peer_auth.is_on() {
        tracing::warn!(
            "PEER AUTHENTICATION IS OFF: anyone who can reach this node can write to the registry as a peer. Set {} (at least {} bytes, the same on every node) to sign and verify peer messages.",
            SECRET_ENV,
            MIN_SECRET_BYTES
        );
    }
    let running = start(settings).await?;
    tracing::info!(addr = %running.addr(), hostname = %identity.hostname, zone = %identity.zone, env = %identity.env, ?seeds, tls, write_token, admin_token, "serving");
    shutdown.await;
    tracing::info!("shutting down");
    #[cfg(madsim)]
    if crate::knobs::on(crate::knobs::Knob::AbruptStop) {
        return Ok(());
    }
    running.shutdown().await;
    Ok(())
}

/// A node task and the router in front of it, before any socket: what [`start`] serves, and
/// what the router tests drive with `tower::ServiceExt::oneshot`.
#[derive(Debug)]
pub(crate) struct Launched {
    pub(crate) router: axum::Router,
    pub(crate) node: NodeHandle,
    pub(crate) driver: JoinHandle<()>,
    /// Connections and polls held per client address (the server and the router share it).
    pub(crate) per_client: Arc<PerClient>,
}

/// Starts the node task and builds its router; binds nothing.
pub(crate) fn launch(settings: Settings) -> Result<Launched, ConfigError> {
    let peer_status = status::PeerStatus::new(settings.tls.peers.clone());
    let peer_sender = PeerSender::new(
        settings.config.identity.addr.to_string(),
        settings.peer_auth.clone(),
        settings.tls.peers.clone(),
    );
    let auth_refusals = Arc::new(AuthRefusals::default());
    let per_client = PerClient::new(
        settings.http_limits.max_connections_per_client,
        settings.http_limits.max_polls_per_client,
    );
    let peer_refusals = Arc::new(PeerRefusals::default());
    let peer_posts = peer_sender.counters();
    let eureka_env = settings.config.identity.env.clone();
    let mut node = Node::new(
        settings.config,
        SystemClock::new(),
        HttpNetwork::new(peer_sender),
    )?;
    node.set_protection_override(settings.protection);
    let (commands_tx, commands) = mpsc::channel(COMMAND_QUEUE);
    let (abandons_tx, abandons) = mpsc::unbounded_channel();
    let handle = NodeHandle::new(commands_tx, abandons_tx, node.net().fetched().clone());
    let driver = tokio::task::spawn(
        Driver {
            node,
            commands,
            abandons,
            peer_posts,
            peer_refusals: peer_refusals.clone(),
            auth_refusals: auth_refusals.clone(),
            per_client: per_client.clone(),
            drain: settings.shutdown_drain,
            history: status::History::default(),
        }
        .run(),
    );
    let state = routes::AppState {
        node: handle.clone(),
        limits: settings.http_limits,
        auth: settings.peer_auth,
        refusals: peer_refusals,
        api_auth: settings.api_auth,
        auth_refusals,
        per_client: per_client.clone(),
        peer_status,
        eureka_env,
    };
    Ok(Launched {
        router: routes::router(state),
        node: handle,
        driver,
        per_client,
    })
}

impl Running {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Graceful shutdown: the node cancels its own registration and answers parked polls,
    /// waits (bounded) for peers to acknowledge, then the server stops accepting.
    pub async fn shutdown(self) {
        self.node.shutdown().await;
        // Let handlers that were just answered write their responses.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let _ = self.stop_accepting.send(true);
        let _ = self.server.await;
        let _ = self.driver.await;
    }
}
