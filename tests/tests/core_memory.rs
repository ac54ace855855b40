//! How many bytes the core holds per registered instance, counted by a wrapper of the global
//! allocator (this test binary's only test, so nothing else allocates meanwhile).
//!
//! The instances have the shape the serving benchmark registers (`bench/src/workload.rs`:
//! apps of 100, two addresses of 24 bytes, a version, two metadata entries). The bound is
//! what the node held when it was set plus about 10 %: a change that makes every instance
//! bigger fails here, not months later in a production RSS graph. It counts the bytes asked
//! of the allocator, not the allocator's own overhead, so it reads below the benchmark's RSS
//! per instance (README, "Performance").

use std::alloc::System;
use std::rc::Rc;

use registry::api::{decode_request, Form, Route};
use registry::core::{Config, ManualClock, Node, Outbox, RequestId};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// A power of two: the table's slab then ends exactly full, as it would on average.
const INSTANCES: usize = 16_384;

/// Measured 439 bytes when set (metadata as sorted pairs behind one `Arc`); see the module
/// docs. The node is deterministic, so the count is the same on every run.
const MAX_BYTES_PER_INSTANCE: usize = 480;

fn register_form(i: usize) -> String {
    let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    format!(
        "zone=z1&env=dev&appid=bench.app{}&hostname=h{i}&status=1\
         &addrs=http://{ip}:8080,grpc://{ip}:9090&version=v1.0.0\
         &metadata=%7B%22weight%22%3A%2210%22%2C%22cluster%22%3A%22c1%22%7D",
        i / 100
    )
}

#[test]
fn an_instance_costs_the_core_at_most_the_measured_bytes() {
    let clock = Rc::new(ManualClock::new(1_700_000_000_000_000_000));
    let mut node = Node::new(Config::default(), clock, Outbox::default()).expect("default config");
    // Forms are decoded before counting starts: the count is what the node keeps.
    let requests: Vec<_> = (0..INSTANCES)
        .map(|i| {
            let form = Form::parse(&register_form(i)).expect("a form");
            decode_request(Route::Register, &form).expect("a register")
        })
        .collect();
    let region = Region::new(GLOBAL);
    for (i, request) in requests.into_iter().enumerate() {
        let id = RequestId(i as u64 + 1);
        node.handle_request(id, request);
        let reply = node.net_mut().take_reply(id).expect("answered at once");
        assert_eq!(reply.code.as_i32(), 0, "register {i}: {reply:?}");
    }
    let stats = region.change();
    // The node registers itself too (`infra.discovery`), before counting started.
    assert_eq!(node.instance_count(), INSTANCES + 1);
    let held = stats
        .bytes_allocated
        .saturating_sub(stats.bytes_deallocated);
    let per_instance = held / INSTANCES;
    println!("the core holds {per_instance} bytes per instance ({held} bytes for {INSTANCES})");
    assert!(
        per_instance <= MAX_BYTES_PER_INSTANCE,
        "{per_instance} bytes per instance; the bound is {MAX_BYTES_PER_INSTANCE}"
    );
}
