//! Payments the sandbox knows from the start (`voucherdesk sandbox --preload
//! FILE`): the demo's still-pending vouchers, so that the desktop demo's sync
//! and "refresh from PSP" get real answers about them, and some of them are
//! paid a little after the sandbox starts.
//!
//! The file is JSON: `{"dlocal": [PreloadedPayment...], "pagoefectivo":
//! [PreloadedCip...]}`. `voucherdesk demo --db` writes one
//! (`sandbox-preload.json`) from the ledger it has just imported; see
//! [`plan_for_demo`].

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use voucherdesk::money::Currency;
use voucherdesk::sync::PendingVoucher;

/// Preload files hold at most this many entries per PSP (the sandbox's own limit).
pub const PRELOAD_ENTRIES_MAX: usize = 100_000;
/// And are at most this large.
pub const PRELOAD_FILE_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// A preloaded payment is paid at most this long after the sandbox starts (30 days).
pub const PAY_AFTER_MS_MAX: u64 = 30 * 24 * 60 * 60 * 1000;

/// The demo's plan: of the pending vouchers, in ledger order, one in
/// `DEMO_PAY_AT_ONCE_EVERY` is paid as soon as the sandbox starts (the app's
/// first sync round sees it), one more in the same stride is paid
/// `DEMO_PAY_LATER_MS` later (a "refresh from PSP" on its case file shows it),
/// the rest stay pending.
pub const DEMO_PAY_AT_ONCE_EVERY: usize = 3;
pub const DEMO_PAY_LATER_MS: u64 = 90_000;

/// A dLocal cash payment the sandbox holds as PENDING from the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreloadedPayment {
    pub payment_id: String,
    pub order_id: String,
    pub amount_minor: i64,
    pub currency: Currency,
    /// `CO` or `PE`.
    pub country: String,
    /// The ticket number (the voucher code).
    pub voucher_code: String,
    pub created_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// PAID this long after the sandbox starts; `None`: stays PENDING.
    pub pay_after_ms: Option<u64>,
}

/// A PagoEfectivo CIP the sandbox holds as pending ("Generado") from the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreloadedCip {
    pub cip: u64,
    pub transaction_code: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub created_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub pay_after_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preload {
    #[serde(default)]
    pub dlocal: Vec<PreloadedPayment>,
    #[serde(default)]
    pub pagoefectivo: Vec<PreloadedCip>,
}

#[derive(Debug, thiserror::Error)]
pub enum PreloadError {
    #[error("{path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}: preload files are limited to {PRELOAD_FILE_MAX_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path}: line {line}, column {column}: {reason}")]
    Parse { path: PathBuf, line: usize, column: usize, reason: String },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

impl PreloadError {
    pub fn code(&self) -> &'static str {
        match self {
            PreloadError::Read { .. } => "preload.read",
            PreloadError::TooLarge { .. } => "preload.too_large",
            PreloadError::Parse { .. } => "preload.invalid",
            PreloadError::Invalid { .. } => "preload.limits",
        }
    }
}

impl Preload {
    pub fn from_file(path: &Path) -> Result<Preload, PreloadError> {
        let read = |e: std::io::Error| PreloadError::Read { path: path.to_path_buf(), reason: e.to_string() };
        if std::fs::metadata(path).map_err(read)?.len() > PRELOAD_FILE_MAX_BYTES {
            return Err(PreloadError::TooLarge { path: path.to_path_buf() });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        let preload: Preload = serde_json::from_str(&text).map_err(|e| PreloadError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            reason: e.to_string(),
        })?;
        preload.check().map_err(|reason| PreloadError::Invalid { path: path.to_path_buf(), reason })?;
        Ok(preload)
    }

    /// Limits beyond the file's shape.
    pub fn check(&self) -> Result<(), String> {
        if self.dlocal.len() > PRELOAD_ENTRIES_MAX || self.pagoefectivo.len() > PRELOAD_ENTRIES_MAX {
            return Err(format!("at most {PRELOAD_ENTRIES_MAX} entries per PSP"));
        }
        let late = |what: &str, id: &str, ms: Option<u64>| {
            ms.filter(|ms| *ms > PAY_AFTER_MS_MAX)
                .map(|ms| format!("{what} {id}: pay_after_ms = {ms} is above the {PAY_AFTER_MS_MAX} ms limit"))
        };
        for p in &self.dlocal {
            if p.amount_minor <= 0 {
                return Err(format!("dlocal {}: amount_minor must be positive", p.payment_id));
            }
            if !matches!(p.country.as_str(), "CO" | "PE") {
                return Err(format!("dlocal {}: country {:?} is not CO or PE", p.payment_id, p.country));
            }
            if let Some(problem) = late("dlocal", &p.payment_id, p.pay_after_ms) {
                return Err(problem);
            }
        }
        for c in &self.pagoefectivo {
            if c.amount_minor <= 0 {
                return Err(format!("pagoefectivo {}: amount_minor must be positive", c.cip));
            }
            if let Some(problem) = late("pagoefectivo", &c.cip.to_string(), c.pay_after_ms) {
                return Err(problem);
            }
        }
        Ok(())
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text)
    }
}

