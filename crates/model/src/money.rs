//! Money: positive amounts in integer minor units and ISO-4217-style currency codes.
//!
//! Amounts are checked once, at construction, so the rest of the engine can rely on
//! `0 < amount <= Amount::MAX`. The upper bound is `i64::MAX` so that any single amount
//! fits a signed ledger balance; sums are still computed with checked arithmetic.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A strictly positive amount of money in minor units (分 for CNY, cents for USD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Amount(u64);

impl Amount {
    /// The largest amount accepted: it fits a signed 64-bit ledger balance.
    pub const MAX: u64 = i64::MAX as u64;

    /// Returns the amount if it is within `1..=Amount::MAX`.
    pub fn new(minor: u64) -> Option<Amount> {
        (minor > 0 && minor <= Self::MAX).then_some(Amount(minor))
    }

    /// The amount in minor units.
    pub fn minor(self) -> u64 {
        self.0
    }

    /// The amount as a signed ledger delta; cannot fail because `MAX` fits `i64`.
    pub fn signed(self) -> i64 {
        self.0 as i64
    }
}

impl TryFrom<u64> for Amount {
    type Error = String;
    fn try_from(minor: u64) -> Result<Self, Self::Error> {
        Amount::new(minor).ok_or_else(|| format!("amount must be between 1 and {} minor units", Self::MAX))
    }
}

impl From<Amount> for u64 {
    fn from(amount: Amount) -> u64 {
        amount.0
    }
}

/// A three-letter upper-case currency code such as `CNY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Chinese yuan, the default currency of the shipped product.
    pub const CNY: Currency = Currency(*b"CNY");

    /// Parses a code of exactly three ASCII upper-case letters.
    pub fn parse(code: &str) -> Option<Currency> {
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        bytes.iter().all(u8::is_ascii_uppercase).then_some(Currency(bytes))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // The constructor admits only ASCII upper-case letters, which are valid UTF-8.
        std::str::from_utf8(&self.0).expect("currency codes are ASCII")
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(code: String) -> Result<Self, Self::Error> {
        Currency::parse(&code).ok_or_else(|| format!("currency must be three upper-case letters, got {code:?}"))
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amount_bounds() {
        assert_eq!(Amount::new(0), None);
        assert_eq!(Amount::new(1).map(Amount::minor), Some(1));
        assert_eq!(Amount::new(Amount::MAX).map(Amount::signed), Some(i64::MAX));
        assert_eq!(Amount::new(Amount::MAX + 1), None);
    }

    #[test]
    fn currency_parse() {
        assert_eq!(Currency::parse("CNY"), Some(Currency::CNY));
        for bad in ["cny", "CN", "CNYY", "C1Y", ""] {
            assert_eq!(Currency::parse(bad), None, "{bad}");
        }
    }
}
