//! The connection test of a PSP account, made with the connectors' own
//! clients (the same requests, signatures and error handling as sync):
//!
//! - dLocal: a signed `GET /payments/{id}/status` for a payment id that does
//!   not exist ([`DLOCAL_PROBE_PAYMENT_ID`]). dLocal checks the keys and the
//!   signature before it looks the payment up, so "payment not found" (HTTP
//!   404, code 4000) proves the keys right; 401/403 (code 3001) proves them wrong.
//! - PagoEfectivo: the token request (`POST /v1/authorizations`), whose hash
//!   covers the service id, access key and secret.
//!
//! "connection OK", or the PSP's refusal with its code (never a secret:
//! the clients' errors carry none, and the library scrubs them anyway).

use std::time::Duration;

use super::{AccountSecrets, ConnectionTester, PspAccount, TestFuture};
use crate::psp::dlocal::api::ERROR_PAYMENT_NOT_FOUND;
use crate::psp::dlocal::client::{DlocalClient, DlocalError};
use crate::psp::pagoefectivo::client::PagoEfectivoClient;

/// A payment id no merchant has: asked for only to see whether the keys are taken.
pub const DLOCAL_PROBE_PAYMENT_ID: &str = "voucherdesk-connection-test";
/// Whole-request limit of one test request.
pub const TEST_REQUEST_TIMEOUT_MS: u64 = 15_000;

/// Tests with the real dLocal and PagoEfectivo clients.
#[derive(Debug, Clone, Copy, Default)]
pub struct PspClientTester;

/// What a dLocal answer to the probe says about the keys.
fn judge_dlocal(answer: Result<(), DlocalError>) -> Result<(), String> {
    match answer {
        Ok(()) => Ok(()),
        Err(DlocalError::Refused { http_status: 404, dlocal_code, .. })
            if dlocal_code.is_none() || dlocal_code == Some(ERROR_PAYMENT_NOT_FOUND) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("{e} [{}]", e.code())),
    }
}

impl ConnectionTester for PspClientTester {
    fn test<'a>(&'a self, account: &'a PspAccount, secrets: &'a AccountSecrets) -> TestFuture<'a> {
        let timeout = Duration::from_millis(TEST_REQUEST_TIMEOUT_MS);
        Box::pin(async move {
            match secrets {
                AccountSecrets::Dlocal(s) => {
                    let credentials = s.credentials();
                    let client = DlocalClient::new(&account.base_url, credentials, timeout)
                        .map_err(|e| format!("{e} [{}]", e.code()))?;
                    judge_dlocal(client.payment_status(DLOCAL_PROBE_PAYMENT_ID).await.map(|_| ()))
                }
                AccountSecrets::PagoEfectivo(s) => {
                    let credentials = s.credentials();
                    let client = PagoEfectivoClient::with_timeout(&account.base_url, credentials, timeout)
                        .map_err(|e| format!("{e} [{}]", e.code()))?;
                    client.authorize().await.map_err(|e| format!("{e} [{}]", e.code()))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_means_the_keys_were_taken_and_a_refusal_names_its_code() {
        let not_found = DlocalError::Refused {
            operation: "payment status",
            http_status: 404,
            dlocal_code: Some(ERROR_PAYMENT_NOT_FOUND),
            message: "Payment not found.".into(),
            param: None,
        };
        assert_eq!(judge_dlocal(Err(not_found)), Ok(()));
        let refused = DlocalError::Unauthorized {
            operation: "payment status",
            http_status: 403,
            dlocal_code: Some(3001),
            message: "Invalid Credentials.".into(),
        };
        assert_eq!(
            judge_dlocal(Err(refused)).unwrap_err(),
            "dLocal payment status: credentials or signature refused (HTTP 403, dLocal code 3001): Invalid Credentials. [dlocal.credentials]"
        );
        let bad_request = DlocalError::Refused {
            operation: "payment status",
            http_status: 400,
            dlocal_code: Some(5000),
            message: "Invalid request.".into(),
            param: None,
        };
        assert!(judge_dlocal(Err(bad_request)).is_err());
    }
}
