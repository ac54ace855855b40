//! Property tests over arbitrary input for the wire decoders: forms and `decode_request` for
//! every route, and peer messages. The strategies are shared with the router's fuzz tests
//! (`runtime/router_tests.rs`).
//!
//! Every test named `fuzz_*` runs [`fuzz_config`]'s case count: by default 2,048 (decoders)
//! or 1,024 (router), so that `cargo test` stays fast, or `PROPTEST_CASES` (`.ci/run` runs
//! them with more). A failure prints the minimal input and the `cc <seed>` line proptest saves
//! in `registry/proptest-regressions/`: the next run replays it first (`PROPTEST_RNG_SEED`
//! fixes the seed of the new cases too).

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use super::*;

/// `default_cases` cases, or `PROPTEST_CASES` when set; failures persist next to the source.
pub(crate) fn fuzz_config(default_cases: u32) -> ProptestConfig {
    // `default()` reads every `PROPTEST_*` variable, `PROPTEST_RNG_SEED` among them.
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    config
}

/// Every key any route reads.
pub(crate) const KEYS: [&str; 13] = [
    "zone",
    "env",
    "appid",
    "hostname",
    "region",
    "status",
    "addrs",
    "version",
    "metadata",
    "replication",
    "latest_timestamp",
    "dirty_timestamp",
    "set_timestamp",
];

/// Bytes kept as they are when [`wire`] encodes; every other byte is percent-escaped.
fn kept_on_the_wire(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"%&=+,.:/_-~*".contains(&byte)
}

/// `bytes` as query-string text: form syntax (`&`, `=`, `+`, stray `%`) kept, other bytes
/// escaped, so that every byte string is reachable, malformed escapes and non-UTF-8 included.
pub(crate) fn wire(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for &byte in bytes {
        if kept_on_the_wire(byte) {
            text.push(char::from(byte));
        } else {
            text.push_str(&format!("%{byte:02X}"));
        }
    }
    text
}

/// One form value, escaped for the wire: the near-valid and the hostile.
fn value() -> impl Strategy<Value = String> {
    let escaped = |s: String| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    prop_oneof![
        Just(String::new()),
        "[a-z0-9.:/_-]{1,10}",
        any::<i64>().prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "0",
            "1",
            "2",
            "3",
            "-1",
            "4294967297",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "99999999999999999999999",
            "+1",
            "%201%20",
            "1e3",
            "true",
            "false",
            "a,b,,c",
            ",",
            "%7B%7D",
            "%7B%22a%22%3A%221%22%7D",
            "%7B%22a%22%3A1%7D",
            "%5B%5D",
            "null",
            "%FF",
            "%C3%28",
            "%",
            "%%",
            "%E2%82",
        ])
        .prop_map(str::to_string),
        any::<String>().prop_map(escaped),
        prop::collection::vec(any::<u8>(), 0..24).prop_map(|b| wire(&b)),
        // Padded with blanks, as `+`, `%20` or `%09`: trimmed by some fields, kept by others.
        (blank(), "[a-z0-9,]{0,6}", blank()).prop_map(|(a, s, b)| format!("{a}{s}{b}")),
    ]
}

fn blank() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "+", "%20", "%09", "%0A", "++"])
}

/// One key: mostly one a route reads, sometimes another or a hostile one.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(KEYS.to_vec()).prop_map(str::to_string),
        1 => "[a-z_]{0,6}",
        1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| wire(&b)),
    ]
}

/// The smallest valid form of each route, as wire pairs.
fn valid_pairs(route: Route) -> Vec<(&'static str, &'static str)> {
    let instance = [
        ("zone", "z1"),
        ("env", "dev"),
        ("appid", "app"),
        ("hostname", "h1"),
    ];
    match route {
        Route::Register => [&instance[..], &[("status", "1"), ("addrs", "http://a:1")]].concat(),
        Route::Renew | Route::Cancel => instance.to_vec(),
        Route::Set => [&instance[..], &[("status", "2")]].concat(),
        Route::Fetch | Route::Fetchs => vec![("env", "dev"), ("appid", "app"), ("status", "3")],
        Route::Poll | Route::Polls => vec![("env", "dev"), ("appid", "app"), ("hostname", "h1")],
        Route::Nodes | Route::FetchAll => Vec::new(),
    }
}

