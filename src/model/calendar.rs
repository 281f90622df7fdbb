//! Business days per market: Monday to Friday, except the national public
//! holidays listed in `assets/holidays/{co,pe}.csv` (embedded at build time;
//! see the README there for the sources and how to add a year).

use super::market::Country;
use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// The years the holiday files cover; outside them only weekends are days off.
pub const CALENDAR_YEARS: std::ops::RangeInclusive<i32> = 2024..=2028;
/// Longest span one count walks: ten years of days.
const SPAN_DAYS_MAX: i64 = 3_660;

const CO_HOLIDAYS: &str = include_str!("../../assets/holidays/co.csv");
const PE_HOLIDAYS: &str = include_str!("../../assets/holidays/pe.csv");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("holiday file line {line}: {text:?} is not YYYY-MM-DD,name")]
    BadLine { line: usize, text: String },
}

/// Reads a holiday file: `YYYY-MM-DD,name` lines, `#` comments, blank lines.
pub fn parse_holidays(text: &str) -> Result<BTreeSet<NaiveDate>, CalendarError> {
    let mut out = BTreeSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || CalendarError::BadLine { line: i + 1, text: raw.to_string() };
        let (date, name) = line.split_once(',').ok_or_else(bad)?;
        if name.trim().is_empty() {
            return Err(bad());
        }
        out.insert(NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| bad())?);
    }
    Ok(out)
}

fn holidays(market: Country) -> &'static BTreeSet<NaiveDate> {
    static CO: OnceLock<BTreeSet<NaiveDate>> = OnceLock::new();
    static PE: OnceLock<BTreeSet<NaiveDate>> = OnceLock::new();
    // The files are part of the build and a test parses both: an error here
    // cannot ship, and an empty set would still count weekends.
    match market {
        Country::Colombia => CO.get_or_init(|| parse_holidays(CO_HOLIDAYS).unwrap_or_default()),
        Country::Peru => PE.get_or_init(|| parse_holidays(PE_HOLIDAYS).unwrap_or_default()),
    }
}

/// Whether the holiday files know this date's year.
pub fn covers(date: NaiveDate) -> bool {
    CALENDAR_YEARS.contains(&date.year())
}

pub fn is_holiday(market: Country, date: NaiveDate) -> bool {
    holidays(market).contains(&date)
}

pub fn is_business_day(market: Country, date: NaiveDate) -> bool {
    let weekend = match date.weekday() {
        Weekday::Sat | Weekday::Sun => true,
        Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu | Weekday::Fri => false,
    };
    !weekend && !is_holiday(market, date)
}

/// The `n`th business day after `date` (`date` itself for 0): a payment on
/// `date` under `T+n` settles by this day.
pub fn add_business_days(market: Country, date: NaiveDate, n: u32) -> NaiveDate {
    let mut day = date;
    let mut left = n;
    let mut walked = 0;
    while left > 0 && walked < SPAN_DAYS_MAX {
        let Some(next) = day.succ_opt() else { return day };
        day = next;
        walked += 1;
        if is_business_day(market, day) {
            left -= 1;
        }
    }
    day
}

