//! E-invoices (SPEC 6): an issued invoice as a UBL 2.1 Invoice, and a credit note as a UBL 2.1
//! CreditNote (type 381) referring to its invoice, both conforming to EN 16931
//! (`urn:cen.eu:en16931:2017`). Rendered from the frozen snapshot only, so the bytes never
//! change; written with quick-xml's `Writer`, which escapes every text and attribute.
//!
//! Mapping: time lines are quantities of `MIN` priced per hour (`BaseQuantity` 60 `MIN`), so
//! line net = minutes x price / 60 as in P5; other lines are `C62` (units). A negative line (a
//! credit charge) is quantity -1 at a positive price, since EN 16931 forbids negative prices.
//! Part of a line credited is one `C62` at the credited amount. The VAT category follows the
//! customer's tax treatment: S (standard, rate > 0), Z (standard at 0 %), AE (reverse charge),
//! E (exempt, with its reason) and O (outside the scope of VAT: no VAT identifiers, no rate).
//! Currencies with more than two minor digits cannot be expressed (EN 16931 allows two).

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use rust_decimal::Decimal;

use crate::documents::model::{CreditNoteDocument, InvoiceDocument, LineDocument};
use crate::domain::money::Currency;
use crate::domain::vocab::{InvoiceStatus, TaxTreatment};

const NS_INVOICE: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
const NS_CREDIT_NOTE: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";
const NS_CAC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
const NS_CBC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";
pub const CUSTOMIZATION_ID: &str = "urn:cen.eu:en16931:2017";

/// Why a document cannot be an EN 16931 e-invoice; the HTTP layer answers 422 with `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UblError {
    /// `einvoice_unsupported` (the document cannot be expressed) or `einvoice_incomplete`
    /// (the frozen partner or customer details lack what EN 16931 requires).
    pub code: &'static str,
    pub detail: String,
}

impl UblError {
    fn unsupported(detail: impl Into<String>) -> Self {
        UblError { code: "einvoice_unsupported", detail: detail.into() }
    }
    fn incomplete(detail: impl Into<String>) -> Self {
        UblError { code: "einvoice_incomplete", detail: detail.into() }
    }
}

/// The VAT category of every line and of the breakdown.
struct VatCategory {
    code: &'static str,
    /// Absent for O (EN 16931 BR-O-05).
    percent: Option<String>,
    exemption_code: Option<&'static str>,
    exemption_reason: Option<String>,
}

fn vat_category(doc: &InvoiceDocument) -> VatCategory {
    let rate = doc.tax_rate_percent.clone();
    match doc.tax_treatment {
        TaxTreatment::ReverseCharge => VatCategory {
            code: "AE",
            percent: Some("0".into()),
            exemption_code: Some("VATEX-EU-AE"),
            exemption_reason: Some(doc.tax_note.clone().unwrap_or_else(|| "Reverse charge".into())),
        },
        TaxTreatment::Exempt => VatCategory {
            code: "E",
            percent: Some("0".into()),
            exemption_code: None,
            exemption_reason: Some(
                doc.tax_note.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "Exempt from VAT".into()),
            ),
        },
        TaxTreatment::OutsideScope => VatCategory {
            code: "O",
            percent: None,
            exemption_code: Some("VATEX-EU-O"),
            exemption_reason: Some(doc.tax_note.clone().unwrap_or_else(|| "Not subject to VAT".into())),
        },
        TaxTreatment::Standard if rate.parse::<Decimal>().map(|r| r.is_zero()).unwrap_or(false) => {
            VatCategory { code: "Z", percent: Some("0".into()), exemption_code: None, exemption_reason: None }
        }
        TaxTreatment::Standard => {
            VatCategory { code: "S", percent: Some(rate), exemption_code: None, exemption_reason: None }
        }
    }
}

/// A small wrapper that keeps the first write error (writing to a `Vec` does not fail).
struct Xml {
    w: Writer<Vec<u8>>,
    error: Option<String>,
}

impl Xml {
    fn new() -> Self {
        Xml { w: Writer::new_with_indent(Vec::new(), b' ', 2), error: None }
    }

    fn event(&mut self, e: Event<'_>) {
        if let Err(err) = self.w.write_event(e) {
            self.error.get_or_insert_with(|| err.to_string());
        }
    }

    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        let mut s = BytesStart::new(name);
        for a in attrs {
            s.push_attribute(*a);
        }
        self.event(Event::Start(s));
    }

    fn end(&mut self, name: &str) {
        self.event(Event::End(BytesEnd::new(name)));
    }

    fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start(name, attrs);
        self.event(Event::Text(BytesText::new(text)));
        self.end(name);
    }

    fn finish(self) -> Result<Vec<u8>, UblError> {
        match self.error {
            Some(e) => Err(UblError::unsupported(format!("XML writer: {e}"))),
            None => {
                let mut bytes = self.w.into_inner();
                bytes.push(b'\n');
                Ok(bytes)
            }
        }
    }
}

