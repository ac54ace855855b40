use proptest::prelude::*;

use super::*;
use crate::api::Status;

const NOW: Mono = Mono::from_nanos(1_000);

/// An instance of app `dev/app` in zone `z1` at version `dirty` (also used by `index.rs`).
pub(crate) fn instance(host: &str, dirty: i64) -> Instance {
    Instance {
        region: Default::default(),
        zone: "z1".into(),
        env: "dev".into(),
        appid: "app".into(),
        hostname: host.into(),
        addrs: vec![format!("http://{host}:{dirty}").into()].into(),
        version: Default::default(),
        metadata: Default::default(),
        status: Status::Up,
        reg_timestamp: dirty,
        up_timestamp: dirty,
        renew_timestamp: 0,
        dirty_timestamp: dirty,
        latest_timestamp: dirty,
    }
}

fn key(host: &str) -> InstanceKey {
    InstanceKey::of(&instance(host, 0))
}

fn app() -> AppKey {
    AppKey {
        env: "dev".into(),
        appid: "app".into(),
    }
}

#[test]
fn newer_put_replaces_and_older_put_is_stale() {
    let mut table = Table::default();
    assert_eq!(
        table.apply(Version::Put(Box::new(instance("h", 10))), NOW, 1),
        Applied::Inserted
    );
    assert_eq!(
        table.apply(Version::Put(Box::new(instance("h", 20))), NOW, 2),
        Applied::Replaced
    );
    let stale = table.apply(Version::Put(Box::new(instance("h", 15))), NOW, 3);
    assert!(matches!(stale, Applied::Stale(Version::Put(ref i)) if i.dirty_timestamp == 20));
    assert_eq!(
        table.instance(&key("h")).map(|i| i.dirty_timestamp),
        Some(20)
    );
    assert_eq!(table.len(), 1);
}

#[test]
fn equal_stamps_pick_the_same_winner_in_either_order() {
    // Swarm seed 47601: two nodes whose hybrid clocks had seen the same latest stamp gave a
    // register and a cancel one stamp; each node kept the one that arrived last.
    let mut other = instance("h", 10);
    other.version = "other".into();
    let cancel = Version::Tombstone(Tombstone {
        key: key("h"),
        dirty_timestamp: 10,
    });
    let end = |versions: &[Version]| {
        let mut table = Table::default();
        for version in versions {
            table.apply(version.clone(), NOW, 1);
        }
        table.check_invariants();
        (
            contents(&table),
            table.tombstone(&key("h")),
            table.digests(),
        )
    };
    let (a, b) = (
        Version::Put(Box::new(instance("h", 10))),
        Version::Put(Box::new(other)),
    );
    assert_eq!(end(&[a.clone(), b.clone()]), end(&[b.clone(), a.clone()]));
    let cancelled = end(&[a.clone(), cancel.clone()]);
    assert_eq!(cancelled, end(&[cancel.clone(), a]));
    assert_eq!(
        (cancelled.0.len(), cancelled.1),
        (0, Some(10)),
        "a cancel wins a tie"
    );
    // The same version again changes nothing.
    let mut table = Table::default();
    table.apply(b.clone(), NOW, 1);
    assert_eq!(table.apply(b, NOW, 2), Applied::Replaced);
    assert_eq!(table.len(), 1);
}

#[test]
fn a_tombstone_absorbs_older_puts_but_not_newer_ones() {
    let mut table = Table::default();
    table.apply(Version::Put(Box::new(instance("h", 10))), NOW, 1);
    let cancel = Version::Tombstone(Tombstone {
        key: key("h"),
        dirty_timestamp: 20,
    });
    assert_eq!(table.apply(cancel, NOW, 2), Applied::Removed);
    assert_eq!(table.len(), 0);
    assert_eq!(
        table.apply(Version::Put(Box::new(instance("h", 15))), NOW, 3),
        Applied::Stale(Version::Tombstone(Tombstone {
            key: key("h"),
            dirty_timestamp: 20
        }))
    );
    assert!(
        table.instance(&key("h")).is_none(),
        "a stale register must not resurrect"
    );
    assert_eq!(
        table.apply(Version::Put(Box::new(instance("h", 25))), NOW, 4),
        Applied::Inserted
    );
    assert_eq!(
        table.tombstone(&key("h")),
        None,
        "a newer put clears the tombstone"
    );
}

