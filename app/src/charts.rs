//! The Overview's chart options, built from an [`Overview`] and the theme's [`Palette`].
//! Every axis names its unit; time axes zoom (wheel, drag, slider); legends toggle series.

use charming::{
    component::{Axis, DataZoom, DataZoomType, Grid, Legend},
    element::{
        AreaStyle, AxisLabel, AxisType, Color, ItemStyle, Label, LineStyle, LineStyleType,
        NameLocation, SplitLine, Step, TextStyle, Tooltip, Trigger,
    },
    series::{Bar, Line, Pie, Scatter},
    Chart,
};

use crate::{
    components::chart::Palette,
    types::{
        alert::RuleSeries,
        apps::{AppsOverview, RequestFigures},
        bench::BenchModelResult,
        database::DatabaseOverview,
        frontend::{FrontendOverview, Rating, VitalSummary},
        models::{HealthPoint, ModelHealth},
        workers::{WorkerState, WorkersOverview},
        Band, BucketBands, Budget, BudgetPeriod, BudgetSeries, Figures, GroupFigures, LimitKind,
        Overview,
    },
};

fn base(p: &Palette) -> Chart {
    Chart::new()
        .background_color("transparent")
        .color(p.series.iter().map(|c| Color::from(c.as_str())).collect())
        .animation_duration(300.0)
}

/// ECharts' own tooltip box (light, dark text) stays readable on both themes.
fn tooltip(trigger: Trigger) -> Tooltip {
    Tooltip::new().trigger(trigger)
}

fn legend(p: &Palette) -> Legend {
    Legend::new()
        .top(0)
        .text_style(TextStyle::new().color(p.muted.as_str()))
}

fn value_axis(p: &Palette, name: &str, label: &str) -> Axis {
    Axis::new()
        .type_(AxisType::Value)
        .name(name)
        .name_location(NameLocation::End)
        .name_text_style(TextStyle::new().color(p.muted.as_str()))
        .axis_label(AxisLabel::new().color(p.muted.as_str()).formatter(label))
        .split_line(SplitLine::new().line_style(LineStyle::new().color(p.grid.as_str())))
}

fn time_axis(p: &Palette) -> Axis {
    Axis::new()
        .type_(AxisType::Time)
        .axis_label(AxisLabel::new().color(p.muted.as_str()))
}

fn grid() -> Grid {
    Grid::new().left(56).right(24).top(40).bottom(64)
}

/// Zoom on time axes: wheel/drag inside the plot and a slider under it.
fn zoom(chart: Chart) -> Chart {
    chart
        .data_zoom(DataZoom::new().type_(DataZoomType::Inside))
        .data_zoom(DataZoom::new().type_(DataZoomType::Slider).bottom(8))
}

fn points(ov: &Overview, value: impl Fn(&crate::types::Figures) -> f64) -> Vec<Vec<f64>> {
    ov.series
        .iter()
        .map(|b| vec![b.start.timestamp_millis() as f64, value(&b.figures)])
        .collect()
}

fn usd(micros: i64) -> f64 {
    (micros as f64 / 10_000.0).round() / 100.0
}

/// A zoomable chart over the overview's buckets with one value axis.
fn over_time(p: &Palette, unit: &str, label: &str, lines: Vec<Line>) -> Chart {
    over_span(p, unit, label, lines, None)
}

/// [`over_time`] with the time axis fixed to `span` (unix ms), so charts of one range line
/// up and sparse points do not stretch the axis.
fn over_span(
    p: &Palette,
    unit: &str,
    label: &str,
    lines: Vec<Line>,
    span: Option<(f64, f64)>,
) -> Chart {
    over_span_on(p, value_axis(p, unit, label), lines, span)
}

/// [`over_span`] with a value axis of its own.
fn over_span_on(p: &Palette, y: Axis, lines: Vec<Line>, span: Option<(f64, f64)>) -> Chart {
    let x = match span {
        // At most about six labels, however narrow the chart.
        Some((from, to)) => time_axis(p)
            .min(from)
            .max(to)
            .split_number(5)
            .min_interval((to - from) / 6.0),
        None => time_axis(p),
    };
    let mut chart = base(p)
        .tooltip(tooltip(Trigger::Axis))
        .legend(legend(p))
        .grid(grid())
        .x_axis(x)
        .y_axis(y);
    for line in lines {
        chart = chart.series(line.show_symbol(false));
    }
    zoom(chart)
}

/// A figure's usual band (two dashed lines) and its buckets above the band (marked), for
/// the Overview's charts; `scale` turns the figure into the chart's unit.
fn with_band(
    ov: &Overview,
    p: &Palette,
    value: impl Fn(&Figures) -> Option<f64>,
    band: impl Fn(&BucketBands) -> Option<Band>,
    scale: f64,
) -> (Vec<Line>, Scatter) {
    let round = |v: f64| (v * scale * 100.0).round() / 100.0;
    let edge = |pick: fn(&Band) -> f64| -> Vec<Vec<Option<f64>>> {
        ov.bands
            .iter()
            .map(|b| {
                vec![
                    Some(b.start.timestamp_millis() as f64),
                    band(b).map(|x| round(pick(&x))),
                ]
            })
            .collect()
    };
    let marks: Vec<Vec<Option<f64>>> = ov
        .series
        .iter()
        .zip(above_band(ov, &value, &band))
        .map(|(b, v)| vec![Some(b.start.timestamp_millis() as f64), v.map(round)])
        .collect();
    (
        vec![
            band_edge(p, USUAL).data(edge(|b| b.lower)),
            band_edge(p, USUAL).data(edge(|b| b.upper)),
        ],
        Scatter::new()
            .name("unusual")
            .symbol_size(10)
            .item_style(ItemStyle::new().color("#c22f2f"))
            .data(marks),
    )
}

