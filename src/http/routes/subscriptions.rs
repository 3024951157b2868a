//! `/subscriptions`: customers' CSP subscriptions. Clients may read their own.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::coverage::Coverage;
use crate::domain::validation::{self as v, Check, ValidationErrors};
use crate::domain::vocab::{Product, SubscriptionStatus};
use crate::error::{AppError, Problem};
use crate::http::extract::JsonBody;
use crate::http::merge_patch::MergePatch;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{timestamp, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::subscriptions;
use crate::storage::models::{NewSubscription, Subscription};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update).service(remove);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    pub customer_id: i64,
    pub plan_id: i64,
    /// `azure`, `microsoft_365`, `dynamics_365` or `other`.
    pub product: String,
    /// The offer name, e.g. "Azure plan".
    pub name: String,
    /// Partner Center subscription id; unique.
    pub external_id: Option<String>,
    /// `active` (default), `suspended` or `cancelled`. Cancelled without an `end_date`: it
    /// ends on the first day of the next month (UTC).
    pub status: Option<String>,
    /// `YYYY-MM-DD`: the first day covered. Time entries, tickets and charges dated (UTC)
    /// before it are refused (422 `outside_subscription`).
    pub start_date: String,
    /// `YYYY-MM-DD`, exclusive: the first day no longer covered (documents print the day
    /// before); after `start_date`. None: open-ended.
    pub end_date: Option<String>,
}

impl SubscriptionInput {
    fn validate(self) -> Result<NewSubscription, ValidationErrors> {
        let mut c = Check::new();
        let product = c.take("product", Product::parse_field(&self.product));
        let name = c.take("name", v::required_text(&self.name, 300));
        let status = c.take("status", SubscriptionStatus::parse_field(self.status.as_deref().unwrap_or("active")));
        let external_id = match &self.external_id {
            Some(x) => c.take("external_id", v::required_text(x, 128)).map(Some),
            None => Some(None),
        };
        let start_date = c.take("start_date", v::date(&self.start_date));
        let end_date = match &self.end_date {
            Some(d) => c.take("end_date", v::end_date(d)).map(Some),
            None => Some(None),
        };
        if let (Some(start), Some(end)) = (start_date, end_date) {
            c.take("end_date", Coverage { start, end }.check());
        }
        c.finish(|| {
            Some(NewSubscription {
                customer_id: self.customer_id,
                plan_id: self.plan_id,
                product: product?,
                name: name?,
                external_id: external_id?,
                status: status?,
                start_date: start_date?,
                end_date: end_date?,
            })
        })
    }

    /// The subscription's current values, as a create would have sent them (what a patch
    /// merges onto).
    fn current(s: &Subscription) -> SubscriptionInput {
        SubscriptionInput {
            customer_id: s.customer_id,
            plan_id: s.plan_id,
            product: s.product.as_str().to_string(),
            name: s.name.clone(),
            external_id: s.external_id.clone(),
            status: Some(s.status.as_str().to_string()),
            start_date: s.start_date.to_string(),
            end_date: s.end_date.map(|d| d.to_string()),
        }
    }
}

/// A JSON merge patch (RFC 7396): absent fields stay as they are; `null` clears `external_id`
/// or `end_date`. New dates must still cover the subscription's time entries, tickets and
/// charges (422 `outside_subscription` naming the first one outside).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPatch {
    // (Only the shape is used, to check the patch: the values are merged as JSON.)
    #[serde(default)]
    pub plan_id: i64,
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub start_date: String,
    #[serde(default)]
    pub end_date: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionOut {
    pub id: i64,
    pub customer_id: i64,
    pub plan_id: i64,
    pub product: String,
    pub name: String,
    pub external_id: Option<String>,
    pub status: String,
    pub created_at: String,
    /// The first day covered.
    pub start_date: String,
    /// The first day no longer covered (exclusive); null while open-ended.
    pub end_date: Option<String>,
}

impl From<Subscription> for SubscriptionOut {
    fn from(s: Subscription) -> Self {
        SubscriptionOut {
            id: s.id,
            customer_id: s.customer_id,
            plan_id: s.plan_id,
            product: s.product.to_string(),
            name: s.name,
            external_id: s.external_id,
            status: s.status.to_string(),
            created_at: timestamp(s.created_at),
            start_date: s.start_date.to_string(),
            end_date: s.end_date.map(|d| d.to_string()),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionFilter {
    pub customer_id: Option<i64>,
}

#[utoipa::path(tag = "subscriptions", request_body = SubscriptionInput,
    responses((status = 201, body = SubscriptionOut), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/subscriptions")]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: JsonBody<SubscriptionInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("route")?;
    let new = body.parse()?.validate()?;
    let now = state.clock.now();
    let row = state.run(move |conn| subscriptions::create(conn, new, now)).await?;
    Ok(HttpResponse::Created().json(SubscriptionOut::from(row)))
}

#[utoipa::path(tag = "subscriptions", params(PageQuery, SubscriptionFilter), responses((status = 200, body = Page<SubscriptionOut>)))]
#[get("/subscriptions")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
    filter: crate::http::extract::DeferredQuery<SubscriptionFilter>,
) -> Result<HttpResponse, AppError> {
    let page = query.parse()?.parse()?;
    let filter = filter.parse()?;
    // A client lists only its own customer's subscriptions, whatever filter it sends.
    let customer_id = if caller.is_client() { Some(caller.customer_id.unwrap_or(-1)) } else { filter.customer_id };
    let rows = state.run(move |conn| subscriptions::list(conn, customer_id, page.after, page.limit)).await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |s| s.id, SubscriptionOut::from)))
}

#[utoipa::path(tag = "subscriptions", params(("id" = i64, Path)), responses((status = 200, body = SubscriptionOut), (status = 404, body = Problem)))]
#[get("/subscriptions/{id}")]
async fn read(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let row = state.run(move |conn| subscriptions::get(conn, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(SubscriptionOut::from(row)))
}

/// Changes a subscription by a JSON merge patch.
///
/// The merged subscription is checked as a create is. Cancelled without an `end_date`, it ends
/// on the first day of the next month (UTC). New dates must still cover its time entries,
/// tickets and charges (422 `outside_subscription`, naming the first one outside).
#[utoipa::path(tag = "subscriptions", params(("id" = i64, Path)),
    request_body(content = SubscriptionPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, body = SubscriptionOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[patch("/subscriptions/{id}")]
async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody<SubscriptionPatch>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("subscription")?;
    let id = id.into_inner();
    let patch = MergePatch::parse(&body)?;
    let now = state.clock.now();
    let row = state
        .run(move |conn| {
            subscriptions::update(conn, &caller, id, now, |current| {
                Ok(patch.apply(&SubscriptionInput::current(current))?.validate()?)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubscriptionOut::from(row)))
}

#[utoipa::path(tag = "subscriptions", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[delete("/subscriptions/{id}")]
async fn remove(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("subscription")?;
    let id = id.into_inner();
    state.run(move |conn| subscriptions::delete(conn, &caller, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
