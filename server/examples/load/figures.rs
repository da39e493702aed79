//! Figures the benchmarks measured, and the goal table `scripts/bench.sh` ends with.
//!
//! Every mode of this generator, and the scripts (`figure` in scripts/setup.sh), append
//! `name value` lines to the file named by `BENCH_FIGURES`; `load table` reads them back and
//! prints one row per goal of docs/BENCHMARKS.md: the figure, the goal and whether it is met.
//! A later line of the same name wins, so a rerun of one mode replaces its figure.

use std::{collections::HashMap, io::Write};

/// Appends one figure when `BENCH_FIGURES` names a file (a plain run prints only).
pub fn record(name: &str, value: f64) {
    let Ok(path) = std::env::var("BENCH_FIGURES") else {
        return;
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("BENCH_FIGURES={path}: {e}"));
    writeln!(f, "{name} {value}").unwrap_or_else(|e| panic!("BENCH_FIGURES={path}: {e}"));
}

pub type Figures = HashMap<String, f64>;

/// Reads `name value` lines; lines that are not are skipped.
pub fn parse(text: &str) -> Figures {
    text.lines()
        .filter_map(|l| {
            let (name, value) = l.trim().split_once(' ')?;
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Goal {
    AtLeast(f64),
    Below(f64),
    AtMost(f64),
}

impl Goal {
    fn met(self, v: f64) -> bool {
        match self {
            Goal::AtLeast(g) => v >= g,
            Goal::Below(g) => v < g,
            Goal::AtMost(g) => v <= g,
        }
    }

    fn show(self, unit: &str) -> String {
        match self {
            Goal::AtLeast(g) => format!("≥ {}{unit}", number(g)),
            Goal::Below(g) => format!("< {}{unit}", number(g)),
            Goal::AtMost(g) => format!("≤ {}{unit}", number(g)),
        }
    }
}

struct Row {
    what: &'static str,
    unit: &'static str,
    goal: Goal,
    /// The figure, from what was measured; `None` when a part was not.
    value: fn(&Figures) -> Option<f64>,
    /// What to run when the figure is missing.
    missing: &'static str,
}

fn get(f: &Figures, name: &str) -> Option<f64> {
    f.get(name).copied()
}

fn share(f: &Figures, part: &str, whole: &str) -> Option<f64> {
    Some(get(f, part)? / get(f, whole)?.max(f64::MIN_POSITIVE) * 100.0)
}

fn ratio(f: &Figures, a: &str, b: &str) -> Option<f64> {
    Some(get(f, a)? / get(f, b)?.max(f64::MIN_POSITIVE))
}

/// The goals of the performance issue, in the order docs/BENCHMARKS.md lists them.
const ROWS: &[Row] = &[
    Row {
        what: "native ingest, batches of 1000",
        unit: " calls/s",
        goal: Goal::AtLeast(50_000.0),
        value: |f| get(f, "ingest_b1000_per_s"),
        missing: "bench.sh",
    },
    Row {
        what: "native ingest, batches of 1000, share of the same-run COPY ceiling",
        unit: " %",
        goal: Goal::AtLeast(70.0),
        value: |f| share(f, "ingest_b1000_per_s", "copy_ceiling_per_s"),
        missing: "bench.sh",
    },
    Row {
        what: "native ingest, batches of 100, share of the COPY ceiling",
        unit: " %",
        goal: Goal::AtLeast(50.0),
        value: |f| share(f, "ingest_b100_per_s", "copy_ceiling_per_s"),
        missing: "bench.sh",
    },
    Row {
        what: "native ingest, batches of 100 from 16 clients, share of the COPY ceiling",
        unit: " %",
        goal: Goal::AtLeast(50.0),
        value: |f| share(f, "ingest_b100_c16_per_s", "copy_ceiling_per_s"),
        missing: "bench.sh",
    },
    Row {
        what: "OTLP spans stored per second, against Arize Phoenix in the same run",
        unit: " ×",
        goal: Goal::AtLeast(500.0),
        value: |f| ratio(f, "otlp_per_s", "phoenix_otlp_per_s"),
        missing: "BENCH_PHOENIX=1 ./scripts/bench.sh (Phoenix is not started by default)",
    },
    Row {
        what: "nothing lost: calls stored of calls acknowledged",
        unit: " %",
        goal: Goal::AtLeast(100.0),
        value: |f| share(f, "lost_stored", "lost_sent"),
        missing: "bench.sh",
    },
    Row {
        what: "proxy at concurrency 8: recorded requests per second",
        unit: " req/s",
        goal: Goal::AtLeast(10_000.0),
        value: |f| get(f, "proxy_recorded_per_s"),
        missing: "bench.sh",
    },
    Row {
        what: "proxy at concurrency 8: answered but not recorded",
        unit: " requests",
        goal: Goal::AtMost(0.0),
        value: |f| get(f, "proxy_unrecorded"),
        missing: "bench.sh",
    },
    Row {
        what: "proxy added latency, p50",
        unit: " ms",
        goal: Goal::Below(0.2),
        value: |f| get(f, "proxy_added_p50_ms"),
        missing: "bench.sh",
    },
    Row {
        what: "proxy added latency, p99",
        unit: " ms",
        goal: Goal::Below(1.0),
        value: |f| get(f, "proxy_added_p99_ms"),
        missing: "bench.sh",
    },
    Row {
        what: "Overview API, 30 days (median)",
        unit: " ms",
        goal: Goal::Below(50.0),
        value: |f| get(f, "overview_api_ms"),
        missing: "bench-analytics.sh",
    },
    Row {
        what: "analytics by model per day, 30 days (median)",
        unit: " ms",
        goal: Goal::Below(100.0),
        value: |f| get(f, "by_model_api_ms"),
        missing: "bench-analytics.sh",
    },
    Row {
        what: "sessions list, 7 days (median)",
        unit: " ms",
        goal: Goal::Below(100.0),
        value: |f| get(f, "sessions_api_ms"),
        missing: "bench-analytics.sh",
    },
    Row {
        what: "analytics by user, 30 days (median)",
        unit: " ms",
        goal: Goal::Below(100.0),
        value: |f| get(f, "by_user_api_ms"),
        missing: "bench-analytics.sh",
    },
    Row {
        what: "Overview page in Chromium: hydrated, 6 charts drawn (median)",
        unit: " ms",
        goal: Goal::Below(1000.0),
        value: |f| get(f, "overview_page_ms"),
        missing: "bench-analytics.sh",
    },
    Row {
        what: "WASM the Overview's first load downloads (main module and its page chunks), as sent to Chromium (brotli; the goal names gzip, which is larger)",
        unit: " KB",
        goal: Goal::Below(400.0),
        value: |f| get(f, "overview_wasm_kb"),
        missing: "bench-analytics.sh",
    },
    Row {
        what: "idle CPU at ~100 processes, against node_exporter",
        unit: " ×",
        goal: Goal::AtMost(1.0),
        value: |f| ratio(f, "idle_cpu_pct_100", "node_exporter_cpu_pct_100"),
        missing: "bench-system.sh",
    },
    Row {
        what: "idle CPU at 500 processes, against node_exporter",
        unit: " ×",
        goal: Goal::AtMost(1.0),
        value: |f| ratio(f, "idle_cpu_pct_500", "node_exporter_cpu_pct_500"),
        missing: "bench-system.sh",
    },
    Row {
        what: "server RSS one minute after the load",
        unit: " MiB",
        goal: Goal::Below(60.0),
        value: |f| get(f, "rss_after_idle_mib"),
        missing: "bench.sh",
    },
    Row {
        what: "soak at 5,000 calls/s for 10 minutes: RSS growth, last minute against the second",
        unit: " MiB",
        goal: Goal::AtMost(5.0),
        value: |f| Some(get(f, "soak_rss_last_mib")? - get(f, "soak_rss_second_mib")?),
        missing: "bench.sh full",
    },
];

fn number(v: f64) -> String {
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else if v.abs() >= 1.0 {
        2
    } else {
        3
    };
    let s = format!("{v:.digits$}");
    // Thousands separators on the whole part, for the large rates.
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let (sign, int) = int.strip_prefix('-').map_or(("", int), |i| ("-", i));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// The goal table as Markdown, and how many goals were measured and met.
pub fn table(f: &Figures) -> (String, usize, usize) {
    let mut out = String::from("| goal | figure | target | met |\n| --- | ---: | --- | --- |\n");
    let (mut measured, mut met) = (0, 0);
    for r in ROWS {
        let line = match (r.value)(f).filter(|v| v.is_finite()) {
            Some(v) => {
                measured += 1;
                let ok = r.goal.met(v);
                met += usize::from(ok);
                format!(
                    "| {} | {}{} | {} | {} |\n",
                    r.what,
                    number(v),
                    r.unit,
                    r.goal.show(r.unit),
                    if ok { "met" } else { "**not met**" }
                )
            }
            None => format!(
                "| {} | not measured ({}) | {} | |\n",
                r.what,
                r.missing,
                r.goal.show(r.unit)
            ),
        };
        out.push_str(&line);
    }
    if let Some(calls) = get(f, "analytics_calls") {
        out.push_str(&format!(
            "\nAnalytics rows were measured over {} stored calls.\n",
            number(calls)
        ));
    }
    (out, measured, met)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_the_last_of_a_name_and_skips_junk() {
        let f = parse("a 1\nnot a figure\nb 2.5\na 3\n\n");
        assert_eq!(f.len(), 2);
        assert_eq!(f["a"], 3.0);
        assert_eq!(f["b"], 2.5);
    }

    #[test]
    fn shares_and_ratios_decide_the_rows() {
        let f =
            parse("copy_ceiling_per_s 100000\ningest_b1000_per_s 69500\ningest_b100_per_s 51000\n");
        let (t, measured, met) = table(&f);
        assert_eq!(measured, 3);
        // 69.5 k is over 50 k (met) but 69.5 % of the ceiling (not met); 51 % is met.
        assert_eq!(met, 2);
        assert!(t.contains(
            "| native ingest, batches of 1000 | 69,500 calls/s | ≥ 50,000 calls/s | met |"
        ));
        assert!(t.contains("| 69.5 % | ≥ 70.0 % | **not met** |"));
        assert!(t.contains("not measured (bench-system.sh)"));
    }

    #[test]
    fn numbers_are_grouped_and_rounded_by_size() {
        assert_eq!(number(1234567.0), "1,234,567");
        assert_eq!(number(46.84), "46.8");
        assert_eq!(number(0.1234), "0.123");
        assert_eq!(number(-1500.0), "-1,500");
    }
}
