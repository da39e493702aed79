//! The PDF report (pure): a summary of the range (requests, tokens, cost, p95 latency, error
//! rate, budget use), cost and tokens over time as bar charts, and tables by model, by
//! provider and of the budgets. Written with pdf-writer (typst's low-level PDF writer) and
//! the standard Helvetica fonts every PDF reader has, so nothing is embedded or downloaded;
//! text outside printable ASCII is shown as `?`.

use app::types::{BucketFigures, Figures, GroupFigures};
use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};

use super::report::usd;

/// What a PDF report shows.
#[derive(Debug, Clone)]
pub struct PdfReport {
    pub title: String,
    /// "2026-11-06 00:00 to 2026-12-06 00:00 (Europe/Berlin), by day".
    pub subtitle: String,
    pub totals: Figures,
    /// One bar per bucket; the label is its start as people read it.
    pub series: Vec<(String, BucketFigures)>,
    pub by_model: Vec<GroupFigures>,
    pub by_provider: Vec<GroupFigures>,
    pub budgets: Vec<BudgetLine>,
}

/// One budget as the report lists it.
#[derive(Debug, Clone)]
pub struct BudgetLine {
    pub name: String,
    pub period: String,
    pub spent: String,
    pub limit: String,
    pub percent: f64,
}

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 48.0;
/// Table rows per group table; the rest are summed into one line.
const MAX_ROWS: usize = 15;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
const INK: (f32, f32, f32) = (0.11, 0.13, 0.17);
const MUTED: (f32, f32, f32) = (0.42, 0.45, 0.5);
const ACCENT: (f32, f32, f32) = (0.23, 0.39, 0.85);
const RULE: (f32, f32, f32) = (0.85, 0.87, 0.9);

/// Printable ASCII, the rest as `?` (the standard fonts' encoding covers ASCII).
fn ascii(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| {
            if (' '..='~').contains(&c) {
                c as u8
            } else {
                b'?'
            }
        })
        .collect()
}

