-- Team schema version 4: the buyer message `voucher_cancelled` (a voucher
-- cancelled from the console) joins the outbox's kinds.

ALTER TABLE buyer_notifications DROP CONSTRAINT IF EXISTS buyer_notifications_kind_check;
ALTER TABLE buyer_notifications ADD CONSTRAINT buyer_notifications_kind_check CHECK (kind IN ('voucher_instructions',
    'expiry_reminder', 'payment_received', 'refund_approved', 'refund_completed', 'cash_ready_for_pickup',
    'voucher_cancelled'));
