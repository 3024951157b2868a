//! Route modules, one per resource; each exposes `config`, composed here under `/api/v1`.

pub mod customers;
pub mod plans;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn config(cfg: &mut ServiceConfig) {
    customers::config(cfg);
    plans::config(cfg);
}
