//! Approval tiers per currency, the refund window and the other refund
//! settings (stored under their own settings key, changed by admins).

use crate::audit::audit_entry;
use crate::model::refund::ApproverRole;
use crate::money::Currency;
use crate::operators::{Operator, Permission};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::RefundError;

const SETTINGS_KEY: &str = "refunds";

/// Days after payment a `psp_refund` is accepted (dLocal: 15).
pub const REFUND_WINDOW_DAYS_DEFAULT: i64 = 15;
pub const REFUND_WINDOW_DAYS_MAX: i64 = 365;
/// Business days (in the payment's market) a refund may stay pending at the PSP
/// before `refund_unconfirmed` is raised: dLocal's normal answer takes 3–7.
pub const UNCONFIRMED_AFTER_DAYS_DEFAULT: i64 = 7;
pub const UNCONFIRMED_AFTER_DAYS_MAX: i64 = 90;
/// PDF receipts are kept at least this long (6 months) whatever the setting says.
pub const RECEIPT_RETENTION_DAYS_MIN: i64 = 183;
pub const RECEIPT_RETENTION_DAYS_DEFAULT: i64 = RECEIPT_RETENTION_DAYS_MIN;

/// Tier 1 up to `tier1_max_minor` (inclusive), tier 2 up to `tier2_max_minor`, tier 3 above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierLimits {
    pub tier1_max_minor: i64,
    pub tier2_max_minor: i64,
}

impl TierLimits {
    /// The issue's defaults: COP 200,000 / 2,000,000; PEN 200 / 2,000; USD 50 / 500.
    pub fn default_for(currency: Currency) -> TierLimits {
        let (t1, t2) = match currency {
            Currency::Cop => (200_000, 2_000_000),
            Currency::Pen => (200, 2_000),
            Currency::Usd => (50, 500),
        };
        let unit = 10_i64.pow(currency.exponent());
        TierLimits { tier1_max_minor: t1 * unit, tier2_max_minor: t2 * unit }
    }

    pub fn tier_of(&self, amount_minor: i64) -> Tier {
        if amount_minor <= self.tier1_max_minor {
            Tier::One
        } else if amount_minor <= self.tier2_max_minor {
            Tier::Two
        } else {
            Tier::Three
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundSettings {
    pub tiers: BTreeMap<Currency, TierLimits>,
    pub window_days: i64,
    pub unconfirmed_after_days: i64,
    pub receipt_retention_days: i64,
}

impl Default for RefundSettings {
    fn default() -> Self {
        RefundSettings {
            tiers: Currency::ALL.into_iter().map(|c| (c, TierLimits::default_for(c))).collect(),
            window_days: REFUND_WINDOW_DAYS_DEFAULT,
            unconfirmed_after_days: UNCONFIRMED_AFTER_DAYS_DEFAULT,
            receipt_retention_days: RECEIPT_RETENTION_DAYS_DEFAULT,
        }
    }
}

impl RefundSettings {
    pub fn limits(&self, currency: Currency) -> TierLimits {
        self.tiers.get(&currency).copied().unwrap_or_else(|| TierLimits::default_for(currency))
    }

    pub fn tier_of(&self, currency: Currency, amount_minor: i64) -> Tier {
        self.limits(currency).tier_of(amount_minor)
    }

    pub fn check(&self) -> Result<(), RefundError> {
        let bad = |m: String| Err(RefundError::BadSettings(m));
        for (currency, limits) in &self.tiers {
            if limits.tier1_max_minor < 0 || limits.tier2_max_minor < limits.tier1_max_minor {
                return bad(format!("{currency}: tier limits must be 0 ≤ tier 1 ≤ tier 2"));
            }
        }
        if !(1..=REFUND_WINDOW_DAYS_MAX).contains(&self.window_days) {
            return bad(format!("the refund window must be 1 to {REFUND_WINDOW_DAYS_MAX} days"));
        }
        if !(1..=UNCONFIRMED_AFTER_DAYS_MAX).contains(&self.unconfirmed_after_days) {
            return bad(format!(
                "refund_unconfirmed must be raised after 1 to {UNCONFIRMED_AFTER_DAYS_MAX} business days"
            ));
        }
        if self.receipt_retention_days < RECEIPT_RETENTION_DAYS_MIN {
            return bad(format!("receipts are kept at least {RECEIPT_RETENTION_DAYS_MIN} days (6 months)"));
        }
        Ok(())
    }
}

/// The tier a refund was requested at; fixed for its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Tier {
    One,
    Two,
    Three,
}

impl Tier {
    pub fn number(self) -> i64 {
        match self {
            Tier::One => 1,
            Tier::Two => 2,
            Tier::Three => 3,
        }
    }

    pub fn from_number(n: i64) -> Option<Tier> {
        match n {
            1 => Some(Tier::One),
            2 => Some(Tier::Two),
            3 => Some(Tier::Three),
            _ => None,
        }
    }

    /// Whose approvals the tier needs, beyond the requester.
    pub fn approvers(self) -> &'static [ApproverRole] {
        match self {
            Tier::One => &[],
            Tier::Two => &[ApproverRole::Finance],
            Tier::Three => &[ApproverRole::Finance, ApproverRole::Manager],
        }
    }
}

pub fn get(store: &Store) -> Result<RefundSettings, RefundError> {
    Ok(store.setting(SETTINGS_KEY)?.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
}

/// Replaces the refund settings (admins).
pub fn set(store: &mut Store, operator: &Operator, new: &RefundSettings) -> Result<RefundSettings, RefundError> {
    operator.require(Permission::ChangeSettings)?;
    new.check()?;
    let before = serde_json::to_string(&get(store)?).unwrap_or_default();
    let after = serde_json::to_string(new).unwrap_or_default();
    store.put_setting(
        SETTINGS_KEY,
        &after,
        &audit_entry(&operator.name, "refunds.settings", "refund settings", &before, &after),
    )?;
    Ok(new.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_issue_table_in_minor_units() {
        let s = RefundSettings::default();
        assert_eq!(s.limits(Currency::Cop), TierLimits { tier1_max_minor: 20_000_000, tier2_max_minor: 200_000_000 });
        assert_eq!(s.limits(Currency::Pen), TierLimits { tier1_max_minor: 20_000, tier2_max_minor: 200_000 });
        assert_eq!(s.limits(Currency::Usd), TierLimits { tier1_max_minor: 5_000, tier2_max_minor: 50_000 });
        assert_eq!(s.check().map_err(|e| e.to_string()), Ok(()));
    }
}
