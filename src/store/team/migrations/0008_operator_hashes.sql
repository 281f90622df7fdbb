-- Team schema version 8: an operator login reads no other operator's
-- password hash. Copies read operators through `operators_seen`, which shows
-- the hash of the login's own row only (the owner sees every row's); the
-- table itself keeps the hash column from operator logins. A view runs with
-- its owner's rights, and session_user inside it is still the caller.

REVOKE SELECT ON operators FROM voucherdesk_operator;
GRANT SELECT (id, name, role, language, disabled, created_at, created_by, change_seq)
    ON operators TO voucherdesk_operator;

CREATE VIEW operators_seen AS
    SELECT id, name, role,
           CASE WHEN lower(name) = session_user OR voucherdesk_is_owner() THEN password_hash END AS password_hash,
           language, disabled, created_at, created_by, change_seq
      FROM operators;
GRANT SELECT ON operators_seen TO voucherdesk_operator;

-- A copy holds no hash but its own login's, so an upload of another
-- operator's row (an admin's change of role, say) carries none: the server
-- keeps the hash it has. Only the owner may clear one. Named to run before
-- operators_guard (PostgreSQL fires a table's triggers in name order).
CREATE FUNCTION voucherdesk_keep_password_hash() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.password_hash IS NULL AND NOT voucherdesk_is_owner() THEN
        NEW.password_hash := OLD.password_hash;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER operators_a_keep_password_hash BEFORE UPDATE ON operators
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_keep_password_hash();
