//! The protection timeline: an inline SVG of the renew windows closed in the last hour. Each
//! window is a bar of the renews it counted; the threshold is a line over the bars; windows
//! in which the node was protected are shaded. Axis: one hour ago on the left, now on the
//! right.

use std::fmt::Write;

use super::history::{MAX_WINDOWS, TIMELINE_MS};
use super::model::WindowView;

const WIDTH: f64 = 600.0;
/// The plot's height; the axis labels sit below it.
const PLOT: f64 = 80.0;
const HEIGHT: f64 = 96.0;

/// The `<svg id="protection-timeline">` for `windows` (oldest first), each `window_ms` long,
/// as seen at `now_unix_ms`.
pub(crate) fn svg(windows: &[WindowView], window_ms: i64, now_unix_ms: i64) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        r#"<svg id="protection-timeline" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="renews per window in the last hour, against the threshold; shaded: protected" data-windows="{}">"#,
        windows.len()
    );
    let _ = write!(
        out,
        r#"<rect class="plot" x="0" y="0" width="{WIDTH}" height="{PLOT}"/>"#
    );
    let span = span_ms(window_ms);
    let start = now_unix_ms.saturating_sub(span);
    let x_of = |ms: i64| ms.saturating_sub(start).clamp(0, span) as f64 * WIDTH / span as f64;
    let scale = windows
        .iter()
        .map(|w| w.renews.max(w.expected))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let y_of = |value: u64| PLOT - value as f64 * (PLOT - 4.0) / scale;
    let mut threshold = Vec::with_capacity(windows.len());
    for w in windows {
        let (left, right) = (
            x_of(w.closed_unix_ms.saturating_sub(window_ms)),
            x_of(w.closed_unix_ms),
        );
        let width = (right - left - 0.5).max(1.0);
        if w.protected {
            let _ = write!(
                out,
                r#"<rect class="protected" x="{left:.1}" y="0" width="{width:.1}" height="{PLOT}"/>"#
            );
        }
        let top = y_of(w.renews);
        let _ = write!(
            out,
            r#"<rect class="renews" x="{left:.1}" y="{top:.1}" width="{width:.1}" height="{:.1}"><title>{} renews of {} expected, threshold {}{}</title></rect>"#,
            PLOT - top,
            w.renews,
            w.expected,
            w.threshold,
            if w.protected { ", protected" } else { "" }
        );
        threshold.push(format!(
            "{left:.1},{y:.1} {right:.1},{y:.1}",
            y = y_of(w.threshold)
        ));
    }
    if !threshold.is_empty() {
        let _ = write!(
            out,
            r#"<polyline class="threshold" points="{}"/>"#,
            threshold.join(" ")
        );
    } else {
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle">no renew window has closed yet</text>"#,
            WIDTH / 2.0,
            PLOT / 2.0
        );
    }
    let _ = write!(
        out,
        r#"<text x="0" y="{HEIGHT}" class="axis">{} ago</text><text x="{WIDTH}" y="{HEIGHT}" class="axis" text-anchor="end">now</text></svg>"#,
        span_label(span)
    );
    out
}

/// The time the axis spans: an hour, or all the history can hold if that is less.
fn span_ms(window_ms: i64) -> i64 {
    let held = window_ms.saturating_mul(MAX_WINDOWS as i64);
    held.clamp(1, TIMELINE_MS)
}

fn span_label(span_ms: i64) -> String {
    if span_ms >= TIMELINE_MS {
        "1 h".to_string()
    } else if span_ms >= 120_000 {
        format!("{} min", span_ms / 60_000)
    } else {
        format!("{} s", span_ms / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(closed_unix_ms: i64, renews: u64, protected: bool) -> WindowView {
        WindowView {
            closed_unix_ms,
            renews,
            expected: 10,
            threshold: 8,
            protected,
        }
    }

    #[test]
    fn each_window_is_a_bar_and_protected_windows_are_shaded() {
        let now = 10 * TIMELINE_MS;
        let windows = [
            window(now - 120_000, 10, false),
            window(now - 60_000, 4, true),
            window(now, 9, false),
        ];
        let svg = svg(&windows, 60_000, now);
        assert_eq!(svg.matches(r#"<rect class="renews""#).count(), 3);
        assert_eq!(svg.matches(r#"<rect class="protected""#).count(), 1);
        assert_eq!(svg.matches("<polyline").count(), 1);
        // The last window ends at the right edge: 9 renews of a scale of 10.
        assert!(
            svg.contains(r#"<rect class="renews" x="590.0" y="11.6" width="9.5" height="68.4">"#),
            "{svg}"
        );
        assert!(svg.contains(">1 h ago<"));
        assert!(svg.contains("4 renews of 10 expected, threshold 8, protected"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn short_windows_shrink_the_axis_to_what_the_history_holds() {
        // 2-second windows: 240 of them span 8 minutes.
        let svg = svg(&[window(100_000, 5, false)], 2000, 100_000);
        assert!(svg.contains(">8 min ago<"), "{svg}");
        assert!(
            svg.contains(r#"x="597.5" "#),
            "a bar 2.5 wide at the right edge: {svg}"
        );
        assert_eq!(span_label(30_000), "30 s");
        assert_eq!(span_ms(0), 1, "never a division by zero");
    }

    #[test]
    fn without_windows_it_says_so() {
        let svg = svg(&[], 60_000, 0);
        assert!(svg.contains("no renew window has closed yet"));
        assert!(!svg.contains("<polyline"));
        assert!(svg.contains(r#"data-windows="0""#));
    }

    #[test]
    fn windows_outside_the_hour_and_huge_counts_stay_inside_the_plot() {
        let now = 5 * TIMELINE_MS;
        let windows = [
            window(now - 2 * TIMELINE_MS, u64::MAX, true),
            window(now, 0, false),
        ];
        let svg = svg(&windows, i64::MAX, now);
        for number in svg
            .split(['"', ' ', ','])
            .filter_map(|s| s.parse::<f64>().ok())
        {
            assert!((0.0..=WIDTH).contains(&number), "{number} in {svg}");
        }
    }
}
