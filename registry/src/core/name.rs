//! Identifiers that compare quickly, in exactly the order of their text.
//!
//! The table is searched by `(env, appid)` and `(zone, hostname)` on every renew. Comparing
//! strings means a call to `memcmp` for each field, and most fields are equal (one env, a few
//! zones), so a search used to cost more than the rest of a renew. A [`Name`] keeps its first
//! eight bytes as a big-endian integer: integers order as the bytes do, so one integer
//! comparison settles most cases, and two names of at most eight bytes with equal prefixes
//! differ only by length (the shorter is a prefix of the longer).

use std::cmp::Ordering;
use std::fmt;

use crate::api::SmolStr;

/// A string with its first eight bytes cached as an integer; ordered as the string is.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Name {
    prefix: u64,
    /// The text's length in bytes.
    len: usize,
    text: SmolStr,
}

impl Name {
    pub(crate) fn new(text: &SmolStr) -> Name {
        let bytes = text.as_bytes();
        let mut head = [0u8; 8];
        let len = bytes.len().min(8);
        head[..len].copy_from_slice(&bytes[..len]);
        Name {
            prefix: u64::from_be_bytes(head),
            len: bytes.len(),
            text: text.clone(),
        }
    }

    pub(crate) fn text(&self) -> &SmolStr {
        &self.text
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> Ordering {
        match self.prefix.cmp(&other.prefix) {
            Ordering::Equal if self.len <= 8 && other.len <= 8 => self.len.cmp(&other.len),
            Ordering::Equal => self.text.as_str().cmp(other.text.as_str()),
            unequal => unequal,
        }
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.text.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn name(text: &str) -> Name {
        Name::new(&SmolStr::from(text))
    }

    #[test]
    fn prints_as_its_text() {
        assert_eq!(name("zone-1").to_string(), "zone-1");
        assert_eq!(format!("{:?}", name("a\"b")), "\"a\\\"b\"");
    }

    #[test]
    fn orders_as_the_text_at_the_edges() {
        let ordered = [
            "",
            "\0",
            "\0\0",
            "a",
            "a\0",
            "a\0b",
            "ab",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "abcdefgi",
            "b",
            "é",
        ];
        for pair in ordered.windows(2) {
            assert!(name(pair[0]) < name(pair[1]), "{pair:?}");
            assert!(name(pair[1]) > name(pair[0]), "{pair:?}");
        }
        assert_eq!(name("zone0").cmp(&name("zone0")), Ordering::Equal);
        assert_eq!(name("a-long-hostname-1"), name("a-long-hostname-1"));
    }

    proptest! {
        #[test]
        fn orders_exactly_as_the_text(a in "[a\\x00é]{0,12}", b in "[a\\x00é]{0,12}") {
            prop_assert_eq!(name(&a).cmp(&name(&b)), a.cmp(&b));
            prop_assert_eq!(name(&a) == name(&b), a == b);
        }

        #[test]
        fn orders_arbitrary_text_as_the_text(a in ".{0,20}", b in ".{0,20}") {
            prop_assert_eq!(name(&a).cmp(&name(&b)), a.cmp(&b));
        }
    }
}
