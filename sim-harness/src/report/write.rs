//! Writing a report directory.

use std::path::{Path, PathBuf};

use super::html::{html, SampleRun};
use super::markdown::markdown;
use super::summary::Summary;
use crate::suite::SeedOutcome;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report directory could not be created.
    #[error("cannot create the report directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A report file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The summary could not be encoded as JSON.
    #[error("cannot encode the summary as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// `summary.json` as written: pretty-printed, keys in a fixed order, a final newline.
pub fn summary_json(summary: &Summary) -> Result<String, ReportError> {
    Ok(serde_json::to_string_pretty(summary)? + "\n")
}

/// The wall-clock figures of a suite (the only report file that differs between runs).
pub fn timings_json(runs: usize, wall_seconds: f64) -> String {
    let per_second = runs as f64 / wall_seconds.max(1e-9);
    format!(
        "{{\n  \"runs\": {runs},\n  \"wall_seconds\": {wall_seconds:.3},\n  \"runs_per_second\": {per_second:.3}\n}}\n"
    )
}

/// Writes `summary.json`, `summary.md` and `report.html` into `dir` (created if needed);
/// returns the files written.
pub fn write_report(
    dir: &Path,
    summary: &Summary,
    outcomes: &[SeedOutcome],
    sample: Option<&SampleRun<'_>>,
) -> Result<Vec<PathBuf>, ReportError> {
    let files = [
        ("summary.json", summary_json(summary)?),
        ("summary.md", markdown(summary)),
        ("report.html", html(summary, outcomes, sample)),
    ];
    files
        .iter()
        .map(|(name, text)| write_file(dir, name, text))
        .collect()
}

/// Writes `text` to `dir/name`, creating `dir`.
pub fn write_file(dir: &Path, name: &str, text: &str) -> Result<PathBuf, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|source| ReportError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unwritable_directory_is_named() {
        let blocker = tempfile::NamedTempFile::new().expect("a temp file");
        let dir = blocker.path().join("latest");
        let err = write_file(&dir, "summary.md", "x").expect_err("a file blocks the directory");
        assert!(
            err.to_string().contains(&dir.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn timings_are_figures_per_second() {
        let text = timings_json(10, 4.0);
        assert!(text.contains("\"runs_per_second\": 2.500"), "{text}");
    }
}
