//! Exactly-once submission to the PSP, and following each refund to its end.
//!
//! The idempotency key is created with the request and stored with it. Before
//! any call the refund is marked `submitted` (and the attempt counted) in its
//! own transaction; then the PSP is called with the stored key; then the
//! answer is recorded. A time-out, a 5xx, or a crash anywhere in between
//! leaves the refund `submitted` with no PSP id: the next run sends the same
//! body with the same key, and the PSP answers the refund the first call
//! created. Only an explicit refusal (HTTP 4xx) marks it `failed`; an answer
//! we could not read is not a refusal (the PSP may have acted), so it is
//! resent with the same key too.

use super::{RefundDetails, RefundError, RefundMethod, RefundStatus, decision_audit, parse_row, tiers};
use crate::credentials::{self, AccountSecrets, PspKind, SecretVault};
use crate::market::Country;
use crate::money::Currency;
use crate::notifications::{self, NotificationEvent};
use crate::operators::{Operator, Permission};
use crate::psp::dlocal::client::{CashRefundRequest, DlocalClient, DlocalCredentials, DlocalError, RefundBeneficiary};
use crate::psp::dlocal::payouts::{CashPayoutRequest, DlocalPayoutStatus, PayoutBeneficiary};
use crate::psp::dlocal::wire::DlocalRefundStatus;
use crate::store::{RefundRow, RefundUpdate, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Refunds handled per run and status (the rest wait for the next run).
pub const SUBMIT_BATCH_MAX: u32 = 500;

#[derive(Debug, Clone)]
pub struct SubmitConfig {
    /// `voucherdesk listen`'s dLocal URL (`http://HOST:8718/notifications/dlocal`):
    /// refund outcomes are posted to `…/refunds`, payout outcomes to `…/payouts`.
    pub notification_url: Option<String>,
    /// Refunds handled per run and status, 1 to [`SUBMIT_BATCH_MAX`].
    pub batch_max: u32,
}

impl Default for SubmitConfig {
    fn default() -> Self {
        SubmitConfig { notification_url: None, batch_max: SUBMIT_BATCH_MAX }
    }
}

/// Per-request time-out of the submitter's dLocal client: a time-out leaves
/// the refund submitted, resent next round with its key.
pub const SUBMIT_REQUEST_TIMEOUT_MS: u64 = crate::psp::http::REQUEST_TIMEOUT_MS;

/// The dLocal client of the configured account (`psp_accounts` for the base
/// URL, the OS keyring for the secrets), the way the sync builds its sources
/// (`sync::sources_from_config`): the first dLocal account by name.
///
/// No dLocal account: [`RefundError::NoPspAccount`]. A locked or absent
/// keyring, or an account whose entry is gone: [`RefundError::Credentials`].
pub fn client_from_config(
    store: &Store,
    vault: &dyn SecretVault,
    timeout: std::time::Duration,
) -> Result<DlocalClient, RefundError> {
    let accounts = credentials::accounts_in_use(store, vault)?;
    let Some(in_use) = accounts.into_iter().find(|a| a.account.psp == PspKind::Dlocal) else {
        return Err(RefundError::NoPspAccount);
    };
    match &in_use.secrets {
        AccountSecrets::Dlocal(s) => {
            let keys =
                DlocalCredentials { login: s.login.clone(), trans_key: s.trans_key.clone(), secret: s.secret.clone() };
            DlocalClient::new(&in_use.account.base_url, keys, timeout).map_err(|e| {
                RefundError::PspAccount(format!("{}: {}", in_use.account.name, in_use.secrets.redact(&e.to_string())))
            })
        }
        AccountSecrets::PagoEfectivo(_) => Err(RefundError::PspAccount(format!(
            "account {} is registered as dlocal but holds PagoEfectivo secrets",
            in_use.account.name
        ))),
    }
}

/// What went wrong with one refund this run (it stays where it was).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubmitIssue {
    pub refund: i64,
    pub code: String,
    pub message: String,
    /// The same call may work later; the refund is resent with the same key.
    pub retryable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubmitReport {
    /// Approved refunds sent for the first time.
    pub submitted: u32,
    /// Submitted refunds with no PSP answer on record, sent again with their key.
    pub resent: u32,
    /// Refunds known to the PSP whose status was read.
    pub polled: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub rejected_by_psp: u32,
    /// Still pending at the PSP.
    pub pending: u32,
    pub issues: Vec<SubmitIssue>,
    /// Pending at the PSP for longer than the setting: `refund_unconfirmed` raised.
    pub unconfirmed: Vec<i64>,
}

/// The PSP's verdict on a refund or payout, in our lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PspAnswer {
    id: String,
    status: RefundStatus,
    psp_status: String,
    withdrawal_code: Option<String>,
}

