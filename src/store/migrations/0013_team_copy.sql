-- VoucherDesk version 13: team mode's local copy.
-- The shared rows a change touched, noted (by temporary triggers that exist
-- only while this desktop writes in team mode) until the team server has
-- them; a row still listed when a write starts was not uploaded, and the copy
-- takes the server's version of it back (store/team_link.rs).
CREATE TABLE team_pending (
    tbl  TEXT NOT NULL,
    key  NOT NULL,
    PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
