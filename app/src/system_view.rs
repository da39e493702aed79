//! The System page's data and charts: series loaded from the metrics API, live samples
//! folded in (bounded, so a page left open for hours stays small), and the chart options.

use std::collections::BTreeMap;

use charming::{
    component::{Axis, Grid, Legend},
    element::{
        AreaStyle, AxisLabel, AxisType, Color, LineStyle, NameLocation, SplitLine, TextStyle,
        Tooltip, Trigger,
    },
    series::{Bar, Line},
    Chart,
};

use crate::{
    components::chart::Palette,
    format,
    types::system::{series_matches, series_of, series_subject, MetricsResponse, SystemSample},
};

/// What the page charts, as metrics-API patterns.
pub const SERIES: &[&str] = &[
    "cpu.total",
    "cpu.core:*",
    "load.1",
    "mem.used",
    "mem.cached",
    "mem.buffers",
    "mem.free",
    "swap.used",
    "disk.read_bytes:*",
    "disk.write_bytes:*",
    "net.rx_bytes:*",
    "net.tx_bytes:*",
    "gpu.util:*",
    "gpu.mem_used:*",
    "gpu.temp:*",
];

/// Points kept per series at most, whatever the page has been open for.
pub const MAX_POINTS: usize = 1200;

/// Series name → points `(unix_ms, value)`, oldest first.
pub type SeriesMap = BTreeMap<String, Vec<(f64, f64)>>;

/// The averages of a metrics answer.
pub fn from_response(r: &MetricsResponse) -> SeriesMap {
    r.series
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.points.iter().map(|p| (p[0], p[1])).collect(),
            )
        })
        .collect()
}

/// Folds a live sample in: each charted series gets its point in time order (a replayed
/// sample may be older than the last one), points before `from_ms` go, and no series
/// grows past [`MAX_POINTS`].
pub fn append_live(map: &mut SeriesMap, sample: &SystemSample, from_ms: f64) {
    let t = sample.time.timestamp_millis() as f64;
    for (name, v) in series_of(sample) {
        if !SERIES.iter().any(|p| series_matches(p, &name)) {
            continue;
        }
        let pts = map.entry(name).or_default();
        let at = pts.partition_point(|(pt, _)| *pt <= t);
        if at > 0 && pts[at - 1].0 == t {
            pts[at - 1].1 = v;
        } else {
            pts.insert(at, (t, v));
        }
    }
    for pts in map.values_mut() {
        let old = pts.partition_point(|(pt, _)| *pt < from_ms);
        let over = pts.len().saturating_sub(MAX_POINTS);
        pts.drain(..old.max(over));
    }
    map.retain(|_, pts| !pts.is_empty());
}

/// The series matching `pattern`, by name.
fn matching<'a>(map: &'a SeriesMap, pattern: &str) -> Vec<(&'a str, &'a [(f64, f64)])> {
    map.iter()
        .filter(|(n, _)| series_matches(pattern, n))
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect()
}

fn data(points: &[(f64, f64)], div: f64) -> Vec<Vec<f64>> {
    points
        .iter()
        .map(|(t, v)| vec![*t, (v / div * 100.0).round() / 100.0])
        .collect()
}

fn largest(series: &[(&str, &[(f64, f64)])]) -> f64 {
    series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, v)| v.abs()))
        .fold(0.0, f64::max)
}

/// The time window on the x axis, so a live chart slides instead of rescaling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub from_ms: f64,
    pub to_ms: f64,
}

fn base(p: &Palette, w: Window, unit: &str, label: &str) -> Chart {
    Chart::new()
        .background_color("transparent")
        .color(p.series.iter().map(|c| Color::from(c.as_str())).collect())
        // Samples arrive every second: animating each would never settle.
        .animation(false)
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .legend(
            Legend::new()
                .top(0)
                .type_(charming::component::LegendType::Scroll)
                .text_style(TextStyle::new().color(p.muted.as_str())),
        )
        .grid(Grid::new().left(64).right(24).top(40).bottom(32))
        .x_axis(
            Axis::new()
                .type_(AxisType::Time)
                .min(w.from_ms)
                .max(w.to_ms)
                .axis_label(AxisLabel::new().color(p.muted.as_str())),
        )
        .y_axis(
            Axis::new()
                .type_(AxisType::Value)
                .name(unit)
                .name_location(NameLocation::End)
                .name_text_style(TextStyle::new().color(p.muted.as_str()))
                .axis_label(AxisLabel::new().color(p.muted.as_str()).formatter(label))
                .split_line(SplitLine::new().line_style(LineStyle::new().color(p.grid.as_str()))),
        )
}

fn line(name: impl Into<String>, points: Vec<Vec<f64>>) -> Line {
    Line::new()
        .name(name.into())
        .show_symbol(false)
        .line_style(LineStyle::new().width(1.5))
        .data(points)
}

/// CPU busy %, all cores together (filled) and per core (thin).
pub fn cpu(map: &SeriesMap, p: &Palette, w: Window) -> Chart {
    let mut chart = base(p, w, "%", "{value} %");
    if let Some(total) = map.get("cpu.total") {
        chart = chart.series(
            line("All cores", data(total, 1.0))
                .area_style(AreaStyle::new().opacity(0.2))
                .line_style(LineStyle::new().width(2)),
        );
    }
    for (name, pts) in matching(map, "cpu.core:*") {
        chart = chart.series(
            line(format!("Core {}", series_subject(name)), data(pts, 1.0))
                .line_style(LineStyle::new().width(1).opacity(0.6)),
        );
    }
    chart
}