#[test]
fn an_older_cancel_does_not_remove_a_newer_instance() {
    let mut table = Table::default();
    table.apply(Version::Put(Box::new(instance("h", 30))), NOW, 1);
    let cancel = Version::Tombstone(Tombstone {
        key: key("h"),
        dirty_timestamp: 20,
    });
    assert!(matches!(
        table.apply(cancel, NOW, 2),
        Applied::Stale(Version::Put(_))
    ));
    assert_eq!(table.len(), 1);
}

#[test]
fn a_cancel_before_its_register_is_remembered() {
    let mut table = Table::default();
    let cancel = Version::Tombstone(Tombstone {
        key: key("h"),
        dirty_timestamp: 20,
    });
    assert_eq!(table.apply(cancel, NOW, 1), Applied::Buried);
    assert!(matches!(
        table.apply(Version::Put(Box::new(instance("h", 10))), NOW, 2),
        Applied::Stale(_)
    ));
}

#[test]
fn cursor_increases_even_when_the_wall_clock_goes_back() {
    let mut table = Table::default();
    table.apply(Version::Put(Box::new(instance("a", 1))), NOW, 1_000);
    let first = table.cursor(&app()).expect("app known");
    table.apply(Version::Put(Box::new(instance("b", 2))), NOW, 10);
    let second = table.cursor(&app()).expect("app known");
    assert!(second > first);
    assert_eq!(first, 1_000);
}

#[test]
fn renew_refreshes_the_lease_but_not_the_cursor() {
    let mut table = Table::default();
    table.apply(Version::Put(Box::new(instance("h", 1))), NOW, 100);
    let cursor = table.cursor(&app());
    let later = Mono::from_nanos(5_000);
    assert_eq!(
        table
            .renew(&key("h"), later, 200)
            .map(|i| i.renew_timestamp),
        Some(200)
    );
    assert_eq!(table.cursor(&app()), cursor);
    assert_eq!(table.entries().next().map(|e| e.renewed_at), Some(later));
    assert!(table.renew(&key("missing"), later, 200).is_none());
}

#[test]
fn an_inserted_copy_starts_its_lease_at_its_last_renewal() {
    let mut table = Table::default();
    let mut copy = instance("h", 1);
    copy.renew_timestamp = 40_000; // renewed 60 us before "now" on the sender's clock
    table.apply(
        Version::Put(Box::new(copy)),
        Mono::from_nanos(100_000),
        100_000,
    );
    let entry = table.entries().next().expect("one entry");
    assert_eq!(entry.renewed_at, Mono::from_nanos(40_000));
    let mut from_the_future = instance("f", 1);
    from_the_future.renew_timestamp = 500_000; // a sender whose clock runs ahead
    table.apply(
        Version::Put(Box::new(from_the_future)),
        Mono::from_nanos(100_000),
        100_000,
    );
    let entry = table
        .entries()
        .find(|e| e.instance.hostname == "f")
        .expect("stored");
    assert_eq!(
        entry.renewed_at,
        Mono::from_nanos(100_000),
        "never a lease from the future"
    );
    assert_eq!(entry.instance.renew_timestamp, 100_000);
}

#[test]
fn digests_match_exactly_when_versions_match() {
    let mut a = Table::default();
    let mut b = Table::default();
    a.apply(Version::Put(Box::new(instance("h", 1))), NOW, 1);
    b.apply(
        Version::Put(Box::new(instance("h", 1))),
        Mono::from_nanos(7),
        99,
    );
    assert_eq!(a.digests(), b.digests(), "leases and cursors do not count");
    b.apply(
        Version::Tombstone(Tombstone {
            key: key("x"),
            dirty_timestamp: 3,
        }),
        NOW,
        1,
    );
    assert_ne!(a.digests(), b.digests());
    a.apply(
        Version::Tombstone(Tombstone {
            key: key("x"),
            dirty_timestamp: 3,
        }),
        NOW,
        1,
    );
    assert_eq!(a.digests(), b.digests());
    let state = a.state(&app());
    assert_eq!((state.instances.len(), state.tombstones.len()), (1, 1));
    // Two different copies with one stamp are different versions: anti-entropy must see it.
    let mut changed = instance("h", 1);
    changed.status = Status::Waiting;
    b.apply(Version::Put(Box::new(changed)), NOW, 1);
    assert_eq!(
        b.instance(&key("h")).map(|i| i.status),
        Some(Status::Waiting)
    );
    assert_ne!(a.digests(), b.digests());
}

