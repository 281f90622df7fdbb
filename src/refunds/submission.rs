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
use crate::market::Country;
use crate::money::Currency;
use crate::notifications::{self, NotificationEvent};
use crate::operators::{Operator, Permission};
use crate::psp::{PaidBy, RailAnswer, RailError, RailPayee, RefundOrder, RefundRail, TransferEvidence};
use crate::store::{RefundFilter, RefundRow, RefundUpdate, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use super::rails::client_from_config;

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

/// Per-request time-out of the submitter's PSP client: a time-out leaves
/// the refund submitted, resent next round with its key.
pub const SUBMIT_REQUEST_TIMEOUT_MS: u64 = crate::psp::http::REQUEST_TIMEOUT_MS;

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

fn country_of(currency: Currency) -> Option<Country> {
    match currency {
        Currency::Cop => Some(Country::Colombia),
        Currency::Pen => Some(Country::Peru),
        Currency::Usd => None,
    }
}

/// The refund as its rail is asked to pay it: the stored row's body, the same on every attempt.
pub(crate) fn order_of(
    row: &RefundRow,
    notification_url: Option<String>,
    evidence: Option<TransferEvidence>,
) -> Result<RefundOrder, RefundError> {
    let (_, _, currency) = parse_row(row)?;
    let method =
        RefundMethod::parse(&row.method).ok_or_else(|| RefundError::Corrupt(format!("method {}", row.method)))?;
    let details: RefundDetails = serde_json::from_str(&row.details).map_err(|e| RefundError::Corrupt(e.to_string()))?;
    let payee = match details {
        RefundDetails::BankTransfer { beneficiary, .. } => RailPayee::Bank {
            name: beneficiary.name,
            bank: beneficiary.bank,
            account: beneficiary.account,
            account_type: beneficiary.account_type,
            document: beneficiary.document,
        },
        RefundDetails::CashPickup { payee } => RailPayee::Cash {
            name: payee.name,
            document_type: payee.document_type.as_str().to_string(),
            document: payee.document_number,
            phone: payee.phone,
        },
    };
    Ok(RefundOrder {
        refund_id: row.id,
        method,
        payment_id: row.payment_id.clone(),
        order_id: row.order_id.clone(),
        amount_minor: row.amount_minor,
        currency,
        country: country_of(currency),
        idempotency_key: row.idempotency_key.clone(),
        description: format!("VoucherDesk refund {} ({})", row.id, row.reason),
        payee,
        notification_url,
        evidence,
    })
}

/// Sends the refund's stored body with its stored key.
async fn send(rail: &dyn RefundRail, row: &RefundRow, config: &SubmitConfig) -> Result<RailAnswer, SendError> {
    let order = order_of(row, config.notification_url.clone(), None).map_err(SendError::Local)?;
    rail.send(&order).await.map_err(SendError::Rail)
}

async fn poll(rail: &dyn RefundRail, row: &RefundRow, psp_id: &str) -> Result<RailAnswer, SendError> {
    let method = RefundMethod::parse(&row.method)
        .ok_or_else(|| SendError::Local(RefundError::Corrupt(format!("method {}", row.method))))?;
    rail.status(method, psp_id).await.map_err(SendError::Rail)
}

pub(crate) enum SendError {
    Rail(RailError),
    Local(RefundError),
}

/// How a hand-over is named in the audit log: the first one to the rail, and
/// the same again after no answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Actions {
    pub first: &'static str,
    pub again: &'static str,
}

/// The submitter's names: sent to a PSP, resent.
pub(crate) const API_ACTIONS: Actions = Actions { first: "refund.submit", again: "refund.resend" };

