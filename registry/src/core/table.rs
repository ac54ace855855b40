//! The registry table: instances and tombstones per app, versioned last-writer-wins.
//!
//! Every write reaches the table as a [`Version`]: a whole instance (`Put`) or a tombstone.
//! Versions are ordered by `dirty_timestamp`; two nodes can give different writes one stamp
//! (their hybrid clocks had seen the same latest version), and such ties are broken the same
//! way on every node: a tombstone beats a copy, and of two copies the one with the greater
//! content fingerprint wins. So applying the same versions in any order ends in the same
//! table, and digests tell apart any two tables that hold different versions.

use std::collections::BTreeMap;
use std::time::Duration;

use slab::Slab;

use crate::api::SmolStr;
use crate::api::{
    AppKey, AppState, Instance, InstanceInfo, InstanceKey, StatusFilter, Tombstone, Version,
};

use super::clock::Mono;
use super::fnv::Fnv1a;
use super::index::KeyIndex;
use super::name::Name;

/// What applying a [`Version`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    /// A new instance was inserted.
    Inserted,
    /// An existing instance was replaced by a newer (or equal) version.
    Replaced,
    /// An instance was removed and a tombstone left.
    Removed,
    /// No instance was there; the tombstone was recorded for later stale writes.
    Buried,
    /// No instance was there, but this node had evicted a newer version of it: the incoming
    /// copy proves the instance alive, so that newer version is back, with the copy's lease.
    /// The sender holds older content and should adopt this.
    Revived(Box<Instance>),
    /// The table holds this newer version; nothing changed.
    Stale(Version),
}

/// A stored instance and its local lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) instance: Instance,
    /// When this node last heard a renew or register for it (its local lease).
    pub(crate) renewed_at: Mono,
    /// Whether a renew of it (from its client, or replicated) reached this node since the node
    /// stored it. A register or a copy alone does not set it.
    pub(crate) renews: bool,
    /// Whether protection mode expects renews of it: from when it is stored until the next
    /// `reset_expectation`, which keeps only those that showed they renew.
    pub(crate) expected: bool,
}

/// `(zone, hostname)` within an app.
type Slot = (Name, Name);

/// `(env, appid)`: an app, as the table keys it.
type AppName = (Name, Name);

#[derive(Clone, Debug, Default)]
struct App {
    /// The change cursor (`latest_timestamp`) of this app on this node.
    cursor: i64,
    /// The app's instances in key order, as places in the table's `entries`.
    entries: BTreeMap<Slot, usize>,
    /// The version of each cancel kept. It expires by wall clock (`dirty_timestamp` +
    /// retention), the same moment on every node give or take clock skew, so a tombstone
    /// repaired from a peer does not start its retention over.
    tombstones: BTreeMap<Slot, i64>,
    /// The last version of each instance evicted here, and when (wall clock), kept for the
    /// tombstone retention. Eviction ends a lease, not a version: a node cut off from its
    /// peers may keep renewing an older version of the instance, and when its copy comes
    /// back it must not replace content newer than itself (swarm seed 163 lost an
    /// acknowledged set on every node that way).
    evicted: BTreeMap<Slot, (Instance, i64)>,
    /// The app's digest, computed when first asked for after a change. Anti-entropy asks for
    /// every app's digest each round, and most apps change far less often than that.
    digest: CachedDigest,
}

/// A memo of [`digest`]; emptied by every change to the app's versions.
#[derive(Clone, Debug, Default)]
struct CachedDigest(std::cell::Cell<Option<u64>>);

impl App {
    fn digest(&self, entries: &Slab<Entry>) -> u64 {
        if let Some(cached) = self.digest.0.get() {
            debug_assert_eq!(
                cached,
                digest(self, entries),
                "a change left a stale digest"
            );
            return cached;
        }
        let fresh = digest(self, entries);
        self.digest.0.set(Some(fresh));
        fresh
    }

