//! The accept loop: the axum `Router` served through hyper's HTTP/1 connection API on a
//! `tokio::net::TcpListener` (not `axum::serve`, which madsim cannot drive), over TLS when
//! the node has a certificate.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::Service;

use super::limits::HttpLimits;
use super::per_client::{Capped, ClientAddr, PerClient, Slot};
use super::timer::Sleeper;

/// The smallest read buffer hyper accepts.
const MIN_BUF_BYTES: usize = 8 * 1024;

/// After a connection's last response, what the client still sends is read and discarded for
/// at most this long and this many bytes before the socket is closed ("lingering close").
/// Closing a socket with unread input makes the kernel answer with a reset, which can destroy
/// the response the client has not read yet: a body refused for its size, or a head refused
/// for its size, must arrive as a reply and not as a broken pipe.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 16 * 1024 * 1024;

/// Accepts connections until `stop` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    tls: Option<TlsAcceptor>,
    per_client: Arc<PerClient>,
    mut stop: watch::Receiver<bool>,
) {
    let limits = Arc::new(limits);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, from)) => {
                    let _ = stream.set_nodelay(true);
                    let client = ClientAddr(from.ip());
                    // The slot lives as long as the connection's task.
                    let serving = match per_client.take(client.0, Capped::Connections) {
                        Ok(slot) => Serving::Router(router.clone(), slot),
                        Err(cap) => Serving::Refusal(cap),
                    };
                    let limits = limits.clone();
                    match &tls {
                        None => tokio::task::spawn(connection(stream, client, serving, limits)),
                        Some(tls) => tokio::task::spawn(tls_connection(
                            tls.clone(),
                            stream,
                            client,
                            serving,
                            limits,
                        )),
                    };
                }
                Err(error) => {
                    // Out of file descriptors, usually: wait instead of spinning on accept.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stop.changed() => return,
        }
    }
}

/// What a connection is served with: the router while the client is within its connection
/// cap (holding its slot), else one HTTP 429 naming the cap.
enum Serving {
    Router(Router, Slot),
    Refusal(usize),
}

/// The TLS handshake (within the header read timeout), then HTTP over it. A client speaking
/// plain HTTP to a TLS node fails the handshake and gets the connection closed.
async fn tls_connection(
    tls: TlsAcceptor,
    stream: TcpStream,
    client: ClientAddr,
    serving: Serving,
    limits: Arc<HttpLimits>,
) {
    match tokio::time::timeout(limits.header_read_timeout, tls.accept(stream)).await {
        Ok(Ok(stream)) => connection(stream, client, serving, limits).await,
        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
        Err(_) => tracing::debug!("TLS handshake not finished within the header read timeout"),
    }
}

async fn connection<S>(mut stream: S, client: ClientAddr, serving: Serving, limits: Arc<HttpLimits>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // hyper answers a head over `max_header_size` with HTTP 431 (and a URI over 65,534 bytes
    // with 414: the head limit is at most 64 KiB, so that one comes first).
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(Sleeper)
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(limits.max_header_bytes.max(MIN_BUF_BYTES));
    let io = TokioIo::new(&mut stream);
    let result = match serving {
        Serving::Router(router, _slot) => {
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(client);
                    let mut router = router.clone();
                    async move {
                        Ok::<_, Infallible>(
                            router.call(request).await.unwrap_or_else(|e| match e {}),
                        )
                    }
                });
            builder.serve_connection(io, service).await
        }
        Serving::Refusal(cap) => {
            let service =
                hyper::service::service_fn(move |_request: hyper::Request<Incoming>| async move {
                    Ok::<_, Infallible>(too_many_connections(client, cap))
                });
            builder
                .keep_alive(false)
                .serve_connection(io, service)
                .await
        }
    };
    if let Err(error) = result {
        // Clients closing, timing out or sending garbage: theirs to fix, not ours to log loudly.
        tracing::debug!(%error, "connection ended with an error");
    }
    linger(&mut stream).await;
}

/// The answer on a connection past the client's cap (then closed).
fn too_many_connections(client: ClientAddr, cap: usize) -> hyper::Response<String> {
    let mut response = hyper::Response::new(format!(
        "too many connections from {}: at most {cap} may be open at once (http.max_connections_per_client)\n",
        client.0
    ));
    *response.status_mut() = hyper::StatusCode::TOO_MANY_REQUESTS;
    response
}

/// Sends FIN after what was written, then reads and discards the client's input until it
/// closes (bounded by [`LINGER`] and [`LINGER_BYTES`]).
async fn linger<S>(stream: &mut S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = stream.shutdown().await;
    let drain = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut read = 0usize;
        while read < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => read += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}
