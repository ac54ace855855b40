//! Short, stable descriptions of requests and replies for the trace.

use registry::api::{Data, Reply, Request};

/// `register app/host`, `fetch app`, ...: the operation and what it is about.
pub(super) fn request(request: &Request) -> String {
    match request {
        Request::Register(a) => format!("register {}/{}", a.appid, a.hostname),
        Request::Renew(a) => format!("renew {}/{}", a.appid, a.hostname),
        Request::Cancel(a) => format!("cancel {}/{}", a.appid, a.hostname),
        Request::Set(a) => format!("set {}/{}", a.appid, a.hostnames.join(",")),
        Request::Fetch(a) => format!("fetch {}", a.appid),
        Request::Fetchs(a) => format!("fetchs {}", a.appids.join(",")),
        Request::Poll(a) => format!("poll {}@{}", a.appid, a.latest_timestamp),
        Request::Polls(a) => format!("polls {}", a.appids.join(",")),
        Request::Nodes => "nodes".to_string(),
        Request::FetchAll => "fetch/all".to_string(),
    }
}

/// The wire code and the size of the payload: `0 app(3)`, `-404`.
pub(super) fn reply(reply: &Reply) -> String {
    let code = reply.code.as_i32();
    match &reply.data {
        Data::None => format!("{code}"),
        Data::Instance(_) => format!("{code} instance"),
        Data::App(info) => format!("{code} app({})", count(info.instances.values())),
        Data::Apps(apps) => format!("{code} apps({})", apps.len()),
        Data::Nodes(nodes) => format!("{code} nodes({})", nodes.len()),
        Data::All(all) => format!("{code} all({})", count(all.values())),
    }
}

fn count<'a, T: 'a>(lists: impl Iterator<Item = &'a Vec<T>>) -> usize {
    lists.map(Vec::len).sum()
}
