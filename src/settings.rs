//! Settings an admin may change; everyone reads them.

use crate::audit::audit_entry;
use crate::model::settlement::{SETTLEMENT_LAG_DAYS_DEFAULT, SETTLEMENT_LAG_DAYS_MAX};
use crate::operators::{Operator, OperatorError, Permission};
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};

pub const IDLE_LOCK_MINUTES_DEFAULT: u32 = 15;
pub const IDLE_LOCK_MINUTES_MAX: u32 = 480;
/// Largest amount tolerance, in minor units: 100.00 of any currency.
pub const AMOUNT_TOLERANCE_MINOR_MAX: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Settings {
    pub settlement_lag_days: i64,
    pub amount_tolerance_minor: i64,
    pub idle_lock_minutes: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            settlement_lag_days: SETTLEMENT_LAG_DAYS_DEFAULT,
            amount_tolerance_minor: 0,
            idle_lock_minutes: IDLE_LOCK_MINUTES_DEFAULT,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("settlement lag must be 0 to {SETTLEMENT_LAG_DAYS_MAX} days")]
    BadLag,
    #[error("amount tolerance must be 0 to {AMOUNT_TOLERANCE_MINOR_MAX} minor units")]
    BadTolerance,
    #[error("idle lock must be 1 to {IDLE_LOCK_MINUTES_MAX} minutes")]
    BadIdleLock,
    #[error(transparent)]
    Forbidden(#[from] OperatorError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SettingsError {
    pub fn code(&self) -> &'static str {
        match self {
            SettingsError::BadLag | SettingsError::BadTolerance | SettingsError::BadIdleLock => "errors.validation",
            SettingsError::Forbidden(e) => e.code(),
            SettingsError::Store(e) => e.code(),
        }
    }
}

const KEY: &str = "settings";

pub fn get(store: &Store) -> Result<Settings, SettingsError> {
    Ok(store.setting(KEY)?.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
}

pub fn set(store: &mut Store, operator: &Operator, new: &Settings) -> Result<Settings, SettingsError> {
    operator.require(Permission::ChangeSettings)?;
    if !(0..=SETTLEMENT_LAG_DAYS_MAX).contains(&new.settlement_lag_days) {
        return Err(SettingsError::BadLag);
    }
    if !(0..=AMOUNT_TOLERANCE_MINOR_MAX).contains(&new.amount_tolerance_minor) {
        return Err(SettingsError::BadTolerance);
    }
    if !(1..=IDLE_LOCK_MINUTES_MAX).contains(&new.idle_lock_minutes) {
        return Err(SettingsError::BadIdleLock);
    }
    let before = serde_json::to_string(&get(store)?).unwrap_or_default();
    let after = serde_json::to_string(new).unwrap_or_default();
    store.put_setting(KEY, &after, &audit_entry(&operator.name, "settings.change", "settings", &before, &after))?;
    Ok(*new)
}
