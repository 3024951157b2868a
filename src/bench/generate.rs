//! The benchmark data generator: a deterministic, seeded, realistic month of support for a
//! partner with many customers.
//!
//! [`catalog`] writes the partner, the sixteen published plans of the demo (every billing
//! model in EUR, USD, GBP and JPY), `customers` customers (currencies weighted like a European
//! partner's book), one to three subscriptions each (Azure, Microsoft 365, Dynamics 365; a few
//! suspended or cancelled) and about one ticket per eight time entries (every category and
//! severity, one in ten escalated to Microsoft, on every channel). It returns the time entries
//! as rows and as the CSV file `POST /time-entries/import` takes, so the import can be
//! benchmarked through the real path.
//!
//! Time entries: 70 % on a ticket (the ticket's subscription and category), 30 % without
//! (their own category); 5 to 240 minutes; about 15 % after hours or at weekends in the
//! plan's time zone; 10 % not billable; 40 agents. All start inside the month.
//!
//! Same seed and sizes, same data: a small LCG, no `rand`.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use crate::domain::coverage::month_start;
use crate::domain::money::Currency;
use crate::domain::pricing::Category;
use crate::domain::vocab::{EscalationChannel, Product, Severity, SubscriptionStatus, TaxTreatment};
use crate::error::AppError;
use crate::service::sample::{self as demo, named, Lcg, CURRENCIES, MODELS};
use crate::storage::bulk::insert_returning_ids;
use crate::storage::models::{NewCustomer, NewSubscription, NewTicket, NewTimeEntry};
use crate::storage::schema::{customers, subscriptions};
use crate::storage::{write_tx, DbConnection, Dec};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub customers: usize,
    pub entries: usize,
    pub seed: u64,
    /// First day of the month the entries fall in.
    pub month: NaiveDate,
}

/// What [`catalog`] wrote, and the time entries it did not write.
pub struct Generated {
    pub customers: usize,
    pub subscriptions: usize,
    pub tickets: usize,
    /// The entries, references resolved (categories taken from tickets), as the import
    /// would insert them.
    pub entries: Vec<NewTimeEntry>,
    /// The same entries as an import file (ticketed rows leave `category` empty).
    pub csv: Vec<u8>,
}

struct Sub {
    id: i64,
    timezone: &'static str,
    product: &'static str,
}

struct GenTicket {
    id: i64,
    sub: usize,
    category: &'static str,
    opened_at: NaiveDateTime,
}

const AGENT_FIRST: [&str; 8] = ["a", "b", "c", "j", "k", "m", "s", "t"];
const AGENT_LAST: [&str; 5] = ["kowalski", "schneider", "nakamura", "patel", "dubois"];
const CATEGORIES: [&str; 3] = ["technical", "subscription_management", "billing"];
const SEVERITIES: [&str; 4] = ["critical", "high", "normal", "low"];
const PRODUCTS: [(&str, &str); 3] = [
    ("azure", "Azure plan"),
    ("microsoft_365", "Microsoft 365 Business Premium"),
    ("dynamics_365", "Dynamics 365 Business Central"),
];

