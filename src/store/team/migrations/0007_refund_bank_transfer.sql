-- Team schema version 7: the refund method `bank_transfer` (local version
-- 19): finance pays the buyer's bank account outside the PSP and records the
-- transfer; its bank reference belongs to one refund.

ALTER TABLE refunds DROP CONSTRAINT IF EXISTS refunds_method_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_method_check
    CHECK (method IN ('psp_refund', 'cash_withdrawal', 'bank_transfer'));
CREATE UNIQUE INDEX refunds_by_transfer_reference ON refunds(psp_refund_id)
    WHERE method = 'bank_transfer' AND psp_refund_id IS NOT NULL;

-- Only finance records a bank transfer (refunds::record_transfer): no other
-- login may turn a bank_transfer refund succeeded, whatever its client sends.
-- An upsert of a row the server holds already is checked as the update it is.
CREATE FUNCTION voucherdesk_guard_transfer_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
BEGIN
    IF me.name IS NULL OR NEW.method <> 'bank_transfer' OR NEW.status <> 'succeeded' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' AND voucherdesk_has_key('refunds', 'id', NEW.id::text) THEN
        RETURN NEW;
    END IF;
    IF (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'succeeded') AND me.role <> 'finance' THEN
        PERFORM voucherdesk_refuse('record bank transfers');
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER refunds_transfer_guard BEFORE INSERT OR UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_transfer_record();
