//! The finance page at `/` (being written).

pub fn config(_cfg: &mut actix_web::web::ServiceConfig) {}
