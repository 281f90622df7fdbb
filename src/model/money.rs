//! Money: integer minor units of a known currency. Never `f64`.
//!
//! The currency's exponent lives in one table ([`Currency::exponent`]); amounts
//! are parsed from text straight into minor units and only formatted back at the
//! edges (CLI output, PSP wire formats).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Largest amount we accept in major units; anything above is a data error
/// (a misplaced separator), not a sale.
pub const AMOUNT_MAJOR_MAX: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Currency {
    #[serde(rename = "COP")]
    Cop,
    #[serde(rename = "PEN")]
    Pen,
    #[serde(rename = "USD")]
    Usd,
}

impl Currency {
    pub const ALL: [Currency; 3] = [Currency::Cop, Currency::Pen, Currency::Usd];

    /// ISO 4217 exponent. COP has two even though dLocal quotes it without
    /// decimals: we keep ISO inside and convert at the PSP edge.
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Cop => 2,
            Currency::Pen => 2,
            Currency::Usd => 2,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::Cop => "COP",
            Currency::Pen => "PEN",
            Currency::Usd => "USD",
        }
    }

    pub fn parse(text: &str) -> Result<Currency, MoneyError> {
        let trimmed = text.trim();
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| MoneyError::UnknownCurrency(trimmed.to_string()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("unknown currency {0:?} (expected one of COP, PEN, USD)")]
    UnknownCurrency(String),
    #[error("amount is empty")]
    Empty,
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("negative amount {0}")]
    Negative(String),
    #[error("{text} has more decimals than {currency} allows ({exponent})")]
    TooManyDecimals { text: String, currency: Currency, exponent: u32 },
    #[error("amount {0} is implausibly large")]
    TooLarge(String),
}

/// How a file writes its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberFormat {
    pub decimal_separator: char,
    pub thousands_separator: Option<char>,
}

impl NumberFormat {
    pub const PLAIN: NumberFormat = NumberFormat { decimal_separator: '.', thousands_separator: None };
    pub const WITH_THOUSANDS: NumberFormat = NumberFormat { decimal_separator: '.', thousands_separator: Some(',') };
}

/// Parses a decimal text into a plain `Decimal`, honouring the file's separators.
/// A thousands separator is only accepted between groups of three digits.
pub fn parse_decimal(text: &str, format: NumberFormat) -> Result<Decimal, MoneyError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(MoneyError::Empty);
    }
    let mut normalized = String::with_capacity(trimmed.len());
    let (int_part, frac_part) = match trimmed.rfind(format.decimal_separator) {
        Some(pos) => (&trimmed[..pos], Some(&trimmed[pos + format.decimal_separator.len_utf8()..])),
        None => (trimmed, None),
    };
    let (sign, digits) = match int_part.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", int_part.strip_prefix('+').unwrap_or(int_part)),
    };
    normalized.push_str(sign);
    match format.thousands_separator {
        Some(sep) if digits.contains(sep) => {
            let groups: Vec<&str> = digits.split(sep).collect();
            let well_formed = !groups[0].is_empty() && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3);
            if !well_formed {
                return Err(MoneyError::NotANumber(trimmed.to_string()));
            }
            groups.iter().for_each(|g| normalized.push_str(g));
        }
        _ => normalized.push_str(digits),
    }
    if let Some(frac) = frac_part {
        normalized.push('.');
        normalized.push_str(frac);
    }
    let all_digits = normalized.trim_start_matches('-').chars().all(|c| c.is_ascii_digit() || c == '.');
    let has_digit = normalized.chars().any(|c| c.is_ascii_digit());
    if !all_digits || !has_digit || normalized.ends_with('.') || normalized.starts_with('.') {
        return Err(MoneyError::NotANumber(trimmed.to_string()));
    }
    Decimal::from_str(&normalized).map_err(|_| MoneyError::NotANumber(trimmed.to_string()))
}

/// Parses an amount of `currency` into minor units; refuses negatives, more
/// decimals than the currency has, and absurd magnitudes.
pub fn parse_minor(text: &str, currency: Currency, format: NumberFormat) -> Result<i64, MoneyError> {
    let value = parse_decimal(text, format)?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(MoneyError::Negative(text.trim().to_string()));
    }
    let exponent = currency.exponent();
    let normalized = value.normalize();
    if normalized.scale() > exponent {
        return Err(MoneyError::TooManyDecimals { text: text.trim().to_string(), currency, exponent });
    }
    if value > Decimal::from(AMOUNT_MAJOR_MAX) {
        return Err(MoneyError::TooLarge(text.trim().to_string()));
    }
    let minor = value * Decimal::from(10_i64.pow(exponent));
    // Exact: the scale check above guarantees an integer.
    i64::try_from(minor.trunc()).map_err(|_| MoneyError::TooLarge(text.trim().to_string()))
}

/// Formats minor units as a plain decimal in major units ("1250000.00").
pub fn format_minor(minor: i64, currency: Currency) -> String {
    Decimal::new(minor, currency.exponent()).to_string()
}

/// An amount together with its currency, for output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", format_minor(self.minor, self.currency), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_grouped_amounts_into_minor_units() {
        assert_eq!(parse_minor("1250000", Currency::Cop, NumberFormat::PLAIN), Ok(125_000_000));
        assert_eq!(parse_minor(" 89.90 ", Currency::Pen, NumberFormat::PLAIN), Ok(8_990));
        assert_eq!(parse_minor("1,234.50", Currency::Pen, NumberFormat::WITH_THOUSANDS), Ok(123_450));
        assert_eq!(parse_minor("12.5", Currency::Usd, NumberFormat::PLAIN), Ok(1_250));
        let latin = NumberFormat { decimal_separator: ',', thousands_separator: Some('.') };
        assert_eq!(parse_minor("1.250.000,50", Currency::Cop, latin), Ok(125_000_050));
    }

    #[test]
    fn refuses_what_is_not_money() {
        assert_eq!(parse_minor("", Currency::Cop, NumberFormat::PLAIN), Err(MoneyError::Empty));
        assert!(matches!(parse_minor("-5", Currency::Cop, NumberFormat::PLAIN), Err(MoneyError::Negative(_))));
        assert!(matches!(
            parse_minor("12,34,5", Currency::Pen, NumberFormat::WITH_THOUSANDS),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            parse_minor("1.234", Currency::Pen, NumberFormat::PLAIN),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(matches!(parse_minor("abc", Currency::Pen, NumberFormat::PLAIN), Err(MoneyError::NotANumber(_))));
        assert!(matches!(parse_minor("1e5", Currency::Pen, NumberFormat::PLAIN), Err(MoneyError::NotANumber(_))));
        assert!(matches!(parse_minor("NaN", Currency::Pen, NumberFormat::PLAIN), Err(MoneyError::NotANumber(_))));
        assert!(matches!(
            parse_minor("99999999999999999999", Currency::Pen, NumberFormat::PLAIN),
            Err(MoneyError::TooLarge(_))
        ));
        assert_eq!(Currency::parse("eur"), Err(MoneyError::UnknownCurrency("eur".into())));
    }

    #[test]
    fn formats_back_in_major_units() {
        assert_eq!(format_minor(125_000_000, Currency::Cop), "1250000.00");
        assert_eq!(Money { minor: 8_990, currency: Currency::Pen }.to_string(), "89.90 PEN");
    }
}
