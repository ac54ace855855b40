//! A decoded query string or form body, with typed accessors whose errors name the field.
//!
//! Real clients send lists both ways: repeated keys (`appid=a&appid=b`) and comma-joined values
//! (`appid=a,b`); [`Form::list`] accepts both.

use super::SmolStr;
use std::borrow::Cow;
use std::fmt;

/// A request that cannot be decoded or breaks a limit. Answered with -400; nothing changes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{field}`: {problem}")]
pub struct BadRequest {
    /// The offending field, as named on the wire.
    pub field: String,
    /// What is wrong with it, in a sentence fragment.
    pub problem: String,
}

impl BadRequest {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> BadRequest {
        BadRequest {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Key/value pairs in the order they arrived.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl fmt::Debug for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.pairs.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl Form {
    /// Decodes `application/x-www-form-urlencoded` text (a query string or a form body), as
    /// Go's `url.ParseQuery` and `form_urlencoded` split it: pairs on `&` (empty ones
    /// skipped), key and value on the first `=`, `+` is a space, `%XX` a byte, and a `%` not
    /// followed by two hex digits is kept literally.
    ///
    /// Decoding is lossless: a key or value whose bytes are not UTF-8 once decoded is refused,
    /// naming the key (an undecodable key is named as it arrived; a value with no key is
    /// `form`'s). Replacing such bytes would make different names equal (`host%FF` and
    /// `host%FE` both `host\u{FFFD}`).
    pub fn parse(input: &str) -> Result<Form, BadRequest> {
        let mut pairs = Vec::new();
        for pair in input.split('&').filter(|pair| !pair.is_empty()) {
            let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(raw_key).ok_or_else(|| not_utf8(raw_key))?;
            let value = percent_decode(raw_value).ok_or_else(|| match key.as_str() {
                "" => BadRequest::new("form", "has a value with no key that is not UTF-8"),
                key => not_utf8(key),
            })?;
            pairs.push((key, value));
        }
        Ok(Form { pairs })
    }

    /// A form from already-decoded pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Form {
        Form {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Encodes the form back to `application/x-www-form-urlencoded` text.
    pub fn encode(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.pairs)
            .finish()
    }

    /// Appends a pair.
    pub fn push(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        let (key, value) = (key.as_ref(), value.as_ref());
        self.pairs.push((key.to_string(), value.to_string()));
    }

    /// How many pairs the form holds.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether the form holds no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    fn values<'a>(&'a self, key: &str) -> Vec<&'a str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A single-valued field; `None` when absent or empty. Repeating it with different values
    /// is an error rather than a silent choice.
    pub fn optional<'a>(&'a self, key: &str) -> Result<Option<&'a str>, BadRequest> {
        let values = self.values(key);
        let mut values = values.into_iter().filter(|v| !v.is_empty());
        let first = values.next();
        if let Some(first) = first {
            if values.any(|other| other != first) {
                return Err(BadRequest::new(
                    key,
                    "given more than once with different values",
                ));
            }
        }
        Ok(first)
    }

    /// A single-valued field that must be present and non-empty.
    pub fn required<'a>(&'a self, key: &str) -> Result<&'a str, BadRequest> {
        self.optional(key)?
            .ok_or_else(|| BadRequest::new(key, "is required"))
    }

    /// A single-valued field, or the empty string when absent.
    pub fn text(&self, key: &str) -> Result<SmolStr, BadRequest> {
        Ok(self.optional(key)?.unwrap_or_default().into())
    }

    /// A list field: every repetition of `key`, each split on commas; empty items dropped.
    pub fn list(&self, key: &str) -> Vec<SmolStr> {
        self.values(key)
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(SmolStr::from)
            .collect()
    }

    /// A list field whose items may themselves contain commas (JSON): repeated keys only.
    pub fn repeated(&self, key: &str) -> Vec<String> {
        self.values(key).into_iter().map(str::to_string).collect()
    }

    /// An optional integer field; 0 when absent.
    pub fn int(&self, key: &str) -> Result<i64, BadRequest> {
        self.optional(key)?.map_or(Ok(0), |v| parse_int(key, v))
    }

    /// A list of integers, accepted like [`Form::list`].
    pub fn int_list(&self, key: &str) -> Result<Vec<i64>, BadRequest> {
        self.list(key).iter().map(|v| parse_int(key, v)).collect()
    }

    /// An optional boolean field (`true`/`false`/`1`/`0`); false when absent.
    pub fn flag(&self, key: &str) -> Result<bool, BadRequest> {
        match self.optional(key)? {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(BadRequest::new(
                key,
                format!("must be true or false, got {other:?}"),
            )),
        }
    }
}

