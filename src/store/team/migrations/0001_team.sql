-- VoucherDesk team schema, version 1 (PostgreSQL).
-- The shared state of a team: what every desktop must see the same and what
-- two desktops must never both do. It mirrors the local SQLite schema
-- (src/store/migrations/) column for column, so that one row mapping serves
-- both: instants are BIGINT seconds since the Unix epoch (UTC), business dates
-- TEXT 'YYYY-MM-DD' in market time, money BIGINT minor units next to its ISO
-- currency. What only one desktop needs (the buyer search index, the PSP sync
-- queue's schedule) stays in its local copy.

CREATE TABLE import_batches (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('orders', 'payments', 'settlements')),
    profile         TEXT    NOT NULL,
    file_name       TEXT    NOT NULL,
    -- Two desktops importing the same file: the second insert fails on this key.
    sha256          TEXT    NOT NULL UNIQUE,
    encoding        TEXT    NOT NULL,
    delimiter       TEXT    NOT NULL,
    header_json     TEXT    NOT NULL,
    rows_total      BIGINT  NOT NULL DEFAULT 0,
    rows_new        BIGINT  NOT NULL DEFAULT 0,
    rows_updated    BIGINT  NOT NULL DEFAULT 0,
    rows_unchanged  BIGINT  NOT NULL DEFAULT 0,
    rows_duplicate  BIGINT  NOT NULL DEFAULT 0,
    operator        TEXT    NOT NULL,
    imported_at     BIGINT  NOT NULL
);

CREATE TABLE import_files (
    batch_id  BIGINT PRIMARY KEY REFERENCES import_batches(id),
    text      BYTEA  NOT NULL
);

CREATE TABLE orders (
    id                  BIGSERIAL PRIMARY KEY,
    order_id            TEXT    NOT NULL,
    store               TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    buyer_name          TEXT    NOT NULL,
    buyer_email         TEXT    NOT NULL,
    buyer_phone         TEXT    NOT NULL,
    buyer_document      TEXT    NOT NULL,
    country             TEXT    NOT NULL,
    amount_minor        BIGINT  NOT NULL CHECK (amount_minor >= 0),
    currency            TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    psp                 TEXT    NOT NULL,
    psp_payment_id      TEXT    NOT NULL,
    voucher_code        TEXT    NOT NULL,
    voucher_expires_at  BIGINT,
    batch_id            BIGINT  NOT NULL,
    line                BIGINT  NOT NULL,
    raw_offset          BIGINT  NOT NULL,
    raw_len             BIGINT  NOT NULL
);
CREATE INDEX orders_by_order_id ON orders(order_id);

CREATE TABLE payments (
    id               BIGSERIAL PRIMARY KEY,
    psp              TEXT    NOT NULL,
    payment_id       TEXT    NOT NULL,
    order_id         TEXT    NOT NULL,
    country          TEXT    NOT NULL,
    network          TEXT    NOT NULL,
    currency         TEXT    NOT NULL,
    amount_minor     BIGINT  NOT NULL CHECK (amount_minor >= 0),
    status           TEXT    NOT NULL,
    status_rank      INTEGER NOT NULL,
    psp_status       TEXT    NOT NULL,
    status_code      TEXT    NOT NULL,
    created_at       BIGINT,
    paid_at          BIGINT,
    expires_at       BIGINT,
    voucher_code     TEXT    NOT NULL,
    last_seen_status TEXT    NOT NULL,
    UNIQUE (psp, payment_id)
);
CREATE INDEX payments_by_order_id ON payments(order_id);

CREATE TABLE payment_status_history (
    id           BIGSERIAL PRIMARY KEY,
    payment      BIGINT  NOT NULL REFERENCES payments(id),
    status       TEXT    NOT NULL,
    psp_status   TEXT    NOT NULL,
    status_at    BIGINT,
    observed_at  BIGINT  NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('file', 'api', 'notification', 'manual')),
    batch_id     BIGINT,
    line         BIGINT,
    raw_offset   BIGINT,
    raw_len      BIGINT,
    raw_text     TEXT
);
CREATE INDEX payment_status_history_by_payment ON payment_status_history(payment);

