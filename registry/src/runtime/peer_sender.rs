//! Fire-and-forget delivery of peer messages: `POST http://{addr}/internal/peer`, or
//! `https://` when the node has TLS (every node of a TLS cluster serves TLS).
//!
//! Each peer gets a bounded queue and a worker that keeps at most [`MAX_OPEN_POSTS`] POSTs open
//! at once. A full queue or a failed POST drops the message: the core retries replication on
//! its own timeouts and anti-entropy repairs the rest, so the runtime never retries.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use tokio::sync::{mpsc, Semaphore};

use super::peer_auth::PeerAuth;
use crate::api::PeerMessage;
use crate::http_client::{self, HttpRequest};

/// The path peers POST their messages to.
pub(crate) const PEER_PATH: &str = "/internal/peer";
/// The header naming the sender's `host:port`.
pub(crate) const FROM_HEADER: &str = "x-registry-from";
/// Most concurrent POSTs to one peer.
const MAX_OPEN_POSTS: usize = 4;
/// Most messages waiting for one peer before new ones are dropped.
const QUEUE_LEN: usize = 1024;
/// A POST not answered within this is abandoned (the core will retry if it matters).
const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// Outcomes of peer POSTs, for metrics.
#[derive(Debug, Default)]
pub(crate) struct PeerPostCounters {
    /// Answered 2xx.
    pub(crate) delivered: AtomicU64,
    /// Connection refused, timed out or answered non-2xx.
    pub(crate) failed: AtomicU64,
    /// Dropped because the peer's queue was full.
    pub(crate) dropped: AtomicU64,
}

impl PeerPostCounters {
    /// The counts now.
    pub(crate) fn read(&self) -> PeerPosts {
        PeerPosts {
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// [`PeerPostCounters`] read at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PeerPosts {
    /// Answered 2xx.
    pub(crate) delivered: u64,
    /// Connection refused, timed out or answered non-2xx.
    pub(crate) failed: u64,
    /// Dropped because the peer's queue was full.
    pub(crate) dropped: u64,
}

/// Routes each outgoing message to its peer's queue.
#[derive(Debug)]
pub(crate) struct PeerSender {
    own_addr: String,
    auth: PeerAuth,
    tls: Option<Arc<rustls::ClientConfig>>,
    queues: BTreeMap<String, mpsc::Sender<Bytes>>,
    counters: Arc<PeerPostCounters>,
}

impl PeerSender {
    pub(crate) fn new(
        own_addr: String,
        auth: PeerAuth,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> PeerSender {
        PeerSender {
            own_addr,
            auth,
            tls,
            queues: BTreeMap::new(),
            counters: Arc::default(),
        }
    }

    pub(crate) fn counters(&self) -> Arc<PeerPostCounters> {
        self.counters.clone()
    }

    /// Queues `message` for `addr`; never blocks the node.
    pub(crate) fn send(&mut self, addr: &str, message: &PeerMessage) {
        #[cfg(madsim)]
        if crate::knobs::on(crate::knobs::Knob::DropPeerMessages) {
            return;
        }
        let body = match serde_json::to_vec(message) {
            Ok(body) => Bytes::from(body),
            Err(error) => {
                tracing::error!(%error, "peer message does not serialize");
                return;
            }
        };
        let queue = self.queues.entry(addr.to_string()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE_LEN);
            let worker = Worker {
                to: addr.to_string(),
                from: self.own_addr.clone(),
                auth: self.auth.clone(),
                tls: self.tls.clone(),
                counters: self.counters.clone(),
            };
            tokio::task::spawn(worker.run(rx));
            tx
        });
        if queue.try_send(body).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Worker {
    to: String,
    from: String,
    auth: PeerAuth,
    tls: Option<Arc<rustls::ClientConfig>>,
    counters: Arc<PeerPostCounters>,
}

impl Worker {
    async fn run(self, mut queue: mpsc::Receiver<Bytes>) {
        let worker = Arc::new(self);
        let permits = Arc::new(Semaphore::new(MAX_OPEN_POSTS));
        while let Some(body) = queue.recv().await {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return; // the semaphore is never closed; nothing to do if it were
            };
            let worker = worker.clone();
            tokio::task::spawn(async move {
                worker.post(body).await;
                drop(permit);
            });
        }
    }

    async fn post(&self, body: Bytes) {
        let request = HttpRequest {
            addr: &self.to,
            method: Method::POST,
            path: PEER_PATH,
            // Signed when the POST starts, so a message that waited in the queue is still
            // inside the receiver's replay window.
            headers: std::iter::once((FROM_HEADER, self.from.clone()))
                .chain(self.auth.headers(&self.from, &body))
                .collect(),
            content_type: Some("application/json"),
            body,
            timeout: POST_TIMEOUT,
            max_response_bytes: 4096,
            tls: self.tls.clone(),
        };
        match http_client::send(request).await {
            Ok(response) if (200..300).contains(&response.status) => {
                self.counters.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Ok(response) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(peer = %self.to, status = response.status, "peer refused message");
            }
            Err(error) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(peer = %self.to, %error, "peer unreachable");
            }
        }
    }
}
