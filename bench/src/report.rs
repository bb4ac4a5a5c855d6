//! Renders the single markdown results table plus the settings and machine
//! lines that make a run comparable with another one.

use std::fmt::Write as _;
use std::process::Command;

use crate::load::Summary;
use crate::server::parse_status_kb;

/// One scenario's line in the table.
pub struct Row {
    pub scenario: String,
    pub result: RowResult,
    /// Peak `VmRSS` of the server during the scenario; `None` when not spawned by us.
    pub rss_kb: Option<u64>,
}

pub enum RowResult {
    Measured(Summary),
    /// Validation failed; no numbers are shown, the reason goes under the table.
    Failed(String),
}

/// Everything printed in the settings line.
pub struct Settings {
    pub connections: usize,
    pub duration_secs: u64,
    pub warmup_secs: u64,
    pub tier: String,
    pub db_kind: String,
    pub commit: Option<String>,
    pub seed_secs: Option<f64>,
    /// `VmHWM` of the server at the end of the run.
    pub peak_rss_kb: Option<u64>,
}

/// The host the numbers came from.
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: Option<String>,
    pub mem_total_kb: Option<u64>,
}

const NA: &str = "n/a";

fn mb(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map_or_else(|| NA.to_string(), f)
}

pub fn render_table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | SQL/req | server RSS MB |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in rows {
        let rss = opt(row.rss_kb, mb);
        let cells = match &row.result {
            RowResult::Measured(s) => {
                let [p50, p95, p99] = match s.percentiles_ms {
                    Some(p) => p.map(|v| format!("{v:.2}")),
                    None => [NA, NA, NA].map(String::from),
                };
                let sql = opt(s.sql_median, |n| n.to_string());
                [
                    format!("{:.1}", s.req_per_s),
                    p50,
                    p95,
                    p99,
                    s.errors.to_string(),
                    sql,
                    rss,
                ]
            }
            RowResult::Failed(_) => {
                let mut cells = [NA, NA, NA, NA, NA, NA, NA].map(String::from);
                cells[0] = "FAILED".into();
                cells
            }
        };
        // Writing to a String cannot fail.
        let _ = writeln!(out, "| {} | {} |", row.scenario, cells.join(" | "));
    }
    out
}

/// Error details go under the table: a failed validation or the first error
/// seen during the measured window.
pub fn render_errors(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows {
        let detail = match &row.result {
            RowResult::Failed(why) => Some(format!("validation failed: {why}")),
            RowResult::Measured(s) => s.first_error.as_ref().map(|e| format!("first error: {e}")),
        };
        if let Some(d) = detail {
            let _ = writeln!(out, "- {}: {}", row.scenario, d.replace('\n', " "));
        }
    }
    out
}

pub fn render_settings(s: &Settings, m: &Machine) -> String {
    let mut settings = format!(
        "settings: connections={}, duration={}s, warmup={}s, tier={}, db={}, commit={}",
        s.connections,
        s.duration_secs,
        s.warmup_secs,
        s.tier,
        s.db_kind,
        s.commit.as_deref().unwrap_or("unknown"),
    );
    if let Some(secs) = s.seed_secs {
        let _ = write!(settings, ", seed={secs:.1}s");
    }
    let peak = opt(s.peak_rss_kb, |kb| format!("{} MB", mb(kb)));
    let _ = write!(settings, ", server peak RSS (VmHWM)={peak}");
    let memory = opt(m.mem_total_kb, |kb| {
        format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0)
    });
    let machine = format!(
        "machine: nproc={}, cpu={}, memory={}",
        m.nproc,
        m.cpu_model.as_deref().unwrap_or("unknown"),
        memory,
    );
    format!("{settings}\n{machine}\n")
}

/// The full block printed to stdout and appended to `--output`.
pub fn render(rows: &[Row], settings: &Settings, machine: &Machine) -> String {
    let mut out = render_table(rows);
    out.push('\n');
    out.push_str(&render_settings(settings, machine));
    let errors = render_errors(rows);
    if !errors.is_empty() {
        out.push('\n');
        out.push_str(&errors);
    }
    out
}

/// First `model name` in `/proc/cpuinfo` text (x86); ARM kernels may lack it.
pub fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_string())
    })
}

pub fn machine() -> Machine {
    Machine {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model: std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| parse_cpu_model(&t)),
        mem_total_kb: std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| parse_status_kb(&t, "MemTotal")),
    }
}

/// Short commit hash of the working tree, if this is a git checkout with commits.
pub fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !hash.is_empty()).then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured() -> Row {
        Row {
            scenario: "point".into(),
            result: RowResult::Measured(Summary {
                req_per_s: 12345.678,
                percentiles_ms: Some([0.5, 1.234, 9.999]),
                errors: 0,
                sql_median: Some(2),
                first_error: None,
            }),
            rss_kb: Some(51_200),
        }
    }

    #[test]
    fn table_rows_are_formatted() {
        let failed = Row {
            scenario: "plant".into(),
            result: RowResult::Failed("field `workshops` is null".into()),
            rss_kb: Some(1),
        };
        let no_sql = Row {
            scenario: "series".into(),
            result: RowResult::Measured(Summary {
                req_per_s: 0.0,
                percentiles_ms: None,
                errors: 7,
                sql_median: None,
                first_error: Some("HTTP 500:\nboom".into()),
            }),
            rss_kb: None,
        };
        let table = render_table(&[measured(), failed, no_sql]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines,
            [
                "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | SQL/req | server RSS MB |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
                "| point | 12345.7 | 0.50 | 1.23 | 10.00 | 0 | 2 | 50.0 |",
                "| plant | FAILED | n/a | n/a | n/a | n/a | n/a | n/a |",
                "| series | 0.0 | n/a | n/a | n/a | 7 | n/a | n/a |",
            ]
        );
    }

    #[test]
    fn full_report_has_settings_machine_and_errors() {
        let failed = Row {
            scenario: "line".into(),
            result: RowResult::Failed("HTTP 400".into()),
            rss_kb: None,
        };
        let settings = Settings {
            connections: 16,
            duration_secs: 20,
            warmup_secs: 3,
            tier: "M".into(),
            db_kind: "postgres".into(),
            commit: Some("abc1234".into()),
            seed_secs: Some(4.31),
            peak_rss_kb: Some(2048),
        };
        let machine = Machine {
            nproc: 8,
            cpu_model: Some("Test CPU".into()),
            mem_total_kb: Some(16 * 1024 * 1024),
        };
        let text = render(&[measured(), failed], &settings, &machine);
        assert!(text.contains(
            "settings: connections=16, duration=20s, warmup=3s, tier=M, db=postgres, \
             commit=abc1234, seed=4.3s, server peak RSS (VmHWM)=2.0 MB\n"
        ));
        assert!(text.contains("machine: nproc=8, cpu=Test CPU, memory=16.0 GiB\n"));
        assert!(text.ends_with("- line: validation failed: HTTP 400\n"));
    }

    #[test]
    fn cpu_model_is_read_from_cpuinfo() {
        let info = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) \
                    CPU @ 2.20GHz\nmodel name\t: other\n";
        assert_eq!(
            parse_cpu_model(info).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        assert_eq!(parse_cpu_model("processor : 0\n"), None);
    }
}