/// One key or value of a form: `+` is a space, `%XX` a byte; `None` if the bytes are not UTF-8.
fn percent_decode(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

fn not_utf8(key: &str) -> BadRequest {
    BadRequest::new(key, "is not UTF-8 once percent-decoded")
}

fn parse_int(key: &str, value: &str) -> Result<i64, BadRequest> {
    value
        .trim()
        .parse()
        .map_err(|_| BadRequest::new(key, format!("must be an integer, got {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Form {
        Form::parse(text).expect("decodes")
    }

    #[test]
    fn list_accepts_repeated_keys_and_commas_alike() {
        let repeated = parse("appid=a&appid=b&appid=c");
        let joined = parse("appid=a,b,c");
        let mixed = parse("appid=a,b&appid=c");
        assert_eq!(repeated.list("appid"), ["a", "b", "c"]);
        assert_eq!(joined.list("appid"), repeated.list("appid"));
        assert_eq!(mixed.list("appid"), repeated.list("appid"));
    }

    #[test]
    fn list_drops_empty_items() {
        assert_eq!(parse("appid=a,,b,&appid=").list("appid"), ["a", "b"]);
    }

    #[test]
    fn repeated_keeps_commas_inside_values() {
        let form = parse("metadata=%7B%22a%22%3A%221%22%2C%22b%22%3A%222%22%7D");
        assert_eq!(form.repeated("metadata"), [r#"{"a":"1","b":"2"}"#]);
    }

    #[test]
    fn required_names_the_missing_field() {
        let err = parse("env=prod").required("appid").expect_err("missing");
        assert_eq!(err.field, "appid");
        assert_eq!(err.to_string(), "invalid `appid`: is required");
        let empty = parse("appid=").required("appid").expect_err("empty");
        assert_eq!(empty.field, "appid");
    }

    #[test]
    fn conflicting_repetitions_of_a_scalar_are_rejected() {
        assert_eq!(
            parse("env=a&env=a")
                .required("env")
                .expect("same value twice"),
            "a"
        );
        let err = parse("env=a&env=b").required("env").expect_err("conflict");
        assert_eq!(err.field, "env");
    }

    #[test]
    fn int_rejects_garbage_and_overflow() {
        assert_eq!(parse("x=42").int("x").expect("int"), 42);
        assert_eq!(parse("").int("x").expect("absent is zero"), 0);
        assert!(parse("x=4x2").int("x").is_err());
        assert!(parse("x=99999999999999999999999").int("x").is_err());
        assert!(parse("x=1,zz").int_list("x").is_err());
    }

    #[test]
    fn flag_accepts_only_booleans() {
        assert!(parse("replication=true").flag("replication").expect("bool"));
        assert!(!parse("replication=0").flag("replication").expect("bool"));
        assert!(parse("replication=yes").flag("replication").is_err());
    }

    #[test]
    fn encode_then_parse_round_trips() {
        let mut form = Form::default();
        form.push("appid", "a b&c=d");
        form.push("metadata", r#"{"k":"v,w"}"#);
        assert_eq!(parse(&form.encode()), form);
    }

    #[test]
    fn malformed_percent_encoding_does_not_panic() {
        let form = parse("appid=%ZZ%&&=&%%%=x");
        assert_eq!(form.required("appid").expect("kept literally"), "%ZZ%");
    }

    #[test]
    fn keys_and_values_that_are_not_utf8_are_refused_naming_the_key() {
        let value = Form::parse("appid=a&hostname=host%FF").expect_err("not UTF-8");
        assert_eq!(value.field, "hostname");
        assert_eq!(
            value.to_string(),
            "invalid `hostname`: is not UTF-8 once percent-decoded"
        );
        // A key is named as it arrived: its decoded bytes have no name.
        let key = Form::parse("host%FE=h").expect_err("not UTF-8");
        assert_eq!(key.field, "host%FE");
        // A value with no key is the form's.
        assert_eq!(
            Form::parse("a=1&=%FF").expect_err("not UTF-8").field,
            "form"
        );
        for bad in [
            "x=%C3%28",
            "x=%80",
            "x=%ED%A0%80",
            "x=%F4%90%80%80",
            "x=a%C3",
        ] {
            assert_eq!(Form::parse(bad).expect_err(bad).field, "x", "{bad}");
        }
    }

    #[test]
    fn different_escapes_stay_different_and_utf8_escapes_decode() {
        let ff = parse("hostname=h%C3%BF")
            .required("hostname")
            .map(str::to_string);
        let fe = parse("hostname=h%C3%BE")
            .required("hostname")
            .map(str::to_string);
        assert_eq!(ff, Ok("hÿ".to_string()));
        assert_eq!(fe, Ok("hþ".to_string()));
        assert_eq!(parse("k%C3%A9=%E2%82%AC").required("ké"), Ok("€"));
        // Unescaped non-ASCII text is taken as it is.
        assert_eq!(parse("k=é").required("k"), Ok("é"));
    }

    #[test]
    fn plus_is_a_space_and_an_escaped_plus_is_a_plus() {
        // As Go's url.ParseQuery and python's urlencode (`quote_plus`) have it.
        let form = parse("version=v+1%2B2&a+b=c");
        assert_eq!(form.required("version"), Ok("v 1+2"));
        assert_eq!(form.required("a b"), Ok("c"));
        let mut encoded = Form::default();
        encoded.push("version", "v 1+2");
        assert_eq!(encoded.encode(), "version=v+1%2B2");
    }

    #[test]
    fn pairs_split_like_form_urlencoded() {
        let form = parse("a=1=2&&b&=c&a=");
        assert_eq!(form.values("a"), ["1=2", ""]);
        assert_eq!(form.values("b"), [""]);
        assert_eq!(form.values(""), ["c"]);
        assert_eq!(form.len(), 4);
    }
}
