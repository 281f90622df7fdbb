//! What a settlement row may be wrong about: the chargeback's day and detail, the conversion, the FX rate and the fee.

use super::*;

/// The market date of a chargeback: its row's creation (or transfer) date,
/// else when the ledger has the payment charged back.
pub(super) fn chargeback_day(
    row: Option<&SettlementFacts>,
    taken_back_at: Option<i64>,
    p: Option<&PaymentFacts>,
) -> String {
    let country = p.map(|p| p.country).unwrap_or(Country::Colombia);
    row.and_then(|r| {
        r.created_at
            .and_then(|t| business_date(country, t))
            .map(|d| d.to_string())
            .or(r.settled_on.as_ref().map(|d| d.to_string()))
    })
    .or_else(|| taken_back_at.and_then(|t| business_date(country, t)).map(|d| d.to_string()))
    .unwrap_or_else(|| "an unreported date".to_string())
}

pub(super) fn chargeback_detail(amount_minor: i64, currency: Currency, day: &str) -> String {
    format!("chargeback of {} on {day} → dispute or accept", money_text(amount_minor, currency))
}

/// The chargeback finding of a charged-back payment: amount and date from its
/// chargeback row when there is one, else the payment's.
pub(super) fn chargeback_finding(
    p: &PaymentFacts,
    row: Option<&SettlementFacts>,
    finding: &dyn Fn(ExceptionKind, i64, Currency, String, String) -> StoredFinding,
) -> StoredFinding {
    let (amount, currency) = match row {
        Some(r) => (r.local_amount_minor.abs(), r.local_currency),
        None => (p.amount_minor, p.currency),
    };
    let day = chargeback_day(row, p.taken_back_at, Some(p));
    let mut f = finding(
        ExceptionKind::Chargeback,
        amount,
        currency,
        format!("amount={amount};{currency};on={day}"),
        chargeback_detail(amount, currency, &day),
    );
    f.settlement = row.map(|r| r.id);
    f
}

/// A payment in another currency than its order's: a USD-priced order paid
/// in a market's currency converts at the dated USD rate of the payment's
/// market date and compares within the amount tolerance. `None`: matched.
/// Any other pair, or no usable rate, stays a `currency_mismatch`.
pub(super) fn converted_problem(
    o: &OrderFacts,
    p: &PaymentFacts,
    rates: &RateTable,
    options: &ReconcileOptions,
) -> Option<(ExceptionKind, String, String)> {
    // The facts name the missing rate, so the detail follows when it changes.
    let mismatch = |rate_facts: String, why: String| {
        Some((
            ExceptionKind::CurrencyMismatch,
            format!("order={};payment={}{rate_facts}", o.currency, p.currency),
            format!("paid in {} but the order is priced in {}{why}", p.currency, o.currency),
        ))
    };
    let Some(market) = crate::fx::market_of(p.currency).filter(|_| o.currency == Currency::Usd) else {
        return mismatch(String::new(), String::new());
    };
    let pair = FxPair { base: o.currency, quote: p.currency }.name();
    let Some(paid_on) = p.paid_at.and_then(|t| business_date(market, t)) else {
        return mismatch(";rate=undated".into(), format!(": the payment has no payment time to date a {pair} rate by"));
    };
    let Some((rate_on, rate)) = rates.on_or_before(p.currency, paid_on) else {
        return mismatch(
            format!(";rate=none@{paid_on}"),
            format!(": no {pair} rate on or before {paid_on}: add one with `voucherdesk fx add`"),
        );
    };
    // The same age limit as a refund's rate: an old rate never silently matches.
    if rate_on < crate::fx::oldest_usable_date(market, paid_on) {
        return mismatch(
            format!(";rate=stale@{rate_on}<{paid_on}"),
            format!(
                ": the latest {pair} rate on or before {paid_on} is of {rate_on}, more than \
                 {FX_RATE_AGE_BUSINESS_DAYS_MAX} business day(s) old: add one with `voucherdesk fx add`"
            ),
        );
    }
    let scale = |c: Currency| Decimal::from(10_i64.pow(c.exponent()));
    let per_order_minor = rate * scale(p.currency) / scale(o.currency);
    let expected = Decimal::from(o.amount_minor) * per_order_minor;
    let expected_minor: i64 = expected.round().try_into().unwrap_or(i64::MAX);
    // The order's price is rounded to its minor unit: half of one, converted,
    // is as close as the conversion can tell.
    let rounding = per_order_minor / Decimal::TWO;
    let allowed =
        Decimal::from(options.terms.amount_tolerance_minor(options.amount_tolerance_minor, expected_minor)) + rounding;
    if (expected - Decimal::from(p.amount_minor)).abs() <= allowed {
        return None;
    }
    Some((
        ExceptionKind::AmountMismatch,
        format!(
            "order={}{};rate={rate}@{rate_on};converted={expected_minor};payment={}",
            o.amount_minor, o.currency, p.amount_minor
        ),
        format!(
            "paid {} but the order is for {} = {} at {pair} {rate} of {rate_on}",
            money_text(p.amount_minor, p.currency),
            money_text(o.amount_minor, o.currency),
            money_text(expected_minor, p.currency)
        ),
    ))
}