/// The legend entry of a band: both edges share it, so one click hides the band.
const USUAL: &str = "usual range";

/// One dashed, muted edge of a usual band.
fn band_edge(p: &Palette, name: &str) -> Line {
    Line::new()
        .name(name)
        .show_symbol(false)
        .line_style(
            LineStyle::new()
                .type_(LineStyleType::Dashed)
                .width(1)
                .color(p.muted.as_str()),
        )
        .item_style(ItemStyle::new().color(p.muted.as_str()))
}

/// Each bucket's value where it lies above its band.
fn above_band(
    ov: &Overview,
    value: &impl Fn(&Figures) -> Option<f64>,
    band: &impl Fn(&BucketBands) -> Option<Band>,
) -> Vec<Option<f64>> {
    ov.series
        .iter()
        .zip(&ov.bands)
        .map(|(b, bands)| value(&b.figures).filter(|v| band(bands).is_some_and(|x| x.above(*v))))
        .collect()
}

/// Input, output and total tokens per bucket, with the total's usual band.
pub fn tokens_over_time(ov: &Overview, p: &Palette) -> Chart {
    let (band, marks) = with_band(
        ov,
        p,
        |f| Some(f.total_tokens as f64),
        |b| b.total_tokens,
        1.0,
    );
    let mut lines = vec![
        Line::new()
            .name("Input tokens")
            .data(points(ov, |f| f.input_tokens as f64)),
        Line::new()
            .name("Output tokens")
            .data(points(ov, |f| f.output_tokens as f64)),
        Line::new()
            .name("Total tokens")
            .data(points(ov, |f| f.total_tokens as f64)),
    ];
    lines.extend(band);
    over_time(p, "tokens", "{value}", lines).series(marks)
}

/// Cost per bucket, in USD, with its usual band.
pub fn cost_over_time(ov: &Overview, p: &Palette) -> Chart {
    let (band, marks) = with_band(
        ov,
        p,
        |f| Some(f.cost_micros as f64 / 1e6),
        |b| b.cost_usd,
        1.0,
    );
    let mut lines = vec![Line::new()
        .name("Cost (USD)")
        .area_style(AreaStyle::new().opacity(0.25))
        .data(points(ov, |f| usd(f.cost_micros)))];
    lines.extend(band);
    over_time(p, "USD", "${value}", lines).series(marks)
}

/// [`points`] where a bucket may have no value (a gap, not a zero).
fn gappy_points(ov: &Overview, value: impl Fn(&Figures) -> Option<f64>) -> Vec<Vec<Option<f64>>> {
    ov.series
        .iter()
        .map(|b| vec![Some(b.start.timestamp_millis() as f64), value(&b.figures)])
        .collect()
}

/// p95 latency per bucket, in ms, with its usual band.
pub fn latency_over_time(ov: &Overview, p: &Palette) -> Chart {
    let (band, marks) = with_band(ov, p, |f| f.p95_latency_ms, |b| b.p95_latency_ms, 1.0);
    let mut lines = vec![Line::new()
        .name("Latency p95")
        .data(gappy_points(ov, |f| f.p95_latency_ms.map(f64::round)))];
    lines.extend(band);
    over_time(p, "ms", "{value} ms", lines).series(marks)
}

/// Error rate per bucket, in percent, with its usual band.
pub fn errors_over_time(ov: &Overview, p: &Palette) -> Chart {
    let rate = |f: &Figures| (f.requests > 0).then_some(f.error_rate);
    let (band, marks) = with_band(ov, p, rate, |b| b.error_rate, 100.0);
    let mut lines = vec![Line::new().name("Error rate").data(gappy_points(ov, |f| {
        rate(f).map(|v| (v * 10_000.0).round() / 100.0)
    }))];
    lines.extend(band);
    over_time(p, "%", "{value} %", lines).series(marks)
}

/// What the model comparison shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelMetric {
    LatencyP95,
    TokensPerSecond,
    CostPer1k,
}

impl ModelMetric {
    pub const ALL: [ModelMetric; 3] = [
        ModelMetric::LatencyP95,
        ModelMetric::TokensPerSecond,
        ModelMetric::CostPer1k,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ModelMetric::LatencyP95 => "Latency p95",
            ModelMetric::TokensPerSecond => "Tokens/s",
            ModelMetric::CostPer1k => "Cost per 1k calls",
        }
    }

    /// Axis name and label template (the unit).
    fn unit(self) -> (&'static str, &'static str) {
        match self {
            ModelMetric::LatencyP95 => ("ms", "{value} ms"),
            ModelMetric::TokensPerSecond => ("tokens/s", "{value}"),
            ModelMetric::CostPer1k => ("USD", "${value}"),
        }
    }

    pub fn value(self, g: &GroupFigures) -> f64 {
        let f = &g.totals;
        let v = match self {
            ModelMetric::LatencyP95 => f.p95_latency_ms.unwrap_or(0.0),
            ModelMetric::TokensPerSecond => f.tokens_per_second.unwrap_or(0.0),
            ModelMetric::CostPer1k if f.requests > 0 => {
                f.cost_micros as f64 / f.requests as f64 * 1000.0 / 1_000_000.0
            }
            ModelMetric::CostPer1k => 0.0,
        };
        (v * 100.0).round() / 100.0
    }
}

