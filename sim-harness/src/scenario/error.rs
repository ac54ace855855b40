//! Why a scenario file was refused, naming the file, the key and the problem.

use super::range::RangeProblem;

/// A scenario file that cannot be used. Every message starts with the file and, where there is
/// one, the dotted key (`network.loss`).
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The text is not TOML (no key to blame).
    #[error("{file}: line {line}: {problem}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line of the problem.
        line: usize,
        /// What the parser said.
        problem: String,
    },
    /// A key the scenario format does not have (a typo, most likely).
    #[error("{file}: key \"{key}\": unknown key ({problem})")]
    UnknownKey {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// What the parser said, with the keys it expected.
        problem: String,
    },
    /// A value of the wrong type or shape (a string for a range, three values, `-1` for a count).
    #[error("{file}: key \"{key}\": {problem}")]
    WrongType {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// What the parser said.
        problem: String,
    },
    /// A required key is absent.
    #[error("{file}: key \"{key}\": required key is missing")]
    MissingKey {
        /// The file.
        file: String,
        /// The key.
        key: String,
    },
    /// A range whose lower end is above its upper end.
    #[error("{file}: key \"{key}\": range {range} has min > max")]
    MinAboveMax {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// The range as written.
        range: String,
    },
    /// A probability below 0 or above 1.
    #[error("{file}: key \"{key}\": {value} is not a probability (must be within [0, 1])")]
    NotAProbability {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// The offending value.
        value: f64,
    },
    /// A value that is fine alone but impossible given another (or a fixed lower bound).
    #[error("{file}: key \"{key}\": {problem}")]
    Inconsistent {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

impl ScenarioError {
    /// The error for a range that failed [`super::range::Range::check`].
    pub(super) fn from_range(
        file: &str,
        key: String,
        range: String,
        problem: RangeProblem,
    ) -> ScenarioError {
        let file = file.to_string();
        match problem {
            RangeProblem::MinAboveMax => ScenarioError::MinAboveMax { file, key, range },
            RangeProblem::NotAProbability(value) => {
                ScenarioError::NotAProbability { file, key, value }
            }
        }
    }

    /// Turns a TOML/serde error into one that names the key, found from the error's message
    /// (unknown and missing fields quote it) or from the line its span points into.
    pub(super) fn from_toml(file: &str, text: &str, error: &toml::de::Error) -> ScenarioError {
        let file = file.to_string();
        let problem = error.message().trim().to_string();
        let at = error.span().map_or(0, |span| span.start.min(text.len()));
        // An unknown `[table]` is blamed on its header line, which belongs to its parent.
        let section = match header_name(line_at(text, at)) {
            Some(header) => header
                .rsplit_once('.')
                .map(|(parent, _)| parent.to_string()),
            None => enclosing_section(text, at),
        };
        let qualify = |key: &str| match &section {
            Some(section) => format!("{section}.{key}"),
            None => key.to_string(),
        };
        if let Some(key) = quoted_after(&problem, "unknown field `") {
            return ScenarioError::UnknownKey {
                file,
                key: qualify(key),
                problem,
            };
        }
        if let Some(key) = quoted_after(&problem, "missing field `") {
            return ScenarioError::MissingKey {
                file,
                key: qualify(key),
            };
        }
        match key_on_line(text, at) {
            Some(key) => ScenarioError::WrongType {
                file,
                key: qualify(key),
                problem,
            },
            None => ScenarioError::Syntax {
                file,
                line: text[..at].matches('\n').count() + 1,
                problem,
            },
        }
    }
}

/// The name between `prefix` and the next backtick in `message`.
fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    Some(&rest[..rest.find('`')?])
}

/// The line containing byte `at`.
fn line_at(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    &text[start..end]
}

/// The key of a `key = value` line that holds byte `at`, if it is one.
fn key_on_line(text: &str, at: usize) -> Option<&str> {
    let line = line_at(text, at);
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('[') && !key.starts_with('#')).then_some(key)
}

/// The table name of a `[table]` header line, if `line` is one.
fn header_name(line: &str) -> Option<String> {
    let inner = line.trim().strip_prefix('[')?;
    if inner.starts_with('[') {
        return None;
    }
    Some(inner[..inner.find(']')?].trim().to_string())
}

/// The `[section]` header governing byte `at`: the last header on a line before `at`'s line.
fn enclosing_section(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[..line_start]
        .lines()
        .filter_map(header_name)
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_section_and_key_around_a_position() {
        let text = "description = \"x\"\n[network]\nloss = \"high\"\n";
        let at = text.find("\"high\"").expect("in the text");
        assert_eq!(enclosing_section(text, at).as_deref(), Some("network"));
        assert_eq!(key_on_line(text, at), Some("loss"));
        assert_eq!(enclosing_section(text, 0), None);
        let header = text.find("[network]").expect("in the text");
        assert_eq!(enclosing_section(text, header), None);
        assert_eq!(key_on_line(text, header), None);
    }

    #[test]
    fn reads_quoted_names() {
        assert_eq!(
            quoted_after("unknown field `lossy`, expected `loss`", "unknown field `"),
            Some("lossy")
        );
        assert_eq!(quoted_after("invalid type", "unknown field `"), None);
    }
}
