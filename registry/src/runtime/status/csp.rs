//! The page's Content-Security-Policy: nothing may load, and only the page's own inline style
//! and script (named by their SHA-256) may apply or run. Escaping keeps clients' values out of
//! the markup; this is the second wall, should a value ever slip through: an injected script
//! would not run.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::page::{SCRIPT, STYLE};

/// The header value for the status page.
pub(crate) fn policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        format!(
            "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            base64(&Sha256::digest(STYLE.as_bytes())),
            base64(&Sha256::digest(SCRIPT.as_bytes())),
        )
    })
}

/// Standard base64 with padding (RFC 4648, section 4), as CSP hash sources are written. Not
/// worth a dependency for 32 bytes.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_test_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn the_policy_names_the_hashes_of_the_style_and_script_the_page_carries() {
        let policy = policy();
        assert!(policy.starts_with("default-src 'none'; "));
        // SHA-256 of "" is 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; a known value
        // shows the hash is of the bytes given and encoded as browsers expect.
        assert_eq!(
            base64(&Sha256::digest(b"")),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        let script = format!("script-src 'sha256-{}'", base64(&Sha256::digest(SCRIPT)));
        assert!(policy.contains(&script), "{policy}");
        let style = format!("style-src 'sha256-{}'", base64(&Sha256::digest(STYLE)));
        assert!(policy.contains(&style), "{policy}");
    }
}
