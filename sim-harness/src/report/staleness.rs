//! Client-observed staleness, measured as notification lag.
//!
//! Each acknowledged client write says whether its host should be listed as UP in its app's
//! views (`ClientEvent::Wrote` with status UP: listed; with another status, or `Cancelled`:
//! not listed). For every such write (acknowledged at `t`) and every poller already watching
//! that app at `t` (one that had a view of it by then: a poller that starts later is new, not
//! stale), the lag is:
//!
//! - zero if the poller's latest view at `t` already agrees with the write (a view can come
//!   before the client's acknowledgement, since the node wakes long-polls as it applies);
//! - otherwise the time until its first later view that agrees;
//! - not counted if the host is written again before any view agrees (superseded);
//! - counted as unseen if no view agrees by the end of the run.
//!
//! A run's staleness is its largest lag. Views list UP hosts only, so metadata-only writes
//! agree at once: the metric is about membership, which is what a consumer routes by.

use registry::api::SmolStr;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::episodes::millis;
use crate::time::SimTime;
use crate::trace::{ClientEvent, Trace, TraceEvent};

/// Notification lag of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staleness {
    /// (write, watching poller) pairs a view agreed with.
    pub seen: u64,
    /// Pairs no view agreed with by the end of the run (and no later write superseded).
    pub unseen: u64,
    /// The largest lag of a seen pair, in milliseconds.
    pub max_lag_ms: u64,
}

/// One acknowledged write: when, which host, whether it should be listed.
struct Write<'a> {
    at: SimTime,
    host: &'a str,
    listed: bool,
    /// When the same host was written next, if it was.
    superseded_at: Option<SimTime>,
}

/// Views of one app by one poller: when, and the UP hosts listed (sorted).
type Views<'a> = Vec<(SimTime, &'a [SmolStr])>;

/// Writes by app.
type WritesByApp<'a> = BTreeMap<&'a str, Vec<Write<'a>>>;

/// Views by app, then by poller.
type ViewsByApp<'a> = BTreeMap<&'a str, BTreeMap<usize, Views<'a>>>;

/// The notification lag of a trace (see the module docs).
pub(super) fn staleness(trace: &Trace) -> Staleness {
    let (writes, views) = collect(trace);
    let mut out = Staleness::default();
    for (appid, writes) in &writes {
        let Some(pollers) = views.get(appid) else {
            continue;
        };
        for write in writes {
            for seen in pollers.values() {
                match lag(write, seen) {
                    Lag::NotWatching | Lag::Superseded => {}
                    Lag::Unseen => out.unseen += 1,
                    Lag::Seen(at) => {
                        out.seen += 1;
                        out.max_lag_ms = out.max_lag_ms.max(millis(at.saturating_since(write.at)));
                    }
                }
            }
        }
    }
    out
}

/// Every write and view of the trace, by app (and views by poller).
fn collect(trace: &Trace) -> (WritesByApp<'_>, ViewsByApp<'_>) {
    let mut writes = WritesByApp::new();
    let mut views = ViewsByApp::new();
    for (at, event) in trace.entries() {
        let (appid, host, listed) = match event {
            TraceEvent::Client(ClientEvent::Wrote { instance, .. }) => (
                instance.appid.as_str(),
                instance.hostname.as_str(),
                instance.status == registry::api::Status::Up,
            ),
            TraceEvent::Client(ClientEvent::Cancelled { key, .. }) => {
                (key.appid.as_str(), key.hostname.as_str(), false)
            }
            TraceEvent::Client(ClientEvent::Viewed {
                poller,
                appid,
                hosts,
                ..
            }) => {
                let by_poller = views.entry(appid).or_default().entry(*poller).or_default();
                by_poller.push((*at, hosts.as_slice()));
                continue;
            }
            _ => continue,
        };
        writes.entry(appid).or_default().push(Write {
            at: *at,
            host,
            listed,
            superseded_at: None,
        });
    }
    for app_writes in writes.values_mut() {
        let mut next: BTreeMap<&str, SimTime> = BTreeMap::new();
        for write in app_writes.iter_mut().rev() {
            write.superseded_at = next.insert(write.host, write.at);
        }
    }
    (writes, views)
}

/// How one poller took one write.
enum Lag {
    NotWatching,
    Superseded,
    Unseen,
    Seen(SimTime),
}

fn lag(write: &Write<'_>, views: &Views<'_>) -> Lag {
    let agrees = |hosts: &[SmolStr]| {
        hosts
            .binary_search_by(|h| h.as_str().cmp(write.host))
            .is_ok()
            == write.listed
    };
    // Trace entries are in time order, so each poller's views are sorted by time.
    let after = views.partition_point(|(t, _)| *t <= write.at);
    let Some((_, latest)) = after.checked_sub(1).and_then(|i| views.get(i)) else {
        return Lag::NotWatching;
    };
    if agrees(latest) {
        return Lag::Seen(write.at);
    }
    let until = write.superseded_at.unwrap_or(SimTime::MAX);
    match views[after..]
        .iter()
        .take_while(|(t, _)| *t < until)
        .find(|(_, h)| agrees(h))
    {
        Some((t, _)) => Lag::Seen(*t),
        None if write.superseded_at.is_some() => Lag::Superseded,
        None => Lag::Unseen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ClientId;
    use crate::report::evictions::tests::instance;

    fn viewed(poller: usize, at: u64, hosts: &[&str], trace: &mut Trace) {
        trace.record(
            SimTime::from_secs(at),
            TraceEvent::Client(ClientEvent::Viewed {
                poller,
                node: 0,
                appid: "app".into(),
                hosts: hosts.iter().map(|h| (*h).into()).collect(),
            }),
        );
    }

    fn wrote(at: u64, host: &str, trace: &mut Trace) {
        trace.record(
            SimTime::from_secs(at),
            TraceEvent::Client(ClientEvent::Wrote {
                client: ClientId::Instance(0),
                node: 0,
                request: 0,
                instance: Box::new(instance(host)),
                reads_back: true,
            }),
        );
    }

    #[test]
    fn the_lag_is_the_wait_for_an_agreeing_view() {
        let mut trace = Trace::new();
        wrote(0, "h0", &mut trace); // before any poller watched: no pair
        viewed(0, 1, &["h0"], &mut trace);
        viewed(1, 1, &["h0"], &mut trace);
        wrote(10, "h1", &mut trace);
        viewed(0, 11, &["h0"], &mut trace); // does not list h1 yet
        viewed(0, 12, &["h0", "h1"], &mut trace); // lag 2 s
        viewed(1, 17, &["h0", "h1"], &mut trace); // lag 7 s
        wrote(20, "h0", &mut trace); // already listed everywhere: lag 0 for both
        wrote(30, "h2", &mut trace); // poller 0 never lists it: unseen; poller 1 likewise
        assert_eq!(
            staleness(&trace),
            Staleness {
                seen: 4,
                unseen: 2,
                max_lag_ms: 7_000
            }
        );
    }

    #[test]
    fn a_view_before_the_acknowledgement_counts_and_rewrites_supersede() {
        let mut trace = Trace::new();
        viewed(0, 1, &[], &mut trace);
        viewed(0, 5, &["h1"], &mut trace); // the node woke the poll before the client's ack
        wrote(6, "h2", &mut trace);
        wrote(7, "h2", &mut trace); // supersedes the first: only this one is judged
        viewed(0, 9, &["h1", "h2"], &mut trace);
        assert_eq!(
            staleness(&trace),
            Staleness {
                seen: 1,
                unseen: 0,
                max_lag_ms: 2_000
            }
        );
    }
}
