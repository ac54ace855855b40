//! Peer authentication: with a cluster secret, every peer message carries an HMAC-SHA256 over
//! its sender's address, its send time and its body, and a node acts only on messages that
//! verify under its current or previous secret and were sent within the replay window.
//!
//! The sender is who the signature says: the `x-registry-from` header is covered by the MAC,
//! so an outsider can neither speak as a peer nor make a node answer to an address of its
//! choosing. A message replayed inside the window is accepted again; every peer message is
//! idempotent (versions merge by their stamps), so a replay changes nothing a peer could not.
//! Without a secret, peers are trusted as in bilibili/discovery and Eureka: the node warns at
//! start and `/health` says `"peer_auth": false`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the send time, Unix milliseconds.
pub const TIME_HEADER: &str = "x-registry-time";
/// The header carrying the hex HMAC-SHA256.
pub const SIGNATURE_HEADER: &str = "x-registry-signature";
/// The environment variable holding the cluster secret (wins over the config file).
pub const SECRET_ENV: &str = "REGISTRY_CLUSTER_SECRET";
/// The environment variable holding the previous secret, accepted during a rotation.
pub const PREVIOUS_SECRET_ENV: &str = "REGISTRY_CLUSTER_SECRET_PREVIOUS";
/// The shortest secret accepted: 16 bytes (128 bits of a random secret).
pub const MIN_SECRET_BYTES: usize = 16;
/// How far a message's send time may be from the receiver's clock (either way) by default.
pub(crate) const DEFAULT_WINDOW: Duration = Duration::from_secs(30);

type HmacSha256 = Hmac<Sha256>;

/// A cluster secret, kept as the HMAC state it keys. Its `Debug` never shows it, so it cannot
/// reach a log line.
#[derive(Clone)]
pub struct Secret(HmacSha256);

impl Secret {
    /// A secret of at least [`MIN_SECRET_BYTES`] bytes.
    pub fn new(bytes: &[u8]) -> Result<Secret, SecretTooShort> {
        let too_short = SecretTooShort { len: bytes.len() };
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(too_short);
        }
        // HMAC takes keys of every length; the error cannot happen.
        HmacSha256::new_from_slice(bytes)
            .map(Secret)
            .map_err(|_| too_short)
    }

    fn mac(&self) -> HmacSha256 {
        self.0.clone()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// A secret shorter than [`MIN_SECRET_BYTES`].
#[derive(Debug, thiserror::Error)]
#[error("the cluster secret has {len} bytes; it needs at least {MIN_SECRET_BYTES} (for example `openssl rand -hex 32`)")]
pub struct SecretTooShort {
    len: usize,
}

/// How a node signs and verifies peer messages.
#[derive(Clone, Debug)]
pub struct PeerAuth {
    /// Signs with the first; accepts any of them (the current secret, then the previous one).
    secrets: Vec<Secret>,
    /// Largest accepted distance between a message's send time and the receiver's clock.
    window: Duration,
}

/// Why a peer message was refused (answered HTTP 401, counted, and not acted on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeerRefusal {
    /// No signature or no send time.
    Unsigned,
    /// The send time is not a number of milliseconds, or is outside the replay window.
    Stale,
    /// The signature is not valid for this sender, time and body under any accepted secret.
    BadSignature,
}

impl PeerRefusal {
    /// The label of this refusal in `/metrics`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            PeerRefusal::Unsigned => "unsigned",
            PeerRefusal::Stale => "stale",
            PeerRefusal::BadSignature => "bad_signature",
        }
    }
}

impl fmt::Display for PeerRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerRefusal::Unsigned => "peer message refused: unsigned (this cluster requires peer authentication; is the sender configured with the cluster secret?)",
            PeerRefusal::Stale => "peer message refused: its send time is outside the replay window (check the clocks of both nodes)",
            PeerRefusal::BadSignature => "peer message refused: bad signature (a different cluster secret, or the message was altered)",
        })
    }
}

/// Peer messages refused, by reason.
#[derive(Debug, Default)]
pub(crate) struct PeerRefusals {
    unsigned: AtomicU64,
    stale: AtomicU64,
    bad_signature: AtomicU64,
}

