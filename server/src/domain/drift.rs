//! Drift and anomaly detection on a metric's series (pure).
//!
//! - **Drift**: a recent window held against the baseline before it. It drifted when the
//!   recent mean lies more than `z` standard errors from the baseline's mean *and* moved by
//!   more than `min_change` of it: the first guards against noise, the second against
//!   changes too small to matter on a very steady series.
//! - **Anomaly**: a point outside a band of the rolling median ± `k` × 1.4826 × MAD of the
//!   points before it. Median and MAD ignore the outliers they are meant to find, where a
//!   mean and standard deviation would be dragged by them.

/// How a drift is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftRule {
    /// Standard errors the recent mean must move.
    pub z: f64,
    /// Relative change it must move (0.1 = 10 %).
    pub min_change: f64,
    /// Fewest baseline and recent points to judge at all.
    pub min_points: usize,
}

impl Default for DriftRule {
    fn default() -> Self {
        DriftRule {
            z: 4.0,
            min_change: 0.10,
            min_points: 3,
        }
    }
}

/// A recent window against its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftVerdict {
    pub baseline: f64,
    pub recent: f64,
    /// (recent − baseline) / |baseline|; 0 when the baseline is 0.
    pub change: f64,
    /// Standard errors between the means.
    pub z: f64,
    pub drifted: bool,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn sd(v: &[f64], m: f64) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Judges `recent` against `baseline`; None with too few points to judge.
pub fn compare(baseline: &[f64], recent: &[f64], rule: DriftRule) -> Option<DriftVerdict> {
    if baseline.len() < rule.min_points || recent.len() < rule.min_points.max(1) {
        return None;
    }
    let b = mean(baseline);
    let r = mean(recent);
    // The spread of single points, from both windows: a baseline that happened to be flat
    // must not make every later wobble significant.
    let spread = sd(baseline, b).max(sd(recent, r));
    let se = spread / (recent.len() as f64).sqrt();
    let diff = r - b;
    let z = if se > 0.0 {
        diff / se
    } else if diff == 0.0 {
        0.0
    } else {
        f64::INFINITY.copysign(diff)
    };
    let change = if b != 0.0 { diff / b.abs() } else { 0.0 };
    let relative_ok = if b != 0.0 {
        change.abs() > rule.min_change
    } else {
        diff != 0.0
    };
    Some(DriftVerdict {
        baseline: b,
        recent: r,
        change,
        z,
        drifted: z.abs() > rule.z && relative_ok,
    })
}

/// Slides over `series`: at each point, the last `recent` points against the `baseline`
/// points before them. The index of the first point at which it drifted, if any.
pub fn first_drift(
    series: &[f64],
    baseline: usize,
    recent: usize,
    rule: DriftRule,
) -> Option<usize> {
    (baseline + recent..=series.len()).find_map(|end| {
        let split = end - recent;
        compare(&series[split - baseline..split], &series[split..end], rule)
            .filter(|v| v.drifted)
            .map(|_| end - 1)
    })
}

/// The normal band at one point: the rolling median and its bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub median: f64,
    pub lower: f64,
    pub upper: f64,
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The band at each point from the `window` points before it (None for the first ones),
/// `k` scaled MADs wide, and at least `floor` wide on each side so a perfectly flat history
/// does not flag every small move.
pub fn bands(series: &[f64], window: usize, k: f64, floor: f64) -> Vec<Option<Band>> {
    (0..series.len())
        .map(|i| {
            if i < window || window == 0 {
                return None;
            }
            band(&series[i - window..i], window.div_ceil(2), k, floor)
        })
        .collect()
}

