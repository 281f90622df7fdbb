-- Team schema version 2: the change cursor that desktops' local copies follow.
--
-- Every change to a copied table takes the next number of one sequence. A
-- desktop pulls the rows numbered past its cursor and moves the cursor to the
-- last one it stored. For that to skip nothing, numbers must be committed in
-- order: a transaction that numbers a row holds a transaction-scoped advisory
-- lock until it commits, so a lower number can never commit after a higher
-- one was read. Writers to copied tables take turns for that long, which a
-- team's pace of approvals and resolutions allows (an import holds it for its
-- own transaction).

CREATE SEQUENCE voucherdesk_change_seq;

CREATE FUNCTION voucherdesk_number_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(8530943594146562052); -- 0x7664_0000_0000_0004 (store::team::CHANGE_LOCK_KEY)
    NEW.change_seq := nextval('voucherdesk_change_seq');
    RETURN NEW;
END;
$$;

-- Wakes the desktops that LISTEN, once per statement, after the change.
CREATE FUNCTION voucherdesk_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('voucherdesk_changes', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

ALTER TABLE exceptions ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX exceptions_by_change ON exceptions(change_seq);
CREATE TRIGGER exceptions_number_change BEFORE INSERT OR UPDATE ON exceptions
    FOR EACH ROW EXECUTE FUNCTION voucherdesk_number_change();
CREATE TRIGGER exceptions_announce_change AFTER INSERT OR UPDATE ON exceptions
    FOR EACH STATEMENT EXECUTE FUNCTION voucherdesk_announce_change();
