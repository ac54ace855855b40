//! The status page's HTML: one self-contained document (inline CSS, a few lines of inline
//! JavaScript, an inline SVG; nothing fetched), rendered from this node's [`StatusDoc`] and
//! its peers' answers. Every value that did not come from this file goes through [`Esc`].

use std::fmt::Write;

use serde::Serialize;

use super::escape::Esc;
use super::model::{AppView, StatusDoc};
use super::timeline;
use crate::api::SmolStr;

/// Seconds between automatic reloads while auto-refresh is on.
pub(crate) const REFRESH_SECS: u64 = 10;

/// What a peer answered to `GET /status.json?apps=false`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct PeerAnswer {
    pub(crate) addr: SmolStr,
    /// The peer's own document, apps left out; `None` when it did not answer.
    pub(crate) status: Option<StatusDoc>,
    /// Why there is no document (unreachable, timed out, not a status document).
    pub(crate) error: Option<String>,
    /// When the peer last answered this node, Unix milliseconds of this node's clock.
    pub(crate) last_answer_unix_ms: Option<i64>,
}

/// Everything the page shows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StatusPage {
    pub(crate) own: StatusDoc,
    pub(crate) peers: Vec<PeerAnswer>,
    /// Whether the page reloads itself (`?refresh=off` turns it off).
    pub(crate) refresh: bool,
    /// The services filter (`?filter=`): apps that do not match are hidden, those that do are
    /// expanded. Empty: every app is shown, collapsed.
    pub(crate) filter: String,
}

/// The whole document.
pub(crate) fn render(page: &StatusPage) -> String {
    let mut out = String::with_capacity(16 * 1024);
    head(&mut out, page);
    cluster(&mut out, page);
    protection(&mut out, &page.own);
    services(&mut out, &page.own, &page.filter);
    eviction(&mut out, &page.own);
    out.push_str("</main>\n<script>");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

fn head(out: &mut String, page: &StatusPage) {
    let node = &page.own.node;
    // Writing to a String cannot fail, here and below.
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>registry {} ({})</title>\n",
        Esc(&node.hostname),
        Esc(&node.addr)
    );
    if page.refresh {
        // Without JavaScript the page still reloads; the script does it (pausably) otherwise.
        let _ = writeln!(
            out,
            "<noscript><meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\"></noscript>"
        );
    }
    let _ = write!(
        out,
        "<style>{STYLE}</style>\n</head>\n<body data-refresh=\"{}\">\n<header>\n\
         <h1>registry <span class=\"host\">{}</span></h1>\n\
         <p class=\"meta\">{} · zone {} · env {} · region {} · version {} · {}</p>\n\
         <p class=\"controls\"><label><input type=\"checkbox\" id=\"autorefresh\"{}> auto-refresh every {REFRESH_SECS} s</label> \
         <noscript>{}</noscript> · <a href=\"status.json\">status.json</a> · <a href=\"metrics\">metrics</a></p>\n\
         </header>\n<main>\n",
        if page.refresh { REFRESH_SECS } else { 0 },
        Esc(&node.hostname),
        Esc(&node.addr),
        Esc(&node.zone),
        Esc(&node.env),
        Esc(&node.region),
        Esc(&node.version),
        if node.ready {
            "<span class=\"ok\">ready</span>"
        } else {
            "<span class=\"bad\">not ready (syncing or stopping)</span>"
        },
        if page.refresh { " checked" } else { "" },
        if page.refresh {
            "<a href=\"?refresh=off\">pause</a>"
        } else {
            "<a href=\"?\">resume</a>"
        },
    );
}

