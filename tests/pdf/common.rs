//! Invoice fixtures shared by the tests and the throughput example.

#![allow(dead_code)]
use supportbill::documents::model::*;
use supportbill::domain::money::Currency;
use supportbill::domain::pricing::{Category, LineKind};
use supportbill::domain::terms::{ContactMethod, Hours};
use supportbill::domain::vocab::{InvoiceStatus, Product, TaxTreatment};

pub fn terms() -> Vec<SupportTerms> {
    vec![SupportTerms {
        plan_id: 1,
        plan_name: "Standard".into(),
        scope: "Azure and Microsoft 365 incidents: diagnosis, configuration fixes and escalation to Microsoft.".into(),
        hours_of_service: Some(Hours {
            timezone: "Europe/Berlin".into(),
            days: ["mon", "tue", "wed", "thu", "fri"].iter().map(|d| d.to_string()).collect(),
            start: "09:00".into(),
            end: "17:00".into(),
        }),
        contact_methods: vec![
            ContactMethod { kind: "email".into(), value: "support@fabrikam.example".into() },
            ContactMethod { kind: "phone".into(), value: "+49 89 1234567".into() },
        ],
        effective_from: None,
    }]
}

pub fn base_invoice(customer: &str, lines: Vec<LineDocument>) -> InvoiceDocument {
    InvoiceDocument {
        id: 7,
        number: Some("INV-000042".into()),
        status: InvoiceStatus::Issued,
        customer_id: 3,
        currency: Currency::from_code("EUR").unwrap(),
        period_start: "2026-10-01".into(),
        period_end: "2026-11-01".into(),
        issued_at: Some("2026-11-02T09:15:00Z".into()),
        due_date: Some("2026-12-02".into()),
        lines,
        subtotal: "397.50".into(),
        tax_rate_percent: "19".into(),
        tax: "75.53".into(),
        total: "473.03".into(),
        tax_treatment: TaxTreatment::Standard,
        tax_note: None,
        customer: CustomerParty {
            name: customer.into(),
            billing_address: "ул. Тверская, д. 1, 125009 Москва".into(),
            email: "buh@romashka.example".into(),
            country: "RU".into(),
            tax_id: "7701234567".into(),
            external_id: None,
        },
        partner: PartnerParty {
            name: "Müller & Söhne GmbH".into(),
            address: "Partnerweg 5, 80331 München".into(),
            country: "DE".into(),
            tax_id: "DE987654321".into(),
            payment_terms_days: 30,
        },
        subscriptions: vec![
            SubscriptionRefDoc {
                id: 11,
                name: "Azure plan".into(),
                product: Product::Azure,
                external_id: None,
                plan_id: 1,
            },
            SubscriptionRefDoc {
                id: 12,
                name: "Microsoft 365 E3 — Αθήνα".into(),
                product: Product::Microsoft365,
                external_id: None,
                plan_id: 1,
            },
        ],
        support_terms: terms(),
    }
}

pub fn worked_example_lines() -> Vec<LineDocument> {
    vec![
        LineDocument {
            subscription_id: 11,
            kind: LineKind::SupportTime,
            category: Some(Category::Technical),
            month: None,
            description: "Support time, technical".into(),
            quantity: "1.00".into(),
            quantity_minutes: Some("60".into()),
            unit_price: "150.00".into(),
            amount: "150.00".into(),
            plan_version: None,
        },
        LineDocument {
            subscription_id: 11,
            kind: LineKind::AfterHoursSupportTime,
            category: Some(Category::Technical),
            month: None,
            description:
                "After-hours support time, technical (x1.5): Ρύθμιση δικτύου και επανεκκίνηση εικονικής μηχανής".into(),
            quantity: "0.50".into(),
            quantity_minutes: Some("30".into()),
            unit_price: "225.00".into(),
            amount: "112.50".into(),
            plan_version: None,
        },
        LineDocument {
            subscription_id: 12,
            kind: LineKind::AfterHoursSupportTime,
            category: Some(Category::SubscriptionManagement),
            month: None,
            description: "After-hours support time, subscription management (x1.5)".into(),
            quantity: "0.75".into(),
            quantity_minutes: Some("45".into()),
            unit_price: "180.00".into(),
            amount: "135.00".into(),
            plan_version: None,
        },
    ]
}

pub fn one_page() -> InvoiceDocument {
    base_invoice("ООО «Ромашка»", worked_example_lines())
}

pub fn long_invoice(n: usize) -> InvoiceDocument {
    let mut lines = Vec::new();
    for i in 0..n {
        let minutes = 15 + (i * 7) % 200;
        let desc = if i % 9 == 0 {
            format!("Support time {i}: migration of the customer's Exchange Online mailboxes, conditional access review and a long follow-up with Microsoft Premier Support about the tenant's licensing")
        } else {
            format!("Support time {i}, technical")
        };
        lines.push(LineDocument {
            subscription_id: if i % 2 == 0 { 11 } else { 12 },
            kind: LineKind::SupportTime,
            category: Some(Category::Technical),
            month: None,
            description: desc,
            quantity: format!("{:.2}", minutes as f64 / 60.0),
            quantity_minutes: Some(if i % 10 == 3 { format!("{minutes}.5") } else { minutes.to_string() }),
            unit_price: "120.00".into(),
            amount: format!("{:.2}", minutes as f64 * 2.0),
            plan_version: None,
        });
    }
    lines.push(LineDocument {
        subscription_id: 11,
        kind: LineKind::Charge,
        category: None,
        month: None,
        description: "Premier case fee".into(),
        quantity: "1".into(),
        quantity_minutes: None,
        unit_price: "85.00".into(),
        amount: "85.00".into(),
        plan_version: None,
    });
    let mut doc = base_invoice("ООО «Ромашка»", lines);
    doc.subtotal = "41234.00".into();
    doc.tax = "7834.46".into();
    doc.total = "49068.46".into();
    doc
}
