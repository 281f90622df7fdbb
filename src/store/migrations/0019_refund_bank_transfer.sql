-- VoucherDesk version 19: the refund method `bank_transfer` (finance pays the
-- buyer's bank account outside the PSP and records the transfer). SQLite
-- cannot change a CHECK constraint in place: `refunds` is rebuilt with the
-- same columns in the same order. `refund_approvals` refers to it, so it is
-- rebuilt beside it (pointing at the new table) and dropped first: no row
-- ever refers to a missing refund, with the foreign keys on.

CREATE TABLE refunds_v19 (
    id                    INTEGER PRIMARY KEY,
    psp                   TEXT    NOT NULL,
    payment_id            TEXT    NOT NULL,
    order_id              TEXT    NOT NULL,
    amount_minor          INTEGER NOT NULL CHECK (amount_minor > 0),
    currency              TEXT    NOT NULL,
    reason                TEXT    NOT NULL,
    note                  TEXT    NOT NULL,
    method                TEXT    NOT NULL CHECK (method IN ('psp_refund', 'cash_withdrawal', 'bank_transfer')),
    -- JSON: the beneficiary's bank fields (psp_refund, bank_transfer, with the
    -- recorded transfer once made) or the KYC'd payee (cash_withdrawal).
    details               TEXT    NOT NULL,
    tier                  INTEGER NOT NULL CHECK (tier IN (1, 2, 3)),
    finance_required      INTEGER NOT NULL DEFAULT 0,
    status                TEXT    NOT NULL CHECK (status IN ('requested', 'pending_approval', 'approved',
                              'submitted', 'succeeded', 'failed', 'rejected_by_psp', 'cancelled')),
    idempotency_key       TEXT    NOT NULL UNIQUE,
    additional            INTEGER NOT NULL DEFAULT 0,
    requested_by          TEXT    NOT NULL,
    requested_at          INTEGER NOT NULL,
    fx_rate               TEXT,
    fx_source             TEXT,
    fx_locked_at          INTEGER,
    fx_order_currency     TEXT,
    fx_order_amount_minor INTEGER,
    -- The rail's reference: the PSP's refund or payout id, or the bank's reference of a recorded transfer.
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
INSERT INTO refunds_v19 SELECT * FROM refunds;

CREATE TABLE refund_approvals_v19 (
    id            INTEGER PRIMARY KEY,
    refund        INTEGER NOT NULL REFERENCES refunds_v19(id),
    operator      TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    decision      TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment       TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    tier          INTEGER NOT NULL,
    amount_minor  INTEGER NOT NULL
);
INSERT INTO refund_approvals_v19 SELECT * FROM refund_approvals;

DROP TABLE refund_approvals;
DROP TABLE refunds;
ALTER TABLE refunds_v19 RENAME TO refunds;
ALTER TABLE refund_approvals_v19 RENAME TO refund_approvals;

CREATE INDEX refunds_by_payment ON refunds(psp, payment_id);
CREATE INDEX refunds_by_status ON refunds(status, id);
-- A bank transfer counts once: its reference belongs to one refund.
CREATE UNIQUE INDEX refunds_by_transfer_reference ON refunds(psp_refund_id)
    WHERE method = 'bank_transfer' AND psp_refund_id IS NOT NULL;
CREATE INDEX refund_approvals_by_refund ON refund_approvals(refund);
CREATE TRIGGER refund_approvals_no_update BEFORE UPDATE ON refund_approvals
BEGIN SELECT RAISE(ABORT, 'refund_approvals is append-only'); END;
CREATE TRIGGER refund_approvals_no_delete BEFORE DELETE ON refund_approvals
BEGIN SELECT RAISE(ABORT, 'refund_approvals is append-only'); END;