/// Business days in `(a, b]`: how many business days have passed on `b`
/// since `a`. Negative when `b` is before `a`.
pub fn business_days_between(market: Country, a: NaiveDate, b: NaiveDate) -> i64 {
    if b < a {
        return -business_days_between(market, b, a);
    }
    let span = (b - a).num_days().min(SPAN_DAYS_MAX);
    (1..=span)
        .filter_map(|i| a.checked_add_days(chrono::Days::new(i as u64)))
        .filter(|d| is_business_day(market, *d))
        .count() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_files_parse_and_cover_every_year() {
        let co = parse_holidays(CO_HOLIDAYS).unwrap();
        let pe = parse_holidays(PE_HOLIDAYS).unwrap();
        // Colombia: 18 holidays a year, 17 days in 2025 (two share 30 June). Peru: 16 a year.
        let per_year = |set: &BTreeSet<NaiveDate>, y: i32| set.iter().filter(|d| d.year() == y).count();
        assert_eq!(CALENDAR_YEARS.map(|y| per_year(&co, y)).collect::<Vec<_>>(), [18, 17, 18, 18, 18]);
        assert_eq!(CALENDAR_YEARS.map(|y| per_year(&pe, y)).collect::<Vec<_>>(), [16, 16, 16, 16, 16]);
        assert_eq!(co.len(), 89);
        assert_eq!(pe.len(), 80);
    }

    #[test]
    fn a_bad_line_is_named() {
        assert_eq!(
            parse_holidays("# c\n2025-01-01,Año Nuevo\n2025-13-01,x\n"),
            Err(CalendarError::BadLine { line: 3, text: "2025-13-01,x".into() })
        );
        assert!(parse_holidays("2025-01-01,").is_err());
        assert!(parse_holidays("2025-01-01").is_err());
    }

    /// Dates from the calendars the governments publish (Ministerio del Trabajo,
    /// gob.pe), a few per year, including every Easter-based one.
    #[test]
    fn published_dates_per_year() {
        let co = [
            // 2024: Easter 31 Mar.
            "2024-01-08",
            "2024-03-25",
            "2024-03-28",
            "2024-03-29",
            "2024-05-13",
            "2024-06-03",
            "2024-06-10",
            "2024-07-01",
            "2024-08-19",
            "2024-10-14",
            "2024-11-04",
            "2024-11-11",
            // 2025: Easter 20 Apr.
            "2025-01-06",
            "2025-03-24",
            "2025-04-17",
            "2025-04-18",
            "2025-06-02",
            "2025-06-23",
            "2025-06-30",
            "2025-08-18",
            "2025-10-13",
            "2025-11-03",
            "2025-11-17",
            // 2026: Easter 5 Apr.
            "2026-01-12",
            "2026-03-23",
            "2026-04-02",
            "2026-04-03",
            "2026-05-18",
            "2026-06-08",
            "2026-06-15",
            "2026-06-29",
            "2026-08-17",
            "2026-10-12",
            "2026-11-02",
            "2026-11-16",
            // 2027: Easter 28 Mar.
            "2027-01-11",
            "2027-03-22",
            "2027-03-25",
            "2027-03-26",
            "2027-05-10",
            "2027-05-31",
            "2027-06-07",
            "2027-07-05",
            "2027-08-16",
            "2027-10-18",
            "2027-11-01",
            "2027-11-15",
            // 2028: Easter 16 Apr.
            "2028-01-10",
            "2028-03-20",
            "2028-04-13",
            "2028-04-14",
            "2028-05-29",
            "2028-06-19",
            "2028-06-26",
            "2028-07-03",
            "2028-08-21",
            "2028-10-16",
            "2028-11-06",
            "2028-11-13",
        ];
        for date in co {
            assert!(is_holiday(Country::Colombia, d(date)), "CO {date}");
        }
        let pe = [
            "2024-03-28",
            "2024-03-29",
            "2024-06-07",
            "2024-07-23",
            "2024-08-06",
            "2024-12-09",
            "2025-04-17",
            "2025-04-18",
            "2025-06-29",
            "2025-07-28",
            "2025-07-29",
            "2025-08-30",
            "2025-10-08",
            "2025-11-01",
            "2025-12-08",
            "2025-12-09",
            "2025-12-25",
            "2026-04-02",
            "2026-04-03",
            "2026-06-07",
            "2026-07-23",
            "2026-08-06",
            "2027-03-25",
            "2027-03-26",
            "2027-06-29",
            "2028-04-13",
            "2028-04-14",
            "2028-10-08",
        ];
        for date in pe {
            assert!(is_holiday(Country::Peru, d(date)), "PE {date}");
        }
        // Emiliani moves the day itself off the list; Peru never moves.
        assert!(!is_holiday(Country::Colombia, d("2026-01-06")));
        assert!(!is_holiday(Country::Colombia, d("2025-03-19")));
        assert!(!is_holiday(Country::Colombia, d("2025-06-29")));
        assert!(is_holiday(Country::Peru, d("2025-06-29")));
        // Each market's own days only.
        assert!(!is_holiday(Country::Peru, d("2025-07-20")));
        assert!(!is_holiday(Country::Colombia, d("2025-07-28")));
    }

    #[test]
    fn counts_business_days_around_weekends_and_holidays() {
        let co = Country::Colombia;
        // Friday 20 Mar 2026, Monday 23 Mar is San José in Colombia.
        let friday = d("2026-03-20");
        assert!(!is_business_day(co, d("2026-03-23")));
        assert!(is_business_day(Country::Peru, d("2026-03-23")));
        assert_eq!(add_business_days(co, friday, 0), friday);
        assert_eq!(add_business_days(co, friday, 1), d("2026-03-24"));
        assert_eq!(add_business_days(co, friday, 2), d("2026-03-25"));
        assert_eq!(add_business_days(Country::Peru, friday, 2), d("2026-03-24"));
        assert_eq!(business_days_between(co, friday, d("2026-03-24")), 1);
        assert_eq!(business_days_between(co, friday, d("2026-03-26")), 3);
        assert_eq!(business_days_between(co, d("2026-03-26"), friday), -3);
        assert_eq!(business_days_between(co, friday, friday), 0);
        // Holy week in Peru: Thursday 17 and Friday 18 Apr 2025 are off.
        assert_eq!(add_business_days(Country::Peru, d("2025-04-16"), 1), d("2025-04-21"));
        // Outside the covered years only weekends count.
        assert!(!covers(d("2030-01-01")));
        assert!(is_business_day(co, d("2030-01-01")));
    }
}
