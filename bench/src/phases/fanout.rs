//! Long-poll fan-out: W pollers parked on one app, one write to it; the latency from the
//! write's send to each poller's answer, and the server's CPU per notified poller.
//!
//! A write's CPU is the server process's (user and kernel) from just before the write until
//! the last poller has its answer. On a shared 2-core machine one write's figure moves by 3x
//! or more between writes of the same run (16 to 70 ms for 1,000 pollers, with the kernel's
//! socket copies a third of it), so besides the mean over every write the phase reports the
//! median write's, which one slow write does not move.

use std::time::{Duration, Instant};

use crate::http::{Conn, Failure};
use crate::latency::Summary;
use crate::node::Server;
use crate::phases::{cpu_since, server_cpu, PhaseResult};
use crate::workload;

const APP: &str = "bench.fan";

/// Instances of the watched app before the writes: as many as the fetch phase's app, so each
/// answer carries a full app rather than a near-empty one.
const APP_SIZE: usize = crate::workload::PER_APP;

/// Parks `pollers` long-polls on one app and writes to it `writes` times.
pub(crate) async fn fanout(server: &Server, pollers: usize, writes: usize) -> PhaseResult {
    match run(server, pollers, writes).await {
        Ok(result) => result,
        Err(failure) => PhaseResult::failed(failure.to_string()),
    }
}

async fn run(server: &Server, pollers: usize, writes: usize) -> Result<PhaseResult, Failure> {
    let mut control = Conn::open(&server.addr).await?;
    for i in 0..APP_SIZE {
        let form = workload::instance_form(APP, &format!("f{i}"), i);
        control.post("/discovery/register", form).await?;
    }
    let mut conns = Vec::with_capacity(pollers);
    for _ in 0..pollers {
        conns.push(Conn::open(&server.addr).await?);
    }
    let mut latencies = Vec::with_capacity(pollers * writes);
    let mut cpu_total = Duration::ZERO;
    // Each write's CPU per poller it notified, in microseconds.
    let mut per_write_us = Vec::with_capacity(writes);
    let mut result = PhaseResult::default();
    for write in APP_SIZE..APP_SIZE + writes {
        let cursor = workload::fetch_cursor(&control.get(&workload::fetch_target(APP)).await?)
            .ok_or_else(|| Failure::Exchange("fetch answer without a cursor".into()))?;
        let mut parked = Vec::with_capacity(pollers);
        for (index, mut conn) in conns.drain(..).enumerate() {
            let target = workload::polls_target(APP, cursor, &format!("w{index}"));
            parked.push(tokio::spawn(async move {
                let answer = conn.get(&target).await.map(|_| Instant::now());
                (conn, answer)
            }));
        }
        wait_parked(&mut control, pollers).await?;
        let before = server_cpu(server);
        let sent = Instant::now();
        control
            .post(
                "/discovery/register",
                workload::instance_form(APP, &format!("f{write}"), write),
            )
            .await?;
        let notified_before = latencies.len();
        for task in parked {
            let (conn, answer) = task
                .await
                .map_err(|e| Failure::Exchange(format!("poller task: {e}")))?;
            match answer {
                Ok(at) => latencies.push(at.saturating_duration_since(sent)),
                Err(failure) => {
                    result.errors += 1;
                    result.first_error.get_or_insert(failure.to_string());
                }
            }
            conns.push(conn);
        }
        let cpu = cpu_since(server, before).unwrap_or_default();
        cpu_total += cpu;
        let notified_now = latencies.len() - notified_before;
        if notified_now > 0 {
            per_write_us.push(cpu.as_secs_f64() * 1e6 / notified_now as f64);
        }
    }
    let notified = latencies.len();
    let summary = Summary::of(&mut latencies);
    let figures = &mut result.figures;
    figures.insert("notified", notified as f64);
    figures.insert("p50_ms", summary.p50_us / 1e3);
    figures.insert("p99_ms", summary.p99_us / 1e3);
    figures.insert("max_ms", summary.max_us / 1e3);
    if server.pid.is_some() && notified > 0 {
        figures.insert("server_cpu_s", cpu_total.as_secs_f64());
        figures.insert(
            "server_cpu_us_per_poller",
            cpu_total.as_secs_f64() * 1e6 / notified as f64,
        );
        if let Some(median) = median(&mut per_write_us) {
            figures.insert("server_cpu_us_per_poller_median_write", median);
        }
    }
    Ok(result)
}

/// The median of `values` (the lower middle one of an even count), sorting them in place.
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_unstable_by(f64::total_cmp);
    let middle = values.len().checked_sub(1)? / 2;
    Some(values[middle])
}

/// Waits until the node holds `pollers` parked polls (its `registry_poll_waiters` gauge), so
/// the write finds every poller waiting.
async fn wait_parked(control: &mut Conn, pollers: usize) -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let metrics = control.get_plain("/metrics").await?;
        if gauge(&metrics, "registry_poll_waiters") >= Some(pollers as f64) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Failure::Exchange(format!(
                "{pollers} polls were not all parked within 60 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The value of an unlabelled gauge in Prometheus text.
pub(crate) fn gauge(metrics: &[u8], name: &str) -> Option<f64> {
    let text = std::str::from_utf8(metrics).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_write_ignores_one_slow_write() {
        assert_eq!(median(&mut [17.0, 70.0, 18.0]), Some(18.0));
        assert_eq!(median(&mut [20.0, 16.0, 70.0, 18.0]), Some(18.0));
        assert_eq!(median(&mut [5.0]), Some(5.0));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn gauge_is_read_by_exact_name() {
        let text = b"# HELP x\nregistry_poll_waiters_total 9\nregistry_poll_waiters 1000\n";
        assert_eq!(gauge(text, "registry_poll_waiters"), Some(1000.0));
        assert_eq!(gauge(text, "missing"), None);
    }
}
