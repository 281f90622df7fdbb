//! The KYC check before a cash withdrawal: whoever collects the cash must be
//! the buyer of the order.
//!
//! What "matches" means (decided here, tested in tests/refunds_kyc.rs):
//! - **Name**: the same words, in any order, ignoring letter case, accents
//!   (`Núñez` = `NUNEZ`, `ñ` = `n`), punctuation (`Peña, María` = `María Peña`)
//!   and extra spaces. A missing, extra or different word is a mismatch
//!   (`José Núñez` ≠ `José Núñez Pérez`): the cashier compares the ID card,
//!   so a partial name is not good enough.
//! - **Document**: the order carries only a number, so its type is the
//!   market's national id (CC in Colombia, DNI in Peru); the given type must be
//!   that one, and the number must equal the order's ignoring spaces, dots and
//!   dashes (`1.020.304.050` = `1020304050`).
//! - **Phone**: a mobile in the market's international format, where the
//!   withdrawal code is sent: `+57` and 10 digits starting with 3 (Colombia),
//!   `+51` and 9 digits starting with 9 (Peru). Spaces and dashes are allowed.

use crate::market::Country;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Longest name, document or phone we accept, in characters.
pub const KYC_FIELD_CHARS_MAX: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum DocumentType {
    /// Cédula de ciudadanía (Colombia).
    #[serde(rename = "CC")]
    Cc,
    /// Cédula de extranjería.
    #[serde(rename = "CE")]
    Ce,
    /// Documento nacional de identidad (Peru).
    #[serde(rename = "DNI")]
    Dni,
    #[serde(rename = "PP")]
    Passport,
}

impl DocumentType {
    pub const ALL: [DocumentType; 4] = [DocumentType::Cc, DocumentType::Ce, DocumentType::Dni, DocumentType::Passport];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::Cc => "CC",
            DocumentType::Ce => "CE",
            DocumentType::Dni => "DNI",
            DocumentType::Passport => "PP",
        }
    }

    pub fn parse(text: &str) -> Option<DocumentType> {
        DocumentType::ALL.into_iter().find(|d| d.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The type an order's buyer document is taken to be.
    pub fn national(country: Country) -> DocumentType {
        match country {
            Country::Colombia => DocumentType::Cc,
            Country::Peru => DocumentType::Dni,
        }
    }
}

/// Who collects the cash, as the requester typed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Payee"))]
pub struct PayeeInput {
    pub name: String,
    pub document_type: String,
    pub document_number: String,
    pub phone: String,
}

/// A payee that passed the check (normalised document and phone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerifiedPayee {
    pub name: String,
    pub document_type: DocumentType,
    pub document_number: String,
    /// `+573001234567`.
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KycError {
    #[error("cash withdrawal needs the payee's {0} (--payee-name, --doc-type, --doc-number, --phone)")]
    Missing(&'static str),
    #[error("{0} is longer than {KYC_FIELD_CHARS_MAX} characters")]
    TooLong(&'static str),
    #[error("unknown document type {0:?} (expected CC, CE, DNI or PP)")]
    UnknownDocumentType(String),
    #[error("document type {given} does not match the order's ({expected}, the national id of {country})")]
    DocumentTypeMismatch { given: &'static str, expected: &'static str, country: &'static str },
    #[error("document number {given:?} does not match the order's buyer document")]
    DocumentMismatch { given: String },
    #[error("payee name {given:?} does not match the order's buyer name {expected:?}")]
    NameMismatch { given: String, expected: String },
    #[error("phone {given:?} is not a {country} mobile in international format ({format})")]
    PhoneFormat { given: String, country: &'static str, format: &'static str },
    #[error("the payment has no order on record: the payee cannot be checked (import the shop's orders first)")]
    NoOrder,
}

impl KycError {
    pub fn code(&self) -> &'static str {
        match self {
            KycError::Missing(_) | KycError::TooLong(_) | KycError::UnknownDocumentType(_) => "kyc.invalid",
            KycError::DocumentTypeMismatch { .. } | KycError::DocumentMismatch { .. } => "kyc.document_mismatch",
            KycError::NameMismatch { .. } => "kyc.name_mismatch",
            KycError::PhoneFormat { .. } => "kyc.phone_format",
            KycError::NoOrder => "kyc.no_order",
        }
    }
}

/// The words of a name, folded: lower case, no accents, no punctuation, sorted.
pub fn name_words(name: &str) -> Vec<String> {
    let folded: String = name
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<String> = folded.split_whitespace().map(str::to_string).collect();
    words.sort();
    words
}

pub fn names_match(a: &str, b: &str) -> bool {
    let (a, b) = (name_words(a), name_words(b));
    !a.is_empty() && a == b
}

/// A document number without spaces, dots and dashes, upper case.
pub fn document_key(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).flat_map(char::to_uppercase).collect()
}

/// The phone as `+CC` and digits, if it is a mobile of `country`.
pub fn market_phone(text: &str, country: Country) -> Option<String> {
    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.')).collect();
    let (prefix, digits, first) = match country {
        Country::Colombia => ("+57", 10, '3'),
        Country::Peru => ("+51", 9, '9'),
    };
    let rest = compact.strip_prefix(prefix)?;
    let ok = rest.len() == digits && rest.chars().all(|c| c.is_ascii_digit()) && rest.starts_with(first);
    ok.then(|| format!("{prefix}{rest}"))
}

fn country_name(country: Country) -> &'static str {
    match country {
        Country::Colombia => "Colombia",
        Country::Peru => "Peru",
    }
}

/// Whether whoever gets a refund's money is the order's buyer, checked
/// against the order as it stands when the refund is shown (an approver sees
/// it again even though a cash payee already passed `verify` at request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PayeeCheck {
    pub name_matches: bool,
    pub document_matches: bool,
}

