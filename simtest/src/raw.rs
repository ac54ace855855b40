//! One HTTP/1.1 GET over a simulated TCP connection, for clients the SDK does not model
//! (bilibili's Go SDK keeps its cursor on an app without instances; the SDK here moves it).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The JSON envelope of `GET http://{addr}{path_and_query}`, or why there is none.
pub async fn get(
    addr: &str,
    path_and_query: &str,
    timeout: Duration,
) -> Result<serde_json::Value, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let head =
            format!("GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        // madsim's stream sends what was written only on flush.
        stream.flush().await.map_err(|e| format!("flush: {e}"))?;
        let mut reply = Vec::new();
        stream
            .read_to_end(&mut reply)
            .await
            .map_err(|e| format!("read: {e}"))?;
        envelope(&reply)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| "timed out".to_string())?
}

/// The JSON object in an HTTP reply. The body is one JSON object, sent whole or as one
/// chunk: from its first `{` to its last `}` is the object either way.
fn envelope(reply: &[u8]) -> Result<serde_json::Value, String> {
    let text = String::from_utf8_lossy(reply);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .ok_or("no HTTP head")?;
    let (Some(start), Some(end)) = (body.find('{'), body.rfind('}')) else {
        return Err(format!("no JSON in {body:?}"));
    };
    serde_json::from_str(&body[start..=end]).map_err(|e| format!("{e}: {body:?}"))
}
