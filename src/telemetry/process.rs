//! Process and machine CPU and the resident set size, read from `/proc` (Linux).
//!
//! Three small files per tick rather than a system-information crate: it is all the
//! collector needs, costs microseconds, and adds no dependency. Elsewhere every value is 0.
//! `/proc` reports CPU time in `USER_HZ` ticks, 100 per second on every Linux ABI.

use std::time::Instant;

/// `USER_HZ`: the unit of CPU times in `/proc`.
const TICKS_PER_S: f64 = 100.0;

/// CPU counters at one moment.
#[derive(Clone, Copy, Debug)]
pub struct CpuSample {
    at: Instant,
    /// This process: user + system ticks.
    process: u64,
    /// The machine: busy and total ticks (all CPUs).
    busy: u64,
    total: u64,
}

/// Reads the counters now.
pub fn sample() -> CpuSample {
    let process = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| process_ticks(&s))
        .unwrap_or(0);
    let (busy, total) = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| machine_ticks(&s))
        .unwrap_or((0, 0));
    CpuSample {
        at: Instant::now(),
        process,
        busy,
        total,
    }
}

/// `(process % of one core, machine busy % of all cores)` between two samples.
pub fn cpu_percent(before: &CpuSample, after: &CpuSample) -> (f64, f64) {
    let wall = after.at.duration_since(before.at).as_secs_f64();
    let process = if wall > 0.0 {
        after.process.saturating_sub(before.process) as f64 / TICKS_PER_S / wall * 100.0
    } else {
        0.0
    };
    let total = after.total.saturating_sub(before.total);
    let machine = if total > 0 {
        after.busy.saturating_sub(before.busy) as f64 / total as f64 * 100.0
    } else {
        0.0
    };
    (process, machine)
}

/// The resident set size in bytes.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// utime + stime of `/proc/self/stat` (fields 14 and 15; the command name in field 2 may
/// hold spaces and parentheses, so fields are counted after its last `)`).
fn process_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `(busy, total)` of the `cpu` line of `/proc/stat`: idle and iowait are not busy.
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_lines_parse() {
        let stat = "1234 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1";
        assert_eq!(process_ticks(stat), Some(300));
        let cpu = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4";
        assert_eq!(machine_ticks(cpu), Some((150, 1000)));
    }

    #[test]
    fn this_process_has_a_resident_set_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(rss_bytes() > 1024 * 1024);
            let a = sample();
            assert!(a.total > 0);
        }
    }
}
