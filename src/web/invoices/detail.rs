//! One invoice: its lines, totals, credit notes, downloads and the actions the caller may take.

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::documents::model::{CreditNoteSummary, InvoiceDocument};
use crate::domain::pricing::LineKind;
use crate::domain::vocab::InvoiceStatus;
use crate::error::AppError;
use crate::http::AppState;
use crate::service::blocks::{self, BlockBalance};
use crate::service::credit_notes;
use crate::service::invoices as svc;
use crate::web::html::{date_part, group_digits, hidden_csrf, layout, period_label, status_badge, Nav, Notice, E};
use crate::web::invoices::{invoice_label, parse_id};
use crate::web::{html_page, parse_form, signed_in, Failure, ForCaller, Visitor};

#[derive(Deserialize, Default)]
struct DetailQuery {
    flash: Option<String>,
}

fn kind_label(kind: LineKind) -> &'static str {
    match kind {
        LineKind::SupportTime => "Support time",
        LineKind::AfterHoursSupportTime => "After-hours support",
        LineKind::RetainerFee => "Retainer fee",
        LineKind::Overage => "Overage",
        LineKind::IncidentFee => "Incident fee",
        LineKind::Charge => "Charge",
        LineKind::BlockPurchase => "Prepaid hours",
        LineKind::PrepaidUsage => "Prepaid hours used",
    }
}

pub(crate) async fn detail(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let caller = signed_in(&req, &state).await?;
    let id = parse_id(&id).for_caller(&caller)?;
    let run_caller = caller.clone();
    let today = state.clock.now().date();
    let (doc, credits, prepaid) = state
        .run(move |conn| {
            let doc = svc::get(conn, &run_caller, id)?;
            // Every credit note of the invoice (a handful in practice: each credits part of what is left).
            let rows = credit_notes::list(conn, &run_caller, Some(id), None, 0, 10_000)?;
            let credits = rows.iter().map(credit_notes::summary).collect::<Result<Vec<_>, _>>()?;
            let subscription_ids: Vec<i64> = doc.subscriptions.iter().map(|s| s.id).collect();
            let prepaid = blocks::of_subscriptions(conn, &run_caller, &subscription_ids, today)?;
            Ok::<_, AppError>((doc, credits, prepaid))
        })
        .await
        .for_caller(&caller)?;
    let q: DetailQuery = parse_form(req.query_string()).unwrap_or_default();
    let label = invoice_label(doc.number.as_deref(), doc.id);
    let mut notices = Vec::new();
    match q.flash.as_deref() {
        Some("issued") => notices.push(Notice::success(format!("Invoice {label} issued. Its content is now final."))),
        Some("voided") => notices.push(Notice::success(format!(
            "Invoice {label} voided. It keeps its number; what it billed can be invoiced again."
        ))),
        _ => {}
    }
    let mut body = detail_body(&doc, &caller, &label);
    body.push_str(&credit_notes_section(&credits));
    body.push_str(&prepaid_section(&doc, &prepaid));
    Ok(html_page(StatusCode::OK, layout(&format!("Invoice {label}"), Some(&caller), Nav::Invoices, &notices, &body)))
}