fn date_of(timestamp: &str) -> &str {
    timestamp.get(..10).unwrap_or(timestamp)
}

/// The last day of an exclusive period end.
fn last_day(end: &str) -> String {
    chrono::NaiveDate::parse_from_str(end, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.pred_opt())
        .map(|d| d.to_string())
        .unwrap_or_else(|| end.to_string())
}

/// A VAT identifier starts with its country's two letters (EN 16931 BR-CO-09); other tax ids
/// go out as legal registration ids.
fn is_vat_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() > 2 && b[0].is_ascii_uppercase() && b[1].is_ascii_uppercase()
}

struct Party<'a> {
    name: &'a str,
    address: &'a str,
    country: &'a str,
    tax_id: &'a str,
    email: Option<&'a str>,
    /// The seller: a tax id that is not a VAT id is its tax registration id (BT-32, which the
    /// VAT rules accept in place of a VAT id) and its legal registration id (BT-30); a buyer's
    /// is its legal registration id (BT-47).
    seller: bool,
}

fn party(x: &mut Xml, p: &Party<'_>, vat_ids_allowed: bool) {
    x.start("cac:Party", &[]);
    x.start("cac:PartyName", &[]);
    x.leaf("cbc:Name", &[], p.name);
    x.end("cac:PartyName");
    x.start("cac:PostalAddress", &[]);
    if !p.address.trim().is_empty() {
        x.leaf("cbc:StreetName", &[], p.address.trim());
    }
    x.start("cac:Country", &[]);
    x.leaf("cbc:IdentificationCode", &[], p.country);
    x.end("cac:Country");
    x.end("cac:PostalAddress");
    let tax_id = p.tax_id.trim();
    let scheme = match (is_vat_id(tax_id), vat_ids_allowed, p.seller) {
        _ if tax_id.is_empty() => None,
        (true, true, _) => Some("VAT"),
        (false, _, true) => Some("FC"),
        _ => None,
    };
    if let Some(scheme) = scheme {
        x.start("cac:PartyTaxScheme", &[]);
        x.leaf("cbc:CompanyID", &[], tax_id);
        x.start("cac:TaxScheme", &[]);
        x.leaf("cbc:ID", &[], scheme);
        x.end("cac:TaxScheme");
        x.end("cac:PartyTaxScheme");
    }
    x.start("cac:PartyLegalEntity", &[]);
    x.leaf("cbc:RegistrationName", &[], p.name);
    // Without a VAT id the tax id also identifies the seller (BT-30, EN 16931 BR-CO-26).
    if scheme != Some("VAT") && !tax_id.is_empty() {
        x.leaf("cbc:CompanyID", &[], tax_id);
    }
    x.end("cac:PartyLegalEntity");
    if let Some(email) = p.email.filter(|e| !e.is_empty()) {
        x.start("cac:Contact", &[]);
        x.leaf("cbc:ElectronicMail", &[], email);
        x.end("cac:Contact");
    }
    x.end("cac:Party");
}

fn tax_category(x: &mut Xml, element: &str, vat: &VatCategory, with_reason: bool) {
    x.start(element, &[]);
    x.leaf("cbc:ID", &[], vat.code);
    if let Some(p) = &vat.percent {
        x.leaf("cbc:Percent", &[], p);
    }
    if with_reason {
        if let Some(code) = vat.exemption_code {
            x.leaf("cbc:TaxExemptionReasonCode", &[], code);
        }
        if let Some(reason) = &vat.exemption_reason {
            x.leaf("cbc:TaxExemptionReason", &[], reason);
        }
    }
    x.start("cac:TaxScheme", &[]);
    x.leaf("cbc:ID", &[], "VAT");
    x.end("cac:TaxScheme");
    x.end(element);
}

