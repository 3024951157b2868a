//! The partner's closed vocabularies (products, statuses, severities, escalation channels, ...)
//! with their wire names. Category, billing model and line kind live in `pricing`.

use super::pricing::{BillingModel, Category, LineKind};

/// Display and serde for a vocabulary through its `as_str` and `parse`, so JSON, CSV and the
/// database all carry the one wire name.
macro_rules! wire_name {
    ($name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                $name::parse(&text)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown {} {text:?}", stringify!($name))))
            }
        }
    };
}

// The pricing engine's vocabularies (declared there) are written the same way.
wire_name!(Category);
wire_name!(BillingModel);
wire_name!(LineKind);

/// A closed set of names: `as_str` gives the wire name, `parse` reads it back, `NAMES` lists
/// them for error messages and the OpenAPI document.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            pub const ALL: &'static [Self] = &[$($name::$variant),+];
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
            /// Parses, or explains which names are allowed.
            pub fn parse_field(text: &str) -> Result<Self, String> {
                Self::parse(text).ok_or_else(|| {
                    format!("{text:?} is not one of: {}", Self::NAMES.join(", "))
                })
            }
        }

        wire_name!($name);
    };
}

vocabulary!(
    /// The Microsoft product family of a CSP subscription.
    Product { Azure => "azure", Microsoft365 => "microsoft_365", Dynamics365 => "dynamics_365", Other => "other" }
);
vocabulary!(SubscriptionStatus { Active => "active", Suspended => "suspended", Cancelled => "cancelled" });
vocabulary!(Severity { Critical => "critical", High => "high", Normal => "normal", Low => "low" });
vocabulary!(
    /// Where a ticket was escalated to Microsoft.
    EscalationChannel {
        MicrosoftCommercial => "microsoft_commercial",
        Premier => "premier",
        Advanced => "advanced",
        SignatureCloud => "signature_cloud",
    }
);
vocabulary!(ContactKind { Email => "email", Phone => "phone", Portal => "portal", Chat => "chat" });
vocabulary!(
    /// API key roles: admin (everything), finance (all data, invoices, reports), client
    /// (read-only, one customer's own data).
    Role { Admin => "admin", Finance => "finance", Client => "client" }
);
vocabulary!(
    /// `credited`: a credit note (or credit notes) reversed the whole invoice (SPEC 6).
    InvoiceStatus { Draft => "draft", Issued => "issued", Void => "void", Credited => "credited" }
);
vocabulary!(
    /// How VAT applies to a customer (SPEC 6): `standard` charges its `tax_rate_percent`; the
    /// others charge none and print why.
    TaxTreatment { Standard => "standard", ReverseCharge => "reverse_charge", Exempt => "exempt", OutsideScope => "outside_scope" }
);
vocabulary!(
    /// What a row of the invoice register is: an invoice, or a credit note correcting one.
    DocumentKind { Invoice => "invoice", CreditNote => "credit_note" }
);
vocabulary!(
    /// Whether a credit note reverses its whole invoice or part of it.
    CreditType { Full => "full", Partial => "partial" }
);

/// The legal note reverse-charge documents carry (SPEC 6), word for word.
pub const REVERSE_CHARGE_NOTE: &str = "Reverse charge: VAT to be accounted for by the recipient";
/// The note on invoices for supplies outside the scope of VAT.
pub const OUTSIDE_SCOPE_NOTE: &str = "Outside the scope of VAT";

impl TaxTreatment {
    /// The note a document prints for this treatment: none for standard, the exemption reason
    /// for exempt.
    pub fn note(&self, exemption_reason: &str) -> Option<String> {
        match self {
            TaxTreatment::Standard => None,
            TaxTreatment::ReverseCharge => Some(REVERSE_CHARGE_NOTE.to_string()),
            TaxTreatment::Exempt => Some(exemption_reason.to_string()),
            TaxTreatment::OutsideScope => Some(OUTSIDE_SCOPE_NOTE.to_string()),
        }
    }
}
vocabulary!(Weekday { Mon => "mon", Tue => "tue", Wed => "wed", Thu => "thu", Fri => "fri", Sat => "sat", Sun => "sun" });

impl Weekday {
    /// Index from Monday = 0, as `HoursOfService::days` uses.
    pub fn index(&self) -> usize {
        *self as usize
    }
}
