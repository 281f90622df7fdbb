-- Team schema version 6: the refund method `bank_transfer` (local version
-- 19): finance pays the buyer's bank account outside the PSP and records the
-- transfer; its bank reference belongs to one refund.

ALTER TABLE refunds DROP CONSTRAINT IF EXISTS refunds_method_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_method_check
    CHECK (method IN ('psp_refund', 'cash_withdrawal', 'bank_transfer'));
CREATE UNIQUE INDEX refunds_by_transfer_reference ON refunds(psp_refund_id)
    WHERE method = 'bank_transfer' AND psp_refund_id IS NOT NULL;
