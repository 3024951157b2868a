//! `/subscriptions/{id}/blocks` and `/prepaid-blocks/{id}`: prepaid blocks of hours (SPEC 7.5).
//! Finance and admin keys record and delete them; the subscription's client keys may read them
//! with their balances.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::validation::{self as v, Check};
use crate::error::{AppError, Problem};
use crate::http::extract::JsonBody;
use crate::http::pagination::{paginate, PageQuery};
use crate::http::wire::{timestamp, DecimalIn, Page};
use crate::http::AppState;
use crate::service::auth::Caller;
use crate::service::blocks::{self, BlockBalance, NewBlock, MAX_BLOCK_MINUTES};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(remove);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockInput {
    /// `YYYY-MM-DD`: the invoice whose period contains this date bills the block, and time
    /// worked from this date on draws from it.
    pub purchased_on: String,
    /// Minutes bought, 1 to 1,000,000.
    pub minutes: i64,
    /// What the block costs, >= 0, in the plan's currency with at most its minor digits.
    pub price: DecimalIn,
    /// `YYYY-MM-DD`, exclusive: the first day the block can no longer be drawn from; after
    /// `purchased_on`. Absent or null: the block never expires.
    pub expires_on: Option<String>,
}

impl BlockInput {
    fn validate(self) -> Result<NewBlock, v::ValidationErrors> {
        let mut c = Check::new();
        let purchased_on = c.take("purchased_on", v::date(&self.purchased_on));
        let minutes = c.take(
            "minutes",
            if (1..=i64::from(MAX_BLOCK_MINUTES)).contains(&self.minutes) {
                Ok(self.minutes as i32)
            } else {
                Err(format!("must be between 1 and {MAX_BLOCK_MINUTES}"))
            },
        );
        let price = c.take("price", v::decimal(&self.price.0));
        let expires_on = match &self.expires_on {
            None => Some(None),
            Some(text) => match (v::end_date(text), purchased_on) {
                (Ok(end), Some(start)) if end <= start => {
                    c.add("expires_on", "must be after purchased_on (it is exclusive: the first day not covered)");
                    None
                }
                (result, _) => c.take("expires_on", result).map(Some),
            },
        };
        c.finish(|| {
            Some(NewBlock { purchased_on: purchased_on?, expires_on: expires_on?, minutes: minutes?, price: price? })
        })
    }
}

/// A block and its balance. Minutes drawn are weighted (after-hours time counts its multiplier)
/// and may be fractional.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockOut {
    pub id: i64,
    pub subscription_id: i64,
    pub purchased_on: String,
    /// Exclusive; null: never expires.
    pub expires_on: Option<String>,
    /// Minutes bought.
    pub minutes: i32,
    pub price: String,
    /// Decimal: weighted minutes drawn by draft and issued invoices (client keys: issued ones).
    pub used: String,
    /// Decimal: `minutes - used`.
    pub left: String,
    /// True from `expires_on` on (today, UTC): what is left can no longer be drawn.
    pub expired: bool,
    /// The invoice that bills the purchase; null until one does.
    pub billed_on_invoice: Option<i64>,
    pub created_at: String,
}

impl From<BlockBalance> for BlockOut {
    fn from(b: BlockBalance) -> Self {
        BlockOut {
            id: b.block.id,
            subscription_id: b.block.subscription_id,
            purchased_on: b.block.purchased_on.to_string(),
            expires_on: b.block.expires_on.map(|d| d.to_string()),
            minutes: b.block.minutes,
            price: b.block.price.0.to_string(),
            used: b.used.to_string(),
            left: b.left.to_string(),
            expired: b.expired,
            billed_on_invoice: b.billed_on_invoice,
            created_at: timestamp(b.block.created_at),
        }
    }
}

/// Records a prepaid block on a subscription whose plan is prepaid.
///
/// The next invoice whose period contains `purchased_on` bills it as a `block_purchase` line.
#[utoipa::path(tag = "subscriptions", params(("id" = i64, Path)), request_body = BlockInput,
    responses((status = 201, body = BlockOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[post("/subscriptions/{id}/blocks")]
async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody<BlockInput>,
) -> Result<HttpResponse, AppError> {
    caller.require_staff("subscription")?;
    let id = id.into_inner();
    let new = body.parse()?.validate()?;
    let now = state.clock.now();
    let row = state.run(move |conn| blocks::create(conn, &caller, id, new, now)).await?;
    Ok(HttpResponse::Created().json(BlockOut::from(row)))
}

/// A subscription's prepaid blocks with what is used and left of each, as of today (UTC).
#[utoipa::path(tag = "subscriptions", params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = Page<BlockOut>), (status = 404, body = Problem)))]
#[get("/subscriptions/{id}/blocks")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: crate::http::extract::DeferredQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let page = query.parse()?.parse()?;
    let today = state.clock.now().date();
    let rows = state.run(move |conn| blocks::list(conn, &caller, id, today, page.after, page.limit)).await?;
    Ok(HttpResponse::Ok().json(paginate(rows, page, |b| b.block.id, BlockOut::from)))
}

/// Deletes a block recorded by mistake, while no invoice bills or draws from it (else 409).
#[utoipa::path(tag = "subscriptions", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[delete("/prepaid-blocks/{id}")]
async fn remove(caller: Caller, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    caller.require_staff("prepaid block")?;
    let id = id.into_inner();
    state.run(move |conn| blocks::delete(conn, &caller, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
