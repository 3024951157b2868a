//! Rows as stored: one `Queryable` struct per table, and separate `New*` structs for inserts
//! and `*Changes` structs for updates (as Lemmy does), so an update can never touch a column
//! it does not name.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::*;
use super::Dec;
use crate::domain::coverage::Coverage;
use crate::domain::money::Currency;
use crate::domain::pricing::{BillingModel, Category, FeeProration, LineKind, RoundingScope};
use crate::domain::vocab::{
    EscalationChannel, InvoiceStatus, Product, Role, Severity, SubscriptionStatus, TaxTreatment,
};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, AsChangeset)]
#[diesel(table_name = partner)]
pub struct Partner {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub country: String,
    pub tax_id: String,
    pub invoice_prefix: String,
    pub payment_terms_days: i32,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = customers)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub billing_address: String,
    pub email: String,
    pub country: String,
    pub currency: Currency,
    pub tax_rate_percent: Dec,
    pub tax_id: String,
    pub external_id: Option<String>,
    pub created_at: NaiveDateTime,
    /// SPEC 6.
    pub tax_treatment: TaxTreatment,
    /// Printed on exempt invoices; empty otherwise.
    pub exemption_reason: String,
}

/// `treat_none_as_default_value = false`: a batch is one INSERT on SQLite, as for [`NewTimeEntry`]
/// (none of the optional columns has a default, so `None` is NULL either way).
#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = customers, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct NewCustomer {
    pub name: String,
    pub billing_address: String,
    pub email: String,
    pub country: String,
    pub currency: Currency,
    pub tax_rate_percent: Dec,
    pub tax_id: String,
    pub external_id: Option<String>,
    pub tax_treatment: TaxTreatment,
    pub exemption_reason: String,
}

/// A plan: what never changes over time. Its terms are in [`PlanVersionRow`]s (SPEC 7.2).
#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = plans)]
pub struct Plan {
    pub id: i64,
    pub name: String,
    pub currency: Currency,
    pub billing_model: BillingModel,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = plans)]
pub struct NewPlan {
    pub name: String,
    pub currency: Currency,
    pub billing_model: BillingModel,
}

/// A plan version's terms as stored: embedded in the version's row for reads and inserts, and
/// a changeset of its own when today's version is replaced.
#[derive(Clone, Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = plan_versions, treat_none_as_null = true)]
pub struct PlanTermsRow {
    pub scope: String,
    pub hourly_rate: Option<Dec>,
    pub category_rates: String,
    pub after_hours_multiplier: Dec,
    pub rounding_increment_minutes: i32,
    pub minimum_minutes: i32,
    pub monthly_fee: Option<Dec>,
    pub included_minutes: Option<i32>,
    pub incident_fee: Option<Dec>,
    pub chargeable_categories: String,
    pub hours_of_service: String,
    pub contact_methods: String,
    pub holiday_calendar_id: Option<i64>,
    pub rounding_scope: RoundingScope,
    pub fee_proration: FeeProration,
}

impl PlanTermsRow {
    /// The engine's terms under the plan's billing model, with the holiday calendar's days.
    pub fn terms(
        &self,
        billing_model: BillingModel,
        holidays: Arc<BTreeSet<NaiveDate>>,
    ) -> Result<crate::domain::pricing::PlanTerms, String> {
        crate::domain::terms::StoredPlanPricing {
            billing_model,
            hourly_rate: self.hourly_rate.map(|d| d.0),
            category_rates: &self.category_rates,
            after_hours_multiplier: self.after_hours_multiplier.0,
            rounding_increment_minutes: self.rounding_increment_minutes,
            minimum_minutes: self.minimum_minutes,
            monthly_fee: self.monthly_fee.map(|d| d.0),
            included_minutes: self.included_minutes,
            incident_fee: self.incident_fee.map(|d| d.0),
            chargeable_categories: &self.chargeable_categories,
            hours_of_service: &self.hours_of_service,
            rounding_scope: self.rounding_scope,
            fee_proration: self.fee_proration,
            holidays,
        }
        .to_terms()
    }
}

/// One version of a plan's terms (named apart from the engine's `PlanVersion`).
#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = plan_versions)]
pub struct PlanVersionRow {
    pub id: i64,
    pub plan_id: i64,
    pub effective_from: NaiveDate,
    pub created_at: NaiveDateTime,
    #[diesel(embed)]
    pub terms: PlanTermsRow,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = plan_versions)]
