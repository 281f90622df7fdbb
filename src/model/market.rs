//! Markets and time. Instants are `DateTime<Utc>` inside; business dates are
//! the market's calendar date (America/Bogota, America/Lima), computed here.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Country {
    #[serde(rename = "CO")]
    Colombia,
    #[serde(rename = "PE")]
    Peru,
}

impl Country {
    pub fn code(self) -> &'static str {
        match self {
            Country::Colombia => "CO",
            Country::Peru => "PE",
        }
    }

    pub fn parse(text: &str) -> Result<Country, TimeError> {
        match text.trim().to_ascii_uppercase().as_str() {
            "CO" | "COL" => Ok(Country::Colombia),
            "PE" | "PER" => Ok(Country::Peru),
            other => Err(TimeError::UnknownCountry(other.to_string())),
        }
    }

    /// The market time zone: business dates and offset-less timestamps use it.
    pub fn zone(self) -> Tz {
        match self {
            Country::Colombia => chrono_tz::America::Bogota,
            Country::Peru => chrono_tz::America::Lima,
        }
    }

    /// The city shown next to market times ("Bogotá 2026-03-04 22:30").
    pub fn city(self) -> &'static str {
        match self {
            Country::Colombia => "Bogotá",
            Country::Peru => "Lima",
        }
    }

    pub fn business_date(self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.zone()).date_naive()
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimeError {
    #[error("unknown country {0:?} (expected CO or PE)")]
    UnknownCountry(String),
    #[error("{0:?} is not a date/time in a known layout")]
    Unparseable(String),
    #[error("{text:?} does not match the date format {format:?}")]
    FormatMismatch { text: String, format: String },
    #[error("{0:?} does not exist in the market time zone")]
    Nonexistent(String),
    #[error("{0:?} is outside the supported years 2000-2100")]
    OutOfRange(String),
}

const YEAR_MIN: i32 = 2000;
const YEAR_MAX: i32 = 2100;

/// How a column writes its timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampFormat {
    /// ISO-8601 family: `2026-03-01T19:05:00.000+0000`, `...-05:00`, `...Z`,
    /// with a space instead of `T`, or a bare date; the offset is optional.
    Iso,
    /// A chrono strftime pattern (`%d/%m/%Y %H:%M:%S`); a pattern without time
    /// fields is read as a date at local midnight.
    Pattern(String),
}

/// Reads a timestamp; text without an offset is read in `zone`.
pub fn parse_timestamp(text: &str, format: &TimestampFormat, zone: Tz) -> Result<DateTime<Utc>, TimeError> {
    let text = text.trim();
    let parsed = match format {
        TimestampFormat::Iso => parse_iso(text, zone)?,
        TimestampFormat::Pattern(pattern) => parse_pattern(text, pattern, zone)?,
    };
    let year = chrono::Datelike::year(&parsed);
    if !(YEAR_MIN..=YEAR_MAX).contains(&year) {
        return Err(TimeError::OutOfRange(text.to_string()));
    }
    Ok(parsed)
}

/// Reads a calendar date written with `format` (ISO or a strftime pattern).
pub fn parse_date(text: &str, format: &TimestampFormat) -> Result<NaiveDate, TimeError> {
    let text = text.trim();
    let date = match format {
        TimestampFormat::Iso => {
            let head = text.get(..10).ok_or_else(|| TimeError::Unparseable(text.to_string()))?;
            NaiveDate::parse_from_str(head, "%Y-%m-%d").map_err(|_| TimeError::Unparseable(text.to_string()))?
        }
        TimestampFormat::Pattern(pattern) => match day_first(text, pattern) {
            Some(read) => read.date(),
            None => NaiveDate::parse_from_str(text, pattern)
                .or_else(|_| NaiveDateTime::parse_from_str(text, pattern).map(|dt| dt.date()))
                .map_err(|_| TimeError::FormatMismatch { text: text.to_string(), format: pattern.clone() })?,
        },
    };
    if !(YEAR_MIN..=YEAR_MAX).contains(&chrono::Datelike::year(&date)) {
        return Err(TimeError::OutOfRange(text.to_string()));
    }
    Ok(date)
}

fn localize(naive: NaiveDateTime, zone: Tz, original: &str) -> Result<DateTime<Utc>, TimeError> {
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        // A repeated hour (a DST fall-back in old data): the earlier reading.
        LocalResult::Ambiguous(earlier, _) => Ok(earlier.with_timezone(&Utc)),
        LocalResult::None => Err(TimeError::Nonexistent(original.to_string())),
    }
}

