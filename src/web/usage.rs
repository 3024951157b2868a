//! The usage summary page and its CSV and PDF downloads.

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use crate::documents::csv::CHANNELS;
use crate::documents::model::UsageRow;
use crate::documents::{self, pdf, Format};
use crate::domain::validation as v;
use crate::http::negotiate;
use crate::http::AppState;
use crate::service::reports::{self, GroupBy};

use super::html::{self, group_digits, layout, link, Nav, Notice, E};
use super::invoices::previous_month;
use super::{html_page, parse_form, signed_in, Failure, ForCaller, Visitor};

#[derive(Deserialize, Default)]
struct UsageQuery {
    from: Option<String>,
    to: Option<String>,
    group_by: Option<String>,
}

/// A checked request: the range, the grouping and its wire name.
struct Request {
    from: NaiveDate,
    to: NaiveDate,
    group_by: GroupBy,
    group_name: String,
}

fn group_label(name: &str) -> &'static str {
    match name {
        "customer" => "Customer",
        "subscription" => "Subscription",
        "product" => "Product",
        "category" => "Category",
        "agent" => "Agent",
        "escalation_channel" => "Escalation channel",
        _ => "Group",
    }
}

fn channel_label(name: &str) -> &'static str {
    match name {
        "microsoft_commercial" => "Commercial",
        "premier" => "Premier",
        "advanced" => "Advanced",
        "signature_cloud" => "Signature Cloud",
        _ => "Other",
    }
}

/// The form's values (defaults: last calendar month, by customer) and what is wrong with them.
fn read_query(req: &HttpRequest, today: NaiveDate) -> (String, String, String, Result<Request, Vec<String>>) {
    let q: UsageQuery = parse_form(req.query_string()).unwrap_or_default();
    let this_month = today.with_day(1).unwrap_or(today);
    let non_empty = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let from_text = non_empty(q.from).unwrap_or_else(|| previous_month(today).to_string());
    let to_text = non_empty(q.to).unwrap_or_else(|| this_month.to_string());
    let group_text = non_empty(q.group_by).unwrap_or_else(|| "customer".to_string());
    let mut errors = Vec::new();
    let from = v::date(&from_text).map_err(|m| errors.push(format!("From: {m}."))).ok();
    let to = v::end_date(&to_text).map_err(|m| errors.push(format!("To: {m}."))).ok();
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errors.push("To: must not be before From (the range is From inclusive to To exclusive).".to_string());
        }
    }
    let group_by = GroupBy::parse(&group_text);
    if group_by.is_none() {
        errors.push(format!("Group by: {group_text:?} is not one of {}.", GroupBy::NAMES.join(", ")));
    }
    let result = match (from, to, group_by) {
        (Some(from), Some(to), Some(group_by)) if errors.is_empty() => {
            Ok(Request { from, to, group_by, group_name: group_text.clone() })
        }
        _ => Err(errors),
    };
    (from_text, to_text, group_text, result)
}

async fn load(state: &AppState, caller: &Visitor, r: &Request) -> Result<Vec<UsageRow>, Failure> {
    // Clients only ever see their own customer.
    let customer_id = if caller.is_client() { Some(caller.customer_id.unwrap_or(-1)) } else { None };
    let (from, to, group_by) = (r.from, r.to, r.group_by);
    state.run(move |conn| reports::usage(conn, from, to, group_by, customer_id)).await.for_caller(caller)
}

pub(crate) async fn page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let caller = signed_in(&req, &state).await?;
    let (from_text, to_text, group_text, request) = read_query(&req, state.clock.now().date());
    let mut notices = Vec::new();

    let mut body = String::from("<div class=\"page-head\"><h1>Usage summary</h1></div>\n");
    let options: Vec<(String, String)> =
        GroupBy::NAMES.iter().map(|n| (n.to_string(), group_label(n).to_string())).collect();
    let _ = write!(
        body,
        "<form method=\"get\" action=\"/usage\" class=\"filters card\">\n\
         <div class=\"field\"><label for=\"u-from\">From</label><input type=\"date\" id=\"u-from\" name=\"from\" value=\"{}\" required></div>\n\
         <div class=\"field\"><label for=\"u-to\">To (exclusive)</label><input type=\"date\" id=\"u-to\" name=\"to\" value=\"{}\" required></div>\n\
         <div class=\"field\"><label for=\"u-group\">Group by</label>{}</div>\n\
         <div class=\"field buttons\"><button type=\"submit\">Show</button></div>\n</form>\n",
        E(&from_text),
        E(&to_text),
        html::select("group_by", "u-group", &options, &group_text)
    );

    let status = match request {
        Err(errors) => {
            notices.extend(errors.into_iter().map(Notice::error));
            body.push_str("<p class=\"empty card\">Correct the form above to see the usage summary.</p>\n");
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Ok(r) => {
            let rows = load(&state, &caller, &r).await?;
            let params = [("from", from_text.as_str()), ("to", to_text.as_str()), ("group_by", r.group_name.as_str())];
            let _ = writeln!(
                body,
                "<div class=\"toolbar\"><p class=\"muted\">Time entries started from {} up to (not including) {}, by {}. \
                 Minutes are as recorded; billed minutes are after each plan's rounding and minimums.</p>\
                 <div class=\"actions\"><a class=\"button secondary\" href=\"{}\">Download CSV</a> \
                 <a class=\"button secondary\" href=\"{}\">Download PDF</a></div></div>",
                E(r.from),
                E(r.to),
                E(group_label(&r.group_name).to_lowercase()),
                E(link("/usage/download.csv", &params)),
                E(link("/usage/download.pdf", &params)),
            );
            if rows.is_empty() {
                body.push_str("<p class=\"empty card\">No time entries, tickets or escalations in this range.</p>\n");
            } else {
                body.push_str(&usage_table(&rows, &r));
            }
            StatusCode::OK
        }
    };
    Ok(html_page(status, layout("Usage summary", Some(&caller), Nav::Usage, &notices, &body)))
}

