//! Limits on what one HTTP request may cost the server, and reading a body within them.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

use crate::api::BadRequest;

/// Limits on HTTP input, beyond the node's own field limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpLimits {
    /// Largest client form body, in bytes (default 64 KiB). Larger bodies get -400 on `body`.
    pub(crate) max_body_bytes: usize,
    /// Largest peer message body, in bytes (default 64 MiB: a startup sync carries a whole
    /// registry).
    pub(crate) max_peer_body_bytes: usize,
    /// Most `key=value` pairs in query string plus body together (default 1024).
    pub(crate) max_form_fields: usize,
    /// A connection that has not sent a complete request head within this is closed
    /// (default 10 s).
    pub(crate) header_read_timeout: Duration,
    /// A body not received completely within this gets -400 on `body` (default 10 s).
    pub(crate) body_read_timeout: Duration,
    /// Largest request head (request line, query string and headers), in bytes (default
    /// 64 KiB). A larger head is answered HTTP 431.
    pub(crate) max_header_bytes: usize,
    /// Most connections open from one client address (default 1,024). Past it a new
    /// connection is answered HTTP 429 and closed.
    pub(crate) max_connections_per_client: usize,
    /// Most long-polls (`poll`, `polls`) in progress from one client address (default 512).
    /// Past it a poll is answered -509.
    pub(crate) max_polls_per_client: usize,
}

/// What `max_header_bytes` may be: at most 64 KiB, so that a head is always measured against
/// it before hyper's own limit on a URI (65,534 bytes, answered 414) applies.
pub(crate) const MAX_HEADER_BYTES_RANGE: std::ops::RangeInclusive<usize> = 1024..=64 * 1024;

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_body_bytes: 64 * 1024,
            max_peer_body_bytes: 64 * 1024 * 1024,
            max_form_fields: 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            max_connections_per_client: 1024,
            max_polls_per_client: 512,
        }
    }
}

/// Reads a whole body of at most `max_bytes` within `timeout`.
pub(crate) async fn read_body<B>(
    body: B,
    max_bytes: usize,
    timeout: Duration,
) -> Result<Bytes, BadRequest>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let collect = Limited::new(body, max_bytes).collect();
    match tokio::time::timeout(timeout, collect).await {
        Err(_) => Err(BadRequest::new(
            "body",
            format!("not received within {timeout:?}"),
        )),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(BadRequest::new(
            "body",
            format!("larger than the limit of {max_bytes} bytes"),
        )),
        Ok(Err(error)) => Err(BadRequest::new("body", format!("unreadable: {error}"))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// Counts the pairs of a query string or form body without decoding it, so that a flood of
/// fields is refused before it costs any allocation.
pub(crate) fn field_count(text: &str) -> usize {
    text.split('&').filter(|pair| !pair.is_empty()).count()
}

#[cfg(all(test, not(madsim)))] // a tokio runtime, which madsim does not provide
mod tests {
    use super::*;
    use http_body_util::Full;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn bodies_up_to_the_limit_pass_and_larger_ones_name_the_body() {
        let ok = block_on(read_body(
            Full::new(Bytes::from(vec![b'a'; 10])),
            10,
            Duration::from_secs(1),
        ));
        assert_eq!(ok.expect("fits").len(), 10);
        let err = block_on(read_body(
            Full::new(Bytes::from(vec![b'a'; 11])),
            10,
            Duration::from_secs(1),
        ))
        .expect_err("too big");
        assert_eq!(err.field, "body");
        assert!(err.problem.contains("limit"), "{}", err.problem);
    }

    #[test]
    fn field_count_ignores_empty_pairs() {
        assert_eq!(field_count(""), 0);
        assert_eq!(field_count("a=1&&b=2&"), 2);
        assert_eq!(field_count("a"), 1);
    }
}
