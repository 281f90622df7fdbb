-- VoucherDesk version 7: refunds with tiered maker-checker approval.
-- Amounts are INTEGER minor units of the refund's currency (the payment's).
-- A refund row changes status only through the library's state machine
-- (src/refunds/domain.rs); every change writes the audit log in the same
-- transaction. Approvals and rejections are append-only.

CREATE TABLE refunds (
    id                    INTEGER PRIMARY KEY,
    psp                   TEXT    NOT NULL,
    payment_id            TEXT    NOT NULL,
    order_id              TEXT    NOT NULL,
    amount_minor          INTEGER NOT NULL CHECK (amount_minor > 0),
    currency              TEXT    NOT NULL,
    reason                TEXT    NOT NULL,
    note                  TEXT    NOT NULL,
    method                TEXT    NOT NULL CHECK (method IN ('psp_refund', 'cash_withdrawal')),
    -- JSON: the beneficiary's bank fields (psp_refund) or the KYC'd payee (cash_withdrawal).
    details               TEXT    NOT NULL,
    -- Fixed when requested.
    tier                  INTEGER NOT NULL CHECK (tier IN (1, 2, 3)),
    -- Finance must approve whatever the amount (a psp_refund past the window became a cash withdrawal).
    finance_required      INTEGER NOT NULL DEFAULT 0,
    status                TEXT    NOT NULL CHECK (status IN ('requested', 'pending_approval', 'approved',
                              'submitted', 'succeeded', 'failed', 'rejected_by_psp', 'cancelled')),
    -- Created with the request, stored before the first call to the PSP, reused by every retry.
    idempotency_key       TEXT    NOT NULL UNIQUE,
    additional            INTEGER NOT NULL DEFAULT 0,
    requested_by          TEXT    NOT NULL,
    requested_at          INTEGER NOT NULL,
    -- Locked at approval for a USD-priced order refunded in local currency.
    fx_rate               TEXT,
    fx_source             TEXT,
    fx_locked_at          INTEGER,
    fx_order_currency     TEXT,
    fx_order_amount_minor INTEGER,
    psp_refund_id         TEXT,
    withdrawal_code       TEXT,
    psp_status            TEXT,
    submit_attempts       INTEGER NOT NULL DEFAULT 0,
    submitted_at          INTEGER,
    finished_at           INTEGER,
    last_error            TEXT,
    escalated             INTEGER NOT NULL DEFAULT 0,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX refunds_by_payment ON refunds(psp, payment_id);
CREATE INDEX refunds_by_status ON refunds(status, id);

CREATE TABLE refund_approvals (
    id            INTEGER PRIMARY KEY,
    refund        INTEGER NOT NULL REFERENCES refunds(id),
    operator      TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    decision      TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment       TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    tier          INTEGER NOT NULL,
    amount_minor  INTEGER NOT NULL
);
CREATE INDEX refund_approvals_by_refund ON refund_approvals(refund);
CREATE TRIGGER refund_approvals_no_update BEFORE UPDATE ON refund_approvals
BEGIN SELECT RAISE(ABORT, 'refund_approvals is append-only'); END;
CREATE TRIGGER refund_approvals_no_delete BEFORE DELETE ON refund_approvals
BEGIN SELECT RAISE(ABORT, 'refund_approvals is append-only'); END;