/// A near-valid form for `route`: its valid form with at most one pair dropped, then valid
/// keys with arbitrary values (repeated keys, huge and negative numbers, empty values), in an
/// arbitrary order.
pub(crate) fn near_valid(route: Route) -> impl Strategy<Value = String> {
    let base = valid_pairs(route);
    let count = base.len();
    (
        prop::option::of(0..count.max(1)),
        prop::collection::vec((key(), value()), 0..6),
        any::<prop::sample::Index>(),
    )
        .prop_map(move |(dropped, extra, at)| {
            let mut pairs: Vec<String> = base
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != dropped)
                .map(|(_, (k, v))| format!("{k}={v}"))
                .collect();
            let extra = extra.into_iter().map(|(k, v)| format!("{k}={v}"));
            let at = at.index(pairs.len() + 1);
            pairs.splice(at..at, extra);
            pairs.join("&")
        })
}

/// Query text of every kind: near-valid for some route, arbitrary bytes on the wire, or
/// arbitrary text as it is.
pub(crate) fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(Route::ALL.to_vec()).prop_flat_map(near_valid),
        2 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| wire(&b)),
        1 => "\\PC{0,40}",
    ]
}

/// Checks one input against `route`: a typed request that survives `to_form` → encode →
/// parse → decode unchanged, or a `BadRequest` naming a key the route reads (or, from the
/// form decoder, a key as the input spelled it).
pub(crate) fn check_decoding(route: Route, text: &str) -> Result<Option<Request>, TestCaseError> {
    let form = match Form::parse(text) {
        Ok(form) => form,
        Err(bad) => {
            // The key as it arrived, or decoded (the form decoder names an undecodable key the
            // first way, the key of an undecodable value the second way, `form` if it has none).
            let named = bad.field == "form"
                || text.split('&').any(|pair| {
                    let raw = pair.split_once('=').map_or(pair, |(key, _)| key);
                    let spaced = raw.replace('+', " ");
                    let decoded = percent_encoding::percent_decode_str(&spaced).decode_utf8();
                    !raw.is_empty() && (raw == bad.field || decoded.is_ok_and(|k| k == bad.field))
                });
            prop_assert!(named, "{} names no key of {:?}", bad, text);
            return Ok(None);
        }
    };
    match decode_request(route, &form) {
        Ok(request) => {
            let (back_route, back) = request.to_form();
            prop_assert_eq!(back_route, route);
            let again = Form::parse(&back.encode())
                .map_err(|bad| TestCaseError::fail(format!("to_form encoded {bad}")))?;
            prop_assert_eq!(
                decode_request(route, &again),
                Ok(request.clone()),
                "{:?}",
                text
            );
            Ok(Some(request))
        }
        Err(bad) => {
            prop_assert!(
                KEYS.contains(&bad.field.as_str()),
                "{route:?}: {bad} names no field (input {text:?})"
            );
            let quoted = format!("`{}`", bad.field);
            prop_assert!(bad.to_string().contains(&quoted), "{}", bad);
            Ok(None)
        }
    }
}

/// Well-formed peer messages of every kind, as JSON.
pub(crate) fn peer_samples() -> Vec<Vec<u8>> {
    peer::tests::samples()
        .iter()
        .filter_map(|message| serde_json::to_vec(message).ok())
        .collect()
}

/// JSON tokens a mutation splices in: out-of-range numbers, lone surrogates, wrong types.
const TOKENS: [&str; 14] = [
    "-1",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775809",
    "1e400",
    "0.5",
    "null",
    "[]",
    "{}",
    "\"\\ud800\"",
    "\"\"",
    "true",
    "\"replicate\"",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
];

