//! Expiry reminders: queued for vouchers about to expire, once each.

use super::*;

/// How far ahead of a voucher's deadline its reminder goes out.
pub const EXPIRY_REMINDER_HOURS: i64 = 24;
/// Orders one call looks at, at most (the rest wait for the next round).
pub const EXPIRY_REMINDERS_PER_ROUND_MAX: u32 = 200;

/// What [`queue_expiry_reminders`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReminderReport {
    /// Messages queued (one per channel the buyer has).
    pub queued: Vec<i64>,
    /// Orders left without a reminder: no usable contact, or facts missing.
    pub skipped: Vec<String>,
}

/// Queues an expiry reminder for every open voucher whose deadline falls in
/// the next `within_hours` hours (at most [`EXPIRY_REMINDERS_PER_ROUND_MAX`]
/// orders), once per voucher and channel: the event key makes a second call
/// queue nothing. A voucher already paid (a paid or refunded payment for the
/// order) gets none. Audited as `triggered_by`. Run by the app's deliverer
/// before each round.
pub fn queue_expiry_reminders(
    store: &mut Store,
    now: DateTime<Utc>,
    within_hours: i64,
    triggered_by: &str,
) -> Result<ReminderReport, NotificationError> {
    let until = now + Duration::hours(within_hours.max(0));
    let mut report = ReminderReport::default();
    for order_id in store.orders_due_expiry_reminder(now, until, EXPIRY_REMINDERS_PER_ROUND_MAX)? {
        let event = NotificationEvent::ExpiryReminder { order_id: order_id.clone() };
        match queue_for_event(store, &event, triggered_by) {
            Ok(ids) => report.queued.extend(ids),
            Err(e @ (NotificationError::Store(_) | NotificationError::Template(_) | NotificationError::Vault(_))) => {
                return Err(e);
            }
            Err(_) => report.skipped.push(order_id),
        }
    }
    Ok(report)
}