/// Helvetica's advance widths (per 1000 em) for what the report writes right-aligned:
/// digits and number punctuation exactly, other characters approximately.
fn text_width(s: &str, size: f32) -> f32 {
    let units: u32 = s
        .chars()
        .map(|c| match c {
            '0'..='9' | '$' => 556,
            '.' | ',' | ' ' => 278,
            '%' => 889,
            '-' => 333,
            'i' | 'l' | 'j' | 't' | 'f' | 'r' => 300,
            'm' | 'w' | 'M' | 'W' => 850,
            _ => 560,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// Ends `s` with `…` (as `...`) so it fits `width` at `size`.
fn fit(s: &str, size: f32, width: f32) -> String {
    if text_width(s, size) <= width {
        return s.to_owned();
    }
    let mut out: String = s.to_owned();
    while !out.is_empty() && text_width(&out, size) + text_width("...", size) > width {
        out.pop();
    }
    format!("{out}...")
}

pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

fn latency(ms: Option<f64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms >= 1000.0 => format!("{:.2} s", ms / 1000.0),
        Some(ms) => format!("{ms:.0} ms"),
    }
}

fn percent(f: f64) -> String {
    format!("{:.1}%", f * 100.0)
}

/// USD with cents, or with micro-dollars below a cent (but not for nothing).
pub fn money(micros: i64) -> String {
    if micros == 0 || micros.abs() >= 10_000 {
        format!(
            "${}.{:02}",
            count(micros / 1_000_000),
            (micros.abs() % 1_000_000) / 10_000
        )
    } else {
        format!("${}", usd(micros))
    }
}

/// A page being drawn, top to bottom.
struct Page {
    content: Content,
    y: f32,
}

impl Page {
    fn new() -> Self {
        Page {
            content: Content::new(),
            y: HEIGHT - MARGIN,
        }
    }

    fn text(&mut self, font: Name, size: f32, x: f32, y: f32, color: (f32, f32, f32), s: &str) {
        let bytes = ascii(s);
        self.content
            .set_fill_rgb(color.0, color.1, color.2)
            .begin_text()
            .set_font(font, size)
            .next_line(x, y)
            .show(Str(&bytes))
            .end_text();
    }

    fn right(&mut self, font: Name, size: f32, right: f32, y: f32, s: &str) {
        let x = right - text_width(s, size);
        self.text(font, size, x, y, INK, s);
    }

    fn rule(&mut self, y: f32) {
        self.content
            .set_stroke_rgb(RULE.0, RULE.1, RULE.2)
            .set_line_width(0.6)
            .move_to(MARGIN, y)
            .line_to(WIDTH - MARGIN, y)
            .stroke();
    }

    fn heading(&mut self, s: &str) {
        self.y -= 26.0;
        self.text(BOLD, 13.0, MARGIN, self.y, INK, s);
        self.y -= 8.0;
    }

    /// Summary figures in boxes, three to a row.
    fn stats(&mut self, stats: &[(&str, String)]) {
        let gap = 10.0;
        let w = (WIDTH - 2.0 * MARGIN - 2.0 * gap) / 3.0;
        let h = 50.0;
        for (i, (label, value)) in stats.iter().enumerate() {
            let x = MARGIN + (i % 3) as f32 * (w + gap);
            let top = self.y - (i / 3) as f32 * (h + gap);
            self.content
                .set_stroke_rgb(RULE.0, RULE.1, RULE.2)
                .set_line_width(0.8)
                .rect(x, top - h, w, h)
                .stroke();
            self.text(REGULAR, 9.0, x + 10.0, top - 17.0, MUTED, label);
            self.text(BOLD, 16.0, x + 10.0, top - 38.0, INK, value);
        }
        let rows = stats.len().div_ceil(3) as f32;
        self.y -= rows * (h + gap);
    }

    /// Bars of `values` (one per bucket) with the largest labelled; first and last labels.
    fn bars(&mut self, values: &[f64], labels: &[String], format: impl Fn(f64) -> String) {
        let h = 120.0;
        let bottom = self.y - h - 14.0;
        let left = MARGIN + 48.0;
        let width = WIDTH - MARGIN - left;
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        self.text(REGULAR, 8.0, MARGIN, bottom + h - 6.0, MUTED, &format(max));
        self.text(REGULAR, 8.0, MARGIN, bottom, MUTED, &format(0.0));
        self.content
            .set_stroke_rgb(RULE.0, RULE.1, RULE.2)
            .set_line_width(0.6)
            .move_to(left, bottom + h)
            .line_to(left + width, bottom + h)
            .move_to(left, bottom)
            .line_to(left + width, bottom)
            .stroke();
        if !values.is_empty() && max > 0.0 {
            let slot = width / values.len() as f32;
            let bar = (slot * 0.7).max(0.5);
            self.content.set_fill_rgb(ACCENT.0, ACCENT.1, ACCENT.2);
            for (i, v) in values.iter().enumerate() {
                let bh = (v / max) as f32 * h;
                if bh > 0.0 {
                    let x = left + i as f32 * slot + (slot - bar) / 2.0;
                    self.content.rect(x, bottom, bar, bh).fill_nonzero();
                }
            }
        }
        if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
            self.text(REGULAR, 8.0, left, bottom - 11.0, MUTED, first);
            let w = text_width(last, 8.0);
            self.text(REGULAR, 8.0, left + width - w, bottom - 11.0, MUTED, last);
        }
        self.y = bottom - 16.0;
    }

    /// A table: the first column left-aligned, the others right-aligned at `stops`.
    fn table(&mut self, header: &[&str], stops: &[f32], rows: &[Vec<String>]) {
        let size = 9.0;
        self.y -= 14.0;
        self.text(BOLD, size, MARGIN, self.y, MUTED, header[0]);
        for (h, stop) in header[1..].iter().zip(stops) {
            let x = stop - text_width(h, size);
            self.text(BOLD, size, x, self.y, MUTED, h);
        }
        self.y -= 5.0;
        self.rule(self.y);
        let first_width = stops.first().copied().unwrap_or(WIDTH - MARGIN) - MARGIN - 90.0;
        for row in rows {
            self.y -= 14.0;
            let name = fit(&row[0], size, first_width.max(60.0));
            self.text(REGULAR, size, MARGIN, self.y, INK, &name);
            for (cell, stop) in row[1..].iter().zip(stops) {
                self.right(REGULAR, size, *stop, self.y, cell);
            }
        }
    }
}

fn group_rows(groups: &[GroupFigures]) -> Vec<Vec<String>> {
    let row = |name: &str, f: &Figures| {
        vec![
            name.to_owned(),
            count(f.requests as i64),
            count(f.total_tokens),
            money(f.cost_micros),
            latency(f.p95_latency_ms),
            percent(f.error_rate),
        ]
    };
    let mut rows: Vec<Vec<String>> = groups
        .iter()
        .take(MAX_ROWS)
        .map(|g| {
            let name = if g.key.is_empty() { "(none)" } else { &g.key };
            row(name, &g.totals)
        })
        .collect();
    let rest = &groups[groups.len().min(MAX_ROWS)..];
    if !rest.is_empty() {
        let mut f = Figures::default();
        for g in rest {
            f.requests += g.totals.requests;
            f.total_tokens += g.totals.total_tokens;
            f.cost_micros += g.totals.cost_micros;
        }
        let mut r = row(&format!("{} more", rest.len()), &f);
        r[4] = "-".into();
        r[5] = "-".into();
        rows.push(r);
    }
    rows
}

/// The report as PDF bytes: two A4 pages.
pub fn render(r: &PdfReport) -> Vec<u8> {
    let stops = [300.0, 370.0, 440.0, 500.0, WIDTH - MARGIN];
    let columns = ["", "Requests", "Tokens", "Cost", "p95 latency", "Errors"];

    let mut first = Page::new();
    first.text(BOLD, 20.0, MARGIN, first.y - 8.0, INK, &r.title);
    first.y -= 28.0;
    first.text(REGULAR, 10.0, MARGIN, first.y, MUTED, &r.subtitle);
    first.y -= 10.0;
    first.heading("Summary");
    first.y -= 4.0;
    let budget = r
        .budgets
        .iter()
        .map(|b| b.percent)
        .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.max(p))));
    let t = &r.totals;
    first.stats(&[
        ("Requests", count(t.requests as i64)),
        ("Tokens", count(t.total_tokens)),
        ("Cost", money(t.cost_micros)),
        ("p95 latency", latency(t.p95_latency_ms)),
        ("Error rate", percent(t.error_rate)),
        (
            "Budget use (highest)",
            budget.map_or_else(|| "no budgets".into(), |p| format!("{p:.0}%")),
        ),
    ]);
    let labels: Vec<String> = r.series.iter().map(|(l, _)| l.clone()).collect();
    first.heading("Cost over time (USD)");
    let cost: Vec<f64> = r
        .series
        .iter()
        .map(|(_, b)| b.figures.cost_micros as f64 / 1e6)
        .collect();
    first.bars(&cost, &labels, |v| format!("${v:.2}"));
    first.heading("Tokens over time");
    let tokens: Vec<f64> = r
        .series
        .iter()
        .map(|(_, b)| b.figures.total_tokens as f64)
        .collect();
    first.bars(&tokens, &labels, |v| count(v.round() as i64));

    let mut second = Page::new();
    second.heading("By model");
    let mut header = columns;
    header[0] = "Model";
    second.table(&header, &stops, &group_rows(&r.by_model));
    second.heading("By provider");
    header[0] = "Provider";
    second.table(&header, &stops, &group_rows(&r.by_provider));
    second.heading("Budgets");
    if r.budgets.is_empty() {
        second.y -= 14.0;
        second.text(REGULAR, 9.0, MARGIN, second.y, MUTED, "No budgets are set.");
    } else {
        let rows: Vec<Vec<String>> = r
            .budgets
            .iter()
            .take(MAX_ROWS)
            .map(|b| {
                vec![
                    b.name.clone(),
                    b.period.clone(),
                    b.spent.clone(),
                    b.limit.clone(),
                    format!("{:.0}%", b.percent),
                ]
            })
            .collect();
        second.table(
            &["Budget", "Period", "Spent", "Limit", "Used"],
            &[330.0, 410.0, 490.0, WIDTH - MARGIN],
            &rows,
        );
    }

    write(vec![first.content, second.content])
}