fn cluster(out: &mut String, page: &StatusPage) {
    let own = &page.own;
    out.push_str(
        "<section id=\"cluster\">\n<h2>Cluster</h2>\n<div class=\"scroll\"><table>\n\
         <thead><tr><th>Node</th><th>Zone</th><th>Seen from here</th><th>Answered</th><th>Ready</th>\
         <th>Instances</th><th>Apps</th><th>Registry digest</th><th>Protection</th>\
         <th>Queue to it</th><th>Retried</th><th>Unanswered batches</th></tr></thead>\n<tbody>\n",
    );
    let node = &own.node;
    let _ = writeln!(
        out,
        "<tr class=\"node self\" data-addr=\"{addr}\"><td>{addr} <small>(this node)</small></td><td>{}</td><td>–</td><td class=\"ok\">this page</td>\
         <td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{} <small>(all peers)</small></td><td>{} <small>(all peers)</small></td><td>–</td></tr>",
        Esc(&node.zone),
        yes_no(node.ready),
        node.instances,
        node.apps,
        Esc(&node.registry_digest),
        on_off(own.protection.protected),
        own.replication.queue_depth,
        own.replication.retried,
        addr = Esc(&node.addr),
    );
    for peer in &own.peers {
        let answer = page.peers.iter().find(|a| a.addr == peer.addr);
        let status = answer.and_then(|a| a.status.as_ref());
        let answered = match answer {
            Some(PeerAnswer {
                status: Some(_), ..
            }) => "<td class=\"ok\">yes</td>".to_string(),
            Some(a) => format!(
                "<td class=\"bad\">no: {}{}</td>",
                Esc(a.error.as_deref().unwrap_or("no answer")),
                last_answer(a.last_answer_unix_ms, node.now_unix_ms)
            ),
            None => "<td class=\"bad\">not asked</td>".to_string(),
        };
        let cell = |f: &dyn Fn(&StatusDoc) -> String| status.map_or("–".to_string(), f);
        let _ = writeln!(
            out,
            "<tr class=\"node peer\" data-addr=\"{addr}\"><td>{addr}</td><td>{}</td><td class=\"{}\">{}</td>{answered}\
             <td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            Esc(&peer.zone),
            if peer.status == "up" { "ok" } else { "bad" },
            Esc(&peer.status),
            cell(&|s| yes_no(s.node.ready).to_string()),
            cell(&|s| s.node.instances.to_string()),
            cell(&|s| s.node.apps.to_string()),
            cell(&|s| Esc(&s.node.registry_digest).to_string()),
            cell(&|s| on_off(s.protection.protected).to_string()),
            peer.queue_depth,
            peer.retried,
            peer.unanswered_batches,
            addr = Esc(&peer.addr),
        );
    }
    out.push_str("</tbody></table></div>\n");
    let _ = writeln!(out, "<p id=\"agreement\">{}</p>", agreement(page));
    out.push_str(
        "<p class=\"help\">Seen from here: whether this node's replication batches to the peer are acknowledged (lost: none for a while). \
         Answered: whether the peer answered this page's request for its status just now. \
         Nodes holding the same registry show the same digest (renews do not change it).</p>\n</section>\n",
    );
}

/// One sentence on whether the nodes that answered hold the same registry.
fn agreement(page: &StatusPage) -> String {
    let own = &page.own.node.registry_digest;
    let answered: Vec<&StatusDoc> = page
        .peers
        .iter()
        .filter_map(|a| a.status.as_ref())
        .collect();
    let silent = page.peers.len() - answered.len();
    let differ = answered
        .iter()
        .filter(|s| &s.node.registry_digest != own)
        .count();
    let mut text = if differ == 0 {
        format!(
            "<span class=\"ok\">The {} node(s) that answered hold the same registry.</span>",
            answered.len() + 1
        )
    } else {
        format!(
            "<span class=\"bad\">{differ} of {} answering peer(s) hold a different registry</span> (replication or anti-entropy has not caught up yet).",
            answered.len()
        )
    };
    if silent > 0 {
        let _ = write!(
            text,
            " <span class=\"bad\">{silent} peer(s) did not answer.</span>"
        );
    }
    text
}

fn last_answer(at: Option<i64>, now: i64) -> String {
    match at {
        Some(at) => format!(" (last answer {} ago)", age(now.saturating_sub(at))),
        None => " (never answered)".to_string(),
    }
}

