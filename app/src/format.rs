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

/// Milliseconds as "850 ms" or "1.25 s".
pub fn millis(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
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

#[cfg(test)]
mod tests {
    use super::*;

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