/// Writes the catalogue (partner, plans, customers, subscriptions, tickets) into an empty
/// database and returns the month's time entries, not yet written.
pub fn catalog(conn: &mut DbConnection, size: Size) -> Result<Generated, AppError> {
    let mut lcg = Lcg(size.seed ^ 0x5eed_0000_b3c4);
    let created = size.month.and_time(NaiveTime::MIN) - Duration::days(60);
    let month_end =
        size.month.checked_add_months(Months::new(1)).ok_or_else(|| AppError::Internal("month out of range".into()))?;

    let plan_ids = demo::seed_partner_and_plans(conn, created)?;

    // Customers: EUR 50 %, USD 25 %, GBP 15 %, JPY 10 %.
    let mut customer_currency = Vec::with_capacity(size.customers);
    let mut new_customers = Vec::with_capacity(size.customers);
    for i in 0..size.customers {
        let roll = lcg.below(100);
        let ci = if roll < 50 {
            0
        } else if roll < 75 {
            1
        } else if roll < 90 {
            2
        } else {
            3
        };
        let (country, tax) = [("DE", "19"), ("US", "0"), ("GB", "20"), ("JP", "10")][ci];
        // One in ten European customers is another EU business: reverse charge at 0 %.
        let reverse_charge = ci == 0 && lcg.chance(10);
        let (country, tax) = if reverse_charge { ("AT", "0") } else { (country, tax) };
        customer_currency.push(ci);
        new_customers.push((
            NewCustomer {
                name: format!("Customer {:05} {}", i + 1, ["GmbH", "Inc.", "Ltd", "K.K."][ci]),
                billing_address: format!(
                    "{} Example Street, {}",
                    i % 200 + 1,
                    ["Berlin", "Seattle", "Leeds", "Osaka"][ci]
                ),
                email: format!("ap{}@customer.example", i + 1),
                country: country.into(),
                currency: named(Currency::from_code, CURRENCIES[ci].code)?,
                tax_rate_percent: Dec(tax.parse().map_err(|_| AppError::Internal("tax".into()))?),
                tax_id: format!("{country}{:09}", 100_000_000 + i),
                external_id: Some(demo::guid(0xc057_0000, i as u32 + 1)),
                tax_treatment: if reverse_charge { TaxTreatment::ReverseCharge } else { TaxTreatment::Standard },
                exemption_reason: String::new(),
            },
            customers::created_at.eq(created),
        ));
    }
    let customer_ids =
        write_tx(conn, |conn| Ok::<_, AppError>(insert_returning_ids!(conn, new_customers, customers)?))?;

    // Subscriptions: one to three per customer.
    let mut subs = Vec::new();
    let mut new_subs = Vec::new();
    for (i, &customer_id) in customer_ids.iter().enumerate() {
        let ci = customer_currency[i];
        let n = 1 + lcg.below(3) as usize;
        for k in 0..n {
            let (product, offer) = PRODUCTS[(i + k) % PRODUCTS.len()];
            let model = lcg.pick(&MODELS);
            let status = match lcg.below(100) {
                0..=2 => "cancelled",
                3..=4 => "suspended",
                _ => "active",
            };
            new_subs.push((
                NewSubscription {
                    customer_id,
                    plan_id: plan_ids[&(CURRENCIES[ci].code, model)],
                    product: named(Product::parse, product)?,
                    name: offer.into(),
                    external_id: Some(demo::guid(0x5b50_0000, new_subs.len() as u32 + 1)),
                    status: named(SubscriptionStatus::parse, status)?,
                    // Since the partner's start; a cancelled one ends with the month, so the
                    // month's time is all covered (SPEC 7.1).
                    start_date: month_start(created.date()),
                    end_date: (status == "cancelled").then_some(month_end),
                },
                subscriptions::created_at.eq(created),
            ));
            subs.push(Sub { id: 0, timezone: CURRENCIES[ci].timezone, product });
        }
    }
    let sub_ids = write_tx(conn, |conn| Ok::<_, AppError>(insert_returning_ids!(conn, new_subs, subscriptions)?))?;
    for (s, id) in subs.iter_mut().zip(sub_ids) {
        s.id = id;
    }

    // Tickets: about one per eight entries, opened in the month's first three weeks.
    let ticket_count = (size.entries / 8).max(1);
    let channels = EscalationChannel::ALL;
    let mut gen_tickets = Vec::with_capacity(ticket_count);
    let mut new_tickets = Vec::with_capacity(ticket_count);
    for n in 0..ticket_count {
        let sub = lcg.below(subs.len() as u32) as usize;
        let category = match lcg.below(100) {
            0..=59 => CATEGORIES[0],
            60..=84 => CATEGORIES[1],
            _ => CATEGORIES[2],
        };
        let day = size.month + Duration::days(lcg.below(21) as i64);
        let opened_at = demo::local_to_utc(subs[sub].timezone, day, 8 + lcg.below(9), lcg.below(60));
        let escalated = lcg.chance(10);
        let titles = demo::ticket_titles(category, subs[sub].product);
        new_tickets.push(NewTicket {
            subscription_id: subs[sub].id,
            title: lcg.pick(titles).to_string(),
            category: named(Category::parse, category)?,
            severity: named(Severity::parse, lcg.pick(&SEVERITIES))?,
            opened_at,
            closed_at: Some(opened_at + Duration::hours(2 + lcg.below(72) as i64)),
            escalation_channel: escalated.then(|| lcg.pick(channels)),
            escalation_case_id: escalated.then(|| format!("26{:014}", n)),
            escalated_at: escalated.then(|| opened_at + Duration::hours(1)),
        });
        gen_tickets.push(GenTicket { id: 0, sub, category, opened_at });
    }
    let ticket_ids = write_tx(conn, |conn| Ok::<_, AppError>(insert_returning_ids!(conn, new_tickets, tickets)?))?;
    for (t, id) in gen_tickets.iter_mut().zip(ticket_ids) {
        t.id = id;
    }

    let (entries, csv) = time_entries(&mut lcg, size, month_end, &subs, &gen_tickets)?;
    Ok(Generated { customers: customer_ids.len(), subscriptions: subs.len(), tickets: gen_tickets.len(), entries, csv })
}

