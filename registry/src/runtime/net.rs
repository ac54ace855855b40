//! [`Network`] over HTTP: replies complete the oneshot channel of the waiting HTTP handler;
//! peer messages go to the [`PeerSender`].

use std::collections::BTreeMap;

use tokio::sync::oneshot;

use super::peer_sender::PeerSender;
use crate::api::{PeerMessage, Reply};
use crate::core::{Network, RequestId};

/// The node's way out in production.
#[derive(Debug)]
pub(crate) struct HttpNetwork {
    awaiting_reply: BTreeMap<RequestId, oneshot::Sender<Reply>>,
    peer_sender: PeerSender,
}

impl HttpNetwork {
    pub(crate) fn new(peer_sender: PeerSender) -> HttpNetwork {
        HttpNetwork {
            awaiting_reply: BTreeMap::new(),
            peer_sender,
        }
    }

    /// Remembers who waits for the reply to `id`.
    pub(crate) fn await_reply(&mut self, id: RequestId, reply: oneshot::Sender<Reply>) {
        self.awaiting_reply.insert(id, reply);
    }

    /// The handler of `id` went away; its reply, if any comes, goes nowhere.
    pub(crate) fn forget(&mut self, id: RequestId) {
        self.awaiting_reply.remove(&id);
    }
}

impl Network for HttpNetwork {
    fn reply(&mut self, to: RequestId, reply: Reply) {
        if let Some(handler) = self.awaiting_reply.remove(&to) {
            // The handler may have gone in the meantime; then nobody wants the reply.
            let _ = handler.send(reply);
        }
    }

    fn send(&mut self, addr: &str, message: PeerMessage) {
        self.peer_sender.send(addr, &message);
    }
}