CREATE TABLE settlements (
    id                  BIGSERIAL PRIMARY KEY,
    psp                 TEXT    NOT NULL,
    order_id            TEXT    NOT NULL,
    payment_id          TEXT    NOT NULL,
    row_type            TEXT    NOT NULL,
    created_at          BIGINT,
    settled_on          TEXT,
    local_amount_minor  BIGINT  NOT NULL,
    local_currency      TEXT    NOT NULL,
    fx_rate             TEXT    NOT NULL,
    settlement_currency TEXT    NOT NULL,
    gross_minor         BIGINT  NOT NULL,
    net_minor           BIGINT  NOT NULL,
    fee_minor           BIGINT  NOT NULL,
    batch_id            BIGINT  NOT NULL,
    line                BIGINT  NOT NULL,
    raw_offset          BIGINT  NOT NULL,
    raw_len             BIGINT  NOT NULL
);
CREATE INDEX settlements_by_payment ON settlements(psp, payment_id);

CREATE TABLE payment_links (
    payment     BIGINT  PRIMARY KEY REFERENCES payments(id),
    order_id    TEXT    NOT NULL,
    operator    TEXT    NOT NULL,
    linked_at   BIGINT  NOT NULL,
    note        TEXT    NOT NULL
);
CREATE INDEX payment_links_by_order ON payment_links(order_id);

CREATE TABLE reconcile_runs (
    id                  BIGSERIAL PRIMARY KEY,
    as_of               TEXT    NOT NULL,
    settlement_lag_days INTEGER NOT NULL,
    amount_tolerance    BIGINT  NOT NULL,
    started_at          BIGINT  NOT NULL,
    finished_at         BIGINT  NOT NULL,
    operator            TEXT    NOT NULL,
    summary_json        TEXT    NOT NULL
);

CREATE TABLE exceptions (
    id            TEXT    PRIMARY KEY,
    kind          TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('open', 'resolved', 'cleared')),
    order_id      TEXT    NOT NULL,
    psp           TEXT    NOT NULL,
    payment_id    TEXT    NOT NULL,
    settlement    BIGINT,
    country       TEXT    NOT NULL,
    store         TEXT    NOT NULL,
    amount_minor  BIGINT,
    currency      TEXT    NOT NULL,
    facts         TEXT    NOT NULL,
    detail        TEXT    NOT NULL,
    detected_at   BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    last_run      BIGINT  NOT NULL,
    assignee      TEXT,
    resolution    TEXT,
    resolved_by   TEXT,
    resolved_at   BIGINT,
    note          TEXT
);
CREATE INDEX exceptions_by_order ON exceptions(order_id);
CREATE INDEX exceptions_by_status_kind_age ON exceptions(status, kind, detected_at);
CREATE INDEX exceptions_by_assignee ON exceptions(assignee) WHERE assignee IS NOT NULL;

CREATE TABLE exception_history (
    id            BIGSERIAL PRIMARY KEY,
    exception_id  TEXT    NOT NULL REFERENCES exceptions(id),
    at            BIGINT  NOT NULL,
    event         TEXT    NOT NULL,
    from_status   TEXT,
    to_status     TEXT    NOT NULL,
    operator      TEXT    NOT NULL,
    note          TEXT    NOT NULL
);
CREATE INDEX exception_history_by_exception ON exception_history(exception_id);

-- One chain for the whole team: appending takes this table's lock for the
-- transaction (see store::team::audit), so two desktops never fork it.
CREATE TABLE audit_log (
    id         BIGSERIAL PRIMARY KEY,
    at         BIGINT  NOT NULL,
    operator   TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    before     TEXT    NOT NULL,
    after      TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL UNIQUE,
    hash       TEXT    NOT NULL UNIQUE
);
CREATE FUNCTION voucherdesk_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_append_only();

CREATE TABLE operators (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('support', 'finance', 'manager', 'admin')),
    password_hash  TEXT,
    language       TEXT    NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es', 'zh')),
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT  NOT NULL,
    created_by     TEXT    NOT NULL
);
-- Names are unique whatever their case, as in the local store (COLLATE NOCASE).
CREATE UNIQUE INDEX operators_by_name ON operators(lower(name));

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE psp_accounts (
    id                 BIGSERIAL PRIMARY KEY,
    name               TEXT    NOT NULL,
    psp                TEXT    NOT NULL CHECK (psp IN ('dlocal', 'pagoefectivo')),
    base_url           TEXT    NOT NULL,
    created_at         BIGINT  NOT NULL,
    created_by         TEXT    NOT NULL,
    rotated_at         BIGINT,
    last_test_at       BIGINT,
    last_test_ok       BOOLEAN,
    last_test_message  TEXT
);
CREATE UNIQUE INDEX psp_accounts_by_name ON psp_accounts(lower(name));