fn detail_body(doc: &InvoiceDocument, caller: &Visitor, label: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<p class=\"crumbs\"><a href=\"/invoices\">← All invoices</a></p>\n\
         <div class=\"page-head\"><h1>Invoice {} {}</h1>\n<div class=\"actions\">\
         <a class=\"button secondary\" href=\"/invoices/{}/download.csv\">Download CSV</a> \
         <a class=\"button secondary\" href=\"/invoices/{}/download.pdf\">Download PDF</a>",
        E(label),
        status_badge(doc.status),
        E(doc.id),
        E(doc.id)
    );
    if !caller.is_client() {
        match doc.status {
            InvoiceStatus::Draft => {
                let _ = write!(
                    out,
                    " <form method=\"post\" action=\"/invoices/{}/issue\" class=\"inline\" \
                     data-confirm=\"Issue this invoice? It gets the next invoice number and can no longer change.\">\
                     {}<button type=\"submit\">Issue invoice</button></form>",
                    E(doc.id),
                    hidden_csrf(&caller.csrf_token)
                );
            }
            InvoiceStatus::Issued => {
                let _ = write!(
                    out,
                    " <form method=\"post\" action=\"/invoices/{}/void\" class=\"inline\" \
                     data-confirm=\"Void invoice {}? It keeps its number and cannot be issued again.\">\
                     {}<button type=\"submit\" class=\"danger\">Void invoice</button></form>",
                    E(doc.id),
                    E(label),
                    hidden_csrf(&caller.csrf_token)
                );
            }
            InvoiceStatus::Void | InvoiceStatus::Credited => {}
        }
    }
    out.push_str("</div></div>\n");

    // Parties and dates.
    let c = &doc.customer;
    let p = &doc.partner;
    let _ = write!(
        out,
        "<section class=\"parties\">\n\
         <div class=\"card\"><h2>From</h2><p><strong>{}</strong></p><p class=\"address\">{}</p><p>{}</p><p class=\"muted\">Tax ID {}</p></div>\n\
         <div class=\"card\"><h2>Bill to</h2><p><strong>{}</strong></p><p class=\"address\">{}</p><p>{}</p><p>{}</p><p class=\"muted\">Tax ID {}</p></div>\n\
         <div class=\"card\"><h2>Details</h2><dl>\
         <dt>Period</dt><dd>{} <span class=\"muted\">({} to {}, exclusive)</span></dd>\
         <dt>Issued</dt><dd>{}</dd><dt>Due</dt><dd>{}</dd><dt>Currency</dt><dd>{}</dd>\
         <dt>Payment terms</dt><dd>{} days</dd></dl></div>\n</section>\n",
        E(&p.name),
        E(&p.address),
        E(&p.country),
        E(&p.tax_id),
        E(&c.name),
        E(&c.billing_address),
        E(&c.email),
        E(&c.country),
        E(&c.tax_id),
        E(period_label(&doc.period_start, &doc.period_end)),
        E(&doc.period_start),
        E(&doc.period_end),
        E(doc.issued_at.as_deref().map(date_part).unwrap_or("not yet")),
        E(doc.due_date.as_deref().unwrap_or("—")),
        E(&doc.currency),
        E(p.payment_terms_days),
    );

    // Lines and totals.
    out.push_str(
        "<table class=\"data lines\">\n<thead><tr><th class=\"num\">#</th><th>Description</th><th>Subscription</th>\
         <th>Kind</th><th class=\"num\">Quantity</th><th class=\"num\">Unit price</th><th class=\"num\">Amount</th></tr></thead>\n<tbody>\n",
    );
    if doc.lines.is_empty() {
        out.push_str("<tr><td colspan=\"7\" class=\"muted\">This invoice has no lines.</td></tr>\n");
    }
    for (i, line) in doc.lines.iter().enumerate() {
        let sub = doc.subscriptions.iter().find(|s| s.id == line.subscription_id);
        let sub_name = sub.map(|s| s.name.clone()).unwrap_or_else(|| format!("#{}", line.subscription_id));
        let quantity = match &line.quantity_minutes {
            Some(min) => format!("{} h ({} min)", line.quantity, min),
            None => line.quantity.clone(),
        };
        let kind = match &line.category {
            Some(cat) => format!("{} · {}", kind_label(line.kind), cat.as_str().replace('_', " ")),
            None => kind_label(line.kind).to_string(),
        };
        let unit = if line.quantity_minutes.is_some() {
            format!("{} /h", group_digits(&line.unit_price))
        } else {
            group_digits(&line.unit_price)
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            E(i + 1),
            E(&line.description),
            E(&sub_name),
            E(&kind),
            E(&quantity),
            E(&unit),
            E(group_digits(&line.amount)),
        );
    }
    let _ = write!(
        out,
        "</tbody>\n<tfoot>\
         <tr><th colspan=\"6\" class=\"num\">Subtotal</th><td class=\"num\">{}</td></tr>\
         <tr><th colspan=\"6\" class=\"num\">Tax ({}%)</th><td class=\"num\">{}</td></tr>\
         <tr class=\"total\"><th colspan=\"6\" class=\"num\">Total {}</th><td class=\"num\">{}</td></tr>\
         </tfoot>\n</table>\n",
        E(group_digits(&doc.subtotal)),
        E(&doc.tax_rate_percent),
        E(group_digits(&doc.tax)),
        E(&doc.currency),
        E(group_digits(&doc.total)),
    );

    if !doc.support_terms.is_empty() {
        out.push_str("<section class=\"card terms\"><h2>Support terms</h2><ul>");
        for t in &doc.support_terms {
            let versions = doc.support_terms.iter().filter(|o| o.plan_id == t.plan_id).count();
            let from = match &t.effective_from {
                Some(from) if versions > 1 => format!(" (from {from})"),
                _ => String::new(),
            };
            let _ = write!(out, "<li><strong>{}</strong>{}: {}</li>", E(&t.plan_name), E(from), E(&t.scope));
        }
        out.push_str("</ul></section>\n");
    }
    out
}

