//! Invoice tests, to come with the invoice routes (`POST /invoices`, `/invoices/run`,
//! `/invoices/{id}/issue`, `/invoices/{id}/void`, `DELETE` a draft):
//! - the SPEC section 2 worked examples end to end over HTTP;
//! - the lifecycle (draft claims entries, claimed entries 409, delete frees, issue numbers
//!   `INV-000001`.., void keeps the number and frees what it claimed);
//! - 12 drafts issued concurrently get 12 contiguous, distinct numbers.
//!
//! Enable with `mod invoices;` in `main.rs`.

#[allow(unused_imports)]
use crate::fixtures::*;
#[allow(unused_imports)]
use crate::harness::*;