/// Marks the refund as being sent (first time: `approved → submitted`),
/// counting the attempt, before any call. Returns the row to send, or `None`
/// when someone else moved it meanwhile.
fn mark_sending(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<RefundRow>, RefundError> {
    match mark_handed_over(store, operator, id, now, API_ACTIONS) {
        Ok(row) => Ok(row),
        Err(RefundError::BadState { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `approved → submitted` (or a submitted refund with no answer on record,
/// again), in its own transaction, after the refundable-balance invariant;
/// a refund in any other state is refused with `BadState`.
pub(crate) fn mark_handed_over(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    now: DateTime<Utc>,
    actions: Actions,
) -> Result<Option<RefundRow>, RefundError> {
    let payout_limits = match store.refund(id)? {
        Some((row, _)) => {
            let (_, _, currency) = parse_row(&row)?;
            let method = RefundMethod::parse(&row.method)
                .ok_or_else(|| RefundError::Corrupt(format!("method {}", row.method)))?;
            super::limits::applying(store, &row.psp, method, currency)?
        }
        None => None,
    };
    store.update_refund(id, |row, _, held| -> Result<RefundUpdate, RefundError> {
        let (status, _, _) = parse_row(row)?;
        let action = match status {
            RefundStatus::Approved => {
                debug_assert!(status.can_become(RefundStatus::Submitted));
                // The last moment before the money leaves: the payment may have been
                // reversed, or another desktop's refund taken its share, since approval.
                super::invariant::ensure_covers(&row.payment_id, held, row.amount_minor)?;
                // And the account's payout limits for today: over them, it waits for another day.
                if let Some(applied) = &payout_limits {
                    let day = super::limits::PayoutDay::HandedOver;
                    super::limits::ensure_within(applied, &held.payouts, row.amount_minor, day, now.timestamp())?;
                }
                row.status = RefundStatus::Submitted.as_str().into();
                row.submitted_at = Some(now.timestamp());
                actions.first
            }
            RefundStatus::Submitted if row.psp_refund_id.is_none() => actions.again,
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
    })
}

/// How an answer is recorded: its audit action, and the refund's details
/// with what a person recorded (JSON text, and the same for the audit log).
pub(crate) struct Recording {
    pub answered: &'static str,
    pub details: Option<(String, serde_json::Value)>,
}

/// A PSP's answer: audited as such, the details left as requested.
const PSP_ANSWER: Recording = Recording { answered: "refund.psp_answer", details: None };

/// Records the PSP's answer (or the error) on a submitted refund; an error's
/// text goes through `redact` before it is kept or audited.
pub(crate) fn record(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    outcome: &Result<RailAnswer, SendError>,
    now: DateTime<Utc>,
    redact: &dyn Fn(&str) -> String,
    recording: &Recording,
) -> Result<Option<RefundStatus>, RefundError> {
    let Recording { answered, details } = recording;
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
                row.psp_status = Some(answer.rail_status.clone());
                if answer.withdrawal_code.is_some() {
                    row.withdrawal_code = answer.withdrawal_code.clone();
                }
                row.status = answer.status.as_str().into();
                row.last_error = None;
                if answer.status.is_final() {
                    row.finished_at = Some(now.timestamp());
                }
                new_status = Some(answer.status);
                let mut said = serde_json::json!({ "psp_id": answer.id, "psp_status": answer.rail_status });
                if let Some((text, recorded)) = &details {
                    row.details = text.clone();
                    said["recorded"] = recorded.clone();
                }
                (*answered, said)
            }
            Err(SendError::Rail(e)) => {
                let message = redact(&e.to_string());
                row.last_error = Some(format!("{}: {message}", e.code()));
                if matches!(e, RailError::Refused { .. }) && row.psp_refund_id.is_none() {
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

fn issue(refund: i64, outcome: &Result<RailAnswer, SendError>, redact: &dyn Fn(&str) -> String) -> Option<SubmitIssue> {
    match outcome {
        Ok(_) => None,
        Err(SendError::Rail(e)) => Some(SubmitIssue {
            refund,
            code: e.code().into(),
            message: redact(&e.to_string()),
            retryable: !matches!(e, RailError::Refused { .. }),
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
    rail: &dyn RefundRail,
    operator: &Operator,
    config: &SubmitConfig,
    now: DateTime<Utc>,
    after_send: &(dyn Fn(i64) + Sync),
) -> Result<SubmitReport, RefundError> {
    operator.require(Permission::RequestRefund)?;
    let mut report = SubmitReport::default();
    let batch = config.batch_max.clamp(1, SUBMIT_BATCH_MAX);
    let approved = rail_rows(store, rail, RefundStatus::Approved, batch)?;
    let mut first_sends = std::collections::HashSet::new();
    for row in &approved {
        match mark_sending(store, operator, row.id, now) {
            Ok(Some(_)) => {
                first_sends.insert(row.id);
            }
            Ok(None) => {}
            // Not sent, and it stays approved: someone cancels or amends it, or
            // (over the day's payout limit) a later round sends it on another day.
            Err(e) if e.is_refusal() => report.issues.push(SubmitIssue {
                refund: row.id,
                code: e.code().into(),
                message: e.to_string(),
                retryable: matches!(e, RefundError::LimitExceeded(_)),
            }),
            Err(e) => return Err(e),
        }
    }
    let submitted = rail_rows(store, rail, RefundStatus::Submitted, batch)?;
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
                let outcome = send(rail, &sending, config).await;
                if outcome.is_ok() {
                    after_send(sending.id);
                }
                outcome
            }
            Some(psp_id) => {
                report.polled += 1;
                poll(rail, &row, &psp_id).await
            }
        };
        let redact = |text: &str| rail.redact(text);
        if let Some(i) = issue(row.id, &outcome, &redact) {
            report.issues.push(i);
        }
        match record(store, operator, row.id, &outcome, now, &redact, &PSP_ANSWER) {
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

/// The refunds in `status` that `rail` pays through its API (the rest are
/// another rail's, or paid by a person), oldest first, at most `batch`.
fn rail_rows(
    store: &Store,
    rail: &dyn RefundRail,
    status: RefundStatus,
    batch: u32,
) -> Result<Vec<RefundRow>, RefundError> {
    let mut rows = Vec::new();
    match rail.paid_by() {
        PaidBy::Person => return Ok(rows),
        PaidBy::Api => {}
    }
    for method in RefundMethod::ALL.into_iter().filter(|m| rail.pays(*m)) {
        let filter = RefundFilter {
            status: Some(status.as_str()),
            method: Some(method.as_str()),
            psp: Some(rail.name()),
            ..RefundFilter::default()
        };
        rows.extend(store.refunds_where(&filter, 0, batch)?);
    }
    rows.sort_by_key(|r| r.id);
    rows.truncate(batch as usize);
    Ok(rows)
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
    /// The rail's id, status (mapped by the PSP) and withdrawal code.
    pub answer: RailAnswer,
    /// Payouts carry our reference (`refund-ID`), refunds do not.
    pub our_refund: Option<i64>,
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
    let (answer, our_refund) = match kind {
        RefundCallback::Refund => super::rails::dlocal_refund_callback(body)?,
        RefundCallback::Payout => super::rails::dlocal_payout_callback(body)?,
    };
    Ok(CallbackReading { answer, our_refund })
}

/// What follows a recorded answer of the PSP about a refund. A cash withdrawal
/// waiting with its code tells the buyer to collect it; a refund that
/// succeeded gets its receipt archived, and a bank refund tells the buyer
/// (refund_completed; a collected cash pickup needs no message). Messages are queued once per refund and
/// channel (`notifications::queue_for_event`), so a repeated answer adds none.
/// None of this can undo the PSP's answer: what failed is returned as
/// (code, message) for the caller to report.
pub(crate) fn after_change(store: &mut Store, id: i64, status: RefundStatus, actor: &str) -> Vec<(String, String)> {
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
    let row = match store.refund_by_psp_id(psp, &reading.answer.id)? {
        Some(row) => Some(row),
        None => match reading.our_refund {
            Some(id) => store.refund(id)?.map(|(row, _)| row).filter(|r| r.psp == psp && r.psp_refund_id.is_none()),
            None => None,
        },
    };
    let Some(row) = row else { return Ok(CallbackOutcome::Unmatched) };
    let status = reading.answer.status;
    let (current, _, _) = parse_row(&row)?;
    if current != RefundStatus::Submitted || (status == RefundStatus::Submitted && row.psp_refund_id.is_some()) {
        return Ok(CallbackOutcome::Duplicate { refund: row.id });
    }
    let answer = reading.answer.clone();
    let operator = Operator { name: actor.to_string(), role: crate::operators::Role::Support, language: "en".into() };
    let redact = |text: &str| crate::redact::redact(text, &[]);
    match record(store, &operator, row.id, &Ok(answer), now, &redact, &PSP_ANSWER) {
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
