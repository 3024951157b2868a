//! Pricing engine tests: the SPEC worked examples, edge cases and property tests.
//! The engine is pure, so these run without a database or HTTP.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod builders;
mod edge_cases;
mod edge_cases_billing;
mod over_time;
mod properties;
mod properties_over_time;
mod worked_examples;
