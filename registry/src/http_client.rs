//! A minimal HTTP/1.1 client on hyper's connection API, shared by the runtime's peer
//! replication and the client SDK (crate-private: neither exports it): one connection per
//! request, a deadline over the whole exchange, and a cap on the response body; over TLS
//! when given a client configuration.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

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
    /// The TLS handshake failed (an untrusted or mismatched certificate, or a server that
    /// does not speak TLS).
    #[error("TLS with {addr} failed: {problem}")]
    Tls {
        /// The address tried.
        addr: String,
        /// What went wrong.
        problem: String,
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
    /// TLS trust roots; `None` speaks plain HTTP.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
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
    let Some(tls) = request.tls.clone() else {
        return exchange_on(stream, request).await;
    };
    let tls_error = |problem: String| HttpError::Tls {
        addr: request.addr.to_string(),
        problem,
    };
    let name = server_name(request.addr).map_err(tls_error)?;
    let stream = TlsConnector::from(tls)
        .connect(name, stream)
        .await
        .map_err(|e| tls_error(e.to_string()))?;
    exchange_on(stream, request).await
}

async fn exchange_on<S>(stream: S, request: HttpRequest<'_>) -> Result<HttpResponse, HttpError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
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

/// The name a server at `addr` (`host:port`, `[v6]:port`) must present a certificate for.
fn server_name(addr: &str) -> Result<ServerName<'static>, String> {
    let host = match addr.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => addr,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(|e| format!("{addr}: not a TLS name: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_name_is_the_host_of_the_address() {
        let name = |addr| server_name(addr).map(|n| n.to_str().into_owned());
        assert_eq!(name("127.0.0.1:7171").as_deref(), Ok("127.0.0.1"));
        assert_eq!(name("[::1]:7171").as_deref(), Ok("::1"));
        assert_eq!(
            name("registry-0.example:443").as_deref(),
            Ok("registry-0.example")
        );
        assert_eq!(name("node").as_deref(), Ok("node"));
        assert!(server_name("bad name:1").is_err());
    }
}
