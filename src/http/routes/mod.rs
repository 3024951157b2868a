//! Route modules, one per resource; each exposes `config`, composed here under `/api/v1`.

pub mod api_keys;
pub mod audit;
pub mod blocks;
pub mod charges;
pub mod credit_notes;
pub mod customers;
pub mod holiday_calendars;
pub mod invoices;
pub mod partner;
pub mod partner_center;
pub mod plans;
pub mod reports;
pub mod subscriptions;
pub mod tickets;
pub mod time_entries;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn config(cfg: &mut ServiceConfig) {
    customers::config(cfg);
    plans::config(cfg);
    holiday_calendars::config(cfg);
    subscriptions::config(cfg);
    blocks::config(cfg);
    tickets::config(cfg);
    time_entries::config(cfg);
    charges::config(cfg);
    invoices::config(cfg);
    credit_notes::config(cfg);
    reports::config(cfg);
    api_keys::config(cfg);
    partner::config(cfg);
    partner_center::config(cfg);
    audit::config(cfg);
}
