//! The Eureka documents: what clients send parses and maps onto the node's instance, and what
//! the node holds renders in Eureka's JSON and XML shapes (insta snapshots), reading back
//! what was written.

use super::mapping::{apps_hashcode, register_args, Action, View};
use super::model::parse_instance;
use super::render::{self, App, Format};
use super::status::EurekaStatus;
use crate::api::{Instance, RegisterArgs, SmolStr, Status};

/// What py_eureka_client sends (JSON, strings for booleans, a number for the port).
const PY_JSON: &str = r#"{"instance": {
    "instanceId": "127.0.0.1:my-app:9090", "hostName": "127.0.0.1", "app": "MY-APP",
    "ipAddr": "127.0.0.1", "status": "UP", "overriddenstatus": "UNKNOWN",
    "port": {"$": 9090, "@enabled": "true"}, "securePort": {"$": 443, "@enabled": "false"},
    "countryId": 1,
    "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
    "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 90},
    "metadata": {"management.port": "9090", "@class": "java.util.Collections$EmptyMap"},
    "homePageUrl": "http://127.0.0.1:9090/", "statusPageUrl": "http://127.0.0.1:9090/info",
    "healthCheckUrl": "http://127.0.0.1:9090/health", "vipAddress": "my-app",
    "secureVipAddress": "my-app", "isCoordinatingDiscoveryServer": "false",
    "lastUpdatedTimestamp": "1700000000000", "lastDirtyTimestamp": "1700000000000"}}"#;

/// The same instance in XML, as a Java client would send it.
const JAVA_XML: &str = r#"<instance>
  <instanceId>127.0.0.1:my-app:9090</instanceId>
  <hostName>127.0.0.1</hostName>
  <app>MY-APP</app>
  <ipAddr>127.0.0.1</ipAddr>
  <status>UP</status>
  <port enabled="true">9090</port>
  <securePort enabled="false">443</securePort>
  <countryId>1</countryId>
  <dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name></dataCenterInfo>
  <leaseInfo><renewalIntervalInSecs>30</renewalIntervalInSecs><durationInSecs>90</durationInSecs></leaseInfo>
  <metadata class="java.util.Collections$EmptyMap"><management.port>9090</management.port></metadata>
  <homePageUrl>http://127.0.0.1:9090/</homePageUrl>
  <statusPageUrl>http://127.0.0.1:9090/info</statusPageUrl>
  <healthCheckUrl>http://127.0.0.1:9090/health</healthCheckUrl>
  <vipAddress>my-app</vipAddress>
  <secureVipAddress>my-app</secureVipAddress>
  <lastDirtyTimestamp>1700000000000</lastDirtyTimestamp>
</instance>"#;

fn env() -> SmolStr {
    "dev".into()
}

fn args(body: &str, content_type: &str) -> Result<RegisterArgs, String> {
    let doc = parse_instance(body.as_bytes(), content_type)?;
    register_args(&env(), "my-app", &doc)
}

/// The instance the node would store for `args` (timestamps fixed, in nanoseconds).
fn stored(args: RegisterArgs) -> Instance {
    Instance {
        region: args.region,
        zone: args.key.zone,
        env: args.key.env,
        appid: args.key.appid,
        hostname: args.key.hostname,
        addrs: args.addrs.into(),
        version: args.version,
        metadata: args.metadata,
        status: args.status,
        reg_timestamp: 1_700_000_001_000_000_000,
        up_timestamp: 1_700_000_001_000_000_000,
        renew_timestamp: 1_700_000_002_000_000_000,
        dirty_timestamp: 1_700_000_000_000_000_000,
        latest_timestamp: 1_700_000_000_000_000_000,
    }
}

#[test]
fn json_and_xml_registers_map_to_the_same_instance() {
    let json = args(PY_JSON, "application/json").expect("json maps");
    let xml = args(JAVA_XML, "application/xml").expect("xml maps");
    assert_eq!(json, xml);
    assert_eq!(json.key.appid, "my-app");
    assert_eq!(json.key.hostname, "127.0.0.1:my-app:9090");
    assert_eq!(json.status, Status::Up);
    assert_eq!(json.addrs, vec![SmolStr::from("http://127.0.0.1:9090")]);
    assert_eq!(json.dirty_timestamp, 1_700_000_000_000_000_000);
    assert_eq!(
        json.metadata.get("management.port").map(|v| v.as_str()),
        Some("9090")
    );
    assert!(!json.metadata.contains_key("@class"));
}

