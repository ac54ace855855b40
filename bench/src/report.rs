//! The run's JSON result and its summary table: the median of each figure over the rounds,
//! per build, and the candidate's ratio to the baseline.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::runner::{Round, PHASES};

/// One round of one build.
#[derive(Debug, Serialize)]
pub(crate) struct Record {
    /// `baseline` or `candidate`.
    pub(crate) build: String,
    /// The server binary (or address) measured.
    pub(crate) subject: String,
    /// 1-based.
    pub(crate) round: usize,
    /// The phases' results.
    pub(crate) phases: Round,
}

/// The whole run, as written to the JSON file.
#[derive(Debug, Serialize)]
pub(crate) struct Run {
    /// The command line that produced it.
    pub(crate) command: String,
    /// Every round of every build, in the order they ran.
    pub(crate) records: Vec<Record>,
    /// Per build, phase and figure: the median over the rounds.
    pub(crate) medians: BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>,
    /// Per phase and figure: candidate median / baseline median (when both builds ran).
    pub(crate) ratios: BTreeMap<String, BTreeMap<String, f64>>,
    /// Errors over all rounds (a run with errors is not a result).
    pub(crate) errors: u64,
}

/// The figures the table shows, per phase (the JSON has them all).
const SHOWN: [(&str, &[&str]); 6] = [
    (
        "register",
        &["req_per_s", "p99_ms", "server_cpu_us_per_req"],
    ),
    (
        "memory",
        &[
            "rss_10k_mb",
            "rss_all_mb",
            "bytes_per_instance",
            "rss_peak_fetch_all_mb",
            "fetch_all_left_behind_mb",
        ],
    ),
    (
        "renew",
        &["req_per_s", "p50_ms", "p99_ms", "server_cpu_us_per_req"],
    ),
    (
        "fetch",
        &["req_per_s", "p50_ms", "p99_ms", "server_cpu_us_per_req"],
    ),
    (
        "fanout",
        &[
            "p50_ms",
            "p99_ms",
            "max_ms",
            "server_cpu_us_per_poller",
            "server_cpu_us_per_poller_median_write",
        ],
    ),
    ("visibility", &["p50_ms", "p99_ms", "max_ms"]),
];

impl Run {
    /// Computes medians, ratios and the error count of `records`.
    pub(crate) fn new(command: String, records: Vec<Record>) -> Run {
        let mut samples: BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<f64>>>> =
            BTreeMap::new();
        let mut errors = 0;
        for record in &records {
            for (phase, result) in &record.phases {
                errors += result.errors;
                for (figure, value) in &result.figures {
                    samples
                        .entry(record.build.clone())
                        .or_default()
                        .entry(phase.clone())
                        .or_default()
                        .entry(figure.to_string())
                        .or_default()
                        .push(*value);
                }
            }
        }
        let medians: BTreeMap<_, BTreeMap<_, BTreeMap<_, f64>>> = samples
            .into_iter()
            .map(|(build, phases)| {
                let phases = phases
                    .into_iter()
                    .map(|(phase, figures)| {
                        let figures = figures
                            .into_iter()
                            .map(|(figure, mut values)| (figure, median(&mut values)))
                            .collect();
                        (phase, figures)
                    })
                    .collect();
                (build, phases)
            })
            .collect();
        let ratios = ratios(&medians);
        Run {
            command,
            records,
            medians,
            ratios,
            errors,
        }
    }

    /// The summary as a Markdown table.
    pub(crate) fn table(&self) -> String {
        let builds: Vec<&String> = self.medians.keys().collect();
        let mut out = String::from("| phase | figure |");
        for build in &builds {
            out.push_str(&format!(" {build} |"));
        }
        if !self.ratios.is_empty() {
            out.push_str(" candidate / baseline |");
        }
        out.push('\n');
        out.push_str(&"|---".repeat(2 + builds.len() + usize::from(!self.ratios.is_empty())));
        out.push_str("|\n");
        for (phase, figures) in SHOWN.iter().filter(|(p, _)| PHASES.contains(p)) {
            for figure in figures.iter() {
                let values: Vec<Option<f64>> = builds
                    .iter()
                    .map(|b| self.medians[*b].get(*phase)?.get(*figure).copied())
                    .collect();
                if values.iter().all(Option::is_none) {
                    continue;
                }
                out.push_str(&format!("| {phase} | {figure} |"));
                for value in values {
                    out.push_str(&format!(
                        " {} |",
                        value.map(format_figure).unwrap_or_default()
                    ));
                }
                if let Some(ratio) = self.ratios.get(*phase).and_then(|f| f.get(*figure)) {
                    out.push_str(&format!(" {ratio:.2}x |"));
                } else if !self.ratios.is_empty() {
                    out.push_str(" |");
                }
                out.push('\n');
            }
        }
        out
    }
}

fn ratios(
    medians: &BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>,
) -> BTreeMap<String, BTreeMap<String, f64>> {
    let (Some(base), Some(cand)) = (medians.get("baseline"), medians.get("candidate")) else {
        return BTreeMap::new();
    };
    let mut ratios: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for (phase, figures) in cand {
        for (figure, value) in figures {
            if let Some(base) = base.get(phase).and_then(|f| f.get(figure)) {
                if *base != 0.0 {
                    ratios
                        .entry(phase.clone())
                        .or_default()
                        .insert(figure.clone(), value / base);
                }
            }
        }
    }
    ratios
}

/// The median (the mean of the middle two for an even count) of non-empty `values`.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

fn format_figure(value: f64) -> String {
    if value >= 1000.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::PhaseResult;

    fn record(build: &str, round: usize, req_per_s: f64) -> Record {
        let mut fetch = PhaseResult::default();
        fetch.figures.insert("req_per_s", req_per_s);
        Record {
            build: build.into(),
            subject: String::new(),
            round,
            phases: [("fetch".to_string(), fetch)].into(),
        }
    }

    #[test]
    fn ratio_of_medians_per_figure() {
        let run = Run::new(
            String::new(),
            vec![
                record("baseline", 1, 100.0),
                record("candidate", 1, 300.0),
                record("baseline", 2, 120.0),
                record("candidate", 2, 280.0),
            ],
        );
        assert_eq!(run.medians["baseline"]["fetch"]["req_per_s"], 110.0);
        assert_eq!(run.ratios["fetch"]["req_per_s"], 290.0 / 110.0);
        assert!(run
            .table()
            .contains("| fetch | req_per_s | 110.0 | 290.0 | 2.64x |"));
    }

    #[test]
    fn errors_are_counted_over_every_round() {
        let mut bad = record("candidate", 1, 1.0);
        if let Some(fetch) = bad.phases.get_mut("fetch") {
            fetch.errors = 3;
        }
        assert_eq!(Run::new(String::new(), vec![bad]).errors, 3);
    }
}
