//! The commit a report describes.

use std::path::Path;
use std::process::Command;

/// `git rev-parse HEAD` run in `dir`, or `unknown` when git or the repository is missing.
pub fn current_commit(dir: &Path) -> String {
    Command::new("git")
        .arg("rev-parse")
        .arg("HEAD")
        .current_dir(dir)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}