pub struct NewPlanVersion {
    pub plan_id: i64,
    pub effective_from: NaiveDate,
    pub created_at: NaiveDateTime,
    #[diesel(embed)]
    pub terms: PlanTermsRow,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = subscriptions)]
pub struct Subscription {
    pub id: i64,
    pub customer_id: i64,
    pub plan_id: i64,
    pub product: Product,
    pub name: String,
    pub external_id: Option<String>,
    pub status: SubscriptionStatus,
    pub created_at: NaiveDateTime,
    /// SPEC 7.1: the first day the subscription covers.
    pub start_date: NaiveDate,
    /// SPEC 7.1: the first day it no longer covers (exclusive); `None` while open-ended.
    pub end_date: Option<NaiveDate>,
}

impl Subscription {
    /// `[start_date, end_date)` (SPEC 7.1): the days it covers, the end exclusive.
    pub fn dates(&self) -> (NaiveDate, Option<NaiveDate>) {
        (self.start_date, self.end_date)
    }

    /// The same, as the domain checks dates against them.
    pub fn coverage(&self) -> Coverage {
        Coverage { start: self.start_date, end: self.end_date }
    }
}

/// `treat_none_as_default_value = false`: a batch is one INSERT on SQLite, as for [`NewTimeEntry`]
/// (none of the optional columns has a default, so `None` is NULL either way).
#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = subscriptions, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct NewSubscription {
    pub customer_id: i64,
    pub plan_id: i64,
    pub product: Product,
    pub name: String,
    pub external_id: Option<String>,
    pub status: SubscriptionStatus,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tickets)]
pub struct Ticket {
    pub id: i64,
    pub subscription_id: i64,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub opened_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub escalation_channel: Option<EscalationChannel>,
    pub escalation_case_id: Option<String>,
    pub escalated_at: Option<NaiveDateTime>,
    /// The invoice that claimed the ticket (`ticket_claims`): load with
    /// `tickets::table.left_join(ticket_claims::table)`.
    #[diesel(select_expression = ticket_claims::invoice_id.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<ticket_claims::invoice_id>)]
    pub invoice_id: Option<i64>,
}

/// `treat_none_as_default_value = false`: a batch is one INSERT on SQLite, as for [`NewTimeEntry`]
/// (none of the optional columns has a default, so `None` is NULL either way).
#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = tickets, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct NewTicket {
    pub subscription_id: i64,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub opened_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub escalation_channel: Option<EscalationChannel>,
    pub escalation_case_id: Option<String>,
    pub escalated_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = time_entries)]
pub struct TimeEntry {
    pub id: i64,
    pub subscription_id: i64,
    pub ticket_id: Option<i64>,
    pub agent: String,
    pub started_at: NaiveDateTime,
    pub minutes: i32,
    pub category: Category,
    pub billable: bool,
    pub description: String,
    /// The invoice that claimed the entry (`time_entry_claims`): load with
    /// `time_entries::table.left_join(time_entry_claims::table)`.
    #[diesel(select_expression = time_entry_claims::invoice_id.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<time_entry_claims::invoice_id>)]
    pub invoice_id: Option<i64>,
}

/// `treat_none_as_default_value = false` makes a batch of these one multi-row INSERT on SQLite
/// (with `Option` fields diesel otherwise sends one statement per row).
#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = time_entries, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct NewTimeEntry {
    pub subscription_id: i64,
    pub ticket_id: Option<i64>,
    pub agent: String,
    pub started_at: NaiveDateTime,
    pub minutes: i32,
    pub category: Category,
    pub billable: bool,
    pub description: String,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = charges)]
pub struct Charge {
    pub id: i64,
    pub subscription_id: i64,
    pub date: NaiveDate,
    pub description: String,
    pub amount: Dec,
    pub invoice_id: Option<i64>,
}

#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = charges)]
pub struct NewCharge {
    pub subscription_id: i64,
    pub date: NaiveDate,
    pub description: String,
    pub amount: Dec,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = invoices)]
