//! HTTP integration tests: the real app on 127.0.0.1 (port 0), over SQLite always and over
//! PostgreSQL when `SUPPORTBILL_TEST_PG_URL` is set (a fresh database per test either way).
//!
//!     cargo test --test api
//!     SUPPORTBILL_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --test api
//!
//! Every test is generated twice by `both_backends!`: `<name>::sqlite` and `<name>::postgres`.

#[macro_use]
mod harness;
mod fixtures;

mod auth;
mod cli;
mod crud;
mod decimals;
mod documents;
mod time_entries;
mod validation;
mod robustness;
mod invoices;
mod multiprocess;
mod reports;
mod tax_treatment;
mod credit_notes;
mod einvoice;
mod partner_center;
mod idempotency;
mod ratelimit;
mod audit;
mod operations;
mod authz_matrix;
mod fuzz;
mod backup;
mod crash;
mod billing_clock;
mod invariants;