/// (quantity, unit code, price, base quantity) of a line, as EN 16931 wants them: never a
/// negative price, time per minute at an hourly price.
fn quantity_and_price(
    l: &LineDocument,
    currency: Currency,
) -> Result<(String, &'static str, String, Option<&'static str>), UblError> {
    let amount: Decimal = l.amount.parse().map_err(|_| UblError::unsupported(format!("line amount {:?}", l.amount)))?;
    let price: Decimal =
        l.unit_price.parse().map_err(|_| UblError::unsupported(format!("unit price {:?}", l.unit_price)))?;
    if let Some(minutes) = &l.quantity_minutes {
        if amount >= Decimal::ZERO && price >= Decimal::ZERO {
            return Ok((minutes.clone(), "MIN", l.unit_price.clone(), Some("60")));
        }
    }
    if amount < Decimal::ZERO {
        return Ok(("-1".into(), "C62", currency.format(-amount), None));
    }
    let quantity: Decimal = l.quantity.parse().unwrap_or(Decimal::ONE);
    // Count lines (incidents) keep their count and price when they multiply out; anything else
    // is one unit at the amount.
    if !quantity.is_zero() && price >= Decimal::ZERO && currency.round(quantity * price) == amount {
        return Ok((quantity.normalize().to_string(), "C62", l.unit_price.clone(), None));
    }
    Ok(("1".into(), "C62", currency.format(amount), None))
}

/// What differs between an Invoice and a CreditNote.
struct Kind<'a> {
    root: &'static str,
    namespace: &'static str,
    type_element: &'static str,
    type_code: &'static str,
    line_element: &'static str,
    quantity_element: &'static str,
    due_date: Option<&'a str>,
    billing_reference: Option<(&'a str, &'a str)>,
    note: Option<String>,
    payment_terms: String,
}

