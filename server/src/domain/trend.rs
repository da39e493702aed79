//! Trends for "predicted to cross" alerts (pure): a least-squares line through a series of
//! (time, value) points, read ahead. A straight line is what disk, budget and memory growth
//! look like over hours; a seasonal model would need weeks of history to fit.

/// `value = intercept + slope × t`, `t` in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    pub intercept: f64,
    pub slope: f64,
}

impl Line {
    pub fn at(&self, t: f64) -> f64 {
        self.intercept + self.slope * t
    }

    /// When the line reaches `level` after `from`, if it is heading there.
    pub fn crossing(&self, level: f64, from: f64) -> Option<f64> {
        if self.at(from) == level {
            return Some(from);
        }
        if self.slope == 0.0 {
            return None;
        }
        let t = (level - self.intercept) / self.slope;
        (t >= from).then_some(t)
    }
}

/// The least-squares line through `points` (non-finite ones skipped); None with fewer than
/// `min_points` or when every point has the same time.
pub fn fit(points: &[(f64, f64)], min_points: usize) -> Option<Line> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .collect();
    if pts.len() < min_points.max(2) {
        return None;
    }
    let n = pts.len() as f64;
    let mt = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let mv = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let stt: f64 = pts.iter().map(|p| (p.0 - mt).powi(2)).sum();
    if stt == 0.0 {
        return None;
    }
    let stv: f64 = pts.iter().map(|p| (p.0 - mt) * (p.1 - mv)).sum();
    let slope = stv / stt;
    Some(Line {
        intercept: mv - slope * mt,
        slope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rising_disk_is_projected_to_its_crossing() {
        // 60 % growing 2 % an hour, sampled every 5 minutes over 6 hours, with a wobble.
        let pts: Vec<(f64, f64)> = (0..=72)
            .map(|i| {
                let t = i as f64 * 300.0;
                let wobble = if i % 2 == 0 { 0.3 } else { -0.3 };
                (t, 60.0 + 2.0 * t / 3600.0 + wobble)
            })
            .collect();
        let line = fit(&pts, 10).unwrap();
        assert!((line.slope * 3600.0 - 2.0).abs() < 0.01, "{line:?}");
        let now = 6.0 * 3600.0;
        // 72 % now: 90 % is 9 hours away.
        let at = line.crossing(90.0, now).unwrap();
        assert!(
            ((at - now) / 3600.0 - 9.0).abs() < 0.2,
            "{}",
            (at - now) / 3600.0
        );
        assert!(line.at(now + 12.0 * 3600.0) > 90.0);
        assert!(line.at(now + 6.0 * 3600.0) < 90.0);
    }

    #[test]
    fn a_flat_or_falling_series_never_crosses_above() {
        let flat: Vec<(f64, f64)> = (0..50).map(|i| (i as f64, 40.0)).collect();
        let line = fit(&flat, 10).unwrap();
        assert_eq!(line.slope, 0.0);
        assert_eq!(line.crossing(90.0, 49.0), None);
        let falling: Vec<(f64, f64)> = (0..50).map(|i| (i as f64, 80.0 - i as f64)).collect();
        let line = fit(&falling, 10).unwrap();
        assert_eq!(
            line.crossing(90.0, 49.0),
            None,
            "the crossing lies in the past"
        );
        assert!(line.crossing(0.0, 49.0).is_some());
    }

    #[test]
    fn too_few_points_or_one_instant_is_no_trend() {
        assert_eq!(fit(&[(0.0, 1.0), (1.0, 2.0)], 10), None);
        let same: Vec<(f64, f64)> = (0..20).map(|i| (5.0, i as f64)).collect();
        assert_eq!(fit(&same, 10), None);
        let nan: Vec<(f64, f64)> = (0..20).map(|i| (i as f64, f64::NAN)).collect();
        assert_eq!(fit(&nan, 10), None);
    }
}