/// The document around the pages' content streams.
fn write(pages: Vec<Content>) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let ids: Vec<(Ref, Ref)> = (0..pages.len() as i32)
        .map(|i| (Ref::new(5 + 2 * i), Ref::new(6 + 2 * i)))
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(ids.iter().map(|(page, _)| *page))
        .count(pages.len() as i32);
    pdf.type1_font(regular).base_font(Name(b"Helvetica"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold"));
    for ((page_id, content_id), content) in ids.into_iter().zip(pages) {
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
            .parent(tree)
            .contents(content_id);
        let mut resources = page.resources();
        resources.fonts().pair(REGULAR, regular).pair(BOLD, bold);
        drop(resources);
        drop(page);
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn figures(requests: u64, cost: i64) -> Figures {
        Figures {
            requests,
            total_tokens: requests as i64 * 1200,
            cost_micros: cost,
            p95_latency_ms: Some(1834.0),
            error_rate: 0.025,
            ..Default::default()
        }
    }

    fn report(groups: usize) -> PdfReport {
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        PdfReport {
            title: "Sightline report".into(),
            subtitle: "2026-11-01 to 2026-12-01 (UTC), by day".into(),
            totals: figures(123_456, 98_765_432),
            series: (0..30)
                .map(|d| {
                    let s = start + chrono::Duration::days(d);
                    let f = figures(4000 + d as u64, 3_000_000 + d * 1000);
                    (
                        s.format("%b %d").to_string(),
                        BucketFigures {
                            start: s,
                            figures: f,
                        },
                    )
                })
                .collect(),
            by_model: (0..groups)
                .map(|i| GroupFigures {
                    key: format!("model-{i} \u{e9}"),
                    totals: figures(100, 1_000_000),
                    previous: Figures::default(),
                    buckets: vec![],
                })
                .collect(),
            by_provider: vec![],
            budgets: vec![BudgetLine {
                name: "Team (monthly)".into(),
                period: "month".into(),
                spent: "$80.00".into(),
                limit: "$100.00".into(),
                percent: 80.0,
            }],
        }
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(count(-1000), "-1,000");
        assert_eq!(money(98_765_432), "$98.76");
        assert_eq!(money(1_234_000_000), "$1,234.00");
        assert_eq!(money(4_321), "$0.004321");
        assert_eq!(money(0), "$0.00");
        assert_eq!(latency(Some(1834.0)), "1.83 s");
        assert_eq!(latency(Some(84.2)), "84 ms");
        assert_eq!(latency(None), "-");
        assert_eq!(percent(0.025), "2.5%");
    }

    #[test]
    fn long_names_are_cut_to_fit_and_text_is_ascii() {
        let cut = fit(&"x".repeat(200), 9.0, 100.0);
        assert!(
            cut.ends_with("...") && text_width(&cut, 9.0) <= 100.0,
            "{cut}"
        );
        assert_eq!(ascii("caf\u{e9} ok"), b"caf? ok");
    }

    #[test]
    fn a_report_is_a_two_page_pdf_with_its_figures() {
        let pdf = render(&report(20));
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
        assert_eq!(pages, 2);
        for needle in [
            "(123,456)",
            "($98.76)",
            "(1.83 s)",
            "(2.5%)",
            "(80%)",
            "(5 more)",
            "(model-0 ?)",
        ] {
            assert!(text.contains(needle), "{needle} missing");
        }
    }
}