    fn forget_digest(&mut self) {
        self.digest.0.set(None);
    }
}

/// All instances and tombstones held by one node.
///
/// Instances live in one slab. Each app lists its own in key order (reads, digests and
/// syncs walk them), and an index over integer hashes finds one by key: renewals, which
/// every node applies for every instance every 30 s, used to cost two ordered searches.
#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    apps: BTreeMap<AppName, App>,
    entries: Slab<Entry>,
    /// Where each instance is in `entries`.
    index: KeyIndex,
    /// The last cursor handed out to any app: cursors increase node-wide, so an app that is
    /// dropped and re-created still never sees its cursor go back.
    last_cursor: i64,
    /// Apps changed since the last invariant check.
    touched: std::collections::BTreeSet<AppName>,
    /// Every app must be checked (tombstones were collected).
    touched_all: bool,
    /// Number of entries with `expected` set.
    expected: usize,
}

impl Table {
    /// Number of instances.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Number of apps with at least one instance.
    pub(crate) fn app_count(&self) -> usize {
        self.apps
            .values()
            .filter(|app| !app.entries.is_empty())
            .count()
    }

    /// Number of apps held, with instances or only tombstones.
    pub(crate) fn apps_held(&self) -> usize {
        self.apps.len()
    }

    /// Number of instances of `app` (0 if it is not held), and whether it is held.
    pub(crate) fn app_size(&self, app: &AppKey) -> Option<usize> {
        self.apps
            .get(&app_name_of(app))
            .map(|held| held.entries.len())
    }

    /// Applies one version by last-writer-wins (ties broken as the module says).
    ///
    /// A replaced instance keeps its local lease: a write is not a sign of life. An inserted
    /// one starts its lease at its `renew_timestamp` (never later than now).
    pub(crate) fn apply(&mut self, version: Version, now: Mono, wall: i64) -> Applied {
        match version {
            Version::Put(instance) => self.put(*instance, now, wall),
            Version::Tombstone(Tombstone {
                key,
                dirty_timestamp,
            }) => self.bury(&key, dirty_timestamp, wall),
        }
    }

    fn put(&mut self, mut instance: Instance, now: Mono, wall: i64) -> Applied {
        let key = InstanceKey::of(&instance);
        let (name, slot) = (app_name(&key), slot(&key));
        let app = self.apps.entry(name.clone()).or_default();
        let incoming = Incoming::Copy(&instance);
        if let Some(newer) = newer_than(app, &self.entries, &key, &slot, incoming) {
            return Applied::Stale(newer);
        }
        app.tombstones.remove(&slot);
        let evicted = app.evicted.remove(&slot).map(|(held, _)| held);
        let applied = match app.entries.get(&slot) {
            Some(&place) => {
                let old = &mut self.entries[place];
                instance.renew_timestamp = old.instance.renew_timestamp;
                old.instance = instance;
                Applied::Replaced
            }
            None => {
                let revived = evicted.filter(|held| copy_beats(held, &instance));
                if let Some(mut held) = revived.clone() {
                    held.renew_timestamp = instance.renew_timestamp;
                    instance = held;
                }
                // The lease starts from the copy's last renewal (the sender's wall clock), so
                // an instance copied from a peer is not given a fresh lease it never earned.
                let age = u64::try_from(wall.saturating_sub(instance.renew_timestamp)).unwrap_or(0);
                let renewed_at = now.saturating_sub(Duration::from_nanos(age));
                instance.renew_timestamp = instance.renew_timestamp.min(wall);
                let stored = revived.is_some().then(|| Box::new(instance.clone()));
                let place = self.entries.insert(Entry {
                    instance,
                    renewed_at,
                    renews: false,
                    expected: true,
                });
                self.expected += 1;
                app.entries.insert(slot, place);
                self.index.insert(&key, place);
                stored.map_or(Applied::Inserted, Applied::Revived)
            }
        };
        self.bump(&name, wall);
        applied
    }