/// One bar per model (busiest first, at most 12) for `metric`.
pub fn model_comparison(ov: &Overview, metric: ModelMetric, p: &Palette) -> Chart {
    let models: Vec<&GroupFigures> = ov.by_model.iter().take(12).collect();
    let (name, label) = metric.unit();
    base(p)
        .tooltip(tooltip(Trigger::Axis))
        .grid(Grid::new().left(56).right(24).top(40).bottom(72))
        .x_axis(
            Axis::new()
                .type_(AxisType::Category)
                .data(models.iter().map(|g| g.key.clone()).collect())
                .axis_label(AxisLabel::new().color(p.muted.as_str()).rotate(20)),
        )
        .y_axis(value_axis(p, name, label))
        .series(
            Bar::new()
                .name(metric.label())
                .bar_width("40%")
                .data(models.iter().map(|g| metric.value(g)).collect()),
        )
}

/// Share of `value` per provider.
pub fn provider_pie(
    ov: &Overview,
    p: &Palette,
    name: &str,
    value: fn(&GroupFigures) -> f64,
) -> Chart {
    let data: Vec<(f64, String)> = ov
        .by_provider
        .iter()
        .map(|g| (value(g), g.key.clone()))
        .filter(|(v, _)| *v > 0.0)
        .collect();
    base(p)
        .tooltip(tooltip(Trigger::Item).formatter("{b}: {c} ({d}%)"))
        .legend(legend(p))
        .series(
            Pie::new()
                .name(name)
                .radius(vec!["42%", "70%"])
                .center(vec!["50%", "56%"])
                .item_style(
                    ItemStyle::new()
                        .border_color(p.surface.as_str())
                        .border_width(2),
                )
                .label(Label::new().color(p.text.as_str()))
                .data(data),
        )
}

pub fn requests_by_provider(ov: &Overview, p: &Palette) -> Chart {
    provider_pie(ov, p, "Requests", |g| g.totals.requests as f64)
}

pub fn cost_by_provider(ov: &Overview, p: &Palette) -> Chart {
    provider_pie(ov, p, "Cost (USD)", |g| usd(g.totals.cost_micros))
}

/// Output speed against average quality score, one point per model that has both.
pub fn speed_vs_quality(ov: &Overview, p: &Palette) -> Chart {
    let points = ov.by_model.iter().take(12).filter_map(|g| {
        let t = &g.totals;
        Some((g.key.as_str(), t.tokens_per_second?, t.avg_quality?))
    });
    speed_quality(points, "quality", None, p)
}

/// A scatter of (name, tokens/s, quality), one series per point so the legend names each;
/// the quality axis fits the points, or is fixed to `fixed`.
fn speed_quality<'a>(
    points: impl Iterator<Item = (&'a str, f64, f64)>,
    quality: &str,
    fixed: Option<(f64, f64)>,
    p: &Palette,
) -> Chart {
    let y = match fixed {
        Some((lo, hi)) => value_axis(p, quality, "{value}").min(lo).max(hi),
        None => value_axis(p, quality, "{value}").scale(true),
    };
    let mut chart = base(p)
        .tooltip(tooltip(Trigger::Item).formatter("{a}: {c}"))
        .legend(legend(p).type_(charming::component::LegendType::Scroll))
        .grid(Grid::new().left(56).right(32).top(56).bottom(48))
        .x_axis(
            value_axis(p, "tokens/s", "{value}")
                .name_location(NameLocation::Middle)
                .name_gap(28),
        )
        .y_axis(y);
    for (name, tps, q) in points {
        chart = chart.series(Scatter::new().name(name).symbol_size(14).data(vec![vec![
            (tps * 10.0).round() / 10.0,
            (q * 1000.0).round() / 1000.0,
        ]]));
    }
    chart
}

/// A budget's unit for axes and labels.
fn budget_unit(kind: LimitKind) -> (&'static str, &'static str) {
    match kind {
        LimitKind::Usd => ("USD", "${value}"),
        LimitKind::Tokens => ("tokens", "{value}"),
        LimitKind::Requests => ("requests", "{value}"),
    }
}

/// Spend so far in the current period (cumulative), the limit, and the projection from now
/// to the reset at the recent rate.
pub fn budget_period(s: &BudgetSeries, p: &Palette) -> Chart {
    let b = &s.budget;
    let st = &b.status;
    let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis() as f64;
    let mut total = 0.0;
    let mut spent = vec![vec![ms(st.period_start), 0.0]];
    for point in &s.points {
        total += point.spent;
        spent.push(vec![ms(point.start), total]);
    }
    let now = crate::format::now().min(st.resets_at);
    spent.push(vec![ms(now), st.spent]);
    let (unit, label) = budget_unit(b.limit_kind);
    let dashed = |color: &str| LineStyle::new().type_(LineStyleType::Dashed).color(color);
    let chart = base(p)
        .tooltip(tooltip(Trigger::Axis))
        .legend(legend(p))
        .grid(grid())
        .x_axis(time_axis(p))
        .y_axis(value_axis(p, unit, label))
        .series(
            Line::new()
                .name("Spent")
                .step(Step::End)
                .show_symbol(false)
                .area_style(AreaStyle::new().opacity(0.2))
                .data(spent),
        )
        .series(
            Line::new()
                .name("Limit")
                .show_symbol(false)
                .line_style(dashed("#c22f2f"))
                .item_style(ItemStyle::new().color("#c22f2f"))
                .data(vec![
                    vec![ms(st.period_start), st.limit],
                    vec![ms(st.resets_at), st.limit],
                ]),
        )
        .series(
            Line::new()
                .name("Projection")
                .show_symbol(false)
                .line_style(dashed("#d08700"))
                .item_style(ItemStyle::new().color("#d08700"))
                .data(vec![
                    vec![ms(now), st.spent],
                    vec![ms(st.resets_at), st.projected],
                ]),
        );
    zoom(chart)
}

