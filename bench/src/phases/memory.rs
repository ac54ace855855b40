//! Memory: the node's resident size as instances are registered, and what a large
//! `fetch/all` leaves behind.

use std::time::Duration;

use crate::http::Conn;
use crate::node::Server;
use crate::phases::PhaseResult;
use crate::proc_stats;

const MB: f64 = 1024.0 * 1024.0;

/// Resident sizes read during the register phase.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RegisterRss {
    /// Before any instance was registered, in bytes.
    pub(crate) empty: u64,
    /// Right after the first 10,000 (or fewer, if the run registers fewer).
    pub(crate) at_10k: u64,
    /// Right after all `instances`.
    pub(crate) at_all: u64,
    /// How many were registered.
    pub(crate) instances: usize,
}

/// The resident size of `server` in bytes, 0 when its pid is unknown.
pub(crate) fn rss(server: &Server) -> u64 {
    server.pid.map(proc_stats::rss_bytes).unwrap_or(0)
}

/// Reads `fetch/all` once and reports the resident size before, right after, and a second
/// after it (what the answer leaves behind), with the register phase's sizes.
pub(crate) async fn memory(server: &Server, registered: RegisterRss) -> PhaseResult {
    let mut result = PhaseResult::default();
    if server.pid.is_none() {
        return result;
    }
    let figures = &mut result.figures;
    figures.insert("rss_empty_mb", registered.empty as f64 / MB);
    figures.insert("rss_10k_mb", registered.at_10k as f64 / MB);
    figures.insert("rss_all_mb", registered.at_all as f64 / MB);
    if registered.instances > 0 {
        let grown = registered.at_all.saturating_sub(registered.empty);
        figures.insert(
            "bytes_per_instance",
            grown as f64 / registered.instances as f64,
        );
    }
    let before = rss(server);
    let answer = match Conn::open(&server.addr).await {
        Ok(mut conn) => conn.get("/discovery/fetch/all").await,
        Err(failure) => Err(failure),
    };
    let right_after = rss(server);
    let peak = server.pid.map(proc_stats::peak_rss_bytes).unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = rss(server);
    match answer {
        Ok(body) => {
            figures.insert("fetch_all_answer_mb", body.len() as f64 / MB);
        }
        Err(failure) => {
            result.errors += 1;
            result.first_error = Some(failure.to_string());
        }
    }
    let figures = &mut result.figures;
    figures.insert("rss_before_fetch_all_mb", before as f64 / MB);
    figures.insert("rss_right_after_fetch_all_mb", right_after as f64 / MB);
    figures.insert("rss_1s_after_fetch_all_mb", later as f64 / MB);
    // The high-water mark since the node started: the fetch/all's peak unless an earlier
    // phase went higher (none holds more than the table it registered).
    figures.insert("rss_peak_fetch_all_mb", peak as f64 / MB);
    figures.insert(
        "fetch_all_left_behind_mb",
        later.saturating_sub(before) as f64 / MB,
    );
    result
}
