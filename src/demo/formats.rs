//! How each PSP's and shop's files write times and amounts, and the CSV
//! writers the demo fills.

use super::*;

pub(super) fn writer(delimiter: u8) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::with_capacity(1 << 20))
}

pub(super) fn dlocal_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

pub(super) fn lima_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::America::Lima).format("%d/%m/%Y %H:%M:%S").to_string()
}

/// Major-unit text as dLocal writes it: COP without decimals.
pub(super) fn dlocal_amount(minor: i64, currency: Currency) -> String {
    match currency {
        Currency::Cop if minor % 100 == 0 => (minor / 100).to_string(),
        Currency::Cop | Currency::Pen | Currency::Usd => format_minor(minor, currency),
    }
}

/// `1,234.50`, as PagoEfectivo exports write amounts.
pub(super) fn grouped_amount(minor: i64, currency: Currency) -> String {
    let plain = format_minor(minor, currency);
    let (int, frac) = plain.split_once('.').unwrap_or((&plain, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped}.{frac}")
}

pub(super) fn fx_rate(currency: Currency) -> Decimal {
    match currency {
        Currency::Cop => Decimal::new(41_255, 1),
        Currency::Pen => Decimal::new(3_745, 3),
        Currency::Usd => Decimal::ONE,
    }
}

pub(super) fn take(w: csv::Writer<Vec<u8>>) -> Vec<u8> {
    w.into_inner().unwrap_or_default()
}