/// Spend of the last periods, the current one last.
pub fn budget_history(b: &Budget, p: &Palette) -> Chart {
    let (unit, label) = budget_unit(b.limit_kind);
    // Days and weeks by date; months by month.
    let fmt = if b.period == BudgetPeriod::Month {
        "%b %Y"
    } else {
        "%b %d"
    };
    let names: Vec<String> = b
        .status
        .history
        .iter()
        .map(|h| h.date.format(fmt).to_string())
        .collect();
    base(p)
        .tooltip(tooltip(Trigger::Axis))
        .grid(Grid::new().left(56).right(24).top(40).bottom(40))
        .x_axis(
            Axis::new()
                .type_(AxisType::Category)
                .data(names)
                .axis_label(AxisLabel::new().color(p.muted.as_str())),
        )
        .y_axis(value_axis(p, unit, label))
        .series(
            Bar::new()
                .name("Spent")
                .data(b.status.history.iter().map(|h| h.spent).collect::<Vec<_>>()),
        )
}

/// A rule's value over the last hour, one line per label set, with the threshold dashed.
pub fn rule_series(s: &RuleSeries, p: &Palette) -> Chart {
    let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis() as f64;
    let unit = if s.unit.is_empty() {
        "value"
    } else {
        s.unit.as_str()
    };
    let times = s
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|pt| ms(pt.0)));
    let (from, to) = times.fold((f64::MAX, f64::MIN), |(a, b), t| (a.min(t), b.max(t)));
    // At most about six labels, however narrow the chart.
    let x = if from < to {
        time_axis(p).split_number(5).min_interval((to - from) / 6.0)
    } else {
        time_axis(p)
    };
    let mut chart = base(p)
        .tooltip(tooltip(Trigger::Axis))
        .legend(legend(p))
        .grid(grid())
        .x_axis(x)
        .y_axis(value_axis(p, unit, "{value}"));
    let (mut first, mut last) = (None, None);
    // An anomaly rule's threshold is a count of MADs, not a level: its band is drawn instead.
    let banded = s.lines.iter().any(|l| !l.band.is_empty());
    for line in &s.lines {
        let name = if line.labels.is_empty() {
            "all".to_owned()
        } else {
            line.labels
                .values()
                .cloned()
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let data: Vec<Vec<f64>> = line
            .points
            .iter()
            .filter_map(|(t, v)| v.map(|v| vec![ms(*t), v]))
            .collect();
        if let (Some(a), Some(b)) = (line.points.first(), line.points.last()) {
            first = first.min(Some(a.0)).or(Some(a.0));
            last = last.max(Some(b.0));
        }
        for pick in [0, 1] {
            let edge_data: Vec<Vec<Option<f64>>> = line
                .band
                .iter()
                .map(|(t, b)| vec![Some(ms(*t)), b.map(|b| if pick == 0 { b.0 } else { b.1 })])
                .collect();
            if edge_data.iter().any(|d| d[1].is_some()) {
                let label = if s.lines.len() == 1 {
                    USUAL.to_owned()
                } else {
                    format!("{name}: {USUAL}")
                };
                chart = chart.series(band_edge(p, &label).data(edge_data));
            }
        }
        chart = chart.series(Line::new().name(name).show_symbol(false).data(data));
    }
    if let (Some(a), Some(b), false) = (first, last, banded) {
        chart = chart.series(
            Line::new()
                .name("Threshold")
                .show_symbol(false)
                .line_style(
                    LineStyle::new()
                        .type_(LineStyleType::Dashed)
                        .color("#c22f2f"),
                )
                .item_style(ItemStyle::new().color("#c22f2f"))
                .data(vec![vec![ms(a), s.threshold], vec![ms(b), s.threshold]]),
        );
    }
    zoom(chart)
}

fn request_points(
    a: &AppsOverview,
    value: impl Fn(&RequestFigures) -> Option<f64>,
) -> Vec<Vec<f64>> {
    a.series
        .iter()
        .filter_map(|b| {
            let v = value(&b.figures)?;
            Some(vec![
                b.start.timestamp_millis() as f64,
                (v * 1000.0).round() / 1000.0,
            ])
        })
        .collect()
}

fn span(a: &AppsOverview) -> Option<(f64, f64)> {
    Some((
        a.from.timestamp_millis() as f64,
        a.to.timestamp_millis() as f64,
    ))
}

/// Requests per second, and the failing ones (5xx or timeout) beside them.
pub fn request_rate(a: &AppsOverview, p: &Palette) -> Chart {
    over_span(
        p,
        "req/s",
        "{value}",
        vec![
            Line::new()
                .name("Requests/s")
                .area_style(AreaStyle::new().opacity(0.2))
                .data(request_points(a, |f| Some(f.rps))),
            Line::new()
                .name("Failing/s")
                .data(request_points(a, |f| Some(f.rps * f.failure_rate()))),
        ],
        span(a),
    )
}