/// `local_amount / fx_rate` against the gross amount, when the row converts.
/// Exact integer arithmetic on the rate's digits: it runs for every converted
/// settlement row, and decimal division was half of the money rules' time.
pub(super) fn fx_problem(s: &SettlementFacts) -> Option<String> {
    let rate_text = s.fx_rate.trim();
    if rate_text.is_empty() || s.settlement_currency == s.local_currency {
        return None;
    }
    let rate: Decimal = rate_text.parse().ok().filter(|r: &Decimal| r.is_sign_positive() && !r.is_zero())?;
    let local = i128::from(s.local_amount_minor).abs();
    let gross = i128::from(s.gross_minor).abs();
    // local / 10^local_exp / rate * 10^settlement_exp, rounded half to even
    // as Decimal::round does: num / den with rate = mantissa / 10^scale.
    let pow10 = |exp: u32| 10_i128.checked_pow(exp);
    let num = pow10(s.settlement_currency.exponent() + rate.scale()).and_then(|p| local.checked_mul(p))?;
    let den = pow10(s.local_currency.exponent()).and_then(|p| p.checked_mul(rate.mantissa()))?;
    let (quotient, remainder) = (num / den, num % den);
    let expected = match (2 * remainder).cmp(&den) {
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal => quotient + (quotient & 1),
        std::cmp::Ordering::Less => quotient,
    };
    // |expected - gross| <= max(expected, gross) * tolerance, without dividing.
    let allowed_times_10_000 = expected.max(gross).checked_mul(i128::from(SETTLEMENT_FX_TOLERANCE_BPS))?;
    if (expected - gross).abs().checked_mul(10_000)? <= allowed_times_10_000 {
        return None;
    }
    let expected = i64::try_from(expected).ok()?;
    Some(format!(
        "{} at {} is {}, but the row settles {} → settled at the wrong rate",
        money_text(s.local_amount_minor.abs(), s.local_currency),
        rate_text,
        money_text(expected, s.settlement_currency),
        money_text(s.gross_minor.abs(), s.settlement_currency)
    ))
}

/// The row's fee rate against the PSP's contracted rates (any of its accounts).
pub(super) fn fee_problem(s: &SettlementFacts, rates: &[FeeRate]) -> Option<String> {
    // Runs for every settlement row: nothing is allocated unless the fee is off.
    let contracted = || rates.iter().filter(|r| r.psp == *s.psp);
    if contracted().next().is_none() || s.gross_minor == 0 {
        return None;
    }
    let (gross, fee) = (i128::from(s.gross_minor.abs()), i128::from(s.fee_minor.abs()));
    let fits = |bps: i64| {
        let expected = gross * i128::from(bps) / 10_000;
        let slack = gross * i128::from(FEE_RATE_TOLERANCE_BPS) / 10_000 + 1;
        (fee - expected).abs() <= slack
    };
    if contracted().any(|r| fits(r.fee_bps)) {
        return None;
    }
    let actual_bps = fee * 10_000 / gross;
    let agreed = contracted().map(|r| bps_text(r.fee_bps)).collect::<Vec<_>>().join(" or ");
    Some(format!(
        "fee {} on {} is {} %, the contract says {agreed} % → settled at the wrong fee",
        money_text(s.fee_minor.abs(), s.settlement_currency),
        money_text(s.gross_minor.abs(), s.settlement_currency),
        bps_text(actual_bps as i64)
    ))
}

pub(super) fn bps_text(bps: i64) -> String {
    format!("{}.{:02}", bps / 100, bps % 100)
}
