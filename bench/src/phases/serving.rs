//! The closed-loop phases: register exactly N, renew, fetch one app.

use crate::load::{self, Amount, Call, Outcome};
use crate::node::Server;
use crate::phases::memory::{self, RegisterRss};
use crate::phases::{cpu_since, server_cpu, PhaseResult};
use crate::workload;

/// How the closed-loop phases are sized.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizing {
    /// Connections the load holds open.
    pub(crate) conns: usize,
    /// How long the renew and fetch phases run.
    pub(crate) duration: std::time::Duration,
    /// How many of the registered instances the renew phase renews.
    pub(crate) renew_instances: usize,
}

/// Registers instances `0..count`, each exactly once, reading the node's resident size
/// before, after the first 10,000, and at the end (the pause to read it is not timed).
pub(crate) async fn register(
    server: &Server,
    count: usize,
    conns: usize,
) -> (PhaseResult, RegisterRss) {
    let checkpoint = count.min(10_000);
    let mut rss = RegisterRss {
        empty: memory::rss(server),
        instances: count,
        ..RegisterRss::default()
    };
    let before = server_cpu(server);
    let first = register_range(server, 0, checkpoint, conns).await;
    let mut cpu = cpu_since(server, before);
    rss.at_10k = memory::rss(server);
    let before = server_cpu(server);
    let rest = register_range(server, checkpoint, count, conns).await;
    cpu = cpu.zip(cpu_since(server, before)).map(|(a, b)| a + b);
    rss.at_all = memory::rss(server);
    let outcome = first.combine(rest);
    (PhaseResult::from_load(&outcome, cpu), rss)
}

async fn register_range(server: &Server, from: usize, to: usize, conns: usize) -> Outcome {
    load::run(&server.addr, conns, Amount::Requests(to - from), move |k| {
        Call::Post("/discovery/register", workload::register_form(from + k))
    })
    .await
}

/// Renews the first `sizing.renew_instances` instances round-robin for `sizing.duration`.
pub(crate) async fn renew(server: &Server, sizing: Sizing) -> PhaseResult {
    let instances = sizing.renew_instances.max(1);
    let before = server_cpu(server);
    let outcome = load::run(
        &server.addr,
        sizing.conns,
        Amount::For(sizing.duration),
        move |k| Call::Post("/discovery/renew", workload::renew_form(k % instances)),
    )
    .await;
    PhaseResult::from_load(&outcome, cpu_since(server, before))
}

/// Fetches the first app (100 instances, `status=3`) for `sizing.duration`.
pub(crate) async fn fetch(server: &Server, sizing: Sizing) -> PhaseResult {
    let target = workload::fetch_target(&workload::appid(0));
    let before = server_cpu(server);
    let outcome = load::run(
        &server.addr,
        sizing.conns,
        Amount::For(sizing.duration),
        move |_| Call::Get(target.clone()),
    )
    .await;
    PhaseResult::from_load(&outcome, cpu_since(server, before))
}
