//! The summary table `sim run` prints and `summary.md` opens with.

use std::fmt::Write as _;

use super::summary::Summary;

/// Seeds, failures, events and simulated hours per scenario, then violations per checker.
pub fn table(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:>6} {:>6} {:>12} {:>10}",
        "scenario", "seeds", "failed", "events", "sim hours"
    );
    for (name, s) in &summary.scenarios {
        let t = &s.totals;
        let _ = writeln!(
            out,
            "{name:<22} {:>6} {:>6} {:>12} {:>10.1}",
            t.runs,
            t.failed,
            t.events,
            t.simulated_ms as f64 / 3_600_000.0
        );
    }
    let t = &summary.total;
    let _ = writeln!(
        out,
        "{:<22} {:>6} {:>6} {:>12}",
        "total", t.runs, t.failed, t.events
    );
    for (checker, verdict) in &summary.checkers {
        if verdict.violations > 0 {
            let _ = writeln!(out, "  violations of {checker}: {}", verdict.violations);
        }
    }
    out
}