fn from_refund(status: DlocalRefundStatus) -> RefundStatus {
    match status {
        DlocalRefundStatus::Pending => RefundStatus::Submitted,
        DlocalRefundStatus::Success => RefundStatus::Succeeded,
        DlocalRefundStatus::Rejected => RefundStatus::RejectedByPsp,
        DlocalRefundStatus::Cancelled => RefundStatus::Failed,
    }
}

fn from_payout(status: DlocalPayoutStatus) -> RefundStatus {
    match status {
        DlocalPayoutStatus::Pending => RefundStatus::Submitted,
        DlocalPayoutStatus::Paid => RefundStatus::Succeeded,
        DlocalPayoutStatus::Rejected => RefundStatus::RejectedByPsp,
        DlocalPayoutStatus::Cancelled => RefundStatus::Failed,
    }
}

fn country_of(currency: Currency) -> Option<Country> {
    match currency {
        Currency::Cop => Some(Country::Colombia),
        Currency::Pen => Some(Country::Peru),
        Currency::Usd => None,
    }
}

fn callback_url(config: &SubmitConfig, kind: &str) -> Option<String> {
    config.notification_url.as_ref().map(|base| format!("{}/{kind}", base.trim_end_matches('/')))
}

/// Sends the refund's stored body with its stored key.
async fn send(client: &DlocalClient, row: &RefundRow, config: &SubmitConfig) -> Result<PspAnswer, SendError> {
    let (_, _, currency) = parse_row(row).map_err(SendError::Local)?;
    let details: RefundDetails =
        serde_json::from_str(&row.details).map_err(|e| SendError::Local(RefundError::Corrupt(e.to_string())))?;
    match details {
        RefundDetails::BankTransfer { beneficiary } => {
            let request = CashRefundRequest {
                payment_id: row.payment_id.clone(),
                amount_minor: Some(row.amount_minor),
                currency,
                notification_url: callback_url(config, "refunds"),
                description: Some(format!("VoucherDesk refund {} ({})", row.id, row.reason)),
                beneficiary: RefundBeneficiary {
                    name: Some(beneficiary.name),
                    bank: Some(beneficiary.bank),
                    account: Some(beneficiary.account),
                    account_type: Some(beneficiary.account_type),
                    branch: None,
                    document: Some(beneficiary.document),
                },
            };
            let reading =
                client.create_refund_keyed(&request, Some(&row.idempotency_key)).await.map_err(SendError::Psp)?;
            Ok(PspAnswer {
                id: reading.refund_id,
                status: from_refund(reading.status),
                psp_status: format!("{} ({})", reading.status.as_str(), reading.status_code),
                withdrawal_code: None,
            })
        }
        RefundDetails::CashPickup { payee } => {
            let country = country_of(currency).ok_or_else(|| {
                SendError::Local(RefundError::Corrupt(format!("no cash-pickup market for {currency}")))
            })?;
            let request = CashPayoutRequest {
                order_id: row.order_id.clone(),
                external_id: format!("refund-{}", row.id),
                amount_minor: row.amount_minor,
                currency,
                country,
                beneficiary: PayoutBeneficiary {
                    name: payee.name,
                    document_type: payee.document_type.as_str().to_string(),
                    document: payee.document_number,
                    phone: payee.phone,
                },
                notification_url: callback_url(config, "payouts"),
            };
            let reading = client.create_cash_payout(&request, &row.idempotency_key).await.map_err(SendError::Psp)?;
            Ok(PspAnswer {
                id: reading.payout_id,
                status: from_payout(reading.status),
                psp_status: format!("{} ({})", reading.status.as_str(), reading.status_code),
                withdrawal_code: reading.withdrawal_code,
            })
        }
    }
}

async fn poll(client: &DlocalClient, row: &RefundRow, psp_id: &str) -> Result<PspAnswer, SendError> {
    let method = RefundMethod::parse(&row.method)
        .ok_or_else(|| SendError::Local(RefundError::Corrupt(format!("method {}", row.method))))?;
    match method {
        RefundMethod::PspRefund => {
            let reading = client.refund_status(psp_id).await.map_err(SendError::Psp)?;
            Ok(PspAnswer {
                id: reading.refund_id,
                status: from_refund(reading.status),
                psp_status: format!("{} ({})", reading.status.as_str(), reading.status_code),
                withdrawal_code: None,
            })
        }
        RefundMethod::CashWithdrawal => {
            let reading = client.payout_status(psp_id).await.map_err(SendError::Psp)?;
            Ok(PspAnswer {
                id: reading.payout_id,
                status: from_payout(reading.status),
                psp_status: format!("{} ({})", reading.status.as_str(), reading.status_code),
                withdrawal_code: reading.withdrawal_code,
            })
        }
    }
}

