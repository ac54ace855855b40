//! Clients at the node's validation limits (`registry::core::Limits`).
//!
//! Real registrations come near the limits: a long version string from a build system, an
//! instance with many addresses, metadata a deployment tool fills up, a consumer that watches
//! hundreds of apps. An edge instance's registration sits exactly at one limit, so everything
//! it writes must be taken and replicated like any other write (a peer checks copies against
//! the same limits); now and then its operator tries a change one past the limit, which must be
//! refused with -400 and change nothing (the client keeps what it had). An edge poller watches
//! as many apps as one long-poll may name; its first poll names one more. Every such request is
//! labelled in the trace (`ClientEvent::AtLimit`) and the `limits` checker judges its answers;
//! the oracle sees to "changes nothing", as the client's intended content stays what it was.
//!
//! Not reached from here: `max_timestamp_ahead` (whether a stamp is past it depends on the
//! node's clock when the request arrives, which no client can know to the nanosecond) and the
//! capacity limits (`max_instances` and the like, -509, not validation); core tests pin both.

use registry::api::{Metadata, Request, SmolStr};
use registry::core::Limits;

/// A limit an edge client sits at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Limit {
    /// `max_field_len`, through the registration's `version`.
    Version,
    /// `max_field_len`, through the instance's host name (part of its key, so every request
    /// the instance sends carries it).
    Hostname,
    /// `max_addrs`.
    Addrs,
    /// `max_addr_len`.
    AddrLen,
    /// `max_metadata_entries` (a `set` is checked after merging into what the node holds).
    MetadataEntries,
    /// `max_metadata_bytes`.
    MetadataBytes,
    /// `max_list_len`, through the app ids of a poller's `polls`.
    AppList,
}

impl Limit {
    /// The limits an instance can sit at, for the draw.
    pub(crate) const INSTANCE: [Limit; 6] = [
        Limit::Version,
        Limit::Hostname,
        Limit::Addrs,
        Limit::AddrLen,
        Limit::MetadataEntries,
        Limit::MetadataBytes,
    ];

    /// Whether sitting at this limit fixes the metadata's keys and size, so that a metadata
    /// change only rewrites the fixed-width `weight` (see [`weight`]).
    pub(crate) fn in_metadata(self) -> bool {
        matches!(self, Limit::MetadataEntries | Limit::MetadataBytes)
    }
}

/// The content of an instance at (`past` false) or one past (`past` true) `limit`: its host
/// name, addresses, version and metadata, each within every other limit. `base` is the host
/// name it would have otherwise.
pub(crate) fn instance_content(
    limit: Limit,
    past: bool,
    limits: &Limits,
    base: &str,
) -> (SmolStr, Vec<SmolStr>, SmolStr, Metadata) {
    let extra = usize::from(past);
    let hostname = match limit {
        Limit::Hostname => padded(base, '-', 'h', limits.max_field_len + extra),
        _ => SmolStr::from(base),
    };
    let addr = |port: usize| format!("http://{hostname}:{}", 8000 + port);
    let addrs = match limit {
        Limit::Addrs => (0..limits.max_addrs + extra)
            .map(|p| addr(p).into())
            .collect(),
        Limit::AddrLen => vec![padded(&addr(0), '/', 'p', limits.max_addr_len + extra)],
        _ => vec![addr(0).into()],
    };
    let version = match limit {
        Limit::Version => padded("v1", '-', 'b', limits.max_field_len + extra),
        _ => SmolStr::from("v1"),
    };
    let mut metadata = Metadata::new();
    if limit.in_metadata() {
        metadata.insert("weight", weight(0));
    }
    match limit {
        Limit::MetadataEntries => {
            for k in 1..limits.max_metadata_entries + extra {
                metadata.insert(format!("k{k}"), "v");
            }
        }
        Limit::MetadataBytes => {
            let used = "weight".len() + weight(0).len() + "pad".len();
            let pad = (limits.max_metadata_bytes + extra).saturating_sub(used);
            metadata.insert("pad", "p".repeat(pad));
        }
        _ => {}
    }
    (hostname, addrs, version, metadata)
}

