-- VoucherDesk version 15: each PSP account's contracted fee rate, against
-- which reconciliation checks the fees settlement rows carry. Basis points of
-- the gross amount (290 = 2.90 %). No row: the account's fees are not checked.

CREATE TABLE psp_fee_rates (
    -- psp_accounts.name; no foreign key, so removing an account is never blocked
    -- (a rate left behind joins no account and is ignored).
    account  TEXT    PRIMARY KEY COLLATE NOCASE,
    fee_bps  INTEGER NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
    set_by   TEXT    NOT NULL,
    set_at   INTEGER NOT NULL
) WITHOUT ROWID;
