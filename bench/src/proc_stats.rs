//! The server's CPU time and resident memory, read from `/proc`.

use std::time::Duration;

/// CPU time the process `pid` has run so far, summed over its threads.
///
/// Each thread's `/proc/<pid>/task/<tid>/schedstat` counts nanoseconds; `/proc/<pid>/stat`
/// counts clock ticks (10 ms), too coarse for a fan-out that costs tens of milliseconds.
/// Threads that exited are lost from the sum, so compare readings taken while the server's
/// threads live (tokio keeps its workers for the life of the runtime).
pub(crate) fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return cpu_time_from_stat(pid);
    };
    let mut nanos: u64 = 0;
    for task in tasks.flatten() {
        let path = task.path().join("schedstat");
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        nanos += text
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    if nanos == 0 {
        return cpu_time_from_stat(pid);
    }
    Duration::from_nanos(nanos)
}

/// `utime + stime` from `/proc/<pid>/stat`, for kernels without schedstat.
fn cpu_time_from_stat(pid: u32) -> Duration {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    parse_stat_ticks(&text)
        // Linux reports USER_HZ = 100 to user space on every architecture it supports.
        .map(|ticks| Duration::from_millis(ticks * 10))
        .unwrap_or_default()
}

/// `utime + stime` (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field 2)
/// may hold spaces and parentheses, so fields are counted after its last `)`.
fn parse_stat_ticks(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name, field 3 (state) is index 0: utime (14) is index 11, stime (15) index 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Resident memory of the process `pid` in bytes (`VmRSS` of `/proc/<pid>/status`).
pub(crate) fn rss_bytes(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    parse_vm_rss_kib(&text).unwrap_or(0) * 1024
}

/// The largest resident size the process `pid` has had, in bytes (`VmHWM`).
pub(crate) fn peak_rss_bytes(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    parse_kib(&text, "VmHWM:").unwrap_or(0) * 1024
}

fn parse_vm_rss_kib(text: &str) -> Option<u64> {
    parse_kib(text, "VmRSS:")
}

fn parse_kib(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let line = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 4 0 1 2 3";
        assert_eq!(parse_stat_ticks(line), Some(10));
    }

    #[test]
    fn vm_rss_is_read_in_kib() {
        let status = "Name:\tregistry\nVmPeak:\t 9 kB\nVmRSS:\t  113000 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss_kib(status), Some(113_000));
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let pid = std::process::id();
        assert!(rss_bytes(pid) > 0);
        let mut spin = 0u64;
        for i in 0..2_000_000u64 {
            spin = spin.wrapping_add(i * i);
        }
        assert!(spin > 0);
        assert!(cpu_time(pid) > Duration::ZERO);
    }
}
