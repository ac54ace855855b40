//! The delta log on its own: what it records, for how long, and its version.

use std::time::Duration;

use tokio::time::Instant;

use super::delta::{Changes, RETENTION};
use super::mapping::View;
use super::render::App;
use crate::api::{Instance, Metadata, Status};

fn instance(hostname: &str, status: Status, dirty: i64, renewed: i64) -> Instance {
    Instance {
        region: "".into(),
        zone: "eureka".into(),
        env: "dev".into(),
        appid: "my-app".into(),
        hostname: hostname.into(),
        addrs: vec!["http://10.0.0.1:80".into()].into(),
        version: "".into(),
        metadata: Metadata::new(),
        status,
        reg_timestamp: dirty,
        up_timestamp: dirty,
        renew_timestamp: renewed,
        dirty_timestamp: dirty,
        latest_timestamp: dirty,
    }
}

fn registry(instances: &[Instance]) -> Vec<App> {
    vec![App {
        name: "MY-APP".into(),
        instances: instances.iter().map(View::of).collect(),
    }]
}

/// `(id, actionType, status)` of each change.
fn entries(changes: &Changes) -> Vec<(String, &'static str, &'static str)> {
    changes
        .apps()
        .iter()
        .flat_map(|app| &app.instances)
        .map(|v| (v.instance_id.clone(), v.action.name(), v.status.name()))
        .collect()
}

const MS: i64 = 1_000_000;

#[test]
fn the_first_snapshot_records_nothing_then_changes_are_recorded_once_each() {
    let t0 = Instant::now();
    let mut changes = Changes::default();
    let a = instance("a", Status::Up, 1_000 * MS, 1_000 * MS);
    changes.observe(&registry(std::slice::from_ref(&a)), t0);
    assert!(entries(&changes).is_empty());
    let empty = changes.version();

    // A renew moves only the lease: no change.
    let a_renewed = instance("a", Status::Up, 1_000 * MS, 5_000 * MS);
    changes.observe(&registry(std::slice::from_ref(&a_renewed)), t0);
    assert!(entries(&changes).is_empty());
    assert_eq!(changes.version(), empty);

    let b = instance("b", Status::Up, 2_000 * MS, 2_000 * MS);
    let a_down = instance("a", Status::Waiting, 3_000 * MS, 5_000 * MS);
    changes.observe(&registry(&[a_down.clone(), b.clone()]), t0);
    assert_eq!(
        entries(&changes),
        [
            ("a".into(), "MODIFIED", "OUT_OF_SERVICE"),
            ("b".into(), "ADDED", "UP")
        ]
    );
    let two = changes.version();
    assert_ne!(two, empty);

    // b goes: its latest change replaces the earlier one.
    changes.observe(&registry(std::slice::from_ref(&a_down)), t0);
    assert_eq!(
        entries(&changes),
        [
            ("a".into(), "MODIFIED", "OUT_OF_SERVICE"),
            ("b".into(), "DELETED", "UP")
        ]
    );
    assert_ne!(changes.version(), two);
}

#[test]
fn changes_are_kept_for_the_retention_and_no_longer() {
    let t0 = Instant::now();
    let mut changes = Changes::default();
    changes.observe(&registry(&[]), t0);
    let a = instance("a", Status::Up, 1_000 * MS, 1_000 * MS);
    changes.observe(&registry(std::slice::from_ref(&a)), t0);
    changes.observe(&registry(std::slice::from_ref(&a)), t0 + RETENTION);
    assert_eq!(entries(&changes).len(), 1, "kept for the whole retention");
    changes.observe(
        &registry(std::slice::from_ref(&a)),
        t0 + RETENTION + Duration::from_millis(1),
    );
    assert!(entries(&changes).is_empty());
}
