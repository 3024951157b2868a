//! CSV documents (RFC 4180, UTF-8, one header row): the invoice, the usage summary and the
//! invoice register. Column sets are documented in docs/documents.md.

use crate::documents::model::{CreditNoteDocument, InvoiceDocument, RegisterRow, UsageRow};

/// Channels get fixed columns, so every usage CSV has the same header.
pub const CHANNELS: [&str; 4] = ["microsoft_commercial", "premier", "advanced", "signature_cloud"];

pub const INVOICE_COLUMNS: &[&str] = &[
    "invoice_number",
    "status",
    "issue_date",
    "due_date",
    "period_start",
    "period_end",
    "customer",
    "customer_tax_id",
    "currency",
    "line",
    "subscription",
    "subscription_external_id",
    "product",
    "kind",
    "category",
    "month",
    "description",
    "minutes",
    "hours",
    "unit_price",
    "amount",
    "tax_rate_percent",
    "subtotal",
    "tax",
    "total",
    "tax_treatment",
    "tax_note",
];

/// A text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first)
/// gets a leading apostrophe. Numeric columns are never touched, so `-20.00` stays a number.
pub fn text_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => std::borrow::Cow::Owned(format!("'{value}")),
        _ => std::borrow::Cow::Borrowed(value),
    }
}

fn finish(writer: csv::Writer<Vec<u8>>) -> Vec<u8> {
    // Writing to a Vec cannot fail; into_inner only flushes into it.
    writer.into_inner().unwrap_or_default()
}

/// Last column, only when a line has a plan version (SPEC 7.2), so documents frozen before
/// versions existed keep their bytes.
pub const PLAN_VERSION_COLUMN: &str = "plan_version";

/// One row per invoice line; the `amount` column sums to the subtotal, and the invoice's tax
/// rate, subtotal, tax and total repeat on every row so an import can check itself.
pub fn invoice_csv(doc: &InvoiceDocument) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let versioned = doc.lines.iter().any(|l| l.plan_version.is_some());
    let mut header = INVOICE_COLUMNS.to_vec();
    if versioned {
        header.push(PLAN_VERSION_COLUMN);
    }
    let _ = w.write_record(&header);
    let issue_date = doc.issued_at.as_deref().map(|t| t.get(..10).unwrap_or(t)).unwrap_or("");
    for (i, line) in doc.lines.iter().enumerate() {
        let sub = doc.subscriptions.iter().find(|s| s.id == line.subscription_id);
        let position = (i + 1).to_string();
        let is_time = line.quantity_minutes.is_some();
        let record: [&str; 27] = [
            doc.number.as_deref().unwrap_or(""),
            doc.status.as_str(),
            issue_date,
            doc.due_date.as_deref().unwrap_or(""),
            &doc.period_start,
            &doc.period_end,
            &text_cell(&doc.customer.name),
            &text_cell(&doc.customer.tax_id),
            doc.currency.code(),
            &position,
            &text_cell(sub.map(|s| s.name.as_str()).unwrap_or("")),
            &text_cell(sub.and_then(|s| s.external_id.as_deref()).unwrap_or("")),
            sub.map(|s| s.product.as_str()).unwrap_or(""),
            line.kind.as_str(),
            line.category.map(|c| c.as_str()).unwrap_or(""),
            line.month.as_deref().unwrap_or(""),
            &text_cell(&line.description),
            line.quantity_minutes.as_deref().unwrap_or(""),
            if is_time { &line.quantity } else { "" },
            &line.unit_price,
            &line.amount,
            &doc.tax_rate_percent,
            &doc.subtotal,
            &doc.tax,
            &doc.total,
            doc.tax_treatment.as_str(),
            &text_cell(doc.tax_note.as_deref().unwrap_or("")),
        ];
        let version = versioned.then(|| line.plan_version.as_deref().unwrap_or(""));
        let _ = w.write_record(record.into_iter().chain(version));
    }
    finish(w)
}

pub const USAGE_COLUMNS: &[&str] = &[
    "key",
    "label",
    "entries",
    "minutes",
    "billable_minutes",
    "non_billable_minutes",
    "billed_minutes",
    "after_hours_minutes",
    "tickets",
    "escalations_microsoft_commercial",
    "escalations_premier",
    "escalations_advanced",
    "escalations_signature_cloud",
];

