use super::harness::*;
use crate::api::{Code, Data, FetchArgs, FetchsArgs, NodeStatus, Request, StatusFilter};
use crate::core::Config;

#[test]
fn fetch_of_an_unknown_app_is_404() {
    let mut h = Harness::new();
    assert_code(&h.fetch(StatusFilter::ALL), Code::NothingFound);
}

#[test]
fn fetch_filters_by_zone() {
    let mut h = Harness::new();
    h.register("a");
    let mut other = register_args("b");
    other.key.zone = "z2".into();
    h.call(Request::Register(other));
    let fetch = |zone: &str| {
        Request::Fetch(FetchArgs {
            zone: zone.into(),
            env: "dev".into(),
            appid: "app".into(),
            status: StatusFilter::ALL,
        })
    };
    let Data::App(z2) = h.call(fetch("z2")).data else {
        panic!("z2 has an instance")
    };
    assert_eq!(hostnames(&z2), ["b"]);
    assert_eq!(z2.instances.keys().collect::<Vec<_>>(), ["z2"]);
    assert_code(&h.call(fetch("z9")), Code::NothingFound);
    let Data::App(all) = h.call(fetch("")).data else {
        panic!("all zones")
    };
    assert_eq!(hostnames(&all), ["a", "b"]);
}

#[test]
fn fetchs_returns_the_known_apps_only() {
    let mut h = Harness::new();
    h.register("a");
    let reply = h.call(Request::Fetchs(FetchsArgs {
        zone: Default::default(),
        env: "dev".into(),
        appids: vec!["app".into(), "unknown".into()],
        status: StatusFilter::ALL,
    }));
    assert_code(&reply, Code::Ok);
    let Data::Apps(apps) = reply.data else {
        panic!("fetchs answers a map")
    };
    assert_eq!(apps.keys().collect::<Vec<_>>(), ["app"]);
}

#[test]
fn fetch_in_another_env_sees_nothing() {
    let mut h = Harness::new();
    h.register("a");
    let reply = h.call(Request::Fetch(FetchArgs {
        zone: Default::default(),
        env: "prod".into(),
        appid: "app".into(),
        status: StatusFilter::ALL,
    }));
    assert_code(&reply, Code::NothingFound);
}

#[test]
fn nodes_lists_this_node() {
    let mut config = Config::default();
    config.identity.addr = "10.0.0.1:7171".into();
    config.identity.zone = "sh001".into();
    let mut h = Harness::with_config(config);
    let Data::Nodes(nodes) = h.call(Request::Nodes).data else {
        panic!("nodes answers a list")
    };
    assert_eq!(nodes.len(), 1);
    assert_eq!(
        (nodes[0].addr.as_str(), nodes[0].zone.as_str()),
        ("10.0.0.1:7171", "sh001")
    );
    assert_eq!(nodes[0].status, NodeStatus::Up);
}

#[test]
fn fetch_all_returns_every_app() {
    let mut h = Harness::new();
    h.register("a");
    let mut other = register_args("x");
    other.key.appid = "other".into();
    h.call(Request::Register(other));
    let Data::All(all) = h.call(Request::FetchAll).data else {
        panic!("fetch/all answers a map")
    };
    assert_eq!(
        all.keys().collect::<Vec<_>>(),
        ["app", "infra.discovery", "other"]
    );
    assert_eq!(all["app"].len(), 1);
}