/// p50, p95 and p99 latency in ms; buckets without requests have no point.
pub fn request_latency(a: &AppsOverview, p: &Palette) -> Chart {
    over_span(
        p,
        "ms",
        "{value} ms",
        vec![
            Line::new()
                .name("p50")
                .data(request_points(a, |f| f.p50_ms)),
            Line::new()
                .name("p95")
                .data(request_points(a, |f| f.p95_ms)),
            Line::new()
                .name("p99")
                .data(request_points(a, |f| f.p99_ms)),
        ],
        span(a),
    )
}

/// 4xx, 5xx and timeout shares of requests, in percent.
pub fn request_errors(a: &AppsOverview, p: &Palette) -> Chart {
    let pct = |f: fn(&RequestFigures) -> f64| {
        move |r: &RequestFigures| (r.requests > 0).then(|| f(r) * 100.0)
    };
    over_span(
        p,
        "%",
        "{value} %",
        vec![
            Line::new()
                .name("4xx")
                .data(request_points(a, pct(RequestFigures::rate_4xx))),
            Line::new()
                .name("5xx")
                .data(request_points(a, pct(RequestFigures::rate_5xx))),
            Line::new()
                .name("Timeouts")
                .data(request_points(a, pct(RequestFigures::timeout_rate))),
        ],
        span(a),
    )
}

/// Average requests in flight.
pub fn request_concurrency(a: &AppsOverview, p: &Palette) -> Chart {
    over_span(
        p,
        "in flight",
        "{value}",
        vec![Line::new()
            .name("Average in flight")
            .area_style(AreaStyle::new().opacity(0.2))
            .data(request_points(a, |f| Some(f.concurrency)))],
        span(a),
    )
}

/// Rating colours, the same in both themes (green, amber, red as web.dev draws them).
pub fn rating_color(r: Rating) -> &'static str {
    match r {
        Rating::Good => "#1f9d62",
        Rating::NeedsImprovement => "#d98a00",
        Rating::Poor => "#d64545",
    }
}

/// A vital's distribution: one bar per bin, coloured by the rating of its values.
pub fn vital_distribution(v: &VitalSummary, p: &Palette) -> Chart {
    let label = |x: f64| crate::format::vital(x, &v.unit);
    let names: Vec<String> = v
        .bins
        .iter()
        .map(|b| match b.hi {
            Some(_) => label(b.lo),
            None => format!("≥ {}", label(b.lo)),
        })
        .collect();
    let bars: Vec<charming::datatype::DataPoint> = v
        .bins
        .iter()
        .map(|b| {
            charming::datatype::DataPointItem::new(b.count as i64)
                .item_style(ItemStyle::new().color(rating_color(b.rating)))
                .into()
        })
        .collect();
    base(p)
        .tooltip(tooltip(Trigger::Axis))
        .grid(Grid::new().left(48).right(16).top(32).bottom(48))
        .x_axis(
            Axis::new()
                .type_(AxisType::Category)
                .data(names)
                .name(if v.unit.is_empty() { "score" } else { "from" })
                .name_location(NameLocation::End)
                .name_text_style(TextStyle::new().color(p.muted.as_str()))
                .axis_label(AxisLabel::new().color(p.muted.as_str())),
        )
        .y_axis(value_axis(p, "page loads", "{value}"))
        .series(Bar::new().name("Page loads").bar_width("85%").data(bars))
}

/// Errors per bucket: the four most frequent script errors, the other ones, and failed API
/// calls, stacked.
pub fn browser_errors(f: &FrontendOverview, p: &Palette) -> Chart {
    let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis() as f64;
    let starts: Vec<f64> = f.series.iter().map(|b| ms(b.start)).collect();
    let points = |counts: Vec<u64>| -> Vec<Vec<f64>> {
        starts
            .iter()
            .zip(counts)
            .map(|(t, c)| vec![*t, c as f64])
            .collect()
    };
    let scripts: Vec<_> = f.errors.iter().filter(|g| g.kind == "error").collect();
    let mut bars = Vec::new();
    let mut named = vec![0u64; starts.len()];
    for g in scripts.iter().take(4) {
        let short: String = g.message.chars().take(40).collect();
        for (n, c) in named.iter_mut().zip(&g.counts) {
            *n += c;
        }
        bars.push(
            Bar::new()
                .name(short)
                .stack("errors")
                .data(points(g.counts.clone())),
        );
    }
    let other: Vec<u64> = f
        .series
        .iter()
        .zip(&named)
        .map(|(b, n)| b.errors.saturating_sub(*n))
        .collect();
    if other.iter().any(|c| *c > 0) {
        bars.push(
            Bar::new()
                .name("Other errors")
                .stack("errors")
                .data(points(other)),
        );
    }
    bars.push(
        Bar::new()
            .name("Failed API calls")
            .stack("errors")
            .data(points(f.series.iter().map(|b| b.api_failures).collect())),
    );
    let (from, to) = (ms(f.from), ms(f.to));
    let mut chart = base(p)
        .tooltip(tooltip(Trigger::Axis))
        .legend(legend(p))
        .grid(Grid::new().left(48).right(24).top(56).bottom(40))
        .x_axis(
            time_axis(p)
                .min(from)
                .max(to)
                .split_number(5)
                .min_interval((to - from) / 6.0),
        )
        .y_axis(value_axis(p, "errors", "{value}"));
    for b in bars {
        chart = chart.series(b);
    }
    chart
}

