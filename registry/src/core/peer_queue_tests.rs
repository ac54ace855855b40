use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::api::{Instance, InstanceKey, Status, Version};

fn key(host: &str) -> InstanceKey {
    InstanceKey {
        env: "e".into(),
        appid: "a".into(),
        zone: "z".into(),
        hostname: host.into(),
    }
}

fn put(host: &str, dirty: i64) -> ReplicatedOp {
    ReplicatedOp::Write(Version::Put(Box::new(Instance {
        region: Default::default(),
        zone: "z".into(),
        env: "e".into(),
        appid: "a".into(),
        hostname: host.into(),
        addrs: vec![].into(),
        version: Default::default(),
        metadata: Default::default(),
        status: Status::Up,
        reg_timestamp: dirty,
        up_timestamp: dirty,
        renew_timestamp: dirty,
        dirty_timestamp: dirty,
        latest_timestamp: dirty,
    })))
}

/// A batch's ops, to compare with expected ones.
fn ops(batch: Vec<Arc<ReplicatedOp>>) -> Vec<ReplicatedOp> {
    batch.into_iter().map(Arc::unwrap_or_clone).collect()
}

fn renew(host: &str) -> ReplicatedOp {
    ReplicatedOp::Renew {
        key: key(host),
        dirty_timestamp: 1,
    }
}

fn at(ms: u64) -> Mono {
    Mono::from_nanos(ms * 1_000_000)
}

fn config() -> ReplicationConfig {
    ReplicationConfig {
        max_batch: 3,
        max_queue: 5,
        ..ReplicationConfig::default()
    }
}

#[test]
fn a_newer_op_replaces_the_pending_one_but_a_renew_never_replaces_a_register() {
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(put("h", 1), at(0)), &config());
    q.push(QueuedOp::new(put("h", 2), at(0)), &config());
    q.push(QueuedOp::new(renew("h"), at(0)), &config());
    assert_eq!(q.depth(), 1);
    let batch = q
        .take_batch(1, at(10), &config())
        .expect("due after max_delay");
    assert_eq!(ops(batch), [put("h", 2)]);
}

#[test]
fn a_register_replaces_a_pending_renew() {
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(renew("h"), at(0)), &config());
    q.push(QueuedOp::new(put("h", 5), at(0)), &config());
    assert_eq!(
        ops(q.take_batch(1, at(10), &config()).expect("due")),
        [put("h", 5)]
    );
}

#[test]
fn a_write_to_an_idle_peer_is_due_at_once_and_writes_behind_a_batch_in_flight_share_the_next() {
    let config = config();
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(put("a", 1), at(0)), &config);
    assert_eq!(q.deadline(), Some(at(0)), "nothing in flight: no wait");
    let first = q.take_batch(1, at(0), &config).expect("due at once");
    assert_eq!(ops(first), [put("a", 1)]);
    q.push(QueuedOp::new(put("b", 1), at(1)), &config);
    q.push(QueuedOp::new(put("c", 1), at(2)), &config);
    assert_eq!(
        q.deadline(),
        Some(at(0) + config.ack_timeout),
        "in flight: the next batch waits for the acknowledgement"
    );
    assert!(q.take_batch(2, at(500), &config).is_none());
    assert!(q.acknowledge(1, &[OpResult::Ok], at(600), &config, |_, _| {}));
    assert_eq!(
        q.deadline(),
        Some(at(600)),
        "acknowledged: the next leaves at once"
    );
    let next = q.take_batch(2, at(600), &config).expect("due");
    assert_eq!(ops(next), [put("b", 1), put("c", 1)], "one batch");
}

#[test]
fn writes_behind_a_failed_batch_wait_for_the_back_off() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let config = config();
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(put("a", 1), at(0)), &config);
    q.take_batch(1, at(0), &config).expect("due at once");
    let timeout = at(0) + config.ack_timeout;
    assert!(q.check_timeout(timeout, &config, &mut rng));
    let retry_at = q.deadline().expect("retry scheduled");
    assert!(retry_at >= timeout + config.backoff_base.mul_f64(0.75));
    q.push(QueuedOp::new(put("b", 1), timeout), &config);
    assert_eq!(
        q.deadline(),
        Some(retry_at),
        "a new write does not cut the back-off short"
    );
    assert!(q.take_batch(2, timeout, &config).is_none());
    let retry = q
        .take_batch(2, retry_at, &config)
        .expect("due after the back-off");
    assert_eq!(ops(retry), [put("a", 1), put("b", 1)]);
}

