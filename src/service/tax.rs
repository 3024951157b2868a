//! Tax treatment on documents (SPEC 6): the legal note an invoice or credit note freezes from
//! its customer.

use crate::storage::models::Customer;

/// The note a customer's documents carry: none for standard customers.
pub fn note(customer: &Customer) -> Option<String> {
    customer.tax_treatment.note(&customer.exemption_reason)
}
