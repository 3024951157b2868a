//! The usage summary PDF (`GET /reports/usage`): hours per group as a table with a total row,
//! then as a bar chart of billable and non-billable time.

use std::collections::BTreeMap;

use crate::documents::model::UsageRow;
use crate::documents::pdf::error::PdfError;
use crate::documents::pdf::fonts::{fonts, Face};
use crate::documents::pdf::format::{hmm, range_text, trim_float};
use crate::documents::pdf::layout::{title_block, Align, Builder, Paper, BLACK, GREY, MARGIN_X, RULE};
use crate::documents::pdf::table::{layout_columns, table, Cell, Column};

/// The usage summary (`GET /reports/usage`) as a PDF: a table and a bar chart of hours per group.
pub fn usage_pdf(
    title: &str,
    from: &str,
    to: &str,
    group_by: &str,
    rows: &[UsageRow],
    paper: Paper,
) -> Result<Vec<u8>, PdfError> {
    let fonts = fonts()?;
    let mut b = Builder::new(fonts, paper);
    let range = range_text(from, to);
    b.footer_left = format!("{title} · {range}");
    b.running_header = format!("{title} — {range} (continued)");
    b.start_page(true);
    usage_body(&mut b, title, &range, group_by, rows);
    b.finish(title, "supportbill", from)
}

fn usage_body(b: &mut Builder, title: &str, range: &str, group_by: &str, rows: &[UsageRow]) {
    title_block(b, title, &[format!("Range: {range}"), format!("Grouped by: {}", group_by.replace('_', " "))]);
    let cols = layout_columns(
        b,
        vec![
            Column { title: "Group", width: 0.0, align: Align::Left, wrap: true },
            Column { title: "Entries", width: 34.0, align: Align::Right, wrap: false },
            Column { title: "Time", width: 42.0, align: Align::Right, wrap: false },
            Column { title: "Billable", width: 44.0, align: Align::Right, wrap: false },
            Column { title: "Non-billable", width: 58.0, align: Align::Right, wrap: false },
            Column { title: "Billed", width: 46.0, align: Align::Right, wrap: false },
            Column { title: "After hours", width: 54.0, align: Align::Right, wrap: false },
            Column { title: "Tickets", width: 36.0, align: Align::Right, wrap: false },
            Column { title: "Escalations", width: 100.0, align: Align::Left, wrap: true },
        ],
    );
    let hm = |m: u64| hmm(m as f64);
    let escalations = |e: &BTreeMap<String, u64>| {
        if e.is_empty() {
            "—".to_string()
        } else {
            e.iter().map(|(k, v)| format!("{} {v}", k.replace('_', " "))).collect::<Vec<_>>().join(", ")
        }
    };
    let mut table_rows: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::plain(if r.label.is_empty() { r.key.clone() } else { r.label.clone() }),
                Cell::plain(r.entries.to_string()),
                Cell::plain(hm(r.minutes)),
                Cell::plain(hm(r.billable_minutes)),
                Cell::plain(hm(r.non_billable_minutes)),
                Cell::plain(hm(r.billed_minutes)),
                Cell::plain(hm(r.after_hours_minutes)),
                Cell::plain(r.tickets.to_string()),
                Cell::plain(escalations(&r.escalations)),
            ]
        })
        .collect();
    if rows.len() > 1 {
        let sum = |f: fn(&UsageRow) -> u64| rows.iter().map(f).sum::<u64>();
        let mut esc = BTreeMap::new();
        for r in rows {
            for (k, v) in &r.escalations {
                *esc.entry(k.clone()).or_insert(0) += v;
            }
        }
        let bold = |s: String| Cell { text: s, face: Face::Bold, color: BLACK };
        table_rows.push(vec![
            bold("All groups".into()),
            bold(sum(|r| r.entries).to_string()),
            bold(hm(sum(|r| r.minutes))),
            bold(hm(sum(|r| r.billable_minutes))),
            bold(hm(sum(|r| r.non_billable_minutes))),
            bold(hm(sum(|r| r.billed_minutes))),
            bold(hm(sum(|r| r.after_hours_minutes))),
            bold(sum(|r| r.tickets).to_string()),
            bold(escalations(&esc)),
        ]);
    }
    if rows.is_empty() {
        table(b, &cols, Vec::new(), 0.0);
        b.paragraph(Face::Regular, 8.5, GREY, MARGIN_X, b.content_width(), "No support time recorded in this range.");
        return;
    }
    table(b, &cols, table_rows, 0.0);
    b.paragraph(
        Face::Regular,
        7.5,
        GREY,
        MARGIN_X,
        b.content_width(),
        "Times as h:mm. Time: raw minutes of all entries; billable / non-billable split them by the billable flag; \
         billed: rounded minutes of the chargeable entries; after hours: raw minutes outside the plans' hours of service.",
    );
    b.y += 12.0;
    usage_chart(b, rows);
}

