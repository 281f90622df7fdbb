//! Which rail pays a refund: the one place in `refunds` that names a PSP's
//! client, as `sync::sources` is for status polling. Everything else in
//! `refunds` works through `psp::RefundRail`.

use super::{RefundError, RefundMethod};
use crate::credentials::{self, AccountSecrets, PspKind, SecretVault};
use crate::model::money::Currency;
use crate::psp::dlocal::client::DlocalClient;
use crate::psp::{Psp, RailAnswer, RefundRail};
use crate::store::Store;

/// The API rail of the configured account (`psp_accounts` for the base
/// URL, the OS keyring for the secrets), the way the sync builds its sources
/// (`sync::sources_from_config`): the first account, by name, of a PSP whose
/// API pays refunds (dLocal; PagoEfectivo's has none).
///
/// No such account: [`RefundError::NoPspAccount`]. A locked or absent
/// keyring, or an account whose entry is gone: [`RefundError::Credentials`].
pub fn client_from_config(
    store: &Store,
    vault: &dyn SecretVault,
    timeout: std::time::Duration,
) -> Result<Box<dyn RefundRail>, RefundError> {
    let accounts = credentials::accounts_in_use(store, vault)?;
    let Some(in_use) = accounts.into_iter().find(|a| a.account.psp == PspKind::Dlocal) else {
        return Err(RefundError::NoPspAccount);
    };
    match &in_use.secrets {
        AccountSecrets::Dlocal(s) => {
            let keys = s.credentials();
            let client = DlocalClient::new(&in_use.account.base_url, keys, timeout).map_err(|e| {
                RefundError::PspAccount(format!("{}: {}", in_use.account.name, in_use.secrets.redact(&e.to_string())))
            })?;
            Ok(Box::new(client))
        }
        AccountSecrets::PagoEfectivo(_) => Err(RefundError::PspAccount(format!(
            "account {} is registered as dlocal but holds PagoEfectivo secrets",
            in_use.account.name
        ))),
    }
}

/// Refuses a method no rail pays for a payment taken by `psp`: a
/// `bank_transfer` goes for any PSP (finance pays it); the others only where
/// the PSP's own rail pays them, else the refusal names `bank_transfer`.
pub(crate) fn check_method(psp: &str, method: RefundMethod) -> Result<(), RefundError> {
    match method {
        RefundMethod::BankTransfer => return Ok(()),
        RefundMethod::PspRefund | RefundMethod::CashWithdrawal => {}
    }
    let known = Psp::parse(psp).ok_or_else(|| RefundError::UnsupportedPsp(psp.to_string()))?;
    if known.refund_methods().contains(&method) {
        Ok(())
    } else {
        Err(RefundError::MethodUnsupported { psp: known.label(), method })
    }
}

/// Whether the rail of `method` for `psp` can be sent `amount_minor`.
pub(crate) fn quotable(psp: &str, method: RefundMethod, amount_minor: i64, currency: Currency) -> bool {
    match method {
        RefundMethod::BankTransfer => true,
        RefundMethod::PspRefund | RefundMethod::CashWithdrawal => {
            Psp::parse(psp).is_some_and(|p| p.refund_amount_quotable(amount_minor, currency))
        }
    }
}

pub(crate) fn dlocal_refund_callback(body: &[u8]) -> Result<(RailAnswer, Option<i64>), String> {
    Ok((crate::psp::dlocal::refunds::refund_callback(body)?, None))
}

pub(crate) fn dlocal_payout_callback(body: &[u8]) -> Result<(RailAnswer, Option<i64>), String> {
    crate::psp::dlocal::refunds::payout_callback(body)
}
