//! Payment terms per PSP and market: when settlement is due (`T+N` business
//! days in the market's calendar), whether goods ship on `paid` or only on
//! `settled`, and the thresholds of the rules that follow a voucher after it
//! expires. Stored under their own settings key, changed by admins, audited.

use crate::audit::audit_entry;
use crate::calendar;
use crate::market::Country;
use crate::operators::{Operator, OperatorError, Permission};
use crate::store::{Store, StoreError};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

const SETTINGS_KEY: &str = "terms";

/// Longest settlement term: Efecty contracts go up to T+15; a month of business days is room enough.
pub const SETTLE_BUSINESS_DAYS_MAX: u32 = 30;
/// A shop order pending this long after its voucher expired raises `expired_unpaid`.
pub const EXPIRED_UNPAID_HOURS_DEFAULT: i64 = 24;
pub const EXPIRED_UNPAID_HOURS_MAX: i64 = 24 * 90;
/// A PSP payment still pending this many days after its voucher expired raises `stale_pending`.
pub const STALE_PENDING_DAYS_DEFAULT: i64 = 3;
pub const STALE_PENDING_DAYS_MAX: i64 = 365;
/// Largest percentage tolerance for `amount_mismatch`.
pub const AMOUNT_TOLERANCE_PERCENT_MAX: Decimal = Decimal::from_parts(10, 0, 0, false, 0);
/// Channels (PSP × market) one settings value may hold.
pub const CHANNELS_MAX: usize = 32;
const PSP_NAME_CHARS_MAX: usize = 40;

/// What a paid order must reach before goods go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipOn {
    /// The PSP says paid: ship now.
    Paid,
    /// Ship once the PSP's settlement report lists the payment (a paid
    /// PagoEfectivo CIP can still be reversed until then).
    Settled,
}

impl ShipOn {
    pub const ALL: [ShipOn; 2] = [ShipOn::Paid, ShipOn::Settled];

    pub fn as_str(self) -> &'static str {
        match self {
            ShipOn::Paid => "paid",
            ShipOn::Settled => "settled",
        }
    }

    pub fn parse(text: &str) -> Option<ShipOn> {
        ShipOn::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// The terms of one PSP in one market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTerms {
    /// The ledger's PSP name (`dlocal`, `pagoefectivo`).
    pub psp: String,
    pub market: Country,
    /// `T+N`: settlement is due N business days after the payment's market date.
    pub settle_business_days: u32,
    pub ship_on: ShipOn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsSettings {
    pub channels: Vec<ChannelTerms>,
    pub expired_unpaid_hours: i64,
    pub stale_pending_days: i64,
    /// `amount_mismatch` allows the larger of this share of the order's amount
    /// and the absolute tolerance (`settings.amount_tolerance_minor`).
    #[serde(with = "rust_decimal::serde::str")]
    pub amount_tolerance_percent: Decimal,
}

/// The built-in terms of a PSP in a market: dLocal (Efecty in Colombia, its
/// cash networks in Peru) settles T+2 and its paid is final enough to ship;
/// PagoEfectivo direct settles T+1 and ships on settled (seed 003: a paid CIP
/// can still be reversed, `Extornado`). Any other PSP: T+2, ship on settled.
pub fn default_terms(psp: &str, market: Country) -> ChannelTerms {
    let (days, ship_on) = match psp {
        p if p == crate::psp::dlocal::PSP_NAME => (2, ShipOn::Paid),
        p if p == crate::psp::pagoefectivo::PSP_NAME => (1, ShipOn::Settled),
        _ => (2, ShipOn::Settled),
    };
    ChannelTerms { psp: psp.to_string(), market, settle_business_days: days, ship_on }
}

impl Default for TermsSettings {
    fn default() -> Self {
        TermsSettings {
            channels: vec![
                default_terms(crate::psp::dlocal::PSP_NAME, Country::Colombia),
                default_terms(crate::psp::dlocal::PSP_NAME, Country::Peru),
                default_terms(crate::psp::pagoefectivo::PSP_NAME, Country::Peru),
            ],
            expired_unpaid_hours: EXPIRED_UNPAID_HOURS_DEFAULT,
            stale_pending_days: STALE_PENDING_DAYS_DEFAULT,
            amount_tolerance_percent: Decimal::ZERO,
        }
    }
}

impl TermsSettings {
    /// The terms of `psp` in `market`: the saved ones, else the built-in ones.
    pub fn channel(&self, psp: &str, market: Country) -> ChannelTerms {
        self.channels
            .iter()
            .find(|c| c.market == market && c.psp.eq_ignore_ascii_case(psp))
            .cloned()
            .unwrap_or_else(|| default_terms(psp, market))
    }

    /// Replaces (or adds) the terms of one channel.
    pub fn put_channel(&mut self, terms: ChannelTerms) {
        self.channels.retain(|c| !(c.market == terms.market && c.psp.eq_ignore_ascii_case(&terms.psp)));
        self.channels.push(terms);
        self.channels.sort_by(|a, b| (a.psp.as_str(), a.market.code()).cmp(&(b.psp.as_str(), b.market.code())));
    }

    /// The largest difference still counted as the same amount for an order of `order_minor`.
    pub fn amount_tolerance_minor(&self, absolute_minor: i64, order_minor: i64) -> i64 {
        let share = (Decimal::from(order_minor) * self.amount_tolerance_percent / Decimal::ONE_HUNDRED).floor();
        let share: i64 = share.try_into().unwrap_or(0);
        absolute_minor.max(share)
    }

    pub fn check(&self) -> Result<(), TermsError> {
        let bad = |m: String| Err(TermsError::Invalid(m));
        if self.channels.len() > CHANNELS_MAX {
            return bad(format!("at most {CHANNELS_MAX} PSP/market channels"));
        }
        for c in &self.channels {
            let name_ok = !c.psp.trim().is_empty()
                && c.psp.chars().count() <= PSP_NAME_CHARS_MAX
                && c.psp.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
            if !name_ok {
                return bad(format!("{:?} is not a PSP name", c.psp));
            }
            if c.settle_business_days > SETTLE_BUSINESS_DAYS_MAX {
                return bad(format!(
                    "{} {}: settlement terms must be T+0 to T+{SETTLE_BUSINESS_DAYS_MAX} business days",
                    c.psp, c.market
                ));
            }
        }
        if !(1..=EXPIRED_UNPAID_HOURS_MAX).contains(&self.expired_unpaid_hours) {
            return bad(format!("expired_unpaid must be raised after 1 to {EXPIRED_UNPAID_HOURS_MAX} hours"));
        }
        if !(1..=STALE_PENDING_DAYS_MAX).contains(&self.stale_pending_days) {
            return bad(format!("stale_pending must be raised after 1 to {STALE_PENDING_DAYS_MAX} days"));
        }
        if self.amount_tolerance_percent < Decimal::ZERO || self.amount_tolerance_percent > AMOUNT_TOLERANCE_PERCENT_MAX
        {
            return bad(format!("the amount tolerance must be 0 to {AMOUNT_TOLERANCE_PERCENT_MAX} %"));
        }
        Ok(())
    }
}

/// When a payment made on `paid_on` (market date) is due to settle.
pub fn settlement_due(terms: &ChannelTerms, paid_on: NaiveDate) -> NaiveDate {
    calendar::add_business_days(terms.market, paid_on, terms.settle_business_days)
}

#[derive(Debug, thiserror::Error)]
pub enum TermsError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Forbidden(#[from] OperatorError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TermsError {
    pub fn code(&self) -> &'static str {
        match self {
            TermsError::Invalid(_) => "errors.validation",
            TermsError::Forbidden(e) => e.code(),
            TermsError::Store(e) => e.code(),
        }
    }
}

