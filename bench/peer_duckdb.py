#!/usr/bin/env python3
"""VoucherDesk peer implementation on DuckDB (benchmark only).

Imports the demo files (shop orders, PSP payment reports, settlement reports)
into tables of a DuckDB database *file*, applies the reconciliation rules in
SQL, persists the findings (the exception queue) in the same file and prints
one JSON summary on stdout, shaped like `voucherdesk reconcile --json`
plus the list of kinds it computes (all nineteen).

    python bench/peer_duckdb.py DATA_DIR [--db FILE] [--as-of 2026-03-20] [--lag-days 1] [--fee-rate dlocal=300]

Money is integer minor units (BIGINT), parsed from text through DECIMAL after
a strict format check; timestamps are TIMESTAMPTZ instants.
"""

from __future__ import annotations

import argparse
import codecs
import datetime as dt
import json
import re
import sys
import tempfile
from pathlib import Path

import duckdb

import peer_terms

KINDS = (  # every kind voucherdesk's reconciliation raises
    "amount_mismatch",
    "chargeback",
    "currency_mismatch",
    "duplicate_payment",
    "expired_unpaid",
    "fee_mismatch",
    "not_settled",
    "paid_after_expiry",
    "paid_not_recorded",
    "payment_id_mismatch",
    "recorded_not_paid",
    "reversed_after_fulfilment",
    "settlement_fx_mismatch",
    "settlement_mismatch",
    "settlement_report_missing",
    "stale_pending",
    "unknown_order",
    "unknown_settlement",
    "unmatched_refund_settlement",
)

# Amount formats (after trimming). Thousands separators only where the PSP
# writes them (PagoEfectivo); at most two significant decimals (trailing zeros
# beyond that are fine: "1.500" is 1.50), like voucherdesk's parse_minor.
AMOUNT_PLAIN = r"^\d+(\.\d{1,2}0*)?$"
AMOUNT_GROUPED = r"^(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2}0*)?$"

C1_BYTES = re.compile(rb"[\x80-\x9f]")


def sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def cp1252_source(path: Path, scratch: Path) -> tuple[str, str]:
    """(path, DuckDB encoding) to read a file declared Windows-1252.

    DuckDB's CSV reader decodes utf-8, utf-16 and latin-1 natively; other
    encodings need the `encodings` extension, which is downloaded at run time
    and so is not available here. Windows-1252 and latin-1 agree on every byte
    except 0x80-0x9F, so: valid UTF-8 (incl. plain ASCII) is read as UTF-8
    (as voucherdesk does); otherwise, without 0x80-0x9F bytes the file is read
    natively as latin-1; only a file that has them is transcoded by Python.
    """
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    has_c1 = False
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            if is_utf8 and not chunk.isascii():
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
            if not is_utf8 and C1_BYTES.search(chunk):
                has_c1 = True
                break
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
            return str(path), "utf-8"
        except UnicodeDecodeError:
            pass
    if not has_c1:
        return str(path), "latin-1"
    out = scratch / (path.name + ".utf8")
    with open(path, "r", encoding="cp1252", newline="") as src, open(out, "w", encoding="utf-8", newline="") as dst:
        while block := src.read(8 << 20):
            dst.write(block)
    return str(out), "utf-8"


def read_csv(path: str, delim: str, encoding: str = "utf-8") -> str:
    # Every column as text: the SQL below converts and validates explicitly.
    return (
        f"read_csv({sql_str(path)}, header=true, delim={sql_str(delim)}, quote='\"', escape='\"', "
        f"encoding={sql_str(encoding)}, all_varchar=true, auto_detect=true, strict_mode=true)"
    )


def minor(expr: str, pattern: str) -> str:
    """Text amount -> BIGINT minor units, exact; an amount of any other shape
    stops the run (error()), it is never guessed."""
    return f"minor(trim({expr}), {sql_str(pattern)})"


def signed(expr: str, pattern: str, money_out: str) -> str:
    """Like minor(), with one leading minus sign allowed where `money_out` (a
    SQL boolean) holds: refund, chargeback and fee rows are written negative."""
    return f"signed_minor(trim({expr}), {sql_str(pattern)}, {money_out})"