/// The demo's preload from the ledger's pending vouchers (see
/// [`DEMO_PAY_AT_ONCE_EVERY`]). PagoEfectivo vouchers whose code is not a CIP
/// number, and PSPs the sandbox does not speak, are left out.
pub fn plan_for_demo(pending: &[PendingVoucher]) -> Preload {
    let mut preload = Preload::default();
    for (i, v) in pending.iter().enumerate() {
        let pay_after_ms = match i % DEMO_PAY_AT_ONCE_EVERY {
            0 => Some(0),
            1 => Some(DEMO_PAY_LATER_MS),
            _ => None,
        };
        match v.psp.as_str() {
            voucherdesk::psp::dlocal::PSP_NAME => preload.dlocal.push(PreloadedPayment {
                payment_id: v.payment_id.clone(),
                order_id: v.order_id.clone(),
                amount_minor: v.amount_minor,
                currency: v.currency,
                country: v.country.clone(),
                voucher_code: v.voucher_code.clone(),
                created_at: v.created_at,
                expires_at: v.expires_at,
                pay_after_ms,
            }),
            voucherdesk::psp::pagoefectivo::PSP_NAME => {
                let Ok(cip) = v.voucher_code.trim().parse::<u64>().or_else(|_| v.payment_id.trim().parse::<u64>())
                else {
                    continue;
                };
                preload.pagoefectivo.push(PreloadedCip {
                    cip,
                    transaction_code: v.order_id.clone(),
                    amount_minor: v.amount_minor,
                    currency: v.currency,
                    created_at: v.created_at,
                    expires_at: v.expires_at,
                    pay_after_ms,
                })
            }
            _ => {}
        }
    }
    preload
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voucher(psp: &str, id: &str, code: &str) -> PendingVoucher {
        PendingVoucher {
            psp: psp.into(),
            payment_id: id.into(),
            order_id: format!("O-{id}"),
            country: if psp == "dlocal" { "CO".into() } else { "PE".into() },
            currency: if psp == "dlocal" { Currency::Cop } else { Currency::Pen },
            amount_minor: 5_000_000,
            voucher_code: code.into(),
            created_at: None,
            expires_at: None,
        }
    }

    #[test]
    fn the_demo_plan_pays_one_in_three_at_once_one_later_and_skips_what_it_cannot_serve() {
        let pending = [
            voucher("dlocal", "D-1", "440001"),
            voucher("dlocal", "D-2", "440002"),
            voucher("dlocal", "D-3", "440003"),
            voucher("pagoefectivo", "2600005", "2600005"),
            voucher("pagoefectivo", "not-a-cip", "ref-x"),
            voucher("paypal", "P-1", ""),
        ];
        let plan = plan_for_demo(&pending);
        let dl: Vec<Option<u64>> = plan.dlocal.iter().map(|p| p.pay_after_ms).collect();
        assert_eq!(dl, [Some(0), Some(DEMO_PAY_LATER_MS), None]);
        assert_eq!(plan.pagoefectivo.len(), 1);
        assert_eq!((plan.pagoefectivo[0].cip, plan.pagoefectivo[0].pay_after_ms), (2_600_005, Some(0)));
        assert_eq!(plan.check(), Ok(()));
    }

    #[test]
    fn bad_entries_are_refused_by_name() {
        let mut plan = plan_for_demo(&[voucher("dlocal", "D-1", "1")]);
        plan.dlocal[0].country = "AR".into();
        assert_eq!(plan.check().unwrap_err(), "dlocal D-1: country \"AR\" is not CO or PE");
        plan.dlocal[0].country = "CO".into();
        plan.dlocal[0].pay_after_ms = Some(PAY_AFTER_MS_MAX + 1);
        assert!(plan.check().unwrap_err().starts_with("dlocal D-1: pay_after_ms = 2592000001 is above"));
    }
}
