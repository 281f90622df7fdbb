-- Team schema version 10: the daily report by email.
-- The outbox also carries the report's email (kind `daily_report`).
ALTER TABLE buyer_notifications DROP CONSTRAINT IF EXISTS buyer_notifications_kind_check;
ALTER TABLE buyer_notifications ADD CONSTRAINT buyer_notifications_kind_check CHECK (kind IN ('voucher_instructions',
    'expiry_reminder', 'payment_received', 'refund_approved', 'refund_completed', 'cash_ready_for_pickup',
    'voucher_cancelled', 'daily_report'));

-- Settings stay an admin's, but for the report's schedule, which a manager
-- sets too (Permission::ScheduleReports): the admin guard is skipped for
-- exactly that row written by a manager. Deleting stays guarded as before.
DROP TRIGGER settings_guard ON settings;
CREATE TRIGGER settings_guard BEFORE DELETE ON settings
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_admin_tables('key');
CREATE TRIGGER settings_guard_write BEFORE INSERT OR UPDATE ON settings
    FOR EACH ROW
    WHEN (NOT (NEW.key = 'daily_report_schedule' AND coalesce((voucherdesk_caller()).role = 'manager', false)))
    EXECUTE FUNCTION voucherdesk_guard_admin_tables('key');

-- The admin guard read OLD.name in one condition with the table's name, and
-- PL/pgSQL resolves every field of a condition first: on settings, fx_rates
-- and fee rates (no `name` column) a non-admin's write failed with "record
-- old has no field name" instead of the refusal. Still refused, but with the
-- wrong code and words; the check on operators' own rows is now nested.
CREATE OR REPLACE FUNCTION voucherdesk_guard_admin_tables() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
BEGIN
    -- A disabled operator's login can no longer connect (re-enabling gives it back).
    IF TG_TABLE_NAME = 'operators' AND TG_OP = 'UPDATE' AND (me.name IS NULL OR me.role = 'admin') THEN
        IF NEW.disabled IS DISTINCT FROM OLD.disabled AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = lower(NEW.name)) THEN
            IF pg_has_role(lower(NEW.name), 'voucherdesk_operator', 'MEMBER') THEN
                EXECUTE format('ALTER ROLE %I %s', lower(NEW.name), CASE WHEN NEW.disabled THEN 'NOLOGIN' ELSE 'LOGIN' END);
            END IF;
        END IF;
    END IF;
    IF me.name IS NULL OR me.role = 'admin' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'INSERT' AND voucherdesk_has_key(TG_TABLE_NAME, TG_ARGV[0], to_jsonb(NEW) ->> TG_ARGV[0]) THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'operators' AND TG_OP = 'UPDATE' THEN
        IF lower(OLD.name) = lower(me.name)
           AND (NEW.id, NEW.name, NEW.role, NEW.disabled, NEW.created_at, NEW.created_by)
               IS NOT DISTINCT FROM (OLD.id, OLD.name, OLD.role, OLD.disabled, OLD.created_at, OLD.created_by) THEN
            RETURN NEW;
        END IF;
    END IF;
    PERFORM voucherdesk_refuse(CASE TG_TABLE_NAME
        WHEN 'operators' THEN 'manage operators'
        WHEN 'psp_accounts' THEN 'manage PSP credentials'
        ELSE 'change settings' END);
    RETURN NULL;
END;
$$;
