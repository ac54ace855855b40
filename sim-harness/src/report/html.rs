//! `report.html`: one self-contained page (inline CSS and SVG, no script, nothing fetched).

use std::fmt::Write as _;

use super::summary::Summary;
use super::svg::{convergence_dots, escape, protection_timeline, registry_sizes};
use super::table::table;
use crate::probe::Timeline;
use crate::suite::SeedOutcome;

/// The seed whose timelines the page shows.
#[derive(Clone, Debug)]
pub struct SampleRun<'a> {
    /// Its scenario.
    pub scenario: &'a str,
    /// Its seed.
    pub seed: u64,
    /// Its timeline.
    pub timeline: &'a Timeline,
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:960px;color:#222}\
pre{background:#f6f6f6;padding:1em;overflow:auto}h2{margin-top:1.6em}\
.gap{color:#b00}svg.plot{display:block;margin:0.5em 0;background:#fff;border:1px solid #ccc}";

/// The page for `summary`, with per-seed convergence from `outcomes` and `sample`'s timelines.
pub(super) fn html(
    summary: &Summary,
    outcomes: &[SeedOutcome],
    sample: Option<&SampleRun<'_>>,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Chaos suite report</title><style>{STYLE}</style></head><body>\n<h1>Chaos suite report</h1>\n<p>commit <code>{}</code></p>\n<pre>{}</pre>\n",
        escape(&summary.commit),
        escape(&table(summary))
    );
    let rows: Vec<(String, Vec<Option<f64>>)> = summary
        .scenarios
        .keys()
        .map(|name| {
            let values = outcomes
                .iter()
                .filter(|o| &o.scenario == name)
                .map(|o| o.metrics.convergence.map(|d| d.as_secs_f64()))
                .collect();
            (name.clone(), values)
        })
        .collect();
    let _ = write!(
        out,
        "<h2>Convergence time per scenario</h2>\n<p>One dot per seed: seconds from the heal until the up core agreed (× never).</p>\n{}\n",
        convergence_dots(&rows)
    );
    match sample {
        Some(run) => {
            let _ = write!(
                out,
                "<h2>Protection mode per node: {} seed {}</h2>\n{}\n<h2>Registry size per node: {} seed {}</h2>\n{}\n",
                escape(run.scenario),
                run.seed,
                protection_timeline(run.timeline),
                escape(run.scenario),
                run.seed,
                registry_sizes(run.timeline)
            );
        }
        None => out.push_str("<p>No sample run: no timelines.</p>\n"),
    }
    out.push_str("<h2>Coverage gaps</h2>\n<ul>\n");
    if summary.coverage.gaps.is_empty() {
        out.push_str("<li>none</li>\n");
    }
    for gap in &summary.coverage.gaps {
        let _ = writeln!(out, "<li class=\"gap\">never reached: {}</li>", escape(gap));
    }
    out.push_str("</ul>\n</body></html>\n");
    out
}
