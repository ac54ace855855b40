//! A minimal HTTP/1.1 client on hyper's connection API, shared by the runtime's peer
//! replication and the client SDK (crate-private: neither exports it): one connection per
//! request, a deadline over the whole exchange, and a cap on the response body.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Why an HTTP exchange failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    /// The TCP connection could not be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The request could not be built (bad address or path).
    #[error("invalid request: {0}")]
    Build(#[from] hyper::http::Error),
    /// The connection broke during the exchange.
    #[error("HTTP exchange failed: {0}")]
    Exchange(#[from] hyper::Error),
    /// The response body was larger than allowed, or broke off.
    #[error("response body unreadable: {0}")]
    Body(String),
    /// No complete response within the deadline.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

/// A response read completely.
#[derive(Clone, Debug)]
pub(crate) struct HttpResponse {
    /// The HTTP status code.
    pub(crate) status: u16,
    /// The whole body.
    pub(crate) body: Bytes,
}

/// One outgoing request.
#[derive(Clone, Debug)]
pub(crate) struct HttpRequest<'a> {
    /// `host:port` to connect to.
    pub(crate) addr: &'a str,
    /// GET or POST.
    pub(crate) method: Method,
    /// Path and query, e.g. `/discovery/fetch?appid=a`.
    pub(crate) path: &'a str,
    /// Extra headers.
    pub(crate) headers: Vec<(&'static str, String)>,
    /// The `content-type` of `body`, if any.
    pub(crate) content_type: Option<&'static str>,
    /// The body (empty for GET).
    pub(crate) body: Bytes,
    /// Deadline over connect, send and receive.
    pub(crate) timeout: Duration,
    /// Most response body bytes accepted.
    pub(crate) max_response_bytes: usize,
}

/// Sends `request` and reads the whole response, within `request.timeout`.
pub(crate) async fn send(request: HttpRequest<'_>) -> Result<HttpResponse, HttpError> {
    let deadline = request.timeout;
    tokio::time::timeout(deadline, exchange(request))
        .await
        .map_err(|_| HttpError::Timeout(deadline))?
}

async fn exchange(request: HttpRequest<'_>) -> Result<HttpResponse, HttpError> {
    let stream = TcpStream::connect(request.addr)
        .await
        .map_err(|source| HttpError::Connect {
            addr: request.addr.to_string(),
            source,
        })?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection future drives the socket; it ends when the exchange does (or fails,
    // which `send_request` reports).
    tokio::task::spawn(async move {
        let _ = connection.await;
    });
    let mut builder = Request::builder()
        .method(request.method)
        .uri(request.path)
        .header(HOST, request.addr);
    if let Some(content_type) = request.content_type {
        builder = builder.header(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    for (name, value) in request.headers {
        builder = builder.header(name, value);
    }
    let response = sender
        .send_request(builder.body(Full::new(request.body))?)
        .await?;
    let status = response.status().as_u16();
    let body = Limited::new(response.into_body(), request.max_response_bytes)
        .collect()
        .await
        .map_err(|e| HttpError::Body(e.to_string()))?
        .to_bytes();
    Ok(HttpResponse { status, body })
}
