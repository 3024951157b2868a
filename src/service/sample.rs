//! Sample data shared by the demo (`serve --demo`) and the benchmark generator: a deterministic
//! random source, the demo partner's prices per currency, plan terms, Partner Center style ids,
//! ticket titles and work descriptions.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde_json::json;

use crate::error::AppError;
use crate::service::partner;
use crate::service::plans::{self, PlanInput};
use crate::storage::models::Partner;
use crate::storage::DbConnection;

/// Writes the demo partner (Fabrikam Cloud Partner GmbH, München) and its published plans,
/// one per billing model ([`MODELS`] and prepaid hours) and currency, created at `created`.
/// Returns each plan's id by (currency code, billing model).
pub fn seed_partner_and_plans(
    conn: &mut DbConnection,
    created: NaiveDateTime,
) -> Result<BTreeMap<(&'static str, &'static str), i64>, AppError> {
    partner::update(
        conn,
        Partner {
            id: 1,
            name: "Fabrikam Cloud Partner GmbH".into(),
            address: "Partnerweg 5, 80331 München".into(),
            country: "DE".into(),
            tax_id: "DE987654321".into(),
            invoice_prefix: "INV-".into(),
            payment_terms_days: 30,
        },
    )?;
    let mut plan_ids = BTreeMap::new();
    for terms in &CURRENCIES {
        for model in MODELS.into_iter().chain(["prepaid"]) {
            let input: PlanInput = serde_json::from_value(plan_json(terms, model))
                .map_err(|e| AppError::Internal(format!("sample plan: {e}")))?;
            plan_ids.insert((terms.code, model), plans::create(conn, input.validate()?, created)?.plan.id);
        }
    }
    Ok(plan_ids)
}

/// Linear congruential generator (Knuth's MMIX constants): deterministic demo data without a
/// `rand` dependency.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }

    /// Uniform-enough in `0..n`.
    pub fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u32) as usize]
    }
}

/// A sample table's name as its vocabulary type: `named(Product::parse, "azure")`. The tables
/// are literal, so a name that does not parse is a bug in them.
pub fn named<T>(parse: fn(&str) -> Option<T>, name: &str) -> Result<T, AppError> {
    parse(name).ok_or_else(|| AppError::Internal(format!("sample data: {name:?} is not a known name")))
}

/// Prices of one currency: hourly, technical, retainer fee, incident fee, hours of service.
pub struct CurrencyTerms {
    pub code: &'static str,
    hourly: &'static str,
    technical: &'static str,
    monthly_fee: &'static str,
    incident_fee: &'static str,
    pub timezone: &'static str,
    start: &'static str,
    end: &'static str,
    phone: &'static str,
}

pub const CURRENCIES: [CurrencyTerms; 4] = [
    CurrencyTerms {
        code: "EUR",
        hourly: "120.00",
        technical: "150.00",
        monthly_fee: "500.00",
        incident_fee: "95.00",
        timezone: "Europe/Berlin",
        start: "09:00",
        end: "17:00",
        phone: "+49 89 1234567",
    },
    CurrencyTerms {
        code: "USD",
        hourly: "130.00",
        technical: "165.00",
        monthly_fee: "550.00",
        incident_fee: "110.00",
        timezone: "America/New_York",
        start: "08:00",
        end: "18:00",
        phone: "+1 425 555 0100",
    },
    CurrencyTerms {
        code: "GBP",
        hourly: "105.00",
        technical: "130.00",
        monthly_fee: "450.00",
        incident_fee: "85.00",
        timezone: "Europe/London",
        start: "09:00",
        end: "17:30",
        phone: "+44 20 7946 0000",
    },
    CurrencyTerms {
        code: "JPY",
        hourly: "18000",
        technical: "22000",
        monthly_fee: "75000",
        incident_fee: "15000",
        timezone: "Asia/Tokyo",
        start: "09:00",
        end: "18:00",
        phone: "+81 3 1234 5678",
    },
];

/// The billing models the benchmark's subscriptions are spread over (prepaid plans are seeded
/// too, but a prepaid subscription without blocks would bill only overage).
pub const MODELS: [&str; 4] = ["included", "hourly", "retainer", "per_incident"];

