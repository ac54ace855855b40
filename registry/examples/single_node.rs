//! Drives one registry node through a scripted hour: 50 instances register and renew, then a
//! partition cuts 40 of them off. Prints what the node decided minute by minute.
//!
//! Run with `cargo run -p registry --example single_node`.

use std::rc::Rc;
use std::time::Duration;

use registry::api::{InstanceKey, RegisterArgs, RenewArgs, Request, Status};
use registry::core::{Config, ManualClock, Node, NodeEvent, Outbox, RequestId};

const INSTANCES: usize = 50;
const CUT_OFF: usize = 40;

fn main() {
    let clock = Rc::new(ManualClock::new(1_700_000_000_000_000_000));
    let mut node = match Node::new(Config::default(), clock.clone(), Outbox::default()) {
        Ok(node) => node,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let mut next_id = 0;
    let mut send = |node: &mut Node<_, Outbox>, request| {
        next_id += 1;
        node.handle_request(RequestId(next_id), request);
    };
    for i in 0..INSTANCES {
        send(&mut node, Request::Register(register(i)));
    }
    println!("minute  instances  renews/window  threshold  protected  evicted");
    let mut evicted = 0;
    for half_minute in 1..=180u32 {
        clock.advance(Duration::from_secs(30));
        node.handle_timeout();
        // From minute 10 on, instances 10.. can no longer reach this node.
        let reachable = if half_minute > 20 {
            INSTANCES - CUT_OFF
        } else {
            INSTANCES
        };
        for i in 0..reachable {
            send(&mut node, Request::Renew(renew(i)));
        }
        while let Some(event) = node.poll_event() {
            if let NodeEvent::Evicted { .. } = event {
                evicted += 1;
            }
        }
        node.net_mut().replies.clear();
        if half_minute % 10 == 0 {
            let p = node.protection();
            println!(
                "{:>6}  {:>9}  {:>13}  {:>9}  {:>9}  {:>7}",
                half_minute / 2,
                node.instance_count(),
                p.renews_last_window,
                p.threshold,
                p.protected,
                evicted
            );
        }
    }
    let p = node.protection();
    println!(
        "\nafter 90 minutes: {} of {INSTANCES} instances kept; protection: {} ({})",
        node.instance_count(),
        p.protected,
        p.reason
    );
}

fn register(i: usize) -> RegisterArgs {
    RegisterArgs {
        key: InstanceKey {
            zone: "z1".into(),
            env: "dev".into(),
            appid: format!("app{}", i % 5).into(),
            hostname: format!("host{i}").into(),
        },
        region: "local".into(),
        status: Status::Up,
        addrs: vec![format!("http://10.0.0.{i}:8000").into()],
        version: "v1".into(),
        metadata: Default::default(),
        replication: false,
        latest_timestamp: 0,
        dirty_timestamp: 0,
    }
}

fn renew(i: usize) -> RenewArgs {
    RenewArgs {
        key: InstanceKey {
            zone: "z1".into(),
            env: "dev".into(),
            appid: format!("app{}", i % 5).into(),
            hostname: format!("host{i}").into(),
        },
        replication: false,
        dirty_timestamp: 0,
    }
}
