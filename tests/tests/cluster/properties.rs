//! For random interleavings and losses of a bounded op sequence, anti-entropy brings every
//! node to the same registry.
//!
//! While renews flow, every node agrees on each instance's version.

use std::time::Duration;

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use registry::api::{CancelArgs, RenewArgs, Request, SetArgs, Status};

use super::driver::*;

#[derive(Clone, Debug)]
enum Op {
    Register(usize),
    Renew(usize),
    Cancel(usize),
    Set(usize, bool),
}

fn host(i: usize) -> String {
    format!("h{i}")
}

fn request(op: &Op) -> Request {
    let identity = |h: usize| {
        (
            "z1".to_string(),
            "dev".to_string(),
            "app".to_string(),
            host(h),
        )
    };
    match *op {
        Op::Register(h) => register(&host(h)),
        Op::Renew(h) => Request::Renew(RenewArgs {
            key: key(&host(h)),
            replication: false,
            dirty_timestamp: 0,
        }),
        Op::Cancel(h) => Request::Cancel(CancelArgs {
            key: key(&host(h)),
            replication: false,
            latest_timestamp: 0,
        }),
        Op::Set(h, up) => {
            let (zone, env, appid, hostname) = identity(h);
            let status = if up { Status::Up } else { Status::Waiting };
            Request::Set(SetArgs {
                zone: zone.into(),
                env: env.into(),
                appid: appid.into(),
                hostnames: vec![hostname.into()],
                statuses: vec![status],
                metadata: vec![],
                replication: false,
                set_timestamp: 0,
            })
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..4).prop_map(Op::Register),
        (0usize..4).prop_map(Op::Renew),
        (0usize..4).prop_map(Op::Cancel),
        (0usize..4, any::<bool>()).prop_map(|(h, up)| Op::Set(h, up)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn anti_entropy_converges_after_any_interleaving_and_loss(
        ops in prop::collection::vec((op(), 0usize..3, 0u64..5_000), 1..25),
        loss_percent in 0u32..=100,
        hold_percent in 0u32..=50,
        seed: u64,
    ) {
        let mut c = Cluster::new(3);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        c.filter = Box::new(move |e| {
            if !is_replicate(e) {
                return Verdict::Deliver;
            }
            let roll = rng.gen_range(0..100);
            if roll < loss_percent { Verdict::Drop } else if roll < loss_percent + hold_percent { Verdict::Hold } else { Verdict::Deliver }
        });
        for (op, node, pause_ms) in &ops {
            c.call(*node, request(op));
            c.run_for(Duration::from_millis(*pause_ms));
        }
        // Deliver what was held, in a shuffled order, then let anti-entropy run.
        let mut held = std::mem::take(&mut c.held);
        let mut shuffle = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        for i in (1..held.len()).rev() {
            held.swap(i, shuffle.gen_range(0..=i));
        }
        c.filter = Box::new(|_| Verdict::Deliver);
        for envelope in held {
            c.deliver(envelope);
        }
        c.deliver_all();
        // Live instances keep renewing, as real clients do, through every node: a copy whose
        // lease has expired is (by design) not spread by anti-entropy.
        for _ in 0..5 {
            for node in 0..3 {
                for h in 0..4 {
                    c.call(node, request(&Op::Renew(h)));
                }
            }
            c.run_for(Duration::from_secs(30));
        }
        prop_assert!(c.converged(), "digests differ after anti-entropy");
        let registries: Vec<_> = (0..3)
            .map(|i| (0..4).map(|h| c.instance(i, &host(h)).map(|x| (x.dirty_timestamp, x.status))).collect::<Vec<_>>())
            .collect();
        prop_assert_eq!(&registries[0], &registries[1]);
        prop_assert_eq!(&registries[1], &registries[2]);
    }
}
