//! HTTP integration tests: the real app on 127.0.0.1 (port 0), over SQLite always and over
//! PostgreSQL when `SUPPORTBILL_TEST_PG_URL` is set (a fresh database per test either way).
//!
//!     cargo test --test api
//!     SUPPORTBILL_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --test api
//!
//! Every test is generated twice by `both_backends!`: `<name>::sqlite` and `<name>::postgres`.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod harness;
mod fixtures;

mod audit;
mod auth;
mod authz_matrix;
mod backup;
mod billing_clock;
mod cli;
mod crash;
mod credit_notes;
mod crud;
mod date_bounds;
mod db_outage;
mod decimals;
mod disk_faults;
mod documents;
mod einvoice;
mod file_names;
mod fuzz;
mod holiday_calendars;
mod idempotency;
mod invariants;
mod invoice_numbers;
mod invoice_runs;
mod invoices;
mod multiprocess;
mod multiprocess_load;
mod operations;
mod partner_center;
mod patch;
mod plan_versions;
mod plan_versions_more;
mod prepaid;
mod ratelimit;
mod remote;
mod reports;
mod restore;
mod robustness;
mod scratch_pg;
mod server_process;
mod slow_bodies;
mod stored_names;
mod subscription_dates;
mod tax_treatment;
mod time_entries;
mod traffic;
mod validation;
mod web_sessions;