/// One line per pool of a figure from the database overview's minutes.
fn pool_lines(
    d: &DatabaseOverview,
    what: &str,
    value: impl Fn(&crate::types::database::PoolPoint) -> f64,
) -> Vec<Line> {
    let mut pools: Vec<&str> = d.series.iter().map(|p| p.pool.as_str()).collect();
    pools.dedup();
    pools
        .into_iter()
        .map(|pool| {
            let data: Vec<Vec<f64>> = d
                .series
                .iter()
                .filter(|p| p.pool == pool)
                .map(|p| {
                    vec![
                        p.bucket.timestamp_millis() as f64,
                        (value(p) * 100.0).round() / 100.0,
                    ]
                })
                .collect();
            Line::new().name(format!("{pool} {what}")).data(data)
        })
        .collect()
}

fn db_span(d: &DatabaseOverview) -> Option<(f64, f64)> {
    Some((
        d.from.timestamp_millis() as f64,
        d.to.timestamp_millis() as f64,
    ))
}

/// Connections in use per pool (average over each minute, and the peak).
pub fn db_connections(d: &DatabaseOverview, p: &Palette) -> Chart {
    let mut lines = pool_lines(d, "in use", |m| m.in_use_avg);
    lines.extend(
        pool_lines(d, "peak", |m| f64::from(m.in_use_max))
            .into_iter()
            .map(|l| l.line_style(LineStyle::new().type_(LineStyleType::Dashed))),
    );
    over_span(p, "connections", "{value}", lines, db_span(d))
}

/// Average and longest time to get a connection, per pool, in ms.
pub fn db_acquire(d: &DatabaseOverview, p: &Palette) -> Chart {
    let mut lines = pool_lines(d, "average", |m| m.acquire_avg_ms);
    lines.extend(
        pool_lines(d, "max", |m| m.acquire_max_ms)
            .into_iter()
            .map(|l| l.line_style(LineStyle::new().type_(LineStyleType::Dashed))),
    );
    over_span(p, "ms", "{value}", lines, db_span(d))
}

/// Statements over the threshold per minute, per pool.
pub fn db_slow(d: &DatabaseOverview, p: &Palette) -> Chart {
    let lines = pool_lines(d, "slow", |m| m.slow_queries as f64)
        .into_iter()
        .map(|l| l.step(Step::End))
        .collect();
    over_span(p, "statements/min", "{value}", lines, db_span(d))
}

/// One line of a model's health series; gaps where the bucket had no value.
fn health_line(
    m: &ModelHealth,
    name: &str,
    scale: f64,
    read: fn(&HealthPoint) -> Option<f64>,
) -> Line {
    let data: Vec<Vec<Option<f64>>> = m
        .series
        .iter()
        .map(|p| {
            let t = p.time.timestamp_millis() as f64;
            vec![
                Some(t),
                read(p).map(|v| (v * scale * 100.0).round() / 100.0),
            ]
        })
        .collect();
    Line::new().name(name).connect_nulls(false).data(data)
}

fn health_span(m: &ModelHealth, from: f64, to: f64) -> Option<(f64, f64)> {
    (!m.series.is_empty()).then_some((from, to))
}

/// A model's prompt-cache hit rate and context-window use, in percent.
pub fn model_cache(m: &ModelHealth, span: (f64, f64), p: &Palette) -> Chart {
    let lines = vec![
        health_line(m, "cache hit rate", 100.0, |p| p.cache_hit_rate),
        health_line(m, "context window used", 100.0, |p| p.context_use),
    ];
    over_span(p, "%", "{value} %", lines, health_span(m, span.0, span.1))
}

/// A model's time to first token (p50, p95), in ms, with p95's usual band (dashed) and
/// the buckets outside it marked.
pub fn model_ttft(m: &ModelHealth, span: (f64, f64), p: &Palette) -> Chart {
    let dashed = || LineStyle::new().type_(LineStyleType::Dashed).width(1);
    let marks: Vec<Vec<Option<f64>>> = m
        .series
        .iter()
        .map(|pt| {
            let t = pt.time.timestamp_millis() as f64;
            vec![Some(t), pt.ttft_anomaly.then_some(pt.ttft_p95_ms).flatten()]
        })
        .collect();
    let lines = vec![
        health_line(m, "TTFT p50", 1.0, |p| p.ttft_p50_ms),
        health_line(m, "TTFT p95", 1.0, |p| p.ttft_p95_ms),
        health_line(m, "usual p95 (low)", 1.0, |p| p.ttft_p95_low).line_style(dashed()),
        health_line(m, "usual p95 (high)", 1.0, |p| p.ttft_p95_high).line_style(dashed()),
    ];
    over_span(p, "ms", "{value} ms", lines, health_span(m, span.0, span.1))
        .series(Scatter::new().name("unusual").symbol_size(10).data(marks))
}

/// A model's output speed, in tokens per second.
pub fn model_speed(m: &ModelHealth, span: (f64, f64), p: &Palette) -> Chart {
    let lines = vec![health_line(m, "tokens/s", 1.0, |p| p.tokens_per_second)];
    over_span(
        p,
        "tokens/s",
        "{value}",
        lines,
        health_span(m, span.0, span.1),
    )
}

