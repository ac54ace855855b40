//! Bearer tokens for the client API: an optional write token (register, renew, cancel, set)
//! and an optional operator token (`/admin/*`). Reads stay open.
//!
//! A token is compared in constant time: both sides are hashed with SHA-256 and the digests
//! compared without an early exit, so neither the content nor the length of the configured
//! token leaks through timing. Tokens never reach a log line or `/metrics` (their `Debug` is
//! redacted).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The environment variable holding the write token (wins over the config file).
pub const WRITE_TOKEN_ENV: &str = "REGISTRY_WRITE_TOKEN";
/// The environment variable holding the operator token (wins over the config file).
pub const ADMIN_TOKEN_ENV: &str = "REGISTRY_ADMIN_TOKEN";
/// The shortest token accepted: 16 bytes.
pub const MIN_TOKEN_BYTES: usize = 16;

/// A bearer token, kept as its SHA-256 digest.
#[derive(Clone)]
pub(crate) struct Token([u8; 32]);

impl Token {
    /// A token of at least [`MIN_TOKEN_BYTES`] bytes; `what` names it in the error.
    pub(crate) fn new(what: &str, text: &str) -> Result<Token, String> {
        if text.len() < MIN_TOKEN_BYTES {
            return Err(format!(
                "the {what} has {} bytes; it needs at least {MIN_TOKEN_BYTES} (for example `openssl rand -hex 32`)",
                text.len()
            ));
        }
        if text.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(format!(
                "the {what} must be printable ASCII without spaces (it travels in an HTTP header)"
            ));
        }
        Ok(Token(digest(text.as_bytes())))
    }

    /// Whether `presented` is this token, in time independent of where they differ.
    fn matches(&self, presented: &[u8]) -> bool {
        self.0.ct_eq(&digest(presented)).into()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(redacted)")
    }
}

/// Which tokens the client API requires.
#[derive(Clone, Debug, Default)]
pub(crate) struct ApiAuth {
    /// Required on register, renew, cancel and set when present.
    pub(crate) write: Option<Token>,
    /// Required on the operator endpoints; they are disabled without it.
    pub(crate) admin: Option<Token>,
}

/// Why a request was refused by [`ApiAuth`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Denied {
    /// No `Authorization: Bearer` header, or not the configured token (HTTP 401).
    Unauthorized,
    /// The operator endpoint is disabled: no operator token is configured (HTTP 403).
    Disabled,
}

/// Which part of the API a refusal was on, for `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guarded {
    /// Client writes.
    Write,
    /// The operator endpoints.
    Admin,
}

impl Guarded {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Guarded::Write => "write",
            Guarded::Admin => "admin",
        }
    }
}

impl ApiAuth {
    /// Whether `headers` may write: always when no write token is configured.
    pub(crate) fn check_write(&self, headers: &HeaderMap) -> Result<(), Denied> {
        match &self.write {
            None => Ok(()),
            Some(token) => check(token, headers),
        }
    }

    /// Whether `headers` may use the operator endpoints: never without an operator token.
    pub(crate) fn check_admin(&self, headers: &HeaderMap) -> Result<(), Denied> {
        match &self.admin {
            None => Err(Denied::Disabled),
            Some(token) => check(token, headers),
        }
    }
}

fn check(token: &Token, headers: &HeaderMap) -> Result<(), Denied> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| bearer(value.as_bytes()));
    match presented {
        Some(presented) if token.matches(presented) => Ok(()),
        _ => Err(Denied::Unauthorized),
    }
}

/// The credentials of `Bearer <token>` (the scheme is case-insensitive, RFC 6750).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let scheme = value.get(..7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| value.get(7..))
        .flatten()
}

/// Requests refused by [`ApiAuth`], for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct AuthRefusals {
    write: AtomicU64,
    admin: AtomicU64,
}

impl AuthRefusals {
    pub(crate) fn count(&self, guarded: Guarded) {
        let counter = match guarded {
            Guarded::Write => &self.write,
            Guarded::Admin => &self.admin,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now, by part of the API.
    pub(crate) fn counts(&self) -> [(Guarded, u64); 2] {
        [
            (Guarded::Write, self.write.load(Ordering::Relaxed)),
            (Guarded::Admin, self.admin.load(Ordering::Relaxed)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(authorization: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn only_the_bearer_token_itself_passes() {
        let auth = ApiAuth {
            write: Some(Token::new("write token", "0123456789abcdef").expect("long enough")),
            admin: None,
        };
        assert_eq!(
            auth.check_write(&headers(Some("Bearer 0123456789abcdef"))),
            Ok(())
        );
        assert_eq!(
            auth.check_write(&headers(Some("bearer 0123456789abcdef"))),
            Ok(())
        );
        for refused in [
            None,
            Some("Bearer 0123456789abcdeF"),
            Some("Bearer 0123456789abcdef0"),
            Some("Bearer "),
            Some("Bearer"),
            Some("Basic 0123456789abcdef"),
            Some("0123456789abcdef"),
        ] {
            assert_eq!(
                auth.check_write(&headers(refused)),
                Err(Denied::Unauthorized),
                "{refused:?}"
            );
        }
        assert_eq!(
            auth.check_admin(&headers(Some("Bearer 0123456789abcdef"))),
            Err(Denied::Disabled)
        );
        assert_eq!(ApiAuth::default().check_write(&headers(None)), Ok(()));
    }

    #[test]
    fn short_or_unprintable_tokens_are_refused_and_never_printed() {
        assert!(Token::new("write token", "short").is_err());
        assert!(Token::new("write token", "0123456789 abcdef").is_err());
        let token = Token::new("write token", "0123456789abcdef").expect("long enough");
        assert_eq!(format!("{token:?}"), "Token(redacted)");
    }
}