    fn bury(&mut self, key: &InstanceKey, dirty_timestamp: i64, wall: i64) -> Applied {
        let (name, slot) = (app_name(key), slot(key));
        let app = self.apps.entry(name.clone()).or_default();
        let incoming = Incoming::Cancel(dirty_timestamp);
        // Only a newer copy refuses a cancel (never a tombstone: see `newer_than`).
        if let Some(newer) = newer_than(app, &self.entries, key, &slot, incoming) {
            return Applied::Stale(newer);
        }
        let tombstone = app
            .tombstones
            .entry(slot.clone())
            .or_insert(dirty_timestamp);
        *tombstone = (*tombstone).max(dirty_timestamp);
        if app
            .evicted
            .get(&slot)
            .is_some_and(|(held, _)| held.dirty_timestamp <= dirty_timestamp)
        {
            app.evicted.remove(&slot);
        }
        let Some(place) = app.entries.remove(&slot) else {
            self.touch(&name);
            return Applied::Buried;
        };
        self.forget(key, place);
        self.bump(&name, wall);
        Applied::Removed
    }

    /// Removes an expired instance without a tombstone (eviction is local and not a write),
    /// keeping its version for the tombstone retention (see `App::evicted`). Returns whether
    /// it was there.
    pub(crate) fn evict(&mut self, key: &InstanceKey, wall: i64) -> bool {
        let name = app_name(key);
        let Some(app) = self.apps.get_mut(&name) else {
            return false;
        };
        let slot = slot(key);
        let Some(place) = app.entries.remove(&slot) else {
            return false;
        };
        let entry = self.forget(key, place);
        if let Some(app) = self.apps.get_mut(&name) {
            app.evicted.insert(slot, (entry.instance, wall));
        }
        self.bump(&name, wall);
        true
    }

    /// Keeps the version of a copy a peer offered whose lease had already run out, as if it
    /// had been evicted here (see `App::evicted`), unless this node holds that version or a
    /// later one. The copy is not taken in (it would come back to life with a lease it never
    /// earned), but an older live copy must still not replace its content (swarm seed
    /// 161403001846). Returns whether it was kept.
    pub(crate) fn keep_expired(&mut self, instance: &Instance, wall: i64) -> bool {
        let key = InstanceKey::of(instance);
        let (name, slot) = (app_name(&key), slot(&key));
        let app = self.apps.entry(name.clone()).or_default();
        let held = app.entries.contains_key(&slot)
            || newer_than(app, &self.entries, &key, &slot, Incoming::Copy(instance)).is_some()
            || app
                .evicted
                .get(&slot)
                .is_some_and(|(held, _)| !copy_beats(instance, held));
        if held {
            return false;
        }
        app.evicted.insert(slot, (instance.clone(), wall));
        self.touch(&name);
        true
    }

    /// Removes an entry its app no longer lists.
    fn forget(&mut self, key: &InstanceKey, place: usize) -> Entry {
        let entry = self.entries.remove(place);
        self.index.remove(key, place);
        if entry.expected {
            self.expected -= 1;
        }
        entry
    }

    /// Refreshes the local lease of an instance; `None` if it is not here.
    pub(crate) fn renew(&mut self, key: &InstanceKey, now: Mono, wall: i64) -> Option<&Instance> {
        let place = self.index.get(key, &self.entries)?;
        let entry = &mut self.entries[place];
        entry.renews = true;
        Self::refresh(entry, now, wall)
    }

    /// Starts (or restarts) the local lease of an instance just registered here. Unlike a
    /// renew, it does not count as a sign that the instance renews.
    pub(crate) fn start_lease(
        &mut self,
        key: &InstanceKey,
        now: Mono,
        wall: i64,
    ) -> Option<&Instance> {
        let place = self.index.get(key, &self.entries)?;
        Self::refresh(&mut self.entries[place], now, wall)
    }

