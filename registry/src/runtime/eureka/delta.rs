//! The recent changes `GET apps/delta` answers, kept by the facade.
//!
//! Why here and not in the node: the core keeps no per-API history and tombstones are not
//! readable through any request, while every change, whatever its source (a Eureka or
//! discovery client, replication, anti-entropy repair, eviction), shows in the registry the
//! node answers to `FetchAll`. So the log diffs successive snapshots of that answer: an
//! instance that appeared is ADDED, one whose content changed (renews aside) MODIFIED, one
//! that went DELETED, each stamped when the facade first saw it and kept [`RETENTION`]. Every
//! full fetch (`GET apps/`) feeds it too, so whatever a client has been shown is in a snapshot and its later
//! removal is reported. What the log misses (a change made and undone between two reads, the
//! first read after a start) the `apps__hashcode` of the full registry catches: clients that
//! reconcile (py_eureka_client, Java's) fetch everything when their hash differs.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::mapping::{Action, View};
use super::render::App;

/// How long a change stays in the delta: Eureka's `retentionTimeInMSInDeltaQueue` (3 min).
pub(super) const RETENTION: Duration = Duration::from_secs(180);

/// An instance as Eureka clients identify it: upper-case app name, instance id.
type Id = (String, String);

/// One change, as the delta shows it.
#[derive(Clone, Debug)]
struct Change {
    /// The instance as it is now (as it was last seen, for a deletion), with its action.
    view: View,
    seen_at: Instant,
}

/// The snapshot last seen and the changes of the last [`RETENTION`].
#[derive(Debug, Default)]
pub(super) struct Changes {
    seen: Option<BTreeMap<Id, View>>,
    recent: BTreeMap<Id, Change>,
}

/// Whether two views of one instance differ in more than their lease (a renew is no change).
fn changed(before: &View, now: &View) -> bool {
    let mut renewed = before.clone();
    renewed.last_renewal_ms = now.last_renewal_ms;
    renewed != *now
}

impl Changes {
    /// Takes the registry as it is at `now` and records how it differs from the last
    /// snapshot. The first snapshot records nothing: there is nothing to compare it with.
    pub(super) fn observe(&mut self, apps: &[App], now: Instant) {
        let current: BTreeMap<Id, View> = apps
            .iter()
            .flat_map(|app| &app.instances)
            .map(|view| ((view.app.clone(), view.instance_id.clone()), view.clone()))
            .collect();
        if let Some(seen) = self.seen.take() {
            for (id, view) in &current {
                let action = match seen.get(id) {
                    None => Action::Added,
                    Some(before) if changed(before, view) => Action::Modified,
                    Some(_) => continue,
                };
                self.record(id, view, action, now);
            }
            for (id, view) in seen {
                if !current.contains_key(&id) {
                    self.record(&id, &view, Action::Deleted, now);
                }
            }
        }
        self.seen = Some(current);
        self.recent
            .retain(|_, change| now.saturating_duration_since(change.seen_at) <= RETENTION);
    }

    /// The latest change of an instance replaces an earlier one: clients apply a delta's
    /// entries in no particular order, so each instance appears once, as it is now.
    fn record(&mut self, id: &Id, view: &View, action: Action, now: Instant) {
        let mut view = view.clone();
        view.action = action;
        self.recent
            .insert(id.clone(), Change { view, seen_at: now });
    }

    /// The recent changes grouped by app (names sorted).
    pub(super) fn apps(&self) -> Vec<App> {
        let mut apps: BTreeMap<&str, Vec<View>> = BTreeMap::new();
        for ((app, _), change) in &self.recent {
            apps.entry(app).or_default().push(change.view.clone());
        }
        apps.into_iter()
            .map(|(name, instances)| App {
                name: name.to_string(),
                instances,
            })
            .collect()
    }

    /// `versions__delta`: changes whenever the delta's content does. py_eureka_client skips a
    /// delta whose version and hash code equal the last one's, so a fixed version would hide
    /// a change that keeps the status counts (one UP instance replaced by another). Derived
    /// from the content, so nodes showing the same changes agree; non-negative, as Java
    /// clients read a `Long`.
    pub(super) fn version(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        for (id, change) in &self.recent {
            id.hash(&mut hasher);
            change.view.action.hash(&mut hasher);
            change.view.last_dirty_ms.hash(&mut hasher);
            change.view.status.name().hash(&mut hasher);
        }
        hasher.finish() >> 1
    }
}

/// The facade's log, shared by the handlers of one mount. Held across the `FetchAll` it
/// compares, so that two reads cannot record their snapshots out of order (an older snapshot
/// after a newer one would report changes undone).
#[derive(Debug, Default)]
pub(super) struct DeltaLog(pub(super) Mutex<Changes>);
