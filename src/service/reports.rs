//! Reports: the usage summary (SPEC section 5) and the invoice register.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::documents::model::UsageRow;
use crate::domain::pricing::{self, Category};
use crate::domain::vocab::EscalationChannel;
use crate::error::AppError;
use crate::storage::models::Subscription;
use crate::storage::schema::{customers, subscriptions, tickets, time_entries};
use crate::storage::DbConnection;

/// (id, subscription, ticket, agent, started_at, minutes, category, billable)
// (`StoredTimestamp`: the fast read of SQLite's timestamp text, `storage::timestamp`.)
type EntryRow = (i64, i64, Option<i64>, String, crate::storage::timestamp::StoredTimestamp, i32, Category, bool);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Customer,
    Subscription,
    Product,
    Category,
    Agent,
    EscalationChannel,
}

impl GroupBy {
    pub const NAMES: &'static [&'static str] =
        &["customer", "subscription", "product", "category", "agent", "escalation_channel"];
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "customer" => GroupBy::Customer,
            "subscription" => GroupBy::Subscription,
            "product" => GroupBy::Product,
            "category" => GroupBy::Category,
            "agent" => GroupBy::Agent,
            "escalation_channel" => GroupBy::EscalationChannel,
            _ => return None,
        })
    }
}

/// Entries started in [from, to) (UTC dates); tickets opened and escalations made in the range.
/// Grouped by `group_by`; entries of tickets without escalation group under `none` for
/// `escalation_channel`.
pub fn usage(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    group_by: GroupBy,
    customer_id: Option<i64>,
) -> Result<Vec<UsageRow>, AppError> {
    crate::storage::with_custom_plans(conn, |conn| usage_in_pages(conn, from, to, group_by, customer_id, USAGE_PAGE))
}

