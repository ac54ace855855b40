//! Three small SVG plots for `report.html`, written by hand (no plotting library, nothing
//! fetched): a dot plot of convergence times per scenario, a protection-mode timeline per
//! node, and a registry-size line per node.

use std::fmt::Write as _;

use crate::probe::Timeline;

const WIDTH: f64 = 900.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 60.0;
const PALETTE: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// A color per node.
fn color(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// Escapes text for HTML and SVG.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An x axis from 0 to `max` seconds along the bottom at `y`.
fn axis(out: &mut String, y: f64, max_s: f64, label: &str) {
    let plot = WIDTH - LEFT - RIGHT;
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#444"/>"##,
        WIDTH - RIGHT
    );
    for tick in 0..=4 {
        let x = LEFT + plot * tick as f64 / 4.0;
        let value = max_s * tick as f64 / 4.0;
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{y}" x2="{x:.1}" y2="{:.1}" stroke="#444"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11">{value:.0}</text>"##,
            y + 4.0,
            y + 16.0
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"#,
        LEFT + plot / 2.0,
        y + 32.0,
        escape(label)
    );
}

/// Convergence seconds per seed, one row per scenario; runs that never converged are drawn as
/// red crosses in a `never` column at the right.
pub(super) fn convergence_dots(rows: &[(String, Vec<Option<f64>>)]) -> String {
    let row_h = 22.0;
    let height = 20.0 + row_h * rows.len() as f64 + 45.0;
    let max_s = rows
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(1.0f64, |m, v| m.max(*v));
    let plot = WIDTH - LEFT - RIGHT;
    let mut out = format!(
        r#"<svg class="plot" id="convergence" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">"#
    );
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="14" font-size="11" text-anchor="middle">never</text>"#,
        WIDTH - RIGHT / 2.0
    );
    for (i, (name, values)) in rows.iter().enumerate() {
        let y = 20.0 + row_h * (i as f64 + 0.5);
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12">{}</text><line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/>"##,
            LEFT - 8.0,
            y + 4.0,
            escape(name),
            WIDTH - RIGHT
        );
        for value in values {
            match value {
                Some(s) => {
                    let x = LEFT + plot * s / max_s;
                    let _ = write!(
                        out,
                        r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#1f77b4" fill-opacity="0.5"><title>{s:.0} s</title></circle>"##
                    );
                }
                None => {
                    let x = WIDTH - RIGHT / 2.0;
                    let _ = write!(
                        out,
                        r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#d62728" font-size="14">&#215;</text>"##,
                        y + 5.0
                    );
                }
            }
        }
    }
    axis(
        &mut out,
        20.0 + row_h * rows.len() as f64,
        max_s,
        "seconds after the heal",
    );
    out.push_str("</svg>");
    out
}

/// One row per node: grey where it was down, red where it was protected.
pub(super) fn protection_timeline(timeline: &Timeline) -> String {
    let nodes = timeline.samples.first().map_or(0, |(_, n)| n.len());
    let row_h = 24.0;
    let height = 10.0 + row_h * nodes as f64 + 45.0;
    let end_s = end_seconds(timeline);
    let plot = WIDTH - LEFT - RIGHT;
    let step = timeline.every.as_secs_f64();
    let mut out = format!(
        r#"<svg class="plot" id="protection" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">"#
    );
    for node in 0..nodes {
        let y = 10.0 + row_h * node as f64;
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12">node {node}</text><rect x="{LEFT}" y="{:.1}" width="{plot:.1}" height="{:.1}" fill="#e8f3e8"/>"##,
            LEFT - 8.0,
            y + 16.0,
            y + 3.0,
            row_h - 6.0
        );
        for (at, samples) in &timeline.samples {
            let sample = samples[node];
            let fill = match (sample.up, sample.protected) {
                (false, _) => "#999",
                (true, true) => "#d62728",
                (true, false) => continue,
            };
            let x = LEFT + plot * at.as_nanos() as f64 / 1e9 / end_s;
            // A little wider than one step so neighbouring samples join without seams; never
            // past the end of the axis.
            let w = (plot * step / end_s + 0.6).min(WIDTH - RIGHT - x).max(0.5);
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="{w:.2}" height="{:.1}" fill="{fill}"/>"#,
                y + 3.0,
                row_h - 6.0
            );
        }
    }
    axis(
        &mut out,
        10.0 + row_h * nodes as f64,
        end_s,
        "seconds into the run (red: protected, grey: down)",
    );
    out.push_str("</svg>");
    out
}

/// One line per node: the instances it held at each sample (zero while down).
pub(super) fn registry_sizes(timeline: &Timeline) -> String {
    let nodes = timeline.samples.first().map_or(0, |(_, n)| n.len());
    let height = 260.0;
    let top = 10.0;
    let bottom = height - 45.0;
    let end_s = end_seconds(timeline);
    let max = timeline
        .samples
        .iter()
        .flat_map(|(_, n)| n.iter().map(|s| s.instances))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let plot = WIDTH - LEFT - RIGHT;
    let mut out = format!(
        r#"<svg class="plot" id="registry-size" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">"#
    );
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{bottom}" stroke="#444"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{max:.0}</text><text x="{:.1}" y="{bottom:.1}" text-anchor="end" font-size="11">0</text>"##,
        LEFT - 6.0,
        top + 10.0,
        LEFT - 6.0
    );
    for node in 0..nodes {
        let points: Vec<String> = timeline
            .samples
            .iter()
            .map(|(at, samples)| {
                let x = LEFT + plot * at.as_nanos() as f64 / 1e9 / end_s;
                let y = bottom - (bottom - top) * samples[node].instances as f64 / max;
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/><text x="{:.1}" y="{:.1}" font-size="11" fill="{}">node {node}</text>"#,
            color(node),
            points.join(" "),
            LEFT - 80.0,
            top + 40.0 + 14.0 * node as f64,
            color(node)
        );
    }
    axis(
        &mut out,
        bottom,
        end_s,
        "seconds into the run (instances held per node)",
    );
    out.push_str("</svg>");
    out
}

fn end_seconds(timeline: &Timeline) -> f64 {
    timeline
        .samples
        .last()
        .map_or(1.0, |(at, _)| (at.as_nanos() as f64 / 1e9).max(1.0))
}