pub struct Invoice {
    pub id: i64,
    pub customer_id: i64,
    pub currency: Currency,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub status: InvoiceStatus,
    pub number: Option<String>,
    pub issued_at: Option<NaiveDateTime>,
    pub due_date: Option<NaiveDate>,
    pub subtotal: Dec,
    pub tax_rate_percent: Dec,
    pub tax: Dec,
    pub total: Dec,
    pub snapshot: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = invoices)]
pub struct NewInvoice {
    pub customer_id: i64,
    pub currency: Currency,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub status: InvoiceStatus,
    pub subtotal: Dec,
    pub tax_rate_percent: Dec,
    pub tax: Dec,
    pub total: Dec,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = invoice_lines)]
pub struct InvoiceLine {
    pub id: i64,
    pub invoice_id: i64,
    pub position: i32,
    pub subscription_id: i64,
    pub kind: LineKind,
    pub category: Option<Category>,
    pub month: Option<NaiveDate>,
    pub description: String,
    pub quantity: Dec,
    pub quantity_minutes: Option<Dec>,
    pub unit_price: Dec,
    pub amount: Dec,
    pub plan_version: Option<NaiveDate>,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = invoice_lines, treat_none_as_default_value = false)]
pub struct NewInvoiceLine {
    pub invoice_id: i64,
    pub position: i32,
    pub subscription_id: i64,
    pub kind: LineKind,
    pub category: Option<Category>,
    pub month: Option<NaiveDate>,
    pub description: String,
    pub quantity: Dec,
    pub quantity_minutes: Option<Dec>,
    pub unit_price: Dec,
    pub amount: Dec,
    pub plan_version: Option<NaiveDate>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = retainer_claims)]
pub struct RetainerClaim {
    pub id: i64,
    pub invoice_id: i64,
    pub subscription_id: i64,
    pub month: NaiveDate,
    pub fee_claimed: bool,
    pub allowance_used: Dec,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = retainer_claims)]
pub struct NewRetainerClaim {
    pub invoice_id: i64,
    pub subscription_id: i64,
    pub month: NaiveDate,
    pub fee_claimed: bool,
    pub allowance_used: Dec,
}

/// A prepaid block of minutes (SPEC 7.5).
#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = prepaid_blocks)]
pub struct PrepaidBlock {
    pub id: i64,
    pub subscription_id: i64,
    pub purchased_on: NaiveDate,
    /// Exclusive.
    pub expires_on: Option<NaiveDate>,
    pub minutes: i32,
    pub price: Dec,
    /// The draft or issued invoice that bills the purchase.
    pub invoice_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// `treat_none_as_default_value = false`: `expires_on` has no default, so `None` is NULL.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = prepaid_blocks, treat_none_as_default_value = false)]
pub struct NewPrepaidBlock {
    pub subscription_id: i64,
    pub purchased_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub minutes: i32,
    pub price: Dec,
    pub created_at: NaiveDateTime,
}

/// Weighted minutes one invoice draws from one block.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = block_draws)]
pub struct NewBlockDraw {
    pub invoice_id: i64,
    pub block_id: i64,
    pub minutes: Dec,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub customer_id: Option<i64>,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey {
    pub name: String,
    pub role: Role,
    pub customer_id: Option<i64>,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
}

/// A credit note (SPEC 6): issued at once, its document frozen in `snapshot`.
#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = credit_notes)]
pub struct CreditNote {
    pub id: i64,
    pub invoice_id: i64,
    pub customer_id: i64,
    pub number: String,
    pub full_credit: bool,
    pub reason: String,
    pub currency: Currency,
    pub issued_at: NaiveDateTime,
    pub subtotal: Dec,
    pub tax_rate_percent: Dec,
    pub tax: Dec,
    pub total: Dec,
    pub snapshot: String,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = credit_notes)]
pub struct NewCreditNote {
    pub invoice_id: i64,
    pub customer_id: i64,
    pub number: String,
    pub full_credit: bool,
    pub reason: String,
    pub currency: Currency,
    pub issued_at: NaiveDateTime,
    pub subtotal: Dec,
    pub tax_rate_percent: Dec,
    pub tax: Dec,
    pub total: Dec,
    pub snapshot: String,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = holiday_calendars)]
pub struct HolidayCalendar {
    pub id: i64,
    pub name: String,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = holiday_days)]
pub struct HolidayDay {
    pub calendar_id: i64,
    pub date: NaiveDate,
    pub name: String,
}
