//! Following chargebacks in a sync round: the ledger's open chargebacks are
//! read again at the PSP, so a lost notification does not leave an outcome unknown.

use super::{RATE_BURST_REQUESTS, Round, SyncEngine, lock, with_store};
use crate::sync::rate_limit::TokenBucket;
use crate::sync::schedule;
use crate::sync::{
    CHARGEBACK_FOLLOW_DAYS_MAX, CHARGEBACKS_REREAD_PER_RUN_MAX, ChargebackAnswer, ERROR_MESSAGE_BYTES_MAX,
    RAW_TEXT_BYTES_MAX, SourceError, StatusSource, SyncError, truncated,
};
use std::sync::Arc;
use std::time::Instant;

impl SyncEngine {
    /// Reads again, within the PSP's rate limit, up to
    /// [`CHARGEBACKS_REREAD_PER_RUN_MAX`] chargebacks the ledger knows whose
    /// last status is not final, so a lost notification does not leave a
    /// chargeback's outcome unknown. A new status is recorded as the
    /// notification's would be (dated by the chargeback); a chargeback that
    /// cannot be read is counted and kept as the last error, nothing written.
    pub(super) async fn follow_chargebacks(
        &self,
        round: &Arc<Round>,
        source: &Arc<dyn StatusSource>,
    ) -> Result<(), SyncError> {
        let Some(chargebacks) = source.chargebacks() else { return Ok(()) };
        let psp = source.psp();
        if round.stopped() || round.held(psp) {
            return Ok(());
        }
        let (now, finals) = (round.now, chargebacks.final_statuses());
        let since = now - chrono::TimeDelta::days(CHARGEBACK_FOLLOW_DAYS_MAX);
        let after = lock(&self.chargeback_cursor).get(psp).cloned().unwrap_or_default();
        let due = with_store(round, move |s| {
            let mut due = s.sync_chargebacks_to_follow(psp, &finals, since, &after, CHARGEBACKS_REREAD_PER_RUN_MAX)?;
            // Past the last id: start again from the first.
            if due.len() < CHARGEBACKS_REREAD_PER_RUN_MAX as usize && !after.is_empty() {
                let left = CHARGEBACKS_REREAD_PER_RUN_MAX - due.len() as u32;
                let first = s.sync_chargebacks_to_follow(psp, &finals, since, "", left)?;
                due.extend(first.into_iter().filter(|f| f.chargeback_id <= after));
            }
            Ok(due)
        })
        .await?;
        let mut limiter = TokenBucket::new(source.requests_per_second_max(), RATE_BURST_REQUESTS, Instant::now());
        for followed in due {
            if round.stopped() || round.held(psp) {
                break;
            }
            while let Err(wait) = limiter.try_take(Instant::now()) {
                tokio::time::sleep(wait).await;
            }
            lock(&self.chargeback_cursor).insert(psp.to_string(), followed.chargeback_id.clone());
            round.count(|r| r.chargebacks_read += 1);
            let answer =
                tokio::time::timeout(self.config.fetch_timeout, chargebacks.chargeback(&followed.chargeback_id))
                    .await
                    .unwrap_or_else(|_| {
                        Err(SourceError {
                            retryable: true,
                            retry_after: None,
                            code: "sync.timeout",
                            message: format!("no answer within {} ms", self.config.fetch_timeout.as_millis()),
                        })
                    })
                    .and_then(|answer| checked_chargeback(&followed.payment_id, &followed.chargeback_id, answer));
            match answer {
                // Only a status the ledger has not seen for it is new.
                Ok(answer) if followed.last_status.as_deref() == Some(answer.status.as_str()) => {}
                Ok(answer) => {
                    let actor = self.operator.name.clone();
                    let raw = truncated(&answer.raw_text, RAW_TEXT_BYTES_MAX).to_string();
                    let applied =
                        with_store(round, move |s| Ok(s.sync_record_chargeback(&answer.report, &raw, now, &actor)?))
                            .await?;
                    if applied.outcome.changed_ledger() {
                        round.count(|r| r.chargebacks_changed += 1);
                    }
                }
                Err(error) => {
                    round.count(|r| r.errors += 1);
                    let hold = error.retry_after.map(|retry_after| schedule::hold_until(now, retry_after));
                    if let Some(until) = hold {
                        lock(&round.holds).insert(psp.to_string(), until);
                    }
                    let message = truncated(
                        &format!("chargeback {}: {}", followed.chargeback_id, error.message),
                        ERROR_MESSAGE_BYTES_MAX,
                    )
                    .to_string();
                    let code = error.code;
                    with_store(round, move |s| {
                        // Rate limited: the whole PSP waits, as for a poll.
                        if let Some(until) = hold {
                            let tx = s.sync_begin()?;
                            tx.hold_psp(psp, until, &message)?;
                            tx.commit()?;
                        }
                        Ok(s.sync_chargeback_failed(now, code, &message)?)
                    })
                    .await?;
                }
            }
        }
        Ok(())
    }
}

/// A chargeback answer is about the chargeback asked for, on the payment
/// the ledger has it on.
fn checked_chargeback(
    payment_id: &str,
    chargeback_id: &str,
    answer: ChargebackAnswer,
) -> Result<ChargebackAnswer, SourceError> {
    if answer.report.payment_id != payment_id {
        return Err(SourceError {
            retryable: false,
            retry_after: None,
            code: "sync.chargeback_payment",
            message: format!(
                "chargeback {chargeback_id} is on payment {:?} at the PSP, on {payment_id:?} in the ledger",
                answer.report.payment_id
            ),
        });
    }
    Ok(answer)
}
