//! The invoice PDF: the parties and the invoice's facts at the head, the lines as a table
//! across pages, the totals kept with the last line, then the tax note and the terms. The head
//! and the lines table are shared with the credit note.

use crate::documents::model::{InvoiceDocument, LineDocument};
use crate::documents::pdf::error::PdfError;
use crate::documents::pdf::fonts::{fonts, Face};
use crate::documents::pdf::format::{country_name, hmm_from_minutes, human_date, last_day, trim_percent};
use crate::documents::pdf::layout::{Align, Builder, Paper, ACCENT, BLACK, GREY, MARGIN_X};
use crate::documents::pdf::table::{layout_columns, table, Cell, Column, CELL_PAD};
use crate::documents::pdf::terms::invoice_terms;
use crate::domain::vocab::InvoiceStatus;

/// An invoice (draft, issued or void) as a PDF.
pub fn invoice_pdf(doc: &InvoiceDocument, paper: Paper) -> Result<Vec<u8>, PdfError> {
    let fonts = fonts()?;
    let number = invoice_label(doc);
    let mut b = Builder::new(fonts, paper);
    b.watermark = match doc.status {
        InvoiceStatus::Draft => Some("DRAFT"),
        InvoiceStatus::Void => Some("VOID"),
        InvoiceStatus::Issued | InvoiceStatus::Credited => None,
    };
    b.footer_left = format!("{} · Invoice {}", doc.partner.name, number);
    b.running_header = format!("{} — Invoice {} (continued)", doc.partner.name, number);
    b.start_page(true);
    invoice_header(&mut b, doc, &number);
    invoice_lines(&mut b, doc);
    invoice_terms(&mut b, doc);
    let created = doc.issued_at.as_deref().map(|t| t.get(..10).unwrap_or(t)).unwrap_or(&doc.period_start);
    b.finish(&format!("Invoice {number}"), &doc.partner.name, created)
}

fn invoice_label(doc: &InvoiceDocument) -> String {
    match (&doc.number, doc.status) {
        (_, InvoiceStatus::Draft) | (None, _) => "DRAFT".to_string(),
        (Some(n), _) => n.clone(),
    }
}

fn invoice_header(b: &mut Builder, doc: &InvoiceDocument, number: &str) {
    // The title and the invoice facts, top right.
    let title = match doc.status {
        InvoiceStatus::Draft => "DRAFT INVOICE",
        InvoiceStatus::Void => "INVOICE (VOID)",
        InvoiceStatus::Credited => "INVOICE (CREDITED)",
        InvoiceStatus::Issued => "INVOICE",
    };
    let period = format!("{} – {}", human_date(&doc.period_start), human_date(&last_day(&doc.period_end)));
    let facts: Vec<(&str, String)> = vec![
        ("Invoice number", number.to_string()),
        (
            "Issue date",
            doc.issued_at
                .as_deref()
                .map(|t| human_date(t.get(..10).unwrap_or(t)))
                .unwrap_or_else(|| "not issued".into()),
        ),
        ("Due date", doc.due_date.as_deref().map(human_date).unwrap_or_else(|| "—".into())),
        ("Period", period),
        ("Currency", doc.currency.to_string()),
    ];
    parties_header(b, doc, title, facts);
}

/// The partner (top left), the title and facts (top right, the first fact in bold), and the
/// customer billed: the head of invoices and credit notes.
pub(super) fn parties_header(b: &mut Builder, doc: &InvoiceDocument, title: &str, facts: Vec<(&str, String)>) {
    let top = b.y;
    let right = b.right();
    let half = b.content_width() * 0.55;

    // The partner (the issuer), top left.
    b.y = top;
    b.paragraph(Face::Bold, 13.0, ACCENT, MARGIN_X, half, &doc.partner.name);
    b.y += 2.0;
    let mut partner_lines = vec![doc.partner.address.clone()];
    if !doc.partner.country.is_empty() {
        partner_lines.push(country_name(&doc.partner.country));
    }
    if !doc.partner.tax_id.is_empty() {
        partner_lines.push(format!("Tax ID: {}", doc.partner.tax_id));
    }
    for l in partner_lines {
        b.paragraph(Face::Regular, 8.5, BLACK, MARGIN_X, half, &l);
    }
    let left_bottom = b.y;

    b.text(Face::Bold, 20.0, ACCENT, right, top + 18.0, Align::Right, title);
    let mut y = top + 36.0;
    let value_x = right;
    let label_x = right - 130.0;
    for (i, (label, value)) in facts.into_iter().enumerate() {
        b.text(Face::Regular, 8.5, GREY, label_x, y, Align::Right, label);
        let face = if i == 0 { Face::Bold } else { Face::Regular };
        b.text_fit(face, 8.5, BLACK, value_x, y, 122.0, Align::Right, &value);
        y += 12.0;
    }
    b.y = left_bottom.max(y) + 14.0;

    // The customer.
    b.text(Face::Bold, 8.0, GREY, MARGIN_X, b.y + 8.0, Align::Left, "BILL TO");
    b.y += 12.0;
    b.paragraph(Face::Bold, 10.5, BLACK, MARGIN_X, half, &doc.customer.name);
    let mut customer_lines = vec![doc.customer.billing_address.clone()];
    if !doc.customer.country.is_empty() {
        customer_lines.push(country_name(&doc.customer.country));
    }
    if !doc.customer.tax_id.is_empty() {
        customer_lines.push(format!("Tax ID: {}", doc.customer.tax_id));
    }
    if !doc.customer.email.is_empty() {
        customer_lines.push(doc.customer.email.clone());
    }
    for l in customer_lines {
        b.paragraph(Face::Regular, 8.5, BLACK, MARGIN_X, half, &l);
    }
    b.y += 14.0;
}