#[test]
fn a_configured_max_delay_makes_a_write_wait_for_company_unless_the_batch_is_full() {
    let config = ReplicationConfig {
        max_delay: Duration::from_millis(10),
        ..config()
    };
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(put("a", 1), at(0)), &config);
    assert!(
        q.take_batch(1, at(5), &config).is_none(),
        "waits for company"
    );
    assert_eq!(q.deadline(), Some(at(10)));
    q.push(QueuedOp::new(put("b", 1), at(1)), &config);
    q.push(QueuedOp::new(put("c", 1), at(2)), &config);
    let batch = q
        .take_batch(1, at(2), &config)
        .expect("full: leaves at once");
    assert_eq!(batch.len(), 3);
}

#[test]
fn unacknowledged_batches_are_retried_with_growing_backoff() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let config = ReplicationConfig {
        retry_horizon: Duration::from_secs(3600),
        ..config()
    };
    let lost_after = Duration::from_secs(10);
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(put("a", 1), at(0)), &config);
    q.take_batch(1, at(10), &config).expect("sent");
    assert_eq!(q.deadline(), Some(at(10) + config.ack_timeout));
    let first_timeout = at(10) + config.ack_timeout;
    let mut last_gap = Duration::ZERO;
    let mut now = first_timeout;
    for attempt in 0..10u32 {
        assert!(q.check_timeout(now, &config, &mut rng));
        let silent = now.saturating_since(first_timeout);
        let expected = attempt + 1 >= LOST_AFTER_FAILURES && silent >= lost_after;
        assert_eq!(q.is_lost(now, lost_after), expected, "attempt {attempt}");
        let retry_at = q.deadline().expect("retry scheduled");
        let gap = retry_at.saturating_since(now);
        assert!(
            gap >= config.backoff_base.mul_f64(0.75),
            "attempt {attempt}: {gap:?}"
        );
        assert!(
            gap <= config.backoff_max.mul_f64(1.25),
            "attempt {attempt}: {gap:?}"
        );
        if (2..6).contains(&attempt) {
            assert!(gap > last_gap, "backoff grows: {gap:?} after {last_gap:?}");
        }
        last_gap = gap;
        let batch = q
            .take_batch(u64::from(attempt) + 2, retry_at, &config)
            .expect("resent");
        assert_eq!(ops(batch), [put("a", 1)]);
        now = retry_at + config.ack_timeout;
    }
    assert_eq!(q.counters.retried, 10);
    assert!(
        q.is_lost(now, lost_after),
        "ten unanswered batches over minutes: lost"
    );
    assert!(q.acknowledge(11, &[], now, &config, |_, _| {}));
    assert!(
        !q.is_lost(now, Duration::ZERO),
        "an answer ends the silence"
    );
}

#[test]
fn a_late_ack_for_an_old_batch_is_ignored() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let config = config();
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(put("a", 1), at(0)), &config);
    q.take_batch(1, at(10), &config);
    q.check_timeout(at(10) + config.ack_timeout, &config, &mut rng);
    assert!(!q.acknowledge(1, &[], at(5_000), &config, |_, _| {}));
    assert_eq!(q.depth(), 1, "still queued for the retry");
}

#[test]
fn overflow_drops_the_oldest_and_counts_it() {
    let mut q = PeerQueue::default();
    for i in 0..7 {
        q.push(
            QueuedOp::new(put(&format!("h{i}"), 1), at(0)),
            &ReplicationConfig {
                max_batch: 100,
                ..config()
            },
        );
    }
    assert_eq!(q.depth(), 5);
    assert_eq!(q.counters.dropped_overflow, 2);
    let batch = q
        .take_batch(
            1,
            at(10),
            &ReplicationConfig {
                max_batch: 100,
                ..config()
            },
        )
        .expect("due");
    assert_eq!(
        batch.first().map(|op| &**op),
        Some(&put("h2", 1)),
        "h0 and h1 were the oldest"
    );
}

#[test]
fn ops_past_the_retry_horizon_are_dropped_and_counted() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let config = ReplicationConfig {
        retry_horizon: Duration::from_secs(10),
        ..config()
    };
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(put("a", 1), at(0)), &config);
    q.take_batch(1, at(10), &config);
    q.check_timeout(at(20_000), &config, &mut rng);
    let retry_at = q.deadline().expect("scheduled");
    assert!(
        q.take_batch(2, retry_at, &config).is_none(),
        "expired before the retry"
    );
    assert_eq!(q.counters.dropped_expired, 1);
    assert_eq!(q.depth(), 0);
    q.check_invariants();
}

#[test]
fn a_newer_op_queued_during_flight_wins_over_the_retried_one() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let config = config();
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(put("a", 1), at(0)), &config);
    q.take_batch(1, at(10), &config);
    q.push(QueuedOp::new(put("a", 2), at(20)), &config);
    q.check_timeout(at(10) + config.ack_timeout, &config, &mut rng);
    let retry_at = q.deadline().expect("scheduled");
    assert_eq!(
        ops(q.take_batch(2, retry_at, &config).expect("sent")),
        [put("a", 2)]
    );
}