pub fn plan_json(t: &CurrencyTerms, model: &str) -> serde_json::Value {
    let contacts = json!([
        {"kind": "email", "value": "support@fabrikam-cloud.example"},
        {"kind": "phone", "value": t.phone},
        {"kind": "portal", "value": "https://support.fabrikam-cloud.example"},
    ]);
    let hours = json!({"timezone": t.timezone, "days": ["mon", "tue", "wed", "thu", "fri"],
                       "start": t.start, "end": t.end});
    let mut plan = json!({
        "currency": t.code,
        "billing_model": model,
        "hours_of_service": hours,
        "contact_methods": contacts,
    });
    let extra = match model {
        "included" => json!({
            "name": format!("Essentials ({})", t.code),
            "scope": "Support included with your CSP subscriptions: licence and subscription questions, \
                      billing questions and triage of incidents, escalated to Microsoft where needed. No charge.",
        }),
        "hourly" => json!({
            "name": format!("Standard ({})", t.code),
            "scope": "Azure, Microsoft 365 and Dynamics 365 incidents and changes, billed by the quarter hour \
                      (30 minutes minimum per intervention). Billing questions are free.",
            "hourly_rate": t.hourly,
            "category_rates": {"technical": t.technical},
            "after_hours_multiplier": "1.5",
            "rounding_increment_minutes": 15,
            "minimum_minutes": 30,
            "chargeable_categories": ["technical", "subscription_management"],
        }),
        "retainer" => json!({
            "name": format!("Premium retainer ({})", t.code),
            "scope": "Named engineers, 10 hours of support included each month (after-hours time counts double), \
                      time beyond that at the hourly rate.",
            "hourly_rate": t.hourly,
            "after_hours_multiplier": "2",
            "monthly_fee": t.monthly_fee,
            "included_minutes": 600,
        }),
        "prepaid" => json!({
            "name": format!("Prepaid hours ({})", t.code),
            "scope": "Blocks of support hours bought in advance, drawn down by the quarter hour, the blocks \
                      closest to expiry first (after-hours time counts one and a half). Time beyond the blocks \
                      at the hourly rate.",
            "hourly_rate": t.hourly,
            "after_hours_multiplier": "1.5",
            "rounding_increment_minutes": 15,
        }),
        _ => json!({
            "name": format!("Per incident ({})", t.code),
            "scope": "A fixed fee per technical incident, however long it takes. Licence and billing questions are free.",
            "incident_fee": t.incident_fee,
            "chargeable_categories": ["technical"],
        }),
    };
    if let (Some(plan), Some(extra)) = (plan.as_object_mut(), extra.as_object()) {
        plan.extend(extra.clone());
    }
    plan
}

/// A Partner Center style GUID, deterministic.
pub fn guid(kind: u32, n: u32) -> String {
    format!("{kind:08x}-5eed-4000-8000-{n:012x}")
}

pub fn ticket_titles(category: &str, product: &str) -> &'static [&'static str] {
    match (category, product) {
        ("technical", "azure") => &[
            "VM will not start after resize",
            "Site-to-site VPN drops every few hours",
            "Azure SQL database DTU limit reached",
            "Backup job failing for file server",
            "App Service returns 502 after deployment",
        ],
        ("technical", "microsoft_365") => &[
            "Mail to external domain delayed",
            "Teams meetings fail to start for one site",
            "MFA prompts loop on mobile devices",
            "SharePoint site restored from recycle bin",
            "Outlook profile corrupt after update",
        ],
        ("technical", _) => &[
            "Posting batch in Business Central fails",
            "Dataverse sync error with Outlook",
            "Power Automate flow stopped after licence change",
        ],
        ("subscription_management", _) => &[
            "Add licences for new hires",
            "Move subscription to annual commitment",
            "Change Azure reservation scope",
            "Remove unused add-on licences",
        ],
        _ => &[
            "Question about consumption charges",
            "Purchase order number on invoice",
            "Reconcile licence counts with invoice",
        ],
    }
}

pub fn entry_description(category: &str, lcg: &mut Lcg) -> &'static str {
    let items: &'static [&'static str] = match category {
        "technical" => &[
            "Diagnosed and fixed the reported fault",
            "Reviewed logs and diagnostics with the customer",
            "Applied configuration change and verified",
            "Remote session with the user",
            "Follow-up check after the fix",
            "Coordinated with Microsoft support engineer",
        ],
        "subscription_management" => &[
            "Adjusted licence quantities in Partner Center",
            "Changed subscription term and billing frequency",
            "Assigned licences to users",
        ],
        _ => &["Explained invoice lines to accounts payable", "Reconciled usage against the Microsoft invoice"],
    };
    lcg.pick(items)
}

/// A local time in `tz` on `date`, in UTC. Working hours, evenings or weekends as asked.
pub fn local_to_utc(timezone: &str, date: NaiveDate, hour: u32, minute: u32) -> NaiveDateTime {
    let local = date.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN));
    match timezone.parse::<chrono_tz::Tz>() {
        Ok(tz) => match tz.from_local_datetime(&local).earliest() {
            Some(t) => t.naive_utc(),
            // A time skipped by a DST change: an hour later exists.
            None => local + Duration::hours(1),
        },
        Err(_) => local,
    }
}
