//! The credit note PDF: the invoice's head titled "Credit note", naming the invoice it corrects
//! and the reason, then the credited lines and totals.

use crate::documents::model::CreditNoteDocument;
use crate::documents::pdf::error::PdfError;
use crate::documents::pdf::fonts::{fonts, Face};
use crate::documents::pdf::format::human_date;
use crate::documents::pdf::invoice::{invoice_lines, parties_header};
use crate::documents::pdf::layout::{Builder, Paper, BLACK, MARGIN_X};
use crate::domain::vocab::CreditType;

/// A credit note as a PDF: titled "Credit note", naming the invoice it corrects and the reason.
pub fn credit_note_pdf(cn: &CreditNoteDocument, paper: Paper) -> Result<Vec<u8>, PdfError> {
    let fonts = fonts()?;
    let doc = cn.as_invoice_like();
    let mut b = Builder::new(fonts, paper);
    b.footer_left = format!("{} · Credit note {}", cn.partner.name, cn.number);
    b.running_header = format!("{} — Credit note {} (continued)", cn.partner.name, cn.number);
    b.start_page(true);
    let issue_date = cn.issued_at.get(..10).unwrap_or(&cn.issued_at);
    let facts: Vec<(&str, String)> = vec![
        ("Credit note number", cn.number.clone()),
        ("Issue date", human_date(issue_date)),
        ("Corrects invoice", cn.invoice_number.clone()),
        ("Invoice date", human_date(&cn.invoice_issue_date)),
        ("Currency", cn.currency.to_string()),
    ];
    parties_header(&mut b, &doc, "CREDIT NOTE", facts);
    let width = b.content_width();
    let what = match cn.credit_type {
        CreditType::Full => "in full",
        CreditType::Partial => "in part",
    };
    b.paragraph(
        Face::Regular,
        9.0,
        BLACK,
        MARGIN_X,
        width,
        &format!("Credit note for invoice {} ({what}).", cn.invoice_number),
    );
    b.paragraph(Face::Regular, 9.0, BLACK, MARGIN_X, width, &format!("Reason: {}", cn.reason));
    b.y += 10.0;
    invoice_lines(&mut b, &doc);
    b.ensure(24.0);
    b.paragraph(
        Face::Regular,
        8.5,
        BLACK,
        MARGIN_X,
        width,
        &format!(
            "The total of {} {} is credited to the customer against invoice {}.",
            cn.total, cn.currency, cn.invoice_number
        ),
    );
    b.finish(&format!("Credit note {}", cn.number), &cn.partner.name, issue_date)
}