#[test]
fn replaced_ops_move_to_the_back_and_their_holes_are_reclaimed() {
    let config = ReplicationConfig {
        max_batch: 1000,
        max_queue: 1000,
        ..ReplicationConfig::default()
    };
    let mut q = PeerQueue::default();
    let hosts: Vec<String> = (0..50).map(|i| format!("h{i:02}")).collect();
    for host in &hosts {
        q.push(QueuedOp::new(put(host, 1), at(0)), &config);
    }
    // Rewrite every even host many times: each rewrite leaves a hole where the op was.
    for round in 2..40 {
        for host in hosts.iter().step_by(2) {
            q.push(QueuedOp::new(put(host, round), at(0)), &config);
        }
        q.check_invariants();
        assert!(
            q.pending.len() <= 2 * q.live + 16,
            "holes are compacted: {} slots for {} ops",
            q.pending.len(),
            q.live
        );
    }
    assert_eq!(q.depth(), 50);
    let batch = q.take_batch(1, at(10), &config).expect("due");
    let odd = hosts.iter().skip(1).step_by(2).map(|h| put(h, 1));
    let even = hosts.iter().step_by(2).map(|h| put(h, 39));
    assert_eq!(
        ops(batch),
        odd.chain(even).collect::<Vec<_>>(),
        "untouched ops first, rewritten ones in the order of their last rewrite"
    );
    assert_eq!(q.depth(), 0);
}

#[test]
fn renews_alone_wait_for_the_renew_delay_and_a_write_takes_them_along() {
    let config = ReplicationConfig {
        max_batch: 100,
        ..ReplicationConfig::default()
    };
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(renew("a"), at(0)), &config);
    q.push(QueuedOp::new(renew("b"), at(300)), &config);
    assert_eq!(q.deadline(), Some(at(0) + config.renew_delay));
    assert!(q.take_batch(1, at(500), &config).is_none(), "renews wait");
    q.push(QueuedOp::new(put("c", 1), at(600)), &config);
    assert_eq!(q.deadline(), Some(at(600)), "a write leaves at once");
    assert_eq!(
        ops(q.take_batch(1, at(610), &config).expect("due")),
        [renew("a"), renew("b"), put("c", 1)]
    );
}

#[test]
fn after_an_ack_waiting_renews_keep_the_renew_delay_and_writes_leave_at_once() {
    let config = ReplicationConfig {
        max_batch: 100,
        ..ReplicationConfig::default()
    };
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(put("a", 1), at(0)), &config);
    q.take_batch(1, at(10), &config).expect("due");
    q.push(QueuedOp::new(renew("b"), at(20)), &config);
    assert!(q.acknowledge(1, &[], at(30), &config, |_, _| {}));
    assert_eq!(q.deadline(), Some(at(30) + config.renew_delay));
    q.take_batch(2, at(30) + config.renew_delay, &config)
        .expect("due");
    q.push(QueuedOp::new(put("c", 1), at(2000)), &config);
    q.push(QueuedOp::new(renew("d"), at(2001)), &config);
    assert!(q.acknowledge(2, &[], at(2002), &config, |_, _| {}));
    assert_eq!(q.deadline(), Some(at(2002)));
}

#[test]
fn an_ack_hands_back_every_op_of_the_batch_with_its_result() {
    let config = config();
    let mut q = PeerQueue::default();
    for host in ["a", "b", "c"] {
        q.push(QueuedOp::new(renew(host), at(0)), &config);
    }
    assert_eq!(q.take_batch(1, at(0), &config).map(|b| b.len()), Some(3));
    let results = [OpResult::Ok, OpResult::NotFound, OpResult::Ok];
    let mut answered = Vec::new();
    assert!(q.acknowledge(1, &results, at(5), &config, |op, result| {
        answered.push(((**op).clone(), result.clone()));
    }));
    assert_eq!(
        answered,
        [
            (renew("a"), OpResult::Ok),
            (renew("b"), OpResult::NotFound),
            (renew("c"), OpResult::Ok)
        ]
    );
    // The next batch reuses the emptied buffer and carries only its own ops.
    q.push(QueuedOp::new(renew("d"), at(10)), &config);
    let next = q.take_batch(2, at(10) + config.renew_delay, &config);
    assert_eq!(next.map(ops), Some(vec![renew("d")]));
    let mut answered = Vec::new();
    assert!(
        q.acknowledge(2, &[OpResult::Ok], at(1_020), &config, |op, _| {
            answered.push((**op).clone());
        })
    );
    assert_eq!(answered, [renew("d")]);
}

