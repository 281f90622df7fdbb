-- VoucherDesk version 21: what reconciliation needs to re-examine only what
-- changed since its last run. Rows added since are those past the largest row
-- ids the last run saw; triggers (store/reconcile_changes.rs, made on every
-- open) note each order and payment that changes, with its state before the
-- first change, and each payment key whose refunds change; a run reads the
-- notes and the state of its last run, and empties the notes. These tables
-- are this desktop's own: team mode does not share them (its runs read all).

-- One row: the last run, and whether the next one must read the whole ledger.
CREATE TABLE reconcile_state (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    full_needed         INTEGER NOT NULL,
    -- The last run's options (lag, tolerances, terms) as JSON, its dates and its summary.
    options             TEXT    NOT NULL DEFAULT '',
    as_of               TEXT    NOT NULL DEFAULT '',
    at                  INTEGER NOT NULL DEFAULT 0,
    summary_json        TEXT    NOT NULL DEFAULT '',
    -- The largest row ids the last run saw: rows past them were added since.
    orders_seen         INTEGER NOT NULL DEFAULT 0,
    payments_seen       INTEGER NOT NULL DEFAULT 0,
    history_seen        INTEGER NOT NULL DEFAULT 0,
    settlements_seen    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO reconcile_state(id, full_needed) VALUES (1, 1);

-- Orders changed since the last run; `existed` and `country` as they were.
CREATE TABLE reconcile_changed_orders (
    order_id    TEXT    PRIMARY KEY,
    existed     INTEGER NOT NULL,
    country     TEXT
) WITHOUT ROWID;

-- Payments changed since the last run, as they were before (`existed` 0: new).
CREATE TABLE reconcile_changed_payments (
    payment     INTEGER PRIMARY KEY,
    existed     INTEGER NOT NULL,
    psp         TEXT,
    payment_id  TEXT,
    order_id    TEXT,
    country     TEXT,
    status      TEXT,
    paid_at     INTEGER
);

-- Payment keys whose refunds changed since the last run.
CREATE TABLE reconcile_changed_keys (
    payment_id  TEXT    NOT NULL,
    psp         TEXT    NOT NULL,
    PRIMARY KEY (payment_id, psp)
) WITHOUT ROWID;

-- The ids of the last run's findings (a resolved exception keeps its status
-- whether or not its condition still holds, so the status alone cannot say).
CREATE TABLE reconcile_findings (
    id          TEXT    PRIMARY KEY
) WITHOUT ROWID;

-- Per PSP, market and paid market date: how many payments whose money was due
-- to settle (paid, since refunded or charged back) were paid that day.
CREATE TABLE reconcile_paid_days (
    psp         TEXT    NOT NULL,
    country     TEXT    NOT NULL,
    day         TEXT    NOT NULL,
    payments    INTEGER NOT NULL,
    PRIMARY KEY (psp, country, day)
) WITHOUT ROWID;

-- Per settlement report file and market: the first and last settlement date it covers.
CREATE TABLE reconcile_report_spans (
    batch_id    INTEGER NOT NULL,
    psp         TEXT    NOT NULL,
    market      TEXT    NOT NULL,
    first_day   TEXT    NOT NULL,
    last_day    TEXT    NOT NULL,
    PRIMARY KEY (batch_id, psp, market)
) WITHOUT ROWID;

-- A run re-examining some payments reads their exceptions by payment.
CREATE INDEX exceptions_by_payment ON exceptions(payment_id, psp) WHERE payment_id <> '';
