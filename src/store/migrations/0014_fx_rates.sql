-- VoucherDesk version 14: dated exchange rates (manual entries and banks'
-- daily rate files). A rate is never changed once recorded: one rate per
-- pair and market date, and a correction is a new date's entry.
CREATE TABLE fx_rates (
    id           INTEGER PRIMARY KEY,
    -- 1 base = rate quote (USD/COP: pesos per dollar).
    base         TEXT    NOT NULL CHECK (length(base) = 3),
    quote        TEXT    NOT NULL CHECK (length(quote) = 3 AND quote <> base),
    -- The market whose business days date the rate (CO, PE).
    market       TEXT    NOT NULL,
    -- YYYY-MM-DD in the market's time zone.
    market_date  TEXT    NOT NULL CHECK (length(market_date) = 10),
    -- Decimal text, normalised ("4125.5").
    rate         TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    entered_by   TEXT    NOT NULL,
    entered_at   INTEGER NOT NULL,
    UNIQUE (base, quote, market_date)
);
CREATE TRIGGER fx_rates_never_change BEFORE UPDATE ON fx_rates
BEGIN
    SELECT RAISE(ABORT, 'fx_rates rows are never changed');
END;
