//! Parked long-polls, indexed by request, by watched app and by deadline.

use std::collections::{BTreeMap, BTreeSet};

use super::clock::Mono;
use super::network::RequestId;
use crate::api::AppKey;
use crate::api::SmolStr;

/// What shape of answer a waiter expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PollKind {
    /// `poll`: one app, answered with that app's instances.
    Single,
    /// `polls`: several apps, answered with a map of the changed ones.
    Multi,
}

/// A parked long-poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Waiter {
    pub(crate) kind: PollKind,
    pub(crate) zone: SmolStr,
    /// Watched apps with the cursor the poller last saw, in request order.
    pub(crate) apps: Vec<(AppKey, i64)>,
    /// The `polls` caller's host name (empty for `poll`): see [`Waiters::told_empty`].
    pub(crate) poller: SmolStr,
    pub(crate) deadline: Mono,
}

/// Every parked long-poll of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Waiters {
    by_id: BTreeMap<RequestId, Waiter>,
    by_app: BTreeMap<AppKey, BTreeSet<RequestId>>,
    by_deadline: BTreeSet<(Mono, RequestId)>,
    /// Pollers told that an app has no instance: (host name, app) to the cursor they sent and
    /// the app's cursor in that answer. bilibili's Go SDK does not move its cursor on an app
    /// without instances, so it sends the same cursor again at once, and was answered at once,
    /// about 4,900 times a second (#16). A poller that comes back with that same cursor while
    /// the app has not changed since has been told already and is held; any other poller, or
    /// this one once the app changes, is answered as before, so a client that moves its cursor
    /// learns once that the app became empty.
    told_empty: BTreeMap<(SmolStr, AppKey), (i64, i64)>,
}

/// Pollers remembered in [`Waiters::told_empty`] at most; past it the memory is cleared (a
/// forgotten poller gets one more empty answer, then is remembered again).
const MAX_TOLD_EMPTY: usize = 16 * 1024;

impl Waiters {
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Parks `waiter` under `id`, replacing any waiter already parked under it.
    pub(crate) fn park(&mut self, id: RequestId, waiter: Waiter) {
        self.remove(id);
        for (app, _) in &waiter.apps {
            self.by_app.entry(app.clone()).or_default().insert(id);
        }
        self.by_deadline.insert((waiter.deadline, id));
        self.by_id.insert(id, waiter);
    }

    /// The waiter parked under `id`, if any.
    pub(crate) fn get(&self, id: RequestId) -> Option<&Waiter> {
        self.by_id.get(&id)
    }

    /// Unparks a waiter, if it is parked.
    pub(crate) fn remove(&mut self, id: RequestId) -> Option<Waiter> {
        let waiter = self.by_id.remove(&id)?;
        for (app, _) in &waiter.apps {
            if let Some(ids) = self.by_app.get_mut(app) {
                ids.remove(&id);
                if ids.is_empty() {
                    self.by_app.remove(app);
                }
            }
        }
        self.by_deadline.remove(&(waiter.deadline, id));
        Some(waiter)
    }