fn usage_table(rows: &[UsageRow], r: &Request) -> String {
    let n = |x: u64| group_digits(&x.to_string());
    let mut out = String::new();
    let _ = write!(
        out,
        "<div class=\"table-scroll\"><table class=\"data usage\">\n<thead>\
         <tr><th rowspan=\"2\">{}</th><th rowspan=\"2\" class=\"num\">Entries</th><th rowspan=\"2\" class=\"num\">Minutes</th>\
         <th rowspan=\"2\" class=\"num\">Billable</th><th rowspan=\"2\" class=\"num\">Non-billable</th>\
         <th rowspan=\"2\" class=\"num\">Billed</th><th rowspan=\"2\" class=\"num\">After hours</th>\
         <th rowspan=\"2\" class=\"num\">Tickets</th><th colspan=\"{}\" class=\"group\">Escalations to Microsoft</th></tr>\n<tr>",
        E(group_label(&r.group_name)),
        E(CHANNELS.len())
    );
    for c in CHANNELS {
        let _ = write!(out, "<th class=\"num\">{}</th>", E(channel_label(c)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let mut total = UsageRow::default();
    for row in rows {
        let label = if row.label.is_empty() { row.key.as_str() } else { row.label.as_str() };
        let label = if label.is_empty() { "(none)" } else { label };
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            E(label),
            E(n(row.entries)),
            E(n(row.minutes)),
            E(n(row.billable_minutes)),
            E(n(row.non_billable_minutes)),
            E(n(row.billed_minutes)),
            E(n(row.after_hours_minutes)),
            E(n(row.tickets)),
        );
        for c in CHANNELS {
            let count = row.escalations.get(c).copied().unwrap_or(0);
            *total.escalations.entry(c.to_string()).or_default() += count;
            let _ = write!(out, "<td class=\"num\">{}</td>", E(n(count)));
        }
        out.push_str("</tr>\n");
        total.entries += row.entries;
        total.minutes += row.minutes;
        total.billable_minutes += row.billable_minutes;
        total.non_billable_minutes += row.non_billable_minutes;
        total.billed_minutes += row.billed_minutes;
        total.after_hours_minutes += row.after_hours_minutes;
        total.tickets += row.tickets;
    }
    // A ticket worked by two agents counts under both, so its total would double count.
    let tickets = if r.group_by == GroupBy::Agent { "—".to_string() } else { n(total.tickets) };
    let _ = write!(
        out,
        "</tbody>\n<tfoot><tr class=\"total\"><th>Total</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        E(n(total.entries)),
        E(n(total.minutes)),
        E(n(total.billable_minutes)),
        E(n(total.non_billable_minutes)),
        E(n(total.billed_minutes)),
        E(n(total.after_hours_minutes)),
        E(tickets),
    );
    for c in CHANNELS {
        let value = if r.group_by == GroupBy::Agent {
            "—".to_string()
        } else {
            n(total.escalations.get(c).copied().unwrap_or(0))
        };
        let _ = write!(out, "<td class=\"num\">{}</td>", E(value));
    }
    out.push_str("</tr></tfoot>\n</table></div>\n");
    out
}

async fn download(req: HttpRequest, state: web::Data<AppState>, format: Format) -> Result<HttpResponse, Failure> {
    let caller = signed_in(&req, &state).await?;
    let (_, _, _, request) = read_query(&req, state.clock.now().date());
    let r = request
        .map_err(|errors| Failure::Message(StatusCode::UNPROCESSABLE_ENTITY, errors.join(" "), Some(caller.clone())))?;
    let rows = load(&state, &caller, &r).await?;
    let name = format!("usage-{}-{}-{}.{}", r.from, r.to, r.group_name, format.extension());
    let bytes = match format {
        Format::Pdf => pdf::usage_pdf(
            "Support usage summary",
            &r.from.to_string(),
            &r.to.to_string(),
            &r.group_name,
            &rows,
            pdf::Paper::A4,
        )
        .map_err(|e| {
            log::error!("request_id={} web: usage PDF: {e}", crate::http::request_id::RequestId::of(&req));
            Failure::Message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The PDF of the usage summary could not be produced right now; the error has been logged. \
                     The CSV download may still work."
                    .to_string(),
                Some(caller.clone()),
            )
        })?,
        _ => documents::csv::usage_csv(&rows),
    };
    Ok(negotiate::document(&req, format, &name, bytes))
}

pub(crate) async fn download_csv(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    download(req, state, Format::Csv).await
}

pub(crate) async fn download_pdf(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    download(req, state, Format::Pdf).await
}
