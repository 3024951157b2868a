//! Invoice pages: the filtered, paged list with the monthly run (here); one invoice
//! ([`detail`]), its downloads ([`downloads`]) and the run, issue and void actions ([`actions`]).

mod actions;
mod detail;
mod downloads;

pub(crate) use actions::{issue, run, void};
pub(crate) use detail::detail;
pub(crate) use downloads::{download_credit_note_csv, download_credit_note_pdf, download_csv, download_pdf};

use std::collections::BTreeMap;
use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, Months, NaiveDate};
use serde::Deserialize;

use crate::documents::model::InvoiceSummary;
use crate::domain::vocab::InvoiceStatus;
use crate::error::AppError;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::customers;
use crate::service::invoices::{self as svc, InvoiceFilter};
use crate::storage::DbConnection;

use super::html::{
    self, date_part, group_digits, hidden_csrf, layout, link, period_label, status_badge, Nav, Notice, E,
};
use super::{html_page, parse_form, signed_in, Failure, ForCaller};

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

pub(crate) fn month_value(d: NaiveDate) -> String {
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

pub(crate) fn invoice_label(number: Option<&str>, id: i64) -> String {
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
        match parse_month(&period_text).map(crate::domain::time::check_day) {
            Some(Ok(d)) => filter.period_start = Some(d),
            Some(Err(why)) => {
                invalid = true;
                notices.push(Notice::error(format!("Period: {period_text:?} {why}.")));
            }
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
             {}<h2>Run invoices</h2>\n<label for=\"run-month\">Month</label>\n\
             <input type=\"month\" id=\"run-month\" name=\"month\" value=\"{}\" required placeholder=\"YYYY-MM\" pattern=\"[0-9]{{4}}-[0-9]{{2}}\">\n\
             <button type=\"submit\">Draft invoices</button>\n\
             <span class=\"muted\">Drafts one invoice per customer with uninvoiced time, retainers or charges.</span>\n\
             </form>\n</section>\n",
            hidden_csrf(&caller.csrf_token),
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
    let statuses: &[InvoiceStatus] = if caller.is_client() {
        &[InvoiceStatus::Issued, InvoiceStatus::Void, InvoiceStatus::Credited]
    } else {
        &[InvoiceStatus::Draft, InvoiceStatus::Issued, InvoiceStatus::Void, InvoiceStatus::Credited]
    };
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
            status_badge(s.status),
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

/// An invoice id from the path; anything else is a 404, as for an id that does not exist.
pub(crate) fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(AppError::NotFound { what: "invoice" })
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
