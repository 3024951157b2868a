//! Invoice pages: the filtered, paged list with the monthly run; one invoice with its downloads
//! and the issue and void actions.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, Months, NaiveDate};
use serde::Deserialize;

use crate::documents::model::{CreditNoteSummary, InvoiceDocument, InvoiceSummary};
use crate::documents::{self, pdf, Format};
use crate::domain::pricing::Period;
use crate::domain::vocab::InvoiceStatus;
use crate::error::AppError;
use crate::http::negotiate;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::routes::invoices::render_invoice;
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::credit_notes;
use crate::service::customers;
use crate::service::invoices::{self as svc, InvoiceFilter};
use crate::storage::DbConnection;

use super::html::{self, date_part, group_digits, layout, link, period_label, status_badge, Nav, Notice, E};
use super::{check_same_origin, html_page, parse_form, see_other, signed_in, Failure, ForCaller};

const PAGE_SIZE: i64 = 25;

#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    customer: Option<String>,
    status: Option<String>,
    period: Option<String>,
    cursor: Option<String>,
    flash: Option<String>,
    n: Option<String>,
}

/// `YYYY-MM` (what `<input type=month>` sends; `YYYY-MM-DD` is taken too) as its first day.
pub(crate) fn parse_month(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let month = text.get(..7)?;
    if !(text.len() == 7 || (text.len() == 10 && text.as_bytes()[7] == b'-')) {
        return None;
    }
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

fn month_value(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The first day of the month before `today`'s.
pub(crate) fn previous_month(today: NaiveDate) -> NaiveDate {
    let first = today.with_day(1).unwrap_or(today);
    first.checked_sub_months(Months::new(1)).unwrap_or(first)
}

/// Every customer's name a caller may see: all for staff, the client's own otherwise.
fn customer_names(conn: &mut DbConnection, caller: &Caller) -> Result<BTreeMap<i64, String>, AppError> {
    let mut names = BTreeMap::new();
    if caller.is_client() {
        if let Some(id) = caller.customer_id {
            if let Ok(c) = customers::get(conn, id) {
                names.insert(c.id, c.name);
            }
        }
        return Ok(names);
    }
    let mut after = 0;
    loop {
        let rows = customers::list(conn, after, 1000)?;
        let more = rows.len() > 1000;
        for c in rows.into_iter().take(1000) {
            after = c.id;
            names.insert(c.id, c.name);
        }
        if !more {
            return Ok(names);
        }
    }
}

fn invoice_label(number: Option<&str>, id: i64) -> String {
    match number {
        Some(n) => n.to_string(),
        None => format!("Draft #{id}"),
    }
}

pub(crate) async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let caller = signed_in(&req, &state).await?;
    let q: ListQuery = parse_form(req.query_string()).unwrap_or_default();
    let mut notices = Vec::new();
    let mut invalid = false;

    let customer_text = q.customer.clone().unwrap_or_default();
    let status_text = q.status.clone().unwrap_or_default();
    let period_text = q.period.clone().unwrap_or_default();
    let mut filter = InvoiceFilter::default();
    if !customer_text.is_empty() {
        match customer_text.parse::<i64>() {
            Ok(id) => filter.customer_id = Some(id),
            Err(_) => {
                invalid = true;
                notices.push(Notice::error("Customer: choose a customer from the list."));
            }
        }
    }
    if !status_text.is_empty() {
        match InvoiceStatus::parse(&status_text) {
            Some(s) => filter.status = Some(s),
            None => {
                invalid = true;
                notices.push(Notice::error(format!(
                    "Status: {status_text:?} is not one of draft, issued, void, credited."
                )));
            }
        }
    }
    if !period_text.is_empty() {
        match parse_month(&period_text) {
            Some(d) => filter.period_start = Some(d),
            None => {
                invalid = true;
                notices.push(Notice::error(format!("Period: {period_text:?} is not a month as YYYY-MM.")));
            }
        }
    }
    let page = match (PageQuery { limit: Some(PAGE_SIZE), cursor: q.cursor.clone().filter(|c| !c.is_empty()) }).parse()
    {
        Ok(p) => Some(p),
        Err(_) => {
            notices.push(Notice::error("That page link is not valid any more; showing the first page instead."));
            None
        }
    };

    if q.flash.as_deref() == Some("run") {
        let n: usize = q.n.as_deref().and_then(|n| n.parse().ok()).unwrap_or(0);
        let month = filter.period_start.map(html::month_label).unwrap_or_else(|| "that month".into());
        notices.push(match n {
            0 => Notice::info(format!(
                "Nothing to invoice for {month}: no customer has uninvoiced time, retainers or charges in that month."
            )),
            1 => Notice::success(format!("Drafted 1 invoice for {month}. Review it, then issue it.")),
            n => Notice::success(format!("Drafted {n} invoices for {month}. Review them, then issue each one.")),
        });
    }

    let page_req = match page {
        Some(p) => p,
        None => PageQuery { limit: Some(PAGE_SIZE), cursor: None }.parse().for_caller(&caller)?,
    };
    let run_caller = caller.clone();
    let run_filter = if invalid { None } else { Some(filter.clone()) };
    let (names, rows) = state
        .run(move |conn| {
            let names = customer_names(conn, &run_caller)?;
            let rows = match run_filter {
                Some(f) => svc::list(conn, &run_caller, f, page_req.after, page_req.limit)?,
                None => Vec::new(),
            };
            Ok((names, rows))
        })
        .await
        .for_caller(&caller)?;
    let summaries = rows.iter().map(svc::summary).collect::<Result<Vec<_>, _>>().for_caller(&caller)?;
    let page_out = paginate(summaries, page_req, |s| s.id, |s| s);

    let mut body = String::new();
    body.push_str("<div class=\"page-head\"><h1>Invoices</h1></div>\n");
    if !caller.is_client() {
        let default_month = month_value(previous_month(state.clock.now().date()));
        let _ = write!(
            body,
            "<section class=\"card run\">\n<form method=\"post\" action=\"/invoices/run\" class=\"inline\" \
             data-confirm=\"Draft invoices for every customer with something to bill in this month?\">\n\
             <h2>Run invoices</h2>\n<label for=\"run-month\">Month</label>\n\
             <input type=\"month\" id=\"run-month\" name=\"month\" value=\"{}\" required placeholder=\"YYYY-MM\" pattern=\"[0-9]{{4}}-[0-9]{{2}}\">\n\
             <button type=\"submit\">Draft invoices</button>\n\
             <span class=\"muted\">Drafts one invoice per customer with uninvoiced time, retainers or charges.</span>\n\
             </form>\n</section>\n",
            E(&default_month)
        );
    }

    // Filters: a GET form, which the script submits on change (the button works without it).
    body.push_str("<form method=\"get\" action=\"/invoices\" class=\"filters card\" data-autosubmit>\n");
    if !caller.is_client() {
        let mut options = vec![(String::new(), "All customers".to_string())];
        options.extend(names.iter().map(|(id, name)| (id.to_string(), name.clone())));
        let _ = writeln!(
            body,
            "<div class=\"field\"><label for=\"f-customer\">Customer</label>{}</div>",
            html::select("customer", "f-customer", &options, &customer_text)
        );
    }
    let statuses: &[&str] =
        if caller.is_client() { &["issued", "void", "credited"] } else { &["draft", "issued", "void", "credited"] };
    let mut status_options = vec![(String::new(), "All statuses".to_string())];
    status_options.extend(statuses.iter().map(|s| (s.to_string(), s.to_string())));
    let _ = write!(
        body,
        "<div class=\"field\"><label for=\"f-status\">Status</label>{}</div>\n\
         <div class=\"field\"><label for=\"f-period\">Period</label>\
         <input type=\"month\" id=\"f-period\" name=\"period\" value=\"{}\" placeholder=\"YYYY-MM\"></div>\n\
         <div class=\"field buttons\"><button type=\"submit\">Filter</button> <a class=\"button secondary\" href=\"/invoices\">Clear</a></div>\n\
         </form>\n",
        html::select("status", "f-status", &status_options, &status_text),
        E(&period_text)
    );

    if page_out.data.is_empty() {
        let text = if invalid {
            "Correct the filter above to see invoices."
        } else if filter.customer_id.is_some() || filter.status.is_some() || filter.period_start.is_some() {
            "No invoices match these filters."
        } else if caller.is_client() {
            "There are no issued invoices yet."
        } else {
            "There are no invoices yet. Run invoices for a month to draft them."
        };
        let _ = writeln!(body, "<p class=\"empty card\">{}</p>", E(text));
    } else {
        body.push_str(&invoice_table(&page_out.data, &names));
    }

    let cursor_given = page.is_some() && q.cursor.as_deref().is_some_and(|c| !c.is_empty());
    if page_out.next_cursor.is_some() || cursor_given {
        body.push_str("<nav class=\"pager\">");
        if cursor_given {
            let first =
                link("/invoices", &[("customer", &customer_text), ("status", &status_text), ("period", &period_text)]);
            let _ = write!(body, "<a class=\"button secondary\" href=\"{}\">First page</a>", E(&first));
        }
        if let Some(next) = &page_out.next_cursor {
            let next = link(
                "/invoices",
                &[("customer", &customer_text), ("status", &status_text), ("period", &period_text), ("cursor", next)],
            );
            let _ = write!(body, "<a class=\"button secondary\" rel=\"next\" href=\"{}\">Next page →</a>", E(&next));
        }
        body.push_str("</nav>\n");
    }

    let status = if invalid { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(html_page(status, layout("Invoices", Some(&caller), Nav::Invoices, &notices, &body)))
}

fn invoice_table(rows: &[InvoiceSummary], names: &BTreeMap<i64, String>) -> String {
    let mut out = String::from(
        "<table class=\"data invoices\">\n<thead><tr><th>Number</th><th>Status</th><th>Customer</th><th>Period</th>\
         <th>Issued</th><th>Due</th><th class=\"num\">Total</th></tr></thead>\n<tbody>\n",
    );
    for s in rows {
        let customer = names.get(&s.customer_id).cloned().unwrap_or_else(|| format!("Customer #{}", s.customer_id));
        let _ = writeln!(
            out,
            "<tr data-status=\"{}\"><td><a href=\"/invoices/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"num\">{} <span class=\"ccy\">{}</span></td></tr>",
            E(&s.status),
            E(s.id),
            E(invoice_label(s.number.as_deref(), s.id)),
            status_badge(&s.status),
            E(&customer),
            E(period_label(&s.period_start, &s.period_end)),
            E(s.issued_at.as_deref().map(date_part).unwrap_or("—")),
            E(s.due_date.as_deref().unwrap_or("—")),
            E(group_digits(&s.total)),
            E(&s.currency),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

// ---------------------------------------------------------------------------------------------
// One invoice

fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(AppError::NotFound { what: "invoice" })
}

#[derive(Deserialize, Default)]
struct DetailQuery {
    flash: Option<String>,
}

fn kind_label(kind: &str) -> String {
    let text = match kind {
        "support_time" => "Support time",
        "after_hours_support_time" => "After-hours support",
        "retainer_fee" => "Retainer fee",
        "overage" => "Overage",
        "incident_fee" => "Incident fee",
        "charge" => "Charge",
        other => return other.replace('_', " "),
    };
    text.to_string()
}

pub(crate) async fn detail(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let caller = signed_in(&req, &state).await?;
    let id = parse_id(&id).for_caller(&caller)?;
    let run_caller = caller.clone();
    let (doc, credits) = state
        .run(move |conn| {
            let doc = svc::get(conn, &run_caller, id)?;
            // Every credit note of the invoice (a handful in practice: each credits part of what is left).
            let rows = credit_notes::list(conn, &run_caller, Some(id), None, 0, 10_000)?;
            let credits = rows.iter().map(credit_notes::summary).collect::<Result<Vec<_>, _>>()?;
            Ok::<_, AppError>((doc, credits))
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
    Ok(html_page(StatusCode::OK, layout(&format!("Invoice {label}"), Some(&caller), Nav::Invoices, &notices, &body)))
}

fn detail_body(doc: &InvoiceDocument, caller: &Caller, label: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<p class=\"crumbs\"><a href=\"/invoices\">← All invoices</a></p>\n\
         <div class=\"page-head\"><h1>Invoice {} {}</h1>\n<div class=\"actions\">\
         <a class=\"button secondary\" href=\"/invoices/{}/download.csv\">Download CSV</a> \
         <a class=\"button secondary\" href=\"/invoices/{}/download.pdf\">Download PDF</a>",
        E(label),
        status_badge(&doc.status),
        E(doc.id),
        E(doc.id)
    );
    if !caller.is_client() {
        match doc.status.as_str() {
            "draft" => {
                let _ = write!(
                    out,
                    " <form method=\"post\" action=\"/invoices/{}/issue\" class=\"inline\" \
                     data-confirm=\"Issue this invoice? It gets the next invoice number and can no longer change.\">\
                     <button type=\"submit\">Issue invoice</button></form>",
                    E(doc.id)
                );
            }
            "issued" => {
                let _ = write!(
                    out,
                    " <form method=\"post\" action=\"/invoices/{}/void\" class=\"inline\" \
                     data-confirm=\"Void invoice {}? It keeps its number and cannot be issued again.\">\
                     <button type=\"submit\" class=\"danger\">Void invoice</button></form>",
                    E(doc.id),
                    E(label)
                );
            }
            _ => {}
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
            Some(cat) => format!("{} · {}", kind_label(&line.kind), cat.replace('_', " ")),
            None => kind_label(&line.kind),
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
            let _ = write!(out, "<li><strong>{}</strong>: {}</li>", E(&t.plan_name), E(&t.scope));
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

// ---------------------------------------------------------------------------------------------
// Downloads

async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: String,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = signed_in(&req, &state).await?;
    let id = parse_id(&id).for_caller(&caller)?;
    let run_caller = caller.clone();
    let doc = state.run(move |conn| svc::get(conn, &run_caller, id)).await.for_caller(&caller)?;
    let name = documents::invoice_file_name(doc.number.as_deref(), doc.id, format);
    match render_invoice(&doc, format, pdf::Paper::A4) {
        Ok(bytes) => Ok(negotiate::document(&req, format, &name, bytes)),
        Err(e) => {
            log::error!(
                "request_id={} web: {} of invoice {}: {e:?}",
                crate::http::request_id::RequestId::of(&req),
                format.extension(),
                doc.id
            );
            let label = invoice_label(doc.number.as_deref(), doc.id);
            Err(Failure::Message(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "The {} of invoice {label} could not be produced right now; the error has been logged. \
                     The other download format may still work.",
                    format.extension().to_uppercase()
                ),
                Some(caller),
            ))
        }
    }
}

pub(crate) async fn download_csv(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    download(req, state, id.into_inner(), Format::Csv).await
}

pub(crate) async fn download_pdf(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    download(req, state, id.into_inner(), Format::Pdf).await
}

/// A credit note as CSV or PDF: the same bytes as the API's `/credit-notes/{id}.csv` and `.pdf`.
async fn download_credit_note(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: String,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = signed_in(&req, &state).await?;
    let id = parse_id(&id).map_err(|_| AppError::NotFound { what: "credit note" }).for_caller(&caller)?;
    let run_caller = caller.clone();
    let doc = state.run(move |conn| credit_notes::get(conn, &run_caller, id)).await.for_caller(&caller)?;
    match documents::render_credit_note(&doc, format, pdf::Paper::A4) {
        Ok(bytes) => Ok(negotiate::document(&req, format, &format!("{}.{}", doc.number, format.extension()), bytes)),
        Err(e) => {
            log::error!(
                "request_id={} web: {} of credit note {}: {e:?}",
                crate::http::request_id::RequestId::of(&req),
                format.extension(),
                doc.id
            );
            Err(Failure::Message(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "The {} of credit note {} could not be produced right now; the error has been logged.",
                    format.extension().to_uppercase(),
                    doc.number
                ),
                Some(caller),
            ))
        }
    }
}

pub(crate) async fn download_credit_note_csv(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    download_credit_note(req, state, id.into_inner(), Format::Csv).await
}

pub(crate) async fn download_credit_note_pdf(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    download_credit_note(req, state, id.into_inner(), Format::Pdf).await
}

// ---------------------------------------------------------------------------------------------
// Actions (finance and admin)

#[derive(Deserialize)]
struct RunForm {
    month: Option<String>,
}

pub(crate) async fn run(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, Failure> {
    check_same_origin(&req)?;
    let caller = signed_in(&req, &state).await?;
    caller.require_staff("route").for_caller(&caller)?;
    let form: Option<RunForm> = std::str::from_utf8(&body).ok().and_then(parse_form);
    let month_text = form.and_then(|f| f.month).unwrap_or_default();
    let start = parse_month(&month_text).ok_or_else(|| {
        Failure::Message(
            StatusCode::UNPROCESSABLE_ENTITY,
            if month_text.trim().is_empty() {
                "Month: choose the month to invoice.".to_string()
            } else {
                format!("Month: {:?} is not a month as YYYY-MM.", month_text.trim())
            },
            Some(caller.clone()),
        )
    })?;
    let end = start.checked_add_months(Months::new(1)).ok_or_else(|| {
        Failure::Message(StatusCode::UNPROCESSABLE_ENTITY, "Month: out of range.".into(), Some(caller.clone()))
    })?;
    let period = Period::new(start, end).map_err(|e| AppError::field(e.field, e.message)).for_caller(&caller)?;
    let now = state.clock.now();
    let pool = state.pool.clone();
    let docs = state
        .run(move |conn| svc::run(conn, crate::storage::SecondReader::from(&pool), period, now))
        .await
        .for_caller(&caller)?;
    let ids: Vec<i64> = docs.iter().map(|d| d.id).collect();
    crate::http::audit::record_direct(&state, &req, &caller, "invoice", "created", &ids, 303).await;
    let n = docs.len().to_string();
    Ok(see_other(&link(
        "/invoices",
        &[("status", "draft"), ("period", &month_value(start)), ("flash", "run"), ("n", &n)],
    )))
}

pub(crate) async fn issue(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    check_same_origin(&req)?;
    let caller = signed_in(&req, &state).await?;
    caller.require_staff("invoice").for_caller(&caller)?;
    let id = parse_id(&id).for_caller(&caller)?;
    let clock = state.clock.clone();
    state.run(move |conn| svc::issue(conn, id, clock.as_ref())).await.for_caller(&caller)?;
    crate::http::audit::record_direct(&state, &req, &caller, "invoice", "issued", &[id], 303).await;
    Ok(see_other(&format!("/invoices/{id}?flash=issued")))
}

pub(crate) async fn void(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    check_same_origin(&req)?;
    let caller = signed_in(&req, &state).await?;
    caller.require_staff("invoice").for_caller(&caller)?;
    let id = parse_id(&id).for_caller(&caller)?;
    state.run(move |conn| svc::void(conn, id)).await.for_caller(&caller)?;
    crate::http::audit::record_direct(&state, &req, &caller, "invoice", "voided", &[id], 303).await;
    Ok(see_other(&format!("/invoices/{id}?flash=voided")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly() {
        assert_eq!(parse_month("2025-01"), NaiveDate::from_ymd_opt(2025, 1, 1));
        assert_eq!(parse_month(" 2025-12 "), NaiveDate::from_ymd_opt(2025, 12, 1));
        assert_eq!(parse_month("2025-03-01"), NaiveDate::from_ymd_opt(2025, 3, 1));
        assert_eq!(parse_month("2025-13"), None);
        assert_eq!(parse_month("25-01"), None);
        assert_eq!(parse_month("2025-1"), None);
        assert_eq!(parse_month("2025-01x"), None);
        assert_eq!(parse_month(""), None);
        assert_eq!(
            previous_month(NaiveDate::from_ymd_opt(2025, 1, 15).unwrap()),
            NaiveDate::from_ymd_opt(2024, 12, 1).unwrap()
        );
    }
}
