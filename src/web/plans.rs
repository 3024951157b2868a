//! The plans page: every published plan with its versions (SPEC 7.2), the one in force today
//! marked. Read-only, for finance and admin keys (clients get 404, as in the API).

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;

use crate::http::routes::plans::TermsOut;
use crate::http::AppState;
use crate::service::{plan_versions, plans};
use crate::storage::models::PlanVersionRow;

use super::html::{layout, Nav, E};
use super::{html_page, signed_in, Failure, ForCaller};

/// Plans read per query while the page is built.
const BATCH: i64 = 1000;

pub(crate) async fn page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let caller = signed_in(&req, &state).await?;
    caller.require_staff("route").for_caller(&caller)?;
    let today = state.clock.now().date();
    let (all, mut versions) = state
        .run(move |conn| {
            let mut all = Vec::new();
            loop {
                let after = all.last().map_or(0, |p: &plans::PlanView| p.plan.id);
                let mut rows = plans::list(conn, after, BATCH, today)?;
                let more = rows.len() as i64 > BATCH;
                rows.truncate(BATCH as usize);
                all.extend(rows);
                if !more {
                    break;
                }
            }
            let ids: Vec<i64> = all.iter().map(|p| p.plan.id).collect();
            Ok((all, plan_versions::of_plans(conn, &ids)?))
        })
        .await
        .for_caller(&caller)?;

    let mut body = String::from("<div class=\"page-head\"><h1>Support plans</h1></div>\n");
    if all.is_empty() {
        body.push_str("<p class=\"empty card\">No plans yet.</p>\n");
    }
    for view in &all {
        let p = &view.plan;
        let _ = writeln!(
            body,
            "<section class=\"card plan\" id=\"plan-{}\"><h2>{}</h2><p>{} · {} · plan #{}</p>",
            E(p.id),
            E(&p.name),
            E(p.billing_model),
            E(p.currency),
            E(p.id)
        );
        let rows = versions.remove(&p.id).unwrap_or_default();
        body.push_str(&versions_table(&rows, view.version.id, p.currency, today));
        body.push_str("</section>\n");
    }
    Ok(html_page(StatusCode::OK, layout("Support plans", Some(&caller), Nav::Plans, &[], &body)))
}

fn versions_table(
    rows: &[PlanVersionRow],
    in_force: i64,
    currency: crate::domain::money::Currency,
    today: NaiveDate,
) -> String {
    let mut out = String::from(
        "<div class=\"table-scroll\"><table class=\"data versions\">\n<thead><tr><th>From</th><th class=\"num\">Hourly rate</th>\
         <th>Category rates</th><th class=\"num\">After hours</th><th>Rounding</th><th class=\"num\">Monthly fee</th>\
         <th class=\"num\">Included</th><th class=\"num\">Incident fee</th><th>Hours of service</th><th>Scope</th></tr></thead>\n<tbody>\n",
    );
    for row in rows {
        let t = TermsOut::new(row.effective_from, &row.terms, currency);
        let dash = || "—".to_string();
        let state = if row.id == in_force {
            " <span class=\"badge issued\">in force</span>"
        } else if row.effective_from > today {
            " <span class=\"badge draft\">scheduled</span>"
        } else {
            ""
        };
        let rates: Vec<String> = t.category_rates.iter().map(|(c, r)| format!("{c} {r}")).collect();
        let rounding = format!(
            "{} min, minimum {} min, per {}",
            t.rounding_increment_minutes, t.minimum_minutes, t.rounding_scope
        );
        let h = &t.hours_of_service;
        let hours = format!("{} {}–{} ({})", h.days.join(" "), h.start, h.end, h.timezone);
        let _ = writeln!(
            out,
            "<tr><td>{}{state}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">×{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            E(&t.effective_from),
            E(t.hourly_rate.clone().unwrap_or_else(dash)),
            E(if rates.is_empty() { dash() } else { rates.join(", ") }),
            E(&t.after_hours_multiplier),
            E(rounding),
            E(t.monthly_fee.clone().unwrap_or_else(dash)),
            E(t.included_minutes.map(|m| format!("{m} min")).unwrap_or_else(dash)),
            E(t.incident_fee.clone().unwrap_or_else(dash)),
            E(hours),
            E(&t.scope),
        );
    }
    out.push_str("</tbody>\n</table></div>\n");
    out
}
