//! Reports that never came. A PSP that sends settlement reports (one was
//! imported for its market) is expected to report every market date on which
//! a payment of ours was due to settle by its terms (`T+N` business days from
//! the paid date). A due date that no imported report file covers (a file
//! covers its rows' first to last settlement date), still uncovered
//! `SETTLEMENT_REPORT_GRACE_BUSINESS_DAYS` business days later, is
//! `settlement_report_missing`: what the PSP paid out that day cannot be
//! checked (seeds 001 and 003: compare every day's report). A day with nothing
//! due is not expected: PSPs send no empty reports. The exception clears once a
//! file covering the day is imported.

use super::*;
use std::sync::Arc;

/// Business days a settlement report may take to arrive after its date.
pub const SETTLEMENT_REPORT_GRACE_BUSINESS_DAYS: u32 = 2;
/// How far back from the as-of date gaps are looked for, in calendar days: a
/// year of daily reports.
pub const SETTLEMENT_REPORT_LOOKBACK_DAYS: i64 = 366;

/// The market whose calendar a settlement row's dates follow, by its local currency.
fn market_of(currency: Currency) -> Option<Country> {
    match currency {
        Currency::Cop => Some(Country::Colombia),
        Currency::Pen => Some(Country::Peru),
        Currency::Usd => None,
    }
}

/// Report files (batches) → (first, last) settlement date each covers.
pub type ReportFiles = FxHashMap<i64, (NaiveDate, NaiveDate)>;

/// What the report rule reads, gathered once: a ledger's million rows come
/// down to a few hundred files and a few thousand paid days, which a scoped
/// run keeps between runs instead of reading the ledger again.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReportFacts {
    /// (PSP, market) → report file (batch) → (first, last) settlement date it covers.
    pub spans: FxHashMap<(Arc<str>, Country), ReportFiles>,
    /// (PSP, market, paid market date) → how many payments whose money was
    /// due to settle were paid that day.
    pub paid_days: FxHashMap<(Arc<str>, Country, NaiveDate), i64>,
}

impl ReportFacts {
    /// From settlement rows and the payments whose money was due to settle
    /// (paid, refunded or charged back since).
    pub fn gather<'a>(settlements: &[SettlementFacts], paid: impl Iterator<Item = &'a PaymentFacts>) -> ReportFacts {
        let mut facts = ReportFacts::default();
        // A ledger's million rows carry a few hundred distinct dates: each is parsed once.
        let mut dates: FxHashMap<&str, Option<NaiveDate>> = FxHashMap::default();
        for s in settlements {
            let day = s.settled_on.as_deref().and_then(|text| {
                *dates.entry(text).or_insert_with(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            });
            if let (Some(market), Some(day)) = (market_of(s.local_currency), day) {
                facts.cover(&s.psp, market, s.batch_id, day, day);
            }
        }
        for p in paid {
            facts.count_paid(&p.psp, p.country, p.paid_at, 1);
        }
        facts
    }

    /// A report file covers `first` to `last` (widening what it covered).
    pub fn cover(&mut self, psp: &Arc<str>, market: Country, batch_id: i64, first: NaiveDate, last: NaiveDate) {
        let files = match self.spans.get_mut(&(psp.clone(), market)) {
            Some(files) => files,
            None => self.spans.entry((psp.clone(), market)).or_default(),
        };
        let span = files.entry(batch_id).or_insert((first, last));
        span.0 = span.0.min(first);
        span.1 = span.1.max(last);
    }

    /// Counts (or with -1 uncounts) a payment paid at `paid_at`.
    pub fn count_paid(&mut self, psp: &Arc<str>, country: Country, paid_at: Option<i64>, delta: i64) {
        if let Some(paid_on) = paid_at.and_then(|t| business_date(country, t)) {
            *self.paid_days.entry((psp.clone(), country, paid_on)).or_default() += delta;
        }
    }

    /// The settlement-row side of a payment's report facts: its row's batch and date.
    pub fn cover_row(&mut self, s: &SettlementFacts) {
        let day = s.settled_on.as_deref().and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok());
        if let (Some(market), Some(day)) = (market_of(s.local_currency), day) {
            self.cover(&s.psp, market, s.batch_id, day, day);
        }
    }
}

