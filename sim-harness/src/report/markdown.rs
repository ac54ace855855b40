//! `summary.md`: the summary for people. Integers only (seconds are rendered from whole
//! milliseconds), so it is byte-for-byte the same for the same commit and seeds.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::coverage::PATHS;
use super::distribution::Distribution;
use super::summary::Summary;
use super::table::table;
use crate::probe::CONVERGENCE_SAMPLE_EVERY;

/// Renders `summary` as Markdown.
pub fn markdown(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Chaos suite summary\n");
    let _ = writeln!(out, "commit: `{}`\n", summary.commit);
    let _ = writeln!(out, "```\n{}```\n", table(summary));
    verdicts(&mut out, summary);
    convergence(&mut out, summary);
    evictions(&mut out, summary);
    protection(&mut out, summary);
    replication(&mut out, summary);
    staleness(&mut out, summary);
    coverage(&mut out, summary);
    failing(&mut out, summary);
    out
}

/// Seconds with three decimals from whole milliseconds.
fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn opt_secs(ms: Option<u64>) -> String {
    ms.map_or_else(|| "-".to_string(), secs)
}

fn row(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

fn header(out: &mut String, cells: &[&str]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(cells.len()));
}

fn verdicts(out: &mut String, summary: &Summary) {
    let _ = writeln!(out, "## Verdicts\n");
    let mut cells = vec!["scenario", "seeds", "verdict"];
    cells.extend(summary.checkers.keys().map(String::as_str));
    header(out, &cells);
    for (name, s) in &summary.scenarios {
        let mut cells = vec![name.clone(), s.seeds.clone(), s.verdict.clone()];
        cells.extend(
            summary
                .checkers
                .keys()
                .map(|checker| match s.checkers.get(checker) {
                    Some(v) if v.violations > 0 => format!("fail ({})", v.violations),
                    _ => "pass".to_string(),
                }),
        );
        row(out, &cells);
    }
    let _ = writeln!(out);
}

fn distribution_cells(d: &Distribution) -> Vec<String> {
    vec![
        d.measured.to_string(),
        d.missing.to_string(),
        opt_secs(d.p50_ms),
        opt_secs(d.p90_ms),
        opt_secs(d.p99_ms),
        opt_secs(d.max_ms),
    ]
}

fn convergence(out: &mut String, summary: &Summary) {
    let _ = writeln!(
        out,
        "## Convergence time\n\nSeconds from the liveness phase's start until the up core nodes first hold \
         identical client-app registries, sampled every {} s; `never`: not by the deadline.\n",
        CONVERGENCE_SAMPLE_EVERY.as_secs()
    );
    header(
        out,
        &[
            "scenario",
            "converged",
            "never",
            "p50 s",
            "p90 s",
            "p99 s",
            "max s",
        ],
    );
    for (name, s) in &summary.scenarios {
        let mut cells = vec![name.clone()];
        cells.extend(distribution_cells(&s.convergence));
        row(out, &cells);
    }
    let _ = writeln!(out);
}

fn evictions(out: &mut String, summary: &Summary) {
    let _ = writeln!(
        out,
        "## False evictions\n\nInstances evicted (or dropped by repair) while their client was alive \
         (from its first acknowledged write until it died or cancelled).\n"
    );
    header(
        out,
        &[
            "scenario",
            "evicted unprotected",
            "evicted protected",
            "dropped by repair",
        ],
    );
    for (name, s) in &summary.scenarios {
        let f = &s.false_evictions;
        row(
            out,
            &[
                name.clone(),
                f.evicted_unprotected.to_string(),
                f.evicted_protected.to_string(),
                f.dropped_by_repair.to_string(),
            ],
        );
    }
    let _ = writeln!(out);
}

fn protection(out: &mut String, summary: &Summary) {
    let _ = writeln!(
        out,
        "## Protection-mode episodes\n\nSummed over nodes and seeds; an episode cut by a crash or the end of the \
         run is entered but not exited.\n"
    );
    header(out, &["scenario", "entered", "exited", "total s", "mean s"]);
    for (name, s) in &summary.scenarios {
        let p = &s.protection;
        row(
            out,
            &[
                name.clone(),
                p.entered.to_string(),
                p.exited.to_string(),
                secs(p.total_ms),
                secs(p.mean_ms),
            ],
        );
    }
    let _ = writeln!(out);
}