#[test]
fn a_replacing_put_keeps_the_local_lease() {
    let mut table = Table::default();
    let mut first = instance("h", 1);
    first.renew_timestamp = 100;
    table.apply(Version::Put(Box::new(first)), NOW, 100);
    table.apply(
        Version::Put(Box::new(instance("h", 2))),
        Mono::from_nanos(9_999),
        300,
    );
    let entry = table.entries().next().expect("one entry");
    assert_eq!(entry.renewed_at, NOW);
    assert_eq!(entry.instance.renew_timestamp, 100);
}

#[test]
fn eviction_leaves_no_tombstone() {
    let mut table = Table::default();
    table.apply(Version::Put(Box::new(instance("h", 1))), NOW, 100);
    assert!(table.evict(&key("h"), 200));
    assert_eq!(table.tombstone(&key("h")), None);
    assert!(!table.evict(&key("h"), 300));
    assert_eq!(table.len(), 0);
}

#[test]
fn tombstones_are_collected_after_retention_and_empty_apps_dropped() {
    let mut table = Table::default();
    table.apply(
        Version::Tombstone(Tombstone {
            key: key("h"),
            dirty_timestamp: 1_000,
        }),
        NOW,
        1,
    );
    let retention = std::time::Duration::from_nanos(100);
    assert_eq!(table.collect_tombstones(1_100, retention), 0);
    assert_eq!(
        table.collect_tombstones(1_101, retention),
        1,
        "expired by the wall clock"
    );
    assert_eq!(table.cursor(&app()), None, "the empty app is gone");
}

#[test]
fn info_filters_by_zone_and_status() {
    let mut table = Table::default();
    let mut waiting = instance("w", 1);
    waiting.status = Status::Waiting;
    let mut other_zone = instance("o", 2);
    other_zone.zone = "z2".into();
    for i in [instance("u", 3), waiting, other_zone] {
        table.apply(Version::Put(Box::new(i)), NOW, 10);
    }
    let up = table.info(&app(), "z1", StatusFilter::UP).expect("known");
    assert_eq!(up.instances.len(), 1);
    assert_eq!(
        up.instances["z1"]
            .iter()
            .map(|i| i.hostname.as_str())
            .collect::<Vec<_>>(),
        ["u"]
    );
    let all = table.info(&app(), "", StatusFilter::ALL).expect("known");
    assert_eq!(all.instances.values().map(Vec::len).sum::<usize>(), 3);
    assert!(table
        .info(
            &AppKey {
                env: "dev".into(),
                appid: "nope".into()
            },
            "",
            StatusFilter::ALL
        )
        .is_none());
}

/// Versions over a few hosts: puts (of a few contents) and tombstones, whose stamps often tie
/// (nodes stamp alike when their hybrid clocks saw the same latest version).
fn versions() -> impl Strategy<Value = Vec<Version>> {
    prop::collection::vec(1i64..12, 1..24).prop_flat_map(|stamps| {
        let n = stamps.len();
        (
            Just(stamps),
            prop::collection::vec((0usize..3, any::<bool>(), 0u8..3), n),
        )
            .prop_map(|(stamps, shapes)| {
                stamps
                    .into_iter()
                    .zip(shapes)
                    .map(|(stamp, (host, is_put, content))| {
                        let host = ["a", "b", "c"][host];
                        if is_put {
                            let mut copy = instance(host, stamp);
                            copy.version = format!("v{content}").into();
                            Version::Put(Box::new(copy))
                        } else {
                            Version::Tombstone(Tombstone {
                                key: key(host),
                                dirty_timestamp: stamp,
                            })
                        }
                    })
                    .collect()
            })
    })
}

fn contents(table: &Table) -> Vec<Instance> {
    table
        .entries()
        .map(|e| Instance {
            renew_timestamp: 0,
            ..e.instance.clone()
        })
        .collect()
}

