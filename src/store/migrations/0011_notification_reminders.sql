-- Expiry reminders (src/notifications/, issue 6): the deliverer asks every
-- round for open vouchers whose deadline is near. These keep that question an
-- index range on the deadline plus an index probe per candidate.
CREATE INDEX orders_by_voucher_expiry ON orders(voucher_expires_at) WHERE voucher_expires_at IS NOT NULL;
-- payments_by_order is also one of the ledger's indexes (store/indexes.rs),
-- which every open since version 1 creates: on a file from before version 11
-- it is already there, so it is created only when missing. This line was a
-- plain CREATE INDEX when first shipped, which failed every upgrade from an
-- earlier version; a new file gets the same index either way.
CREATE INDEX IF NOT EXISTS payments_by_order ON payments(order_id);
