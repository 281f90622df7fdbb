//! Payout limits: what a PSP account may pay out per payout and per market
//! day, in each currency (seed 001: a withdrawal has per-transaction and
//! daily limits at the PSP; a payout over them is refused there, after
//! approvals were spent on it). Set by an admin per account and currency;
//! checked where a refund's amount or day is decided: the request, an
//! amendment (against the refunds requested that market day), and the hand-
//! over to the PSP (against what was handed over that day). A refund over the
//! day's room at hand-over stays approved and goes on a later day.
//!
//! Only money the PSP pays out counts: `psp_refund` and `cash_withdrawal`.
//! A `bank_transfer` leaves from the merchant's own bank, outside these limits.
//! The account of a refund is the one its rail uses: the first account, by
//! name, of the payment's PSP (`rails::client_from_config`).

use super::{RefundError, RefundMethod, RefundStatus};
use crate::audit::audit_entry;
use crate::credentials::PSP_ACCOUNTS_MAX;
use crate::market::Country;
use crate::money::{self, Currency, NumberFormat, format_minor};
use crate::operators::{Operator, Permission};
use crate::store::{PAYOUT_LOOKBACK_SECONDS, PayoutEntry, Store};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The settings key the limits are kept under (shared in team mode: admin only).
pub const SETTINGS_KEY: &str = "payout_limits";

/// One account's limits in one currency, in minor units; `None`: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CurrencyLimits {
    pub per_payout_max_minor: Option<i64>,
    pub per_day_max_minor: Option<i64>,
}

/// Every account's limits: account name → currency → limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutLimits {
    pub accounts: BTreeMap<String, BTreeMap<Currency, CurrencyLimits>>,
}

/// The limits that apply to one refund: its account's, in its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedLimits {
    pub account: String,
    pub currency: Currency,
    pub limits: CurrencyLimits,
}

/// Which day a payout is counted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutDay {
    /// The market day it was requested on: the refunds requested that day and still alive.
    Requested,
    /// The market day it is handed over to the PSP: the refunds handed over that day.
    HandedOver,
}

/// A limit as people read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LimitView {
    pub account: String,
    pub currency: Currency,
    /// Major units; None: no limit.
    pub per_payout: Option<String>,
    pub per_day: Option<String>,
    /// What the day of a request made now already holds (major units).
    pub requested_today: String,
    /// The market date that day is, in the currency's market.
    pub market_date: String,
}

pub fn get(store: &Store) -> Result<PayoutLimits, RefundError> {
    match store.setting(SETTINGS_KEY)? {
        None => Ok(PayoutLimits::default()),
        // A limit that cannot be read is not taken for no limit.
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| RefundError::Corrupt(format!("the payout limits setting cannot be read: {e}"))),
    }
}

/// Sets (or, both `None`, removes) `account`'s limits in `currency`, given in
/// major units ("2000000", "2000000.00"). Admins; audited.
pub fn set(
    store: &mut Store,
    operator: &Operator,
    account: &str,
    currency: &str,
    per_payout: Option<&str>,
    per_day: Option<&str>,
) -> Result<PayoutLimits, RefundError> {
    operator.require(Permission::ChangeSettings)?;
    let currency = Currency::parse(currency).map_err(RefundError::BadAmount)?;
    let known = store.psp_accounts(PSP_ACCOUNTS_MAX)?;
    let Some(account) = known.iter().find(|a| a.name.eq_ignore_ascii_case(account.trim())) else {
        return Err(RefundError::UnknownAccount(account.trim().to_string()));
    };
    let minor = |text: Option<&str>| -> Result<Option<i64>, RefundError> {
        let Some(text) = text else { return Ok(None) };
        let value = money::parse_minor(text.trim(), currency, NumberFormat::PLAIN).map_err(RefundError::BadAmount)?;
        if value <= 0 {
            return Err(RefundError::AmountNotPositive);
        }
        Ok(Some(value))
    };
    let limits = CurrencyLimits { per_payout_max_minor: minor(per_payout)?, per_day_max_minor: minor(per_day)? };
    if let (Some(payout), Some(day)) = (limits.per_payout_max_minor, limits.per_day_max_minor) {
        if payout > day {
            return Err(RefundError::BadLimits(format!(
                "the per-payout limit ({}) is more than the daily one ({})",
                money_text(payout, currency),
                money_text(day, currency)
            )));
        }
    }
    let mut all = get(store)?;
    let before = serde_json::to_string(&all).unwrap_or_default();
    let of_account = all.accounts.entry(account.name.clone()).or_default();
    if limits == CurrencyLimits::default() {
        of_account.remove(&currency);
    } else {
        of_account.insert(currency, limits);
    }
    all.accounts.retain(|_, by_currency| !by_currency.is_empty());
    let after = serde_json::to_string(&all).unwrap_or_default();
    let subject = format!("payout limits of {} in {currency}", account.name);
    store.put_setting(
        SETTINGS_KEY,
        &after,
        &audit_entry(&operator.name, "refunds.payout_limits", &subject, &before, &after),
    )?;
    Ok(all)
}