MACROS = """
CREATE OR REPLACE TEMP MACRO minor(x, pat) AS
    CASE WHEN regexp_full_match(x, pat) THEN CAST(CAST(replace(x, ',', '') AS DECIMAL(18,2)) * 100 AS BIGINT)
         ELSE error('unparseable amount: ' || coalesce(x, '(empty)')) END;
-- A settlement row for money leaving the merchant (refund, chargeback, fee) may
-- carry one minus sign, as voucherdesk reads it; any other row may not.
CREATE OR REPLACE TEMP MACRO signed_minor(x, pat, money_out) AS
    CASE WHEN NOT (money_out AND starts_with(x, '-')) THEN minor(x, pat)
         WHEN regexp_full_match(ltrim(substr(x, 2)), pat) THEN -minor(ltrim(substr(x, 2)), pat)
         ELSE error('unparseable amount: ' || x) END;
-- An exchange rate as written (kept as text), refused unless a positive decimal.
CREATE OR REPLACE TEMP MACRO fx_rate(x) AS
    CASE WHEN nullif(trim(x), '') IS NULL THEN ''
         WHEN regexp_full_match(trim(x), '\d+(\.\d+)?') AND CAST(trim(x) AS DECIMAL(38, 18)) > 0 THEN trim(x)
         ELSE error('bad exchange rate: ' || x) END;
CREATE OR REPLACE TEMP MACRO must(x, what) AS
    CASE WHEN x IS NOT NULL THEN x ELSE error('unknown ' || what) END;
CREATE OR REPLACE TEMP MACRO currency(x) AS
    must(CASE WHEN upper(trim(x)) IN ('COP', 'PEN', 'USD') THEN upper(trim(x)) END, 'currency: ' || coalesce(x, '(empty)'));
CREATE OR REPLACE TEMP MACRO country(x) AS
    must(CASE upper(trim(x)) WHEN 'CO' THEN 'CO' WHEN 'COL' THEN 'CO' WHEN 'PE' THEN 'PE' WHEN 'PER' THEN 'PE' END,
         'country: ' || coalesce(x, '(empty)'));
-- Lima wall time with no offset written: UTC-5 all year.
CREATE OR REPLACE TEMP MACRO lima(x) AS
    CAST(strptime(nullif(trim(x), ''), '%d/%m/%Y %H:%M:%S') + INTERVAL 5 HOUR AS TIMESTAMPTZ);
CREATE OR REPLACE TEMP MACRO instant(x) AS CAST(nullif(trim(x), '') AS TIMESTAMPTZ);
"""


