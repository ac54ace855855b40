//! The accept loop: the axum `Router` served through hyper's HTTP/1 connection API on a
//! `tokio::net::TcpListener` (not `axum::serve`, which madsim cannot drive).

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::Service;

use super::limits::HttpLimits;
use super::timer::Sleeper;

/// Largest request head (request line plus headers) a connection may buffer.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Accepts connections until `stop` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::task::spawn(connection(stream, router.clone(), limits.clone()));
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

async fn connection(stream: TcpStream, router: Router, limits: HttpLimits) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut router = router.clone();
        async move { Ok::<_, Infallible>(router.call(request).await.unwrap_or_else(|e| match e {})) }
    });
    let result = hyper::server::conn::http1::Builder::new()
        .timer(Sleeper)
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = result {
        // Clients closing, timing out or sending garbage: theirs to fix, not ours to log loudly.
        tracing::debug!(%error, "connection ended with an error");
    }
}