/// The limits a refund of a `psp` payment by `method` in `currency` is held
/// to; None when none apply (a bank transfer, no account, no limit set).
pub fn applying(
    store: &Store,
    psp: &str,
    method: RefundMethod,
    currency: Currency,
) -> Result<Option<AppliedLimits>, RefundError> {
    match method {
        RefundMethod::BankTransfer => return Ok(None),
        RefundMethod::PspRefund | RefundMethod::CashWithdrawal => {}
    }
    let all = get(store)?;
    if all.accounts.is_empty() {
        return Ok(None);
    }
    let accounts = store.psp_accounts(PSP_ACCOUNTS_MAX)?;
    let Some(account) = accounts.into_iter().find(|a| a.psp == psp) else { return Ok(None) };
    let limits = all.accounts.get(&account.name).and_then(|by_currency| by_currency.get(&currency)).copied();
    Ok(limits.map(|limits| AppliedLimits { account: account.name, currency, limits }))
}

/// The invariant: a payout of `amount_minor` at `at`, beside the account's
/// other payouts (`others`, the same PSP and currency, this refund left
/// out), keeps within the limits. `others` must reach back to the start of
/// `at`'s market day.
pub fn ensure_within(
    applied: &AppliedLimits,
    others: &[PayoutEntry],
    amount_minor: i64,
    day: PayoutDay,
    at: i64,
) -> Result<(), RefundError> {
    let AppliedLimits { account, currency, limits } = applied;
    if let Some(max) = limits.per_payout_max_minor {
        if amount_minor > max {
            return Err(RefundError::LimitExceeded(format!(
                "{} is more than {account}'s per-payout limit of {} (split it, or pay it by bank_transfer)",
                money_text(amount_minor, *currency),
                money_text(max, *currency)
            )));
        }
    }
    let Some(max) = limits.per_day_max_minor else { return Ok(()) };
    let (date, used) = used_on_day(others, *currency, day, at);
    if used + amount_minor > max {
        let what = match day {
            PayoutDay::Requested => "requested",
            PayoutDay::HandedOver => "paid out",
        };
        return Err(RefundError::LimitExceeded(format!(
            "{} would pass {account}'s daily payout limit of {} on {date} ({}): {} already {what} that day",
            money_text(amount_minor, *currency),
            money_text(max, *currency),
            market_of(*currency).zone().name(),
            money_text(used, *currency)
        )));
    }
    Ok(())
}

/// The market date of `at` and what `others` hold on it, counted as `day` says.
pub fn used_on_day(others: &[PayoutEntry], currency: Currency, day: PayoutDay, at: i64) -> (NaiveDate, i64) {
    let market = market_of(currency);
    let date = DateTime::from_timestamp(at, 0).map(|t| market.business_date(t)).unwrap_or_default();
    let (start, end) = day_bounds(market, date);
    let within = |t: i64| (start..end).contains(&t);
    let used = others
        .iter()
        .filter(|p| counts_as_payout(&p.method))
        .filter(|p| {
            let status = RefundStatus::parse(&p.status);
            match day {
                PayoutDay::Requested => status.is_some_and(alive) && within(p.requested_at),
                PayoutDay::HandedOver => status.is_some_and(handed_over) && p.submitted_at.is_some_and(within),
            }
        })
        .map(|p| p.amount_minor)
        .sum();
    (date, used)
}

/// The limits a refund of `amount_minor` requested now is held to, for the
/// refund dialog, and why they would refuse it (None: within them).
pub fn preview(
    store: &Store,
    psp: &str,
    method: RefundMethod,
    currency: Currency,
    amount_minor: i64,
    now: DateTime<Utc>,
) -> Result<(Option<LimitView>, Option<String>), RefundError> {
    let Some(applied) = applying(store, psp, method, currency)? else { return Ok((None, None)) };
    let at = now.timestamp();
    let others = store.payouts_since(psp, currency.code(), at - PAYOUT_LOOKBACK_SECONDS)?;
    let refusal = ensure_within(&applied, &others, amount_minor, PayoutDay::Requested, at).err().map(|e| e.to_string());
    let (date, used) = used_on_day(&others, currency, PayoutDay::Requested, at);
    let major = |minor: Option<i64>| minor.map(|m| format_minor(m, currency));
    let view = LimitView {
        per_payout: major(applied.limits.per_payout_max_minor),
        per_day: major(applied.limits.per_day_max_minor),
        account: applied.account,
        currency,
        requested_today: format_minor(used, currency),
        market_date: date.to_string(),
    };
    Ok((Some(view), refusal))
}

/// A refund that still may, or did, take money out: not refused, cancelled or failed.
fn alive(status: RefundStatus) -> bool {
    match status {
        RefundStatus::Requested
        | RefundStatus::PendingApproval
        | RefundStatus::Approved
        | RefundStatus::Submitted
        | RefundStatus::Succeeded => true,
        RefundStatus::Failed | RefundStatus::RejectedByPsp | RefundStatus::Cancelled => false,
    }
}