/// The band of `past` (non-finite values skipped): its median ± `k` × 1.4826 × MAD, at
/// least `floor` each side. None with fewer than `min_points` values to judge from.
pub fn band(past: &[f64], min_points: usize, k: f64, floor: f64) -> Option<Band> {
    let mut past: Vec<f64> = past.iter().copied().filter(|v| v.is_finite()).collect();
    if past.is_empty() || past.len() < min_points {
        return None;
    }
    past.sort_by(f64::total_cmp);
    let m = median(&past);
    let mut dev: Vec<f64> = past.iter().map(|v| (v - m).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let width = (k * 1.4826 * median(&dev)).max(floor);
    Some(Band {
        median: m,
        lower: m - width,
        upper: m + width,
    })
}

/// Whether `v` lies outside `band`.
pub fn is_anomaly(v: f64, band: &Band) -> bool {
    v < band.lower || v > band.upper
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic Gaussian source (xorshift + Box-Muller), so the rates below
    /// are the same on every run.
    struct Noise(u64);

    impl Noise {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn gauss(&mut self) -> f64 {
            let u1 = self.uniform().max(1e-12);
            let u2 = self.uniform();
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
    }

    fn series(seed: u64, n: usize, level: impl Fn(usize) -> f64, sd: f64) -> Vec<f64> {
        let mut noise = Noise(seed);
        (0..n).map(|i| level(i) + sd * noise.gauss()).collect()
    }

    #[test]
    fn a_step_is_found_at_the_change_and_not_before() {
        // Quality 80 ± 3, falling to 68 at point 100 (hourly points, a 24-point window).
        for seed in 1..=50 {
            let s = series(seed, 160, |i| if i < 100 { 80.0 } else { 68.0 }, 3.0);
            let at = first_drift(&s, 72, 24, DriftRule::default())
                .unwrap_or_else(|| panic!("seed {seed}: the drop was missed"));
            assert!(at >= 100, "seed {seed}: fired at {at}, before the change");
            assert!(at < 124, "seed {seed}: fired at {at}, a whole window late");
        }
    }

    #[test]
    fn a_stationary_series_rarely_drifts() {
        // Stated rate: under 1 % of stationary series raise a drift anywhere in 160 points.
        let runs: u64 = 400;
        let fired = (0..runs)
            .filter(|seed| {
                let s = series(1000 + seed, 160, |_| 80.0, 3.0);
                first_drift(&s, 72, 24, DriftRule::default()).is_some()
            })
            .count();
        assert!(
            fired as u64 * 100 < runs,
            "{fired} of {runs} stationary series drifted"
        );
    }

    #[test]
    fn small_moves_on_a_steady_series_are_not_drift() {
        // Significant (tiny noise) but only 2 %: under the 10 % minimum change.
        let base = series(7, 72, |_| 100.0, 0.1);
        let recent = series(8, 24, |_| 102.0, 0.1);
        let v = compare(&base, &recent, DriftRule::default()).unwrap();
        assert!(v.z > 4.0);
        assert!(!v.drifted);
        assert!((v.change - 0.02).abs() < 0.005);
        assert_eq!(compare(&base[..2], &recent, DriftRule::default()), None);
    }

    #[test]
    fn a_spike_is_an_anomaly_and_its_neighbours_are_not() {
        let mut s = series(3, 200, |_| 500.0, 20.0);
        s[150] = 900.0;
        let b = bands(&s, 60, 4.0, 1.0);
        assert!(b[..60].iter().all(Option::is_none));
        let flagged: Vec<usize> = (0..s.len())
            .filter(|&i| b[i].is_some_and(|band| is_anomaly(s[i], &band)))
            .collect();
        assert!(flagged.contains(&150), "{flagged:?}");
        // The spike does not widen the band or flag the points after it.
        assert!(!flagged.contains(&151));
        let band = b[151].unwrap();
        assert!(band.upper < 650.0, "{band:?}");
    }

    #[test]
    fn anomalies_on_stationary_noise_stay_rare() {
        // Stated rate: under 0.5 % of points of a stationary series flagged at k = 4.
        let (mut flagged, mut judged) = (0, 0);
        for seed in 0..20 {
            let s = series(500 + seed, 300, |_| 50.0, 5.0);
            for (v, band) in s.iter().zip(bands(&s, 60, 4.0, 0.0)) {
                if let Some(band) = band {
                    judged += 1;
                    flagged += usize::from(is_anomaly(*v, &band));
                }
            }
        }
        assert!(
            flagged * 200 < judged,
            "{flagged} of {judged} points flagged"
        );
    }

    #[test]
    fn a_flat_history_keeps_its_floor() {
        let s = [10.0; 30];
        let b = bands(&s, 10, 4.0, 0.5)[20].unwrap();
        assert_eq!((b.median, b.lower, b.upper), (10.0, 9.5, 10.5));
        assert!(!is_anomaly(10.4, &b));
        assert!(is_anomaly(11.0, &b));
    }
}