pub fn usage_csv(rows: &[UsageRow]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(USAGE_COLUMNS);
    for r in rows {
        let mut record = vec![
            text_cell(&r.key).into_owned(),
            text_cell(&r.label).into_owned(),
            r.entries.to_string(),
            r.minutes.to_string(),
            r.billable_minutes.to_string(),
            r.non_billable_minutes.to_string(),
            r.billed_minutes.to_string(),
            r.after_hours_minutes.to_string(),
            r.tickets.to_string(),
        ];
        record.extend(CHANNELS.iter().map(|c| r.escalations.get(*c).copied().unwrap_or(0).to_string()));
        let _ = w.write_record(&record);
    }
    finish(w)
}

pub const REGISTER_COLUMNS: &[&str] = &[
    "kind",
    "number",
    "corrects",
    "issue_date",
    "due_date",
    "period_start",
    "period_end",
    "customer_id",
    "customer",
    "status",
    "currency",
    "subtotal",
    "tax",
    "total",
];

pub fn register_csv(rows: &[RegisterRow]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(REGISTER_COLUMNS);
    for r in rows {
        let issue_date = r.issued_at.as_deref().map(|t| t.get(..10).unwrap_or(t)).unwrap_or("");
        let customer_id = r.customer_id.to_string();
        let record: [&str; 14] = [
            r.kind.as_str(),
            r.number.as_deref().unwrap_or(""),
            r.corrects.as_deref().unwrap_or(""),
            issue_date,
            r.due_date.as_deref().unwrap_or(""),
            &r.period_start,
            &r.period_end,
            &customer_id,
            &text_cell(&r.customer_name),
            r.status.as_str(),
            r.currency.code(),
            &r.subtotal,
            &r.tax,
            &r.total,
        ];
        let _ = w.write_record(record);
    }
    finish(w)
}

pub const CREDIT_NOTE_COLUMNS: &[&str] = &[
    "credit_note_number",
    "issue_date",
    "invoice_number",
    "invoice_issue_date",
    "credit_type",
    "reason",
    "customer",
    "customer_tax_id",
    "currency",
    "line",
    "invoice_line",
    "subscription",
    "subscription_external_id",
    "product",
    "kind",
    "category",
    "month",
    "description",
    "minutes",
    "hours",
    "unit_price",
    "amount",
    "tax_rate_percent",
    "subtotal",
    "tax",
    "total",
    "tax_treatment",
    "tax_note",
];

/// One row per credit-note line (positive amounts, summing to the subtotal); the credit note's
/// totals repeat on every row, like the invoice CSV.
pub fn credit_note_csv(doc: &CreditNoteDocument) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(CREDIT_NOTE_COLUMNS);
    let issue_date = doc.issued_at.get(..10).unwrap_or(&doc.issued_at);
    for (i, line) in doc.lines.iter().enumerate() {
        let sub = doc.subscriptions.iter().find(|s| s.id == line.subscription_id);
        let position = (i + 1).to_string();
        let invoice_line = line.invoice_line.to_string();
        let is_time = line.quantity_minutes.is_some();
        let record: [&str; 28] = [
            &doc.number,
            issue_date,
            &doc.invoice_number,
            &doc.invoice_issue_date,
            doc.credit_type.as_str(),
            &text_cell(&doc.reason),
            &text_cell(&doc.customer.name),
            &text_cell(&doc.customer.tax_id),
            doc.currency.code(),
            &position,
            &invoice_line,
            &text_cell(sub.map(|s| s.name.as_str()).unwrap_or("")),
            &text_cell(sub.and_then(|s| s.external_id.as_deref()).unwrap_or("")),
            sub.map(|s| s.product.as_str()).unwrap_or(""),
            line.kind.as_str(),
            line.category.map(|c| c.as_str()).unwrap_or(""),
            line.month.as_deref().unwrap_or(""),
            &text_cell(&line.description),
            line.quantity_minutes.as_deref().unwrap_or(""),
            if is_time { &line.quantity } else { "" },
            &line.unit_price,
            &line.amount,
            &doc.tax_rate_percent,
            &doc.subtotal,
            &doc.tax,
            &doc.total,
            doc.tax_treatment.as_str(),
            &text_cell(doc.tax_note.as_deref().unwrap_or("")),
        ];
        let _ = w.write_record(record);
    }
    finish(w)
}

#[cfg(test)]
mod tests {
    use super::text_cell;

    #[test]
    fn formulas_are_defused_and_numbers_left_alone() {
        assert_eq!(text_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("-1+2"), "'-1+2");
        assert_eq!(text_cell("Müller & Söhne GmbH"), "Müller & Söhne GmbH");
        assert_eq!(text_cell(""), "");
    }
}
