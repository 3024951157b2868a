//! Who is looking at the finance page: the caller of a live session and the CSRF token every
//! form on their pages carries.

use crate::service::auth::Caller;

/// A signed-in visitor. Derefs to their [`Caller`], for the services.
#[derive(Clone, Debug)]
pub(crate) struct Visitor {
    pub(crate) caller: Caller,
    pub(crate) csrf_token: String,
}

impl std::ops::Deref for Visitor {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

/// The name of the form field that carries the CSRF token.
pub(crate) const CSRF_FIELD: &str = "csrf";
