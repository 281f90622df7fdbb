-- Team schema version 5: the exchange-rate table (local version 14) and the
-- PSP accounts' contracted fee rates (local version 15) are shared, so every
-- desktop of a team converts and checks fees with the same numbers. As every
-- shared table, a row takes the next change number as it lands.

CREATE TABLE fx_rates (
    id           BIGSERIAL PRIMARY KEY,
    base         TEXT    NOT NULL CHECK (length(base) = 3),
    quote        TEXT    NOT NULL CHECK (length(quote) = 3 AND quote <> base),
    market       TEXT    NOT NULL,
    market_date  TEXT    NOT NULL CHECK (length(market_date) = 10),
    rate         TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    entered_by   TEXT    NOT NULL,
    entered_at   BIGINT  NOT NULL,
    change_seq   BIGINT  NOT NULL DEFAULT nextval('voucherdesk_change_seq'),
    UNIQUE (base, quote, market_date)
);
CREATE INDEX fx_rates_by_change ON fx_rates(change_seq);

CREATE TABLE psp_fee_rates (
    account     TEXT    PRIMARY KEY,
    fee_bps     BIGINT  NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
    set_by      TEXT    NOT NULL,
    set_at      BIGINT  NOT NULL,
    change_seq  BIGINT  NOT NULL DEFAULT nextval('voucherdesk_change_seq')
);
CREATE INDEX psp_fee_rates_by_change ON psp_fee_rates(change_seq);
