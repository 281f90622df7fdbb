-- Expiry reminders (src/notifications/, issue 6): the deliverer asks every
-- round for open vouchers whose deadline is near. These keep that question an
-- index range on the deadline plus an index probe per candidate.
CREATE INDEX orders_by_voucher_expiry ON orders(voucher_expires_at) WHERE voucher_expires_at IS NOT NULL;
CREATE INDEX payments_by_order ON payments(order_id);
