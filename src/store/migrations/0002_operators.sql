-- VoucherDesk version 2: operators, their roles, and settings.

CREATE TABLE operators (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    role           TEXT    NOT NULL CHECK (role IN ('support', 'finance', 'manager', 'admin')),
    -- Argon2id in PHC form; NULL for an operator who cannot sign in to the app.
    password_hash  TEXT,
    language       TEXT    NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es', 'zh')),
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    created_by     TEXT    NOT NULL
);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;

-- The exception queue is filtered by status and sorted by age or amount.
CREATE INDEX exceptions_by_status_age ON exceptions(status, detected_at);
CREATE INDEX exceptions_by_assignee ON exceptions(assignee) WHERE assignee IS NOT NULL;