/// [`usage`], reading `page` entries per query (tests use tiny pages to cross page boundaries).
#[doc(hidden)]
pub fn usage_in_pages(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    group_by: GroupBy,
    customer_id: Option<i64>,
    page_size: i64,
) -> Result<Vec<UsageRow>, AppError> {
    let (start, end) = (midnight(from), midnight(to));
    // Customer names label only the by-customer grouping.
    let customer_names: HashMap<i64, String> = match group_by {
        GroupBy::Customer => {
            customers::table.select((customers::id, customers::name)).load::<(i64, String)>(conn)?.into_iter().collect()
        }
        _ => HashMap::new(),
    };
    let subs: HashMap<i64, Subscription> = subscriptions::table
        .select(Subscription::as_select())
        .load(conn)?
        .into_iter()
        .filter(|s: &Subscription| customer_id.is_none_or(|c| s.customer_id == c))
        .map(|s| (s.id, s))
        .collect();
    let terms = crate::service::plan_versions::for_pricing(conn)?;
    // Tickets counted in the range: opened or escalated in it (both columns are indexed), not
    // every ticket there is; a one-day summary of a large partner read all 125,000 before.
    type TicketRow = (i64, i64, Category, NaiveDateTime, Option<EscalationChannel>, Option<NaiveDateTime>);
    let ticket_columns = (
        tickets::id,
        tickets::subscription_id,
        tickets::category,
        tickets::opened_at,
        tickets::escalation_channel,
        tickets::escalated_at,
    );
    let mut ticket_rows: Vec<TicketRow> = tickets::table
        .filter(tickets::opened_at.ge(start).and(tickets::opened_at.lt(end)))
        .select(ticket_columns)
        .load(conn)?;
    ticket_rows.extend(
        tickets::table
            .filter(tickets::escalated_at.ge(start).and(tickets::escalated_at.lt(end)))
            .filter(tickets::opened_at.lt(start).or(tickets::opened_at.ge(end)))
            .select(ticket_columns)
            .load::<TicketRow>(conn)?,
    );
    let ticket_rows: Vec<TicketRow> = ticket_rows.into_iter().filter(|t| subs.contains_key(&t.1)).collect();
    // Escalation channels of the entries' tickets, looked up a page at a time (by-channel only).
    let mut ticket_channel: HashMap<i64, Option<EscalationChannel>> = ticket_rows.iter().map(|t| (t.0, t.4)).collect();

    // The group of everything a subscription decides, keyed once per subscription (not per entry).
    let sub_key = |sub: &Subscription| -> Option<(String, String)> {
        match group_by {
            GroupBy::Customer => {
                Some((sub.customer_id.to_string(), customer_names.get(&sub.customer_id).cloned().unwrap_or_default()))
            }
            GroupBy::Subscription => Some((sub.id.to_string(), sub.name.clone())),
            GroupBy::Product => Some((sub.product.to_string(), sub.product.to_string())),
            _ => None,
        }
    };
    let sub_keys: HashMap<i64, (String, String)> =
        subs.values().filter_map(|s| sub_key(s).map(|k| (s.id, k))).collect();
    let mut groups = Groups::default();

    // Entries are read in pages (keyset on id), so memory stays flat however long the range.
    let mut ticket_agents: HashMap<i64, Vec<String>> = HashMap::new();
    let mut per_subscription: HashMap<i64, Option<PerSubscription>> = HashMap::new();
    let mut after_id = 0i64;
    loop {
        // The agent is read only when the grouping needs it (otherwise an empty string: a
        // column and an allocation fewer per entry).
        macro_rules! page_with_agent {
            ($agent:expr) => {
                time_entries::table
                    .filter(time_entries::started_at.ge(start))
                    .filter(time_entries::started_at.lt(end))
                    .filter(time_entries::id.gt(after_id))
                    .order(time_entries::id)
                    .limit(page_size)
                    .select((
                        time_entries::id,
                        time_entries::subscription_id,
                        time_entries::ticket_id,
                        $agent,
                        time_entries::started_at,
                        time_entries::minutes,
                        time_entries::category,
                        time_entries::billable,
                    ))
                    .load(conn)?
            };
        }
        let page: Vec<EntryRow> = match group_by {
            GroupBy::Agent => page_with_agent!(time_entries::agent),
            _ => page_with_agent!(diesel::dsl::sql::<diesel::sql_types::Text>("''")),
        };
        let Some(last) = page.last() else { break };
        after_id = last.0;
        let full = page.len() as i64 == page_size;
        if group_by == GroupBy::EscalationChannel {
            let mut unknown: Vec<i64> =
                page.iter().filter_map(|e| e.2).filter(|t| !ticket_channel.contains_key(t)).collect();
            unknown.sort_unstable();
            unknown.dedup();
            for chunk in unknown.chunks(crate::service::IN_CHUNK) {
                let found: Vec<(i64, Option<EscalationChannel>)> = tickets::table
                    .filter(tickets::id.eq_any(chunk))
                    .select((tickets::id, tickets::escalation_channel))
                    .load(conn)?;
                ticket_channel.extend(found);
            }
        }
        for (id, sub_id, ticket_id, agent, started_at, minutes, category, billable) in page {
            // What the entry's subscription decides, found once per subscription (one integer
            // lookup per entry instead of three lookups and a hashed key string).
            let per_sub = *per_subscription.entry(sub_id).or_insert_with(|| {
                subs.get(&sub_id).map(|sub| PerSubscription {
                    group: sub_keys.get(&sub_id).map(|(key, label)| groups.index(key, || label.clone())),
                    terms: terms.get(&sub.plan_id),
                })
            });
            let Some(per_sub) = per_sub else { continue };
            let g = match (group_by, per_sub.group) {
                (_, Some(g)) => g,
                (GroupBy::Customer | GroupBy::Subscription | GroupBy::Product, None) => {
                    unreachable!("every subscription has a key for these groupings")
                }
                (GroupBy::Category, None) => groups.index(category.as_str(), || category.to_string()),
                (GroupBy::Agent, None) => groups.index(&agent, || agent.clone()),
                (GroupBy::EscalationChannel, None) => {
                    let channel = ticket_id
                        .and_then(|t| ticket_channel.get(&t))
                        .and_then(|c| c.map(|c| c.as_str()))
                        .unwrap_or("none");
                    groups.index(channel, || channel.to_string())
                }
            };
            let row = &mut groups.rows[g];
            let minutes_u = minutes.max(0) as u64;
            row.entries += 1;
            row.minutes += minutes_u;
            if billable {
                row.billable_minutes += minutes_u
            } else {
                row.non_billable_minutes += minutes_u
            }
            if let Some(plan) = per_sub.terms {
                let entry = pricing::TimeEntry {
                    id,
                    started_at: chrono::DateTime::from_naive_utc_and_offset(started_at.0, chrono::Utc),
                    minutes: minutes.max(0) as u32,
                    category,
                    billable,
                    ticket_id: None,
                };
                let version = plan.in_force(entry.started_at.date_naive());
                let usage = pricing::entry_usage(&version.terms, &entry);
                if usage.chargeable {
                    row.billed_minutes += usage.billed_minutes as u64
                }
                if usage.after_hours {
                    row.after_hours_minutes += minutes_u
                }
            }
            // Agents per ticket, for counting tickets under `agent`.
            if let (GroupBy::Agent, Some(t)) = (group_by, ticket_id) {
                let agents = ticket_agents.entry(t).or_default();
                if !agents.contains(&agent) {
                    agents.push(agent)
                }
            }
        }
        if !full {
            break;
        }
    }
    for (id, sub_id, category, opened_at, channel, escalated_at) in &ticket_rows {
        if !subs.contains_key(sub_id) {
            continue;
        }
        let opened = *opened_at >= start && *opened_at < end;
        let escalated = matches!(escalated_at, Some(t) if *t >= start && *t < end);
        if !opened && !escalated {
            continue;
        }
        let keys: Vec<(String, String)> = match group_by {
            GroupBy::Customer | GroupBy::Subscription | GroupBy::Product => vec![sub_keys[sub_id].clone()],
            GroupBy::Category => vec![(category.to_string(), category.to_string())],
            GroupBy::Agent => {
                ticket_agents.get(id).map(|a| a.iter().map(|s| (s.clone(), s.clone())).collect()).unwrap_or_default()
            }
            GroupBy::EscalationChannel => {
                let c = channel.map_or("none", |c| c.as_str()).to_string();
                vec![(c.clone(), c)]
            }
        };
        for (key, label) in keys {
            let g = groups.index(&key, || label);
            let row = &mut groups.rows[g];
            if opened {
                row.tickets += 1
            }
            if let (true, Some(c)) = (escalated, channel) {
                *row.escalations.entry(c.to_string()).or_default() += 1
            }
        }
    }
    let mut rows = groups.rows;
    rows.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    Ok(rows)
}

/// What an entry's subscription decides in the usage summary: the entry's group, when the
/// grouping is by subscription, customer or product, and the plan's terms.
#[derive(Clone, Copy)]
struct PerSubscription<'a> {
    group: Option<usize>,
    terms: Option<&'a pricing::PlanVersions>,
}

/// Entries read per query by the usage summary.
const USAGE_PAGE: i64 = 50_000;

/// The usage summary's rows by key, allocating a key only when a group first appears.
#[derive(Default)]
struct Groups {
    index: HashMap<String, usize>,
    rows: Vec<UsageRow>,
}

impl Groups {
    fn index(&mut self, key: &str, label: impl FnOnce() -> String) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        self.rows.push(UsageRow { key: key.to_string(), label: label(), ..Default::default() });
        self.index.insert(key.to_string(), self.rows.len() - 1);
        self.rows.len() - 1
    }
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN)
}
