use std::collections::BTreeMap;

use super::*;

#[test]
fn keeps_one_value_per_key_in_key_order() {
    let mut metadata = Metadata::from([("b", "2"), ("a", "1"), ("b", "3")]);
    assert_eq!(metadata.len(), 2);
    assert_eq!(
        metadata.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(metadata.get("b").map(|v| v.as_str()), Some("3"));
    assert_eq!(metadata.insert("a", "x").as_deref(), Some("1"));
    assert_eq!(metadata.insert("c", "y"), None);
    assert_eq!(metadata.remove("b").as_deref(), Some("3"));
    assert!(!metadata.contains_key("b"));
    assert_eq!(format!("{metadata:?}"), r#"{"a": "x", "c": "y"}"#);
}

#[test]
fn empty_metadata_allocates_nothing_and_equals_any_other_empty() {
    let mut metadata = Metadata::from([("a", "1")]);
    metadata.remove("a");
    assert!(metadata.is_empty());
    assert_eq!(metadata, Metadata::new());
    assert_eq!(
        Metadata::from_iter(Vec::<(SmolStr, SmolStr)>::new()),
        Metadata::new()
    );
}

#[test]
fn encodes_and_decodes_as_the_map_it_replaced() {
    let map: BTreeMap<String, String> = [
        ("weight", "10"),
        ("cluster", "c1"),
        ("a-rather-long-key-past-23-bytes", "v"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let metadata: Metadata = map.clone().into_iter().collect();
    let text = serde_json::to_string(&metadata).expect("serializes");
    assert_eq!(text, serde_json::to_string(&map).expect("serializes"));
    assert_eq!(
        serde_json::from_str::<Metadata>(&text).expect("parses"),
        metadata
    );
    assert_eq!(format!("{metadata:?}"), format!("{map:?}"));
    // A repeated key keeps its last value, as decoding into the map did.
    let repeated: Metadata = serde_json::from_str(r#"{"k":"1","k":"2"}"#).expect("parses");
    assert_eq!(repeated, Metadata::from([("k", "2")]));
}

#[test]
fn a_clone_shares_the_entries() {
    let metadata = Metadata::from([("weight", "10")]);
    let copy = metadata.clone();
    let (a, b) = (metadata.pairs.as_ref(), copy.pairs.as_ref());
    assert!(a.zip(b).is_some_and(|(a, b)| Arc::ptr_eq(a, b)));
}
