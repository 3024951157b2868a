//! Tax treatment on documents (SPEC 6): the treatment and legal note an invoice or credit note
//! freezes from its customer, with the defaults that keep older snapshots readable.

use crate::domain::vocab::TaxTreatment;
use crate::storage::models::Customer;

/// Snapshots frozen before tax treatments existed were all standard.
pub fn standard() -> String {
    TaxTreatment::Standard.as_str().to_string()
}

/// The note a customer's documents carry: none for standard customers.
pub fn note(customer: &Customer) -> Option<String> {
    TaxTreatment::parse(&customer.tax_treatment).and_then(|t| t.note(&customer.exemption_reason))
}