proptest! {
    #[test]
    fn lww_converges_whatever_the_order(
        (versions, order) in versions().prop_flat_map(|v| {
            let n = v.len();
            (Just(v), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
        })
    ) {
        let mut forward = Table::default();
        for v in &versions {
            forward.apply(v.clone(), NOW, 1);
        }
        let mut shuffled = Table::default();
        for &i in &order {
            shuffled.apply(versions[i].clone(), NOW, 1);
        }
        forward.check_invariants();
        shuffled.check_invariants();
        prop_assert_eq!(contents(&forward), contents(&shuffled));
        prop_assert_eq!(forward.digests(), shuffled.digests());
        // And the winner per host has the highest stamp: present iff no cancel has it.
        for host in ["a", "b", "c"] {
            let stamp = |v: &Version| match v {
                Version::Put(i) if i.hostname == host => Some((i.dirty_timestamp, false)),
                Version::Tombstone(Tombstone { key, dirty_timestamp }) if key.hostname == host => {
                    Some((*dirty_timestamp, true))
                }
                _ => None,
            };
            let winner = versions.iter().filter_map(stamp).max();
            let present = forward.instance(&key(host)).map(|i| i.dirty_timestamp);
            match winner {
                Some((stamp, false)) => prop_assert_eq!(present, Some(stamp)),
                _ => prop_assert_eq!(present, None),
            }
        }
    }

    #[test]
    fn cursor_strictly_increases_with_every_change(walls in prop::collection::vec(-1_000i64..1_000, 1..40)) {
        let mut table = Table::default();
        let mut last = i64::MIN;
        for (i, wall) in walls.into_iter().enumerate() {
            let host = format!("h{}", i % 4);
            let version = if i % 3 == 2 {
                Version::Tombstone(Tombstone { key: key(&host), dirty_timestamp: i as i64 + 1 })
            } else {
                Version::Put(Box::new(instance(&host, i as i64 + 1)))
            };
            let applied = table.apply(version, NOW, wall);
            let cursor = table.cursor(&app()).expect("app known");
            if matches!(applied, Applied::Inserted | Applied::Replaced | Applied::Removed) {
                prop_assert!(cursor > last, "cursor {} did not pass {}", cursor, last);
                last = cursor;
            } else {
                prop_assert!(cursor <= last.max(cursor));
            }
        }
    }
}

#[test]
fn the_cached_digest_follows_every_change_of_versions() {
    let mut table = Table::default();
    let fresh = |table: &Table| -> Vec<u64> {
        table
            .apps
            .values()
            .map(|app| digest(app, &table.entries))
            .collect()
    };
    let cached = |table: &Table| -> Vec<u64> { table.digests().iter().map(|d| d.1).collect() };
    let tomb = |host: &str, dirty_timestamp: i64| {
        Version::Tombstone(Tombstone {
            key: key(host),
            dirty_timestamp,
        })
    };
    let mut seen = Vec::new();
    let mut step = |table: &mut Table, what: &str, change: &dyn Fn(&mut Table)| {
        cached(table); // fill the cache, so the change must empty it
        change(table);
        assert_eq!(cached(table), fresh(table), "after {what}");
        seen.push(cached(table));
    };
    step(&mut table, "an insert", &|t| {
        t.apply(Version::Put(Box::new(instance("h", 1))), NOW, 1);
    });
    step(&mut table, "a replace", &|t| {
        t.apply(Version::Put(Box::new(instance("h", 2))), NOW, 2);
    });
    step(&mut table, "a renew", &|t| {
        t.renew(&key("h"), NOW, 3);
    });
    step(&mut table, "a cancel", &|t| {
        t.apply(tomb("h", 4), NOW, 4);
    });
    step(&mut table, "a newer tombstone", &|t| {
        t.apply(tomb("h", 5), NOW, 5);
    });
    step(&mut table, "a tombstone without an instance", &|t| {
        t.apply(tomb("x", 6), NOW, 6);
    });
    step(&mut table, "a re-register", &|t| {
        t.apply(Version::Put(Box::new(instance("h", 7))), NOW, 7);
    });
    step(&mut table, "an eviction", &|t| {
        t.evict(&key("h"), 8);
    });
    step(&mut table, "a collection", &|t| {
        t.collect_tombstones(1_000, Duration::from_nanos(100));
    });
    assert_eq!(seen[1], seen[2], "a renew changes no version");
    for pair in [(0, 1), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8)] {
        assert_ne!(seen[pair.0], seen[pair.1], "steps {pair:?}");
    }
}