#[test]
fn renews_past_the_renew_horizon_are_dropped_but_writes_wait_for_the_retry_horizon() {
    // Swarm seed 52083: renews queued behind a partition reached a peer minutes after the
    // client died and gave its copy a fresh lease.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let config = ReplicationConfig {
        renew_horizon: Duration::from_secs(30),
        retry_horizon: Duration::from_secs(120),
        ..config()
    };
    // (Short horizons keep the test small; the default renew horizon is the 90 s lease.)
    let mut q = PeerQueue::default();
    q.push(QueuedOp::new(renew("a"), at(0)), &config);
    q.push(QueuedOp::new(put("b", 1), at(0)), &config);
    q.take_batch(1, at(1_000), &config).expect("due");
    q.check_timeout(at(40_000), &config, &mut rng);
    let retry_at = q.deadline().expect("scheduled");
    assert!(retry_at > at(30_000));
    let sent = ops(q.take_batch(2, retry_at, &config).expect("the put is sent"));
    assert_eq!(sent, [put("b", 1)], "the renew is 40 s old");
    assert_eq!(q.counters.dropped_expired, 1);
    q.check_invariants();
}

#[test]
fn a_batch_put_back_meets_the_pending_op_of_each_of_its_instances_and_no_other() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let config = ReplicationConfig {
        max_batch: 10,
        max_queue: 100,
        ..ReplicationConfig::default()
    };
    let mut q = PeerQueue::default();
    for op in [put("a", 1), put("b", 1), renew("c"), renew("d")] {
        q.push(QueuedOp::new(op, at(0)), &config);
    }
    q.take_batch(1, at(0), &config).expect("due at once");
    // Queued while the batch is in flight: e's op shares b's hash (a collision, told apart by
    // the key) and sits before b's renew; a and c got newer writes, d another renew.
    let mut e = QueuedOp::new(put("e", 1), at(1));
    e.hash = QueuedOp::new(renew("b"), at(1)).hash;
    q.push(e, &config);
    for op in [put("a", 2), renew("b"), put("c", 2), renew("d")] {
        q.push(QueuedOp::new(op, at(1)), &config);
    }
    assert!(q.check_timeout(at(0) + config.ack_timeout, &config, &mut rng));
    q.check_invariants();
    // Only b's write goes back (ahead of everything, replacing b's renew); the newer writes of
    // a and c win, and so does d's pending renew.
    assert_eq!(q.counters.retried, 1);
    let retry_at = q.deadline().expect("scheduled");
    assert_eq!(
        ops(q.take_batch(2, retry_at, &config).expect("sent")),
        [
            put("b", 1),
            put("e", 1),
            put("a", 2),
            put("c", 2),
            renew("d")
        ]
    );
}

#[test]
fn a_batch_holds_at_most_max_batch_ops_and_a_renew_at_its_horizon_still_goes() {
    let config = ReplicationConfig {
        renew_horizon: Duration::from_secs(30),
        ..config()
    };
    let mut q = PeerQueue::default();
    for host in ["a", "b", "c", "d"] {
        q.push(QueuedOp::new(renew(host), at(0)), &config);
    }
    // Exactly the renew horizon old: not past it, so sent.
    let first = ops(q.take_batch(1, at(30_000), &config).expect("due"));
    assert_eq!(
        first,
        [renew("a"), renew("b"), renew("c")],
        "max_batch is 3"
    );
    assert_eq!((q.depth(), q.counters.dropped_expired), (1, 0));
}

/// `check_invariants` runs after every step of every node in debug builds (tests and the
/// simulator): each of its checks must report the state it guards against.
#[test]
fn check_invariants_reports_each_broken_invariant() {
    let healthy = || {
        let mut q = PeerQueue::default();
        q.push(QueuedOp::new(put("a", 1), at(0)), &config());
        q.push(QueuedOp::new(renew("b"), at(0)), &config());
        q.check_invariants();
        q
    };
    type Break = (&'static str, fn(&mut PeerQueue));
    let breaks: [Break; 5] = [
        ("queue count out of step", |q| q.live += 1),
        ("write count out of step", |q| q.writes += 1),
        ("a hole at the front of the queue", |q| {
            q.pending.push_front(None);
        }),
        ("two pending ops for one instance", |q| {
            q.pending.push_back(Some(QueuedOp::new(put("a", 2), at(0))));
            q.live += 1;
            q.writes += 1;
        }),
        ("pending ops with nothing scheduled", |q| q.send_at = None),
    ];
    for (message, break_it) in breaks {
        let mut q = healthy();
        break_it(&mut q);
        let text = crate::core::tests::panic_text(message, || q.check_invariants());
        assert!(text.contains(message), "{message}: reported {text:?}");
    }
}
