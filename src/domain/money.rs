//! Money for supportbill: ISO 4217 currencies with their minor units, and the single
//! rounding rule of SPEC P9 (`round_money`), so that every amount an invoice shows is exact,
//! reproducible and has exactly the currency's number of decimal places.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

/// An ISO 4217 currency. Only codes with a defined minor unit exist, so every `Currency` can
/// round and format money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    minor_digits: u32,
}

/// ISO 4217 List One, active codes with a minor unit (funds codes such as BOV, CHE, CLF, COU,
/// MXV, USN, UYI and UYW included, because a partner's customer may legally invoice in them).
/// Codes withdrawn before 2026 (ANG, CUC, HRK, SLL, ZWL, ...) and the codes whose minor unit is
/// "N.A." (XAU, XDR, XSU, XUA, ...) are left out: the latter cannot be rounded to a minor unit.
/// BGN is kept: Bulgaria's changeover to the euro leaves older customers billed in leva.
#[rustfmt::skip]
const ISO_4217: &[(&str, u32)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("AOA", 2), ("ARS", 2), ("AUD", 2),
    ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2), ("BHD", 3),
    ("BIF", 0), ("BMD", 2), ("BND", 2), ("BOB", 2), ("BOV", 2), ("BRL", 2), ("BSD", 2),
    ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2), ("CHE", 2),
    ("CHF", 2), ("CHW", 2), ("CLF", 4), ("CLP", 0), ("CNY", 2), ("COP", 2), ("COU", 2),
    ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2), ("DJF", 0), ("DKK", 2), ("DOP", 2),
    ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2), ("FJD", 2), ("FKP", 2),
    ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0), ("GTQ", 2),
    ("GYD", 2), ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2),
    ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0), ("JMD", 2), ("JOD", 3), ("JPY", 0),
    ("KES", 2), ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2), ("KRW", 0), ("KWD", 3),
    ("KYD", 2), ("KZT", 2), ("LAK", 2), ("LBP", 2), ("LKR", 2), ("LRD", 2), ("LSL", 2),
    ("LYD", 3), ("MAD", 2), ("MDL", 2), ("MGA", 2), ("MKD", 2), ("MMK", 2), ("MNT", 2),
    ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2), ("MWK", 2), ("MXN", 2), ("MXV", 2),
    ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2), ("NOK", 2), ("NPR", 2),
    ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2), ("PKR", 2),
    ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2), ("RWF", 0),
    ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2), ("SHP", 2),
    ("SLE", 2), ("SOS", 2), ("SRD", 2), ("SSP", 2), ("STN", 2), ("SVC", 2), ("SYP", 2),
    ("SZL", 2), ("THB", 2), ("TJS", 2), ("TMT", 2), ("TND", 3), ("TOP", 2), ("TRY", 2),
    ("TTD", 2), ("TWD", 2), ("TZS", 2), ("UAH", 2), ("UGX", 0), ("USD", 2), ("USN", 2),
    ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2), ("VED", 2), ("VES", 2), ("VND", 0),
    ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2), ("XOF", 0), ("XPF", 0),
    ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

impl Currency {
    /// The currency for an uppercase ISO 4217 code; `None` for unknown or lowercase codes, so
    /// that the API rejects them instead of guessing.
    pub fn from_code(code: &str) -> Option<Currency> {
        ISO_4217.iter().find(|(c, _)| *c == code).map(|&(code, minor_digits)| Currency { code, minor_digits })
    }

    /// Every currency this module knows, for validation messages and documentation.
    pub fn all() -> impl Iterator<Item = Currency> {
        ISO_4217.iter().map(|&(code, minor_digits)| Currency { code, minor_digits })
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn minor_digits(&self) -> u32 {
        self.minor_digits
    }

    /// SPEC P9 `round_money`: half away from zero to the minor unit. The result carries exactly
    /// `minor_digits` decimal places (150 becomes 150.00) so that formatting and equality of
    /// printed amounts never depend on how the value was computed. Zero is never negative,
    /// so a credit rounding to nothing prints "0.00", not "-0.00".
    ///
    /// Only a value within a few digits of `Decimal::MAX` cannot carry the full scale; it is
    /// returned with the largest scale it can hold (callers that must be exact check
    /// [`Currency::has_exact_scale`]).
    pub fn round(&self, amount: Decimal) -> Decimal {
        let mut rounded = amount.round_dp_with_strategy(self.minor_digits, RoundingStrategy::MidpointAwayFromZero);
        rounded.rescale(self.minor_digits);
        if rounded.is_zero() {
            rounded.set_sign_positive(true);
        }
        rounded
    }

    /// The amount rounded by [`Currency::round`] and written with exactly the minor digits:
    /// "150.00" (EUR), "1500" (JPY), "12.345" (KWD).
    pub fn format(&self, amount: Decimal) -> String {
        self.round(amount).to_string()
    }

    /// True when `amount` needs no more decimal places than the currency has (trailing zeros
    /// do not count: "10.000" EUR fits, "10.005" EUR does not). Input amounts that do not fit
    /// are rejected rather than silently rounded.
    pub fn fits(&self, amount: Decimal) -> bool {
        amount.normalize().scale() <= self.minor_digits
    }

    /// True when `amount` is written with exactly the currency's minor digits, as every amount
    /// produced by [`Currency::round`] is (except beyond the range `Decimal` can scale).
    pub fn has_exact_scale(&self, amount: Decimal) -> bool {
        amount.scale() == self.minor_digits
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// On the wire and in documents a currency is its code, as it always was.
impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
        Currency::from_code(&code).ok_or_else(|| serde::de::Error::custom(format!("unknown currency {code:?}")))
    }
}