/// The invoice's credit notes, each with its downloads; nothing when it has none.
fn credit_notes_section(credits: &[CreditNoteSummary]) -> String {
    if credits.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section class=\"credit-notes\"><h2>Credit notes</h2>\n<table class=\"data\">\n<thead><tr><th>Number</th><th>Issued</th>\
         <th>Credit</th><th>Reason</th><th class=\"num\">Total</th><th>Download</th></tr></thead>\n<tbody>\n",
    );
    for cn in credits {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{} {}</td>\
             <td><a href=\"/credit-notes/{}/download.csv\">CSV</a> · <a href=\"/credit-notes/{}/download.pdf\">PDF</a></td></tr>",
            E(&cn.number),
            E(date_part(&cn.issued_at)),
            E(&cn.credit_type),
            E(&cn.reason),
            E(&cn.currency),
            E(group_digits(&cn.total)),
            E(cn.id),
            E(cn.id),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
    out
}

/// The prepaid blocks of the invoice's subscriptions as they stand today (SPEC 7.5): what was
/// bought, drawn and is left; nothing when they have none.
fn prepaid_section(doc: &InvoiceDocument, balances: &[BlockBalance]) -> String {
    if balances.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section class=\"prepaid\"><h2>Prepaid hours today</h2>\n<table class=\"data\">\n<thead><tr><th>Subscription</th>\
         <th>Bought</th><th>Valid until</th><th class=\"num\">Minutes</th><th class=\"num\">Used</th>\
         <th class=\"num\">Left</th><th>Purchase billed on</th></tr></thead>\n<tbody>\n",
    );
    for b in balances {
        let block = &b.block;
        let sub = doc.subscriptions.iter().find(|s| s.id == block.subscription_id);
        let sub_name = sub.map(|s| s.name.clone()).unwrap_or_else(|| format!("#{}", block.subscription_id));
        // `expires_on` is exclusive: the last day the block covers is the day before.
        let valid = match block.expires_on.and_then(|d| d.pred_opt()) {
            Some(last) if b.expired => format!("{last} (expired)"),
            Some(last) => last.to_string(),
            None => "no expiry".to_string(),
        };
        let billed = match b.billed_on_invoice {
            Some(id) => format!("<a href=\"/invoices/{}\">invoice {}</a>", E(id), E(id)),
            None => "not yet".to_string(),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            E(&sub_name),
            E(block.purchased_on),
            E(&valid),
            E(block.minutes),
            E(b.used),
            E(b.left),
            billed,
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
    out
}
