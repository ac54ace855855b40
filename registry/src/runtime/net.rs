//! [`Network`] over HTTP: replies complete the oneshot channel of the waiting HTTP handler
//! (reads that share answers get the view's shared encoding, see [`Answers`]); peer messages
//! go to the [`PeerSender`].

use std::collections::BTreeMap;

use tokio::sync::oneshot;

use super::answers::{Answer, Answers, Fetched, View};
use super::peer_sender::PeerSender;
use crate::api::{Code, PeerMessage, Reply};
use crate::core::{Network, RequestId};

/// The node's way out in production.
#[derive(Debug)]
pub(crate) struct HttpNetwork {
    awaiting_reply: BTreeMap<RequestId, Awaiting>,
    peer_sender: PeerSender,
    answers: Answers,
    fetched: Fetched,
}

/// A handler waiting for its reply.
#[derive(Debug)]
struct Awaiting {
    reply: oneshot::Sender<Answer>,
    /// The view whose shared encoding it takes; `None` for the reply itself.
    view: Option<Box<View>>,
    /// A fetch: its successful answer goes to [`Fetched`] too.
    fetch: bool,
}

impl HttpNetwork {
    pub(crate) fn new(peer_sender: PeerSender) -> HttpNetwork {
        HttpNetwork {
            awaiting_reply: BTreeMap::new(),
            peer_sender,
            answers: Answers::default(),
            fetched: Fetched::default(),
        }
    }

    /// Remembers who waits for the reply to `id`, and the view it shares answers with (and
    /// keeps in [`Fetched`] when `fetch`).
    pub(crate) fn await_reply(
        &mut self,
        id: RequestId,
        reply: oneshot::Sender<Answer>,
        view: Option<Box<View>>,
        fetch: bool,
    ) {
        self.awaiting_reply
            .insert(id, Awaiting { reply, view, fetch });
    }

    /// The fetch answers handlers serve without the node (the driver empties it).
    pub(crate) fn fetched(&self) -> &Fetched {
        &self.fetched
    }

    /// The handler of `id` went away; its reply, if any comes, goes nowhere.
    pub(crate) fn forget(&mut self, id: RequestId) {
        self.awaiting_reply.remove(&id);
    }
}

impl Network for HttpNetwork {
    fn reply(&mut self, to: RequestId, reply: Reply) {
        if let Some(handler) = self.awaiting_reply.remove(&to) {
            let answer = match handler.view {
                Some(view) => {
                    let code = reply.code;
                    let keep = (handler.fetch && code == Code::Ok).then(|| (*view).clone());
                    let body = self.answers.encode(*view, reply);
                    if let Some(view) = keep {
                        self.fetched.insert(view, body.clone());
                    }
                    Answer::Encoded { code, body }
                }
                None => Answer::Reply(reply),
            };
            // The handler may have gone in the meantime; then nobody wants the reply.
            let _ = handler.reply.send(answer);
        }
    }

    fn send(&mut self, addr: &str, message: PeerMessage) {
        self.peer_sender.send(addr, &message);
    }
}
