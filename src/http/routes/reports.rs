//! `/reports`: the usage summary and the invoice register, as JSON, CSV or PDF.

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::documents::model::{RegisterRow, UsageRow};
use crate::documents::{self, pdf, Format};
use crate::domain::validation::{self as v, Check};
use crate::error::{AppError, Problem};
use crate::http::negotiate;
use crate::http::wire::DataList;
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::reports::{self, GroupBy};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(usage).service(register);
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// `YYYY-MM-DD`, inclusive; 2000-01-01 to 2199-12-31.
    pub from: String,
    /// `YYYY-MM-DD`, exclusive; at most 2200-01-01.
    pub to: String,
    /// `customer`, `subscription`, `product`, `category`, `agent` or `escalation_channel`.
    pub group_by: Option<String>,
    pub customer_id: Option<i64>,
    /// `json`, `csv` or `pdf` (else the `Accept` header decides).
    pub format: Option<String>,
}

fn range(from: &str, to: &str) -> Result<(chrono::NaiveDate, chrono::NaiveDate), AppError> {
    let mut c = Check::new();
    let f = c.take("from", v::date(from));
    let t = c.take("to", v::end_date(to));
    if let (Some(f), Some(t)) = (f, t) {
        // `to` is exclusive: from == to is an empty range (SPEC 5: "any dates"), and answers
        // an empty report, not an error.
        if t < f {
            c.add("to", "must not be before from")
        }
    }
    c.finish(|| Some((f?, t?))).map_err(AppError::from)
}

fn format_of(req: &HttpRequest, format: Option<&str>) -> Result<Format, AppError> {
    let suffix = match format {
        None => None,
        Some(f) => {
            let format = Format::from_extension(f).filter(|f| *f != Format::Xml);
            Some(format.ok_or_else(|| AppError::field("format", "must be json, csv or pdf"))?)
        }
    };
    negotiate::requested_format(req, suffix)
}

/// The usage summary as JSON, CSV or PDF (with a bar chart of hours per group).
#[utoipa::path(tag = "reports", params(UsageQuery),
    responses((status = 200, content((DataList<UsageRow> = "application/json"), (String = "text/csv"), (Vec<u8> = "application/pdf"))),
        (status = 422, body = Problem)))]
#[get("/reports/usage")]
async fn usage(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: crate::http::extract::DeferredQuery<UsageQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.parse()?;
    let format = format_of(&req, query.format.as_deref())?;
    let (from, to) = range(&query.from, &query.to)?;
    let group_name = query.group_by.as_deref().unwrap_or("customer");
    let group_by = GroupBy::parse(group_name).ok_or_else(|| {
        AppError::field("group_by", format!("{group_name:?} is not one of: {}", GroupBy::NAMES.join(", ")))
    })?;
    // Clients always see only their own customer.
    let customer_id = if caller.is_client() { Some(caller.customer_id.unwrap_or(-1)) } else { query.customer_id };
    let rows = state.run(move |conn| reports::usage(conn, from, to, group_by, customer_id)).await?;
    let name = format!("usage-{from}-{to}-{group_name}.{}", format.extension());
    let bytes = match format {
        Format::Json => serde_json::to_vec(&DataList { data: rows }).map_err(|e| AppError::Internal(e.to_string()))?,
        Format::Csv => documents::csv::usage_csv(&rows),
        Format::Pdf => pdf::usage_pdf(
            "Support usage summary",
            &from.to_string(),
            &to.to_string(),
            group_name,
            &rows,
            pdf::Paper::A4,
        )
        .map_err(|e| AppError::Internal(format!("usage PDF: {e}")))?,
        Format::Xml => return Err(negotiate::not_acceptable()),
    };
    Ok(negotiate::document(&req, format, &name, bytes))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegisterQuery {
    /// `YYYY-MM-DD`, inclusive; 2000-01-01 to 2199-12-31.
    pub from: String,
    /// `YYYY-MM-DD`, exclusive; at most 2200-01-01.
    pub to: String,
    /// `json`, `csv` or `pdf` (else the `Accept` header decides).
    pub format: Option<String>,
}

/// Invoices issued in [from, to), void ones included, as JSON, CSV or PDF.
#[utoipa::path(tag = "reports", params(RegisterQuery),
    responses((status = 200, content((DataList<RegisterRow> = "application/json"), (String = "text/csv"), (Vec<u8> = "application/pdf"))),
        (status = 422, body = Problem)))]
#[get("/reports/invoices")]
async fn register(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: crate::http::extract::DeferredQuery<RegisterQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let query = query.parse()?;
    let format = format_of(&req, query.format.as_deref())?;
    let (from, to) = range(&query.from, &query.to)?;
    let rows = state.run(move |conn| crate::service::register::register(conn, from, to, None)).await?;
    let name = format!("invoices-{from}-{to}.{}", format.extension());
    let bytes = match format {
        Format::Json => serde_json::to_vec(&DataList { data: rows }).map_err(|e| AppError::Internal(e.to_string()))?,
        Format::Csv => documents::csv::register_csv(&rows),
        Format::Pdf => pdf::register_pdf(&from.to_string(), &to.to_string(), &rows, pdf::Paper::A4)
            .map_err(|e| AppError::Internal(format!("register PDF: {e}")))?,
        Format::Xml => return Err(negotiate::not_acceptable()),
    };
    Ok(negotiate::document(&req, format, &name, bytes))
}