fn invoice_columns(b: &Builder) -> Vec<Column> {
    layout_columns(
        b,
        vec![
            Column { title: "Description", width: 0.0, align: Align::Left, wrap: true },
            Column { title: "Subscription", width: 104.0, align: Align::Left, wrap: true },
            Column { title: "Time", width: 46.0, align: Align::Right, wrap: false },
            Column { title: "Price", width: 66.0, align: Align::Right, wrap: false },
            Column { title: "Qty", width: 38.0, align: Align::Right, wrap: false },
            Column { title: "Amount", width: 70.0, align: Align::Right, wrap: false },
        ],
    )
}

fn line_cells(doc: &InvoiceDocument, l: &LineDocument) -> Vec<Cell> {
    let sub = doc
        .subscriptions
        .iter()
        .find(|s| s.id == l.subscription_id)
        .map(|s| s.name.clone())
        .unwrap_or_else(|| format!("#{}", l.subscription_id));
    let is_time = l.quantity_minutes.is_some();
    let time = l.quantity_minutes.as_deref().map(hmm_from_minutes).unwrap_or_default();
    let price = if is_time { format!("{}/h", l.unit_price) } else { l.unit_price.clone() };
    vec![
        Cell::plain(l.description.clone()),
        Cell { text: sub, face: Face::Regular, color: GREY },
        Cell::plain(time),
        Cell::plain(price),
        Cell::plain(l.quantity.clone()),
        Cell::plain(l.amount.clone()),
    ]
}

const TOTALS_HEIGHT: f32 = 62.0;
const PAYMENT_HEIGHT: f32 = 30.0;

pub(super) fn invoice_lines(b: &mut Builder, doc: &InvoiceDocument) {
    let cols = invoice_columns(b);
    let rows: Vec<Vec<Cell>> = doc.lines.iter().map(|l| line_cells(doc, l)).collect();
    table(b, &cols, rows, TOTALS_HEIGHT + PAYMENT_HEIGHT);
    if doc.lines.is_empty() {
        b.paragraph(Face::Regular, 8.5, GREY, MARGIN_X, b.content_width(), "No lines.");
    }
    if b.remaining() < TOTALS_HEIGHT + PAYMENT_HEIGHT {
        b.new_page();
    }

    // Totals, right-aligned under the amount column.
    b.y += 8.0;
    let right = b.right() - CELL_PAD;
    let label_x = right - 150.0;
    let rows = [
        ("Subtotal", doc.subtotal.clone(), Face::Regular),
        (&*format!("Tax ({}%)", trim_percent(&doc.tax_rate_percent)), doc.tax.clone(), Face::Regular),
    ];
    for (label, value, face) in rows.iter() {
        b.text(*face, 9.0, BLACK, label_x, b.y + 9.0, Align::Left, label);
        b.text(*face, 9.0, BLACK, right, b.y + 9.0, Align::Right, value);
        b.y += 14.0;
    }
    b.line(label_x, b.y, right + CELL_PAD, b.y, 0.8, BLACK);
    b.y += 5.0;
    b.text(Face::Bold, 11.0, BLACK, label_x, b.y + 11.0, Align::Left, "Total");
    b.text(Face::Bold, 11.0, BLACK, right, b.y + 11.0, Align::Right, &format!("{} {}", doc.total, doc.currency));
    b.y += 22.0;
    tax_note(b, doc.tax_note.as_deref());
}

/// The legal note of a non-standard tax treatment (SPEC 6), under the totals.
fn tax_note(b: &mut Builder, note: Option<&str>) {
    let Some(note) = note.filter(|n| !n.is_empty()) else { return };
    b.ensure(20.0);
    let width = b.content_width();
    b.paragraph(Face::Bold, 9.0, BLACK, MARGIN_X, width, note);
    b.y += 8.0;
}
