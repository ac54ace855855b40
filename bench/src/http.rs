//! One keep-alive HTTP/1.1 connection to a node, on hyper's connection API, and the check that
//! an answer counts: HTTP 200 with `"code":0` in bilibili's envelope.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Why an exchange does not count as a success.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// The TCP connection could not be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The connection broke during the exchange, or the request could not be built.
    #[error("HTTP exchange failed: {0}")]
    Exchange(String),
    /// An answer other than HTTP 200 with `"code":0`.
    #[error("answered HTTP {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
}

/// A connection that sends one request at a time (HTTP/1.1 keep-alive).
#[derive(Debug)]
pub(crate) struct Conn {
    addr: String,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    /// Opens a connection to `addr` (`host:port`).
    pub(crate) async fn open(addr: &str) -> Result<Conn, Failure> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| Failure::Connect {
                addr: addr.to_string(),
                source,
            })?;
        // Small requests and answers: Nagle would add delayed-ACK waits to every exchange.
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Failure::Exchange(e.to_string()))?;
        tokio::spawn(connection);
        Ok(Conn {
            addr: addr.to_string(),
            sender,
        })
    }

    /// `GET path_and_query`; the body of a successful answer.
    pub(crate) async fn get(&mut self, path_and_query: &str) -> Result<Bytes, Failure> {
        self.send(Method::GET, path_and_query, Bytes::new()).await
    }

    /// `POST path` with a form body; the body of a successful answer.
    pub(crate) async fn post(&mut self, path: &str, form: String) -> Result<Bytes, Failure> {
        self.send(Method::POST, path, Bytes::from(form)).await
    }

    /// Any request whose answer is not in the envelope (`/metrics`, `/health`): HTTP 200 only.
    pub(crate) async fn get_plain(&mut self, path: &str) -> Result<Bytes, Failure> {
        let (status, body) = self.exchange(Method::GET, path, Bytes::new()).await?;
        if status != 200 {
            return Err(refused(status, &body));
        }
        Ok(body)
    }

    async fn send(&mut self, method: Method, target: &str, body: Bytes) -> Result<Bytes, Failure> {
        let (status, body) = self.exchange(method, target, body).await?;
        if status == 200 && is_code_zero(&body) {
            Ok(body)
        } else {
            Err(refused(status, &body))
        }
    }

    async fn exchange(
        &mut self,
        method: Method,
        target: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes), Failure> {
        let post = method == Method::POST;
        let mut request = Request::builder()
            .method(method)
            .uri(target)
            .header(HOST, self.addr.as_str());
        if post {
            request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| Failure::Exchange(e.to_string()))?;
        self.sender
            .ready()
            .await
            .map_err(|e| Failure::Exchange(e.to_string()))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| Failure::Exchange(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| Failure::Exchange(e.to_string()))?
            .to_bytes();
        Ok((status, body))
    }
}

/// Whether an envelope says `"code":0`. The node writes `code` first, so checking the prefix
/// avoids parsing every answer on the load's single core.
pub(crate) fn is_code_zero(body: &[u8]) -> bool {
    body.starts_with(b"{\"code\":0,")
}

fn refused(status: u16, body: &[u8]) -> Failure {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    Failure::Refused { status, body: text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_code_zero_counts() {
        assert!(is_code_zero(
            br#"{"code":0,"message":"0","ttl":1,"data":null}"#
        ));
        assert!(!is_code_zero(br#"{"code":-404,"message":"-404"}"#));
        assert!(!is_code_zero(br#"{"code":0"#));
        assert!(!is_code_zero(b""));
    }
}