/// A model's mean quality score (0 to 100) and user rating scaled to it (1 to 5 × 20).
pub fn model_quality(m: &ModelHealth, span: (f64, f64), p: &Palette) -> Chart {
    let lines = vec![
        health_line(m, "quality score", 1.0, |p| p.avg_quality),
        health_line(m, "user rating × 20", 20.0, |p| p.avg_rating),
    ];
    over_span(
        p,
        "score (0–100)",
        "{value}",
        lines,
        health_span(m, span.0, span.1),
    )
}

/// Workers per state, stacked, one step per minute.
pub fn worker_states(d: &WorkersOverview, p: &Palette) -> Chart {
    let lines = WorkerState::ALL
        .iter()
        .map(|s| {
            let data: Vec<Vec<f64>> = d
                .series
                .iter()
                .map(|pt| {
                    vec![
                        pt.time.timestamp_millis() as f64,
                        f64::from(pt.counts.get(*s)),
                    ]
                })
                .collect();
            Line::new()
                .name(s.as_str())
                .stack("workers")
                .step(Step::End)
                .area_style(AreaStyle::new().opacity(0.35))
                .data(data)
        })
        .collect();
    let span = Some((
        d.from.timestamp_millis() as f64,
        d.to.timestamp_millis() as f64,
    ));
    // Whole workers: no 0.2 ticks.
    let y = value_axis(p, "workers", "{value}").min_interval(1.0);
    over_span_on(p, y, lines, span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{BucketFigures, Figures};
    use chrono::{Duration, Utc};

    fn ov() -> Overview {
        let from = Utc::now();
        let g = |key: &str, requests, cost, tps, q| GroupFigures {
            key: key.into(),
            totals: Figures {
                requests,
                cost_micros: cost,
                tokens_per_second: tps,
                avg_quality: q,
                p95_latency_ms: Some(812.0),
                ..Default::default()
            },
            previous: Figures::default(),
            buckets: vec![],
        };
        Overview {
            from,
            to: from + Duration::hours(1),
            previous_from: from - Duration::hours(1),
            tz: "UTC".into(),
            bucket: crate::types::BucketSize::Minute,
            relative_error: 0.02,
            totals: Figures::default(),
            previous: Figures::default(),
            series: vec![BucketFigures {
                start: from,
                figures: Figures {
                    input_tokens: 5,
                    output_tokens: 9,
                    cost_micros: 1_230_000,
                    ..Default::default()
                },
            }],
            by_model: vec![
                g("gpt-4o", 2000, 4_000_000, Some(80.0), Some(88.0)),
                g("local", 10, 0, Some(30.0), None),
            ],
            by_provider: vec![g("openai", 2000, 4_000_000, None, None)],
            bands: vec![],
        }
    }

    fn json(c: &Chart) -> String {
        serde_json::to_string(c).unwrap()
    }

    #[test]
    fn the_ttft_chart_draws_the_usual_band_and_marks_what_left_it() {
        use crate::types::models::{HealthPoint, ModelHealth};
        let t = Utc::now();
        let pt = |ms: f64, anomaly: bool| HealthPoint {
            time: t,
            requests: 1,
            context_use: None,
            cache_hit_rate: None,
            tokens_per_second: None,
            ttft_p50_ms: Some(ms / 2.0),
            ttft_p95_ms: Some(ms),
            avg_quality: None,
            avg_rating: None,
            ttft_p95_low: Some(100.0),
            ttft_p95_high: Some(300.0),
            ttft_anomaly: anomaly,
        };
        let m = ModelHealth {
            provider: "p".into(),
            model: "m".into(),
            requests: 2,
            context_window: None,
            avg_input_tokens: None,
            context_use: None,
            cache_hit_rate: None,
            tokens_per_second: None,
            ttft_p50_ms: None,
            ttft_p95_ms: None,
            avg_quality: None,
            avg_rating: None,
            rated_calls: 0,
            ttft_anomalies: 1,
            series: vec![pt(200.0, false), pt(900.0, true)],
            drift: vec![],
        };
        let j = json(&model_ttft(&m, (0.0, 1.0), &Palette::default()));
        assert!(
            j.contains("usual p95 (high)") && j.contains("dashed"),
            "{j}"
        );
        assert!(j.contains("\"unusual\""), "{j}");
        // Only the bucket outside the band is marked.
        assert!(j.contains("900.0") || j.contains("900"), "{j}");
        assert_eq!(j.matches("\"type\":\"scatter\"").count(), 1, "{j}");
    }

    #[test]
    fn axes_carry_units_and_time_axes_zoom() {
        let p = Palette::default();
        let tokens = json(&tokens_over_time(&ov(), &p));
        assert!(tokens.contains("\"name\":\"tokens\""));
        assert!(tokens.contains("\"type\":\"time\""));
        assert!(tokens.contains("dataZoom"));
        let cost = json(&cost_over_time(&ov(), &p));
        assert!(cost.contains("${value}"));
        assert!(cost.contains("1.23"));
        let bars = json(&model_comparison(&ov(), ModelMetric::LatencyP95, &p));
        assert!(bars.contains("{value} ms"));
        assert!(bars.contains("812"));
    }

    #[test]
    fn overview_charts_draw_the_usual_band_and_mark_only_what_rose_above_it() {
        let mut o = ov();
        let start = o.series[0].start;
        let band = |lower, upper| Some(Band { lower, upper });
        o.series[0].figures.p95_latency_ms = Some(2400.0);
        o.series[0].figures.requests = 10;
        o.series[0].figures.error_rate = 0.01;
        o.bands = vec![BucketBands {
            start,
            cost_usd: band(0.5, 1.0),
            total_tokens: band(0.0, 100.0),
            p95_latency_ms: band(700.0, 900.0),
            error_rate: band(0.0, 0.02),
        }];
        let p = Palette::default();
        let cost = json(&cost_over_time(&o, &p));
        assert!(
            cost.contains("usual range") && cost.contains("dashed"),
            "{cost}"
        );
        assert_eq!(cost.matches("\"type\":\"scatter\"").count(), 1);
        let latency = json(&latency_over_time(&o, &p));
        assert!(
            latency.contains("{value} ms") && latency.contains("2400"),
            "{latency}"
        );
        let errors = json(&errors_over_time(&o, &p));
        assert!(errors.contains("{value} %") && errors.contains("usual range"));
        // $1.23 is above the $1.00 edge and 2400 ms above 900 ms: marked; 1 % errors lies
        // inside 0 to 2 %: not.
        let cost_usd = |f: &Figures| Some(f.cost_micros as f64 / 1e6);
        assert_eq!(above_band(&o, &cost_usd, &|b| b.cost_usd), vec![Some(1.23)]);
        assert_eq!(
            above_band(&o, &|f| f.p95_latency_ms, &|b| b.p95_latency_ms),
            vec![Some(2400.0)]
        );
        assert_eq!(
            above_band(&o, &|f| Some(f.error_rate), &|b| b.error_rate),
            vec![None]
        );
    }

    #[test]
    fn cost_per_thousand_calls_and_scatter_points() {
        let o = ov();
        assert_eq!(ModelMetric::CostPer1k.value(&o.by_model[0]), 2.0);
        let scatter = json(&speed_vs_quality(&o, &Palette::default()));
        assert!(scatter.contains("gpt-4o"));
        // A model without quality scores has no point.
        assert!(!scatter.contains("\"local\""));
        let pie = json(&cost_by_provider(&o, &Palette::default()));
        assert!(pie.contains("openai"));
    }
}

/// What a benchmark bar chart compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchMetric {
    TtfbP50,
    TotalP50,
    TokensPerSecond,
    Cost,
    Quality,
}

