//! The documents' data: what an invoice, a credit note and a report row say, as plain values.
//! The services build them (from live rows, or from an issued invoice's frozen snapshot) and
//! the renderers beside this module turn them into JSON, CSV, PDF and UBL XML. Amounts are
//! strings already formatted with their currency's minor digits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::money::Currency;
use crate::domain::pricing::{Category, LineKind};
use crate::domain::terms::{ContactMethod, Hours};
use crate::domain::vocab::{CreditType, DocumentKind, InvoiceStatus, Product, TaxTreatment};

/// Snapshots frozen before tax treatments existed were all standard.
fn standard_tax_treatment() -> TaxTreatment {
    TaxTreatment::Standard
}

/// An invoice as clients see it, and as it is frozen at issue.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvoiceDocument {
    pub id: i64,
    /// Set at issue: prefix + 6-digit gapless sequence, e.g. `INV-000001`.
    pub number: Option<String>,
    /// `draft`, `issued`, `void` or `credited` (SPEC 6).
    #[schema(value_type = String)]
    pub status: InvoiceStatus,
    pub customer_id: i64,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub period_start: String,
    /// Exclusive.
    pub period_end: String,
    pub issued_at: Option<String>,
    pub due_date: Option<String>,
    pub lines: Vec<LineDocument>,
    pub subtotal: String,
    pub tax_rate_percent: String,
    pub tax: String,
    pub total: String,
    /// `standard`, `reverse_charge`, `exempt` or `outside_scope` (SPEC 6), frozen at issue.
    #[serde(default = "standard_tax_treatment")]
    #[schema(value_type = String)]
    pub tax_treatment: TaxTreatment,
    /// The legal note the documents print (reverse charge, the exemption reason, outside scope).
    #[serde(default)]
    pub tax_note: Option<String>,
    /// The customer as billed (frozen at issue).
    pub customer: CustomerParty,
    /// The partner as it invoiced (frozen at issue).
    pub partner: PartnerParty,
    /// The subscriptions the lines refer to.
    pub subscriptions: Vec<SubscriptionRefDoc>,
    /// The published support terms of the plans invoiced.
    pub support_terms: Vec<SupportTerms>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineDocument {
    pub subscription_id: i64,
    /// `support_time`, `after_hours_support_time`, `retainer_fee`, `overage`, `incident_fee`,
    /// `charge`, `block_purchase`, `prepaid_usage`.
    #[schema(value_type = String)]
    pub kind: LineKind,
    #[schema(value_type = Option<String>)]
    pub category: Option<Category>,
    /// `YYYY-MM-01` for retainer fee and overage lines.
    pub month: Option<String>,
    pub description: String,
    /// Hours (2 decimals) on time lines, the count on incident lines, 1 otherwise.
    pub quantity: String,
    /// Billed (weighted, for overage) minutes on time lines.
    pub quantity_minutes: Option<String>,
    /// Per hour on time lines.
    pub unit_price: String,
    pub amount: String,
    /// `effective_from` of the plan version that priced the line (SPEC 7.2); absent on charge
    /// and prepaid usage lines, and on invoices frozen before plans had versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_version: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerParty {
    pub name: String,
    pub billing_address: String,
    pub email: String,
    pub country: String,
    pub tax_id: String,
    pub external_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartnerParty {
    pub name: String,
    pub address: String,
    pub country: String,
    pub tax_id: String,
    pub payment_terms_days: i32,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriptionRefDoc {
    pub id: i64,
    pub name: String,
    #[schema(value_type = String)]
    pub product: Product,
    pub external_id: Option<String>,
    pub plan_id: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupportTerms {
    pub plan_id: i64,
    pub plan_name: String,
    pub scope: String,
    pub hours_of_service: Option<Hours>,
    pub contact_methods: Vec<ContactMethod>,
    /// The first date of these terms (SPEC 7.2): a plan whose terms changed inside the period
    /// has one entry per version. Absent on invoices frozen before plans had versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<String>,
}

/// One row of the invoice list (no lines; GET the invoice for those).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvoiceSummary {
    pub id: i64,
    pub number: Option<String>,
    #[schema(value_type = String)]
    pub status: InvoiceStatus,
    pub customer_id: i64,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub period_start: String,
    pub period_end: String,
    pub issued_at: Option<String>,
    pub due_date: Option<String>,
    pub subtotal: String,
    pub tax_rate_percent: String,
    pub tax: String,
    pub total: String,
}

impl InvoiceDocument {
    /// The list row of this invoice.
    pub fn summary(&self) -> InvoiceSummary {
        InvoiceSummary {
            id: self.id,
            number: self.number.clone(),
            status: self.status,
            customer_id: self.customer_id,
            currency: self.currency,
            period_start: self.period_start.clone(),
            period_end: self.period_end.clone(),
            issued_at: self.issued_at.clone(),
            due_date: self.due_date.clone(),
            subtotal: self.subtotal.clone(),
            tax_rate_percent: self.tax_rate_percent.clone(),
            tax: self.tax.clone(),
            total: self.total.clone(),
        }
    }
}

/// A credit note as clients see it; frozen at issue.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreditNoteDocument {
    pub id: i64,
    /// `CN-` + 6-digit gapless sequence.
    pub number: String,
    /// Always `credit_note`, so a register or an import can tell it from an invoice.
    pub document_type: String,
    /// The invoice it corrects.
    pub invoice_id: i64,
    pub invoice_number: String,
    /// `YYYY-MM-DD`: the corrected invoice's issue date.
    pub invoice_issue_date: String,
    /// `full` or `partial`.
    #[schema(value_type = String)]
    pub credit_type: CreditType,
    pub reason: String,
    pub customer_id: i64,
    #[schema(value_type = String)]
    pub currency: Currency,
    /// The corrected invoice's period.
    pub period_start: String,
    pub period_end: String,
    pub issued_at: String,
    pub lines: Vec<CreditLineDocument>,
    /// Positive amounts: what is credited.
    pub subtotal: String,
    pub tax_rate_percent: String,
    pub tax: String,
    pub total: String,
    #[schema(value_type = String)]
    pub tax_treatment: TaxTreatment,
    pub tax_note: Option<String>,
    pub customer: CustomerParty,
    pub partner: PartnerParty,
    pub subscriptions: Vec<SubscriptionRefDoc>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreditLineDocument {
    /// The 1-based position of the invoice line credited.
    pub invoice_line: usize,
    pub subscription_id: i64,
    #[schema(value_type = String)]
    pub kind: LineKind,
    #[schema(value_type = Option<String>)]
    pub category: Option<Category>,
    pub month: Option<String>,
    pub description: String,
    /// As on the invoice line when the whole line is credited; `1` for part of a line.
    pub quantity: String,
    /// Set when a whole time line is credited.
    pub quantity_minutes: Option<String>,
    /// As on the invoice line when the whole line is credited; else the credited amount.
    pub unit_price: String,
    pub amount: String,
}

/// One summary row (the list; GET the credit note for its lines).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreditNoteSummary {
    pub id: i64,
    pub number: String,
    pub invoice_id: i64,
    pub customer_id: i64,
    #[schema(value_type = String)]
    pub credit_type: CreditType,
    pub reason: String,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub issued_at: String,
    pub subtotal: String,
    pub tax_rate_percent: String,
    pub tax: String,
    pub total: String,
}

impl CreditNoteDocument {
    /// The credit note's lines as invoice lines, so the invoice renderers (PDF tables, UBL lines)
    /// can draw them.
    pub fn as_invoice_like(&self) -> InvoiceDocument {
        let cn = self;
        InvoiceDocument {
            id: cn.id,
            number: Some(cn.number.clone()),
            status: InvoiceStatus::Issued,
            customer_id: cn.customer_id,
            currency: cn.currency,
            period_start: cn.period_start.clone(),
            period_end: cn.period_end.clone(),
            issued_at: Some(cn.issued_at.clone()),
            due_date: None,
            lines: cn
                .lines
                .iter()
                .map(|l| LineDocument {
                    subscription_id: l.subscription_id,
                    kind: l.kind,
                    category: l.category,
                    month: l.month.clone(),
                    description: l.description.clone(),
                    quantity: l.quantity.clone(),
                    quantity_minutes: l.quantity_minutes.clone(),
                    unit_price: l.unit_price.clone(),
                    amount: l.amount.clone(),
                    plan_version: None,
                })
                .collect(),
            subtotal: cn.subtotal.clone(),
            tax_rate_percent: cn.tax_rate_percent.clone(),
            tax: cn.tax.clone(),
            total: cn.total.clone(),
            tax_treatment: cn.tax_treatment,
            tax_note: cn.tax_note.clone(),
            customer: cn.customer.clone(),
            partner: cn.partner.clone(),
            subscriptions: cn.subscriptions.clone(),
            support_terms: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct UsageRow {
    pub key: String,
    pub label: String,
    pub entries: u64,
    pub minutes: u64,
    pub billable_minutes: u64,
    pub non_billable_minutes: u64,
    pub billed_minutes: u64,
    pub after_hours_minutes: u64,
    pub tickets: u64,
    pub escalations: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RegisterRow {
    /// `invoice` or `credit_note`; credit notes show their amounts negative, so each column
    /// sums to the net amount invoiced.
    #[schema(value_type = String)]
    pub kind: DocumentKind,
    pub id: i64,
    pub number: Option<String>,
    /// For credit notes: the number of the invoice they correct.
    pub corrects: Option<String>,
    pub issued_at: Option<String>,
    pub due_date: Option<String>,
    pub period_start: String,
    pub period_end: String,
    pub customer_id: i64,
    pub customer_name: String,
    #[schema(value_type = String)]
    pub status: InvoiceStatus,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
}