/// `check_invariants` runs after every step of every node in debug builds: each check must
/// report the state it guards against, in an app changed since the last check.
#[test]
fn check_invariants_reports_each_broken_invariant() {
    let healthy = || {
        let mut table = Table::default();
        table.apply(Version::Put(Box::new(instance("a", 10))), NOW, 1);
        table.apply(Version::Put(Box::new(instance("b", 10))), NOW, 1);
        table.check_invariants();
        table
    };
    let name = || app_name(&key("a"));
    type Break = (&'static str, fn(&mut Table));
    let breaks: [Break; 6] = [
        ("apps list a stored instance twice or not at all", |t| {
            let app = t.apps.get_mut(&app_name(&key("a"))).expect("app");
            app.entries.remove(&slot(&key("a")));
        }),
        ("expected count drifted", |t| {
            t.expected = t.entries.len() + 1
        }),
        ("above the node's last", |t| t.last_cursor = 0),
        ("stored under the wrong key", |t| {
            let app = t.apps.get_mut(&app_name(&key("a"))).expect("app");
            let place = app.entries[&slot(&key("a"))];
            app.entries.remove(&slot(&key("a")));
            app.entries.insert(slot(&key("z")), place);
        }),
        ("is both live and tombstoned", |t| {
            let app = t.apps.get_mut(&app_name(&key("a"))).expect("app");
            app.tombstones.insert(slot(&key("a")), 5);
        }),
        ("is both live and evicted", |t| {
            let app = t.apps.get_mut(&app_name(&key("a"))).expect("app");
            app.evicted.insert(slot(&key("a")), (instance("a", 5), 0));
        }),
    ];
    for (message, break_it) in breaks {
        let mut table = healthy();
        break_it(&mut table);
        // Only the apps changed since the last check are looked into.
        table.touched.insert(name());
        let text = crate::core::tests::panic_text(message, || table.check_invariants());
        assert!(text.contains(message), "{message}: reported {text:?}");
    }
}

#[test]
fn a_copy_differing_from_the_held_one_in_any_field_is_not_held() {
    let mut table = Table::default();
    let held = instance("h", 10);
    table.apply(Version::Put(Box::new(held.clone())), NOW, 1);
    assert!(table.holds(&held));
    let renewed = Instance {
        renew_timestamp: 99,
        ..held.clone()
    };
    assert!(
        table.holds(&renewed),
        "the lease is local: it does not count"
    );
    let others: [fn(&mut Instance); 9] = [
        |i| i.dirty_timestamp += 1,
        |i| i.latest_timestamp += 1,
        |i| i.status = Status::Waiting,
        |i| i.reg_timestamp += 1,
        |i| i.up_timestamp += 1,
        |i| i.region = "elsewhere".into(),
        |i| i.addrs = vec!["http://other:1".into()].into(),
        |i| i.version = "v2".into(),
        |i| {
            i.metadata.insert("k", "v");
        },
    ];
    for (field, change) in others.iter().enumerate() {
        let mut other = held.clone();
        change(&mut other);
        assert!(!table.holds(&other), "field {field} differs: not held");
    }
}

#[test]
fn states_hold_every_app_with_its_instances_and_tombstones() {
    let mut table = Table::default();
    table.apply(Version::Put(Box::new(instance("a", 10))), NOW, 1);
    table.apply(
        Version::Tombstone(Tombstone {
            key: key("b"),
            dirty_timestamp: 10,
        }),
        NOW,
        1,
    );
    let states = table.states();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].app, app());
    let hosts: Vec<&str> = states[0]
        .instances
        .iter()
        .map(|i| i.hostname.as_str())
        .collect();
    assert_eq!(hosts, ["a"]);
    assert_eq!(states[0].tombstones.len(), 1);
    assert_eq!(states[0].tombstones[0].key, key("b"));
}

