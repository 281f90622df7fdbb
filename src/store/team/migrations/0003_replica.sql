-- Team schema version 3: every shared table follows the change cursor.
--
-- A desktop writes in team mode by holding the team's write lock (a session
-- advisory lock, store::team::TEAM_WRITE_LOCK_KEY), catching its local copy up,
-- applying the change with the domain's own rules to that copy, and uploading
-- the rows it changed in one transaction. The upload numbers each row with the
-- next value of voucherdesk_change_seq; because only the lock holder numbers
-- rows, numbers commit in order and a copy that pulls past its cursor skips
-- nothing. The per-row triggers of version 2 are replaced by that upload.

DROP TRIGGER exceptions_number_change ON exceptions;
DROP TRIGGER exceptions_announce_change ON exceptions;
DROP FUNCTION voucherdesk_number_change();
DROP FUNCTION voucherdesk_announce_change();

-- Local schema version 12.
ALTER TABLE buyer_notifications ADD COLUMN barcode TEXT;

ALTER TABLE operators              ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE settings               ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE psp_accounts           ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_batches         ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_files           ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders                 ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments               ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payment_status_history ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE settlements            ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payment_links          ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reconcile_runs         ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE exception_history      ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_log              ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refunds                ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refund_approvals       ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE buyer_notifications    ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE buyer_contact_changes  ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;

CREATE INDEX operators_by_change              ON operators(change_seq);
CREATE INDEX settings_by_change               ON settings(change_seq);
CREATE INDEX psp_accounts_by_change           ON psp_accounts(change_seq);
CREATE INDEX import_batches_by_change         ON import_batches(change_seq);
CREATE INDEX import_files_by_change           ON import_files(change_seq);
CREATE INDEX orders_by_change                 ON orders(change_seq);
CREATE INDEX payments_by_change               ON payments(change_seq);
CREATE INDEX payment_status_history_by_change ON payment_status_history(change_seq);
CREATE INDEX settlements_by_change            ON settlements(change_seq);
CREATE INDEX payment_links_by_change          ON payment_links(change_seq);
CREATE INDEX reconcile_runs_by_change         ON reconcile_runs(change_seq);
CREATE INDEX exception_history_by_change      ON exception_history(change_seq);
CREATE INDEX audit_log_by_change              ON audit_log(change_seq);
CREATE INDEX refunds_by_change                ON refunds(change_seq);
CREATE INDEX refund_approvals_by_change       ON refund_approvals(change_seq);
CREATE INDEX buyer_notifications_by_change    ON buyer_notifications(change_seq);
CREATE INDEX buyer_contact_changes_by_change  ON buyer_contact_changes(change_seq);

-- Rows deleted from a shared table (a removed PSP account), so copies delete them too.
CREATE TABLE deletions (
    change_seq  BIGINT PRIMARY KEY,
    tbl         TEXT   NOT NULL,
    key         TEXT   NOT NULL
);

-- Who holds the write lock now, so a desktop kept waiting can say who and since when.
CREATE TABLE team_writer (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    holder  TEXT    NOT NULL,
    since   BIGINT  NOT NULL
);

-- Which local workspace `team push` seeded this team from (at most one).
CREATE TABLE team_origin (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    workspace   TEXT    NOT NULL,
    pushed_by   TEXT    NOT NULL,
    pushed_at   BIGINT  NOT NULL
);

-- Archived import files are stored as they are: compressing a 200 MB upload
-- (pglz) would cost more time than the disk it saves.
ALTER TABLE import_files ALTER COLUMN text SET STORAGE EXTERNAL;

-- Lists and lookups run on each desktop's copy, never on the server: the
-- server keeps only the indexes its own work uses (keys, uniqueness, the
-- change cursor), so a million-row upload maintains no more than those.
DROP INDEX orders_by_order_id;
DROP INDEX payments_by_order_id;
DROP INDEX payment_status_history_by_payment;
DROP INDEX settlements_by_payment;
DROP INDEX payment_links_by_order;
DROP INDEX exceptions_by_order;
DROP INDEX exceptions_by_status_kind_age;
DROP INDEX exceptions_by_assignee;
DROP INDEX exception_history_by_exception;
DROP INDEX refunds_by_payment;
DROP INDEX refunds_by_status;
DROP INDEX buyer_notifications_by_order;
DROP INDEX buyer_notifications_due;
DROP INDEX buyer_contact_changes_by_order;

-- A change's new rows are copied straight into their table, numbered as they land.
ALTER TABLE settings               ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE import_files           ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE payment_links          ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE exceptions             ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE operators              ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE psp_accounts           ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE import_batches         ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE orders                 ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE payments               ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE payment_status_history ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE settlements            ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE reconcile_runs         ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE exception_history      ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE audit_log              ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE refunds                ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE refund_approvals       ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE buyer_notifications    ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
ALTER TABLE buyer_contact_changes  ALTER COLUMN change_seq SET DEFAULT nextval('voucherdesk_change_seq');
