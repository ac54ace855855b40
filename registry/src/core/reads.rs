//! fetch, fetchs, nodes, fetch/all, and the long-polls poll and polls.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::SmolStr;
use crate::api::{
    Code, Data, FetchArgs, FetchsArgs, InstanceInfo, NodeInfo, NodeStatus, PollArgs, PollsArgs,
    Reply, StatusFilter,
};

use super::clock::Clock;
use super::network::{Network, RequestId};
use super::node::Node;
use super::poll::{PollKind, Waiter};
use crate::api::AppKey;

impl<C: Clock, N: Network> Node<C, N> {
    pub(super) fn fetch(&mut self, args: FetchArgs) -> Reply {
        let app = AppKey {
            env: args.env,
            appid: args.appid,
        };
        match self.found(&app, &args.zone, args.status) {
            Some(info) => Reply::ok(Data::App(Arc::new(info))),
            None => Reply::error(
                Code::NothingFound,
                format!("no instances of {} in env {}", app.appid, app.env),
            ),
        }
    }

    pub(super) fn fetchs(&mut self, args: FetchsArgs) -> Reply {
        let mut apps = BTreeMap::new();
        for appid in args.appids {
            let app = AppKey {
                env: args.env.clone(),
                appid,
            };
            if let Some(info) = self.found(&app, &args.zone, args.status) {
                apps.insert(app.appid, Arc::new(info));
            }
        }
        Reply::ok(Data::Apps(apps))
    }

    pub(super) fn nodes(&mut self) -> Reply {
        let identity = &self.config.identity;
        let mut nodes = vec![NodeInfo {
            addr: identity.addr.clone(),
            status: NodeStatus::Up,
            zone: identity.zone.clone(),
        }];
        nodes.extend(self.peers());
        nodes.sort();
        Reply::ok(Data::Nodes(nodes))
    }

    pub(super) fn fetch_all(&mut self) -> Reply {
        Reply::ok(Data::All(self.table.all()))
    }

    /// `poll`: answers at once if the app changed since the poller's cursor, -404 if the app is
    /// unknown, and otherwise parks until a change or the hold expires.
    pub(super) fn poll(&mut self, id: RequestId, args: PollArgs) -> Option<Reply> {
        let app = AppKey {
            env: args.env,
            appid: args.appid,
        };
        let Some(cursor) = self.table.cursor(&app) else {
            return Some(Reply::error(
                Code::NothingFound,
                format!("{} is not registered in env {}", app.appid, app.env),
            ));
        };
        let waiter = Waiter {
            kind: PollKind::Single,
            zone: args.zone,
            apps: vec![(app, args.latest_timestamp)],
            poller: SmolStr::default(),
            deadline: self.clock.mono() + self.config.poll_hold,
        };
        if cursor > args.latest_timestamp {
            return Some(self.answer(&waiter, &mut Shown::new()));
        }
        self.waiters.park(id, waiter);
        None
    }

    /// `polls`: answers at once with every app that changed since its cursor, otherwise parks.
    /// Unknown apps are waited for: their first registration wakes the poller.
    pub(super) fn polls(&mut self, id: RequestId, args: PollsArgs) -> Option<Reply> {
        let apps = args
            .appids
            .into_iter()
            .zip(args.latest_timestamps)
            .map(|(appid, cursor)| {
                (
                    AppKey {
                        env: args.env.clone(),
                        appid,
                    },
                    cursor,
                )
            })
            .collect();
        let waiter = Waiter {
            kind: PollKind::Multi,
            zone: args.zone,
            apps,
            poller: args.hostname,
            deadline: self.clock.mono() + self.config.poll_hold,
        };
        if self.changed(&waiter).next().is_some() {
            return Some(self.answer(&waiter, &mut Shown::new()));
        }
        self.waiters.park(id, waiter);
        None
    }

