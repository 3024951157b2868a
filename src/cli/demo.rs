//! Demo data for `supportbill serve --demo`: a believable CSP partner to explore the API with.
//!
//! [`seed`] fills an empty database (no customer yet) with:
//! - the partner "Fabrikam Cloud Partner GmbH" (München, DE, prefix `INV-`, 30 days);
//! - five customers billed in EUR, USD, GBP and JPY, with German, English, Japanese and
//!   Cyrillic names (`Müller & Söhne GmbH`, `ООО «Ромашка»`, ...);
//! - twenty published plans: each billing model (`included`, `hourly`, `retainer`,
//!   `per_incident`, `prepaid`) in each of the four currencies, with hours of service in a local
//!   time zone;
//! - Azure, Microsoft 365 and Dynamics 365 subscriptions with Partner Center style external ids
//!   (one cancelled, one suspended), one of them on prepaid hours with two blocks: 20 hours
//!   bought at the start of the first month, expiring three months later, and 10 hours without
//!   expiry bought in the middle of the second;
//! - tickets in every category and severity, some escalated to Microsoft on every channel;
//! - a few hundred time entries over the two calendar months before `now`'s month (so the
//!   last two months can be invoiced at once), including after-hours, weekend and
//!   non-billable work;
//! - two charges: a Premier case fee passed through and a goodwill credit.
//!
//! Everything is deterministic: the same `now` gives the same data (a small LCG with a fixed
//! seed, no `rand`).
//!
//! Transactions: every step goes through the same service functions the API uses, and each of
//! them is its own write transaction (`storage::write_tx`). They cannot be wrapped in one outer
//! transaction: on SQLite `write_tx` starts with `BEGIN IMMEDIATE` through
//! `AnsiTransactionManager::begin_transaction_sql`, which refuses to nest
//! (`AlreadyInTransaction`). The steps therefore run one after another; the emptiness check
//! looks at customers, so a seed that failed half-way (after the first customer) is not
//! repeated: start again from an empty database.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

use crate::domain::coverage::month_start;
use crate::domain::pricing::Category;
use crate::domain::vocab::{EscalationChannel, Product, Role, Severity, SubscriptionStatus};
use crate::error::AppError;
use crate::service::auth::Caller;
use crate::service::blocks::{self, NewBlock};
use crate::service::customers::CustomerInput;
use crate::service::sample::{entry_description, guid, local_to_utc, named, ticket_titles, Lcg};
use crate::service::time_entries::{EntryDraft, Locator, SubscriptionRef};
use crate::service::{charges, customers, subscriptions, tickets, time_entries};
use crate::storage::models::{NewCharge, NewSubscription, NewTicket};
use crate::storage::schema::customers as customers_table;
use crate::storage::{DbConnection, Dec};

/// A customer to create, with its subscriptions: (product, offer name, billing model, status).
struct DemoCustomer {
    input: serde_json::Value,
    currency: &'static str,
    pub(crate) timezone: &'static str,
    offers: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

struct DemoSubscription {
    id: i64,
    model: &'static str,
    pub(crate) timezone: &'static str,
    product: &'static str,
    status: &'static str,
}

const AGENTS: [&str; 5] = ["a.kowalski", "m.schneider", "j.nakamura", "s.patel", "l.dubois"];

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The date itself on a weekday, else the Monday after.
fn next_workday(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Sat => date + Duration::days(2),
        Weekday::Sun => date + Duration::days(1),
        _ => date,
    }
}