fn parse_pattern(text: &str, pattern: &str, zone: Tz) -> Result<DateTime<Utc>, TimeError> {
    let mismatch = || TimeError::FormatMismatch { text: text.to_string(), format: pattern.to_string() };
    if pattern.contains("%z") || pattern.contains("%:z") {
        return DateTime::parse_from_str(text, pattern).map(|t| t.with_timezone(&Utc)).map_err(|_| mismatch());
    }
    if let Some(naive) = day_first(text, pattern) {
        return localize(naive, zone, text);
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(text, pattern) {
        return localize(naive, zone, text);
    }
    let date = NaiveDate::parse_from_str(text, pattern).map_err(|_| mismatch())?;
    localize(date.and_time(NaiveTime::MIN), zone, text)
}

/// The day-first layouts PagoEfectivo's reports use (its built-in profiles).
pub const DAY_FIRST_TIMESTAMP: &str = "%d/%m/%Y %H:%M:%S";
pub const DAY_FIRST_DATE: &str = "%d/%m/%Y";

/// `text` in one of the day-first layouts at its exact width, read without
/// chrono's format interpreter (hundreds of thousands of rows a report, each
/// reading the pattern anew). `None` for anything else, valid or not: chrono
/// then reads it, and decides.
fn day_first(text: &str, pattern: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let date = |b: &[u8]| -> Option<NaiveDate> {
        if b.len() < 10 || b[2] != b'/' || b[5] != b'/' {
            return None;
        }
        NaiveDate::from_ymd_opt(digits(&b[6..10])? as i32, digits(&b[3..5])?, digits(&b[0..2])?)
    };
    match (pattern, b.len()) {
        (DAY_FIRST_DATE, 10) => Some(date(b)?.and_time(NaiveTime::MIN)),
        (DAY_FIRST_TIMESTAMP, 19) if b[10] == b' ' && b[13] == b':' && b[16] == b':' => {
            let time = NaiveTime::from_hms_opt(digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?)?;
            Some(date(b)?.and_time(time))
        }
        _ => None,
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.iter().fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0')))
}

/// ISO-8601 reader with a fast path for the fixed-width layouts PSP reports use
/// (millions of rows: chrono's format interpreter would dominate the import).
fn parse_iso(text: &str, zone: Tz) -> Result<DateTime<Utc>, TimeError> {
    let bad = || TimeError::Unparseable(text.to_string());
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let year = digits(&b[0..4]).ok_or_else(bad)? as i32;
    let month = digits(&b[5..7]).ok_or_else(bad)?;
    let day = digits(&b[8..10]).ok_or_else(bad)?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(bad)?;
    if b.len() == 10 {
        return localize(date.and_time(NaiveTime::MIN), zone, text);
    }
    if (b[10] != b'T' && b[10] != b' ') || b.len() < 16 || b[13] != b':' {
        return Err(bad());
    }
    let hour = digits(&b[11..13]).ok_or_else(bad)?;
    let minute = digits(&b[14..16]).ok_or_else(bad)?;
    let mut pos = 16;
    let mut second = 0;
    let mut nanos = 0;
    if b.len() >= 19 && b[16] == b':' {
        second = digits(&b[17..19]).ok_or_else(bad)?;
        pos = 19;
        if b.len() > pos && (b[pos] == b'.' || b[pos] == b',') {
            let start = pos + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start || end - start > 9 {
                return Err(bad());
            }
            let frac = digits(&b[start..end]).ok_or_else(bad)?;
            nanos = frac * 10u32.pow(9 - (end - start) as u32);
            pos = end;
        }
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos).ok_or_else(bad)?;
    let naive = date.and_time(time);
    let rest = &b[pos..];
    let offset_seconds: i32 = match rest {
        [] => return localize(naive, zone, text),
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (hh, mm) = match tail {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (digits(&[*h1, *h2]).ok_or_else(bad)?, digits(&[*m1, *m2]).ok_or_else(bad)?)
                }
                [h1, h2] => (digits(&[*h1, *h2]).ok_or_else(bad)?, 0),
                _ => return Err(bad()),
            };
            if hh > 14 || mm > 59 {
                return Err(bad());
            }
            let magnitude = (hh * 3600 + mm * 60) as i32;
            if *sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return Err(bad()),
    };
    let utc_naive = naive - chrono::Duration::seconds(i64::from(offset_seconds));
    Ok(Utc.from_utc_datetime(&utc_naive))
}

/// Shows an instant in a market's time: `2026-03-04 22:30`.
pub fn format_market(instant: DateTime<Utc>, country: Country) -> String {
    instant.with_timezone(&country.zone()).format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn reads_the_iso_shapes_psps_write() {
        let bogota = Country::Colombia.zone();
        let iso = TimestampFormat::Iso;
        assert_eq!(parse_timestamp("2026-03-01T19:05:00.000+0000", &iso, bogota), Ok(utc("2026-03-01T19:05:00Z")));
        assert_eq!(parse_timestamp("2026-03-01T14:05:00-05:00", &iso, bogota), Ok(utc("2026-03-01T19:05:00Z")));
        assert_eq!(parse_timestamp("2026-03-01 19:05:00Z", &iso, bogota), Ok(utc("2026-03-01T19:05:00Z")));
        // No offset: read in the market zone (UTC-5).
        assert_eq!(parse_timestamp("2026-03-01T14:05:00", &iso, bogota), Ok(utc("2026-03-01T19:05:00Z")));
        assert_eq!(parse_timestamp("2026-03-01", &iso, bogota), Ok(utc("2026-03-01T05:00:00Z")));
        assert!(parse_timestamp("2026-02-30T10:00:00Z", &iso, bogota).is_err());
        assert!(parse_timestamp("2026-03-01T25:00:00Z", &iso, bogota).is_err());
        assert!(parse_timestamp("01/03/2026", &iso, bogota).is_err());
        assert!(parse_timestamp("1900-03-01T10:00:00Z", &iso, bogota).is_err());
    }

    #[test]
    fn reads_lima_day_first_pattern_without_offset() {
        let pattern = TimestampFormat::Pattern("%d/%m/%Y %H:%M:%S".into());
        let lima = Country::Peru.zone();
        assert_eq!(parse_timestamp("04/03/2026 22:30:00", &pattern, lima), Ok(utc("2026-03-05T03:30:00Z")));
        assert!(matches!(
            parse_timestamp("2026-03-04 22:30:00", &pattern, lima),
            Err(TimeError::FormatMismatch { .. })
        ));
        assert_eq!(
            parse_date("05/03/2026", &TimestampFormat::Pattern("%d/%m/%Y".into())),
            Ok(NaiveDate::from_ymd_opt(2026, 3, 5).unwrap())
        );
    }

    /// The day-first layouts are read without chrono's interpreter; each text
    /// must come out as chrono reads it, including every refusal.
    #[test]
    fn day_first_layouts_read_as_chrono_reads_them() {
        let lima = Country::Peru.zone();
        let by_chrono = |text: &str, pattern: &str| -> Result<DateTime<Utc>, TimeError> {
            let mismatch = || TimeError::FormatMismatch { text: text.to_string(), format: pattern.to_string() };
            let naive = NaiveDateTime::parse_from_str(text, pattern)
                .or_else(|_| NaiveDate::parse_from_str(text, pattern).map(|d| d.and_time(NaiveTime::MIN)))
                .map_err(|_| mismatch())?;
            let read = localize(naive, lima, text)?;
            match chrono::Datelike::year(&read) {
                YEAR_MIN..=YEAR_MAX => Ok(read),
                _ => Err(TimeError::OutOfRange(text.to_string())),
            }
        };
        let timestamps = [
            "04/03/2026 22:30:00",
            "31/12/2026 23:59:59",
            "29/02/2028 00:00:00",
            "29/02/2026 10:00:00",
            "31/04/2026 10:00:00",
            "00/03/2026 10:00:00",
            "04/13/2026 10:00:00",
            "04/03/2026 24:00:00",
            "04/03/2026 22:60:00",
            "04/03/2026 22:30:60",
            "4/3/2026 22:30:00",
            "04/03/2026 22:30",
            "04-03-2026 22:30:00",
            "04/03/2026T22:30:00",
            "04/03/1999 22:30:00",
            "04/03/2101 22:30:00",
            "+4/03/2026 22:30:00",
            "04/03/2026 22:30:0x",
            "０4/03/2026 22:30:00",
            "",
        ];
        let timestamp = TimestampFormat::Pattern(DAY_FIRST_TIMESTAMP.into());
        let mut read_fast = 0;
        for text in timestamps {
            read_fast += usize::from(day_first(text, DAY_FIRST_TIMESTAMP).is_some());
            assert_eq!(parse_timestamp(text, &timestamp, lima), by_chrono(text, DAY_FIRST_TIMESTAMP), "{text:?}");
        }
        assert_eq!(read_fast, 5, "the valid texts at the layout's exact width take the fast path");
        let dates = ["05/03/2026", "29/02/2026", "31/06/2026", "5/3/2026", "05/03/26", "05.03.2026", "05/03/2026 "];
        let date = TimestampFormat::Pattern(DAY_FIRST_DATE.into());
        for text in dates {
            let trimmed = text.trim();
            let chrono_date = NaiveDate::parse_from_str(trimmed, DAY_FIRST_DATE)
                .map_err(|_| TimeError::FormatMismatch { text: trimmed.to_string(), format: DAY_FIRST_DATE.into() })
                .and_then(|d| match chrono::Datelike::year(&d) {
                    YEAR_MIN..=YEAR_MAX => Ok(d),
                    _ => Err(TimeError::OutOfRange(trimmed.to_string())),
                });
            assert_eq!(parse_date(text, &date), chrono_date, "{text:?}");
        }
    }

    #[test]
    fn business_date_is_the_market_date_not_the_utc_date() {
        // 03:30 UTC on the 5th is 22:30 on the 4th in Bogotá, and 11:30 on the 5th in Shenzhen.
        let paid = utc("2026-03-05T03:30:00Z");
        assert_eq!(Country::Colombia.business_date(paid), NaiveDate::from_ymd_opt(2026, 3, 4).unwrap());
        assert_eq!(format_market(paid, Country::Peru), "2026-03-04 22:30");
    }
}