impl BenchMetric {
    pub const ALL: [BenchMetric; 5] = [
        BenchMetric::TtfbP50,
        BenchMetric::TotalP50,
        BenchMetric::TokensPerSecond,
        BenchMetric::Cost,
        BenchMetric::Quality,
    ];

    pub fn label(self) -> &'static str {
        match self {
            BenchMetric::TtfbP50 => "Time to first byte, p50",
            BenchMetric::TotalP50 => "Total time, p50",
            BenchMetric::TokensPerSecond => "Output tokens per second",
            BenchMetric::Cost => "Cost",
            BenchMetric::Quality => "Quality",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            BenchMetric::TtfbP50 => "ttfb",
            BenchMetric::TotalP50 => "total",
            BenchMetric::TokensPerSecond => "speed",
            BenchMetric::Cost => "cost",
            BenchMetric::Quality => "quality",
        }
    }

    /// Axis name and label format.
    fn unit(self) -> (&'static str, &'static str) {
        match self {
            BenchMetric::TtfbP50 | BenchMetric::TotalP50 => ("ms", "{value} ms"),
            BenchMetric::TokensPerSecond => ("tokens/s", "{value}"),
            BenchMetric::Cost => ("USD", "${value}"),
            BenchMetric::Quality => ("score (0–1)", "{value}"),
        }
    }

    pub fn value(self, m: &BenchModelResult) -> Option<f64> {
        match self {
            BenchMetric::TtfbP50 => m.ttfb_p50_ms.map(|v| (v * 10.0).round() / 10.0),
            BenchMetric::TotalP50 => m.total_p50_ms.map(|v| (v * 10.0).round() / 10.0),
            BenchMetric::TokensPerSecond => m.tokens_per_s.map(|v| (v * 10.0).round() / 10.0),
            BenchMetric::Cost => m.cost.map(|v| (v * 1e6).round() / 1e6),
            BenchMetric::Quality => m.quality.map(|v| (v * 1000.0).round() / 1000.0),
        }
    }
}

/// One bar per model of a benchmark run for `metric` (none where it was not measured).
pub fn bench_bars(models: &[BenchModelResult], metric: BenchMetric, p: &Palette) -> Chart {
    let (name, label) = metric.unit();
    base(p)
        .tooltip(tooltip(Trigger::Axis))
        .grid(Grid::new().left(64).right(24).top(40).bottom(72))
        .x_axis(
            Axis::new()
                .type_(AxisType::Category)
                .data(models.iter().map(|m| m.model.clone()).collect())
                .axis_label(AxisLabel::new().color(p.muted.as_str()).rotate(15)),
        )
        .y_axis(value_axis(p, name, label))
        .series(
            Bar::new().name(metric.label()).bar_width("40%").data(
                models
                    .iter()
                    .map(|m| metric.value(m).unwrap_or(0.0))
                    .collect(),
            ),
        )
}

/// Output speed against quality (0–1), one point per model that has both.
pub fn bench_speed_quality(models: &[BenchModelResult], p: &Palette) -> Chart {
    let points = models
        .iter()
        .filter_map(|m| Some((m.model.as_str(), m.tokens_per_s?, m.quality?)));
    speed_quality(points, "quality (0–1)", Some((0.0, 1.0)), p)
}
