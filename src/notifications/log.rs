//! The outbox as support reads it.

use super::*;

/// One line of the notification log (a case file's, or the failures screen's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "NotificationLogEntry"))]
pub struct LogEntry {
    pub id: i64,
    pub order_id: String,
    pub kind: String,
    pub channel: String,
    pub locale: String,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub trigger: String,
    pub triggered_by: String,
    pub queued_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<BuyerNotificationRow> for LogEntry {
    fn from(r: BuyerNotificationRow) -> Self {
        let next = (r.status == "queued").then_some(r.next_attempt_at);
        LogEntry {
            id: r.id,
            order_id: r.order_id,
            kind: r.kind,
            channel: r.channel,
            locale: r.locale,
            recipient: r.recipient,
            subject: r.subject,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            provider_message_id: r.provider_message_id,
            trigger: r.trigger,
            triggered_by: r.triggered_by,
            queued_at: r.queued_at,
            sent_at: r.sent_at,
            next_attempt_at: next,
        }
    }
}

/// A page of the log, newest first.
pub fn list(
    store: &Store,
    operator: &Operator,
    order_id: Option<&str>,
    status: Option<Status>,
    before_id: Option<i64>,
    limit: u32,
) -> Result<Vec<LogEntry>, NotificationError> {
    operator.require(Permission::Lookup)?;
    let rows = store.buyer_notifications(&NotificationFilter {
        order_id: order_id.map(str::trim),
        status: status.map(Status::as_str),
        before_id,
        limit: limit.clamp(1, LIST_PAGE_ROWS_MAX),
    })?;
    Ok(rows.into_iter().map(LogEntry::from).collect())
}