    fn refresh(entry: &mut Entry, now: Mono, wall: i64) -> Option<&Instance> {
        entry.renewed_at = now;
        entry.instance.renew_timestamp = wall;
        Some(&entry.instance)
    }

    /// Moves every local lease forward by `by` (never past `now`): time the node did not run.
    pub(crate) fn extend_leases(&mut self, by: Duration, now: Mono) {
        for (_, entry) in self.entries.iter_mut() {
            entry.renewed_at = (entry.renewed_at + by).min(now);
        }
    }

    /// Number of instances protection mode expects renews of.
    pub(crate) fn expected_count(&self) -> usize {
        self.expected
    }

    /// Expects renews only of the instances a renew has reached since they were stored here.
    /// A new instance is expected at once (a client renews 30 s after it registers), so
    /// registrations that never renew (a flood, or clients that died right after registering)
    /// are expected only until the next reset.
    pub(crate) fn reset_expectation(&mut self) {
        debug_assert_eq!(
            self.entries.iter().filter(|(_, e)| e.expected).count(),
            self.expected,
            "expected count out of step"
        );
        let mut expected = 0;
        for (_, entry) in self.entries.iter_mut() {
            entry.expected = entry.renews;
            expected += usize::from(entry.renews);
        }
        self.expected = expected;
    }

    /// When this node last heard a renew or register for the instance (its local lease).
    pub(crate) fn renewed_at(&self, key: &InstanceKey) -> Option<Mono> {
        self.entry(key).map(|e| e.renewed_at)
    }

    /// Whether this node holds exactly `instance`: the same version with the same content.
    /// The lease (`renew_timestamp`) is local to each node and does not count.
    pub(crate) fn holds(&self, instance: &Instance) -> bool {
        self.entry(&InstanceKey::of(instance))
            .is_some_and(|entry| same_version(&entry.instance, instance))
    }

    /// The stored instance, if any.
    pub(crate) fn instance(&self, key: &InstanceKey) -> Option<&Instance> {
        self.entry(key).map(|e| &e.instance)
    }

    fn entry(&self, key: &InstanceKey) -> Option<&Entry> {
        self.index
            .get(key, &self.entries)
            .map(|place| &self.entries[place])
    }

    /// The app's change cursor; `None` if the node knows nothing of the app.
    pub(crate) fn cursor(&self, app: &AppKey) -> Option<i64> {
        self.apps.get(&app_name_of(app)).map(|a| a.cursor)
    }

    /// The instances of an app in `zone` (every zone when empty) that pass `filter`; `None`
    /// when the node knows nothing of the app. Zones with instances that the filter rejects
    /// are listed with an empty list, as bilibili/discovery does.
    pub(crate) fn info(
        &self,
        app: &AppKey,
        zone: &str,
        filter: StatusFilter,
    ) -> Option<InstanceInfo> {
        let app = self.apps.get(&app_name_of(app))?;
        let mut instances: BTreeMap<SmolStr, Vec<Instance>> = BTreeMap::new();
        for ((entry_zone, _), &place) in &app.entries {
            if !zone.is_empty() && entry_zone.text() != zone {
                continue;
            }
            let entry = &self.entries[place];
            let list = instances.entry(entry_zone.text().clone()).or_default();
            if filter.accepts(entry.instance.status) {
                list.push(entry.instance.clone());
            }
        }
        Some(InstanceInfo {
            instances,
            latest_timestamp: app.cursor,
        })
    }

    /// Every instance keyed by appid (all envs and zones), as fetch/all returns them.
    pub(crate) fn all(&self) -> BTreeMap<SmolStr, Vec<Instance>> {
        let mut all: BTreeMap<SmolStr, Vec<Instance>> = BTreeMap::new();
        for (key, app) in &self.apps {
            if app.entries.is_empty() {
                continue;
            }
            let list = all.entry(key.1.text().clone()).or_default();
            list.extend(
                app.entries
                    .values()
                    .map(|&p| self.entries[p].instance.clone()),
            );
        }
        all
    }

