-- Outbound buyer notifications (src/notifications/): the outbox and the
-- contact changes support records. Inbound PSP notifications are 0003.

-- One row per message to a buyer. The content is rendered when the message is
-- queued and kept: the log shows exactly what was (or was to be) sent.
CREATE TABLE buyer_notifications (
    id                   INTEGER PRIMARY KEY,
    order_id             TEXT    NOT NULL,
    kind                 TEXT    NOT NULL CHECK (kind IN ('voucher_instructions', 'expiry_reminder',
                                   'payment_received', 'refund_approved', 'refund_completed',
                                   'cash_ready_for_pickup')),
    channel              TEXT    NOT NULL CHECK (channel IN ('email', 'sms')),
    locale               TEXT    NOT NULL,
    recipient            TEXT    NOT NULL,
    subject              TEXT    NOT NULL,
    body_text            TEXT    NOT NULL,
    body_html            TEXT    NOT NULL,
    -- What the event said that the order does not (refund amount, withdrawal
    -- code...), as JSON: a re-send renders the same facts for today's contact.
    params               TEXT    NOT NULL DEFAULT '{}',
    status               TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown')),
    attempts             INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at      INTEGER NOT NULL,
    last_error           TEXT,
    provider_message_id  TEXT,
    -- Created with the row, sent on every attempt: the SMS provider's
    -- idempotency key and the email's Message-ID.
    client_ref           TEXT    NOT NULL UNIQUE,
    -- 'event' (queued by a module), 'manual' (a re-send), 'override' (a
    -- manager's re-send beyond the limit).
    trigger              TEXT    NOT NULL CHECK (trigger IN ('event', 'manual', 'override')),
    triggered_by         TEXT    NOT NULL,
    -- Set for event messages: one message per event and channel, whoever calls twice.
    event_key            TEXT    UNIQUE,
    queued_at            INTEGER NOT NULL,
    claimed_at           INTEGER,
    sent_at              INTEGER,
    updated_at           INTEGER NOT NULL
);

CREATE INDEX buyer_notifications_by_order ON buyer_notifications(order_id, queued_at);
CREATE INDEX buyer_notifications_due ON buyer_notifications(status, next_attempt_at);

-- A buyer's email or phone as corrected by support; the latest row wins over
-- the imported order. Never updated: a new change is a new row.
CREATE TABLE buyer_contact_changes (
    id          INTEGER PRIMARY KEY,
    order_id    TEXT    NOT NULL,
    field       TEXT    NOT NULL CHECK (field IN ('email', 'phone')),
    old_value   TEXT    NOT NULL,
    new_value   TEXT    NOT NULL,
    changed_by  TEXT    NOT NULL,
    changed_at  INTEGER NOT NULL
);

CREATE INDEX buyer_contact_changes_by_order ON buyer_contact_changes(order_id, field, id);
