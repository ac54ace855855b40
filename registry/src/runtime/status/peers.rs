//! Asking the peers for their status: `GET /status.json?apps=false` on every peer at once,
//! each bounded by [`PEER_TIMEOUT`], so a slow or dead peer delays the page by that much at
//! most and never the driver (the requests run in tasks of their own, not in the driver).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hyper::Method;

use super::model::StatusDoc;
use super::page::PeerAnswer;
use crate::api::SmolStr;
use crate::http_client::{self, HttpRequest};
use crate::runtime::now_unix_ms;

/// How long a peer has to answer.
pub(crate) const PEER_TIMEOUT: Duration = Duration::from_millis(500);
/// A peer's document without apps is a few kilobytes; anything this large is not one.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// The path and query peers are asked.
pub(crate) const PEER_STATUS_PATH: &str = "/status.json?apps=false";

/// How this node reaches its peers' status, and when each last answered.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerStatus {
    /// TLS trust roots for peers; `None` speaks plain HTTP.
    tls: Option<Arc<rustls::ClientConfig>>,
    last_answers: Arc<Mutex<BTreeMap<SmolStr, i64>>>,
}

impl PeerStatus {
    pub(crate) fn new(tls: Option<Arc<rustls::ClientConfig>>) -> PeerStatus {
        PeerStatus {
            tls,
            last_answers: Arc::default(),
        }
    }

    /// Asks every peer of `own` at once; answers in the order of `own.peers`.
    pub(crate) async fn ask(&self, own: &StatusDoc) -> Vec<PeerAnswer> {
        let asks: Vec<_> = own
            .peers
            .iter()
            .map(|peer| {
                let (addr, tls) = (peer.addr.clone(), self.tls.clone());
                let task = tokio::task::spawn(async move { fetch(&addr, tls).await });
                (peer.addr.clone(), task)
            })
            .collect();
        let mut answers = Vec::with_capacity(asks.len());
        for (addr, task) in asks {
            let result = task
                .await
                .unwrap_or_else(|_| Err("the request was cancelled".to_string()));
            let now = i64::try_from(now_unix_ms()).unwrap_or(i64::MAX);
            answers.push(self.answer(addr, result, now));
        }
        answers
    }

    /// Records a successful answer's time and attaches the last one to the answer.
    fn answer(&self, addr: SmolStr, result: Result<StatusDoc, String>, now: i64) -> PeerAnswer {
        // A panic elsewhere while holding the lock leaves a map that is still valid.
        let mut last = self
            .last_answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if result.is_ok() {
            last.insert(addr.clone(), now);
        }
        let last_answer_unix_ms = last.get(&addr).copied();
        let (status, error) = match result {
            Ok(doc) => (Some(doc), None),
            Err(error) => (None, Some(error)),
        };
        PeerAnswer {
            addr,
            status,
            error,
            last_answer_unix_ms,
        }
    }
}

async fn fetch(addr: &str, tls: Option<Arc<rustls::ClientConfig>>) -> Result<StatusDoc, String> {
    let request = HttpRequest {
        addr,
        method: Method::GET,
        path: PEER_STATUS_PATH,
        headers: Vec::new(),
        content_type: None,
        body: Bytes::new(),
        timeout: PEER_TIMEOUT,
        max_response_bytes: MAX_ANSWER_BYTES,
        tls,
    };
    let response = http_client::send(request)
        .await
        .map_err(|error| error.to_string())?;
    if response.status != 200 {
        return Err(format!("answered HTTP {}", response.status));
    }
    serde_json::from_slice(&response.body)
        .map_err(|error| format!("not a status document: {error}"))
}
