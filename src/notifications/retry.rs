//! Retrying failed messages by hand.

use super::*;

/// Messages one retry may name.
pub const RETRY_IDS_MAX: usize = 100;

/// What a retry of several messages did, per message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetryOutcome {
    /// Back in the queue (same id, same client reference).
    pub retried: Vec<i64>,
    /// Left as they were, with why.
    pub refused: Vec<RetryRefusal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetryRefusal {
    pub id: i64,
    pub code: String,
    pub message: String,
}

/// Puts a `failed` message back in the queue, due now, keeping its id and
/// client reference: a failed message was never accepted by the provider, so
/// sending it again cannot make a duplicate, and the provider's idempotency
/// key (SMS) and the Message-ID (email) stay the same. Anything else is
/// refused: `sent` (already delivered), `unknown` (may have been delivered:
/// re-send by hand after checking with the buyer), `queued`/`sending` (the
/// deliverer has it). Audited with the operator. Does not count towards the
/// manual re-send limit: no new message is made.
pub fn retry_one(store: &mut Store, operator: &Operator, id: i64) -> Result<(), NotificationError> {
    operator.require(Permission::ResendNotification)?;
    let row = store.buyer_notification(id)?.ok_or(NotificationError::UnknownNotification(id))?;
    let status = Status::parse(&row.status)
        .map_err(|_| StoreError::Corrupt(format!("notification {id} has status {:?}", row.status)))?;
    let refuse = |hint: &'static str| NotificationError::NotRetryable { id, status: row.status.clone(), hint };
    match status {
        Status::Failed => {}
        Status::Sent => return Err(refuse(" (this one was delivered)")),
        Status::Unknown => {
            return Err(refuse(
                " (this one may have been delivered: check with the buyer and re-send from the case file if needed)",
            ));
        }
        Status::Queued | Status::Sending => return Err(refuse(" (this one is already with the deliverer)")),
    }
    debug_assert!(status.can_move_to(Status::Queued));
    let entry = audit_entry(
        &operator.name,
        "notifications.retry",
        &format!("notification {id} (order {})", row.order_id),
        &format!("failed after {} attempts: {}", row.attempts, row.last_error.as_deref().unwrap_or("")),
        Status::Queued.as_str(),
    );
    if store.requeue_failed_notification(id, Utc::now(), &entry)? {
        Ok(())
    } else {
        // Moved between the read and the update (another operator's retry).
        let now = store.buyer_notification(id)?.map(|r| r.status).unwrap_or_default();
        Err(NotificationError::NotRetryable { id, status: now, hint: "" })
    }
}

/// [`retry_one`] for each of `ids` (at most [`RETRY_IDS_MAX`]); each message
/// on its own, so one refusal does not hold back the others.
pub fn retry(store: &mut Store, operator: &Operator, ids: &[i64]) -> Result<RetryOutcome, NotificationError> {
    operator.require(Permission::ResendNotification)?;
    if ids.len() > RETRY_IDS_MAX {
        return Err(NotificationError::TooManyIds { given: ids.len(), max: RETRY_IDS_MAX });
    }
    let mut outcome = RetryOutcome::default();
    let mut seen = std::collections::BTreeSet::new();
    for &id in ids.iter().filter(|id| seen.insert(**id)) {
        match retry_one(store, operator, id) {
            Ok(()) => outcome.retried.push(id),
            Err(e @ (NotificationError::Store(_) | NotificationError::Operator(_))) => return Err(e),
            Err(e) => outcome.refused.push(RetryRefusal { id, code: e.code().to_string(), message: e.to_string() }),
        }
    }
    Ok(outcome)
}