#[test]
fn the_content_type_may_be_missing_an_xml_body_is_recognised() {
    assert_eq!(
        args(JAVA_XML, "").expect("xml"),
        args(PY_JSON, "").expect("json")
    );
}

#[test]
fn eureka_js_client_booleans_and_a_secure_port_become_addresses() {
    let body = r#"{"instance": {"app": "my-app", "hostName": "h", "ipAddr": "10.0.0.1",
        "port": {"$": 8080, "@enabled": true}, "securePort": {"$": "8443", "@enabled": true},
        "vipAddress": "my-app", "dataCenterInfo": {"@class": "x", "name": "MyOwn"}}}"#;
    let args = args(body, "application/json").expect("maps");
    assert_eq!(
        args.addrs,
        vec![
            SmolStr::from("http://10.0.0.1:8080"),
            SmolStr::from("https://10.0.0.1:8443")
        ]
    );
    // No instanceId: the host name is the id, as Eureka's server does.
    assert_eq!(args.key.hostname, "h");
    assert_eq!(
        args.dirty_timestamp, 0,
        "no lastDirtyTimestamp: the node stamps"
    );
}

#[test]
fn every_eureka_status_reads_back_as_written() {
    for name in ["UP", "DOWN", "STARTING", "OUT_OF_SERVICE", "UNKNOWN"] {
        let body = PY_JSON.replace(r#""status": "UP""#, &format!(r#""status": "{name}""#));
        let args = args(&body, "application/json").expect("maps");
        assert_eq!(args.status == Status::Up, name == "UP", "{name}");
        assert_eq!(View::of(&stored(args)).status.name(), name);
    }
}

#[test]
fn a_discovery_waiting_instance_is_out_of_service() {
    let mut instance = stored(args(PY_JSON, "").expect("maps"));
    instance.status = Status::Waiting;
    assert_eq!(EurekaStatus::of(&instance), EurekaStatus::OutOfService);
}

#[test]
fn bad_registers_are_refused_with_a_reason() {
    let cases = [
        ("{", "malformed JSON"),
        ("<instance><app>x</instance>", "malformed XML"),
        (
            r#"{"instance": {"hostName": "h", "port": {"$": 1}}}"#,
            "instance.app is required",
        ),
        (
            r#"{"instance": {"app": "other", "hostName": "h", "port": {"$": 1}}}"#,
            "does not match",
        ),
        (
            r#"{"instance": {"app": "my-app", "hostName": "h", "status": "up", "port": {"$": 1}}}"#,
            "is not one of",
        ),
        (
            r#"{"instance": {"app": "my-app", "hostName": "h", "port": {"$": 70000}}}"#,
            "port number",
        ),
        (
            r#"{"instance": {"app": "my-app", "hostName": "h", "port": {"$": 1, "@enabled": "false"}}}"#,
            "must be enabled",
        ),
        (
            r#"{"instance": {"app": "my-app", "port": {"$": 1}}}"#,
            "ipAddr or instance.hostName",
        ),
        (
            r#"{"instance": {"app": "my-app", "hostName": "h", "port": {"$": 1}, "metadata": {"eureka.status": "UP"}}}"#,
            "reserved",
        ),
        (
            r#"{"instance": {"app": "my-app", "hostName": "h", "port": {"$": 1}, "lastDirtyTimestamp": "-5"}}"#,
            "milliseconds",
        ),
        (
            r#"{"instance": {"app": "my-app", "hostName": "h", "port": {"$": 1}, "leaseInfo": {"durationInSecs": "x"}}}"#,
            "whole number",
        ),
    ];
    for (body, reason) in cases {
        let error = args(body, "").expect_err(body);
        assert!(error.contains(reason), "{body}: {error}");
    }
}

#[test]
fn app_names_are_case_insensitive() {
    let doc = parse_instance(PY_JSON.as_bytes(), "").expect("parses");
    let upper = register_args(&env(), "MY-APP", &doc).expect("maps");
    let lower = register_args(&env(), "my-app", &doc).expect("maps");
    assert_eq!(upper.key, lower.key);
}

fn sample_apps() -> Vec<App> {
    let up = View::of(&stored(args(PY_JSON, "").expect("maps")));
    let mut down_args = args(
        &PY_JSON.replace(r#""status": "UP""#, r#""status": "DOWN""#),
        "",
    )
    .expect("maps");
    down_args.key.hostname = "second".into();
    let down = View::of(&stored(down_args));
    vec![App {
        name: "MY-APP".into(),
        instances: vec![up, down],
    }]
}

#[test]
fn applications_render_as_eureka_json() {
    let text = render::applications(&sample_apps(), Format::Json);
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap_or_default());
}

#[test]
fn applications_render_as_eureka_xml() {
    insta::assert_snapshot!(render::applications(&sample_apps(), Format::Xml));
}

/// A delta: one MODIFIED instance (with its override) and one DELETED, the hash code of the
/// full registry (which holds one more UP instance than the delta shows) and the version.
fn sample_delta() -> (Vec<App>, Vec<App>) {
    let mut changes = sample_apps();
    let [up, down] = &mut changes[0].instances[..] else {
        unreachable!("sample_apps has two instances")
    };
    up.action = Action::Modified;
    up.status = EurekaStatus::OutOfService;
    up.overridden = Some(EurekaStatus::OutOfService);
    down.action = Action::Deleted;
    let mut all = sample_apps();
    all[0].instances[1].instance_id = "third".into();
    (changes, all)
}

#[test]
fn a_delta_renders_as_eureka_json() {
    let (changes, all) = sample_delta();
    let text = render::delta(&changes, 42, &all, Format::Json);
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["applications"]["apps__hashcode"], "DOWN_1_UP_1_");
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap_or_default());
}