/// A refund the PSP was handed and did not refuse.
fn handed_over(status: RefundStatus) -> bool {
    match status {
        RefundStatus::Submitted | RefundStatus::Succeeded => true,
        RefundStatus::Requested
        | RefundStatus::PendingApproval
        | RefundStatus::Approved
        | RefundStatus::Failed
        | RefundStatus::RejectedByPsp
        | RefundStatus::Cancelled => false,
    }
}

fn counts_as_payout(method: &str) -> bool {
    match RefundMethod::parse(method) {
        Some(RefundMethod::PspRefund | RefundMethod::CashWithdrawal) => true,
        Some(RefundMethod::BankTransfer) | None => false,
    }
}

/// The market whose calendar a currency's payout day follows (USD: Bogotá's,
/// which Lima shares).
fn market_of(currency: Currency) -> Country {
    match currency {
        Currency::Pen => Country::Peru,
        Currency::Cop | Currency::Usd => Country::Colombia,
    }
}

/// `[start, end)` of a market date, Unix seconds.
fn day_bounds(market: Country, date: NaiveDate) -> (i64, i64) {
    let start_of = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|midnight| market.zone().from_local_datetime(&midnight).earliest())
            .map(|t| t.timestamp())
    };
    let start = start_of(date).unwrap_or(i64::MIN);
    let end = date.succ_opt().and_then(start_of).unwrap_or(i64::MAX);
    (start, end)
}

fn money_text(minor: i64, currency: Currency) -> String {
    format!("{} {currency}", format_minor(minor, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        id: i64,
        method: &str,
        status: &str,
        amount_minor: i64,
        requested_at: i64,
        submitted_at: Option<i64>,
    ) -> PayoutEntry {
        PayoutEntry { id, method: method.into(), status: status.into(), amount_minor, requested_at, submitted_at }
    }

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp()
    }

    #[test]
    fn a_market_day_runs_midnight_to_midnight_in_bogota_not_utc() {
        let others = [
            // 2026-03-10 23:30 in Bogotá is 2026-03-11 04:30 UTC: the 10th there.
            entry(
                1,
                "psp_refund",
                "succeeded",
                400_000_00,
                at("2026-03-11T04:30:00Z"),
                Some(at("2026-03-11T04:31:00Z")),
            ),
            entry(2, "cash_withdrawal", "pending_approval", 100_000_00, at("2026-03-10T15:00:00Z"), None),
            // Not payouts, or no longer alive: never counted.
            entry(3, "bank_transfer", "succeeded", 900_000_00, at("2026-03-10T15:00:00Z"), None),
            entry(
                4,
                "psp_refund",
                "rejected_by_psp",
                900_000_00,
                at("2026-03-10T15:00:00Z"),
                Some(at("2026-03-10T15:01:00Z")),
            ),
            entry(5, "psp_refund", "cancelled", 900_000_00, at("2026-03-10T16:00:00Z"), None),
            // The 11th in Bogotá.
            entry(6, "psp_refund", "approved", 700_000_00, at("2026-03-11T05:00:00Z"), None),
        ];
        let (date, used) = used_on_day(&others, Currency::Cop, PayoutDay::Requested, at("2026-03-10T20:00:00Z"));
        assert_eq!((date.to_string(), used), ("2026-03-10".to_string(), 500_000_00));
        let (_, paid_out) = used_on_day(&others, Currency::Cop, PayoutDay::HandedOver, at("2026-03-10T20:00:00Z"));
        assert_eq!(paid_out, 400_000_00);
        let (date, used) = used_on_day(&others, Currency::Cop, PayoutDay::Requested, at("2026-03-11T05:00:01Z"));
        assert_eq!((date.to_string(), used), ("2026-03-11".to_string(), 700_000_00));
    }

    #[test]
    fn the_limits_name_themselves_when_they_refuse() {
        let applied = AppliedLimits {
            account: "dlocal-co".into(),
            currency: Currency::Cop,
            limits: CurrencyLimits { per_payout_max_minor: Some(2_000_000_00), per_day_max_minor: Some(3_000_000_00) },
        };
        let now = at("2026-03-10T20:00:00Z");
        let others = [entry(1, "psp_refund", "approved", 1_500_000_00, now - 60, None)];
        let err = ensure_within(&applied, &others, 2_000_000_01, PayoutDay::Requested, now).unwrap_err();
        assert_eq!(err.code(), "refunds.limit_exceeded");
        assert_eq!(
            err.to_string(),
            "2000000.01 COP is more than dlocal-co's per-payout limit of 2000000.00 COP (split it, or pay it by bank_transfer)"
        );
        let err = ensure_within(&applied, &others, 1_500_000_01, PayoutDay::Requested, now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "1500000.01 COP would pass dlocal-co's daily payout limit of 3000000.00 COP on 2026-03-10 (America/Bogota): 1500000.00 COP already requested that day"
        );
        // Exactly at the limit is within it.
        assert_eq!(
            ensure_within(&applied, &others, 1_500_000_00, PayoutDay::Requested, now).map_err(|e| e.to_string()),
            Ok(())
        );
        // Handed over that day: nothing yet.
        assert_eq!(
            ensure_within(&applied, &others, 2_000_000_00, PayoutDay::HandedOver, now).map_err(|e| e.to_string()),
            Ok(())
        );
    }
}
