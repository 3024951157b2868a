//! The invoice register PDF (`GET /reports/invoices`): every invoice and credit note of a
//! range, void ones struck through, and the sums per currency.

use rust_decimal::Decimal;

use crate::documents::model::RegisterRow;
use crate::documents::pdf::error::PdfError;
use crate::documents::pdf::fonts::{fonts, Face};
use crate::documents::pdf::format::{parse_amount, range_text};
use crate::documents::pdf::layout::{title_block, Align, Builder, Paper, BLACK, GREY, MARGIN_X};
use crate::documents::pdf::table::{
    draw_row, layout_columns, row_lines, table_header, Cell, Column, CELL_PAD, TABLE_LEADING, TABLE_SIZE,
};
use crate::domain::vocab::{DocumentKind, InvoiceStatus};

/// The invoice register (`GET /reports/invoices`) as a PDF.
pub fn register_pdf(from: &str, to: &str, rows: &[RegisterRow], paper: Paper) -> Result<Vec<u8>, PdfError> {
    let fonts = fonts()?;
    let mut b = Builder::new(fonts, paper);
    let range = range_text(from, to);
    b.footer_left = format!("Invoice register · {range}");
    b.running_header = format!("Invoice register — {range} (continued)");
    b.start_page(true);
    register_body(&mut b, &range, rows);
    b.finish("Invoice register", "supportbill", from)
}

fn register_body(b: &mut Builder, range: &str, rows: &[RegisterRow]) {
    title_block(b, "Invoice register", &[format!("Invoices issued: {range}"), format!("{} document(s); void invoices are marked and not counted in the sums; credit notes (status \u{201c}credit\u{201d}) count negative.", rows.len())]);
    let cols = layout_columns(
        b,
        vec![
            Column { title: "Number", width: 62.0, align: Align::Left, wrap: false },
            Column { title: "Issued", width: 56.0, align: Align::Left, wrap: false },
            Column { title: "Due", width: 56.0, align: Align::Left, wrap: false },
            Column { title: "Customer", width: 0.0, align: Align::Left, wrap: true },
            Column { title: "Status", width: 36.0, align: Align::Left, wrap: false },
            Column { title: "Cur.", width: 28.0, align: Align::Left, wrap: false },
            Column { title: "Subtotal", width: 58.0, align: Align::Right, wrap: false },
            Column { title: "Tax", width: 50.0, align: Align::Right, wrap: false },
            Column { title: "Total", width: 60.0, align: Align::Right, wrap: false },
        ],
    );
    let table_rows: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let void = r.status == InvoiceStatus::Void;
            let color = if void { GREY } else { BLACK };
            let c = |s: String| Cell { text: s, face: Face::Regular, color };
            vec![
                c(r.number.clone().unwrap_or_else(|| "—".into())),
                c(r.issued_at.as_deref().map(|t| t.get(..10).unwrap_or(t).to_string()).unwrap_or_default()),
                c(r.due_date.clone().unwrap_or_default()),
                c(r.customer_name.clone()),
                Cell {
                    text: if void {
                        "VOID".into()
                    } else if r.kind == DocumentKind::CreditNote {
                        "credit".into()
                    } else {
                        r.status.to_string()
                    },
                    face: if void { Face::Bold } else { Face::Regular },
                    color,
                },
                c(r.currency.to_string()),
                c(r.subtotal.clone()),
                c(r.tax.clone()),
                c(r.total.clone()),
            ]
        })
        .collect();

    // The table, with void rows struck through.
    let header_h = TABLE_LEADING + 6.0;
    table_header(b, &cols);
    let amounts_x = MARGIN_X + cols.iter().take(6).map(|c| c.width).sum::<f32>();
    for (r, cells) in rows.iter().zip(&table_rows) {
        let (lines, h) = row_lines(b, &cols, cells);
        if b.remaining() < h {
            b.new_page();
            let _ = header_h;
            table_header(b, &cols);
        }
        let top = b.y;
        draw_row(b, &cols, cells, &lines, h, true);
        if r.status == InvoiceStatus::Void {
            let mid = top + 2.5 + TABLE_SIZE * 0.65;
            b.line(amounts_x + CELL_PAD, mid, b.right() - CELL_PAD, mid, 0.6, GREY);
        }
    }
    if rows.is_empty() {
        b.paragraph(Face::Regular, 8.5, GREY, MARGIN_X, b.content_width(), "No invoices were issued in this range.");
        return;
    }

    // Sums per currency, void invoices excluded.
    let mut sums: Vec<(String, Decimal, Decimal, Decimal, usize)> = Vec::new();
    for r in rows.iter().filter(|r| r.status != InvoiceStatus::Void) {
        let (Some(s), Some(t), Some(tt)) = (parse_amount(&r.subtotal), parse_amount(&r.tax), parse_amount(&r.total))
        else {
            continue;
        };
        match sums.iter_mut().find(|x| x.0 == r.currency.code()) {
            Some(x) => {
                x.1 += s;
                x.2 += t;
                x.3 += tt;
                x.4 += 1;
            }
            None => sums.push((r.currency.to_string(), s, t, tt, 1)),
        }
    }
    sums.sort_by(|a, b| a.0.cmp(&b.0));
    if sums.is_empty() {
        return;
    }
    b.y += 6.0;
    for (cur, s, t, tt, n) in sums {
        let label = format!("Sum of {n} document(s)");
        let cells = vec![
            Cell::plain(""),
            Cell::plain(""),
            Cell::plain(""),
            Cell::plain(""),
            Cell::plain(""),
            Cell { text: cur, face: Face::Bold, color: BLACK },
            Cell { text: s.to_string(), face: Face::Bold, color: BLACK },
            Cell { text: t.to_string(), face: Face::Bold, color: BLACK },
            Cell { text: tt.to_string(), face: Face::Bold, color: BLACK },
        ];
        // The label spans the first columns.
        let (lines, h) = row_lines(b, &cols, &cells);
        b.ensure(h);
        b.text(Face::Bold, TABLE_SIZE, BLACK, MARGIN_X + CELL_PAD, b.y + 2.5 + TABLE_SIZE, Align::Left, &label);
        draw_row(b, &cols, &cells, &lines, h, false);
    }
}
