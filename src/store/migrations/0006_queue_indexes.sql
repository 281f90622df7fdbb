-- The exceptions queue on a big ledger (version 6).
-- The queue's counts (per kind and per age bucket of a status) read only
-- these columns: the index answers them without touching the table. With the
-- primary key (id) that every index of this WITHOUT ROWID table ends with, it
-- also gives a kind's page in age order with no sort. Its (status, kind)
-- prefix is the older index, which goes.
CREATE INDEX exceptions_by_status_kind_age ON exceptions(status, kind, detected_at);
DROP INDEX exceptions_by_status_kind;
-- The amount sorts order by coalesce(amount_minor, 0) then id (the primary
-- key, in every index of this WITHOUT ROWID table): read in index order, a
-- page stops after its rows instead of sorting every open exception.
CREATE INDEX exceptions_by_status_amount ON exceptions(status, coalesce(amount_minor, 0));