fn render(doc: &InvoiceDocument, kind: Kind<'_>) -> Result<Vec<u8>, UblError> {
    let currency = doc.currency;
    if currency.minor_digits() > 2 {
        return Err(UblError::unsupported(format!(
            "{} has {} minor digits; EN 16931 e-invoices allow at most two decimals",
            currency.code(),
            currency.minor_digits()
        )));
    }
    let number = doc.number.as_deref().ok_or_else(|| UblError::unsupported("a draft has no number; issue it first"))?;
    let issued =
        doc.issued_at.as_deref().ok_or_else(|| UblError::unsupported("a draft has no issue date; issue it first"))?;
    if doc.partner.name.trim().is_empty()
        || doc.partner.country.trim().is_empty()
        || doc.partner.tax_id.trim().is_empty()
    {
        return Err(UblError::incomplete(
            "the partner's name, country and tax id must be set (PUT /api/v1/partner) before a document is issued for it to be an e-invoice",
        ));
    }
    let vat = vat_category(doc);
    let cur = [("currencyID", doc.currency.code())];

    let mut x = Xml::new();
    x.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    x.start(kind.root, &[("xmlns", kind.namespace), ("xmlns:cac", NS_CAC), ("xmlns:cbc", NS_CBC)]);
    x.leaf("cbc:CustomizationID", &[], CUSTOMIZATION_ID);
    x.leaf("cbc:ID", &[], number);
    x.leaf("cbc:IssueDate", &[], date_of(issued));
    if let Some(due) = kind.due_date {
        x.leaf("cbc:DueDate", &[], due);
    }
    x.leaf(kind.type_element, &[], kind.type_code);
    if let Some(note) = &kind.note {
        x.leaf("cbc:Note", &[], note);
    }
    if let Some(note) = doc.tax_note.as_deref().filter(|n| !n.is_empty()) {
        x.leaf("cbc:Note", &[], note);
    }
    x.leaf("cbc:DocumentCurrencyCode", &[], doc.currency.code());
    x.start("cac:InvoicePeriod", &[]);
    x.leaf("cbc:StartDate", &[], &doc.period_start);
    x.leaf("cbc:EndDate", &[], &last_day(&doc.period_end));
    x.end("cac:InvoicePeriod");
    if let Some((ref_number, ref_date)) = kind.billing_reference {
        x.start("cac:BillingReference", &[]);
        x.start("cac:InvoiceDocumentReference", &[]);
        x.leaf("cbc:ID", &[], ref_number);
        if !ref_date.is_empty() {
            x.leaf("cbc:IssueDate", &[], ref_date);
        }
        x.end("cac:InvoiceDocumentReference");
        x.end("cac:BillingReference");
    }
    // Outside the scope of VAT, no VAT identifier may appear (BR-O-02).
    let vat_ids = vat.code != "O";
    x.start("cac:AccountingSupplierParty", &[]);
    party(
        &mut x,
        &Party {
            name: &doc.partner.name,
            address: &doc.partner.address,
            country: &doc.partner.country,
            tax_id: &doc.partner.tax_id,
            email: None,
            seller: true,
        },
        vat_ids,
    );
    x.end("cac:AccountingSupplierParty");
    x.start("cac:AccountingCustomerParty", &[]);
    party(
        &mut x,
        &Party {
            name: &doc.customer.name,
            address: &doc.customer.billing_address,
            country: &doc.customer.country,
            tax_id: &doc.customer.tax_id,
            email: Some(&doc.customer.email),
            seller: false,
        },
        vat_ids,
    );
    x.end("cac:AccountingCustomerParty");
    x.start("cac:PaymentTerms", &[]);
    x.leaf("cbc:Note", &[], &kind.payment_terms);
    x.end("cac:PaymentTerms");

    x.start("cac:TaxTotal", &[]);
    x.leaf("cbc:TaxAmount", &cur, &doc.tax);
    x.start("cac:TaxSubtotal", &[]);
    x.leaf("cbc:TaxableAmount", &cur, &doc.subtotal);
    x.leaf("cbc:TaxAmount", &cur, &doc.tax);
    tax_category(&mut x, "cac:TaxCategory", &vat, true);
    x.end("cac:TaxSubtotal");
    x.end("cac:TaxTotal");

    x.start("cac:LegalMonetaryTotal", &[]);
    x.leaf("cbc:LineExtensionAmount", &cur, &doc.subtotal);
    x.leaf("cbc:TaxExclusiveAmount", &cur, &doc.subtotal);
    x.leaf("cbc:TaxInclusiveAmount", &cur, &doc.total);
    x.leaf("cbc:PayableAmount", &cur, &doc.total);
    x.end("cac:LegalMonetaryTotal");

    for (i, l) in doc.lines.iter().enumerate() {
        let (quantity, unit, price, base) = quantity_and_price(l, currency)?;
        x.start(kind.line_element, &[]);
        x.leaf("cbc:ID", &[], &(i + 1).to_string());
        x.leaf(kind.quantity_element, &[("unitCode", unit)], &quantity);
        x.leaf("cbc:LineExtensionAmount", &cur, &l.amount);
        if let Some(month) = &l.month {
            x.start("cac:InvoicePeriod", &[]);
            x.leaf("cbc:StartDate", &[], month);
            let end = chrono::NaiveDate::parse_from_str(month, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
                .map(|d| last_day(&d.to_string()))
                .unwrap_or_else(|| month.clone());
            x.leaf("cbc:EndDate", &[], &end);
            x.end("cac:InvoicePeriod");
        }
        x.start("cac:Item", &[]);
        x.leaf("cbc:Name", &[], &l.description);
        tax_category(&mut x, "cac:ClassifiedTaxCategory", &vat, false);
        x.end("cac:Item");
        x.start("cac:Price", &[]);
        x.leaf("cbc:PriceAmount", &cur, &price);
        if let Some(b) = base {
            x.leaf("cbc:BaseQuantity", &[("unitCode", unit)], b);
        }
        x.end("cac:Price");
        x.end(kind.line_element);
    }
    x.end(kind.root);
    x.finish()
}

/// An issued (or void, or credited) invoice as a UBL 2.1 Invoice; drafts are refused.
pub fn invoice_ubl(doc: &InvoiceDocument) -> Result<Vec<u8>, UblError> {
    if doc.status == InvoiceStatus::Draft {
        return Err(UblError::unsupported("a draft is not an invoice yet: issue it to get its e-invoice"));
    }
    let due = doc.due_date.as_deref();
    let payment_terms = match due {
        Some(d) => format!("Payable within {} days, by {d}.", doc.partner.payment_terms_days),
        None => format!("Payable within {} days.", doc.partner.payment_terms_days),
    };
    render(
        doc,
        Kind {
            root: "Invoice",
            namespace: NS_INVOICE,
            type_element: "cbc:InvoiceTypeCode",
            type_code: "380",
            line_element: "cac:InvoiceLine",
            quantity_element: "cbc:InvoicedQuantity",
            due_date: due,
            billing_reference: None,
            note: None,
            payment_terms,
        },
    )
}

/// A credit note as a UBL 2.1 CreditNote (type 381) referring to the invoice it corrects.
pub fn credit_note_ubl(cn: &CreditNoteDocument) -> Result<Vec<u8>, UblError> {
    let doc = cn.as_invoice_like();
    render(
        &doc,
        Kind {
            root: "CreditNote",
            namespace: NS_CREDIT_NOTE,
            type_element: "cbc:CreditNoteTypeCode",
            type_code: "381",
            line_element: "cac:CreditNoteLine",
            quantity_element: "cbc:CreditedQuantity",
            due_date: None,
            billing_reference: Some((&cn.invoice_number, &cn.invoice_issue_date)),
            note: Some(format!("Reason: {}", cn.reason)),
            payment_terms: format!("Credited against invoice {}.", cn.invoice_number),
        },
    )
}