def load(con, create_sql: str, order_matters: str) -> bool:
    """Runs a CREATE TABLE ... AS SELECT over the files. DuckDB writes a table
    faster when it need not keep the input order, and the order (rowid = file
    line order) only decides ties between rows with the same key, which are
    rare: when `order_matters` finds any, the table is loaded again in order."""
    con.execute("SET preserve_insertion_order=false")
    con.execute(create_sql)
    if not con.execute(order_matters).fetchone()[0]:
        return False
    con.execute("SET preserve_insertion_order=true")
    con.execute(create_sql.replace("CREATE TABLE", "CREATE OR REPLACE TABLE", 1))
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--db", type=Path, default=Path(__file__).resolve().parent / "out" / "peer_duckdb.duckdb")
    ap.add_argument("--as-of", default="2026-03-20")
    ap.add_argument("--lag-days", type=int, default=peer_terms.SETTLEMENT_LAG_DAYS_DEFAULT)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fee-rate", action="append", default=[], metavar="PSP=BPS",
                    help="a contracted fee rate in basis points of the gross (dlocal=300); repeatable")
    args = ap.parse_args()
    d: Path = args.data_dir
    as_of = dt.date.fromisoformat(args.as_of)
    lag = int(args.lag_days)
    at = peer_terms.end_of(as_of)
    fee_rates = [(psp.strip().lower(), int(bps)) for psp, bps in (r.split("=", 1) for r in args.fee_rate)]

    args.db.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".wal"):
        Path(str(args.db) + suffix).unlink(missing_ok=True)
    con = duckdb.connect(str(args.db))
    con.execute(f"SET threads={int(args.threads)}")
    con.execute(MACROS)

    with tempfile.TemporaryDirectory(prefix="peer_duckdb.", dir=args.db.parent) as scratch_dir:
        scratch = Path(scratch_dir)
        pe_orders, pe_orders_enc = cp1252_source(d / "orders-pe.csv", scratch)
        pe_pay, pe_pay_enc = cp1252_source(d / "pagoefectivo-payments.csv", scratch)
        pe_set, pe_set_enc = cp1252_source(d / "pagoefectivo-settlement.csv", scratch)

        # ---------------------------------------------------------------- orders
        # Both shop exports, columns matched by header name (the PE export has
        # them reversed). A timestamp without an offset is market time (UTC-5).
        con.execute("SET TimeZone='America/Bogota'")
        repeated = load(
            con,
            f"""
            CREATE TABLE orders AS
            SELECT trim(order_id) AS order_id, trim(store) AS store, instant(created_at) AS created_at,
                   buyer_name, buyer_email, buyer_phone, buyer_document,
                   country(country) AS country, {minor('amount', AMOUNT_PLAIN)} AS amount_minor,
                   currency(currency) AS currency,
                   must(CASE WHEN lower(trim(status)) IN ('pending_payment', 'paid', 'fulfilled', 'cancelled',
                                                          'expired', 'refunded') THEN lower(trim(status)) END,
                        'shop status: ' || coalesce(status, '(empty)')) AS status,
                   lower(trim(psp)) AS psp, trim(psp_payment_id) AS psp_payment_id, trim(voucher_code) AS voucher_code,
                   instant(voucher_expires_at) AS voucher_expires_at, file_no
            FROM (
                SELECT 1 AS file_no, * FROM {read_csv(str(d / 'orders-co.csv'), ',')}
                UNION ALL BY NAME
                SELECT 2 AS file_no, * FROM {read_csv(pe_orders, ';', pe_orders_enc)}
            )
            """,
            order_matters="SELECT count(*) <> count(DISTINCT order_id) FROM orders",
        )
        if repeated:
            # An order id in several rows: the latest file, then the latest row,
            # is the shop's latest word on it.
            con.execute(
                """
                CREATE OR REPLACE TABLE orders AS
                SELECT * EXCLUDE (seq) FROM (SELECT *, rowid AS seq FROM orders)
                QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY file_no DESC, seq DESC) = 1
                """
            )

        # -------------------------------------------------------------- payments
        # Every observation (file row) is kept, like voucherdesk's status history.
        con.execute("SET TimeZone='UTC'")  # dLocal writes UTC when it omits the offset
        load(
            con,
            f"""
            CREATE TABLE payment_observations AS
            WITH obs AS (
                SELECT 'dlocal' AS psp, must(nullif(trim(PAYMENT_ID), ''), 'empty PAYMENT_ID') AS payment_id,
                       trim(ORDER_ID) AS order_id, country(COUNTRY) AS country,
                       must(CASE upper(trim(PAYMENT_METHOD_ID)) WHEN 'EY' THEN 'efecty' WHEN 'EF' THEN 'pagoefectivo' END,
                            'payment method: ' || coalesce(PAYMENT_METHOD_ID, '(empty)')) AS network,
                       currency(CURRENCY) AS currency, {minor('AMOUNT', AMOUNT_PLAIN)} AS amount_minor,
                       trim(STATUS) AS psp_status,
                       must(CASE upper(trim(STATUS))
                           WHEN 'PENDING' THEN 'pending' WHEN 'AUTHORIZED' THEN 'pending' WHEN 'VERIFIED' THEN 'pending'
                           WHEN 'REJECTED' THEN 'rejected' WHEN 'CANCELLED' THEN 'cancelled'
                           WHEN 'EXPIRED' THEN 'expired' WHEN 'PAID' THEN 'paid' END,
                           'dLocal status: ' || coalesce(STATUS, '(empty)')) AS status,
                       trim(STATUS_CODE) AS status_code,
                       instant(CREATED_DATE) AS created_at, instant(APPROVED_DATE) AS paid_at,
                       instant(EXPIRATION_DATE) AS expires_at,
                       trim(TICKET_NUMBER) AS voucher_code, NULL::TIMESTAMPTZ AS status_at, file_no
                FROM (
                    SELECT 1 AS file_no, * FROM {read_csv(str(d / 'dlocal-payments.csv'), ',')}
                    UNION ALL BY NAME
                    SELECT 2 AS file_no, * FROM {read_csv(str(d / 'dlocal-payments-early.csv'), ',')}
                )
                UNION ALL
                SELECT 'pagoefectivo', must(nullif(trim(CIP), ''), 'empty CIP'), trim(CODIGO_TRANSACCION), 'PE',
                       'pagoefectivo', currency(MONEDA), {minor('MONTO', AMOUNT_GROUPED)},
                       trim(ESTADO),
                       must(CASE lower(trim(ESTADO))
                           WHEN 'pendiente' THEN 'pending' WHEN 'pagado' THEN 'paid' WHEN 'expirado' THEN 'expired'
                           WHEN 'anulado' THEN 'cancelled' WHEN 'extornado' THEN 'reversed' END,
                           'PagoEfectivo ESTADO: ' || coalesce(ESTADO, '(empty)')),
                       trim(NRO_OPERACION),
                       lima(FECHA_CREACION), lima(FECHA_PAGO), lima(FECHA_EXPIRACION),
                       trim(CIP), lima(FECHA_EXTORNO), 3
                FROM {read_csv(pe_pay, ';', pe_pay_enc)}
            )
            SELECT *, CASE status WHEN 'pending' THEN 0 WHEN 'rejected' THEN 1 WHEN 'cancelled' THEN 2
                                  WHEN 'expired' THEN 3 WHEN 'paid' THEN 4 WHEN 'refunded' THEN 5
                                  WHEN 'reversed' THEN 6 WHEN 'charged_back' THEN 7 END AS status_rank
            FROM obs
            """,
            # Line order only decides between two rows of one file for one payment.
            order_matters="""SELECT count(*) > 0 FROM (SELECT 1 FROM payment_observations
                              GROUP BY psp, payment_id, file_no HAVING count(*) > 1)""",
        )

        # One row per (psp, payment_id). Its status is the most advanced one
        # seen, whatever the file order; among rows of that rank the first
        # imported wins (file order dLocal main, dLocal early, PagoEfectivo,
        # then line order), as voucherdesk keeps the first of equal rank. That
        # row gives the payment's fields; a date it lacks falls back to another
        # observation's (voucherdesk coalesces dates on update). Payments seen
        # once (nearly all) skip the window.
        con.execute(
            """
            CREATE TABLE payments AS
            WITH seen_again AS (
                SELECT psp, payment_id FROM payment_observations GROUP BY ALL HAVING count(*) > 1
            )
            SELECT * EXCLUDE (file_no), 1 AS observations
            FROM payment_observations ANTI JOIN seen_again USING (psp, payment_id)
            UNION ALL BY NAME
            SELECT * EXCLUDE (file_no, seq, rn, any_paid_at, any_expires_at, any_created_at)
                     REPLACE (coalesce(paid_at, any_paid_at) AS paid_at,
                              coalesce(expires_at, any_expires_at) AS expires_at,
                              coalesce(created_at, any_created_at) AS created_at)
            FROM (
                SELECT *,
                       row_number() OVER (PARTITION BY psp, payment_id ORDER BY status_rank DESC, file_no, seq) AS rn,
                       count(*) OVER w AS observations,
                       max(paid_at) OVER w AS any_paid_at, max(expires_at) OVER w AS any_expires_at,
                       min(created_at) OVER w AS any_created_at
                FROM (SELECT *, rowid AS seq FROM payment_observations SEMI JOIN seen_again USING (psp, payment_id))
                WINDOW w AS (PARTITION BY psp, payment_id)
            )
            WHERE rn = 1
            """
        )

        # ----------------------------------------------------------- settlements
        repeated = load(
            con,
            f"""
            CREATE TABLE settlements AS
            SELECT 'dlocal' AS psp, trim(TRANSACTION_ID) AS order_id,
                   must(nullif(trim(DLOCAL_TRANSACTION_ID), ''), 'empty DLOCAL_TRANSACTION_ID') AS payment_id,
                   rt AS row_type,
                   instant(CREATION_DATE) AS created_at,
                   CAST(nullif(trim(TRANSFER_DATE), '') AS DATE) AS settled_on,
                   {signed('LOCAL_AMOUNT', AMOUNT_PLAIN, 'money_out')} AS local_amount_minor,
                   currency(LOCAL_CURRENCY) AS local_currency,
                   fx_rate(FX_RATE) AS fx_rate, currency(SETTLEMENT_CURRENCY) AS settlement_currency,
                   {signed('GROSS_AMOUNT', AMOUNT_PLAIN, 'money_out')} AS gross_minor,
                   {signed('NET_AMOUNT', AMOUNT_PLAIN, 'money_out')} AS net_minor,
                   {signed('FEE_AMOUNT', AMOUNT_PLAIN, 'money_out')} AS fee_minor, 1 AS file_no
            FROM (
                SELECT *, rt <> 'PAYMENT' AS money_out
                FROM (
                    SELECT *, must(CASE upper(trim(ROW_TYPE))
                        WHEN 'PAYMENT' THEN 'PAYMENT' WHEN 'PAYIN' THEN 'PAYMENT' WHEN 'PAGO' THEN 'PAYMENT'
                        WHEN 'REFUND' THEN 'REFUND' WHEN 'DEVOLUCION' THEN 'REFUND' WHEN 'EXTORNO' THEN 'REFUND'
                        WHEN 'CHARGEBACK' THEN 'CHARGEBACK' WHEN 'FEE' THEN 'FEE' WHEN 'COMISION' THEN 'FEE' END,
                        'ROW_TYPE: ' || coalesce(ROW_TYPE, '(empty)')) AS rt
                    FROM {read_csv(str(d / 'dlocal-settlement.tsv'), chr(9))}
                )
            )
            UNION ALL
            SELECT 'pagoefectivo', trim(CODIGO_TRANSACCION), must(nullif(trim(CIP), ''), 'empty CIP'), 'PAYMENT', NULL,
                   CAST(strptime(nullif(trim(FECHA_LIQUIDACION), ''), '%d/%m/%Y') AS DATE),
                   {minor('MONTO_BRUTO', AMOUNT_GROUPED)}, currency(MONEDA), '', currency(MONEDA),
                   {minor('MONTO_BRUTO', AMOUNT_GROUPED)}, {minor('MONTO_NETO', AMOUNT_GROUPED)},
                   {minor('COMISION', AMOUNT_GROUPED)}, 2
            FROM {read_csv(pe_set, ';', pe_set_enc)}
            """,
            order_matters="SELECT count(*) <> count(DISTINCT (psp, payment_id, row_type)) FROM settlements",
        )
        if repeated:
            # One row per (psp, payment_id, row_type): a later row updates it.
            con.execute(
                """
                CREATE OR REPLACE TABLE settlements AS
                SELECT * EXCLUDE (seq) FROM (SELECT *, rowid AS seq FROM settlements)
                QUALIFY row_number() OVER (PARTITION BY psp, payment_id, row_type ORDER BY file_no DESC, seq DESC) = 1
                """
            )

    # ------------------------------------------------------------ reconciliation
    # A chargeback row takes its payment's money back whatever its status
    # (voucherdesk moves the payment to charged_back, the highest rank).
    con.execute(
        """
        UPDATE payments SET status = 'charged_back', status_rank = 7
        FROM (SELECT DISTINCT psp, payment_id FROM settlements WHERE row_type = 'CHARGEBACK') c
        WHERE payments.psp = c.psp AND payments.payment_id = c.payment_id
        """
    )
    con.execute("CREATE TEMP TABLE fee_rates (psp VARCHAR, bps BIGINT)")
    if fee_rates:
        con.executemany("INSERT INTO fee_rates VALUES (?, ?)", [[psp, bps] for psp, bps in fee_rates])
    con.execute(
        f"""
        CREATE TEMP TABLE paid AS
        SELECT psp, payment_id, order_id, country, currency, amount_minor, paid_at, expires_at
        FROM payments WHERE status = 'paid';

        -- Paid once, since refunded, reversed or charged back.
        CREATE TEMP TABLE later AS
        SELECT psp, payment_id, order_id, country, currency, amount_minor, paid_at, expires_at, status
        FROM payments WHERE status IN ('refunded', 'reversed', 'charged_back');

        CREATE TEMP TABLE pending AS
        SELECT psp, payment_id, order_id, currency, amount_minor, expires_at FROM payments WHERE status = 'pending';

        -- What a settlement row may refer to: a paid payment or one paid once.
        CREATE TEMP TABLE known AS
        SELECT psp, payment_id, order_id, currency, amount_minor FROM paid
        UNION ALL
        SELECT psp, payment_id, order_id, currency, amount_minor FROM later;

        CREATE TEMP TABLE paid_by_order AS
        SELECT order_id, count(*) AS n, any_value(psp || ':' || payment_id) AS one_id
        FROM paid GROUP BY order_id;

        CREATE TEMP TABLE paid_ids AS  -- the list, for the few orders paid more than once
        SELECT order_id, string_agg(psp || ':' || payment_id, ',' ORDER BY psp, payment_id) AS ids
        FROM paid SEMI JOIN (SELECT order_id FROM paid_by_order WHERE n > 1) USING (order_id)
        GROUP BY order_id;

        CREATE TABLE findings (
            kind VARCHAR NOT NULL, order_id VARCHAR NOT NULL, psp VARCHAR, payment_id VARCHAR,
            settlement_rowid BIGINT, amount_minor BIGINT, currency VARCHAR, facts VARCHAR
        );

        INSERT INTO findings  -- one per order
        SELECT 'paid_not_recorded', o.order_id, NULL, NULL, NULL, o.amount_minor, o.currency,
               'shop=' || o.status || ';paid=' || coalesce(i.ids, c.one_id)
        FROM orders o JOIN paid_by_order c USING (order_id) LEFT JOIN paid_ids i USING (order_id)
        WHERE o.status IN ('pending_payment', 'cancelled', 'expired')
        UNION ALL
        -- An order whose payment was reversed or charged back has its own finding.
        SELECT 'recorded_not_paid', o.order_id, NULL, NULL, NULL, o.amount_minor, o.currency, 'shop=' || o.status
        FROM orders o ANTI JOIN paid_by_order c USING (order_id)
        ANTI JOIN (SELECT DISTINCT order_id FROM later WHERE status IN ('reversed', 'charged_back')) t USING (order_id)
        WHERE o.status IN ('paid', 'fulfilled')
        UNION ALL
        SELECT 'duplicate_payment', o.order_id, NULL, NULL, NULL, o.amount_minor, o.currency, 'paid=' || i.ids
        FROM orders o JOIN paid_ids i USING (order_id)
        UNION ALL
        -- The shop names a payment id none of the order's paid payments has.
        SELECT 'payment_id_mismatch', o.order_id, NULL, NULL, NULL, o.amount_minor, o.currency,
               'shop_payment=' || o.psp_payment_id || ';paid=' || coalesce(i.ids, c.one_id)
        FROM orders o JOIN paid_by_order c USING (order_id) LEFT JOIN paid_ids i USING (order_id)
        ANTI JOIN paid p ON p.order_id = o.order_id AND p.payment_id = o.psp_payment_id
        WHERE coalesce(o.psp_payment_id, '') <> ''
        UNION ALL
        -- Pending at the shop, nothing paid, and the voucher (the order's, or
        -- the latest of its still-pending payments') expired a day ago.
        SELECT 'expired_unpaid', order_id, NULL, NULL, NULL, amount_minor, currency,
               'expired=' || epoch(expiry)::BIGINT
        FROM (
            SELECT o.*, CASE WHEN o.voucher_expires_at IS NULL THEN pe.until
                             WHEN pe.until IS NULL THEN o.voucher_expires_at
                             ELSE greatest(o.voucher_expires_at, pe.until) END AS expiry
            FROM orders o ANTI JOIN paid_by_order c USING (order_id)
            LEFT JOIN (SELECT order_id, max(expires_at) AS until FROM pending GROUP BY order_id) pe USING (order_id)
            WHERE o.status = 'pending_payment'
        )
        WHERE {at} - epoch(expiry) >= {peer_terms.EXPIRED_UNPAID_HOURS * 3600};

        CREATE TEMP TABLE paid_facts AS
        SELECT p.*, o.order_id IS NOT NULL AS order_known, o.currency AS order_currency,
               o.amount_minor AS order_amount_minor,
               coalesce(p.expires_at, o.voucher_expires_at) AS expiry,
               s.payment_id IS NOT NULL AS settled,
               CAST(timezone(CASE p.country WHEN 'PE' THEN 'America/Lima' ELSE 'America/Bogota' END, p.paid_at) AS DATE)
                   AS paid_on
        FROM paid p
        LEFT JOIN orders o ON o.order_id = p.order_id
        LEFT JOIN (SELECT DISTINCT psp, payment_id FROM settlements WHERE row_type = 'PAYMENT') s
               ON s.psp = p.psp AND s.payment_id = p.payment_id;
        """
    )
    # Settlement terms and business days on the few distinct paid dates.
    unsettled_days = con.execute(
        "SELECT DISTINCT psp, country, paid_on FROM paid_facts WHERE NOT settled AND paid_on IS NOT NULL"
    ).fetchall()
    con.execute("CREATE TEMP TABLE late_days (psp VARCHAR, country VARCHAR, paid_on DATE, due DATE)")
    late = peer_terms.late_settlements(unsettled_days, as_of, lag)
    if late:
        con.executemany("INSERT INTO late_days VALUES (?, ?, ?, ?)", [list(r) for r in late])
    con.execute(
        f"""
        INSERT INTO findings  -- one per paid payment
        SELECT 'unknown_order', order_id, psp, payment_id, NULL, amount_minor, currency, 'order=' || order_id
        FROM paid_facts WHERE NOT order_known
        UNION ALL
        -- No dated USD rates here (nor in the bench's ledger): another currency is a currency_mismatch.
        SELECT 'currency_mismatch', order_id, psp, payment_id, NULL, amount_minor, currency,
               'order=' || order_currency || ';payment=' || currency
        FROM paid_facts WHERE order_known AND order_currency <> currency
        UNION ALL
        SELECT 'amount_mismatch', order_id, psp, payment_id, NULL, amount_minor, currency,
               'order=' || order_amount_minor || ';payment=' || amount_minor
        FROM paid_facts WHERE order_known AND order_currency = currency AND abs(order_amount_minor - amount_minor) > 0
        UNION ALL
        SELECT 'paid_after_expiry', order_id, psp, payment_id, NULL, amount_minor, currency,
               'paid=' || epoch(paid_at)::BIGINT || ';expired=' || epoch(expiry)::BIGINT
        FROM paid_facts WHERE paid_at > expiry
        UNION ALL
        SELECT 'not_settled', f.order_id, f.psp, f.payment_id, NULL, f.amount_minor, f.currency,
               'paid_on=' || f.paid_on || ';due=' || l.due
        FROM paid_facts f JOIN late_days l USING (psp, country, paid_on)
        WHERE NOT f.settled;

        INSERT INTO findings  -- one per pending payment
        SELECT 'stale_pending', coalesce(p.order_id, ''), p.psp, p.payment_id, NULL, p.amount_minor, p.currency,
               'expired=' || epoch(coalesce(p.expires_at, o.voucher_expires_at))::BIGINT
        FROM pending p LEFT JOIN orders o ON o.order_id = p.order_id
        WHERE {at} - epoch(coalesce(p.expires_at, o.voucher_expires_at)) >= {peer_terms.STALE_PENDING_DAYS * 86400};

        INSERT INTO findings  -- money taken back
        SELECT 'reversed_after_fulfilment', l.order_id, l.psp, l.payment_id, NULL, l.amount_minor, l.currency,
               'shop=' || o.status
        FROM later l JOIN orders o ON o.order_id = l.order_id
        WHERE l.status = 'reversed' AND o.status IN ('paid', 'fulfilled')
        UNION ALL
        -- One per charged-back payment, and one per chargeback row of a payment the ledger does not have.
        SELECT 'chargeback', l.order_id, l.psp, l.payment_id, NULL, l.amount_minor, l.currency, NULL
        FROM later l WHERE l.status = 'charged_back'
        UNION ALL
        SELECT 'chargeback', coalesce(s.order_id, ''), s.psp, s.payment_id, s.rowid, abs(s.local_amount_minor),
               s.local_currency, NULL
        FROM settlements s ANTI JOIN later l ON l.psp = s.psp AND l.payment_id = s.payment_id AND l.status = 'charged_back'
        WHERE s.row_type = 'CHARGEBACK';

        CREATE TEMP TABLE srows AS
        SELECT s.rowid AS sid, s.*, k.psp IS NOT NULL AS known, k.order_id AS p_order_id, k.currency AS p_currency,
               k.amount_minor AS p_amount_minor
        FROM settlements s LEFT JOIN known k ON k.psp = s.psp AND k.payment_id = s.payment_id;

        INSERT INTO findings  -- one per settlement row
        SELECT CASE WHEN NOT known THEN 'unknown_settlement' ELSE 'settlement_mismatch' END,
               coalesce(p_order_id, order_id, ''), psp, payment_id, sid, local_amount_minor, local_currency,
               'local=' || local_amount_minor || local_currency
                   || coalesce(';paid=' || p_amount_minor || p_currency, '')
                   || ';g=' || gross_minor || ';n=' || net_minor || ';f=' || fee_minor
        FROM srows
        WHERE row_type = 'PAYMENT'
          AND (NOT known
               OR local_currency <> p_currency
               OR local_amount_minor <> p_amount_minor
               OR net_minor <> gross_minor - fee_minor)
        UNION ALL
        -- The fee against every contracted rate of the row's PSP: 0.10 point and one minor unit of slack.
        SELECT 'fee_mismatch', p_order_id, psp, payment_id, sid, local_amount_minor, local_currency,
               'gross=' || gross_minor || ';fee=' || fee_minor || ';' || settlement_currency
        FROM srows s
        WHERE row_type = 'PAYMENT' AND known AND gross_minor <> 0
          AND psp IN (SELECT psp FROM fee_rates)
          AND NOT EXISTS (
              SELECT 1 FROM fee_rates r
              WHERE r.psp = s.psp
                AND abs(abs(s.fee_minor) - abs(s.gross_minor) * r.bps // 10000)
                    <= abs(s.gross_minor) * {peer_terms.FEE_RATE_TOLERANCE_BPS} // 10000 + 1)
        UNION ALL
        -- No ledger of our own refunds here (nor any in the bench's): every refund row is one we did not make.
        SELECT 'unmatched_refund_settlement', coalesce(p_order_id, order_id, ''), psp, payment_id, sid,
               local_amount_minor, local_currency, 'amount=' || abs(local_amount_minor) || ';' || local_currency
        FROM srows WHERE row_type = 'REFUND'
        UNION ALL
        -- local / rate against the gross, any row type: exact integers, rounded half to even,
        -- within 1 % of the larger (every currency here has two decimals, so the scales cancel).
        SELECT 'settlement_fx_mismatch', coalesce(p_order_id, order_id, ''), psp, payment_id, sid,
               local_amount_minor, local_currency,
               'local=' || local_amount_minor || local_currency || ';fx=' || fx_rate || ';gross=' || gross_minor
                   || settlement_currency
        FROM (
            SELECT *, q + CASE WHEN 2 * r > den THEN 1 WHEN 2 * r = den THEN q % 2 ELSE 0 END AS expected
            FROM (
                SELECT *, num // den AS q, num % den AS r
                FROM (
                    SELECT *, abs(local_amount_minor)::HUGEINT * CAST(pow(10, rate_scale) AS HUGEINT) AS num,
                           CAST(replace(fx_rate, '.', '') AS HUGEINT) AS den
                    FROM (
                        SELECT *, CASE WHEN contains(fx_rate, '.') THEN length(fx_rate) - strpos(fx_rate, '.') ELSE 0 END
                                      AS rate_scale
                        FROM srows WHERE fx_rate <> '' AND settlement_currency <> local_currency
                    )
                )
            )
        )
        WHERE abs(expected - abs(gross_minor)) * 10000 > greatest(expected, abs(gross_minor)) * {peer_terms.FX_TOLERANCE_BPS};
        """
    )
    # settlement_report_missing: each file's span of settlement dates per PSP
    # and market, against the due dates of every payment whose money was due.
    spans = con.execute(
        """
        SELECT psp, CASE local_currency WHEN 'COP' THEN 'CO' ELSE 'PE' END, file_no, min(settled_on), max(settled_on)
        FROM settlements WHERE settled_on IS NOT NULL AND local_currency IN ('COP', 'PEN') GROUP BY ALL
        """
    ).fetchall()
    due_keys = con.execute(
        f"""
        SELECT DISTINCT psp, country,
               CAST(timezone(CASE country WHEN 'PE' THEN 'America/Lima' ELSE 'America/Bogota' END, paid_at) AS DATE)
        FROM payments WHERE status IN ('paid', 'refunded', 'charged_back') AND paid_at IS NOT NULL
        """
    ).fetchall()
    missing = peer_terms.missing_reports(spans, due_keys, as_of)
    if missing:
        con.executemany(
            "INSERT INTO findings VALUES ('settlement_report_missing', '', ?, NULL, NULL, NULL, NULL, ?)",
            [[psp, f"market={market};date={day}"] for psp, market, day in missing],
        )
    counts = dict(con.execute("SELECT kind, count(*) FROM findings GROUP BY kind").fetchall())
    matched = con.execute(
        """
        SELECT count(*) FROM orders o
        SEMI JOIN paid_by_order c USING (order_id)
        ANTI JOIN (SELECT DISTINCT order_id FROM findings) f USING (order_id)
        """
    ).fetchone()[0]
    n_orders, n_payments, n_settlements = con.execute(
        "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM payments), (SELECT count(*) FROM settlements)"
    ).fetchone()
    summary = {
        "as_of": as_of.isoformat(),
        "orders": n_orders,
        "payments": n_payments,
        "settlements": n_settlements,
        "matched": matched,
        "exceptions": {k: int(counts.get(k, 0)) for k in KINDS},
        "kinds": list(KINDS),  # the kinds this peer computes (run.sh compares only these)
    }
    unexpected = set(counts) - set(KINDS)
    if unexpected:
        raise SystemExit(f"peer_duckdb: unexpected finding kinds {sorted(unexpected)}")
    con.execute(
        "CREATE TABLE reconcile_runs (as_of DATE, settlement_lag_days INTEGER, finished_at TIMESTAMPTZ, summary_json VARCHAR)"
    )
    con.execute(
        "INSERT INTO reconcile_runs VALUES (?, ?, now(), ?)", [as_of, lag, json.dumps(summary, separators=(",", ":"))]
    )
    con.execute("CHECKPOINT")
    con.close()
    print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
