//! HTML escaping for every value the status page did not write itself: appids, hostnames,
//! addresses, metadata, zones and peers' answers all come from clients or other nodes.
//!
//! No escaping crate is in the dependency tree, and five replacements do not justify one.

use std::fmt;

/// Writes its text with `& < > " '` replaced by entities: safe in element content and in
/// quoted attribute values (the page quotes every attribute with `"`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Esc<'a>(pub(crate) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        // Copies the runs between special characters in one write each.
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn esc(text: &str) -> String {
        Esc(text).to_string()
    }

    #[test]
    fn the_five_special_characters_become_entities() {
        assert_eq!(esc("plain text"), "plain text");
        assert_eq!(
            esc(r#"<script>alert("x&y's")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;y&#39;s&quot;)&lt;/script&gt;"
        );
        assert_eq!(
            esc("&amp;"),
            "&amp;amp;",
            "an entity in the input is text too"
        );
        assert_eq!(esc("ünï<ço>dé"), "ünï&lt;ço&gt;dé");
        assert_eq!(esc(""), "");
    }

    proptest! {
        /// Whatever the input, the output has no character that could open a tag, close an
        /// attribute or start an entity of its own, and unescaping gives the input back.
        #[test]
        fn escaped_text_has_no_markup_and_round_trips(text in any::<String>()) {
            let out = esc(&text);
            prop_assert!(!out.contains(['<', '>', '"', '\'']));
            let unescaped = out
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            prop_assert_eq!(unescaped, text);
        }
    }
}