    /// Every stored instance with its lease, in key order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.apps
            .values()
            .flat_map(|app| app.entries.values().map(|&place| &self.entries[place]))
    }

    /// The latest version stamp this node keeps of an instance: live, cancelled or evicted.
    pub(crate) fn latest_stamp(&self, key: &InstanceKey) -> Option<i64> {
        let app = self.apps.get(&app_name(key))?;
        let slot = slot(key);
        let live = self.instance(key).map(|i| i.dirty_timestamp);
        let cancelled = app.tombstones.get(&slot).copied();
        let evicted = app.evicted.get(&slot).map(|(i, _)| i.dirty_timestamp);
        [live, cancelled, evicted].into_iter().flatten().max()
    }

    /// The tombstone version of an instance, if one is kept.
    pub(crate) fn tombstone(&self, key: &InstanceKey) -> Option<i64> {
        let app = self.apps.get(&app_name(key))?;
        app.tombstones.get(&slot(key)).copied()
    }

    /// Drops tombstones whose version is older than `retention` by the wall clock, and evicted
    /// versions evicted longer ago than that, then apps left with nothing whose cursor is as
    /// old. Returns how many tombstones were dropped.
    pub(crate) fn collect_tombstones(&mut self, wall: i64, retention: Duration) -> usize {
        let mut dropped = 0;
        self.touched_all = true;
        for app in self.apps.values_mut() {
            let before = app.tombstones.len();
            app.tombstones
                .retain(|_, &mut stamp| !expired(stamp, wall, retention));
            if app.tombstones.len() != before {
                app.forget_digest();
                dropped += before - app.tombstones.len();
            }
            app.evicted
                .retain(|_, &mut (_, evicted_at)| !expired(evicted_at, wall, retention));
        }
        // An app emptied by eviction keeps its cursor for the retention too: a poller that saw
        // its last instance is behind it and must be answered (swarm seed 15900: the sweep
        // dropped the app right after the eviction, and the poller was parked for good).
        self.apps.retain(|_, app| {
            !app.entries.is_empty()
                || !app.tombstones.is_empty()
                || !app.evicted.is_empty()
                || !expired(app.cursor, wall, retention)
        });
        dropped
    }

    /// A digest of every app the node knows: a hash of its instances' and tombstones' versions.
    /// Two nodes whose digests of an app match hold the same versions of it.
    pub(crate) fn digests(&self) -> Vec<(AppKey, u64)> {
        self.apps
            .iter()
            .filter(|(_, app)| !app.entries.is_empty() || !app.tombstones.is_empty())
            .map(|(name, app)| (app_key(name), app.digest(&self.entries)))
            .collect()
    }

    /// Everything held for `app` (empty lists when nothing is).
    pub(crate) fn state(&self, key: &AppKey) -> AppState {
        let mut state = AppState {
            app: key.clone(),
            instances: Vec::new(),
            tombstones: Vec::new(),
        };
        if let Some(app) = self.apps.get(&app_name_of(key)) {
            state.instances = app
                .entries
                .values()
                .map(|&place| self.entries[place].instance.clone())
                .collect();
            state.tombstones = app
                .tombstones
                .iter()
                .map(|((zone, hostname), &dirty_timestamp)| Tombstone {
                    key: InstanceKey {
                        env: key.env.clone(),
                        appid: key.appid.clone(),
                        zone: zone.text().clone(),
                        hostname: hostname.text().clone(),
                    },
                    dirty_timestamp,
                })
                .collect();
        }
        state
    }

    /// Everything held, app by app.
    pub(crate) fn states(&self) -> Vec<AppState> {
        self.apps
            .keys()
            .map(|name| self.state(&app_key(name)))
            .collect()
    }

    /// A change visible to readers: the app's cursor moves (waking its long-polls).
    fn bump(&mut self, app: &AppName, wall: i64) {
        self.touch(app);
        let cursor = wall.max(self.last_cursor.saturating_add(1));
        self.last_cursor = cursor;
        if let Some(app) = self.apps.get_mut(app) {
            app.cursor = cursor;
        }
    }

    /// Any change to the app's versions: its digest must be recomputed and its invariants
    /// checked again.
    fn touch(&mut self, app: &AppName) {
        self.touched.insert(app.clone());
        if let Some(app) = self.apps.get_mut(app) {
            app.forget_digest();
        }
    }

    /// Checks the table's internal invariants; panics with a description if one is broken.
    ///
    /// Only the apps changed since the last check are walked (and every app after tombstone
    /// collection), so checking after every step of a long simulation stays cheap.
    pub(crate) fn check_invariants(&mut self) {
        let touched = std::mem::take(&mut self.touched);
        let everything = std::mem::take(&mut self.touched_all);
        let count: usize = self.apps.values().map(|app| app.entries.len()).sum();
        assert_eq!(
            count,
            self.entries.len(),
            "apps list a stored instance twice or not at all"
        );
        assert_eq!(self.index.len(), self.entries.len(), "index out of step");
        assert!(
            self.expected <= self.entries.len(),
            "expected count drifted"
        );
        for (key, app) in &self.apps {
            assert!(
                app.cursor <= self.last_cursor,
                "cursor of {key:?} above the node's last"
            );
            if everything || touched.contains(key) {
                check_app(key, app, &self.entries, &self.index);
            }
        }
    }
}

