//! The invoice document: built from the live rows for drafts (and at the moment of issue),
//! read from the frozen snapshot afterwards.

use std::collections::HashMap;

use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::documents::model::{
    CustomerParty, InvoiceDocument, InvoiceSummary, LineDocument, PartnerParty, SubscriptionRefDoc, SupportTerms,
};
use crate::domain::money::Currency;
use crate::error::AppError;
use crate::service::IN_CHUNK;
use crate::storage::models::*;
use crate::storage::schema::*;
use crate::storage::DbConnection;

/// Unit prices keep their own digits but show at least the currency's minor digits.
pub(crate) fn format_price(currency: Currency, d: Decimal) -> String {
    let mut d = d.normalize();
    if d.scale() < currency.minor_digits() {
        d.rescale(currency.minor_digits());
    }
    d.to_string()
}

pub fn summary(row: &Invoice) -> Result<InvoiceSummary, AppError> {
    let c = row.currency;
    Ok(InvoiceSummary {
        id: row.id,
        number: row.number.clone(),
        status: row.status,
        customer_id: row.customer_id,
        currency: row.currency,
        period_start: row.period_start.to_string(),
        period_end: row.period_end.to_string(),
        issued_at: row.issued_at.map(crate::domain::time::timestamp),
        due_date: row.due_date.map(|d| d.to_string()),
        subtotal: c.format(row.subtotal.0),
        tax_rate_percent: row.tax_rate_percent.0.to_string(),
        tax: c.format(row.tax.0),
        total: c.format(row.total.0),
    })
}

/// Builds the document from the live rows (drafts, and issued invoices at the moment of issue).
pub(crate) fn build_document(conn: &mut DbConnection, row: &Invoice) -> Result<InvoiceDocument, AppError> {
    build_documents(conn, std::slice::from_ref(row))?
        .pop()
        .ok_or_else(|| AppError::Internal("no document built".into()))
}