const BILLABLE: (f32, f32, f32) = (0.16, 0.42, 0.75);
const NON_BILLABLE: (f32, f32, f32) = (0.96, 0.62, 0.25);

fn usage_chart(b: &mut Builder, rows: &[UsageRow]) {
    let bar_h = 9.0;
    let row_h = 15.0;
    let head_h = 44.0;
    let label_w = 130.0;
    let value_w = 44.0;
    let chart_x = MARGIN_X + label_w + 6.0;
    let chart_w = b.content_width() - label_w - 6.0 - value_w;
    let max_minutes = rows.iter().map(|r| r.billable_minutes + r.non_billable_minutes).max().unwrap_or(0).max(1);
    // A round scale: ticks at whole hours (or multiples).
    let max_hours = (max_minutes as f64 / 60.0).max(1.0);
    let step = nice_step(max_hours / 5.0);
    let scale_max = (max_hours / step).ceil() * step;
    let x_of = |minutes: f64| chart_x + (minutes / 60.0 / scale_max) as f32 * chart_w;

    let chart_head = |b: &mut Builder, cont: bool| {
        let title = if cont { "Hours per group (continued)" } else { "Hours per group" };
        b.text(Face::Bold, 10.0, BLACK, MARGIN_X, b.y + 10.0, Align::Left, title);
        // Legend.
        let ly = b.y + 16.0;
        b.rect(MARGIN_X, ly + 1.0, 8.0, 8.0, BILLABLE);
        b.text(Face::Regular, 8.0, BLACK, MARGIN_X + 11.0, ly + 8.0, Align::Left, "Billable");
        b.rect(MARGIN_X + 60.0, ly + 1.0, 8.0, 8.0, NON_BILLABLE);
        b.text(Face::Regular, 8.0, BLACK, MARGIN_X + 71.0, ly + 8.0, Align::Left, "Non-billable");
        // Axis with hour ticks.
        let ay = b.y + head_h - 4.0;
        let mut t = 0.0;
        while t <= scale_max + 1e-9 {
            let x = x_of(t * 60.0);
            b.text(Face::Regular, 7.0, GREY, x, ay - 3.0, Align::Center, &format!("{}h", trim_float(t)));
            t += step;
        }
        b.y += head_h;
    };

    b.ensure(head_h + row_h * rows.len().min(3) as f32);
    chart_head(b, false);
    for (i, r) in rows.iter().enumerate() {
        if b.remaining() < row_h {
            b.new_page();
            chart_head(b, true);
        }
        let label = if r.label.is_empty() { r.key.clone() } else { r.label.clone() };
        let by = b.y + (row_h - bar_h) / 2.0;
        let row_top = b.y;
        b.y += row_h;
        chart_grid(b, x_of, step, scale_max, row_top);
        b.y = row_top;
        b.text_fit(Face::Regular, 8.0, BLACK, MARGIN_X, by + 7.5, label_w, Align::Left, &label);
        let x0 = x_of(0.0);
        let x1 = x_of(r.billable_minutes as f64);
        let x2 = x_of((r.billable_minutes + r.non_billable_minutes) as f64);
        if x1 > x0 {
            b.rect(x0, by, x1 - x0, bar_h, BILLABLE);
        }
        if x2 > x1 {
            b.rect(x1, by, x2 - x1, bar_h, NON_BILLABLE);
        }
        let value = hmm((r.billable_minutes + r.non_billable_minutes) as f64);
        let vw = b.fonts.width(Face::Regular, 7.5, &value);
        b.rect(x2 + 1.5, by, vw + 3.0, bar_h, (1.0, 1.0, 1.0));
        b.text(Face::Regular, 7.5, GREY, x2 + 3.0, by + 7.5, Align::Left, &value);
        b.y += row_h;
        let _ = i;
    }
    b.y += 6.0;
}

/// Vertical grid lines of the chart section between `top` and the cursor.
fn chart_grid(b: &mut Builder, x_of: impl Fn(f64) -> f32, step: f64, scale_max: f64, top: f32) {
    let mut t = 0.0;
    while t <= scale_max + 1e-9 {
        let x = x_of(t * 60.0);
        let (w, c) = if t == 0.0 { (0.8, GREY) } else { (0.3, RULE) };
        b.line(x, top, x, b.y, w, c);
        t += step;
    }
}

fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(0.25);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}