/// Whether `request`, sent by an instance at `limit`, carries what sits at the limit: every
/// request names the host name; only a register carries the version and addresses; a register
/// or a `set` carries the metadata.
pub(crate) fn carries(limit: Limit, request: &Request) -> bool {
    match limit {
        Limit::Hostname => true,
        Limit::Version | Limit::Addrs | Limit::AddrLen => matches!(request, Request::Register(_)),
        Limit::MetadataEntries | Limit::MetadataBytes => {
            matches!(request, Request::Register(_) | Request::Set(_))
        }
        Limit::AppList => matches!(request, Request::Polls(_)),
    }
}

/// The app ids of an edge poller's polls: the apps it watches, then names no instance uses, up
/// to the limit (one past it when `past`).
pub(crate) fn app_list(watched: &[SmolStr], past: bool, limits: &Limits) -> Vec<SmolStr> {
    let len = limits.max_list_len + usize::from(past);
    let spares = (0..).map(|k| SmolStr::from(format!("spare{k}")));
    watched.iter().cloned().chain(spares).take(len).collect()
}

/// The `weight` metadata value of an instance at a metadata limit: always three digits, so a
/// change of weight keeps the metadata exactly at its limit.
pub(crate) fn weight(value: u32) -> String {
    format!("{:03}", value % 1000)
}

/// `base`, then `separator`, then `fill` up to `len` bytes (all ASCII, so bytes are chars).
fn padded(base: &str, separator: char, fill: char, len: usize) -> SmolStr {
    let mut out = format!("{base}{separator}");
    while out.len() < len {
        out.push(fill);
    }
    out.truncate(len);
    SmolStr::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        registry::core::Config::default().limits
    }

    fn metadata_bytes(metadata: &Metadata) -> usize {
        metadata.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    #[test]
    fn each_content_sits_exactly_at_its_limit_or_one_past_and_within_the_others() {
        let l = limits();
        for limit in Limit::INSTANCE {
            for past in [false, true] {
                let (host, addrs, version, metadata) = instance_content(limit, past, &l, "inst7");
                let over = usize::from(past);
                let measures = [
                    (Limit::Hostname, host.len(), l.max_field_len),
                    (Limit::Version, version.len(), l.max_field_len),
                    (Limit::Addrs, addrs.len(), l.max_addrs),
                    (
                        Limit::AddrLen,
                        addrs.iter().map(|a| a.len()).max().unwrap_or(0),
                        l.max_addr_len,
                    ),
                    (
                        Limit::MetadataEntries,
                        metadata.len(),
                        l.max_metadata_entries,
                    ),
                    (
                        Limit::MetadataBytes,
                        metadata_bytes(&metadata),
                        l.max_metadata_bytes,
                    ),
                ];
                for (measured, value, max) in measures {
                    if measured == limit {
                        assert_eq!(value, max + over, "{limit:?} past={past}");
                    } else {
                        assert!(value <= max, "{limit:?} past={past}: {measured:?} {value}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_change_of_weight_keeps_metadata_at_its_limit() {
        let l = limits();
        for limit in [Limit::MetadataEntries, Limit::MetadataBytes] {
            let (_, _, _, mut metadata) = instance_content(limit, false, &l, "inst7");
            let before = (metadata.len(), metadata_bytes(&metadata));
            metadata.insert("weight", weight(999));
            assert_eq!((metadata.len(), metadata_bytes(&metadata)), before);
        }
    }

    #[test]
    fn an_app_list_has_the_watched_apps_first_and_the_limit_s_length() {
        let l = limits();
        let watched = [SmolStr::from("app1"), SmolStr::from("app4")];
        let at = app_list(&watched, false, &l);
        assert_eq!(at.len(), l.max_list_len);
        assert_eq!(&at[..2], &watched);
        assert_eq!(app_list(&watched, true, &l).len(), l.max_list_len + 1);
    }
}
