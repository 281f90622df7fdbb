-- VoucherDesk version 4: PSP accounts. Only what is not secret lives here; the
-- login, keys and secrets are in the OS credential store (service `voucherdesk`,
-- user `<psp>:<name>`), never in this file.

CREATE TABLE psp_accounts (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    psp                TEXT    NOT NULL CHECK (psp IN ('dlocal', 'pagoefectivo')),
    base_url           TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    created_by         TEXT    NOT NULL,
    rotated_at         INTEGER,
    -- The last "connection OK?" check: NULL until the first one.
    last_test_at       INTEGER,
    last_test_ok       INTEGER CHECK (last_test_ok IN (0, 1)),
    last_test_message  TEXT
);
