-- VoucherDesk version 20: the outbox also carries the daily report's email
-- (kind `daily_report`, to the list a manager scheduled; its `order_id` names
-- the report). SQLite cannot change a CHECK constraint in place: the outbox
-- table is rebuilt with the same columns, in the same order, and its indexes.

CREATE TABLE buyer_notifications_v20 (
    id                   INTEGER PRIMARY KEY,
    order_id             TEXT    NOT NULL,
    kind                 TEXT    NOT NULL CHECK (kind IN ('voucher_instructions', 'expiry_reminder',
                                   'payment_received', 'refund_approved', 'refund_completed',
                                   'cash_ready_for_pickup', 'voucher_cancelled', 'daily_report')),
    channel              TEXT    NOT NULL CHECK (channel IN ('email', 'sms')),
    locale               TEXT    NOT NULL,
    recipient            TEXT    NOT NULL,
    subject              TEXT    NOT NULL,
    body_text            TEXT    NOT NULL,
    body_html            TEXT    NOT NULL,
    params               TEXT    NOT NULL DEFAULT '{}',
    status               TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown')),
    attempts             INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at      INTEGER NOT NULL,
    last_error           TEXT,
    provider_message_id  TEXT,
    client_ref           TEXT    NOT NULL UNIQUE,
    trigger              TEXT    NOT NULL CHECK (trigger IN ('event', 'manual', 'override')),
    triggered_by         TEXT    NOT NULL,
    event_key            TEXT    UNIQUE,
    queued_at            INTEGER NOT NULL,
    claimed_at           INTEGER,
    sent_at              INTEGER,
    updated_at           INTEGER NOT NULL,
    barcode              TEXT
);

INSERT INTO buyer_notifications_v20(id, order_id, kind, channel, locale, recipient, subject, body_text, body_html,
    params, status, attempts, next_attempt_at, last_error, provider_message_id, client_ref, trigger, triggered_by,
    event_key, queued_at, claimed_at, sent_at, updated_at, barcode)
SELECT id, order_id, kind, channel, locale, recipient, subject, body_text, body_html,
    params, status, attempts, next_attempt_at, last_error, provider_message_id, client_ref, trigger, triggered_by,
    event_key, queued_at, claimed_at, sent_at, updated_at, barcode
FROM buyer_notifications;

DROP TABLE buyer_notifications;
ALTER TABLE buyer_notifications_v20 RENAME TO buyer_notifications;

CREATE INDEX buyer_notifications_by_order ON buyer_notifications(order_id, queued_at);
CREATE INDEX buyer_notifications_due ON buyer_notifications(status, next_attempt_at);