/// One edit of a JSON text.
#[derive(Clone, Debug)]
pub(crate) enum Mutation {
    Flip(prop::sample::Index, u8),
    Delete(prop::sample::Index, usize),
    Token(prop::sample::Index, prop::sample::Index),
    Truncate(prop::sample::Index),
}

impl Mutation {
    fn apply(&self, json: &mut Vec<u8>) {
        if json.is_empty() {
            return;
        }
        match self {
            Mutation::Flip(at, byte) => {
                let at = at.index(json.len());
                json[at] ^= *byte;
            }
            Mutation::Delete(at, len) => {
                let at = at.index(json.len());
                let end = (at + len).min(json.len());
                json.drain(at..end);
            }
            Mutation::Token(at, token) => {
                let at = at.index(json.len());
                let token = TOKENS[token.index(TOKENS.len())].as_bytes();
                json.splice(at..at, token.iter().copied());
            }
            Mutation::Truncate(at) => json.truncate(at.index(json.len())),
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1..=255u8).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<prop::sample::Index>(), 1..8usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        any::<(prop::sample::Index, prop::sample::Index)>()
            .prop_map(|(at, token)| Mutation::Token(at, token)),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

/// A peer message body: a valid message mutated a few times, or arbitrary bytes.
pub(crate) fn peer_body() -> impl Strategy<Value = Vec<u8>> {
    let samples = peer_samples();
    prop_oneof![
        3 => (
            prop::sample::select(samples),
            prop::collection::vec(mutation(), 0..4)
        )
            .prop_map(|(mut json, mutations)| {
                mutations.iter().for_each(|m| m.apply(&mut json));
                json
            }),
        1 => prop::collection::vec(any::<u8>(), 0..128),
    ]
}

proptest! {
    #![proptest_config(fuzz_config(2048))]

    /// Every route, every kind of input: a request that round-trips or an error naming a field.
    #[test]
    fn fuzz_every_route_decodes_or_names_a_field(route in prop::sample::select(Route::ALL.to_vec()), text in query()) {
        check_decoding(route, &text)?;
    }

    /// A near-valid form for each route, sent to that route: most decode, so the round trip
    /// is exercised, not only the errors.
    #[test]
    fn fuzz_near_valid_forms_decode_or_name_a_field(
        texts in Route::ALL.map(near_valid)
    ) {
        for (route, text) in Route::ALL.into_iter().zip(&texts) {
            check_decoding(route, text)?;
        }
    }

    /// Peer messages: a decoded message re-encodes to itself; nothing panics.
    #[test]
    fn fuzz_peer_messages_decode_or_are_refused(body in peer_body()) {
        if let Ok(message) = serde_json::from_slice::<PeerMessage>(&body) {
            let json = serde_json::to_vec(&message).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(serde_json::from_slice::<PeerMessage>(&json).ok(), Some(message));
        }
    }
}

/// The strategies reach both outcomes: a fuzz test whose inputs were all refused (or all
/// accepted) would check little.
#[test]
fn the_strategies_reach_requests_and_refusals_alike() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut decoded, mut refused) = (0, 0);
    for route in Route::ALL {
        for _ in 0..50 {
            let text = near_valid(route)
                .new_tree(&mut runner)
                .expect("a value")
                .current();
            match check_decoding(route, &text) {
                Ok(Some(_)) => decoded += 1,
                Ok(None) => refused += 1,
                Err(failure) => panic!("{failure}"),
            }
        }
    }
    assert!(
        decoded > 100 && refused > 100,
        "{decoded} decoded, {refused} refused"
    );
    let (mut parsed, mut broken) = (0, 0);
    for _ in 0..200 {
        let body = peer_body()
            .new_tree(&mut runner)
            .expect("a value")
            .current();
        match serde_json::from_slice::<PeerMessage>(&body) {
            Ok(_) => parsed += 1,
            Err(_) => broken += 1,
        }
    }
    assert!(
        parsed > 10 && broken > 50,
        "{parsed} parsed, {broken} refused"
    );
}
