-- VoucherDesk ledger, version 1.
-- Instants are INTEGER seconds since the Unix epoch, UTC (`*_at` columns).
-- Business dates are TEXT 'YYYY-MM-DD' in the market's calendar (`*_on` columns).
-- Money is INTEGER minor units (`*_minor`) next to its ISO currency code.
-- The bulk row tables (orders, payments, history, settlements) declare no
-- foreign keys: only the importer writes them, inside the transaction that
-- creates their batch, and per-row key checks doubled the import time.
-- Their indexes are declared in store/indexes.rs: a large import drops and
-- rebuilds them inside its transaction, which is several times faster than
-- maintaining them row by row.

CREATE TABLE import_batches (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('orders', 'payments', 'settlements')),
    profile         TEXT    NOT NULL,
    file_name       TEXT    NOT NULL,
    sha256          TEXT    NOT NULL UNIQUE,
    encoding        TEXT    NOT NULL,
    delimiter       TEXT    NOT NULL,
    header_json     TEXT    NOT NULL,
    rows_total      INTEGER NOT NULL DEFAULT 0,
    rows_new        INTEGER NOT NULL DEFAULT 0,
    rows_updated    INTEGER NOT NULL DEFAULT 0,
    rows_unchanged  INTEGER NOT NULL DEFAULT 0,
    rows_duplicate  INTEGER NOT NULL DEFAULT 0,
    operator        TEXT    NOT NULL,
    imported_at     INTEGER NOT NULL
);

-- The text of every imported file exactly as it was parsed (after decoding to
-- UTF-8), so that any row's raw form can be shown: rows keep (raw_offset, raw_len).
CREATE TABLE import_files (
    batch_id  INTEGER PRIMARY KEY REFERENCES import_batches(id),
    text      BLOB    NOT NULL
);

CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    order_id            TEXT    NOT NULL,
    store               TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    buyer_name          TEXT    NOT NULL,
    buyer_email         TEXT    NOT NULL,
    buyer_phone         TEXT    NOT NULL,
    buyer_document      TEXT    NOT NULL,
    country             TEXT    NOT NULL,
    amount_minor        INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency            TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    psp                 TEXT    NOT NULL,
    psp_payment_id      TEXT    NOT NULL,
    voucher_code        TEXT    NOT NULL,
    voucher_expires_at  INTEGER,
    batch_id            INTEGER NOT NULL,
    line                INTEGER NOT NULL,
    raw_offset          INTEGER NOT NULL,
    raw_len             INTEGER NOT NULL
);

CREATE TABLE payments (
    id               INTEGER PRIMARY KEY,
    psp              TEXT    NOT NULL,
    payment_id       TEXT    NOT NULL,
    order_id         TEXT    NOT NULL,
    country          TEXT    NOT NULL,
    network          TEXT    NOT NULL,
    currency         TEXT    NOT NULL,
    amount_minor     INTEGER NOT NULL CHECK (amount_minor >= 0),
    status           TEXT    NOT NULL,
    status_rank      INTEGER NOT NULL,
    psp_status       TEXT    NOT NULL,
    status_code      TEXT    NOT NULL,
    created_at       INTEGER,
    paid_at          INTEGER,
    expires_at       INTEGER,
    voucher_code     TEXT    NOT NULL,
    -- The last status observed in any source, which may be older than `status`.
    last_seen_status TEXT    NOT NULL
);

-- Every observed status of every payment, with where it was seen.
CREATE TABLE payment_status_history (
    id           INTEGER PRIMARY KEY,
    payment      INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    psp_status   TEXT    NOT NULL,
    -- When the PSP says the status happened (paid_at for paid, ...), if it says.
    status_at    INTEGER,
    -- When VoucherDesk learned it.
    observed_at  INTEGER NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('file', 'api', 'notification', 'manual')),
    batch_id     INTEGER,
    line         INTEGER,
    raw_offset   INTEGER,
    raw_len      INTEGER,
    -- The raw observation when it did not come from a file (an API answer).
    raw_text     TEXT
);

CREATE TABLE settlements (
    id                  INTEGER PRIMARY KEY,
    psp                 TEXT    NOT NULL,
    order_id            TEXT    NOT NULL,
    payment_id          TEXT    NOT NULL,
    row_type            TEXT    NOT NULL,
    created_at          INTEGER,
    settled_on          TEXT,
    local_amount_minor  INTEGER NOT NULL,
    local_currency      TEXT    NOT NULL,
    fx_rate             TEXT    NOT NULL,
    settlement_currency TEXT    NOT NULL,
    gross_minor         INTEGER NOT NULL,
    net_minor           INTEGER NOT NULL,
    fee_minor           INTEGER NOT NULL,
    batch_id            INTEGER NOT NULL,
    line                INTEGER NOT NULL,
    raw_offset          INTEGER NOT NULL,
    raw_len             INTEGER NOT NULL
);

-- A manual match made by an operator: the payment belongs to this order,
-- whatever its order-id column says.
CREATE TABLE payment_links (
    payment     INTEGER PRIMARY KEY REFERENCES payments(id),
    order_id    TEXT    NOT NULL,
    operator    TEXT    NOT NULL,
    linked_at   INTEGER NOT NULL,
    note        TEXT    NOT NULL
);

CREATE TABLE reconcile_runs (
    id                  INTEGER PRIMARY KEY,
    as_of               TEXT    NOT NULL,
    settlement_lag_days INTEGER NOT NULL,
    amount_tolerance    INTEGER NOT NULL,
    started_at          INTEGER NOT NULL,
    finished_at         INTEGER NOT NULL,
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
    settlement    INTEGER,
    country       TEXT    NOT NULL,
    store         TEXT    NOT NULL,
    amount_minor  INTEGER,
    currency      TEXT    NOT NULL,
    facts         TEXT    NOT NULL,
    detail        TEXT    NOT NULL,
    detected_at   INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_run      INTEGER NOT NULL,
    assignee      TEXT,
    resolution    TEXT,
    resolved_by   TEXT,
    resolved_at   INTEGER,
    note          TEXT
) WITHOUT ROWID;

CREATE TABLE exception_history (
    id            INTEGER PRIMARY KEY,
    exception_id  TEXT    NOT NULL REFERENCES exceptions(id),
    at            INTEGER NOT NULL,
    event         TEXT    NOT NULL,
    from_status   TEXT,
    to_status     TEXT    NOT NULL,
    operator      TEXT    NOT NULL,
    note          TEXT    NOT NULL
);

-- Append-only, hash-chained: each entry's hash covers the previous hash.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    operator   TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    before     TEXT    NOT NULL,
    after      TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Buyer search: contentless FTS over the orders' people fields and codes,
-- accent-insensitive. Filled in bulk after imports (see store::search).
CREATE VIRTUAL TABLE order_search USING fts5(
    terms,
    content = '',
    contentless_delete = 1,
    tokenize = "unicode61 remove_diacritics 2 tokenchars '@._-+'"
);

CREATE TABLE store_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO store_meta(key, value) VALUES ('search_indexed_upto', '0');

CREATE INDEX payment_links_by_order ON payment_links(order_id);
CREATE INDEX exceptions_by_order ON exceptions(order_id);
CREATE INDEX exceptions_by_status_kind ON exceptions(status, kind);
CREATE INDEX exception_history_by_exception ON exception_history(exception_id);
