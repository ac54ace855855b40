//! A suite's consistency report: `sim run` writes `reports/<name>/` with `summary.json`,
//! `summary.md` (both deterministic: the same commit and seeds give the same bytes),
//! `report.html` (inline SVG plots) and `timings.json` (the only wall-clock figures).
//!
//! Each run is reduced to [`SeedMetrics`] right after it finishes (its trace is dropped);
//! [`Summary::build`] aggregates them per scenario.

mod commit;
mod coverage;
mod distribution;
mod episodes;
mod evictions;
mod html;
mod markdown;
mod metrics;
mod staleness;
mod summary;
mod svg;
mod table;
mod write;

pub use commit::current_commit;
pub use episodes::Episodes;
pub use evictions::FalseEvictions;
pub use html::SampleRun;
pub use markdown::markdown;
pub use metrics::SeedMetrics;
pub use staleness::Staleness;
pub use summary::Summary;
pub use table::table;
pub use write::{summary_json, timings_json, write_file, write_report};

/// The default report name (`reports/latest/`).
pub const DEFAULT_NAME: &str = "latest";

/// The report directory `reports/<name>` of this workspace.
pub fn report_dir(name: &str) -> std::path::PathBuf {
    crate::capsule::default_reports_dir().join(name)
}

/// The names of every checker, in report order.
pub fn checker_names() -> Vec<&'static str> {
    crate::check::all().iter().map(|c| c.name()).collect()
}
