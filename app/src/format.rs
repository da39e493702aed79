//! Display formats shared by pages: money, durations, counts.

/// Micro-USD as dollars with as many decimals as the amount needs; `None` is unpriced.
pub fn usd_micros(micros: Option<i64>) -> String {
    let Some(m) = micros else {
        return "unpriced".to_owned();
    };
    let usd = m as f64 / 1_000_000.0;
    if m == 0 {
        "$0".to_owned()
    } else if usd.abs() >= 1.0 {
        format!("${usd:.2}")
    } else if usd.abs() >= 0.01 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.6}")
    }
}

/// Large counts in short form: 950, 12.3k, 4.56M.
pub fn compact(n: f64) -> String {
    let a = n.abs();
    if a >= 1e9 {
        format!("{:.2}B", n / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", n / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// A fraction as a percentage: 0.0123 -> "1.23 %".
pub fn percent(f: f64) -> String {
    if f != 0.0 && f.abs() < 0.001 {
        format!("{:.3} %", f * 100.0)
    } else {
        format!("{:.2} %", f * 100.0)
    }
}

/// A change against the previous period: "+12 %", "−3.4 %".
pub fn change(f: f64) -> String {
    let pct = f * 100.0;
    let body = if pct.abs() >= 10.0 {
        format!("{:.0} %", pct.abs())
    } else {
        format!("{:.1} %", pct.abs())
    };
    if pct >= 0.0 {
        format!("+{body}")
    } else {
        format!("\u{2212}{body}")
    }
}

/// Milliseconds as "850 ms" or "1.25 s".
pub fn millis(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// A latency that may be under a millisecond: "0.42 ms", "3.5 ms", "850 ms", "1.25 s".
pub fn latency(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        millis(ms)
    }
}

/// A Web Vital: milliseconds as [`millis`] ("850 ms", "2.50 s"), CLS (no unit) to three
/// decimals ("0.12").
pub fn vital(v: f64, unit: &str) -> String {
    if unit.is_empty() {
        plain_number((v * 1000.0).round() / 1000.0)
    } else {
        millis(v)
    }
}

/// A rate per second with the precision it needs: "0.05/s", "3.2/s", "1.2k/s".
pub fn per_second(r: f64) -> String {
    if r > 0.0 && r < 0.01 {
        "<0.01/s".to_owned()
    } else if r < 1.0 {
        format!("{r:.2}/s")
    } else if r < 100.0 {
        format!("{r:.1}/s")
    } else {
        format!("{}/s", compact(r))
    }
}

/// Thousands separated by a thin space: 1 234 567.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// The binary unit that fits `max` bytes, and its size: (1024³, "GiB").
pub fn byte_unit(max: f64) -> (f64, &'static str) {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut div = 1.0;
    let mut i = 0;
    while i + 1 < UNITS.len() && max.abs() >= div * 1024.0 {
        div *= 1024.0;
        i += 1;
    }
    (div, UNITS[i])
}

/// Bytes in the unit that fits: "512 B", "1.5 GiB".
pub fn bytes(n: f64) -> String {
    let (div, unit) = byte_unit(n);
    if div == 1.0 {
        format!("{n:.0} {unit}")
    } else {
        format!("{:.1} {unit}", n / div)
    }
}

/// A long duration in its two largest units: "3 d 4 h", "5 h 12 min", "42 s".
pub fn uptime(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{secs} s")
    }
}

/// The current time, in the browser (from its clock) and on the server alike.
/// A number as typed: at most 3 decimals, no trailing zeros (`80`, `0.5`).
pub fn plain_number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_owned()
    }
}

/// A value with its unit: `93.5 %`, `1.2 s`, `42 °C`, `3 calls`.
pub fn with_unit(v: f64, unit: &str) -> String {
    let n = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        plain_number((v * 10.0).round() / 10.0)
    } else {
        plain_number((v * 1000.0).round() / 1000.0)
    };
    match unit {
        "" => n,
        "B/s" => format!("{}/s", bytes(v)),
        u => format!("{n} {u}"),
    }
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    #[cfg(feature = "hydrate")]
    let millis = js_sys::Date::now() as i64;
    #[cfg(not(feature = "hydrate"))]
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vitals_read_in_their_unit() {
        assert_eq!(vital(850.0, "ms"), "850 ms");
        assert_eq!(vital(2500.0, "ms"), "2.50 s");
        assert_eq!(vital(0.1234, ""), "0.123");
        assert_eq!(vital(0.0, ""), "0");
    }

    #[test]
    fn latencies_and_rates_keep_the_digits_that_matter() {
        assert_eq!(latency(0.4213), "0.42 ms");
        assert_eq!(latency(3.51), "3.5 ms");
        assert_eq!(latency(850.0), "850 ms");
        assert_eq!(latency(1250.0), "1.25 s");
        assert_eq!(per_second(0.05), "0.05/s");
        assert_eq!(per_second(0.001), "<0.01/s");
        assert_eq!(per_second(0.0), "0.00/s");
        assert_eq!(per_second(3.21), "3.2/s");
        assert_eq!(per_second(12_345.0), "12.3k/s");
    }

    #[test]
    fn bytes_and_uptime_read_naturally() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0 * 1024.0 * 1024.0), "1.5 GiB");
        assert_eq!(byte_unit(3.0 * 1024.0 * 1024.0), (1024.0 * 1024.0, "MiB"));
        assert_eq!(uptime(3 * 86_400 + 4 * 3600 + 5), "3 d 4 h");
        assert_eq!(uptime(5 * 3600 + 12 * 60), "5 h 12 min");
        assert_eq!(uptime(42), "42 s");
    }

    #[test]
    fn compact_percent_and_change() {
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(12_345.0), "12.3k");
        assert_eq!(compact(4_560_000.0), "4.56M");
        assert_eq!(percent(0.0123), "1.23 %");
        assert_eq!(change(0.12), "+12 %");
        assert_eq!(change(-0.034), "\u{2212}3.4 %");
    }

    #[test]
    fn money_keeps_meaningful_digits() {
        assert_eq!(usd_micros(None), "unpriced");
        assert_eq!(usd_micros(Some(0)), "$0");
        assert_eq!(usd_micros(Some(315)), "$0.000315");
        assert_eq!(usd_micros(Some(12_345)), "$0.0123");
        assert_eq!(usd_micros(Some(1_234_567)), "$1.23");
    }

    #[test]
    fn durations_and_counts() {
        assert_eq!(millis(850.0), "850 ms");
        assert_eq!(millis(1250.0), "1.25 s");
        assert_eq!(count(1_234_567), "1\u{2009}234\u{2009}567");
        assert_eq!(count(999), "999");
        assert_eq!(count(-1000), "-1\u{2009}000");
    }
}