/// Whether a version stamped `dirty_timestamp` is older than `retention` at `wall`.
pub(crate) fn expired(dirty_timestamp: i64, wall: i64, retention: Duration) -> bool {
    let retention = i64::try_from(retention.as_nanos()).unwrap_or(i64::MAX);
    wall.saturating_sub(dirty_timestamp) > retention
}

fn check_app((env, appid): &AppName, app: &App, entries: &Slab<Entry>, index: &KeyIndex) {
    for ((zone, hostname), &place) in &app.entries {
        let i = &entries[place].instance;
        assert_eq!(
            index.get(&InstanceKey::of(i), entries),
            Some(place),
            "the index misplaces {i:?}"
        );
        assert!(
            &i.env == env.text()
                && &i.appid == appid.text()
                && &i.zone == zone.text()
                && &i.hostname == hostname.text(),
            "instance {i:?} stored under the wrong key"
        );
        assert!(
            !app.tombstones
                .contains_key(&(zone.clone(), hostname.clone())),
            "{zone}/{hostname} of {env}/{appid} is both live and tombstoned"
        );
        assert!(
            !app.evicted.contains_key(&(zone.clone(), hostname.clone())),
            "{zone}/{hostname} of {env}/{appid} is both live and evicted"
        );
    }
}

fn slot(key: &InstanceKey) -> Slot {
    (Name::new(&key.zone), Name::new(&key.hostname))
}

fn app_name(key: &InstanceKey) -> AppName {
    (Name::new(&key.env), Name::new(&key.appid))
}

fn app_name_of(app: &AppKey) -> AppName {
    (Name::new(&app.env), Name::new(&app.appid))
}

fn app_key((env, appid): &AppName) -> AppKey {
    AppKey {
        env: env.text().clone(),
        appid: appid.text().clone(),
    }
}

/// FNV-1a over each slot's name, kind and version, in slot order: stable across runs,
/// platforms and processes, unlike std's randomly keyed hasher.
fn digest(app: &App, entries: &Slab<Entry>) -> u64 {
    let mut hash = Fnv1a::new();
    for ((zone, hostname), &place) in &app.entries {
        let entry = &entries[place];
        hash.write(zone.text().as_bytes());
        hash.write(&[0]);
        hash.write(hostname.text().as_bytes());
        hash.write(&[0, b'i']);
        hash.write(&entry.instance.dirty_timestamp.to_le_bytes());
        hash.write_u64(content_fingerprint(&entry.instance));
    }
    for ((zone, hostname), stamp) in &app.tombstones {
        hash.write(zone.text().as_bytes());
        hash.write(&[0]);
        hash.write(hostname.text().as_bytes());
        hash.write(&[0, b't']);
        hash.write(&stamp.to_le_bytes());
    }
    hash.finish()
}