    /// The waiters watching `app`, in request order.
    pub(crate) fn watching(&self, app: &AppKey) -> Vec<RequestId> {
        self.by_app
            .get(app)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Whether any waiter watches `app`.
    pub(crate) fn is_watched(&self, app: &AppKey) -> bool {
        self.by_app.get(app).is_some_and(|ids| !ids.is_empty())
    }

    /// Remembers that `poller`, polling `app` with cursor `seen`, was told at `cursor` that
    /// the app has no instance.
    pub(crate) fn tell_empty(&mut self, poller: &SmolStr, app: &AppKey, seen: i64, cursor: i64) {
        if poller.is_empty() {
            return;
        }
        if self.told_empty.len() >= MAX_TOLD_EMPTY {
            self.told_empty.clear();
        }
        self.told_empty
            .insert((poller.clone(), app.clone()), (seen, cursor));
    }

    /// Whether `poller` was already told, polling with `seen`, that `app` has no instance,
    /// and the app's cursor is still the one of that answer.
    pub(crate) fn told_empty(
        &self,
        poller: &SmolStr,
        app: &AppKey,
        seen: i64,
        cursor: i64,
    ) -> bool {
        !poller.is_empty()
            && self
                .told_empty
                .get(&(poller.clone(), app.clone()))
                .is_some_and(|told| *told == (seen, cursor))
    }

    /// The earliest deadline of any waiter.
    pub(crate) fn next_deadline(&self) -> Option<Mono> {
        self.by_deadline.first().map(|(deadline, _)| *deadline)
    }

    /// The waiters whose deadline is at or before `now`, earliest first.
    pub(crate) fn expired(&self, now: Mono) -> Vec<RequestId> {
        self.by_deadline
            .iter()
            .take_while(|(d, _)| *d <= now)
            .map(|(_, id)| *id)
            .collect()
    }

    pub(crate) fn check_invariants(&self) {
        assert_eq!(
            self.by_deadline.len(),
            self.by_id.len(),
            "deadline index out of step"
        );
        for (id, waiter) in &self.by_id {
            assert!(
                self.by_deadline.contains(&(waiter.deadline, *id)),
                "{id:?} missing a deadline"
            );
            for (app, _) in &waiter.apps {
                assert!(
                    self.by_app.get(app).is_some_and(|ids| ids.contains(id)),
                    "{id:?} not indexed"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str) -> AppKey {
        AppKey {
            env: "dev".into(),
            appid: name.into(),
        }
    }

    fn waiter(apps: &[&str], deadline: u64) -> Waiter {
        Waiter {
            kind: PollKind::Multi,
            zone: SmolStr::default(),
            apps: apps.iter().map(|a| (app(a), 0)).collect(),
            poller: SmolStr::default(),
            deadline: Mono::from_nanos(deadline),
        }
    }

    #[test]
    fn waiters_are_found_by_app_and_by_deadline() {
        let mut waiters = Waiters::default();
        waiters.park(RequestId(1), waiter(&["a", "b"], 30));
        waiters.park(RequestId(2), waiter(&["b"], 10));
        assert_eq!(waiters.watching(&app("b")), [RequestId(1), RequestId(2)]);
        assert_eq!(waiters.next_deadline(), Some(Mono::from_nanos(10)));
        assert_eq!(waiters.expired(Mono::from_nanos(10)), [RequestId(2)]);
        assert!(waiters.remove(RequestId(2)).is_some());
        assert_eq!(waiters.watching(&app("b")), [RequestId(1)]);
        waiters.check_invariants();
    }

    #[test]
    fn pollers_told_an_app_is_empty_are_remembered_up_to_the_cap_then_forgotten_at_once() {
        let mut waiters = Waiters::default();
        let poller = |i: usize| SmolStr::from(format!("p{i}"));
        for i in 0..MAX_TOLD_EMPTY {
            waiters.tell_empty(&poller(i), &app("a"), 0, 7);
        }
        assert_eq!(MAX_TOLD_EMPTY, 16_384);
        assert!(waiters.told_empty(&poller(0), &app("a"), 0, 7));
        assert!(waiters.told_empty(&poller(MAX_TOLD_EMPTY - 1), &app("a"), 0, 7));
        // A cursor moved since, or another cursor polled with: not told yet.
        assert!(!waiters.told_empty(&poller(0), &app("a"), 0, 8));
        assert!(!waiters.told_empty(&poller(0), &app("a"), 7, 7));
        // One more clears the memory first.
        waiters.tell_empty(&poller(MAX_TOLD_EMPTY), &app("a"), 0, 7);
        assert!(!waiters.told_empty(&poller(0), &app("a"), 0, 7));
        assert!(waiters.told_empty(&poller(MAX_TOLD_EMPTY), &app("a"), 0, 7));
    }

    /// `check_invariants` runs after every step of every node in debug builds: each check
    /// must report the state it guards against.
    #[test]
    fn check_invariants_reports_each_broken_index() {
        let parked = || {
            let mut waiters = Waiters::default();
            waiters.park(RequestId(1), waiter(&["a"], 30));
            waiters.check_invariants();
            waiters
        };
        type Break = (&'static str, fn(&mut Waiters));
        let breaks: [Break; 3] = [
            ("deadline index out of step", |w| {
                w.by_deadline.insert((Mono::from_nanos(1), RequestId(9)));
            }),
            ("missing a deadline", |w| {
                w.by_deadline.clear();
                w.by_deadline.insert((Mono::from_nanos(1), RequestId(1)));
            }),
            ("not indexed", |w| {
                w.by_app.clear();
            }),
        ];
        for (message, break_it) in breaks {
            let mut waiters = parked();
            break_it(&mut waiters);
            let text = crate::core::tests::panic_text(message, || waiters.check_invariants());
            assert!(text.contains(message), "{message}: reported {text:?}");
        }
    }

    #[test]
    fn parking_the_same_id_twice_replaces_the_first() {
        let mut waiters = Waiters::default();
        waiters.park(RequestId(1), waiter(&["a"], 30));
        waiters.park(RequestId(1), waiter(&["b"], 40));
        assert_eq!(waiters.len(), 1);
        assert!(waiters.watching(&app("a")).is_empty());
        waiters.check_invariants();
    }
}
