-- Team schema version 6: the server enforces who may change what.
--
-- Each operator connects with their own PostgreSQL login (the operator's name
-- in lower case, a member of the group role voucherdesk_operator), created or
-- re-keyed by an admin through voucherdesk_set_login. Operator logins read
-- every table (their copy pulls it) and write none: every change arrives
-- through the functions below, which run as the schema's owner with a fixed
-- search_path, and every row they write passes the triggers below, which
-- check the caller's role and the maker-checker rules from session_user (the
-- login that connected; a SECURITY DEFINER function does not change it).
--
-- The schema's owner (the role that ran `team init`) and superusers are not
-- checked: whoever holds them holds the server. Desktops must not.
--
-- Roles are the cluster's, not the database's: one PostgreSQL cluster serves
-- one team (two teams on one cluster would share the logins of same-named
-- operators).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'voucherdesk_operator') THEN
        CREATE ROLE voucherdesk_operator NOLOGIN;
    END IF;
END;
$$;

-- The real login behind each audit entry (NULL for entries older than this version).
ALTER TABLE audit_log ADD COLUMN login TEXT;

-- Every upload and deletion, by login: the server's own record of who wrote
-- what, kept here only (copies do not pull it).
CREATE TABLE upload_log (
    id      BIGSERIAL PRIMARY KEY,
    at      BIGINT  NOT NULL,
    login   TEXT    NOT NULL,
    tbl     TEXT    NOT NULL,
    mode    TEXT    NOT NULL,
    rows    BIGINT  NOT NULL,
    -- The change number the upload ended at (uploads number rows in turn, under the write lock).
    last_change BIGINT
);

-- What an operator login may do to the tables themselves: read.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO voucherdesk_operator;
GRANT SELECT ON SEQUENCE voucherdesk_change_seq TO voucherdesk_operator;
GRANT USAGE ON SCHEMA public TO voucherdesk_operator;

-- True when the session is the schema's owner or a superuser: not checked.
CREATE FUNCTION voucherdesk_is_owner() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = session_user AND rolsuper)
        OR session_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'public.voucherdesk_schema'::regclass);
$$;

-- The operator behind this session's login, enabled; NULL for the owner.
-- Any other login is refused.
CREATE FUNCTION voucherdesk_caller() RETURNS operators
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators;
BEGIN
    IF voucherdesk_is_owner() THEN
        RETURN NULL;
    END IF;
    SELECT * INTO me FROM operators WHERE lower(name) = session_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the login % is no operator of this team', session_user USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF me.disabled THEN
        RAISE EXCEPTION 'operator % is disabled', me.name USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN me;
END;
$$;