/// One finding per (PSP, market, due date) no imported report covers.
pub(super) fn missing_reports(facts: &ReportFacts, options: &ReconcileOptions) -> Vec<StoredFinding> {
    let files = &facts.spans;
    if files.is_empty() {
        return Vec::new();
    }
    let earliest = options.as_of - chrono::TimeDelta::days(SETTLEMENT_REPORT_LOOKBACK_DAYS);
    // (psp, market) → the due dates old enough to have been reported; the terms apply once to each paid date.
    let mut due: BTreeMap<(&str, &'static str), std::collections::BTreeSet<NaiveDate>> = BTreeMap::new();
    for ((psp, market, paid_on), payments) in &facts.paid_days {
        if *payments <= 0 || !files.contains_key(&(psp.clone(), *market)) {
            continue;
        }
        let day = settlement_due(&options.terms.channel(psp, *market), *paid_on);
        let reported_by = calendar::add_business_days(*market, day, SETTLEMENT_REPORT_GRACE_BUSINESS_DAYS);
        if day >= earliest && reported_by <= options.as_of {
            due.entry((&**psp, market.code())).or_default().insert(day);
        }
    }
    let mut items = Vec::new();
    for ((psp, code), days) in due {
        let Ok(market) = Country::parse(code) else { continue };
        let Some(spans) = files.get(&(Arc::from(psp), market)) else { continue };
        let first = spans.values().map(|s| s.0).min().unwrap_or(options.as_of);
        let last_covered = spans.values().map(|s| s.1).max().unwrap_or(first);
        let covered = |day: NaiveDate| spans.values().any(|(a, b)| *a <= day && day <= *b);
        for day in days.into_iter().filter(|d| *d >= first && !covered(*d)) {
            items.push(finding(psp, market, day, last_covered));
        }
    }
    items
}

fn finding(psp: &str, market: Country, day: NaiveDate, last_covered: NaiveDate) -> StoredFinding {
    let kind = ExceptionKind::SettlementReportMissing;
    let date = day.to_string();
    let later = if last_covered < day {
        format!("the last report imported covers up to {last_covered}")
    } else {
        format!("reports before and after it were imported (up to {last_covered})")
    };
    StoredFinding {
        id: kind.exception_id(&[psp, market.code(), &date]),
        kind: kind.as_str(),
        order_id: String::new(),
        psp: psp.to_string(),
        payment_id: String::new(),
        settlement: None,
        country: market.code().to_string(),
        store: String::new(),
        amount_minor: None,
        currency: match market {
            Country::Colombia => Currency::Cop,
            Country::Peru => Currency::Pen,
        }
        .code()
        .to_string(),
        facts: format!("date={date};last_covered={last_covered}"),
        detail: format!(
            "no {psp} settlement report covers {date} ({} market date), {SETTLEMENT_REPORT_GRACE_BUSINESS_DAYS} business days on: {later} → import it, or ask the PSP",
            market.code()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(batch_id: i64, psp: &str, currency: Currency, day: &str) -> SettlementFacts {
        SettlementFacts {
            id: batch_id * 100,
            batch_id,
            psp: psp.into(),
            payment_id: "D-1".into(),
            order_id: "O-1".into(),
            row_type: RowType::Payment,
            created_at: None,
            settled_on: Some(day.into()),
            fx_rate: "".into(),
            settlement_currency: currency,
            local_currency: currency,
            local_amount_minor: 100,
            gross_minor: 100,
            net_minor: 100,
            fee_minor: 0,
        }
    }

    /// A payment paid at 10:00 market time on `day`.
    fn paid(psp: &str, country: Country, day: &str) -> PaymentFacts {
        let at = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap().and_hms_opt(15, 0, 0).unwrap().and_utc();
        PaymentFacts {
            status: PaymentStatus::Paid,
            taken_back_at: None,
            psp: psp.into(),
            payment_id: format!("P-{day}").as_str().into(),
            order_id: format!("O-{day}").as_str().into(),
            country,
            currency: if country == Country::Peru { Currency::Pen } else { Currency::Cop },
            amount_minor: 100,
            paid_at: Some(at.timestamp()),
            expires_at: None,
        }
    }

    fn missing(rows: &[SettlementFacts], payments: &[PaymentFacts], as_of: &str) -> Vec<(String, String, String)> {
        let options = ReconcileOptions::on(NaiveDate::parse_from_str(as_of, "%Y-%m-%d").unwrap());
        missing_reports(&ReportFacts::gather(rows, payments.iter()), &options)
            .into_iter()
            .map(|f| {
                assert_eq!(f.kind, "settlement_report_missing");
                let date = f.facts.split(';').next().unwrap().trim_start_matches("date=").to_string();
                (f.psp, f.country, date)
            })
            .collect()
    }

    fn gap(psp: &str, market: &str, date: &str) -> (String, String, String) {
        (psp.into(), market.into(), date.into())
    }

    #[test]
    fn a_due_date_no_file_covers_is_missing_two_business_days_later() {
        // dLocal CO (T+2): one file for Mon 2 – Wed 4 March 2026 (Tuesday had no rows), then nothing.
        let rows = [report(1, "dlocal", Currency::Cop, "2026-03-02"), report(1, "dlocal", Currency::Cop, "2026-03-04")];
        // Paid Tue 3rd, Wed 4th, Thu 5th: due Thu 5th, Fri 6th, Mon 9th. Nothing is due on Tue 10th.
        let payments = [
            paid("dlocal", Country::Colombia, "2026-03-03"),
            paid("dlocal", Country::Colombia, "2026-03-04"),
            paid("dlocal", Country::Colombia, "2026-03-05"),
        ];
        // Thursday 5th is reported by Monday 9th (the weekend is no business day).
        assert_eq!(missing(&rows, &payments, "2026-03-06"), vec![]);
        assert_eq!(missing(&rows, &payments, "2026-03-09"), vec![gap("dlocal", "CO", "2026-03-05")]);
        assert_eq!(
            missing(&rows, &payments, "2026-03-12"),
            vec![
                gap("dlocal", "CO", "2026-03-05"),
                gap("dlocal", "CO", "2026-03-06"),
                gap("dlocal", "CO", "2026-03-09")
            ]
        );
        // A file for the 5th to the 9th fills the gap.
        let more = [
            report(1, "dlocal", Currency::Cop, "2026-03-02"),
            report(1, "dlocal", Currency::Cop, "2026-03-04"),
            report(2, "dlocal", Currency::Cop, "2026-03-05"),
            report(2, "dlocal", Currency::Cop, "2026-03-09"),
        ];
        assert_eq!(missing(&more, &payments, "2026-03-12"), vec![]);
    }

    #[test]
    fn each_psp_and_market_follows_its_own_files_terms_and_calendar() {
        // Monday 23 March 2026 is San José in Colombia, a business day in Peru.
        let rows =
            [report(1, "dlocal", Currency::Cop, "2026-03-18"), report(2, "pagoefectivo", Currency::Pen, "2026-03-18")];
        // Paid Friday 20th: dLocal CO (T+2) due Wed 25th; PagoEfectivo PE (T+1) due Mon 23rd.
        let payments =
            [paid("dlocal", Country::Colombia, "2026-03-20"), paid("pagoefectivo", Country::Peru, "2026-03-20")];
        assert_eq!(missing(&rows, &payments, "2026-03-24"), vec![]);
        assert_eq!(missing(&rows, &payments, "2026-03-25"), vec![gap("pagoefectivo", "PE", "2026-03-23")]);
        assert_eq!(
            missing(&rows, &payments, "2026-03-27"),
            vec![gap("dlocal", "CO", "2026-03-25"), gap("pagoefectivo", "PE", "2026-03-23")]
        );
        // A PSP that never sent a report is not expected to (not_settled covers its payments),
        // and neither is a date before its first report.
        assert_eq!(missing(&[], &payments, "2026-03-27"), vec![]);
        let late_start = [report(1, "dlocal", Currency::Cop, "2026-03-26")];
        assert_eq!(missing(&late_start, &payments, "2026-03-31"), vec![]);
    }
}
