-- Team schema version 11: a change's new ledger rows go straight into their tables.
--
-- New rows of the four tables an import fills row by row went up twice: COPY
-- into a staging table, then voucherdesk_upload writing them again. On a first
-- load (millions of rows, one server core per upload) that second write was
-- two thirds of the server's time. Operator logins may now COPY new rows
-- straight into these four tables, and nothing more:
-- - INSERT on the columns a copy has; not change_seq, whose default numbers
--   each row from the change sequence; no UPDATE, no DELETE;
-- - before the statement's first row, the checks voucherdesk_upload makes (an
--   enabled operator, holding the team's write lock);
-- - after its last row, each history row's payment checked, and the upload
--   logged under the login.
-- Rows that change, and every other table, still go through voucherdesk_upload.

-- The sequence's default needs USAGE. A login may thereby take change numbers
-- it does not use: copies read changes by range, so that leaves gaps, nothing more.
GRANT USAGE ON SEQUENCE voucherdesk_change_seq TO voucherdesk_operator;

-- The history's payment, checked once per statement instead of by a foreign
-- key's trigger on every row (a million history rows: 8.0 s with the key,
-- 3.6 s without it, 0.55 s for the check below). Deleting a payment stays the
-- owner's alone (voucherdesk_guard_delete).
ALTER TABLE payment_status_history DROP CONSTRAINT payment_status_history_payment_fkey;

-- Before an INSERT's (or COPY's) first row.
CREATE FUNCTION voucherdesk_ledger_insert_begin() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
BEGIN
    IF me.name IS NOT NULL AND NOT voucherdesk_holds_write_lock() THEN
        RAISE EXCEPTION 'an upload needs the team''s write lock' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- The last change number taken before this statement: its rows take larger
    -- ones (the sequence hands out one number at a time, CACHE 1), and no one
    -- else writes these tables while the write lock is held.
    PERFORM set_config('voucherdesk.ledger_mark',
                       (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
                          FROM voucherdesk_change_seq)::text,
                       true);
    RETURN NULL;
END;
$$;

-- After an INSERT's (or COPY's) last row. Not SECURITY DEFINER: current_user
-- tells a login's own statement from voucherdesk_upload's (which runs as the
-- owner and logs itself).
CREATE FUNCTION voucherdesk_ledger_insert_end() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM voucherdesk_ledger_inserted(TG_TABLE_NAME, current_user = session_user);
    RETURN NULL;
END;
$$;

CREATE FUNCTION voucherdesk_ledger_inserted(tbl text, own_statement boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    mark bigint;
    missing bigint;
    written bigint;
    last_change bigint;
BEGIN
    IF pg_trigger_depth() = 0 THEN
        RAISE EXCEPTION 'voucherdesk_ledger_inserted belongs to the ledger tables'' triggers' USING ERRCODE = 'insufficient_privilege';
    END IF;
    mark := current_setting('voucherdesk.ledger_mark')::bigint;
    IF tbl = 'payment_status_history' THEN
        SELECT h.payment INTO missing
          FROM payment_status_history h
         WHERE h.change_seq > mark AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = h.payment)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'a status history row names payment %, which the server does not have', missing
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    IF own_statement THEN
        EXECUTE format('SELECT count(*), max(change_seq) FROM public.%I WHERE change_seq > $1', tbl)
           INTO written, last_change USING mark;
        IF written > 0 THEN
            INSERT INTO upload_log(at, login, tbl, mode, rows, last_change)
            VALUES (extract(epoch FROM clock_timestamp())::bigint, session_user, tbl, 'new', written, last_change);
        END IF;
    END IF;
END;
$$;

REVOKE ALL ON FUNCTION voucherdesk_ledger_inserted(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION voucherdesk_ledger_inserted(text, boolean) TO voucherdesk_operator;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['orders', 'payments', 'payment_status_history', 'settlements'] LOOP
        EXECUTE format('GRANT INSERT (%s) ON %I TO voucherdesk_operator',
                       array_to_string(voucherdesk_shared_columns(t), ', '), t);
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON %I FOR EACH STATEMENT EXECUTE FUNCTION voucherdesk_ledger_insert_begin()',
                       t || '_insert_begin', t);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I FOR EACH STATEMENT EXECUTE FUNCTION voucherdesk_ledger_insert_end()',
                       t || '_insert_end', t);
    END LOOP;
END;
$$;