CREATE FUNCTION voucherdesk_refuse(what text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    me operators := voucherdesk_caller();
BEGIN
    RAISE EXCEPTION '% (%) may not %', me.name, me.role, what USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- The tables a change may upload, and which of them only ever grow.
CREATE FUNCTION voucherdesk_shared_table(tbl text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT tbl = ANY (ARRAY['operators', 'settings', 'psp_accounts', 'fx_rates', 'psp_fee_rates',
        'import_batches', 'import_files', 'orders', 'payments', 'payment_status_history', 'settlements',
        'payment_links', 'reconcile_runs', 'exceptions', 'exception_history', 'audit_log', 'refunds',
        'refund_approvals', 'buyer_notifications', 'buyer_contact_changes']);
$$;

-- A table's columns as copies have them (the server's own: change_seq, login).
CREATE FUNCTION voucherdesk_shared_columns(tbl text) RETURNS text[]
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT array_agg(quote_ident(attname::text) ORDER BY attnum)
      FROM pg_attribute
     WHERE attrelid = ('public.' || quote_ident(tbl))::regclass AND attnum > 0 AND NOT attisdropped
       AND attname NOT IN ('change_seq', 'login');
$$;

CREATE FUNCTION voucherdesk_holds_write_lock() RETURNS boolean
LANGUAGE sql STABLE AS $$
    -- store::team::TEAM_WRITE_LOCK_KEY, as pg_locks shows a bigint key (high and low 32 bits).
    SELECT EXISTS (SELECT 1 FROM pg_locks
                    WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND granted AND objsubid = 1
                      AND mode = 'ExclusiveLock'
                      AND classid::bigint = (8530943594146562052 >> 32)
                      AND objid::bigint = (8530943594146562052 & 4294967295));
$$;

-- Makes this session's empty staging table for `tbl`: the owner's, so the
-- caller can only add rows to it (no trigger, rule or view of theirs runs
-- when the upload reads it).
CREATE FUNCTION voucherdesk_stage(tbl text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    stage text := 'stage_' || tbl;
BEGIN
    PERFORM voucherdesk_caller();
    IF NOT voucherdesk_shared_table(tbl) THEN
        RAISE EXCEPTION 'no shared table %', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF to_regclass('pg_temp.' || quote_ident(stage)) IS NULL THEN
        EXECUTE format('CREATE TEMP TABLE %I ON COMMIT DELETE ROWS AS SELECT %s FROM public.%I WITH NO DATA',
                       stage, array_to_string(voucherdesk_shared_columns(tbl), ', '), tbl);
        EXECUTE format('GRANT INSERT ON pg_temp.%I TO %I', stage, session_user);
    ELSIF (SELECT relowner FROM pg_class WHERE oid = ('pg_temp.' || quote_ident(stage))::regclass)
          <> (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'the staging table % is not the server''s', stage USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('TRUNCATE pg_temp.%I', stage);
END;
$$;

-- Writes the staged rows of `tbl`, each numbered with the next change:
-- 'new' rows must be new; 'change' updates rows that differ (append-only
-- tables: must be new); 'seed' leaves rows the server has. The triggers
-- below check every row against the caller's role. Returns the rows written.
CREATE FUNCTION voucherdesk_upload(tbl text, mode text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    cols text[];
    list text;
    key text;
    on_conflict text := '';
    written bigint;
BEGIN
    PERFORM voucherdesk_caller();
    IF NOT voucherdesk_shared_table(tbl) THEN
        RAISE EXCEPTION 'no shared table %', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT voucherdesk_holds_write_lock() THEN
        RAISE EXCEPTION 'an upload needs the team''s write lock' USING ERRCODE = 'insufficient_privilege';
    END IF;
    cols := voucherdesk_shared_columns(tbl);
    list := array_to_string(cols, ', ');
    SELECT quote_ident(a.attname::text) INTO key
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = ('public.' || quote_ident(tbl))::regclass AND i.indisprimary;
    IF mode = 'seed' THEN
        on_conflict := format('ON CONFLICT (%s) DO NOTHING', key);
    ELSIF mode = 'change' AND tbl NOT IN ('audit_log', 'refund_approvals') THEN
        on_conflict := format(
            'ON CONFLICT (%s) DO UPDATE SET %s, change_seq = EXCLUDED.change_seq WHERE ROW(%s) IS DISTINCT FROM ROW(%s)',
            key,
            (SELECT string_agg(format('%s = EXCLUDED.%s', c, c), ', ') FROM unnest(cols) AS c),
            (SELECT string_agg(format('%I.%s', tbl, c), ', ') FROM unnest(cols) AS c),
            (SELECT string_agg(format('EXCLUDED.%s', c), ', ') FROM unnest(cols) AS c));
    ELSIF mode NOT IN ('new', 'change') THEN
        RAISE EXCEPTION 'unknown upload mode %', mode;
    END IF;
    EXECUTE format('INSERT INTO public.%I (%s, change_seq) SELECT %s, nextval(''voucherdesk_change_seq'') FROM pg_temp.%I %s',
                   tbl, list, list, 'stage_' || tbl, on_conflict);
    GET DIAGNOSTICS written = ROW_COUNT;
    EXECUTE format('TRUNCATE pg_temp.%I', 'stage_' || tbl);
    IF written > 0 THEN
        INSERT INTO upload_log(at, login, tbl, mode, rows, last_change)
        VALUES (extract(epoch FROM clock_timestamp())::bigint, session_user, tbl, mode, written,
                currval('voucherdesk_change_seq'));
    END IF;
    RETURN written;
END;
$$;

-- Deletes rows of `tbl` by key (as text), noting each deletion with a change number.
CREATE FUNCTION voucherdesk_delete_rows(tbl text, keys text[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    key text;
    deleted bigint;
BEGIN
    PERFORM voucherdesk_caller();
    IF NOT voucherdesk_shared_table(tbl) THEN
        RAISE EXCEPTION 'no shared table %', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT voucherdesk_holds_write_lock() THEN
        RAISE EXCEPTION 'an upload needs the team''s write lock' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT quote_ident(a.attname::text) INTO key
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = ('public.' || quote_ident(tbl))::regclass AND i.indisprimary;
    -- Only what was deleted is noted: copies never drop a row the server keeps.
    EXECUTE format('WITH gone AS (DELETE FROM public.%I WHERE %s::text = ANY ($1) RETURNING %s::text AS k)
                    INSERT INTO deletions(change_seq, tbl, key) SELECT nextval(''voucherdesk_change_seq''), $2, k FROM gone',
                   tbl, key, key) USING keys, tbl;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    IF deleted > 0 THEN
        INSERT INTO upload_log(at, login, tbl, mode, rows)
        VALUES (extract(epoch FROM clock_timestamp())::bigint, session_user, tbl, 'delete', deleted);
    END IF;
    RETURN deleted;
END;
$$;

-- Who holds the write lock, the reconciliation lock, and which workspace seeded the team.
CREATE FUNCTION voucherdesk_note_writer(who text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM voucherdesk_caller();
    INSERT INTO team_writer(id, holder, since) VALUES (1, who, extract(epoch FROM clock_timestamp())::bigint)
    ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder, since = EXCLUDED.since;
END;
$$;

CREATE FUNCTION voucherdesk_note_reconciler(who text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
BEGIN
    IF me.name IS NOT NULL AND me.role NOT IN ('finance', 'manager', 'admin') THEN
        PERFORM voucherdesk_refuse('run reconciliation');
    END IF;
    INSERT INTO reconcile_lock_holder(id, holder, since) VALUES (1, who, extract(epoch FROM clock_timestamp())::bigint)
    ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder, since = EXCLUDED.since;
END;
$$;

CREATE FUNCTION voucherdesk_set_origin(workspace text, by_whom text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT voucherdesk_is_owner() THEN
        RAISE EXCEPTION 'only the team server''s owner seeds a team' USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO team_origin(id, workspace, pushed_by, pushed_at)
    VALUES (1, workspace, by_whom, extract(epoch FROM clock_timestamp())::bigint)
    ON CONFLICT (id) DO NOTHING;
END;
$$;

-- Leases, by the server's clock: takes, renews or takes over `lease` for
-- `who`; of two desktops asking at once, exactly one gets it.
CREATE FUNCTION voucherdesk_take_lease(lease text, who text, ttl_seconds bigint)
RETURNS TABLE (outcome text, previous text, name text, holder text, acquired_at bigint, renewed_at bigint,
               expires_at bigint, generation bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    now_s bigint := extract(epoch FROM clock_timestamp())::bigint;
    cur leases;
    got leases;
BEGIN
    PERFORM voucherdesk_caller();
    SELECT * INTO cur FROM leases l WHERE l.name = lease FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO leases AS l (name, holder, acquired_at, renewed_at, expires_at, generation)
        VALUES (lease, who, now_s, now_s, now_s + ttl_seconds, 1)
        ON CONFLICT ON CONSTRAINT leases_pkey DO NOTHING
        RETURNING * INTO got;
        IF got.name IS NOT NULL THEN
            RETURN QUERY SELECT 'acquired', NULL::text, got.name, got.holder, got.acquired_at, got.renewed_at, got.expires_at, got.generation;
        ELSE
            SELECT * INTO cur FROM leases l WHERE l.name = lease;
            RETURN QUERY SELECT 'held', NULL::text, cur.name, cur.holder, cur.acquired_at, cur.renewed_at, cur.expires_at, cur.generation;
        END IF;
    ELSIF cur.holder = who THEN
        UPDATE leases l SET renewed_at = now_s, expires_at = now_s + ttl_seconds WHERE l.name = lease RETURNING * INTO got;
        RETURN QUERY SELECT 'renewed', NULL::text, got.name, got.holder, got.acquired_at, got.renewed_at, got.expires_at, got.generation;
    ELSIF cur.expires_at <= now_s THEN
        UPDATE leases l SET holder = who, acquired_at = now_s, renewed_at = now_s, expires_at = now_s + ttl_seconds,
                            generation = l.generation + 1
         WHERE l.name = lease RETURNING * INTO got;
        RETURN QUERY SELECT 'taken_over', cur.holder, got.name, got.holder, got.acquired_at, got.renewed_at, got.expires_at, got.generation;
    ELSE
        RETURN QUERY SELECT 'held', NULL::text, cur.name, cur.holder, cur.acquired_at, cur.renewed_at, cur.expires_at, cur.generation;
    END IF;
END;
$$;

CREATE FUNCTION voucherdesk_release_lease(lease text, who text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM voucherdesk_caller();
    DELETE FROM leases l WHERE l.name = lease AND l.holder = who;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n = 1;
END;
$$;

-- Creates operator `op`'s login, or gives it a new password: `verifier` is a
-- SCRAM-SHA-256 verifier the client computed, so the password itself never
-- reaches the server or its logs. An admin (or the owner) sets anyone's;
-- every operator may set their own.
CREATE FUNCTION voucherdesk_set_login(op text, verifier text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
    target operators;
    login text;
BEGIN
    SELECT * INTO target FROM operators WHERE lower(name) = lower(op);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no operator named % on the team server', op USING ERRCODE = 'no_data_found';
    END IF;
    IF me.name IS NOT NULL AND me.role <> 'admin' AND lower(me.name) <> lower(op) THEN
        PERFORM voucherdesk_refuse('manage operators');
    END IF;
    IF verifier NOT LIKE 'SCRAM-SHA-256$%' THEN
        RAISE EXCEPTION 'a login password arrives as a SCRAM-SHA-256 verifier' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    login := lower(target.name);
    IF login !~ '^[a-z][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION 'operator % cannot have a team login: team operator names are a letter, then letters, digits, ".", "_" or "-" (at most 63)', target.name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login) THEN
        IF NOT pg_has_role(login, 'voucherdesk_operator', 'MEMBER') OR login = 'voucherdesk_operator' THEN
            RAISE EXCEPTION 'the PostgreSQL role % exists and is not a VoucherDesk operator login', login
                USING ERRCODE = 'duplicate_object';
        END IF;
        EXECUTE format('ALTER ROLE %I WITH LOGIN PASSWORD %L', login, verifier);
    ELSE
        EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT PASSWORD %L', login, verifier);
        EXECUTE format('GRANT voucherdesk_operator TO %I', login);
    END IF;
    RETURN login;
END;
$$;

REVOKE ALL ON FUNCTION voucherdesk_stage(text), voucherdesk_upload(text, text), voucherdesk_delete_rows(text, text[]),
    voucherdesk_note_writer(text), voucherdesk_note_reconciler(text), voucherdesk_set_origin(text, text),
    voucherdesk_take_lease(text, text, bigint), voucherdesk_release_lease(text, text),
    voucherdesk_set_login(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION voucherdesk_stage(text), voucherdesk_upload(text, text), voucherdesk_delete_rows(text, text[]),
    voucherdesk_note_writer(text), voucherdesk_note_reconciler(text), voucherdesk_set_origin(text, text),
    voucherdesk_take_lease(text, text, bigint), voucherdesk_release_lease(text, text),
    voucherdesk_set_login(text, text) TO voucherdesk_operator;

-- ─── The rules every written row passes (checked from session_user) ───
--
-- An upload's upsert proposes each row as an INSERT first: for a row whose
-- key the table has, the BEFORE INSERT check leaves it to the BEFORE UPDATE
-- check that follows (the conflict turns it into an update).

CREATE FUNCTION voucherdesk_has_key(tbl text, key text, value text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    found boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM public.%I WHERE %I::text = $1)', tbl, key) INTO found USING value;
    RETURN found;
END;
$$;

-- Operators, settings, PSP accounts and rates: an admin's. Anyone may change
-- their own language and password hash, nothing else of their row.
CREATE FUNCTION voucherdesk_guard_admin_tables() RETURNS trigger
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
    IF TG_TABLE_NAME = 'operators' AND TG_OP = 'UPDATE' AND lower(OLD.name) = lower(me.name)
       AND (NEW.id, NEW.name, NEW.role, NEW.disabled, NEW.created_at, NEW.created_by)
           IS NOT DISTINCT FROM (OLD.id, OLD.name, OLD.role, OLD.disabled, OLD.created_at, OLD.created_by) THEN
        RETURN NEW;
    END IF;
    PERFORM voucherdesk_refuse(CASE TG_TABLE_NAME
        WHEN 'operators' THEN 'manage operators'
        WHEN 'psp_accounts' THEN 'manage PSP credentials'
        ELSE 'change settings' END);
    RETURN NULL;
END;
$$;
CREATE TRIGGER operators_guard BEFORE INSERT OR UPDATE OR DELETE ON operators
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_admin_tables('id');
CREATE TRIGGER settings_guard BEFORE INSERT OR UPDATE OR DELETE ON settings
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_admin_tables('key');
CREATE TRIGGER psp_accounts_guard BEFORE INSERT OR UPDATE OR DELETE ON psp_accounts
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_admin_tables('id');
CREATE TRIGGER fx_rates_guard BEFORE INSERT OR UPDATE OR DELETE ON fx_rates
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_admin_tables('id');
CREATE TRIGGER psp_fee_rates_guard BEFORE INSERT OR UPDATE OR DELETE ON psp_fee_rates
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_admin_tables('account');

-- Only the owner deletes from the ledger and the logs (copies follow deletions
-- of accounts and rates only).
CREATE FUNCTION voucherdesk_guard_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT voucherdesk_is_owner() THEN
        PERFORM voucherdesk_refuse('delete ' || TG_TABLE_NAME || ' rows');
    END IF;
    RETURN OLD;
END;
$$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['import_batches', 'import_files', 'orders', 'payments', 'payment_status_history',
        'settlements', 'payment_links', 'reconcile_runs', 'exceptions', 'exception_history', 'refunds',
        'buyer_notifications', 'buyer_contact_changes'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_delete()',
                       t || '_guard_delete', t);
    END LOOP;
END;
$$;

-- The audit log: an entry names its caller (or a system actor that is no
-- operator's name; a refused sign-in under the name tried), and the server
-- notes the real login on every entry.
CREATE FUNCTION voucherdesk_guard_audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
BEGIN
    NEW.login := session_user;
    IF me.name IS NULL OR lower(NEW.operator) = lower(me.name) THEN
        RETURN NEW;
    END IF;
    IF NEW.action = 'operator.sign_in' AND NEW.after <> 'signed in' THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM operators WHERE lower(name) = lower(NEW.operator)) THEN
        RETURN NEW;
    END IF;
    PERFORM voucherdesk_refuse('write audit entries as ' || NEW.operator);
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_log_guard BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_audit();

-- Refund approvals: by the caller, in the caller's role, an approving role,
-- never the requester's own refund.
CREATE FUNCTION voucherdesk_guard_refund_approval() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
    requester text;
BEGIN
    IF me.name IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT requested_by INTO requester FROM refunds WHERE id = NEW.refund;
    IF lower(requester) = lower(NEW.operator) THEN
        RAISE EXCEPTION 'refund %: % requested it and may not decide on it too', NEW.refund, NEW.operator
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF lower(NEW.operator) <> lower(me.name) THEN
        PERFORM voucherdesk_refuse('decide on refunds as ' || NEW.operator);
    END IF;
    IF me.role NOT IN ('finance', 'manager') OR NEW.role <> me.role THEN
        PERFORM voucherdesk_refuse('approve refunds');
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER refund_approvals_guard BEFORE INSERT ON refund_approvals
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_refund_approval();

-- Refunds: a new one is requested by the caller; who requested one never changes.
CREATE FUNCTION voucherdesk_guard_refund() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
BEGIN
    IF me.name IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' AND lower(NEW.requested_by) <> lower(me.name)
       AND NOT EXISTS (SELECT 1 FROM refunds WHERE id = NEW.id) THEN
        PERFORM voucherdesk_refuse('request refunds as ' || NEW.requested_by);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.requested_by IS DISTINCT FROM OLD.requested_by THEN
        PERFORM voucherdesk_refuse('change who requested refund ' || OLD.id);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER refunds_guard BEFORE INSERT OR UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_refund();

-- A refund that becomes approved (or any status past it) has, by commit, an approval from each role
-- its tier needs (tier 2: finance; tier 3: finance and manager; finance too
-- when finance is required), none by its requester; a tier-1 refund needs none.
CREATE FUNCTION voucherdesk_check_refund_approved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    cur refunds;
    needed text[];
    missing text[];
BEGIN
    IF voucherdesk_is_owner() THEN
        RETURN NULL;
    END IF;
    SELECT * INTO cur FROM refunds WHERE id = NEW.id;
    -- Every status past approval counts: a refund moved straight from
    -- pending_approval to submitted would otherwise be sent by the next
    -- submission round without anyone's approval.
    IF cur.status NOT IN ('approved', 'submitted', 'succeeded', 'failed', 'rejected_by_psp')
       OR (TG_OP = 'UPDATE' AND OLD.status IN ('approved', 'submitted', 'succeeded', 'failed', 'rejected_by_psp')) THEN
        RETURN NULL;
    END IF;
    needed := CASE cur.tier WHEN 1 THEN ARRAY[]::text[] WHEN 2 THEN ARRAY['finance'] ELSE ARRAY['finance', 'manager'] END;
    IF cur.finance_required AND NOT 'finance' = ANY (needed) THEN
        needed := needed || 'finance';
    END IF;
    SELECT array_agg(r) INTO missing FROM unnest(needed) AS r
     WHERE NOT EXISTS (SELECT 1 FROM refund_approvals a
                        WHERE a.refund = cur.id AND a.decision = 'approve' AND a.role = r
                          AND lower(a.operator) <> lower(cur.requested_by));
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'refund % cannot be approved without the approval of %', cur.id, array_to_string(missing, ' and ')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER refunds_approved_check AFTER INSERT OR UPDATE ON refunds
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION voucherdesk_check_refund_approved();

-- Exceptions: a resolution is the caller's and within their role; assigning is
-- a manager's or an admin's.
CREATE FUNCTION voucherdesk_guard_exception() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
BEGIN
    IF me.name IS NULL THEN
        RETURN NEW;
    END IF;
    IF NEW.resolution IS DISTINCT FROM OLD.resolution AND NEW.resolution IS NOT NULL THEN
        IF lower(coalesce(NEW.resolved_by, '')) <> lower(me.name) THEN
            PERFORM voucherdesk_refuse('resolve exceptions as ' || coalesce(NEW.resolved_by, 'nobody'));
        END IF;
        IF NEW.resolution NOT IN ('accept', 'escalate') AND me.role NOT IN ('manager', 'admin') THEN
            PERFORM voucherdesk_refuse('resolve exceptions with ' || NEW.resolution);
        END IF;
    END IF;
    IF NEW.assignee IS DISTINCT FROM OLD.assignee AND me.role NOT IN ('manager', 'admin') THEN
        PERFORM voucherdesk_refuse('assign exceptions');
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER exceptions_guard BEFORE UPDATE ON exceptions
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_exception();

-- Imports and reconciliation runs: the caller's, in a role that may; who
-- made one never changes.
CREATE FUNCTION voucherdesk_guard_import() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
BEGIN
    IF me.name IS NULL OR (TG_OP = 'INSERT' AND voucherdesk_has_key(TG_TABLE_NAME, 'id', NEW.id::text)) THEN
        RETURN NEW;
    END IF;
    IF me.role NOT IN ('finance', 'manager', 'admin') THEN
        PERFORM voucherdesk_refuse(CASE TG_TABLE_NAME WHEN 'import_batches' THEN 'import files' ELSE 'run reconciliation' END);
    END IF;
    IF TG_OP = 'INSERT' AND lower(NEW.operator) <> lower(me.name) THEN
        PERFORM voucherdesk_refuse('act as ' || NEW.operator);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.operator IS DISTINCT FROM OLD.operator THEN
        PERFORM voucherdesk_refuse('change who made ' || TG_TABLE_NAME || ' ' || OLD.id);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER import_batches_guard BEFORE INSERT OR UPDATE ON import_batches
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_import();
CREATE TRIGGER reconcile_runs_guard BEFORE INSERT OR UPDATE ON reconcile_runs
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_import();

-- A refund's tier is at least what its amount needs by the team's refund
-- settings (refunds::tiers: settings key 'refunds', per currency, inclusive
-- limits in minor units; the defaults when unset or unreadable), so a crafted
-- client cannot file a large refund as tier 1 and approve it without anyone.
-- Checked when a refund is new or its amount, currency or tier changes: a
-- later change of the limits does not block an older refund's progress.
CREATE FUNCTION voucherdesk_amount_tier(currency text, amount_minor bigint) RETURNS smallint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    limits jsonb;
    tier1_max bigint;
    tier2_max bigint;
BEGIN
    BEGIN
        SELECT value::jsonb -> 'tiers' -> upper(currency) INTO limits FROM settings WHERE key = 'refunds';
    EXCEPTION WHEN others THEN
        limits := NULL;
    END;
    -- TierLimits::default_for, in minor units (every currency has two decimals).
    tier1_max := coalesce((limits ->> 'tier1_max_minor')::bigint,
        CASE upper(currency) WHEN 'COP' THEN 20000000 WHEN 'PEN' THEN 20000 ELSE 5000 END);
    tier2_max := coalesce((limits ->> 'tier2_max_minor')::bigint,
        CASE upper(currency) WHEN 'COP' THEN 200000000 WHEN 'PEN' THEN 200000 ELSE 50000 END);
    RETURN CASE WHEN amount_minor <= tier1_max THEN 1 WHEN amount_minor <= tier2_max THEN 2 ELSE 3 END;
END;
$$;

CREATE FUNCTION voucherdesk_guard_refund_tier() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    me operators := voucherdesk_caller();
    needed smallint;
BEGIN
    IF me.name IS NULL OR (TG_OP = 'INSERT' AND voucherdesk_has_key('refunds', 'id', NEW.id::text)) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.tier = OLD.tier AND NEW.amount_minor = OLD.amount_minor
       AND NEW.currency = OLD.currency THEN
        RETURN NEW;
    END IF;
    needed := voucherdesk_amount_tier(NEW.currency, NEW.amount_minor);
    IF NEW.tier < needed THEN
        RAISE EXCEPTION 'refund %: % % needs tier % (filed as tier %)', NEW.id, NEW.amount_minor, NEW.currency,
            needed, NEW.tier USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER refunds_tier_guard BEFORE INSERT OR UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_guard_refund_tier();
