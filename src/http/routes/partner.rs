//! `/partner`: the partner's own details (admin only).

use actix_web::{get, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::validation::{self as v, Check};
use crate::error::{AppError, Problem};
use crate::http::extract::JsonBody;
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::partner;
use crate::storage::models::Partner;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(read).service(update);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerDetails {
    pub name: String,
    pub address: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    pub tax_id: String,
    /// Default `INV-`; at most 20 of the letters A-Z and a-z, the digits 0-9, `-` and `_`.
    #[serde(default = "default_prefix")]
    pub invoice_prefix: String,
    /// Default 30.
    #[serde(default = "default_terms")]
    pub payment_terms_days: i64,
}

fn default_prefix() -> String {
    "INV-".into()
}
fn default_terms() -> i64 {
    30
}

impl From<Partner> for PartnerDetails {
    fn from(p: Partner) -> Self {
        PartnerDetails {
            name: p.name,
            address: p.address,
            country: p.country,
            tax_id: p.tax_id,
            invoice_prefix: p.invoice_prefix,
            payment_terms_days: p.payment_terms_days as i64,
        }
    }
}

#[utoipa::path(tag = "partner", responses((status = 200, body = PartnerDetails), (status = 403, body = Problem)))]
#[get("/partner")]
async fn read(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    caller.require_admin("route")?;
    let row = state.run(partner::get).await?;
    Ok(HttpResponse::Ok().json(PartnerDetails::from(row)))
}

/// Changes apply to invoices issued from now on; issued invoices keep the details they had.
#[utoipa::path(tag = "partner", request_body = PartnerDetails, responses((status = 200, body = PartnerDetails), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[put("/partner")]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    body: JsonBody<PartnerDetails>,
) -> Result<HttpResponse, AppError> {
    caller.require_admin("route")?;
    let b = body.parse()?;
    let mut c = Check::new();
    let name = c.take("name", v::required_text(&b.name, 300));
    let address = c.take("address", v::optional_text(&b.address, 1000));
    let country = c.take("country", v::country(&b.country));
    let tax_id = c.take("tax_id", v::optional_text(b.tax_id.trim(), 64));
    let prefix = c.take("invoice_prefix", v::invoice_prefix(&b.invoice_prefix));
    if !(0..=365).contains(&b.payment_terms_days) {
        c.add("payment_terms_days", "must be between 0 and 365");
    }
    let details = c.finish(|| {
        Some(Partner {
            id: 1,
            name: name?,
            address: address?,
            country: country?,
            tax_id: tax_id?,
            invoice_prefix: prefix?,
            payment_terms_days: b.payment_terms_days as i32,
        })
    })?;
    let row = state.run(move |conn| partner::update(conn, details)).await?;
    Ok(HttpResponse::Ok().json(PartnerDetails::from(row)))
}
