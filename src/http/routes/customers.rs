//! `/customers`: the partner's customers (admin and finance).

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::validation::{self as v, Check, ValidationErrors};
use crate::domain::vocab::TaxTreatment;
use crate::error::{AppError, Problem};
use crate::http::extract::JsonBody;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{timestamp, DecimalIn, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::customers;
use crate::storage::models::{Customer, NewCustomer};
use crate::storage::Dec;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update).service(remove);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// Any Unicode, e.g. `ООО «Ромашка»`.
    pub name: String,
    /// ISO 4217 code; the customer's plans must use the same currency.
    pub currency: String,
    /// 0 to 100.
    pub tax_rate_percent: DecimalIn,
    /// ISO 3166 alpha-2.
    pub country: String,
    pub email: String,
    #[serde(default)]
    pub billing_address: String,
    #[serde(default)]
    pub tax_id: String,
    /// Partner Center customer tenant id; unique.
    pub external_id: Option<String>,
    /// `standard` (default), `reverse_charge` (rate 0, customer and partner tax ids set),
    /// `exempt` (rate 0, `exemption_reason` required) or `outside_scope` (rate 0).
    pub tax_treatment: Option<String>,
    /// Why the customer is exempt; printed on its invoices. Only with `exempt`.
    pub exemption_reason: Option<String>,
}

impl CustomerInput {
    pub fn validate(self) -> Result<NewCustomer, ValidationErrors> {
        let mut c = Check::new();
        let name = c.take("name", v::required_text(&self.name, 300));
        let currency = c.take("currency", v::currency(&self.currency));
        let tax = c.take("tax_rate_percent", v::decimal(&self.tax_rate_percent.0).and_then(v::percent));
        let country = c.take("country", v::country(&self.country));
        let email = c.take("email", v::email(&self.email));
        let address = c.take("billing_address", v::optional_text(&self.billing_address, 1000));
        let tax_id = c.take("tax_id", v::optional_text(self.tax_id.trim(), 64));
        let external_id = match &self.external_id {
            Some(x) => c.take("external_id", v::required_text(x, 128)).map(Some),
            None => Some(None),
        };
        let treatment =
            c.take("tax_treatment", TaxTreatment::parse_field(self.tax_treatment.as_deref().unwrap_or("standard")));
        let reason =
            c.take("exemption_reason", v::optional_text(self.exemption_reason.as_deref().unwrap_or("").trim(), 500));
        // SPEC 6: only standard customers pay VAT; the others need what their note refers to.
        if let (Some(t), Some(rate), Some(reason), Some(tax_id)) =
            (treatment, tax, reason.as_deref(), tax_id.as_deref())
        {
            if t != TaxTreatment::Standard && !rate.is_zero() {
                c.add("tax_rate_percent", format!("must be 0 for tax_treatment {}", t.as_str()));
            }
            match t {
                TaxTreatment::ReverseCharge if tax_id.is_empty() => {
                    c.add("tax_id", "the customer's tax id is required for reverse_charge");
                }
                TaxTreatment::Exempt if reason.is_empty() => {
                    c.add("exemption_reason", "is required for tax_treatment exempt (it is printed on invoices)");
                }
                TaxTreatment::Standard | TaxTreatment::ReverseCharge | TaxTreatment::OutsideScope
                    if !reason.is_empty() =>
                {
                    c.add("exemption_reason", "only applies to tax_treatment exempt");
                }
                _ => {}
            }
        }
        c.finish(|| NewCustomer {
            name: name.unwrap(),
            billing_address: address.unwrap(),
            email: email.unwrap(),
            country: country.unwrap(),
            currency: currency.unwrap().code().to_string(),
            tax_rate_percent: Dec(tax.unwrap().normalize()),
            tax_id: tax_id.unwrap(),
            external_id: external_id.unwrap(),
            tax_treatment: treatment.unwrap().as_str().to_string(),
            exemption_reason: reason.unwrap(),
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerOut {
    pub id: i64,
    pub name: String,
    pub billing_address: String,
    pub email: String,
    pub country: String,
    pub currency: String,
    pub tax_rate_percent: String,
    pub tax_id: String,
    pub external_id: Option<String>,
    pub tax_treatment: String,
    pub exemption_reason: String,
    pub created_at: String,
}

impl From<Customer> for CustomerOut {
    fn from(c: Customer) -> Self {
        CustomerOut {
            id: c.id,
            name: c.name,
            billing_address: c.billing_address,
            email: c.email,
            country: c.country,
            currency: c.currency,
            tax_rate_percent: c.tax_rate_percent.0.to_string(),
            tax_id: c.tax_id,
            external_id: c.external_id,
            tax_treatment: c.tax_treatment,
            exemption_reason: c.exemption_reason,
            created_at: timestamp(c.created_at),
        }
    }
}

#[utoipa::path(tag = "customers", request_body = CustomerInput,
    responses((status = 201, body = CustomerOut), (status = 422, body = Problem), (status = 409, body = Problem)))]
#[post("/customers")]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: JsonBody<CustomerInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let new = body.parse()?.validate()?;
    let now = state.clock.now();
    let row = state.run(move |conn| customers::create(conn, new, now)).await?;
    Ok(HttpResponse::Created().json(CustomerOut::from(row)))
}

#[utoipa::path(tag = "customers", params(PageQuery), responses((status = 200, body = Page<CustomerOut>)))]
#[get("/customers")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let page = query.parse()?.parse()?;
    let rows = state.run(move |conn| customers::list(conn, page.after, page.limit)).await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |c| c.id, CustomerOut::from)))
}

#[utoipa::path(tag = "customers", params(("id" = i64, Path)), responses((status = 200, body = CustomerOut), (status = 404, body = Problem)))]
#[get("/customers/{id}")]
async fn read(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("customer")?;
    let id = id.into_inner();
    let row = state.run(move |conn| customers::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(CustomerOut::from(row)))
}

#[utoipa::path(tag = "customers", params(("id" = i64, Path)), request_body = CustomerInput,
    responses((status = 200, body = CustomerOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[put("/customers/{id}")]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody<CustomerInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("customer")?;
    let id = id.into_inner();
    let changes = body.parse()?.validate()?;
    let row = state.run(move |conn| customers::update(conn, id, changes)).await?;
    Ok(HttpResponse::Ok().json(CustomerOut::from(row)))
}

#[utoipa::path(tag = "customers", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[delete("/customers/{id}")]
async fn remove(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("customer")?;
    let id = id.into_inner();
    state.run(move |conn| customers::delete(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
