//! Encoded read answers shared between requests: a fetch and every long-poll answer for the
//! same view of an app (the apps asked, env, zone filter, status filter) are encoded to JSON
//! once and handed out as the same [`Bytes`] until the node's answer for that view changes.
//!
//! An entry is reused only when the node's fresh reply equals the reply it was encoded from,
//! so a shared answer is always byte-identical to a fresh encoding. The app's cursor alone
//! would not do: a renew moves an instance's `renew_timestamp` (which every answer shows)
//! without moving the cursor. Comparing two replies costs far less than encoding one
//! (measured with `bench`, see README "Performance"): a fan-out of one change to a thousand
//! pollers encodes once and compares a thousand times.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::api::{Code, Reply, Request, SmolStr};

/// Views remembered at most; past this the cache starts over (a node serving more distinct
/// views than this gains little from any one of them, and memory stays bounded).
const MAX_VIEWS: usize = 4096;

/// What a request's answer depends on, besides the node's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct View {
    /// One app (`fetch`, `poll`: `Data::App`) or a map of apps (`fetchs`, `polls`).
    many: bool,
    env: SmolStr,
    zone: SmolStr,
    status_bits: u32,
    appids: Vec<SmolStr>,
}

impl View {
    /// The view a read asks for; `None` for requests whose answers are not shared (writes,
    /// `nodes`, and `fetch/all`, which is too large to keep a second copy of).
    pub(crate) fn of(request: &Request) -> Option<View> {
        use crate::api::StatusFilter;
        let view = |many, env: &SmolStr, zone: &SmolStr, status: StatusFilter, appids| View {
            many,
            env: env.clone(),
            zone: zone.clone(),
            status_bits: status.bits(),
            appids,
        };
        match request {
            Request::Fetch(a) => Some(view(
                false,
                &a.env,
                &a.zone,
                a.status,
                vec![a.appid.clone()],
            )),
            // Long-polls answer UP instances only, as a fetch with `status=1` does.
            Request::Poll(a) => Some(view(
                false,
                &a.env,
                &a.zone,
                StatusFilter::UP,
                vec![a.appid.clone()],
            )),
            Request::Fetchs(a) => Some(view(true, &a.env, &a.zone, a.status, a.appids.clone())),
            Request::Polls(a) => Some(view(
                true,
                &a.env,
                &a.zone,
                StatusFilter::UP,
                a.appids.clone(),
            )),
            _ => None,
        }
    }
}

/// The last encoding of each view.
#[derive(Debug, Default)]
pub(crate) struct Answers {
    views: HashMap<View, (Reply, Bytes)>,
}

impl Answers {
    /// The JSON envelope of `reply`, the answer to a request for `view`: the shared encoding
    /// when the view's last reply was the same, a fresh one (then shared) otherwise.
    pub(crate) fn encode(&mut self, view: View, reply: Reply) -> Bytes {
        if let Some((last, body)) = self.views.get(&view) {
            if *last == reply {
                return body.clone();
            }
        }
        let body = Bytes::from(reply.to_json());
        if self.views.len() >= MAX_VIEWS && !self.views.contains_key(&view) {
            self.views.clear();
        }
        self.views.insert(view, (reply, body.clone()));
        body
    }

    /// How many views are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.views.len()
    }
}

/// Fetch answers HTTP handlers may serve without asking the node: the encoded successful
/// answer of each fetch and fetchs view, as the node last gave it.
///
/// Valid only while the node is unchanged, so the driver empties it before every input that
/// may change what a read answers (any write, peer message, timer, stall, abandon, protection
/// or shutdown; reads and long-polls change nothing a fetch shows). Emptied before the input
/// is handled, a write's own reply always comes after: a client that saw its write answered
/// never reads an answer from before it. Only `"code":0` answers are kept: a refusal (not
/// ready, stopping) is counted by the node each time.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fetched {
    views: Arc<RwLock<HashMap<View, Bytes>>>,
}

impl Fetched {
    /// The node's last answer for `view`, if nothing changed since.
    pub(crate) fn get(&self, view: &View) -> Option<Bytes> {
        let views = self.views.read().unwrap_or_else(|p| p.into_inner());
        views.get(view).cloned()
    }

    /// Keeps the node's answer for `view` (called by the driver's network, in the node's step).
    pub(crate) fn insert(&self, view: View, body: Bytes) {
        let mut views = self.views.write().unwrap_or_else(|p| p.into_inner());
        if views.len() >= MAX_VIEWS && !views.contains_key(&view) {
            views.clear();
        }
        views.insert(view, body);
    }

    /// Forgets every answer: the node is about to take an input that may change them.
    pub(crate) fn clear(&self) {
        let mut views = self.views.write().unwrap_or_else(|p| p.into_inner());
        if !views.is_empty() {
            views.clear();
        }
    }
}

/// Whether a request's successful answer may be kept in [`Fetched`]: a fetch's depends only on
/// the node's state; a long-poll's also on the cursor it brings.
pub(crate) fn is_fetch(request: &Request) -> bool {
    matches!(request, Request::Fetch(_) | Request::Fetchs(_))
}

/// What the node sends back to an HTTP handler.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The reply itself (the handler encodes it, or reads it: the Eureka facade).
    Reply(Reply),
    /// The reply's JSON envelope, possibly shared with other requests for the same view.
    Encoded {
        /// The reply's business code (for the `kratos-status-code` header).
        code: Code,
        /// The envelope.
        body: Bytes,
    },
}

#[cfg(test)]
#[path = "answers_tests.rs"]
mod tests;
