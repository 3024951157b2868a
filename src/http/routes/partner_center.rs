//! `/import/partner-center/...` (admin): the customers and subscriptions lists exported from
//! Microsoft Partner Center, as `text/csv`, upserted by their Partner Center ids. All or
//! nothing; errors name the file's line; `dry_run=true` reports what would change.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{AppError, Problem};
use crate::http::extract::RawBody;
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::partner_center::{self, CustomerDefaults, ImportReport};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(customers).service(subscriptions);
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomersQuery {
    /// Report what would change, write nothing.
    pub dry_run: Option<bool>,
    /// For new customers when the file has no Currency column (ISO 4217).
    pub currency: Option<String>,
    /// For new customers when the file has no Country column (ISO 3166 alpha-2).
    pub country: Option<String>,
    /// For new customers (0 to 100); required when the file has customers not seen before.
    pub tax_rate_percent: Option<String>,
}

/// Partner Center customers (`Microsoft ID` / `Customer ID` / `Tenant ID`, `Company name` /
/// `Name`, `Primary domain` / `Domain`, optional `Email`, `Country`, `Currency`).
#[utoipa::path(tag = "import", params(CustomersQuery), request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 422, body = Problem), (status = 403, body = Problem)))]
#[post("/import/partner-center/customers")]
async fn customers(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<CustomersQuery>,
    body: RawBody,
) -> Result<HttpResponse, AppError> {
    caller.require_admin("route")?;
    let q = query.parse()?;
    let defaults = CustomerDefaults { currency: q.currency, country: q.country, tax_rate_percent: q.tax_rate_percent };
    let dry_run = q.dry_run.unwrap_or(false);
    let now = state.clock.now();
    let report =
        state.run(move |conn| partner_center::import_customers(conn, &body.0, &defaults, dry_run, now)).await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionsQuery {
    /// The plan new subscriptions go on (in the customers' currency).
    pub plan_id: i64,
    pub dry_run: Option<bool>,
}

/// Partner Center subscriptions (`Subscription ID`, `Customer ID` / `Microsoft ID`,
/// `Offer name` / `Product name`, optional `Quantity`, `Status`).
#[utoipa::path(tag = "import", params(SubscriptionsQuery), request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 422, body = Problem), (status = 403, body = Problem)))]
#[post("/import/partner-center/subscriptions")]
async fn subscriptions(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<SubscriptionsQuery>,
    body: RawBody,
) -> Result<HttpResponse, AppError> {
    caller.require_admin("route")?;
    let q = query.parse()?;
    let now = state.clock.now();
    let report = state
        .run(move |conn| {
            partner_center::import_subscriptions(conn, &body.0, q.plan_id, q.dry_run.unwrap_or(false), now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
