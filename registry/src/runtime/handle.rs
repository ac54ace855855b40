//! How HTTP handlers reach the driver task: a cloneable handle over its command channel.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::answers::{self, Answer, Fetched, View};
use super::driver::Command;
use super::status::StatusDoc;
use crate::api::{Code, PeerMessage, Reply, Request};
use crate::core::{ProtectionOverride, RequestId};

/// A cloneable way to talk to the node task.
#[derive(Clone, Debug)]
pub(crate) struct NodeHandle {
    commands: mpsc::Sender<Command>,
    abandons: mpsc::UnboundedSender<RequestId>,
    next_id: Arc<AtomicU64>,
    /// Fetch answers served without a trip to the node while it is unchanged.
    fetched: Fetched,
}

/// Sends `handle_abandon` if the handler is dropped before its reply came: hyper drops the
/// handler's future when the client closes the connection of a parked long-poll.
struct AbandonOnDrop {
    id: RequestId,
    abandons: mpsc::UnboundedSender<RequestId>,
    armed: bool,
}

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        if self.armed {
            // If the driver is gone there is nobody left to tell.
            let _ = self.abandons.send(self.id);
        }
    }
}

/// The reply to a request a stopping (or stopped) node reads: -503, so that clients try
/// another node. -500 is kept for states the node's invariants rule out.
fn stopped() -> Reply {
    Reply::error(
        Code::NotReady,
        "the node is stopping (graceful shutdown): ask another node",
    )
}

impl NodeHandle {
    pub(crate) fn new(
        commands: mpsc::Sender<Command>,
        abandons: mpsc::UnboundedSender<RequestId>,
        fetched: Fetched,
    ) -> NodeHandle {
        NodeHandle {
            commands,
            abandons,
            next_id: Arc::new(AtomicU64::new(1)),
            fetched,
        }
    }

    /// Hands `request` to the node and waits for its reply (for a long-poll, up to the hold).
    pub(crate) async fn request(&self, request: Request) -> Reply {
        match self.ask(request, None).await {
            Answer::Reply(reply) => reply,
            // Only a request naming a view is answered encoded.
            Answer::Encoded { .. } => Reply::error(
                Code::ServerError,
                "an encoded answer to a request that asked for none",
            ),
        }
    }

    /// [`NodeHandle::request`], answered with the JSON envelope: reads share the encoding of
    /// their view with every other request for it (see `answers.rs`).
    pub(crate) async fn request_encoded(&self, request: Request) -> Answer {
        let view = View::of(&request);
        if let Some(view) = view.as_ref().filter(|_| answers::is_fetch(&request)) {
            if let Some(body) = self.fetched.get(view) {
                return Answer::Encoded {
                    code: Code::Ok,
                    body,
                };
            }
        }
        self.ask(request, view.map(Box::new)).await
    }

    async fn ask(&self, request: Request, view: Option<Box<View>>) -> Answer {
        let id = RequestId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (reply, answer) = oneshot::channel();
        let command = Command::Request {
            id,
            request,
            reply,
            view,
        };
        if self.commands.send(command).await.is_err() {
            return Answer::Reply(stopped());
        }
        // Armed right after the send with no await in between: from here on, the node knows
        // the request, so a drop must tell it.
        let mut guard = AbandonOnDrop {
            id,
            abandons: self.abandons.clone(),
            armed: true,
        };
        let answer = answer.await.unwrap_or_else(|_| Answer::Reply(stopped()));
        guard.armed = false;
        answer
    }

    /// Hands a peer's message to the node; false if the node has stopped.
    pub(crate) async fn peer(&self, from: String, message: PeerMessage) -> bool {
        self.commands
            .send(Command::Peer { from, message })
            .await
            .is_ok()
    }

    /// The metrics text, if the node still runs.
    pub(crate) async fn metrics(&self) -> Option<String> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Metrics(tx)).await.ok()?;
        rx.await.ok()
    }

    /// The status page's view of the node, if it still runs.
    pub(crate) async fn status(&self) -> Option<StatusDoc> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Status(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Sets the node's protection override; false if the node is stopping.
    pub(crate) async fn set_protection(&self, mode: ProtectionOverride) -> bool {
        let (tx, rx) = oneshot::channel();
        let command = Command::SetProtection { mode, done: tx };
        if self.commands.send(command).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Whether the node serves reads; `None` if it has stopped.
    pub(crate) async fn ready(&self) -> Option<bool> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Ready(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Shuts the node down gracefully and waits until it has.
    pub(crate) async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.commands.send(Command::Shutdown { done }).await.is_ok() {
            let _ = finished.await;
        }
    }
}
