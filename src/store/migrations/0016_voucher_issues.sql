-- VoucherDesk version 16: vouchers issued from the console (`vouchers issue`).
-- Each attempt is recorded BEFORE the PSP is called, with the reference the
-- PSP is given (dLocal `order_id`, PagoEfectivo `transactionCode`): a retry
-- after a time-out reuses it and first asks the PSP whether it already holds
-- a voucher for it, so one attempt never becomes two vouchers. The reference
-- also maps the PSP's later notifications back to the shop's order.

CREATE TABLE voucher_issues (
    id            INTEGER PRIMARY KEY,
    order_id      TEXT    NOT NULL,
    psp           TEXT    NOT NULL,
    reference     TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('requested', 'issued', 'failed')),
    -- The validity asked for, and the deadline it gives from the request.
    hours         INTEGER NOT NULL CHECK (hours > 0),
    expires_at    INTEGER NOT NULL,
    -- The PSP's payment id (the CIP for PagoEfectivo), once known.
    payment_id    TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    requested_by  TEXT    NOT NULL,
    requested_at  INTEGER NOT NULL,
    finished_at   INTEGER,
    UNIQUE (psp, reference)
);

CREATE INDEX voucher_issues_by_order ON voucher_issues(order_id, id);
