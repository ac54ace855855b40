//! Scenario parsing, checking, drawing and the shipped scenario files.

use rand::SeedableRng;

use super::*;

const MINIMAL: &str = r#"
description = "minimal"
[cluster]
nodes = [3, 5]
[phases]
safety_minutes = [10, 20]
liveness_minutes = [5, 5]
[workload]
instances = [20, 200]
"#;

fn error(text: &str) -> String {
    match Scenario::parse("scenarios/bad.toml", text) {
        Ok(scenario) => panic!("accepted a bad scenario: {scenario:?}"),
        Err(error) => error.to_string(),
    }
}

fn assert_names(message: &str, key: &str, problem: &str) {
    assert!(
        message.starts_with("scenarios/bad.toml: "),
        "no file in {message:?}"
    );
    assert!(
        message.contains(&format!("key \"{key}\"")),
        "no key {key} in {message:?}"
    );
    assert!(message.contains(problem), "no {problem:?} in {message:?}");
}

#[test]
fn minimal_file_gets_defaults() {
    let scenario = Scenario::parse("scenarios/minimal.toml", MINIMAL).expect("valid");
    assert_eq!(scenario.name, "minimal");
    assert_eq!(scenario.cluster.nodes, Range::new(3, 5));
    assert_eq!(scenario.cluster.zones, Range::new(1, 1));
    assert_eq!(scenario.network.loss, Range::new(0.0, 0.0));
    assert_eq!(scenario.workload.cancel_probability, Range::new(1.0, 1.0));
}

#[test]
fn draws_stay_within_ranges_and_replay() {
    let scenario = Scenario::parse("minimal.toml", MINIMAL).expect("valid");
    let draw = |seed| scenario.draw(&mut ChaCha8Rng::seed_from_u64(seed));
    for seed in 0..50 {
        let options = draw(seed);
        assert!((3..=5).contains(&options.cluster.nodes));
        assert!((20..=200).contains(&options.workload.instances));
        assert!(options.network.delay_ms_mean >= options.network.delay_ms_min);
        assert_eq!(options, draw(seed));
    }
    assert!((0..50).any(|seed| draw(seed) != draw(0)));
}

#[test]
fn options_print_every_knob() {
    let scenario = Scenario::parse("minimal.toml", MINIMAL).expect("valid");
    let text = scenario.draw(&mut ChaCha8Rng::seed_from_u64(1)).to_string();
    for line in [
        "scenario = \"minimal\"",
        "[cluster]",
        "nodes = ",
        "[network]",
        "loss = 0",
        "[faults]",
        "clock_jump_ms = 0",
        "[workload]",
        "metadata_sets_per_hour = 0",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
}

#[test]
fn net_config_carries_the_network_options() {
    let text = format!(
        "{MINIMAL}[network]\ndelay_ms_min = [4, 4]\ndelay_ms_mean = [9, 9]\nloss = [0.25, 0.25]\n"
    );
    let scenario = Scenario::parse("x.toml", &text).expect("valid");
    let config = scenario
        .draw(&mut ChaCha8Rng::seed_from_u64(0))
        .network
        .net_config();
    assert_eq!(config.delay_min, std::time::Duration::from_millis(4));
    assert_eq!(config.delay_mean, std::time::Duration::from_millis(9));
    assert_eq!(config.loss, 0.25);
}

#[test]
fn unknown_key_is_named() {
    let message = error(&MINIMAL.replace("liveness_minutes", "liveness_minuts"));
    assert_names(&message, "phases.liveness_minuts", "unknown key");
    let message = error(&format!("{MINIMAL}[netwrk]\nloss = [0.1, 0.2]\n"));
    assert_names(&message, "netwrk", "unknown key");
}

#[test]
fn min_above_max_is_named() {
    let message = error(&format!("{MINIMAL}[network]\nloss = [0.5, 0.1]\n"));
    assert_names(&message, "network.loss", "range [0.5, 0.1] has min > max");
    let message = error(&MINIMAL.replace("nodes = [3, 5]", "nodes = [5, 3]"));
    assert_names(&message, "cluster.nodes", "min > max");
}

#[test]
fn wrong_type_is_named() {
    let message = error(&format!("{MINIMAL}[network]\nloss = \"high\"\n"));
    assert_names(&message, "network.loss", "invalid type");
    let message = error(&MINIMAL.replace("nodes = [3, 5]", "nodes = [3, 5, 7]"));
    assert_names(&message, "cluster.nodes", "got 3 value(s)");
    let message = error(&MINIMAL.replace("nodes = [3, 5]", "nodes = [-3, 5]"));
    assert_names(&message, "cluster.nodes", "-3");
    let message = error(&MINIMAL.replace("description = \"minimal\"", "description = 7"));
    assert_names(&message, "description", "invalid type");
}

#[test]
fn missing_required_key_is_named() {
    let message = error(&MINIMAL.replace("instances = [20, 200]", ""));
    assert_names(&message, "workload.instances", "required key is missing");
    let message = error(&MINIMAL.replace("description = \"minimal\"", ""));
    assert_names(&message, "description", "required key is missing");
}

#[test]
fn probabilities_must_be_within_zero_and_one() {
    let message = error(&format!("{MINIMAL}[network]\nloss = [-0.1, 0.05]\n"));
    assert_names(&message, "network.loss", "-0.1 is not a probability");
    let message = error(&format!(
        "{MINIMAL}[workload]\ncancel_probability = [0.5, 1.5]\n"
    ));
    // The second [workload] table is itself a TOML error; put the key in the existing one.
    assert!(message.starts_with("scenarios/bad.toml: "), "{message}");
    let text = MINIMAL.replace(
        "instances = [20, 200]",
        "instances = [20, 200]\ncancel_probability = [0.5, 1.5]",
    );
    assert_names(
        &error(&text),
        "workload.cancel_probability",
        "1.5 is not a probability",
    );
}

#[test]
fn inconsistent_ranges_are_named() {
    let message = error(&MINIMAL.replace("nodes = [3, 5]", "nodes = [0, 5]"));
    assert_names(&message, "cluster.nodes", "must not include 0");
    let text = format!("{MINIMAL}[network]\ndelay_ms_min = [10, 20]\ndelay_ms_mean = [2, 5]\n");
    assert_names(&error(&text), "network.delay_ms_mean", "always below");
}

#[test]
fn syntax_errors_name_the_file_and_line() {
    let message = error("description = \"x\"\n[cluster]\nnodes = [1, 2\n");
    assert!(message.starts_with("scenarios/bad.toml: "), "{message}");
}

#[test]
fn a_missing_file_names_the_file() {
    let message = Scenario::load("no/such/scenario.toml")
        .expect_err("no such file")
        .to_string();
    assert!(
        message.starts_with("no/such/scenario.toml: cannot read"),
        "{message}"
    );
}

#[test]
fn every_shipped_scenario_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/ exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    let names: Vec<String> = paths
        .iter()
        .map(|path| match Scenario::load(path) {
            Ok(scenario) => scenario.name,
            Err(error) => panic!("{error}"),
        })
        .collect();
    for expected in [
        "steady",
        "partition-heal",
        "asymmetric-partition",
        "crash-restart",
        "rolling-restart",
        "total-restart",
        "clock-skew",
        "clock-bound",
        "lossy-network",
        "isolated-node",
        "mass-client-death",
        "churn",
        "multi-zone",
        "swarm",
        "eureka-clients",
        "swarm-clients",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "no scenarios/{expected}.toml"
        );
    }
}
