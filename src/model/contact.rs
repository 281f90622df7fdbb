//! A buyer's contact details as the ledger keeps and searches them.

/// The national part of a phone number in digits: `573001234567` → `3001234567`.
pub fn national_number(digits: &str) -> &str {
    match digits {
        d if d.len() == 12 && d.starts_with("57") => &d[2..],
        d if d.len() == 11 && d.starts_with("51") => &d[2..],
        d => d,
    }
}