#[test]
fn a_delta_renders_as_eureka_xml() {
    let (changes, all) = sample_delta();
    insta::assert_snapshot!(render::delta(&changes, 42, &all, Format::Xml));
}

#[test]
fn a_rendered_instance_parses_back_to_the_same_register() {
    let view = View::of(&stored(args(PY_JSON, "").expect("maps")));
    for format in [Format::Json, Format::Xml] {
        let text = render::instance(&view, format);
        let again = args(&text, "").unwrap_or_else(|e| panic!("{format:?}: {e}\n{text}"));
        let mut expected = args(PY_JSON, "").expect("maps");
        // The node's version, not the client's, is what it reports.
        expected.dirty_timestamp = 1_700_000_000_000_000_000;
        assert_eq!(again, expected, "{format:?}");
    }
}

#[test]
fn an_instance_registered_through_discovery_renders_from_its_address() {
    let instance = Instance {
        addrs: vec![SmolStr::from("grpc://10.1.2.3:9000")].into(),
        metadata: Default::default(),
        hostname: "host-1".into(),
        appid: "main.arch.test".into(),
        ..stored(args(PY_JSON, "").expect("maps"))
    };
    let view = View::of(&instance);
    assert_eq!(view.app, "MAIN.ARCH.TEST");
    assert_eq!(view.port.number, 9000);
    assert!(view.port.enabled);
    let json: serde_json::Value =
        serde_json::from_str(&render::instance(&view, Format::Json)).expect("json");
    assert_eq!(json["instance"]["ipAddr"], "10.1.2.3");
    assert_eq!(json["instance"]["hostName"], "host-1");
    assert_eq!(json["instance"]["port"]["$"], 9000);
}

#[test]
fn xml_leaves_out_metadata_keys_no_element_can_carry() {
    let mut view = View::of(&stored(args(PY_JSON, "").expect("maps")));
    view.metadata.insert("9 lives".into(), "x".into());
    view.metadata.insert("<b>".into(), "x".into());
    let xml = render::instance(&view, Format::Xml);
    assert!(!xml.contains("lives") && !xml.contains("<b>"), "{xml}");
    let json = render::instance(&view, Format::Json);
    assert!(json.contains("9 lives"));
}

#[test]
fn apps_hashcode_counts_statuses_in_name_order() {
    let apps = sample_apps();
    let mut views: Vec<View> = apps[0].instances.clone();
    views.push(views[0].clone());
    views.push(views[0].clone());
    assert_eq!(apps_hashcode(&views), "DOWN_1_UP_3_");
    assert_eq!(apps_hashcode(&[]), "");
}

#[test]
fn accept_chooses_json_only_when_asked() {
    assert_eq!(Format::from_accept(None), Format::Xml);
    assert_eq!(Format::from_accept(Some("application/xml")), Format::Xml);
    assert_eq!(
        Format::from_accept(Some("Application/JSON; charset=utf-8")),
        Format::Json
    );
}
