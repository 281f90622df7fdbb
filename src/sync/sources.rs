//! The real PSP clients as sync sources: how each PSP is asked "what is this
//! voucher's status now?", and how its errors become the engine's.

use std::time::Duration;

use serde_json::json;

use std::sync::Arc;

use super::{
    ChargebackAnswer, ChargebackFuture, ChargebackSource, FetchFuture, RemoteObservation, SourceError, StatusSource,
    SyncError, SyncTarget,
};
use crate::credentials::{AccountSecrets, PspAccount};
use crate::payments::PaymentStatus;
use crate::psp::dlocal::client::{DlocalClient, DlocalError};
use crate::psp::dlocal::wire::DlocalChargebackStatus;
use crate::psp::pagoefectivo::client::{CipQuery, PagoEfectivoClient, PagoEfectivoError};

/// dLocal publishes no figure for status queries; this keeps us well inside
/// what a merchant account is allowed and spreads polls evenly.
pub const DLOCAL_STATUS_REQUESTS_PER_SECOND_MAX: u32 = 10;
/// Same reasoning for PagoEfectivo's search (one CIP per request here).
pub const PAGOEFECTIVO_SEARCH_REQUESTS_PER_SECOND_MAX: u32 = 5;

/// Whole-request limit of one status poll (the engine has its own deadline too).
pub const POLL_REQUEST_TIMEOUT_MS: u64 = 15_000;

/// The status source of one configured account, around the PSP's real client.
pub fn source_for(account: &PspAccount, secrets: &AccountSecrets) -> Result<Arc<dyn StatusSource>, SyncError> {
    let config =
        |code: &'static str, message: String| SyncError::Config { account: account.name.clone(), code, message };
    let timeout = Duration::from_millis(POLL_REQUEST_TIMEOUT_MS);
    Ok(match secrets {
        AccountSecrets::Dlocal(s) => {
            let credentials = s.credentials();
            let client = DlocalClient::new(&account.base_url, credentials, timeout)
                .map_err(|e| config(e.code(), secrets.redact(&e.to_string())))?;
            Arc::new(DlocalSource::new(client))
        }
        AccountSecrets::PagoEfectivo(s) => {
            let credentials = s.credentials();
            let client = PagoEfectivoClient::with_timeout(&account.base_url, credentials, timeout)
                .map_err(|e| config(e.code(), secrets.redact(&e.to_string())))?;
            Arc::new(PagoEfectivoSource::new(client))
        }
    })
}

pub struct DlocalSource {
    client: DlocalClient,
}

impl DlocalSource {
    pub fn new(client: DlocalClient) -> DlocalSource {
        DlocalSource { client }
    }
}

fn dlocal_error(client: &DlocalClient, e: DlocalError) -> SourceError {
    let message = client.redact(&e.to_string());
    SourceError { retryable: e.is_retryable(), retry_after: e.retry_after(), code: e.code(), message }
}

impl StatusSource for DlocalSource {
    fn psp(&self) -> &'static str {
        crate::psp::dlocal::PSP_NAME
    }

    fn requests_per_second_max(&self) -> u32 {
        DLOCAL_STATUS_REQUESTS_PER_SECOND_MAX
    }

    fn fetch<'a>(&'a self, target: &'a SyncTarget) -> FetchFuture<'a> {
        Box::pin(async move {
            // The whole payment (not just /status): it carries approved_date,
            // which is when the buyer paid, the date finance needs.
            let payment = self.client.payment(&target.payment_id).await.map_err(|e| dlocal_error(&self.client, e))?;
            let reading = &payment.reading;
            let status_at = reading.status.paid_time(payment.approved_at);
            let raw = json!({
                "source": "GET /payments/{id}",
                "id": payment.payment_id,
                "order_id": payment.order_id,
                "status": reading.dlocal_status.as_str(),
                "status_code": reading.status_code,
                "status_detail": reading.status_detail,
                "approved_date": payment.approved_at.map(|t| t.to_rfc3339()),
            });
            Ok(RemoteObservation {
                status: reading.status,
                psp_status: reading.dlocal_status.as_str().to_string(),
                status_code: reading.status_code.to_string(),
                status_at,
                raw_text: raw.to_string(),
            })
        })
    }

    fn chargebacks(&self) -> Option<&dyn ChargebackSource> {
        Some(self)
    }
}

