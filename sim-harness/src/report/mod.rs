//! A suite's consistency report: `sim run` writes `reports/<name>/` with `summary.json`,
//! `summary.md` (both deterministic: the same commit and seeds give the same bytes),
//! `report.html` (inline SVG plots) and `timings.json` (the only wall-clock figures).
//!
//! Each run is reduced to [`SeedMetrics`] right after it finishes (its trace is dropped);
//! [`Summary::build`] aggregates them per scenario.

mod commit;
pub mod coverage;
mod distribution;
pub mod episodes;
pub mod evictions;
mod html;
mod markdown;
mod metrics;
pub mod staleness;
mod summary;
mod svg;
mod table;
mod write;

pub use commit::current_commit;
pub use distribution::Distribution;
pub use html::{html, SampleRun};
pub use markdown::markdown;
pub use metrics::SeedMetrics;
pub use summary::{
    AntiEntropy, CheckerVerdict, Coverage, FailingSeed, Protection, Replication, ScenarioSummary,
    StalenessSummary, Summary, Totals, SCHEMA_VERSION,
};
pub use table::table;
pub use write::{summary_json, timings_json, write_file, write_report, ReportError};

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
