//! The domain: supportbill's vocabulary (customer, plan, subscription, ticket, time entry,
//! charge, invoice) as plain types, input validation, and the pure pricing engine.
//! Nothing here touches the database or HTTP.

pub mod coverage;
pub mod money;
pub mod pricing;
pub mod terms;
pub mod time;
pub mod validation;
pub mod vocab;