impl PeerRefusals {
    pub(crate) fn count(&self, refusal: PeerRefusal) {
        let counter = match refusal {
            PeerRefusal::Unsigned => &self.unsigned,
            PeerRefusal::Stale => &self.stale,
            PeerRefusal::BadSignature => &self.bad_signature,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Each reason with its count, in a fixed order.
    pub(crate) fn counts(&self) -> [(PeerRefusal, u64); 3] {
        [
            (PeerRefusal::Unsigned, self.unsigned.load(Ordering::Relaxed)),
            (PeerRefusal::Stale, self.stale.load(Ordering::Relaxed)),
            (
                PeerRefusal::BadSignature,
                self.bad_signature.load(Ordering::Relaxed),
            ),
        ]
    }
}

impl PeerAuth {
    /// No authentication: every well-formed peer message is believed.
    pub(crate) fn off() -> PeerAuth {
        PeerAuth {
            secrets: Vec::new(),
            window: DEFAULT_WINDOW,
        }
    }

    /// Signs with `current`; accepts `current` and, during a rotation, `previous`.
    pub fn new(current: Secret, previous: Option<Secret>, window: Duration) -> PeerAuth {
        PeerAuth {
            secrets: std::iter::once(current).chain(previous).collect(),
            window,
        }
    }

    /// Whether messages are signed and verified.
    pub fn is_on(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// The headers that sign a message from `from` with body `body`, sent now; none when off.
    pub(crate) fn headers(&self, from: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        let time = now_unix_ms().to_string();
        match self.sign(from, &time, body) {
            Some(signature) => vec![(TIME_HEADER, time), (SIGNATURE_HEADER, signature)],
            None => Vec::new(),
        }
    }

    /// The hex signature of a message from `from`, sent at `time` (Unix ms, as in the
    /// header), with body `body`; `None` when off.
    pub fn sign(&self, from: &str, time: &str, body: &[u8]) -> Option<String> {
        let secret = self.secrets.first()?;
        let mut mac = secret.mac();
        feed(&mut mac, from, time, body);
        Some(hex::encode(mac.finalize().into_bytes()))
    }

    /// Whether a message claiming to be from `from` may be acted on, at `now_ms` (Unix ms).
    pub(crate) fn verify(
        &self,
        from: &str,
        time: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now_ms: u64,
    ) -> Result<(), PeerRefusal> {
        if !self.is_on() {
            return Ok(());
        }
        let (Some(time), Some(signature)) = (time, signature) else {
            return Err(PeerRefusal::Unsigned);
        };
        let sent: u64 = time.parse().map_err(|_| PeerRefusal::Stale)?;
        let window = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        if sent.abs_diff(now_ms) > window {
            return Err(PeerRefusal::Stale);
        }
        let signature = hex::decode(signature).map_err(|_| PeerRefusal::BadSignature)?;
        let valid = self.secrets.iter().any(|secret| {
            let mut mac = secret.mac();
            feed(&mut mac, from, time, body);
            // `verify_slice` compares in constant time.
            mac.verify_slice(&signature).is_ok()
        });
        if valid {
            Ok(())
        } else {
            Err(PeerRefusal::BadSignature)
        }
    }
}

/// The signed bytes: `from`, a newline, `time`, a newline, the body. Neither a header value
/// nor a number can hold a newline, so no two messages share their signed bytes.
fn feed(mac: &mut HmacSha256, from: &str, time: &str, body: &[u8]) {
    mac.update(from.as_bytes());
    mac.update(b"\n");
    mac.update(time.as_bytes());
    mac.update(b"\n");
    mac.update(body);
}

/// The system clock in Unix milliseconds (0 before 1970: such a clock fails every window).
pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> Secret {
        Secret::new(text.as_bytes()).expect("long enough")
    }

    fn auth(current: &str, previous: Option<&str>) -> PeerAuth {
        PeerAuth::new(secret(current), previous.map(secret), DEFAULT_WINDOW)
    }

    const NOW: u64 = 1_800_000_000_000;
    const BODY: &[u8] = br#"{"type":"digests","digests":[]}"#;

    fn signed(auth: &PeerAuth, from: &str, time: u64, body: &[u8]) -> (String, String) {
        let time = time.to_string();
        let signature = auth.sign(from, &time, body).expect("on");
        (time, signature)
    }

    #[test]
    fn a_message_signed_with_the_secret_verifies() {
        let a = auth("0123456789abcdef-current", None);
        let (time, signature) = signed(&a, "10.0.0.1:7171", NOW, BODY);
        assert_eq!(
            a.verify("10.0.0.1:7171", Some(&time), Some(&signature), BODY, NOW),
            Ok(())
        );
    }

    #[test]
    fn unsigned_altered_misattributed_and_foreign_messages_are_refused() {
        let a = auth("0123456789abcdef-current", None);
        let (time, signature) = signed(&a, "10.0.0.1:7171", NOW, BODY);
        let verify = |from, time: Option<&str>, signature: Option<&str>, body| {
            a.verify(from, time, signature, body, NOW)
        };
        assert_eq!(
            verify("10.0.0.1:7171", None, None, BODY),
            Err(PeerRefusal::Unsigned)
        );
        assert_eq!(
            verify("10.0.0.1:7171", Some(&time), None, BODY),
            Err(PeerRefusal::Unsigned)
        );
        // Another sender, another body, another time: the signature covers all three.
        assert_eq!(
            verify("10.0.0.9:7171", Some(&time), Some(&signature), BODY),
            Err(PeerRefusal::BadSignature)
        );
        assert_eq!(
            verify("10.0.0.1:7171", Some(&time), Some(&signature), b"{}"),
            Err(PeerRefusal::BadSignature)
        );
        let later = (NOW + 1).to_string();
        assert_eq!(
            verify("10.0.0.1:7171", Some(&later), Some(&signature), BODY),
            Err(PeerRefusal::BadSignature)
        );
        assert_eq!(
            verify("10.0.0.1:7171", Some(&time), Some("not hex"), BODY),
            Err(PeerRefusal::BadSignature)
        );
        // Signed by another cluster.
        let other = auth("another-cluster-secret-0000", None);
        let (time, signature) = signed(&other, "10.0.0.1:7171", NOW, BODY);
        assert_eq!(
            verify("10.0.0.1:7171", Some(&time), Some(&signature), BODY),
            Err(PeerRefusal::BadSignature)
        );
    }

    #[test]
    fn only_send_times_inside_the_window_are_accepted() {
        let a = auth("0123456789abcdef-current", None);
        let window = DEFAULT_WINDOW.as_millis() as u64;
        for (time, expected) in [
            (NOW - window, Ok(())),
            (NOW + window, Ok(())),
            (NOW - window - 1, Err(PeerRefusal::Stale)),
            (NOW + window + 1, Err(PeerRefusal::Stale)),
        ] {
            let (time, signature) = signed(&a, "n1", time, BODY);
            assert_eq!(
                a.verify("n1", Some(&time), Some(&signature), BODY, NOW),
                expected,
                "sent at {time}"
            );
        }
        let signature = a.sign("n1", "-5", BODY).expect("on");
        assert_eq!(
            a.verify("n1", Some("-5"), Some(&signature), BODY, NOW),
            Err(PeerRefusal::Stale)
        );
    }

    #[test]
    fn during_a_rotation_both_secrets_verify_and_the_new_one_signs() {
        let old = auth("0123456789abcdef-previous", None);
        let rotating = auth(
            "0123456789abcdef-current",
            Some("0123456789abcdef-previous"),
        );
        let new = auth("0123456789abcdef-current", None);
        let (time, by_old) = signed(&old, "n1", NOW, BODY);
        assert_eq!(
            rotating.verify("n1", Some(&time), Some(&by_old), BODY, NOW),
            Ok(())
        );
        let (time, by_rotating) = signed(&rotating, "n1", NOW, BODY);
        assert_eq!(
            new.verify("n1", Some(&time), Some(&by_rotating), BODY, NOW),
            Ok(())
        );
        // Once rotated out, the old secret no longer verifies.
        assert_eq!(
            new.verify("n1", Some(&time), Some(&by_old), BODY, NOW),
            Err(PeerRefusal::BadSignature)
        );
    }

    #[test]
    fn off_signs_nothing_and_accepts_everything() {
        let off = PeerAuth::off();
        assert!(!off.is_on());
        assert!(off.headers("n1", BODY).is_empty());
        assert_eq!(off.verify("n1", None, None, BODY, NOW), Ok(()));
    }

    #[test]
    fn secrets_are_never_printed_and_short_ones_are_refused() {
        let a = auth("0123456789abcdef-current", None);
        assert!(!format!("{a:?}").contains("0123456789abcdef"));
        let error = Secret::new(b"short").expect_err("too short");
        assert!(error.to_string().contains("at least 16"), "{error}");
    }
}
