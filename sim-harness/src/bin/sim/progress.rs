//! Progress of a long `sim run` on stderr (stdout stays the summary): seeds done, seeds per
//! second and the time left. On a terminal it is one live line; otherwise (CI logs, `kubectl
//! logs`, a file) a plain line every [`EVERY`], so a log shows a sweep is alive without a
//! line per seed. Wall-clock only: nothing here reaches a report.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a plain progress line is written when stderr is not a terminal.
pub(crate) const EVERY: Duration = Duration::from_secs(10);

/// A suite's progress.
pub(crate) struct Progress {
    total: u64,
    started: Instant,
    done: AtomicU64,
    output: Output,
}

enum Output {
    /// A terminal: a live bar whose message is [`line`].
    Bar(ProgressBar),
    /// Anything else: a line each time this much wall time has passed since the start.
    Lines(Mutex<Duration>),
}

impl Progress {
    /// Progress over `total` runs, drawn on a terminal if stderr is one.
    pub(crate) fn start(total: u64) -> Progress {
        let output = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:20}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Output::Bar(bar)
        } else {
            Output::Lines(Mutex::new(EVERY))
        };
        Progress {
            total,
            started: Instant::now(),
            done: AtomicU64::new(0),
            output,
        }
    }

    /// One more run finished (from any worker thread).
    pub(crate) fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let elapsed = self.started.elapsed();
        match &self.output {
            Output::Bar(bar) => {
                bar.set_position(done);
                bar.set_message(line(done, self.total, elapsed));
            }
            Output::Lines(next) => {
                let Ok(mut next) = next.lock() else { return };
                if elapsed >= *next && done < self.total {
                    eprintln!("sim: {}", line(done, self.total, elapsed));
                    // The next line one period after this one, however late this one came.
                    *next = elapsed + EVERY;
                }
            }
        }
    }

    /// Prints `text` on its own line (above the bar on a terminal).
    pub(crate) fn println(&self, text: &str) {
        match &self.output {
            Output::Bar(bar) => bar.println(text),
            Output::Lines(_) => eprintln!("{text}"),
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Output::Bar(bar) = &self.output {
            bar.finish_and_clear();
        }
    }
}

/// `1234/5000 seeds (24 %), 27.1 seeds/s, ETA 2 min 19 s`.
fn line(done: u64, total: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        done as f64 / seconds
    } else {
        0.0
    };
    let eta = if rate > 0.0 {
        duration(((total - done.min(total)) as f64 / rate).round() as u64)
    } else {
        "unknown".to_string()
    };
    let percent = done * 100 / total.max(1);
    format!("{done}/{total} seeds ({percent} %), {rate:.1} seeds/s, ETA {eta}")
}

/// `45 s`, `2 min 19 s`, `3 h 05 min`.
fn duration(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {:02} min", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_the_count_the_rate_and_the_time_left() {
        let text = line(250, 1000, Duration::from_secs(10));
        assert_eq!(text, "250/1000 seeds (25 %), 25.0 seeds/s, ETA 30 s");
        assert!(line(0, 10, Duration::ZERO).ends_with("ETA unknown"));
        assert!(line(10, 10, Duration::from_secs(1)).ends_with("ETA 0 s"));
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(59), "59 s");
        assert_eq!(duration(139), "2 min 19 s");
        assert_eq!(duration(3 * 3600 + 5 * 60 + 9), "3 h 05 min");
    }
}