impl ChargebackSource for DlocalSource {
    fn final_statuses(&self) -> Vec<&'static str> {
        DlocalChargebackStatus::ALL.into_iter().filter(|s| s.is_final()).map(DlocalChargebackStatus::as_str).collect()
    }

    fn chargeback<'a>(&'a self, chargeback_id: &'a str) -> ChargebackFuture<'a> {
        Box::pin(async move {
            let reading = self.client.chargeback(chargeback_id).await.map_err(|e| dlocal_error(&self.client, e))?;
            let status = reading.report.psp_status.trim_start_matches("CHARGEBACK ").to_string();
            Ok(ChargebackAnswer { report: reading.report, status, raw_text: reading.raw })
        })
    }
}

pub struct PagoEfectivoSource {
    client: PagoEfectivoClient,
}

impl PagoEfectivoSource {
    pub fn new(client: PagoEfectivoClient) -> PagoEfectivoSource {
        PagoEfectivoSource { client }
    }
}

fn pagoefectivo_error(client: &PagoEfectivoClient, e: PagoEfectivoError) -> SourceError {
    let message = client.redact(&e.to_string());
    // PagoEfectivo's 429 carries no Retry-After; the engine's back-off applies.
    SourceError { retryable: e.is_retryable(), retry_after: None::<Duration>, code: e.code(), message }
}

impl StatusSource for PagoEfectivoSource {
    fn psp(&self) -> &'static str {
        crate::psp::pagoefectivo::PSP_NAME
    }

    fn requests_per_second_max(&self) -> u32 {
        PAGOEFECTIVO_SEARCH_REQUESTS_PER_SECOND_MAX
    }

    fn fetch<'a>(&'a self, target: &'a SyncTarget) -> FetchFuture<'a> {
        Box::pin(async move {
            // The CIP is the voucher code; a payment known only by our order id
            // is searched by transactionCode.
            let query = match target.voucher_code.trim().parse::<u64>() {
                Ok(cip) => CipQuery::Cip(cip),
                Err(_) => CipQuery::TransactionCode(target.order_id.clone()),
            };
            let found = self
                .client
                .search_cips(std::slice::from_ref(&query))
                .await
                .map_err(|e| pagoefectivo_error(&self.client, e))?;
            let Some(cip) = found.into_iter().next() else {
                return Err(SourceError {
                    retryable: false,
                    retry_after: None,
                    code: "pagoefectivo.cip_not_found",
                    message: format!("PagoEfectivo does not know {query:?}"),
                });
            };
            let status_at = match cip.status {
                PaymentStatus::Paid => cip.paid_at,
                PaymentStatus::Expired => Some(cip.expires_at),
                PaymentStatus::Cancelled => cip.removed_at,
                PaymentStatus::Pending
                | PaymentStatus::Rejected
                | PaymentStatus::Refunded
                | PaymentStatus::Reversed
                | PaymentStatus::ChargedBack => None,
            };
            let raw = json!({
                "source": "POST /v1/cips/search",
                "cip": cip.cip,
                "transactionCode": cip.transaction_code,
                "status": cip.status_code,
                "statusName": cip.status_name,
                "datePayment": cip.paid_at.map(|t| t.to_rfc3339()),
                "dateExpiry": cip.expires_at.to_rfc3339(),
            });
            Ok(RemoteObservation {
                status: cip.status,
                psp_status: cip.status_name.clone(),
                status_code: cip.status_code.to_string(),
                status_at,
                raw_text: raw.to_string(),
            })
        })
    }
}