enum SendError {
    Psp(DlocalError),
    Local(RefundError),
}

/// Marks the refund as being sent (first time: `approved → submitted`),
/// counting the attempt, before any call. Returns the row to send, or `None`
/// when someone else moved it meanwhile.
fn mark_sending(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<RefundRow>, RefundError> {
    let result = store.update_refund(id, |row, _, held| -> Result<RefundUpdate, RefundError> {
        let (status, _, _) = parse_row(row)?;
        let action = match status {
            RefundStatus::Approved => {
                debug_assert!(status.can_become(RefundStatus::Submitted));
                // The last moment before the money leaves: the payment may have been
                // reversed, or another desktop's refund taken its share, since approval.
                super::invariant::ensure_covers(&row.payment_id, held, row.amount_minor)?;
                row.status = RefundStatus::Submitted.as_str().into();
                row.submitted_at = Some(now.timestamp());
                "refund.submit"
            }
            RefundStatus::Submitted if row.psp_refund_id.is_none() => "refund.resend",
            RefundStatus::Requested
            | RefundStatus::PendingApproval
            | RefundStatus::Submitted
            | RefundStatus::Succeeded
            | RefundStatus::Failed
            | RefundStatus::RejectedByPsp
            | RefundStatus::Cancelled => {
                return Err(RefundError::BadState { id, status: status.as_str(), action: "sending" });
            }
        };
        row.submit_attempts += 1;
        row.updated_at = now.timestamp();
        let extra = serde_json::json!({ "idempotency_key": row.idempotency_key, "attempt": row.submit_attempts });
        Ok(RefundUpdate { approval: None, audit: decision_audit(&operator.name, action, row, status, extra) })
    });
    match result {
        Ok(row) => Ok(row),
        Err(RefundError::BadState { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Records the PSP's answer (or the error) on a submitted refund; an error's
/// text goes through `redact` before it is kept or audited.
fn record(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    outcome: &Result<PspAnswer, SendError>,
    now: DateTime<Utc>,
    redact: &dyn Fn(&str) -> String,
) -> Result<Option<RefundStatus>, RefundError> {
    let mut new_status = None;
    store.update_refund(id, |row, _, _| -> Result<RefundUpdate, RefundError> {
        let (status, _, _) = parse_row(row)?;
        if status != RefundStatus::Submitted {
            return Err(RefundError::BadState { id, status: status.as_str(), action: "recording the PSP's answer" });
        }
        let (action, extra) = match outcome {
            Ok(answer) => {
                if let Some(known) = &row.psp_refund_id {
                    if *known != answer.id {
                        return Err(RefundError::Corrupt(format!(
                            "refund {id}: the PSP answered {} for the refund it knows as {known}",
                            answer.id
                        )));
                    }
                }
                debug_assert!(answer.status == status || status.can_become(answer.status));
                row.psp_refund_id = Some(answer.id.clone());
                row.psp_status = Some(answer.psp_status.clone());
                if answer.withdrawal_code.is_some() {
                    row.withdrawal_code = answer.withdrawal_code.clone();
                }
                row.status = answer.status.as_str().into();
                row.last_error = None;
                if answer.status.is_final() {
                    row.finished_at = Some(now.timestamp());
                }
                new_status = Some(answer.status);
                ("refund.psp_answer", serde_json::json!({ "psp_id": answer.id, "psp_status": answer.psp_status }))
            }
            Err(SendError::Psp(e)) => {
                let message = redact(&e.to_string());
                row.last_error = Some(format!("{}: {message}", e.code()));
                if matches!(e, DlocalError::Refused { .. }) && row.psp_refund_id.is_none() {
                    // The PSP said no to the request itself: nothing was created there.
                    row.status = RefundStatus::Failed.as_str().into();
                    row.finished_at = Some(now.timestamp());
                    new_status = Some(RefundStatus::Failed);
                }
                ("refund.psp_error", serde_json::json!({ "code": e.code(), "message": message }))
            }
            Err(SendError::Local(e)) => {
                let message = redact(&e.to_string());
                row.last_error = Some(format!("{}: {message}", e.code()));
                ("refund.psp_error", serde_json::json!({ "code": e.code(), "message": message }))
            }
        };
        row.updated_at = now.timestamp();
        Ok(RefundUpdate { approval: None, audit: decision_audit(&operator.name, action, row, status, extra) })
    })?;
    Ok(new_status)
}

fn count(report: &mut SubmitReport, status: Option<RefundStatus>) {
    match status {
        Some(RefundStatus::Succeeded) => report.succeeded += 1,
        Some(RefundStatus::Failed) => report.failed += 1,
        Some(RefundStatus::RejectedByPsp) => report.rejected_by_psp += 1,
        Some(RefundStatus::Submitted) => report.pending += 1,
        Some(
            RefundStatus::Requested | RefundStatus::PendingApproval | RefundStatus::Approved | RefundStatus::Cancelled,
        )
        | None => {}
    }
}

fn issue(refund: i64, outcome: &Result<PspAnswer, SendError>, redact: &dyn Fn(&str) -> String) -> Option<SubmitIssue> {
    match outcome {
        Ok(_) => None,
        Err(SendError::Psp(e)) => Some(SubmitIssue {
            refund,
            code: e.code().into(),
            message: redact(&e.to_string()),
            retryable: !matches!(e, DlocalError::Refused { .. }),
        }),
        Err(SendError::Local(e)) => {
            Some(SubmitIssue { refund, code: e.code().into(), message: redact(&e.to_string()), retryable: false })
        }
    }
}

/// Sends every approved refund, resends the submitted ones with no PSP
/// answer on record (same key), and reads the status of those pending at the
/// PSP. `after_send` runs between a PSP answer and its recording (the tests'
/// crash point; a no-op otherwise).
pub async fn submit_and_follow(
    store: &mut Store,
    client: &DlocalClient,
    operator: &Operator,
    config: &SubmitConfig,
    now: DateTime<Utc>,
    after_send: &(dyn Fn(i64) + Sync),
) -> Result<SubmitReport, RefundError> {
    operator.require(Permission::RequestRefund)?;
    let mut report = SubmitReport::default();
    let batch = config.batch_max.clamp(1, SUBMIT_BATCH_MAX);
    let approved = store.refunds(Some(RefundStatus::Approved.as_str()), 0, batch)?;
    let mut first_sends = std::collections::HashSet::new();
    for row in &approved {
        match mark_sending(store, operator, row.id, now) {
            Ok(Some(_)) => {
                first_sends.insert(row.id);
            }
            Ok(None) => {}
            // Not sent, and it stays approved: someone cancels or amends it.
            Err(e) if e.is_refusal() => report.issues.push(SubmitIssue {
                refund: row.id,
                code: e.code().into(),
                message: e.to_string(),
                retryable: false,
            }),
            Err(e) => return Err(e),
        }
    }
    let submitted = store.refunds(Some(RefundStatus::Submitted.as_str()), 0, batch)?;
    for row in submitted {
        let outcome = match row.psp_refund_id.clone() {
            None => {
                let sending = if first_sends.contains(&row.id) {
                    report.submitted += 1;
                    row.clone()
                } else {
                    match mark_sending(store, operator, row.id, now)? {
                        Some(row) => {
                            report.resent += 1;
                            row
                        }
                        None => continue,
                    }
                };
                // Team mode: "submitted" is on the server before the PSP is called.
                store.barrier()?;
                let outcome = send(client, &sending, config).await;
                if outcome.is_ok() {
                    after_send(sending.id);
                }
                outcome
            }
            Some(psp_id) => {
                report.polled += 1;
                poll(client, &row, &psp_id).await
            }
        };
        let redact = |text: &str| client.redact(text);
        if let Some(i) = issue(row.id, &outcome, &redact) {
            report.issues.push(i);
        }
        match record(store, operator, row.id, &outcome, now, &redact) {
            Ok(status) => {
                count(&mut report, status);
                if let Some(changed) = status {
                    for (code, message) in after_change(store, row.id, changed, &operator.name) {
                        report.issues.push(SubmitIssue { refund: row.id, code, message, retryable: false });
                    }
                }
                if let Some(done) = status.filter(|s| s.is_final()) {
                    let note = format!("the PSP answered: {}", done.as_str());
                    store.clear_refund_unconfirmed(&row, &note, now.timestamp(), &operator.name)?;
                }
            }
            Err(RefundError::BadState { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    report.unconfirmed = unconfirmed(store, now)?;
    let settings = tiers::get(store)?;
    for id in &report.unconfirmed {
        if let Some((row, _)) = store.refund(*id)? {
            let detail = format!(
                "refund {} ({} {}) pending at {} for more than {} business days (PSP reference {})",
                row.id,
                crate::money::format_minor(row.amount_minor, Currency::parse(&row.currency).unwrap_or(Currency::Usd)),
                row.currency,
                row.psp,
                settings.unconfirmed_after_days,
                row.psp_refund_id.as_deref().unwrap_or("none yet")
            );
            store.raise_refund_unconfirmed(&row, &detail, now.timestamp(), &operator.name)?;
        }
    }
    Ok(report)
}

/// Refunds pending at the PSP for longer than the setting, in business days
/// of the payment's market (dLocal answers within 3–7 business days).
pub fn unconfirmed(store: &Store, now: DateTime<Utc>) -> Result<Vec<i64>, RefundError> {
    let settings = tiers::get(store)?;
    let rows = store.refunds(Some(RefundStatus::Submitted.as_str()), 0, SUBMIT_BATCH_MAX)?;
    let mut late = Vec::new();
    for r in rows {
        let Some(submitted) = r.submitted_at.and_then(|at| DateTime::from_timestamp(at, 0)) else { continue };
        let market = refund_market(store, &r)?;
        let waited =
            crate::calendar::business_days_between(market, market.business_date(submitted), market.business_date(now));
        if waited > settings.unconfirmed_after_days {
            late.push(r.id);
        }
    }
    Ok(late)
}

/// The market of a refund's payment; its currency's market when the payment is not in the ledger.
fn refund_market(store: &Store, row: &RefundRow) -> Result<Country, RefundError> {
    let payments = store.payments_of_order(&row.order_id)?;
    let country = payments
        .iter()
        .find(|p| p.psp == row.psp && p.payment_id == row.payment_id)
        .and_then(|p| Country::parse(&p.country).ok());
    Ok(country.unwrap_or(match Currency::parse(&row.currency) {
        Ok(Currency::Pen) => Country::Peru,
        Ok(Currency::Cop | Currency::Usd) | Err(_) => Country::Colombia,
    }))
}

/// What a PSP callback about a refund or payout did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CallbackOutcome {
    /// The refund moved to `status`.
    Applied { refund: i64, status: RefundStatus },
    /// Known, and already there (or further: a status never moves back).
    Duplicate { refund: i64 },
    /// No refund of ours carries this PSP id (yet: the poll will find it).
    Unmatched,
}

/// A refund's or payout's status as a PSP callback states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackReading {
    pub psp_id: String,
    /// Payouts carry our reference (`refund-ID`), refunds do not.
    pub our_refund: Option<i64>,
    pub dlocal_status: Result<DlocalRefundStatus, DlocalPayoutStatus>,
    pub status_code: u16,
    pub withdrawal_code: Option<String>,
}

/// Which dLocal object a refund callback carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundCallback {
    /// `POST /notifications/dlocal/refunds`: a refund object.
    Refund,
    /// `POST /notifications/dlocal/payouts`: a cash-pickup payout object.
    Payout,
}

/// Reads a dLocal refund or payout callback body into the status it states.
pub fn callback_reading(kind: RefundCallback, body: &[u8]) -> Result<CallbackReading, String> {
    use crate::psp::dlocal::{api, payouts, transformers};
    match kind {
        RefundCallback::Refund => {
            let refund: api::Refund = serde_json::from_slice(body).map_err(|e| format!("not a dLocal refund: {e}"))?;
            let reading = transformers::refund_reading(&refund).map_err(|e| e.to_string())?;
            Ok(CallbackReading {
                psp_id: reading.refund_id,
                our_refund: None,
                dlocal_status: Ok(reading.status),
                status_code: reading.status_code,
                withdrawal_code: None,
            })
        }
        RefundCallback::Payout => {
            let payout: payouts::Payout =
                serde_json::from_slice(body).map_err(|e| format!("not a dLocal payout: {e}"))?;
            let reading = payouts::payout_reading(&payout).map_err(|e| e.to_string())?;
            let our_refund =
                payout.external_id.as_deref().and_then(|x| x.strip_prefix("refund-")).and_then(|id| id.parse().ok());
            Ok(CallbackReading {
                psp_id: reading.payout_id,
                our_refund,
                dlocal_status: Err(reading.status),
                status_code: reading.status_code,
                withdrawal_code: reading.withdrawal_code,
            })
        }
    }
}

/// What follows a recorded answer of the PSP about a refund. A cash withdrawal
/// waiting with its code tells the buyer to collect it; a refund that
/// succeeded gets its receipt archived, and a bank refund tells the buyer
/// (refund_completed; a collected cash pickup needs no message). Messages are queued once per refund and
/// channel (`notifications::queue_for_event`), so a repeated answer adds none.
/// None of this can undo the PSP's answer: what failed is returned as
/// (code, message) for the caller to report.
fn after_change(store: &mut Store, id: i64, status: RefundStatus, actor: &str) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let row = match store.refund(id) {
        Ok(Some((row, _))) => row,
        Ok(None) => return problems,
        Err(e) => return vec![("store".into(), format!("{status:?}, but it could not be read again: {e}"))],
    };
    let cash = row.method == RefundMethod::CashWithdrawal.as_str();
    if status == RefundStatus::Succeeded {
        if let Err(e) = super::receipt::archive_succeeded(store, id) {
            problems.push((e.code().into(), format!("succeeded, but its receipt was not archived: {e}")));
        }
    }
    let event = match (status, cash, row.withdrawal_code.clone()) {
        (RefundStatus::Submitted, true, Some(withdrawal_code)) => Some(NotificationEvent::CashReadyForPickup {
            order_id: row.order_id.clone(),
            refund_id: id.to_string(),
            amount_minor: row.amount_minor,
            withdrawal_code,
            pickup_deadline: None,
        }),
        (RefundStatus::Succeeded, false, _) => Some(NotificationEvent::RefundCompleted {
            order_id: row.order_id.clone(),
            refund_id: id.to_string(),
            amount_minor: row.amount_minor,
        }),
        (
            RefundStatus::Requested
            | RefundStatus::PendingApproval
            | RefundStatus::Approved
            | RefundStatus::Submitted
            | RefundStatus::Succeeded
            | RefundStatus::Failed
            | RefundStatus::RejectedByPsp
            | RefundStatus::Cancelled,
            _,
            _,
        ) => None,
    };
    if let Some(event) = event {
        if let Err(e) = notifications::queue_for_event(store, &event, actor) {
            problems.push((e.code().into(), format!("the buyer was not notified: {e}")));
        }
    }
    problems
}

/// Applies a verified refund or payout callback to our refund.
pub fn apply_callback(
    store: &mut Store,
    psp: &str,
    actor: &str,
    reading: &CallbackReading,
    now: DateTime<Utc>,
) -> Result<CallbackOutcome, RefundError> {
    let row = match store.refund_by_psp_id(psp, &reading.psp_id)? {
        Some(row) => Some(row),
        None => match reading.our_refund {
            Some(id) => store.refund(id)?.map(|(row, _)| row).filter(|r| r.psp == psp && r.psp_refund_id.is_none()),
            None => None,
        },
    };
    let Some(row) = row else { return Ok(CallbackOutcome::Unmatched) };
    let (status, psp_status) = match reading.dlocal_status {
        Ok(s) => (from_refund(s), format!("{} ({})", s.as_str(), reading.status_code)),
        Err(s) => (from_payout(s), format!("{} ({})", s.as_str(), reading.status_code)),
    };
    let (current, _, _) = parse_row(&row)?;
    if current != RefundStatus::Submitted || (status == RefundStatus::Submitted && row.psp_refund_id.is_some()) {
        return Ok(CallbackOutcome::Duplicate { refund: row.id });
    }
    let answer =
        PspAnswer { id: reading.psp_id.clone(), status, psp_status, withdrawal_code: reading.withdrawal_code.clone() };
    let operator = Operator { name: actor.to_string(), role: crate::operators::Role::Support, language: "en".into() };
    match record(store, &operator, row.id, &Ok(answer), now, &|text: &str| crate::redact::redact(text, &[])) {
        Ok(Some(new_status)) => {
            // Recorded already: a receipt that cannot be archived now is written when
            // asked for, and the buyer's message can be re-sent from the case file.
            let _ = after_change(store, row.id, new_status, actor);
            if new_status.is_final() {
                let note = format!("the PSP notified: {}", new_status.as_str());
                store.clear_refund_unconfirmed(&row, &note, now.timestamp(), actor)?;
            }
            Ok(CallbackOutcome::Applied { refund: row.id, status: new_status })
        }
        Ok(None) | Err(RefundError::BadState { .. }) => Ok(CallbackOutcome::Duplicate { refund: row.id }),
        Err(e) => Err(e),
    }
}
