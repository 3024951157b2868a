//! supportbill: support-time billing for Microsoft CSP partners.
//!
//! Architecture, outside in: `cli` (the binary's commands) starts `http` (actix-web routes,
//! authentication, problem+json), whose thin handlers call `service` (one function per use case,
//! one transaction per write), which reads and writes through `storage` (diesel over SQLite or
//! PostgreSQL) and prices with `domain::pricing` (pure: plain data in, invoice lines out).

pub mod bench;
pub mod cli;
pub mod documents;
pub mod domain;
pub mod error;
pub mod http;
pub mod logging;
pub mod service;
pub mod startup;
pub mod storage;
pub mod web;
