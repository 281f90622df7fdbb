#!/usr/bin/env python3
"""VoucherDesk peer implementation on DuckDB (benchmark only).

Imports the demo files (shop orders, PSP payment reports, settlement reports)
into tables of a DuckDB database *file*, applies the reconciliation rules in
SQL, persists the findings (the exception queue) in the same file and prints
one JSON summary on stdout, shaped like `voucherdesk reconcile --json`.

    python bench/peer_duckdb.py DATA_DIR [--db FILE] [--as-of 2026-03-20] [--lag-days 3]

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

KINDS = (
    "amount_mismatch",
    "currency_mismatch",
    "duplicate_payment",
    "not_settled",
    "paid_after_expiry",
    "paid_not_recorded",
    "recorded_not_paid",
    "settlement_mismatch",
    "unknown_order",
    "unknown_settlement",
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


MACROS = """
CREATE OR REPLACE TEMP MACRO minor(x, pat) AS
    CASE WHEN regexp_full_match(x, pat) THEN CAST(CAST(replace(x, ',', '') AS DECIMAL(18,2)) * 100 AS BIGINT)
         ELSE error('unparseable amount: ' || coalesce(x, '(empty)')) END;
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
    ap.add_argument("--lag-days", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    d: Path = args.data_dir
    as_of = dt.date.fromisoformat(args.as_of)
    lag = int(args.lag_days)

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
                       trim(TICKET_NUMBER) AS voucher_code, file_no
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
                           WHEN 'anulado' THEN 'cancelled' WHEN 'extornado' THEN 'refunded' END,
                           'PagoEfectivo ESTADO: ' || coalesce(ESTADO, '(empty)')),
                       trim(NRO_OPERACION),
                       lima(FECHA_CREACION), lima(FECHA_PAGO), lima(FECHA_EXPIRACION),
                       trim(CIP), 3
                FROM {read_csv(pe_pay, ';', pe_pay_enc)}
            )
            SELECT *, CASE status WHEN 'pending' THEN 0 WHEN 'rejected' THEN 1 WHEN 'cancelled' THEN 2
                                  WHEN 'expired' THEN 3 WHEN 'paid' THEN 4 WHEN 'refunded' THEN 5 END AS status_rank
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
                   must(CASE upper(trim(ROW_TYPE))
                       WHEN 'PAYMENT' THEN 'PAYMENT' WHEN 'PAYIN' THEN 'PAYMENT' WHEN 'PAGO' THEN 'PAYMENT'
                       WHEN 'REFUND' THEN 'REFUND' WHEN 'DEVOLUCION' THEN 'REFUND' WHEN 'EXTORNO' THEN 'REFUND'
                       WHEN 'CHARGEBACK' THEN 'CHARGEBACK' WHEN 'FEE' THEN 'FEE' WHEN 'COMISION' THEN 'FEE' END,
                       'ROW_TYPE: ' || coalesce(ROW_TYPE, '(empty)')) AS row_type,
                   instant(CREATION_DATE) AS created_at,
                   CAST(nullif(trim(TRANSFER_DATE), '') AS DATE) AS settled_on,
                   {minor('LOCAL_AMOUNT', AMOUNT_PLAIN)} AS local_amount_minor, currency(LOCAL_CURRENCY) AS local_currency,
                   trim(FX_RATE) AS fx_rate, currency(SETTLEMENT_CURRENCY) AS settlement_currency,
                   {minor('GROSS_AMOUNT', AMOUNT_PLAIN)} AS gross_minor, {minor('NET_AMOUNT', AMOUNT_PLAIN)} AS net_minor,
                   {minor('FEE_AMOUNT', AMOUNT_PLAIN)} AS fee_minor, 1 AS file_no
            FROM {read_csv(str(d / 'dlocal-settlement.tsv'), chr(9))}
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
    con.execute(
        f"""
        CREATE TEMP TABLE paid AS
        SELECT psp, payment_id, order_id, country, currency, amount_minor, paid_at, expires_at
        FROM payments WHERE status = 'paid';

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
        SELECT 'recorded_not_paid', o.order_id, NULL, NULL, NULL, o.amount_minor, o.currency, 'shop=' || o.status
        FROM orders o ANTI JOIN paid_by_order c USING (order_id)
        WHERE o.status IN ('paid', 'fulfilled')
        UNION ALL
        SELECT 'duplicate_payment', o.order_id, NULL, NULL, NULL, o.amount_minor, o.currency, 'paid=' || i.ids
        FROM orders o JOIN paid_ids i USING (order_id);

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

        INSERT INTO findings  -- one per paid payment
        SELECT 'unknown_order', order_id, psp, payment_id, NULL, amount_minor, currency, 'order=' || order_id
        FROM paid_facts WHERE NOT order_known
        UNION ALL
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
        SELECT 'not_settled', order_id, psp, payment_id, NULL, amount_minor, currency, 'paid_on=' || paid_on
        FROM paid_facts
        WHERE NOT settled AND paid_on IS NOT NULL AND DATE {sql_str(as_of.isoformat())} - paid_on > {lag};

        INSERT INTO findings  -- one per settlement row (PAYMENT rows only)
        SELECT CASE WHEN p.payment_id IS NULL THEN 'unknown_settlement' ELSE 'settlement_mismatch' END,
               coalesce(p.order_id, s.order_id), s.psp, s.payment_id, s.rowid, s.local_amount_minor,
               s.local_currency,
               'local=' || s.local_amount_minor || s.local_currency
                   || coalesce(';paid=' || p.amount_minor || p.currency, '')
                   || ';g=' || s.gross_minor || ';n=' || s.net_minor || ';f=' || s.fee_minor
        FROM settlements s
        LEFT JOIN paid p ON p.psp = s.psp AND p.payment_id = s.payment_id
        WHERE s.row_type = 'PAYMENT'
          AND (p.payment_id IS NULL
               OR s.local_currency <> p.currency
               OR s.local_amount_minor <> p.amount_minor
               OR s.net_minor <> s.gross_minor - s.fee_minor);
        """
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