/// Fills an empty database with a believable partner. Returns false if data already existed
/// (any customer), in which case nothing is written.
pub fn seed(conn: &mut DbConnection, now: NaiveDateTime) -> Result<bool, AppError> {
    let existing: i64 = customers_table::table.count().get_result(conn)?;
    if existing > 0 {
        return Ok(false);
    }
    let this_month = now.date().with_day(1).ok_or_else(|| AppError::Internal("first of month".into()))?;
    let first_month = this_month
        .checked_sub_months(Months::new(2))
        .ok_or_else(|| AppError::Internal("demo months out of range".into()))?;
    let second_month = this_month
        .checked_sub_months(Months::new(1))
        .ok_or_else(|| AppError::Internal("demo months out of range".into()))?;
    let created = first_month.and_time(NaiveTime::MIN) - Duration::days(30);
    let mut lcg = Lcg(0x5eed_b111_2026);

    // The partner, and plans for each billing model in each currency.
    let plan_ids = crate::service::sample::seed_partner_and_plans(conn, created)?;

    // Customers and their subscriptions.
    let book = [
        DemoCustomer {
            input: json!({"name": "Müller & Söhne GmbH", "currency": "EUR", "tax_rate_percent": "19", "country": "DE",
                "email": "ap@mueller.example", "billing_address": "Hauptstr. 1, 10115 Berlin", "tax_id": "DE123456789",
                "external_id": guid(0xc057_0001, 1)}),
            currency: "EUR",
            timezone: "Europe/Berlin",
            offers: &[
                ("azure", "Azure plan", "hourly", "active"),
                ("microsoft_365", "Microsoft 365 Business Premium", "retainer", "active"),
                ("dynamics_365", "Dynamics 365 Business Central Essentials", "per_incident", "active"),
                ("microsoft_365", "Microsoft 365 E5 (Hamburg office)", "prepaid", "active"),
            ],
        },
        DemoCustomer {
            input: json!({"name": "Contoso Ltd", "currency": "USD", "tax_rate_percent": "0", "country": "US",
                "email": "billing@contoso.example", "billing_address": "1 Contoso Way, Redmond, WA 98052",
                "tax_id": "91-1144442", "external_id": guid(0xc057_0001, 2)}),
            currency: "USD",
            timezone: "America/New_York",
            offers: &[
                ("azure", "Azure plan", "retainer", "active"),
                ("microsoft_365", "Microsoft 365 E3", "hourly", "active"),
                ("dynamics_365", "Dynamics 365 Sales Enterprise", "hourly", "suspended"),
            ],
        },
        DemoCustomer {
            input: json!({"name": "Northwind Traders Ltd", "currency": "GBP", "tax_rate_percent": "20", "country": "GB",
                "email": "accounts@northwind.example", "billing_address": "12 Harbour Road, Bristol BS1 5TT",
                "tax_id": "GB123456789", "external_id": guid(0xc057_0001, 3)}),
            currency: "GBP",
            timezone: "Europe/London",
            offers: &[
                ("microsoft_365", "Office 365 E1", "included", "active"),
                ("dynamics_365", "Dynamics 365 Business Central Premium", "hourly", "active"),
                ("azure", "Azure plan (migrated)", "retainer", "cancelled"),
            ],
        },
        DemoCustomer {
            input: json!({"name": "株式会社さくらシステムズ", "currency": "JPY", "tax_rate_percent": "10", "country": "JP",
                "email": "keiri@sakura-systems.example", "billing_address": "東京都千代田区丸の内1-1-1",
                "tax_id": "T1234567890123", "external_id": guid(0xc057_0001, 4)}),
            currency: "JPY",
            timezone: "Asia/Tokyo",
            offers: &[
                ("azure", "Azure plan", "per_incident", "active"),
                ("microsoft_365", "Microsoft 365 Business Standard", "hourly", "active"),
            ],
        },
        DemoCustomer {
            input: json!({"name": "ООО «Ромашка»", "currency": "EUR", "tax_rate_percent": "0", "country": "RU",
                "email": "buh@romashka.example", "billing_address": "ул. Ленина, 1, Москва",
                "tax_id": "7701234567", "external_id": guid(0xc057_0001, 5)}),
            currency: "EUR",
            timezone: "Europe/Berlin",
            offers: &[
                ("microsoft_365", "Microsoft 365 Business Basic", "per_incident", "active"),
                ("azure", "Azure plan", "included", "active"),
                ("other", "Windows 365 Business", "hourly", "active"),
            ],
        },
    ];

    let mut subs: Vec<DemoSubscription> = Vec::new();
    let mut sub_counter = 0;
    for DemoCustomer { input, currency, timezone, offers } in book {
        let input: CustomerInput =
            serde_json::from_value(input).map_err(|e| AppError::Internal(format!("demo customer: {e}")))?;
        let customer = customers::create(conn, input.validate()?, created)?;
        for &(product, name, model, status) in offers {
            sub_counter += 1;
            let plan_id = *plan_ids
                .get(&(currency, model))
                .ok_or_else(|| AppError::Internal(format!("demo plan {currency} {model}")))?;
            let row = subscriptions::create(
                conn,
                NewSubscription {
                    customer_id: customer.id,
                    plan_id,
                    product: named(Product::parse, product)?,
                    name: name.into(),
                    external_id: Some(guid(0x5b5c0001, sub_counter)),
                    status: named(SubscriptionStatus::parse, status)?,
                    // Since the demo partner's first month; the cancelled one ended before
                    // the two months of recorded time.
                    start_date: month_start(created.date()),
                    end_date: (status == "cancelled").then_some(first_month),
                },
                created,
            )?;
            subs.push(DemoSubscription { id: row.id, model, timezone, product, status });
        }
    }

    // Prepaid hours: 20 h at 10% off the hourly rate, expiring; then 10 h at 5% off, for good.
    if let Some(sub) = subs.iter().find(|s| s.model == "prepaid") {
        let admin = Caller { key_id: 0, role: Role::Admin, customer_id: None };
        let blocks_bought = [
            (first_month, 1200, Decimal::new(216_000, 2), first_month.checked_add_months(Months::new(3))),
            (second_month + Duration::days(14), 600, Decimal::new(114_000, 2), None),
        ];
        for (purchased_on, minutes, price, expires_on) in blocks_bought {
            let recorded = purchased_on.and_time(NaiveTime::MIN);
            blocks::create(conn, &admin, sub.id, NewBlock { purchased_on, expires_on, minutes, price }, recorded)?;
        }
    }

    // Tickets and time, month by month.
    const CATEGORIES: [&str; 3] = ["technical", "subscription_management", "billing"];
    const SEVERITIES: [&str; 4] = ["critical", "high", "normal", "low"];
    const CHANNELS: [&str; 4] = ["microsoft_commercial", "premier", "advanced", "signature_cloud"];
    let mut drafts: Vec<EntryDraft> = Vec::new();
    let mut ticket_no = 0u32;
    let mut escalation_no = 0u32;
    for month in [first_month, second_month] {
        let days_in_month = (month.checked_add_months(Months::new(1)).unwrap_or(month) - month).num_days() as u32;
        for sub in subs.iter().filter(|s| s.status != "cancelled") {
            // The suspended subscription only had a little activity.
            let ticket_count = if sub.status == "suspended" { 1 } else { 3 + lcg.below(3) };
            for _ in 0..ticket_count {
                ticket_no += 1;
                // Technical work dominates; every category and severity occurs.
                let category = match ticket_no % 5 {
                    0..=2 => CATEGORIES[0],
                    3 => CATEGORIES[1],
                    _ => CATEGORIES[2],
                };
                let severity = SEVERITIES[(ticket_no as usize / 2) % SEVERITIES.len()];
                // Days 2..=days-4: converted to UTC and worked on for up to two more days, the
                // ticket's time stays inside the month in every demo time zone.
                let day = 2 + lcg.below(days_in_month - 5);
                let mut date = month + Duration::days(i64::from(day) - 1);
                // Only critical incidents are opened at weekends; the rest wait for Monday.
                if severity != "critical" {
                    date = next_workday(date);
                }
                let (hour, minute) = (9 + lcg.below(7), 5 * lcg.below(12));
                let opened_at = local_to_utc(sub.timezone, date, hour, minute);
                let escalated = category == "technical" && (severity == "critical" || lcg.chance(20));
                let (channel, case_id, escalated_at) = if escalated {
                    escalation_no += 1;
                    let channel = CHANNELS[escalation_no as usize % CHANNELS.len()];
                    let case_id = format!("{}{:010}", month.format("%y%m%d"), 1_000_000 + ticket_no * 37);
                    (
                        Some(named(EscalationChannel::parse, channel)?),
                        Some(case_id),
                        Some(opened_at + Duration::minutes(90)),
                    )
                } else {
                    (None, None, None)
                };
                let closed_at = if month == second_month && lcg.chance(15) {
                    None // still open
                } else {
                    Some(opened_at + Duration::hours(i64::from(2 + lcg.below(70))))
                };
                let title = lcg.pick(ticket_titles(category, sub.product));
                let ticket = tickets::create(
                    conn,
                    NewTicket {
                        subscription_id: sub.id,
                        title: title.to_string(),
                        category: named(Category::parse, category)?,
                        severity: named(Severity::parse, severity)?,
                        opened_at,
                        closed_at,
                        escalation_channel: channel,
                        escalation_case_id: case_id,
                        escalated_at,
                    },
                )?;
                // Work on the ticket: the first entry right away, the rest over the next days.
                let entries = 1 + lcg.below(3);
                for k in 0..entries {
                    let mut started = opened_at + Duration::minutes(10 + i64::from(lcg.below(50)));
                    if k > 0 {
                        let mut later = date + Duration::days(i64::from(lcg.below(3)));
                        if is_weekend(later) && severity != "critical" {
                            later = date;
                        }
                        // Mostly office hours, some evenings.
                        let hour = if lcg.chance(10) { 18 + lcg.below(3) } else { 9 + lcg.below(7) };
                        started = local_to_utc(sub.timezone, later, hour, 5 * lcg.below(12));
                    }
                    let minutes = match severity {
                        "critical" => 45 + lcg.below(120),
                        "high" => 20 + lcg.below(70),
                        _ => 10 + lcg.below(40),
                    } as i32;
                    drafts.push(EntryDraft {
                        subscription: SubscriptionRef::Id(sub.id),
                        ticket_id: Some(ticket.id),
                        agent: lcg.pick(&AGENTS).to_string(),
                        started_at: started,
                        minutes,
                        category: None,
                        billable: !lcg.chance(8),
                        description: entry_description(category, &mut lcg).to_string(),
                    });
                }
            }
            // Routine work without a ticket: health checks, licence reviews, some on weekends.
            let routine = if sub.status == "suspended" { 0 } else { 3 + lcg.below(4) };
            for _ in 0..routine {
                let day = 2 + lcg.below(days_in_month - 2);
                let mut date = month + Duration::days(i64::from(day) - 1);
                // One in ten weekend days is a maintenance window; else the work moves into the
                // week (back to Friday, or on to Monday at the start of the month).
                if is_weekend(date) && !lcg.chance(10) {
                    date = if day > 3 { date - Duration::days(2) } else { date + Duration::days(2) };
                }
                let weekend = is_weekend(date);
                let hour = if weekend {
                    9 + lcg.below(6)
                } else if lcg.chance(10) {
                    18 + lcg.below(3)
                } else {
                    9 + lcg.below(7)
                };
                let (category, billable, description) = match lcg.below(10) {
                    0 => ("billing", true, "Monthly consumption review with finance"),
                    1 => ("technical", false, "Internal handover notes (not billed)"),
                    2 | 3 => ("subscription_management", true, "Monthly licence review and true-up"),
                    4 if weekend => ("technical", true, "Weekend maintenance window: patching and reboot"),
                    _ => ("technical", true, "Proactive health check and alert review"),
                };
                drafts.push(EntryDraft {
                    subscription: SubscriptionRef::Id(sub.id),
                    ticket_id: None,
                    agent: lcg.pick(&AGENTS).to_string(),
                    started_at: local_to_utc(sub.timezone, date, hour, 5 * lcg.below(12)),
                    minutes: (15 + 5 * lcg.below(10)) as i32,
                    category: Some(named(Category::parse, category)?),
                    billable,
                    description: description.into(),
                });
            }
        }
    }
    // Only the two months (the day choices above already keep local times inside them).
    let (from, to) = (first_month.and_time(NaiveTime::MIN), this_month.and_time(NaiveTime::MIN));
    drafts.retain(|d| from <= d.started_at && d.started_at < to);
    time_entries::create_batch(conn, drafts, Locator::JsonIndex)?;

    // Charges: a Premier case fee passed through, and a goodwill credit.
    let sub_of =
        |product: &str, model: &str| subs.iter().find(|s| s.product == product && s.model == model).map(|s| s.id);
    if let Some(id) = sub_of("dynamics_365", "per_incident") {
        charges::create(
            conn,
            NewCharge {
                subscription_id: id,
                date: second_month + Duration::days(11),
                description: "Microsoft Premier Support case fee passed through (case 2610120010004711)".into(),
                amount: Dec(Decimal::new(8500, 2)),
            },
        )?;
    }
    if let Some(id) = sub_of("azure", "retainer") {
        charges::create(
            conn,
            NewCharge {
                subscription_id: id,
                date: second_month + Duration::days(19),
                description: "Goodwill credit: delayed response on ticket during outage".into(),
                amount: Dec(Decimal::new(-5000, 2)),
            },
        )?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use diesel::prelude::*;

    use crate::cli::demo::seed;
    use crate::domain::pricing::{LineKind, Period};
    use crate::service::invoices;
    use crate::storage::schema::{customers, plans, tickets, time_entries};
    use crate::storage::{connect, DatabaseUrl};

    struct TempDb(std::path::PathBuf);

    impl Drop for TempDb {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = self.0.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }

    #[test]
    fn seeds_an_empty_database_once_and_invoices_the_two_months() {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let db = TempDb(std::env::temp_dir().join(format!("supportbill-demo-{}-{nanos}.db", std::process::id())));
        let pool = connect(&DatabaseUrl::parse(db.0.to_str().unwrap()).unwrap(), 2).unwrap();
        let mut pooled = pool.get().unwrap();
        let conn: &mut crate::storage::DbConnection = &mut pooled;
        let now = NaiveDate::from_ymd_opt(2026, 12, 15).unwrap().and_hms_opt(10, 30, 0).unwrap();

        assert!(seed(conn, now).unwrap(), "first seed loads data");

        let n_customers: i64 = customers::table.count().get_result(&mut *conn).unwrap();
        assert!(n_customers >= 5, "{n_customers} customers");
        let mut models: Vec<String> = plans::table.select(plans::billing_model).distinct().load(&mut *conn).unwrap();
        models.sort();
        assert_eq!(models, ["hourly", "included", "per_incident", "prepaid", "retainer"]);
        let n_entries: i64 = time_entries::table.count().get_result(&mut *conn).unwrap();
        assert!(n_entries >= 200, "{n_entries} entries");
        let escalated: i64 =
            tickets::table.filter(tickets::escalation_channel.is_not_null()).count().get_result(&mut *conn).unwrap();
        assert!(escalated >= 1);
        let last: Option<chrono::NaiveDateTime> =
            time_entries::table.select(diesel::dsl::max(time_entries::started_at)).first(&mut *conn).unwrap();
        let first: Option<chrono::NaiveDateTime> =
            time_entries::table.select(diesel::dsl::min(time_entries::started_at)).first(&mut *conn).unwrap();
        assert!(last.unwrap() < NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(0, 0, 0).unwrap());
        assert!(first.unwrap() >= NaiveDate::from_ymd_opt(2026, 10, 1).unwrap().and_hms_opt(0, 0, 0).unwrap());

        assert!(!seed(conn, now).unwrap(), "second seed is a no-op");
        let again: i64 = customers::table.count().get_result(&mut *conn).unwrap();
        assert_eq!(again, n_customers);

        let period =
            Period::new(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
                .unwrap();
        let drafts = invoices::run(conn, crate::storage::SecondReader::NONE, period, now).unwrap();
        let non_zero = drafts
            .iter()
            .filter(|d| d.total.trim_start_matches('-').chars().any(|c| c.is_ascii_digit() && c != '0'))
            .count();
        assert!(drafts.len() >= 3, "{} drafts", drafts.len());
        // Both prepaid blocks are bought in the two months, and time draws on them.
        let kinds: Vec<LineKind> = drafts.iter().flat_map(|d| d.lines.iter().map(|l| l.kind)).collect();
        assert_eq!(kinds.iter().filter(|k| **k == LineKind::BlockPurchase).count(), 2);
        assert!(kinds.contains(&LineKind::PrepaidUsage));
        assert!(non_zero >= 3, "{non_zero} drafts with a non-zero total");
    }
}