    /// Notes that `app` changed: its long-polls are answered when the step ends
    /// ([`Node::answer_woken`]), so that one step's changes (an eviction round, a replicated
    /// batch, a repair) reach a poller in one answer and no poller sees the step half done
    /// (swarm seed 117082: answered on an eviction round's first change in the app, pollers
    /// missed the round's later ones until they asked again).
    pub(super) fn wake(&mut self, app: &AppKey) {
        if self.waiters.is_watched(app) {
            self.woken.insert(app.clone());
        }
    }

    /// Answers the long-polls watching the apps that changed in this step.
    ///
    /// A waiter whose cursor for an app is still at or ahead of the app's (a cursor brought
    /// from another node) stays parked: it has seen nothing new yet. Waiters of one app and
    /// zone are answered with one shared [`InstanceInfo`] (see [`Shown`]).
    pub(super) fn answer_woken(&mut self) {
        // Most steps change no watched app: they end here, before any map is made or taken.
        if self.woken.is_empty() {
            return;
        }
        let mut shown = Shown::new();
        for app in std::mem::take(&mut self.woken) {
            self.answer_watching(&app, &mut shown);
        }
    }

    fn answer_watching(&mut self, app: &AppKey, shown: &mut Shown) {
        for id in self.waiters.watching(app) {
            let behind = self
                .waiters
                .get(id)
                .is_some_and(|waiter| self.changed(waiter).next().is_some());
            if !behind {
                continue;
            }
            if let Some(waiter) = self.waiters.remove(id) {
                let reply = self.answer(&waiter, shown);
                self.net.reply(id, reply);
            }
        }
    }

    /// The reply to a waiter: the apps that moved past its cursors, UP instances only.
    /// Remembers the apps it tells a `polls` caller have no instance.
    fn answer(&mut self, waiter: &Waiter, shown: &mut Shown) -> Reply {
        let mut changed: BTreeMap<SmolStr, Arc<InstanceInfo>> = BTreeMap::new();
        let mut told_empty = Vec::new();
        for (app, seen) in self.changed(waiter) {
            let info = shown
                .entry((app.clone(), waiter.zone.clone()))
                .or_insert_with(|| {
                    let info = self.table.info(app, &waiter.zone, StatusFilter::UP);
                    info.map(Arc::new)
                });
            if let Some(info) = info {
                if info.instances.values().all(Vec::is_empty) {
                    told_empty.push((app.clone(), *seen, info.latest_timestamp));
                }
                changed.insert(app.appid.clone(), Arc::clone(info));
            }
        }
        for (app, seen, cursor) in told_empty {
            self.waiters.tell_empty(&waiter.poller, &app, seen, cursor);
        }
        match waiter.kind {
            PollKind::Multi => Reply::ok(Data::Apps(changed)),
            PollKind::Single => match changed.pop_first() {
                Some((_, info)) => Reply::ok(Data::App(info)),
                None => Reply::code(Code::NotModified),
            },
        }
    }

    /// The watched apps that moved past the waiter's cursor, with that cursor; an app the
    /// poller was already told is empty, and that has not changed since, has not moved.
    fn changed<'w>(&'w self, waiter: &'w Waiter) -> impl Iterator<Item = &'w (AppKey, i64)> + 'w {
        waiter.apps.iter().filter(|(app, seen)| {
            self.table.cursor(app).is_some_and(|cursor| {
                cursor > *seen && !self.waiters.told_empty(&waiter.poller, app, *seen, cursor)
            })
        })
    }

    /// The app's instances for fetch, or `None` when there are none to show (unknown app, or
    /// no instance in the requested zone).
    fn found(&self, app: &AppKey, zone: &str, filter: StatusFilter) -> Option<InstanceInfo> {
        self.table
            .info(app, zone, filter)
            .filter(|info| !info.instances.is_empty())
    }
}

/// The long-poll answers of one step, by app and zone filter: built once, shared by every
/// waiter of that view. A step changes nothing between two of its answers, so they are the
/// same; a change to one app fans out to a thousand pollers from one copy of its instances.
type Shown = BTreeMap<(AppKey, SmolStr), Option<Arc<InstanceInfo>>>;