fn protection(out: &mut String, own: &StatusDoc) {
    let p = &own.protection;
    let _ = write!(
        out,
        "<section id=\"protection\">\n<h2>Protection mode</h2>\n\
         <p><span id=\"protection-state\" class=\"badge {}\" data-protected=\"{}\">{}</span> \
         override: <code id=\"protection-override\">{}</code> · {}</p>\n\
         <p id=\"protection-summary\">{}</p>\n\
         <div class=\"scroll\"><table class=\"numbers\"><tr><th>Renews, last window</th><td>{}</td>\
         <th>Threshold</th><td>{}</td><th>Expected per window</th><td>{}</td>\
         <th>Renews so far this window</th><td>{}</td></tr></table></div>\n",
        if p.protected { "on" } else { "off" },
        p.protected,
        if p.protected {
            "Protection ON: evicting only instances silent past the ceiling"
        } else {
            "Protection off: expired leases are evicted"
        },
        Esc(&p.override_mode),
        Esc(&p.reason),
        Esc(&p.summary),
        p.renews_last_window,
        p.threshold,
        p.expected_renews,
        p.renews_this_window,
    );
    let window_ms = i64::try_from(p.window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    out.push_str(&timeline::svg(&p.timeline, window_ms, own.node.now_unix_ms));
    out.push_str(
        "\n<p class=\"help\">Bars: renews counted in each window of the last hour; line: the threshold; shaded: protected. \
         Below the threshold the node assumes it, not the instances, is cut off and stops expiring leases. \
         Operators override with <code>POST /admin/protection mode=auto|on|off</code>.</p>\n</section>\n",
    );
}

fn services(out: &mut String, own: &StatusDoc, filter: &str) {
    let _ = write!(
        out,
        "<section id=\"services\">\n<h2>Services</h2>\n\
         <form method=\"get\"><p>{} app(s), {} instance(s). <input type=\"search\" id=\"filter\" name=\"filter\" value=\"{}\" \
         placeholder=\"filter: appid, host, zone, address\" aria-label=\"filter services\"></p></form>\n",
        own.node.apps,
        own.node.instances,
        Esc(filter)
    );
    let filter = filter.to_lowercase();
    for app in &own.apps {
        service(out, app, &filter);
    }
    out.push_str("</section>\n");
}

/// One app; `query` (lower case) hides it unless its appid or an instance's host, zone or
/// address contains it, and expands it if one does. The script does the same as one types.
fn service(out: &mut String, app: &AppView, query: &str) {
    let mut filter = app.appid.to_lowercase();
    for i in &app.instances {
        let _ = write!(filter, " {} {} {}", i.hostname, i.zone, i.addrs.join(" "));
    }
    let filter = filter.to_lowercase();
    let shown = match (query.is_empty(), filter.contains(query)) {
        (true, _) => "",
        (false, true) => " open",
        (false, false) => " hidden",
    };
    let zones: Vec<String> = app
        .zones
        .iter()
        .map(|z| format!("{}: {}", Esc(&z.zone), counts(z.up, z.waiting)))
        .collect();
    let _ = write!(
        out,
        "<details class=\"app\" data-filter=\"{}\"{shown}><summary><span class=\"appid\">{}</span> \
         <span class=\"counts\">{}</span> <span class=\"zones\">{}</span></summary>\n\
         <div class=\"scroll\"><table><thead><tr><th>Host</th><th>Env</th><th>Zone</th><th>Status</th><th>Addresses</th>\
         <th>Version</th><th>Metadata</th><th>Last renew</th></tr></thead><tbody>\n",
        Esc(&filter),
        Esc(&app.appid),
        counts(app.up, app.waiting),
        zones.join(" · "),
    );
    for i in &app.instances {
        let metadata: Vec<String> = i
            .metadata
            .iter()
            .map(|(k, v)| format!("{}={}", Esc(k), Esc(v)))
            .collect();
        let addrs: Vec<String> = i.addrs.iter().map(|a| Esc(a).to_string()).collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ago</td></tr>",
            Esc(&i.hostname),
            Esc(&i.env),
            Esc(&i.zone),
            if i.status == "up" { "ok" } else { "warn" },
            Esc(&i.status),
            addrs.join("<br>"),
            Esc(&i.version),
            metadata.join("<br>"),
            age(i.renew_age_ms),
        );
    }
    out.push_str("</tbody></table></div>");
    let total = app.up + app.waiting;
    if total > app.instances.len() {
        let _ = write!(
            out,
            "<p class=\"help\">The first {} of {total} instances are listed.</p>",
            app.instances.len()
        );
    }
    out.push_str("</details>\n");
}

