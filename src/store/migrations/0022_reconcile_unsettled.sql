-- VoucherDesk version 22: two indexes that each import rewrote page by page
-- give way to smaller ones.
--
-- The paid payments no settlement row reports yet,
-- kept by each reconciliation run for the next. A scoped run finds those whose
-- settlement its clock made late here, in a table the size of what awaits
-- settlement; the index over every paid payment's time it replaces took a
-- random page write per imported payment. This desktop's own, like the rest of
-- the memo: the next run reads the whole ledger and fills it.

CREATE TABLE reconcile_unsettled (
    psp         TEXT    NOT NULL,
    payment_id  TEXT    NOT NULL,
    country     TEXT    NOT NULL,
    -- The market date it was paid on (YYYY-MM-DD).
    paid_on     TEXT    NOT NULL,
    PRIMARY KEY (psp, payment_id)
) WITHOUT ROWID;
CREATE INDEX reconcile_unsettled_by_day ON reconcile_unsettled(psp, country, paid_on);

DROP INDEX IF EXISTS payments_paid_by_time;
UPDATE reconcile_state SET full_needed = 1;

-- Vouchers by deadline, of the orders the shop still awaits payment for: all
-- that the expiry reminders and `expired_unpaid` look up, a small share of a
-- ledger of months (6 % of the demo's), where the index over every order's
-- deadline took a random page write per imported order.
DROP INDEX orders_by_voucher_expiry;
CREATE INDEX orders_awaiting_payment_by_voucher_expiry ON orders(voucher_expires_at)
    WHERE status = 'pending_payment' AND voucher_expires_at IS NOT NULL;