/// Compares a payee's name and document with the buyer's, the way `verify` does.
pub fn payee_check(name: &str, document: &str, buyer_name: &str, buyer_document: &str) -> PayeeCheck {
    let number = document_key(document);
    PayeeCheck {
        name_matches: names_match(name, buyer_name),
        document_matches: !number.is_empty() && number == document_key(buyer_document),
    }
}

/// Checks the payee against the order's buyer.
pub fn verify(
    payee: &PayeeInput,
    country: Country,
    buyer_name: &str,
    buyer_document: &str,
) -> Result<VerifiedPayee, KycError> {
    let fields = [
        ("payee name", &payee.name),
        ("document type", &payee.document_type),
        ("document number", &payee.document_number),
        ("phone", &payee.phone),
    ];
    for (what, value) in fields {
        if value.trim().is_empty() {
            return Err(KycError::Missing(what));
        }
        if value.chars().count() > KYC_FIELD_CHARS_MAX {
            return Err(KycError::TooLong(what));
        }
    }
    let document_type = DocumentType::parse(&payee.document_type)
        .ok_or_else(|| KycError::UnknownDocumentType(payee.document_type.trim().to_string()))?;
    let expected = DocumentType::national(country);
    if document_type != expected {
        return Err(KycError::DocumentTypeMismatch {
            given: document_type.as_str(),
            expected: expected.as_str(),
            country: country_name(country),
        });
    }
    let number = document_key(&payee.document_number);
    if number.is_empty() || number != document_key(buyer_document) {
        return Err(KycError::DocumentMismatch { given: payee.document_number.trim().to_string() });
    }
    if !names_match(&payee.name, buyer_name) {
        return Err(KycError::NameMismatch { given: payee.name.trim().to_string(), expected: buyer_name.to_string() });
    }
    let phone = market_phone(&payee.phone, country).ok_or_else(|| KycError::PhoneFormat {
        given: payee.phone.trim().to_string(),
        country: country_name(country),
        format: match country {
            Country::Colombia => "+57 3XX XXX XXXX",
            Country::Peru => "+51 9XX XXX XXX",
        },
    })?;
    Ok(VerifiedPayee { name: payee.name.trim().to_string(), document_type, document_number: number, phone })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_whatever_the_case_accents_punctuation_and_order() {
        assert!(names_match("JOSE NUNEZ", "José Núñez"));
        assert!(names_match("maría peña", "Peña, María"));
        assert!(names_match("  Ana   Lucía Núñez ", "ana lucia nunez"));
        assert!(!names_match("José Núñez", "José Núñez Pérez"));
        assert!(!names_match("Jose Nunes", "José Núñez"));
        assert!(!names_match("", ""));
    }

    #[test]
    fn payee_check_compares_name_and_document_separately() {
        let both = payee_check("JOSE NUNEZ", "1.020.304.050", "José Núñez", "1020304050");
        assert_eq!(both, PayeeCheck { name_matches: true, document_matches: true });
        let other = payee_check("Ana Gómez", "1020304050", "José Núñez", "1020304050");
        assert_eq!(other, PayeeCheck { name_matches: false, document_matches: true });
        let blank = payee_check("José Núñez", " ", "José Núñez", "");
        assert_eq!(blank, PayeeCheck { name_matches: true, document_matches: false });
    }

    #[test]
    fn phones_follow_the_market() {
        assert_eq!(market_phone("+57 300 123 4567", Country::Colombia).as_deref(), Some("+573001234567"));
        assert_eq!(market_phone("300 123 4567", Country::Colombia), None);
        assert_eq!(market_phone("+51 300 123 4567", Country::Colombia), None);
        assert_eq!(market_phone("+57 100 123 4567", Country::Colombia), None);
        assert_eq!(market_phone("+51 987 654 321", Country::Peru).as_deref(), Some("+51987654321"));
        assert_eq!(market_phone("+51 987 654 32", Country::Peru), None);
    }
}