fn eviction(out: &mut String, own: &StatusDoc) {
    let (e, ae, r) = (&own.eviction, &own.anti_entropy, &own.replication);
    let _ = write!(
        out,
        "<section id=\"eviction\">\n<h2>Eviction, replication and anti-entropy</h2>\n\
         <div class=\"scroll\"><table class=\"numbers\">\n\
         <tr><th>Eviction rounds</th><td>{}</td><th>Instances evicted</th><td>{}</td><th>Rounds capped</th><td>{}</td></tr>\n\
         <tr><th>Anti-entropy rounds</th><td>{}</td><th>Repairs</th><td>{}</td><th>Expired copies dropped</th><td>{}</td></tr>\n\
         <tr><th>Replication queue</th><td>{}</td><th>Ops retried</th><td>{}</td><th>Ops dropped</th><td>{}</td></tr>\n\
         </table></div>\n<h3>Last eviction rounds</h3>\n",
        e.rounds_total,
        e.evicted_total,
        e.rounds_capped,
        ae.rounds,
        ae.repairs,
        ae.dead_copies_dropped,
        r.queue_depth,
        r.retried,
        r.dropped_overflow.saturating_add(r.dropped_expired),
    );
    if e.last_rounds.is_empty() {
        out.push_str("<p>No eviction round has run yet.</p>\n");
    } else {
        out.push_str(
            "<div class=\"scroll\"><table><thead><tr><th>When</th><th>Registry size</th><th>Expired</th><th>Cap</th>\
             <th>Evicted</th><th>Protected</th></tr></thead><tbody>\n",
        );
        for round in &e.last_rounds {
            let _ = writeln!(
                out,
                "<tr><td>{} ago</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                age(own.node.now_unix_ms.saturating_sub(round.at_unix_ms)),
                round.registry_size,
                round.expired,
                round.cap,
                round.evicted,
                yes_no(round.protected),
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str(
        "<p class=\"help\">An eviction round removes instances whose lease expired, at most a capped share of the registry per round. \
         Anti-entropy compares app digests with a peer and repairs what differs; repairs counts versions changed that way.</p>\n</section>\n",
    );
}

fn counts(up: usize, waiting: usize) -> String {
    if waiting == 0 {
        format!("{up} up")
    } else {
        format!("{up} up, {waiting} waiting")
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn on_off(protected: bool) -> &'static str {
    if protected {
        "ON"
    } else {
        "off"
    }
}

/// A duration in milliseconds as a person reads it: `0 s`, `42 s`, `7 min`, `3 h`.
fn age(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        _ => format!("{} h", secs / 3600),
    }
}

/// Readable at 1,280 px and on a phone: one column, tables scroll sideways on their own, and a
/// long name breaks anywhere in a line of text rather than widen the page.
pub(crate) const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1280px;padding:0 12px;color:#222;background:#fff}\
h1{font-size:20px;margin:12px 0 2px}h2{font-size:17px;margin:20px 0 6px;border-bottom:1px solid #ddd}h3{font-size:15px}\
.meta,.controls,.help{color:#555;margin:2px 0}.help{font-size:12px}\
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:4px 0}\
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4;font-weight:600}\
.ok{color:#17702f}.bad{color:#b00020;font-weight:600}.warn{color:#a05a00}\
.badge{display:inline-block;padding:2px 8px;border-radius:4px;font-weight:600}\
.badge.on{background:#b00020;color:#fff}.badge.off{background:#e6f4ea;color:#17702f}\
#protection-timeline{max-width:720px;display:block;margin:6px 0}\
#protection-timeline .plot{fill:#fafafa;stroke:#ccc}#protection-timeline .protected{fill:#f8d7da}\
#protection-timeline .renews{fill:#4a7fc1}#protection-timeline .threshold{fill:none;stroke:#b00020;stroke-width:1.5}\
#protection-timeline text{font-size:10px;fill:#555}\
details.app{border:1px solid #ddd;border-radius:4px;margin:4px 0;padding:4px 8px}\
summary{cursor:pointer}summary,p{overflow-wrap:anywhere}.appid{font-weight:600}.counts{color:#17702f}.zones{color:#555;font-size:12px}\
#filter{min-width:16em;max-width:100%}code{font-size:12px}\
@media (max-width:600px){body{font-size:13px;padding:0 6px}th,td{padding:2px 4px}}";

/// Auto-refresh that the checkbox pauses (remembered for the tab in sessionStorage, and
/// suspended while the filter box has the focus), and the filter as one types (kept in the
/// URL, so a reload or a shared link shows the same). The page works without it: the server
/// applies `?filter=` and a `<noscript>` refresh reloads it. Marks `<body data-script="ran">`,
/// which the browser test reads to see that the Content-Security-Policy lets it run.
pub(crate) const SCRIPT: &str = "(function(){\
var d=document,box=d.getElementById('autorefresh'),f=d.getElementById('filter'),s=window.sessionStorage,t;\
var secs=+d.body.getAttribute('data-refresh');d.body.setAttribute('data-script','ran');\
if(s.getItem('paused')==='1')box.checked=false;\
function arm(){clearTimeout(t);if(box.checked&&secs>0)t=setTimeout(function(){location.reload();},secs*1000);}\
function url(name,value){var u=new URL(location.href);if(value)u.searchParams.set(name,value);else u.searchParams.delete(name);return u;}\
box.onchange=function(){s.setItem('paused',box.checked?'0':'1');if(box.checked&&!secs)location.href=url('refresh','');arm();};\
f.oninput=function(){var q=f.value.toLowerCase();\
d.querySelectorAll('details[data-filter]').forEach(function(e){var m=e.getAttribute('data-filter').indexOf(q)>=0;e.hidden=!m;if(q)e.open=m;});\
history.replaceState(null,'',url('filter',f.value));};\
f.onfocus=function(){clearTimeout(t);};f.onblur=arm;arm();})();";
