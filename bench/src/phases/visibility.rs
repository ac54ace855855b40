//! 3-node visibility: a register sent to node 1, timed until node 3 serves it, and until node 1
//! answers it (the writer's wait, which `--durability peer` lengthens).
//!
//! Node 3 is watched with a long-poll parked before the write (re-parked on answers that do not
//! yet name the new host), so the moment it answers is the moment it holds the write, without
//! a busy loop of fetches competing with the nodes for the core.

use std::time::{Duration, Instant};

use crate::http::{Conn, Failure};
use crate::latency::Summary;
use crate::node::Server;
use crate::phases::fanout::gauge;
use crate::phases::PhaseResult;
use crate::workload;

const APP: &str = "bench.vis";

/// Writes `writes` new instances on `first` and times each until `last` serves it.
pub(crate) async fn visibility(first: &Server, last: &Server, writes: usize) -> PhaseResult {
    match run(first, last, writes).await {
        Ok(result) => result,
        Err(failure) => PhaseResult::failed(failure.to_string()),
    }
}

async fn run(first: &Server, last: &Server, writes: usize) -> Result<PhaseResult, Failure> {
    let mut writer = Conn::open(&first.addr).await?;
    let mut control = Conn::open(&last.addr).await?;
    writer
        .post("/discovery/register", workload::instance_form(APP, "v0", 0))
        .await?;
    let mut cursor = seen_on(&mut control).await?;
    let mut latencies = Vec::with_capacity(writes);
    // From the write's send to its answer: what the writing client waits (`--durability`).
    let mut acks = Vec::with_capacity(writes);
    for write in 1..=writes {
        let host = format!("v{write}");
        let watcher = {
            let (addr, host) = (last.addr.clone(), host.clone());
            tokio::spawn(async move { watch(&addr, cursor, &host).await })
        };
        wait_parked(&mut control).await?;
        let sent = Instant::now();
        writer
            .post(
                "/discovery/register",
                workload::instance_form(APP, &host, write),
            )
            .await?;
        acks.push(sent.elapsed());
        let (seen_at, next_cursor) = watcher
            .await
            .map_err(|e| Failure::Exchange(format!("watcher task: {e}")))??;
        latencies.push(seen_at.saturating_duration_since(sent));
        cursor = next_cursor;
    }
    let summary = Summary::of(&mut latencies);
    let mut result = PhaseResult::default();
    result.figures.insert("writes", summary.count as f64);
    result.figures.insert("p50_ms", summary.p50_us / 1e3);
    result.figures.insert("p99_ms", summary.p99_us / 1e3);
    result.figures.insert("max_ms", summary.max_us / 1e3);
    let acks = Summary::of(&mut acks);
    result.figures.insert("ack_p50_ms", acks.p50_us / 1e3);
    result.figures.insert("ack_p99_ms", acks.p99_us / 1e3);
    result.figures.insert("ack_max_ms", acks.max_us / 1e3);
    Ok(result)
}

/// Waits until node 3 serves the app (it replicates from node 1), and returns its cursor.
async fn seen_on(control: &mut Conn) -> Result<i64, Failure> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // A -404 until the first copy arrives is expected here, not an error of the run.
        if let Ok(body) = control.get(&workload::fetch_target(APP)).await {
            if let Some(cursor) = workload::fetch_cursor(&body) {
                return Ok(cursor);
            }
        }
        if Instant::now() > deadline {
            return Err(Failure::Exchange(format!("{APP} never appeared on node 3")));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Long-polls `addr` from `cursor` until an answer names `host`: when, and the cursor then.
async fn watch(addr: &str, mut cursor: i64, host: &str) -> Result<(Instant, i64), Failure> {
    let mut conn = Conn::open(addr).await?;
    loop {
        let body = conn
            .get(&workload::polls_target(APP, cursor, "watcher"))
            .await?;
        let at = Instant::now();
        cursor = workload::polls_cursor(&body, APP)
            .ok_or_else(|| Failure::Exchange("polls answer without a cursor".into()))?;
        if workload::names_host(&body, host) {
            return Ok((at, cursor));
        }
    }
}

/// Waits until node 3 holds the watcher's poll.
async fn wait_parked(control: &mut Conn) -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = control.get_plain("/metrics").await?;
        if gauge(&metrics, "registry_poll_waiters") >= Some(1.0) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Failure::Exchange(
                "the watcher's poll was not parked".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