#[test]
fn an_expired_copy_is_kept_only_when_nothing_held_is_as_late() {
    let kept = |table: &mut Table, dirty: i64| table.keep_expired(&instance("h", dirty), 500);
    // Nothing held: kept, and then it is the latest version of the instance.
    let mut table = Table::default();
    assert!(kept(&mut table, 10));
    assert_eq!(table.latest_stamp(&key("h")), Some(10));
    assert!(!kept(&mut table, 10), "the same version again");
    assert!(!kept(&mut table, 5), "older than the one kept");
    assert!(kept(&mut table, 20), "later than the one kept");
    assert_eq!(table.latest_stamp(&key("h")), Some(20));

    // A live copy: its lease is this node's business, nothing is kept beside it.
    let mut table = Table::default();
    table.apply(Version::Put(Box::new(instance("h", 10))), NOW, 100);
    assert!(!kept(&mut table, 20));

    // A cancel as late: the copy it outranks is not kept.
    let mut table = Table::default();
    let cancel = |dirty_timestamp| {
        Version::Tombstone(Tombstone {
            key: key("h"),
            dirty_timestamp,
        })
    };
    table.apply(cancel(20), NOW, 100);
    assert!(!kept(&mut table, 20));
    assert!(!kept(&mut table, 15));
    assert!(kept(&mut table, 30), "a copy later than the cancel");
    assert_eq!(table.latest_stamp(&key("h")), Some(30));
}

#[test]
fn app_count_counts_apps_with_an_instance_not_those_with_only_a_tombstone() {
    let mut table = Table::default();
    assert_eq!(table.app_count(), 0);
    table.apply(Version::Put(Box::new(instance("h", 10))), NOW, 100);
    let mut other = instance("o", 10);
    other.appid = "other".into();
    table.apply(
        Version::Tombstone(Tombstone {
            key: InstanceKey::of(&other),
            dirty_timestamp: 10,
        }),
        NOW,
        100,
    );
    let mut third = instance("t", 10);
    third.appid = "third".into();
    table.apply(Version::Put(Box::new(third)), NOW, 100);
    assert_eq!(table.apps_held(), 3);
    assert_eq!(table.app_count(), 2);
}

#[test]
fn a_cancel_older_than_an_evicted_version_leaves_that_version_kept() {
    let mut table = Table::default();
    table.apply(Version::Put(Box::new(instance("h", 20))), NOW, 100);
    assert!(table.evict(&key("h"), 200));
    let cancel = |dirty_timestamp| {
        Version::Tombstone(Tombstone {
            key: key("h"),
            dirty_timestamp,
        })
    };
    table.apply(cancel(10), NOW, 300);
    // A live copy between the two: newer than the cancel, older than the evicted version.
    let applied = table.apply(Version::Put(Box::new(instance("h", 15))), NOW, 400);
    assert!(
        matches!(&applied, Applied::Revived(held) if held.dirty_timestamp == 20),
        "{applied:?}"
    );
    // A cancel as late as the evicted version ends it.
    let mut table = Table::default();
    table.apply(Version::Put(Box::new(instance("h", 20))), NOW, 100);
    assert!(table.evict(&key("h"), 200));
    table.apply(cancel(20), NOW, 300);
    table.apply(cancel(10), NOW, 300);
    assert_eq!(table.latest_stamp(&key("h")), Some(20));
    assert!(matches!(
        table.apply(Version::Put(Box::new(instance("h", 25))), NOW, 400),
        Applied::Inserted
    ));
}

#[test]
fn the_sweep_counts_only_the_tombstones_it_drops_and_keeps_a_kept_version_for_its_retention() {
    let mut table = Table::default();
    let cancel = |host: &str, dirty_timestamp| {
        Version::Tombstone(Tombstone {
            key: key(host),
            dirty_timestamp,
        })
    };
    table.apply(cancel("old", 1_000), NOW, 1);
    table.apply(cancel("new", 1_050), NOW, 1);
    let retention = std::time::Duration::from_nanos(100);
    assert_eq!(table.collect_tombstones(1_101, retention), 1, "only old's");
    assert_eq!(table.tombstone(&key("new")), Some(1_050));

    // A version kept from a peer's expired copy lives in an app that had no cursor of its own:
    // the sweep keeps it until its own retention ends.
    let mut table = Table::default();
    assert!(table.keep_expired(&instance("h", 10), 1_000));
    assert_eq!(table.collect_tombstones(1_050, retention), 0);
    assert_eq!(
        table.latest_stamp(&key("h")),
        Some(10),
        "kept within its retention"
    );
    table.collect_tombstones(1_101, retention);
    assert_eq!(table.latest_stamp(&key("h")), None, "gone after it");
}
