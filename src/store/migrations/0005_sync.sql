-- Background sync with the PSPs' APIs (version 5).
-- The queue holds one row per payment that is not final yet: when to poll it
-- next and how the last polls went. A poll's observation and the row's new
-- schedule commit in one transaction, so a crash loses or repeats nothing.

CREATE TABLE sync_queue (
    -- payments.id; the queue never holds a payment twice.
    payment             INTEGER PRIMARY KEY,
    -- payments.psp, copied so that each PSP's due items come from one index.
    psp                 TEXT    NOT NULL,
    next_poll_at        INTEGER NOT NULL,
    -- Failed polls in a row (0 after a success): drives the back-off.
    attempts            INTEGER NOT NULL DEFAULT 0,
    last_polled_at      INTEGER,
    last_error_code     TEXT,
    last_error_message  TEXT,
    last_error_at       INTEGER
);
CREATE INDEX sync_queue_due_by_psp ON sync_queue(psp, next_poll_at);
CREATE INDEX sync_queue_due ON sync_queue(next_poll_at);
CREATE INDEX sync_queue_recent_errors ON sync_queue(last_error_at) WHERE last_error_at IS NOT NULL;

-- A PSP that answered "too many requests" is left alone until `until_at`.
CREATE TABLE sync_psp_holds (
    psp       TEXT    PRIMARY KEY,
    until_at  INTEGER NOT NULL,
    reason    TEXT    NOT NULL
) WITHOUT ROWID;

-- One row: the pause switch and what the status indicator shows.
CREATE TABLE sync_state (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    paused              INTEGER NOT NULL DEFAULT 0,
    paused_by           TEXT,
    paused_at           INTEGER,
    -- Payments with an id up to this one have been considered for the queue
    -- (ids only grow and a final payment never becomes pending again).
    enqueued_upto       INTEGER NOT NULL DEFAULT 0,
    -- A poll changed a payment and reconciliation has not run since.
    reconcile_needed    INTEGER NOT NULL DEFAULT 0,
    last_round_at       INTEGER,
    last_success_at     INTEGER,
    last_error_at       INTEGER,
    last_error_code     TEXT,
    last_error_message  TEXT,
    polls_total         INTEGER NOT NULL DEFAULT 0,
    changes_total       INTEGER NOT NULL DEFAULT 0,
    errors_total        INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sync_state(id) VALUES (1);
