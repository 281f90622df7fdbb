-- VoucherDesk version 3: PSP notifications as received, whatever became of them.
-- One row per distinct request (`fingerprint` = SHA-256 over the PSP, the
-- headers kept and the body): a PSP re-delivering the same bytes, or a second
-- audit of the same captured log, finds its row and changes nothing.

CREATE TABLE psp_notifications (
    id              INTEGER PRIMARY KEY,
    psp             TEXT    NOT NULL CHECK (psp IN ('dlocal', 'pagoefectivo')),
    -- `listen`: received by our endpoint; `log`: read from a captured log by
    -- `verify-notifications`.
    channel         TEXT    NOT NULL CHECK (channel IN ('listen', 'log')),
    fingerprint     TEXT    NOT NULL UNIQUE,
    received_at     INTEGER NOT NULL,
    -- Only the headers that matter (dates, login, signatures), lower-case
    -- names; the signature is kept, a secret never is.
    headers_json    TEXT    NOT NULL,
    body            BLOB    NOT NULL,
    verdict         TEXT    NOT NULL CHECK (verdict IN
                        ('applied', 'duplicate', 'forged', 'unsigned', 'stale', 'malformed', 'unmatched')),
    detail          TEXT    NOT NULL,
    -- What the body claims, when it can be read (also for forged ones).
    payment_id      TEXT    NOT NULL,
    order_id        TEXT    NOT NULL,
    claimed_status  TEXT    NOT NULL,
    -- For `log` rows: where the notification sits in the audited file.
    source_file     TEXT,
    source_line     INTEGER
);

CREATE INDEX psp_notifications_by_order ON psp_notifications(order_id) WHERE order_id <> '';
CREATE INDEX psp_notifications_by_verdict ON psp_notifications(verdict, received_at);