/// Whether two copies of one instance hold the same version and content, leases aside.
fn same_version(a: &Instance, b: &Instance) -> bool {
    a.dirty_timestamp == b.dirty_timestamp
        && a.latest_timestamp == b.latest_timestamp
        && a.status == b.status
        && a.reg_timestamp == b.reg_timestamp
        && a.up_timestamp == b.up_timestamp
        && a.region == b.region
        && a.addrs == b.addrs
        && a.version == b.version
        && a.metadata == b.metadata
}

/// A version arriving at the table, as last-writer-wins compares it.
#[derive(Clone, Copy)]
enum Incoming<'a> {
    Copy(&'a Instance),
    Cancel(i64),
}

/// The version in `app` that beats `incoming`, if any: a greater stamp, or on equal stamps a
/// tombstone over a copy and the greater content fingerprint between two copies. An equal
/// version does not beat it (applying it again changes nothing), and no tombstone beats a
/// cancel (they merge).
fn newer_than(
    app: &App,
    entries: &Slab<Entry>,
    key: &InstanceKey,
    slot: &Slot,
    incoming: Incoming<'_>,
) -> Option<Version> {
    if let Some(entry) = app.entries.get(slot).map(|&place| &entries[place]) {
        let held = &entry.instance;
        let wins = match incoming {
            Incoming::Cancel(stamp) => held.dirty_timestamp > stamp,
            Incoming::Copy(copy) => copy_beats(held, copy),
        };
        if wins {
            return Some(Version::Put(Box::new(held.clone())));
        }
    }
    // A cancel is never older than a tombstone: the two merge, the later stamp stays (`bury`).
    let Incoming::Copy(copy) = incoming else {
        return None;
    };
    let tombstone = *app.tombstones.get(slot)?;
    (tombstone >= copy.dirty_timestamp).then(|| {
        Version::Tombstone(Tombstone {
            key: key.clone(),
            dirty_timestamp: tombstone,
        })
    })
}

/// Whether copy `held` beats copy `incoming`: a greater stamp, or on equal stamps the greater
/// content fingerprint (computed only on a tie: every put passes here).
pub fn copy_beats(held: &Instance, incoming: &Instance) -> bool {
    match held.dirty_timestamp.cmp(&incoming.dirty_timestamp) {
        std::cmp::Ordering::Equal => content_fingerprint(held) > content_fingerprint(incoming),
        unequal => unequal.is_gt(),
    }
}

/// A hash of what a copy holds beyond its stamp (the fields [`same_version`] compares; the
/// lease is local to each node), to order two copies with one stamp and to tell them apart in
/// digests.
fn content_fingerprint(instance: &Instance) -> u64 {
    let mut hash = Fnv1a::new();
    for timestamp in [
        instance.latest_timestamp,
        instance.reg_timestamp,
        instance.up_timestamp,
    ] {
        hash.write(&timestamp.to_le_bytes());
    }
    hash.write(&u32::from(instance.status).to_le_bytes());
    hash.write_u64(instance.addrs.len() as u64);
    for text in std::iter::once(&instance.region)
        .chain(instance.addrs.iter())
        .chain(std::iter::once(&instance.version))
    {
        hash.write(text.as_bytes());
        hash.write(&[0]);
    }
    for (name, value) in &instance.metadata {
        hash.write(name.as_bytes());
        hash.write(&[0]);
        hash.write(value.as_bytes());
        hash.write(&[0]);
    }
    hash.finish()
}

#[cfg(test)]
#[path = "table_tests.rs"]
pub(crate) mod tests;
