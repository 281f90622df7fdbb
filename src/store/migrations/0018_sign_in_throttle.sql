-- VoucherDesk version 18: failed sign-ins per operator name, for the backoff
-- after repeated failures. Local to this file (a team copy keeps its own).

CREATE TABLE sign_in_failures (
    name           TEXT    PRIMARY KEY,  -- the name as typed, trimmed and lower-cased
    failures       INTEGER NOT NULL CHECK (failures >= 0),
    locked_until   INTEGER               -- seconds since the epoch; NULL: not throttled
);