/// Memory stacked: used, cache and buffers, free; swap on top.
pub fn memory(map: &SeriesMap, p: &Palette, w: Window) -> Chart {
    let (div, unit) = (1024.0 * 1024.0 * 1024.0, "GiB");
    let mut chart = base(p, w, unit, "{value}");
    let cache: Vec<(f64, f64)> = match (map.get("mem.cached"), map.get("mem.buffers")) {
        (Some(c), Some(b)) if c.len() == b.len() => c
            .iter()
            .zip(b)
            .map(|((t, x), (_, y))| (*t, x + y))
            .collect(),
        (Some(c), _) => c.clone(),
        _ => Vec::new(),
    };
    for (name, pts) in [
        ("Used", map.get("mem.used").cloned().unwrap_or_default()),
        ("Cache and buffers", cache),
        ("Free", map.get("mem.free").cloned().unwrap_or_default()),
        (
            "Swap used",
            map.get("swap.used").cloned().unwrap_or_default(),
        ),
    ] {
        chart = chart.series(
            line(name, data(&pts, div))
                .stack("memory")
                .area_style(AreaStyle::new().opacity(0.35)),
        );
    }
    chart
}

/// Two directions of one kind of throughput (disk read/write, network in/out) per device,
/// in the byte unit that fits.
pub fn throughput(
    map: &SeriesMap,
    p: &Palette,
    w: Window,
    (a_pattern, a_label): (&str, &str),
    (b_pattern, b_label): (&str, &str),
) -> Chart {
    let a = matching(map, a_pattern);
    let b = matching(map, b_pattern);
    let (div, unit) = format::byte_unit(largest(&a).max(largest(&b)));
    let unit = format!("{unit}/s");
    let mut chart = base(p, w, &unit, "{value}");
    for (label, series) in [(a_label, a), (b_label, b)] {
        for (name, pts) in series {
            chart = chart.series(line(
                format!("{} {label}", series_subject(name)),
                data(pts, div),
            ));
        }
    }
    chart
}

/// One line per GPU for `pattern` (`gpu.util:*`), scaled by `div`.
pub fn per_gpu(
    map: &SeriesMap,
    p: &Palette,
    w: Window,
    pattern: &str,
    div: f64,
    unit: &str,
    label: &str,
) -> Chart {
    let mut chart = base(p, w, unit, label);
    for (name, pts) in matching(map, pattern) {
        chart = chart.series(line(
            format!("GPU {}", series_subject(name)),
            data(pts, div),
        ));
    }
    chart
}

/// Used share of each mounted filesystem, from the latest sample.
pub fn disk_use(sample: Option<&SystemSample>, p: &Palette) -> Chart {
    let fs = sample.map(|s| s.filesystems.as_slice()).unwrap_or_default();
    let pct: Vec<f64> = fs
        .iter()
        .map(|f| (f.used as f64 / f.total.max(1) as f64 * 1000.0).round() / 10.0)
        .collect();
    Chart::new()
        .background_color("transparent")
        .color(p.series.iter().map(|c| Color::from(c.as_str())).collect())
        .animation(false)
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .grid(Grid::new().left(96).right(32).top(24).bottom(32))
        .x_axis(
            Axis::new()
                .type_(AxisType::Value)
                .min(0)
                .max(100)
                .name("% used")
                .name_location(NameLocation::End)
                .name_text_style(TextStyle::new().color(p.muted.as_str()))
                .axis_label(
                    AxisLabel::new()
                        .color(p.muted.as_str())
                        .formatter("{value} %"),
                )
                .split_line(SplitLine::new().line_style(LineStyle::new().color(p.grid.as_str()))),
        )
        .y_axis(
            Axis::new()
                .type_(AxisType::Category)
                .data(
                    fs.iter()
                        .map(|f| format!("{} ({})", f.mount, format::bytes(f.total as f64)))
                        .collect(),
                )
                .axis_label(AxisLabel::new().color(p.muted.as_str())),
        )
        .series(
            Bar::new()
                .name("Used")
                .bar_width("50%")
                .label(
                    charming::element::Label::new()
                        .show(true)
                        .position(charming::element::LabelPosition::Right)
                        .formatter("{c} %")
                        .color(p.text.as_str()),
                )
                .data(pct),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::system::CpuSample;
    use chrono::{DateTime, Utc};

    fn at(ms: i64, cpu: f64) -> SystemSample {
        SystemSample {
            time: DateTime::<Utc>::from_timestamp_millis(ms).unwrap(),
            cpu: CpuSample {
                total: cpu,
                cores: vec![cpu],
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn live_samples_land_in_time_order_and_old_points_go() {
        let mut m = SeriesMap::new();
        append_live(&mut m, &at(1000, 1.0), 0.0);
        append_live(&mut m, &at(3000, 3.0), 0.0);
        append_live(&mut m, &at(2000, 2.0), 0.0); // a replayed, older sample
        append_live(&mut m, &at(3000, 4.0), 0.0); // the same time again replaces
        assert_eq!(
            m["cpu.total"],
            vec![(1000.0, 1.0), (2000.0, 2.0), (3000.0, 4.0)]
        );
        assert!(m.contains_key("cpu.core:0"));
        assert!(!m.contains_key("load.5"), "only charted series are kept");
        append_live(&mut m, &at(4000, 5.0), 2500.0);
        assert_eq!(m["cpu.total"], vec![(3000.0, 4.0), (4000.0, 5.0)]);
    }

    #[test]
    fn series_stay_bounded_however_long_the_page_is_open() {
        let mut m = SeriesMap::new();
        for i in 0..(MAX_POINTS as i64 * 3) {
            append_live(&mut m, &at(i * 1000, 1.0), 0.0);
        }
        assert_eq!(m["cpu.total"].len(), MAX_POINTS);
        assert_eq!(
            m["cpu.total"].last().unwrap().0,
            (MAX_POINTS as f64 * 3.0 - 1.0) * 1000.0
        );
    }
}