CREATE TABLE refunds (
    id                    BIGSERIAL PRIMARY KEY,
    psp                   TEXT    NOT NULL,
    payment_id            TEXT    NOT NULL,
    order_id              TEXT    NOT NULL,
    amount_minor          BIGINT  NOT NULL CHECK (amount_minor > 0),
    currency              TEXT    NOT NULL,
    reason                TEXT    NOT NULL,
    note                  TEXT    NOT NULL,
    method                TEXT    NOT NULL CHECK (method IN ('psp_refund', 'cash_withdrawal')),
    details               TEXT    NOT NULL,
    tier                  SMALLINT NOT NULL CHECK (tier IN (1, 2, 3)),
    finance_required      BOOLEAN NOT NULL DEFAULT FALSE,
    status                TEXT    NOT NULL CHECK (status IN ('requested', 'pending_approval', 'approved',
                              'submitted', 'succeeded', 'failed', 'rejected_by_psp', 'cancelled')),
    idempotency_key       TEXT    NOT NULL UNIQUE,
    additional            BOOLEAN NOT NULL DEFAULT FALSE,
    requested_by          TEXT    NOT NULL,
    requested_at          BIGINT  NOT NULL,
    fx_rate               TEXT,
    fx_source             TEXT,
    fx_locked_at          BIGINT,
    fx_order_currency     TEXT,
    fx_order_amount_minor BIGINT,
    psp_refund_id         TEXT,
    withdrawal_code       TEXT,
    psp_status            TEXT,
    submit_attempts       INTEGER NOT NULL DEFAULT 0,
    submitted_at          BIGINT,
    finished_at           BIGINT,
    last_error            TEXT,
    escalated             BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at            BIGINT  NOT NULL
);
CREATE INDEX refunds_by_payment ON refunds(psp, payment_id);
CREATE INDEX refunds_by_status ON refunds(status, id);

CREATE TABLE refund_approvals (
    id            BIGSERIAL PRIMARY KEY,
    refund        BIGINT  NOT NULL REFERENCES refunds(id),
    operator      TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    decision      TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment       TEXT    NOT NULL,
    at            BIGINT  NOT NULL,
    tier          SMALLINT NOT NULL,
    amount_minor  BIGINT  NOT NULL,
    -- One decision per operator and refund: a second approval by the same
    -- person, from any desktop, fails here whatever the library checked.
    UNIQUE (refund, operator)
);
CREATE TRIGGER refund_approvals_append_only BEFORE UPDATE OR DELETE ON refund_approvals
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_append_only();

CREATE TABLE buyer_notifications (
    id                   BIGSERIAL PRIMARY KEY,
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
    params               TEXT    NOT NULL DEFAULT '{}',
    status               TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown')),
    attempts             INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at      BIGINT  NOT NULL,
    last_error           TEXT,
    provider_message_id  TEXT,
    client_ref           TEXT    NOT NULL UNIQUE,
    trigger              TEXT    NOT NULL CHECK (trigger IN ('event', 'manual', 'override')),
    triggered_by         TEXT    NOT NULL,
    event_key            TEXT    UNIQUE,
    queued_at            BIGINT  NOT NULL,
    claimed_at           BIGINT,
    sent_at              BIGINT,
    updated_at           BIGINT  NOT NULL
);
CREATE INDEX buyer_notifications_by_order ON buyer_notifications(order_id, queued_at);
CREATE INDEX buyer_notifications_due ON buyer_notifications(status, next_attempt_at);

CREATE TABLE buyer_contact_changes (
    id          BIGSERIAL PRIMARY KEY,
    order_id    TEXT    NOT NULL,
    field       TEXT    NOT NULL CHECK (field IN ('email', 'phone')),
    old_value   TEXT    NOT NULL,
    new_value   TEXT    NOT NULL,
    changed_by  TEXT    NOT NULL,
    changed_at  BIGINT  NOT NULL
);
CREATE INDEX buyer_contact_changes_by_order ON buyer_contact_changes(order_id, field, id);

-- Work only one desktop of the team may do at a time (the PSP sync, the
-- notification outbox). The holder renews before `expires_at`; once it has
-- passed, by the server's clock, another desktop may take the lease over.
CREATE TABLE leases (
    name          TEXT    PRIMARY KEY CHECK (name IN ('psp_sync', 'notification_outbox')),
    holder        TEXT    NOT NULL,
    acquired_at   BIGINT  NOT NULL,
    renewed_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    -- Grows on every change of holder: work started under an older generation
    -- can tell it was taken over.
    generation    BIGINT  NOT NULL
);

-- Who took the team's reconciliation lock, and when. The lock itself is a
-- session advisory lock on the server (store::team::try_reconcile_lock); this
-- row only lets the others say "running on NAME since TIME".
CREATE TABLE reconcile_lock_holder (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    holder      TEXT    NOT NULL,
    since       BIGINT  NOT NULL
);
