//! `fetch/all` answered as it is encoded.
//!
//! The whole registry in one JSON text (38 MB for 100,000 instances) used to be encoded into
//! one buffer and sent from it, beside the reply it was encoded from. Streamed, the body is
//! encoded some apps at a time as the connection takes it, and each app's copies are dropped
//! once encoded: the answer holds one chunk of text and the apps not yet sent, never the whole
//! text. The bytes are exactly those of [`Reply::to_json`] (a test compares them); the answer
//! goes out chunked instead of with a `content-length`.

use std::collections::{btree_map, BTreeMap};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use hyper::body::Frame;
use serde::Serialize;

use crate::api::{Data, Instance, Reply, SmolStr};

/// Text encoded before a chunk goes out: each write carries enough to be worth its system
/// call, and stays small next to the whole answer.
const CHUNK_BYTES: usize = 64 * 1024;

/// The body of a `fetch/all` answer, encoded as it is sent; any other reply back unchanged.
pub(crate) fn all_body(reply: Reply) -> Result<Body, Reply> {
    AllChunks::new(reply, CHUNK_BYTES).map(|chunks| Body::new(AllBody(chunks)))
}

/// The envelope of a `fetch/all` answer, a chunk at a time.
#[derive(Debug)]
struct AllChunks {
    /// The envelope up to the opening brace of `data` (sent first), then empty.
    head: String,
    apps: btree_map::IntoIter<SmolStr, Vec<Instance>>,
    /// No app was written yet (no comma before the next).
    first: bool,
    finished: bool,
    chunk_bytes: usize,
}

impl AllChunks {
    fn new(reply: Reply, chunk_bytes: usize) -> Result<AllChunks, Reply> {
        let Data::All(apps) = reply.data else {
            return Err(reply);
        };
        let empty = Reply {
            data: Data::All(BTreeMap::new()),
            ..reply
        };
        // `{"code":0,...,"data":{}}`: `data` is the envelope's last field, and the apps go
        // between its braces.
        let mut head = empty.to_json();
        if head.ends_with("{}}") {
            head.truncate(head.len() - 2);
        }
        Ok(AllChunks {
            head,
            apps: apps.into_iter(),
            first: true,
            finished: false,
            chunk_bytes,
        })
    }
}

impl Iterator for AllChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.finished {
            return None;
        }
        let mut text = std::mem::take(&mut self.head).into_bytes();
        while text.len() < self.chunk_bytes {
            let Some((appid, instances)) = self.apps.next() else {
                text.extend_from_slice(b"}}");
                self.finished = true;
                break;
            };
            if !std::mem::take(&mut self.first) {
                text.push(b',');
            }
            push_json(&mut text, &appid);
            text.push(b':');
            push_json(&mut text, &instances);
        }
        Some(Bytes::from(text))
    }
}

fn push_json(text: &mut Vec<u8>, value: &impl Serialize) {
    // Plain data with string keys always serializes, and a `Vec` takes every write.
    let _ = serde_json::to_writer(text, value);
}

/// [`AllChunks`] as an HTTP body: each chunk is encoded when the connection asks for it.
#[derive(Debug)]
struct AllBody(AllChunks);

impl HttpBody for AllBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.next().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.finished
    }
}

#[cfg(test)]
#[path = "streamed_tests.rs"]
mod tests;
