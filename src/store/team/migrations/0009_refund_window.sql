-- Team schema version 9: the server checks the refund window too
-- (refunds::request). A refund of a payment paid longer ago than the team's
-- window (settings key 'refunds', `window_days`, default 15), or with no paid
-- time on record, needs finance: finance_required, tier 2 or above, and
-- never the `psp_refund` method (the PSP refuses refunds that late). Judged
-- at the server's clock when the refund is new, and at its request time when
-- a later upload changes its tier, method or flag. Once set, finance_required
-- stays set.

CREATE FUNCTION voucherdesk_past_refund_window(psp text, payment_id text, at bigint) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    window_days bigint;
    paid bigint;
BEGIN
    BEGIN
        SELECT (value::jsonb ->> 'window_days')::bigint INTO window_days FROM settings WHERE key = 'refunds';
    EXCEPTION WHEN others THEN
        window_days := NULL;
    END;
    -- refunds::tiers::REFUND_WINDOW_DAYS_DEFAULT
    window_days := coalesce(window_days, 15);
    SELECT p.paid_at INTO paid FROM payments p WHERE p.psp = $1 AND p.payment_id = $2;
    RETURN paid IS NULL OR at - paid > window_days * 86400;
END;
$$;

CREATE FUNCTION voucherdesk_guard_refund_window() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
    fresh boolean := TG_OP = 'INSERT' AND NOT voucherdesk_has_key('refunds', 'id', NEW.id::text);
    at bigint;
BEGIN
    IF me.name IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.finance_required AND NOT NEW.finance_required THEN
        PERFORM voucherdesk_refuse('lift the finance approval refund ' || OLD.id || ' needs');
    END IF;
    IF NOT fresh AND (TG_OP = 'INSERT' OR (NEW.tier = OLD.tier AND NEW.method = OLD.method
                                           AND NEW.finance_required = OLD.finance_required)) THEN
        RETURN NEW;
    END IF;
    at := CASE WHEN fresh THEN extract(epoch FROM clock_timestamp())::bigint ELSE OLD.requested_at END;
    IF NOT voucherdesk_past_refund_window(NEW.psp, NEW.payment_id, at) THEN
        RETURN NEW;
    END IF;
    IF NEW.method = 'psp_refund' THEN
        RAISE EXCEPTION 'refund %: payment % is past the refund window; the PSP refuses a psp_refund', NEW.id, NEW.payment_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT NEW.finance_required OR NEW.tier < 2 THEN
        RAISE EXCEPTION 'refund %: payment % is past the refund window, so it needs tier 2 and finance (filed as tier %, finance %)',
            NEW.id, NEW.payment_id, NEW.tier, CASE WHEN NEW.finance_required THEN 'required' ELSE 'not required' END
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER refunds_window_guard BEFORE INSERT OR UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_refund_window();
