//! The terms under an invoice: when and how it is payable, and each support plan's scope,
//! hours of service and contact methods (one block per version when they changed inside the
//! period).

use crate::documents::model::{InvoiceDocument, SupportTerms};
use crate::documents::pdf::fonts::Face;
use crate::documents::pdf::format::human_date;
use crate::documents::pdf::layout::{Align, Builder, BLACK, MARGIN_X};
use crate::domain::vocab::InvoiceStatus;

pub(super) fn invoice_terms(b: &mut Builder, doc: &InvoiceDocument) {
    let width = b.content_width();
    let days = doc.partner.payment_terms_days;
    let payment = match (doc.status, doc.due_date.as_deref()) {
        (InvoiceStatus::Void, _) => "This invoice is void and is not payable.".to_string(),
        (_, Some(due)) => format!("Payable within {days} days, by {}.", human_date(due)),
        (_, None) => format!("Payable within {days} days of the issue date."),
    };
    b.ensure(24.0);
    b.text(Face::Bold, 9.0, BLACK, MARGIN_X, b.y + 9.0, Align::Left, "Payment terms");
    b.y += 13.0;
    b.paragraph(Face::Regular, 8.5, BLACK, MARGIN_X, width, &payment);
    b.y += 8.0;

    if doc.support_terms.is_empty() {
        return;
    }
    b.ensure(40.0);
    b.text(Face::Bold, 9.0, BLACK, MARGIN_X, b.y + 9.0, Align::Left, "Support terms");
    b.y += 13.0;
    for t in &doc.support_terms {
        // Dated only when the plan's terms changed inside the period, so older invoices (one
        // block per plan, no date) render as they always did.
        let versions = doc.support_terms.iter().filter(|o| o.plan_id == t.plan_id).count();
        let heading = match &t.effective_from {
            Some(from) if versions > 1 => format!("{} — from {}", t.plan_name, human_date(from)),
            _ => t.plan_name.clone(),
        };
        support_terms(b, t, &heading);
    }
}

fn support_terms(b: &mut Builder, t: &SupportTerms, heading: &str) {
    let width = b.content_width();
    let indent = MARGIN_X + 8.0;
    b.ensure(30.0);
    b.paragraph(Face::Bold, 8.5, BLACK, MARGIN_X, width, heading);
    if !t.scope.is_empty() {
        b.paragraph(Face::Regular, 8.0, BLACK, indent, width - 8.0, &format!("Scope: {}", t.scope));
    }
    let hours = match &t.hours_of_service {
        Some(h) => format!("Hours of service: {} {}–{} ({})", days_text(&h.days), h.start, h.end, h.timezone),
        None => "Hours of service: not specified".to_string(),
    };
    b.paragraph(Face::Regular, 8.0, BLACK, indent, width - 8.0, &hours);
    if !t.contact_methods.is_empty() {
        let contacts: Vec<String> =
            t.contact_methods.iter().map(|c| format!("{} {}", contact_kind(&c.kind), c.value)).collect();
        b.paragraph(Face::Regular, 8.0, BLACK, indent, width - 8.0, &format!("Contact: {}", contacts.join("; ")));
    }
    b.y += 5.0;
}

fn contact_kind(kind: &str) -> &str {
    match kind {
        "email" => "email",
        "phone" => "phone",
        "portal" => "portal",
        "chat" => "chat",
        other => other,
    }
}

fn days_text(days: &[String]) -> String {
    const ORDER: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut idx: Vec<usize> =
        days.iter().filter_map(|d| ORDER.iter().position(|o| o.eq_ignore_ascii_case(d))).collect();
    idx.sort_unstable();
    idx.dedup();
    if idx.is_empty() {
        return "no days".to_string();
    }
    if idx.len() == 7 {
        return "Mon–Sun".to_string();
    }
    // Runs of consecutive days: Mon–Fri, or Mon, Wed, Fri.
    let mut parts = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && idx[j + 1] == idx[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{}–{}", NAMES[idx[i]], NAMES[idx[j]]));
        } else {
            for k in i..=j {
                parts.push(NAMES[idx[k]].to_string());
            }
        }
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert_eq!(days_text(&["mon".into(), "tue".into(), "wed".into(), "thu".into(), "fri".into()]), "Mon–Fri");
        assert_eq!(days_text(&["mon".into(), "wed".into(), "fri".into()]), "Mon, Wed, Fri");
    }
}