/// The saved terms; the built-in ones when none are saved. A saved value
/// that no longer reads is an error, not silently the defaults: ship policy
/// decides whether goods go out.
pub fn get(store: &Store) -> Result<TermsSettings, TermsError> {
    match store.setting(SETTINGS_KEY)? {
        None => Ok(TermsSettings::default()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| TermsError::Store(StoreError::Corrupt(format!("saved terms do not read: {e}")))),
    }
}

/// Saves new terms (admins); the audit log keeps before and after.
pub fn set(store: &mut Store, operator: &Operator, new: &TermsSettings) -> Result<TermsSettings, TermsError> {
    operator.require(Permission::ChangeSettings)?;
    new.check()?;
    let before = serde_json::to_string(&get(store)?).unwrap_or_default();
    let after = serde_json::to_string(new).unwrap_or_default();
    store.put_setting(SETTINGS_KEY, &after, &audit_entry(&operator.name, "terms.change", "terms", &before, &after))?;
    Ok(new.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_psps() {
        let t = TermsSettings::default();
        let dlocal_co = t.channel("dlocal", Country::Colombia);
        assert_eq!((dlocal_co.settle_business_days, dlocal_co.ship_on), (2, ShipOn::Paid));
        let pe = t.channel("pagoefectivo", Country::Peru);
        assert_eq!((pe.settle_business_days, pe.ship_on), (1, ShipOn::Settled));
        let other = t.channel("payu", Country::Colombia);
        assert_eq!((other.settle_business_days, other.ship_on), (2, ShipOn::Settled));
        assert_eq!(t.check().ok(), Some(()));
    }

    #[test]
    fn percentage_tolerance_is_the_larger_of_the_two() {
        let mut t = TermsSettings::default();
        assert_eq!(t.amount_tolerance_minor(500, 99_500_000), 500);
        t.amount_tolerance_percent = Decimal::ONE;
        // 1 % of 995,000.00 COP is 9,950.00 COP.
        assert_eq!(t.amount_tolerance_minor(500, 99_500_000), 995_000);
        assert_eq!(t.amount_tolerance_minor(500, 10_000), 500);
        t.amount_tolerance_percent = Decimal::new(11, 0);
        assert!(t.check().is_err());
    }

    #[test]
    fn bad_terms_are_refused() {
        let mut t = TermsSettings::default();
        t.put_channel(ChannelTerms {
            psp: "dlocal".into(),
            market: Country::Colombia,
            settle_business_days: 31,
            ship_on: ShipOn::Paid,
        });
        assert_eq!(t.check().unwrap_err().to_string(), "dlocal CO: settlement terms must be T+0 to T+30 business days");
        assert_eq!(t.channels.len(), 3);
        let t = TermsSettings { expired_unpaid_hours: 0, ..TermsSettings::default() };
        assert!(t.check().is_err());
        let t = TermsSettings { stale_pending_days: 366, ..TermsSettings::default() };
        assert!(t.check().is_err());
    }
}