fn replication(out: &mut String, summary: &Summary) {
    let _ = writeln!(
        out,
        "## Replication and anti-entropy\n\nNode counters summed over every incarnation of every node.\n"
    );
    header(
        out,
        &[
            "scenario",
            "ops enqueued",
            "batches",
            "retried",
            "dropped overflow",
            "dropped expired",
            "AE rounds",
            "AE repairs",
            "repairs skipped expired",
            "dead copies dropped",
        ],
    );
    for (name, s) in &summary.scenarios {
        let (r, a) = (&s.replication, &s.anti_entropy);
        let numbers = [
            r.enqueued,
            r.batches,
            r.retried,
            r.dropped_overflow,
            r.dropped_expired,
            a.rounds,
            a.repairs,
            a.skipped_expired,
            a.dead_copies_dropped,
        ];
        let mut cells = vec![name.clone()];
        cells.extend(numbers.iter().map(u64::to_string));
        row(out, &cells);
    }
    let _ = writeln!(out);
}

fn staleness(out: &mut String, summary: &Summary) {
    let _ = writeln!(
        out,
        "## Client-observed staleness (notification lag)\n\nFor every acknowledged client write (or \
         cancel) and every poller already watching that app: the time until that poller's views agree with \
         it (the host listed as UP or not); zero if its latest view already did. A run's staleness is its \
         largest lag; the percentiles are over runs with pollers (`no pairs`: runs without). `unseen`: \
         pairs no view agreed with by the end of the run. Definition: `sim-harness/src/report/staleness.rs`.\n"
    );
    header(
        out,
        &[
            "scenario",
            "pairs seen",
            "unseen",
            "runs",
            "no pairs",
            "p50 s",
            "p90 s",
            "p99 s",
            "max s",
        ],
    );
    for (name, s) in &summary.scenarios {
        let mut cells = vec![
            name.clone(),
            s.staleness.seen.to_string(),
            s.staleness.unseen.to_string(),
        ];
        cells.extend(distribution_cells(&s.staleness.max_lag_per_run));
        row(out, &cells);
    }
    let _ = writeln!(out);
}

fn coverage_table(
    out: &mut String,
    summary: &Summary,
    title: &str,
    pick: fn(&super::summary::ScenarioSummary) -> &BTreeMap<String, u64>,
    total: &BTreeMap<String, u64>,
    order: &[String],
) {
    header(out, &[title, "count", "scenarios reaching it"]);
    for name in order {
        let reached = summary
            .scenarios
            .values()
            .filter(|s| pick(s).get(name).copied().unwrap_or(0) > 0)
            .count();
        row(
            out,
            &[
                name.clone(),
                total.get(name).copied().unwrap_or(0).to_string(),
                format!("{reached}/{}", summary.scenarios.len()),
            ],
        );
    }
    let _ = writeln!(out);
}

fn coverage(out: &mut String, summary: &Summary) {
    let c = &summary.coverage;
    let _ = writeln!(out, "## Coverage\n");
    let faults: Vec<String> = c.faults.keys().cloned().collect();
    coverage_table(
        out,
        summary,
        "fault kind",
        |s| &s.faults,
        &c.faults,
        &faults,
    );
    let paths: Vec<String> = PATHS.iter().map(|p| p.to_string()).collect();
    coverage_table(
        out,
        summary,
        "protocol path",
        |s| &s.paths,
        &c.paths,
        &paths,
    );
    let _ = writeln!(out, "### Coverage gaps\n");
    if c.gaps.is_empty() {
        let _ = writeln!(
            out,
            "none: every fault kind and protocol path was reached.\n"
        );
    }
    for gap in &c.gaps {
        let _ = writeln!(out, "- never reached: {gap}");
    }
    if !c.gaps.is_empty() {
        let _ = writeln!(out);
    }
}

fn failing(out: &mut String, summary: &Summary) {
    if summary.failing.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Failing seeds\n");
    for f in &summary.failing {
        let _ = writeln!(
            out,
            "- {} seed {}: {}\n  `{}`",
            f.scenario, f.seed, f.violation, f.replay
        );
    }
}