/// The month's time entries, as rows and as an import file.
fn time_entries(
    lcg: &mut Lcg,
    size: Size,
    month_end: NaiveDate,
    subs: &[Sub],
    tickets: &[GenTicket],
) -> Result<(Vec<NewTimeEntry>, Vec<u8>), AppError> {
    let days = (month_end - size.month).num_days() as u32;
    let (start, end) = (size.month.and_time(NaiveTime::MIN), month_end.and_time(NaiveTime::MIN));
    let mut entries = Vec::with_capacity(size.entries);
    let mut csv = csv::Writer::from_writer(Vec::with_capacity(size.entries * 90));
    let header =
        ["subscription_id", "started_at", "minutes", "category", "billable", "agent", "ticket_id", "description"];
    csv.write_record(header).map_err(internal)?;
    for _ in 0..size.entries {
        let on_ticket = lcg.chance(70);
        let (sub, ticket, category) = if on_ticket {
            let t = &tickets[lcg.below(tickets.len() as u32) as usize];
            (&subs[t.sub], Some(t), t.category)
        } else {
            let category = match lcg.below(100) {
                0..=54 => CATEGORIES[0],
                55..=84 => CATEGORIES[1],
                _ => CATEGORIES[2],
            };
            (&subs[lcg.below(subs.len() as u32) as usize], None, category)
        };
        let after_hours = lcg.chance(15);
        let day = match ticket {
            Some(t) => t.opened_at.date() + Duration::days(lcg.below(7) as i64),
            None => size.month + Duration::days(lcg.below(days) as i64),
        };
        let day = if !after_hours && day.weekday().number_from_monday() > 5 { day - Duration::days(2) } else { day };
        let (hour, minute) = if after_hours {
            ([6, 7, 18, 19, 20, 21, 22][lcg.below(7) as usize], lcg.below(60))
        } else {
            (9 + lcg.below(7), lcg.below(60))
        };
        let started_at = demo::local_to_utc(sub.timezone, day, hour, minute).clamp(start, end - Duration::minutes(1));
        let minutes = match lcg.below(100) {
            0..=49 => 5 + lcg.below(40),
            50..=89 => 30 + lcg.below(90),
            _ => 60 + lcg.below(181),
        } as i32;
        let billable = !lcg.chance(10);
        let agent = format!("{}.{}{}", lcg.pick(&AGENT_FIRST), lcg.pick(&AGENT_LAST), lcg.below(40) / 8);
        let description = demo::entry_description(category, lcg);
        let stamp = started_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let sub_id = sub.id.to_string();
        let minutes_text = minutes.to_string();
        let ticket_text = ticket.map(|t| t.id.to_string()).unwrap_or_default();
        csv.write_record([
            sub_id.as_str(),
            stamp.as_str(),
            minutes_text.as_str(),
            if ticket.is_some() { "" } else { category },
            if billable { "true" } else { "false" },
            agent.as_str(),
            ticket_text.as_str(),
            description,
        ])
        .map_err(internal)?;
        entries.push(NewTimeEntry {
            subscription_id: sub.id,
            ticket_id: ticket.map(|t| t.id),
            agent,
            started_at,
            minutes,
            category: named(Category::parse, category)?,
            billable,
            description: description.to_string(),
        });
    }
    let csv = csv.into_inner().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((entries, csv))
}

fn internal(e: csv::Error) -> AppError {
    AppError::Internal(e.to_string())
}