/// Builds the documents of many invoices with a handful of queries per 10,000 invoices (not
/// per invoice): an invoice run or a bulk issue of thousands stays a few round trips.
pub(crate) fn build_documents(conn: &mut DbConnection, rows: &[Invoice]) -> Result<Vec<InvoiceDocument>, AppError> {
    let partner = crate::service::partner::get(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut lines_of: HashMap<i64, Vec<InvoiceLine>> = HashMap::with_capacity(rows.len());
    for chunk in ids.chunks(IN_CHUNK) {
        let lines: Vec<InvoiceLine> = invoice_lines::table
            .filter(invoice_lines::invoice_id.eq_any(chunk))
            .order((invoice_lines::invoice_id, invoice_lines::position))
            .select(InvoiceLine::as_select())
            .load(conn)?;
        for l in lines {
            lines_of.entry(l.invoice_id).or_default().push(l);
        }
    }
    let customer_ids = sorted_unique(rows.iter().map(|r| r.customer_id));
    let mut customers_by_id: HashMap<i64, Customer> = HashMap::with_capacity(customer_ids.len());
    for chunk in customer_ids.chunks(IN_CHUNK) {
        let found: Vec<Customer> =
            customers::table.filter(customers::id.eq_any(chunk)).select(Customer::as_select()).load(conn)?;
        customers_by_id.extend(found.into_iter().map(|c| (c.id, c)));
    }
    let sub_ids = sorted_unique(lines_of.values().flatten().map(|l| l.subscription_id));
    let mut subs_by_id: HashMap<i64, Subscription> = HashMap::with_capacity(sub_ids.len());
    for chunk in sub_ids.chunks(IN_CHUNK) {
        let found: Vec<Subscription> = subscriptions::table
            .filter(subscriptions::id.eq_any(chunk))
            .select(Subscription::as_select())
            .load(conn)?;
        subs_by_id.extend(found.into_iter().map(|s| (s.id, s)));
    }
    let plan_ids = sorted_unique(subs_by_id.values().map(|s| s.plan_id));
    let plans_by_id: HashMap<i64, Plan> = plans::table
        .filter(plans::id.eq_any(&plan_ids))
        .select(Plan::as_select())
        .load(conn)?
        .into_iter()
        .map(|p: Plan| (p.id, p))
        .collect();
    let versions_by_plan = crate::service::plan_versions::of_plans(conn, &plan_ids)?;

    let mut docs = Vec::with_capacity(rows.len());
    for row in rows {
        let customer = customers_by_id.get(&row.customer_id).ok_or(AppError::NotFound { what: "customer" })?;
        let lines = lines_of.remove(&row.id).unwrap_or_default();
        let invoice_subs = sorted_unique(lines.iter().map(|l| l.subscription_id));
        let subs: Vec<&Subscription> = invoice_subs.iter().filter_map(|id| subs_by_id.get(id)).collect();
        let invoice_plans = sorted_unique(subs.iter().map(|s| s.plan_id));
        let plan_rows: Vec<&Plan> = invoice_plans.iter().filter_map(|id| plans_by_id.get(id)).collect();
        let terms = support_terms(row, &plan_rows, &versions_by_plan)?;
        docs.push(assemble(row, lines, customer, &partner, &subs, terms)?);
    }
    Ok(docs)
}

pub(crate) fn sorted_unique(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut v: Vec<i64> = ids.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The published terms of the invoice's plans: for each plan the version in force over the
/// invoice's period, or each of them when the terms changed inside it.
fn support_terms(
    row: &Invoice,
    plan_rows: &[&Plan],
    versions_by_plan: &HashMap<i64, Vec<PlanVersionRow>>,
) -> Result<Vec<SupportTerms>, AppError> {
    let mut out = Vec::new();
    for plan in plan_rows {
        let versions = versions_by_plan.get(&plan.id).map(Vec::as_slice).unwrap_or_default();
        for v in crate::service::plan_versions::in_force_between(plan, versions, row.period_start, row.period_end)? {
            out.push(SupportTerms {
                plan_id: plan.id,
                plan_name: plan.name.clone(),
                scope: v.terms.scope.clone(),
                hours_of_service: serde_json::from_str(&v.terms.hours_of_service).ok(),
                contact_methods: serde_json::from_str(&v.terms.contact_methods).unwrap_or_default(),
                effective_from: Some(v.effective_from.to_string()),
            });
        }
    }
    Ok(out)
}

/// One invoice's document from its rows.
pub(crate) fn assemble(
    row: &Invoice,
    lines: Vec<InvoiceLine>,
    customer: &Customer,
    partner: &Partner,
    subs: &[&Subscription],
    support_terms: Vec<SupportTerms>,
) -> Result<InvoiceDocument, AppError> {
    let c = row.currency;
    let s = summary(row)?;
    Ok(InvoiceDocument {
        id: row.id,
        number: s.number,
        status: s.status,
        customer_id: row.customer_id,
        currency: s.currency,
        period_start: s.period_start,
        period_end: s.period_end,
        issued_at: s.issued_at,
        due_date: s.due_date,
        lines: lines
            .into_iter()
            .map(|l| LineDocument {
                subscription_id: l.subscription_id,
                kind: l.kind,
                category: l.category,
                month: l.month.map(|m| m.to_string()),
                description: l.description,
                quantity: l.quantity.0.to_string(),
                quantity_minutes: l.quantity_minutes.map(|q| q.0.normalize().to_string()),
                unit_price: format_price(c, l.unit_price.0),
                amount: c.format(l.amount.0),
                plan_version: l.plan_version.map(|d| d.to_string()),
            })
            .collect(),
        subtotal: s.subtotal,
        tax_rate_percent: s.tax_rate_percent,
        tax: s.tax,
        total: s.total,
        tax_note: crate::service::tax::note(customer),
        tax_treatment: customer.tax_treatment,
        customer: CustomerParty {
            name: customer.name.clone(),
            billing_address: customer.billing_address.clone(),
            email: customer.email.clone(),
            country: customer.country.clone(),
            tax_id: customer.tax_id.clone(),
            external_id: customer.external_id.clone(),
        },
        partner: PartnerParty {
            name: partner.name.clone(),
            address: partner.address.clone(),
            country: partner.country.clone(),
            tax_id: partner.tax_id.clone(),
            payment_terms_days: partner.payment_terms_days,
        },
        subscriptions: subs
            .iter()
            .map(|s| SubscriptionRefDoc {
                id: s.id,
                name: s.name.clone(),
                product: s.product,
                external_id: s.external_id.clone(),
                plan_id: s.plan_id,
            })
            .collect(),
        support_terms,
    })
}

/// The document of an invoice: the frozen snapshot once issued, else built live.
pub fn document(conn: &mut DbConnection, row: &Invoice) -> Result<InvoiceDocument, AppError> {
    match &row.snapshot {
        Some(json) => {
            let mut doc: InvoiceDocument = serde_json::from_str(json)
                .map_err(|e| AppError::Internal(format!("invoice {} snapshot unreadable: {e}", row.id)))?;
            // Only the status moves after issue (issued -> void).
            doc.status = row.status;
            Ok(doc)
        }
        None => build_document(conn, row),
    }
}
