#!/usr/bin/env python3
"""VoucherDesk peer implementation on pandas (benchmark only).

Reads the demo files (shop orders, PSP payment reports, settlement reports)
into DataFrames, applies the reconciliation rules in memory, writes the
findings (the exception queue) to a Parquet file and prints one JSON summary
on stdout, shaped like `voucherdesk reconcile --json`
plus the list of kinds it computes (all nineteen).

    python bench/peer_pandas.py DATA_DIR [--findings FILE] [--as-of 2026-03-20] [--lag-days 1] [--fee-rate dlocal=300]

Money is int64 minor units, parsed from text after a strict format check
(never through float); timestamps are UTC instants (datetime64).
"""

from __future__ import annotations

import argparse
import codecs
import datetime as dt
import decimal
import json
import re
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa

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

# Thousands separators only where the PSP writes them (PagoEfectivo); at most
# two significant decimals ("1.500" is 1.50), like voucherdesk's parse_minor.
AMOUNT_PLAIN = r"\d+(?:\.\d{1,2}0*)?"
AMOUNT_GROUPED = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2}0*)?"
HAS_OFFSET = r".*(?:[+-]\d\d:?\d\d|Z)"
DECIMAL = pd.ArrowDtype(pa.decimal128(18, 2))
MARKET_ZONE = {"CO": "America/Bogota", "PE": "America/Lima"}  # both UTC-5, no DST

SHOP_STATUSES = {"pending_payment", "paid", "fulfilled", "cancelled", "expired", "refunded"}
DLOCAL_STATUS = {
    "PENDING": "pending", "AUTHORIZED": "pending", "VERIFIED": "pending", "REJECTED": "rejected",
    "CANCELLED": "cancelled", "EXPIRED": "expired", "PAID": "paid",
}
PE_STATUS = {
    "pendiente": "pending", "pagado": "paid", "expirado": "expired", "anulado": "cancelled", "extornado": "reversed",
}
RANK = {"pending": 0, "rejected": 1, "cancelled": 2, "expired": 3, "paid": 4, "refunded": 5, "reversed": 6,
        "charged_back": 7}
DLOCAL_METHOD = {"EY": "efecty", "EF": "pagoefectivo"}
ROW_TYPE = {
    "PAYMENT": "PAYMENT", "PAYIN": "PAYMENT", "PAGO": "PAYMENT", "REFUND": "REFUND", "DEVOLUCION": "REFUND",
    "EXTORNO": "REFUND", "CHARGEBACK": "CHARGEBACK", "FEE": "FEE", "COMISION": "FEE",
}
CURRENCIES = {"COP", "PEN", "USD"}
COUNTRY = {"CO": "CO", "COL": "CO", "PE": "PE", "PER": "PE"}


class BadData(Exception):
    pass


def sniff_cp1252(path: Path) -> str:
    """A file declared Windows-1252 is read as UTF-8 when it is valid UTF-8
    (plain ASCII included), as voucherdesk does; otherwise as cp1252."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            if not chunk.isascii():
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    return "cp1252"
    try:
        utf8.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


def read(path: Path, sep: str, encoding: str) -> pd.DataFrame:
    # Every column as text (only empty fields are missing): converted below.
    df = pd.read_csv(
        path, sep=sep, dtype=str, encoding=encoding, keep_default_na=False, na_values=[""],
        quotechar='"', doublequote=True, engine="pyarrow",  # multithreaded; Arrow-backed strings
    )
    df.columns = [c.strip().upper() for c in df.columns]
    return df


def text(s: pd.Series) -> pd.Series:
    return s.str.strip()


def mapped(s: pd.Series, table: dict, what: str, fold=str.upper) -> pd.Series:
    """Vocabulary mapping (statuses, methods): map the few distinct values, not every row."""
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    folded = [fold(u.strip()) if isinstance(u, str) else None for u in uniques]
    unknown = [u for u, f in zip(uniques, folded) if f not in table]
    if unknown:
        raise BadData(f"unknown {what}: {unknown[:5]}")
    return pd.Series(pd.array([table[f] for f in folded], dtype="str")[codes], index=s.index)


def checked(s: pd.Series, allowed: set, what: str) -> pd.Series:
    out = s.str.strip().str.upper()
    if not out.isin(allowed).all():
        raise BadData(f"unknown {what}: {sorted(set(out[~out.isin(allowed)].fillna('(empty)')))[:5]}")
    return out


def minor(s: pd.Series, pattern: str) -> pd.Series:
    """Text amounts -> int64 minor units, exact; any other shape stops the run."""
    s = s.str.strip()
    ok = s.str.fullmatch(pattern).fillna(False).astype(bool)
    if not ok.all():
        raise BadData(f"unparseable amounts: {s[~ok].head(3).tolist()}")
    if "," in pattern:
        s = s.str.replace(",", "", regex=False)
    # Exact decimal (Arrow decimal128), then minor units; the cast to int64
    # refuses to drop a fraction, and the pattern allows none.
    return (s.astype(DECIMAL) * 100).astype("int64")


def signed_minor(s: pd.Series, pattern: str, money_out: pd.Series) -> pd.Series:
    """Like minor(), with one leading minus sign allowed where `money_out`:
    refund, chargeback and fee settlement rows are written negative."""
    s = s.str.strip()
    negative = (money_out & s.str.startswith("-").fillna(False)).astype(bool)
    magnitude = s.where(~negative, s.str.slice(1).str.lstrip())
    ok = magnitude.str.fullmatch(pattern).fillna(False).astype(bool)
    if not ok.all():
        raise BadData(f"unparseable amounts: {s[~ok].head(3).tolist()}")
    return minor(magnitude, pattern).where(~negative, lambda m: -m)


def fx_rates(s: pd.Series) -> pd.Series:
    """Exchange rates kept as written; anything but a positive decimal stops the run."""
    s = s.str.strip().fillna("")
    uniques = pd.unique(s)
    bad = [u for u in uniques if u and (not re.fullmatch(r"\d+(\.\d+)?", u) or not decimal.Decimal(u) > 0)]
    if bad:
        raise BadData(f"bad exchange rates: {bad[:5]}")
    return s


def iso_instant(s: pd.Series, naive_zone: str) -> pd.Series:
    """ISO-8601 text -> UTC instants; text without an offset is read in naive_zone."""
    s = s.str.strip()
    has_offset = s.str.fullmatch(HAS_OFFSET).fillna(True).astype(bool)
    if has_offset.all():
        return pd.to_datetime(s, format="ISO8601", utc=True).dt.as_unit("s")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[s, UTC]")
    out[has_offset] = pd.to_datetime(s[has_offset], format="ISO8601", utc=True).dt.as_unit("s")
    naive = pd.to_datetime(s[~has_offset], format="ISO8601").dt.as_unit("s")
    out[~has_offset] = naive.dt.tz_localize(naive_zone).dt.tz_convert("UTC")
    return out


def lima_instant(s: pd.Series) -> pd.Series:
    """dd/mm/yyyy HH:MM:SS, Lima wall time (UTC-5 all year, no offset written)."""
    local = pd.to_datetime(s.str.strip(), format="%d/%m/%Y %H:%M:%S").dt.as_unit("s")
    return (local + pd.Timedelta(hours=5)).dt.tz_localize("UTC")


def load_orders(d: Path) -> pd.DataFrame:
    frames = []
    for file_no, (name, sep, enc) in enumerate(
        [("orders-co.csv", ",", "utf-8-sig"), ("orders-pe.csv", ";", sniff_cp1252(d / "orders-pe.csv"))], start=1
    ):
        raw = read(d / name, sep, enc)  # columns are found by header name: the PE file has them reversed
        frames.append(pd.DataFrame({
            "order_id": text(raw["ORDER_ID"]),
            "store": text(raw["STORE"]),
            "created_at": iso_instant(raw["CREATED_AT"], "America/Bogota"),
            "buyer_name": raw["BUYER_NAME"],
            "buyer_email": raw["BUYER_EMAIL"],
            "buyer_phone": raw["BUYER_PHONE"],
            "buyer_document": raw["BUYER_DOCUMENT"],
            "country": mapped(raw["COUNTRY"], COUNTRY, "country"),
            "amount_minor": minor(raw["AMOUNT"], AMOUNT_PLAIN),
            "currency": checked(raw["CURRENCY"], CURRENCIES, "currency"),
            "status": mapped(raw["STATUS"], {s: s for s in SHOP_STATUSES}, "shop status", fold=str.lower),
            "psp": text(raw["PSP"]).str.lower(),
            "psp_payment_id": text(raw["PSP_PAYMENT_ID"]),
            "voucher_code": text(raw["VOUCHER_CODE"]),
            "voucher_expires_at": iso_instant(raw["VOUCHER_EXPIRES_AT"], "America/Bogota"),
            "file_no": file_no,
        }))
        del raw
    orders = pd.concat(frames, ignore_index=True)
    # An order id in several rows: the latest file, then the latest row, wins.
    if orders["order_id"].duplicated().any():
        orders = orders.drop_duplicates("order_id", keep="last").reset_index(drop=True)
    return orders


def load_payment_observations(d: Path) -> pd.DataFrame:
    frames = []
    for file_no, name in enumerate(["dlocal-payments.csv", "dlocal-payments-early.csv"], start=1):
        raw = read(d / name, ",", "utf-8-sig")
        frames.append(pd.DataFrame({
            "psp": "dlocal",
            "payment_id": text(raw["PAYMENT_ID"]),
            "order_id": text(raw["ORDER_ID"]),
            "country": mapped(raw["COUNTRY"], COUNTRY, "country"),
            "network": mapped(raw["PAYMENT_METHOD_ID"], DLOCAL_METHOD, "dLocal payment method"),
            "currency": checked(raw["CURRENCY"], CURRENCIES, "currency"),
            "amount_minor": minor(raw["AMOUNT"], AMOUNT_PLAIN),
            "psp_status": text(raw["STATUS"]),
            "status": mapped(raw["STATUS"], DLOCAL_STATUS, "dLocal status"),
            "status_code": text(raw["STATUS_CODE"]),
            "created_at": iso_instant(raw["CREATED_DATE"], "UTC"),  # dLocal writes UTC when it omits the offset
            "paid_at": iso_instant(raw["APPROVED_DATE"], "UTC"),
            "expires_at": iso_instant(raw["EXPIRATION_DATE"], "UTC"),
            "voucher_code": text(raw["TICKET_NUMBER"]),
            "file_no": file_no,
        }))
    name = "pagoefectivo-payments.csv"
    raw = read(d / name, ";", sniff_cp1252(d / name))
    frames.append(pd.DataFrame({
        "psp": "pagoefectivo",
        "payment_id": text(raw["CIP"]),
        "order_id": text(raw["CODIGO_TRANSACCION"]),
        "country": "PE",
        "network": "pagoefectivo",
        "currency": checked(raw["MONEDA"], CURRENCIES, "currency"),
        "amount_minor": minor(raw["MONTO"], AMOUNT_GROUPED),
        "psp_status": text(raw["ESTADO"]),
        "status": mapped(raw["ESTADO"], PE_STATUS, "PagoEfectivo ESTADO", fold=str.lower),
        "status_code": text(raw["NRO_OPERACION"]),
        "created_at": lima_instant(raw["FECHA_CREACION"]),
        "paid_at": lima_instant(raw["FECHA_PAGO"]),
        "expires_at": lima_instant(raw["FECHA_EXPIRACION"]),
        "voucher_code": text(raw["CIP"]),
        # The reversal's own date; older reports do not have the column.
        "status_at": lima_instant(raw["FECHA_EXTORNO"]) if "FECHA_EXTORNO" in raw else pd.NaT,
        "file_no": 3,
    }))
    obs = pd.concat(frames, ignore_index=True)  # index = import order (file, then line)
    if obs["payment_id"].isna().any():
        raise BadData("payment rows without a payment id")
    obs["status_rank"] = mapped(obs["status"], RANK, "status", fold=str.lower).astype("int8")
    obs["key"] = obs["psp"] + ":" + obs["payment_id"]  # the payment's identity, (psp, payment_id)
    return obs


def resolve_payments(obs: pd.DataFrame) -> pd.DataFrame:
    """One row per (psp, payment_id). Its status is the most advanced one seen,
    whatever the file order; among rows of that rank the first imported wins
    (dLocal main, dLocal early, PagoEfectivo, then line order), as voucherdesk
    keeps the first of equal rank. That row gives the payment's fields; a date
    it lacks falls back to another observation's (voucherdesk coalesces dates
    on update). Payments seen once (nearly all) skip the sort."""
    key = ["key"]
    again = obs.duplicated("key", keep=False)
    single = obs[~again].assign(observations=1)
    multi = obs[again]
    if multi.empty:
        return single.reset_index(drop=True)
    grouped = multi.groupby(key, sort=False)
    fallback = grouped.agg(any_paid_at=("paid_at", "max"), any_expires_at=("expires_at", "max"),
                           any_created_at=("created_at", "min"), observations=("status", "size"))
    seq = multi.index.to_series(index=multi.index)
    winners = (
        multi.assign(seq=seq)
        .sort_values(["key", "status_rank", "seq"], ascending=[True, False, True])
        .drop_duplicates(key, keep="first")
        .drop(columns="seq")
        .join(fallback, on=key)
    )
    winners["paid_at"] = winners["paid_at"].fillna(winners["any_paid_at"])
    winners["expires_at"] = winners["expires_at"].fillna(winners["any_expires_at"])
    winners["created_at"] = winners["created_at"].fillna(winners["any_created_at"])
    winners = winners.drop(columns=["any_paid_at", "any_expires_at", "any_created_at"])
    return pd.concat([single, winners], ignore_index=True)


def load_settlements(d: Path) -> pd.DataFrame:
    raw = read(d / "dlocal-settlement.tsv", "\t", "utf-8-sig")
    row_type = mapped(raw["ROW_TYPE"], ROW_TYPE, "ROW_TYPE")
    money_out = row_type != "PAYMENT"  # refunds, chargebacks and fees are written negative
    dl = pd.DataFrame({
        "psp": "dlocal",
        "order_id": text(raw["TRANSACTION_ID"]),
        "payment_id": text(raw["DLOCAL_TRANSACTION_ID"]),
        "row_type": row_type,
        "created_at": iso_instant(raw["CREATION_DATE"], "UTC"),
        "settled_on": pd.to_datetime(raw["TRANSFER_DATE"].str.strip(), format="%Y-%m-%d"),
        "local_amount_minor": signed_minor(raw["LOCAL_AMOUNT"], AMOUNT_PLAIN, money_out),
        "local_currency": checked(raw["LOCAL_CURRENCY"], CURRENCIES, "currency"),
        "fx_rate": fx_rates(raw["FX_RATE"]),
        "settlement_currency": checked(raw["SETTLEMENT_CURRENCY"], CURRENCIES, "currency"),
        "gross_minor": signed_minor(raw["GROSS_AMOUNT"], AMOUNT_PLAIN, money_out),
        "net_minor": signed_minor(raw["NET_AMOUNT"], AMOUNT_PLAIN, money_out),
        "fee_minor": signed_minor(raw["FEE_AMOUNT"], AMOUNT_PLAIN, money_out),
        "file_no": 1,
    })
    del raw
    name = "pagoefectivo-settlement.csv"
    raw = read(d / name, ";", sniff_cp1252(d / name))
    gross = minor(raw["MONTO_BRUTO"], AMOUNT_GROUPED)
    currency = checked(raw["MONEDA"], CURRENCIES, "currency")
    pe = pd.DataFrame({
        "psp": "pagoefectivo",
        "order_id": text(raw["CODIGO_TRANSACCION"]),
        "payment_id": text(raw["CIP"]),
        "row_type": "PAYMENT",
        "created_at": pd.Series(pd.NaT, index=raw.index, dtype="datetime64[s, UTC]"),
        "settled_on": pd.to_datetime(raw["FECHA_LIQUIDACION"].str.strip(), format="%d/%m/%Y"),
        "local_amount_minor": gross,
        "local_currency": currency,
        "fx_rate": "",
        "settlement_currency": currency,
        "gross_minor": gross,
        "net_minor": minor(raw["MONTO_NETO"], AMOUNT_GROUPED),
        "fee_minor": minor(raw["COMISION"], AMOUNT_GROUPED),
        "file_no": 2,
    })
    s = pd.concat([dl, pe], ignore_index=True)
    if s["payment_id"].isna().any():
        raise BadData("settlement rows without a payment id")
    # One row per (psp, payment_id, row_type): a later row updates it.
    s["key"] = s["psp"] + ":" + s["payment_id"]
    if s.duplicated(["key", "row_type"]).any():
        s = s.drop_duplicates(["key", "row_type"], keep="last").reset_index(drop=True)
    s.insert(0, "settlement_id", pd.RangeIndex(1, len(s) + 1))
    return s


def market_dates(df: pd.DataFrame) -> pd.Series:
    """The market date (Bogotá or Lima, both UTC-5) of each row's paid_at, as a naive midnight."""
    out = pd.Series(pd.NaT, index=df.index, dtype="datetime64[s]")
    for country, zone in MARKET_ZONE.items():
        m = df["country"] == country
        out[m] = df.loc[m, "paid_at"].dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()
    return out


def member(values: pd.Series, keys) -> pd.Series:
    """values.isin(keys) through a hash index (Series.isin on Arrow strings is slow for large sets)."""
    return pd.Series(pd.Index(keys).unique().get_indexer(values) >= 0, index=values.index)


def fx_expected(local_minor: pd.Series, rates: pd.Series) -> pd.Series:
    """|local| / rate in settlement minor units, exact, rounded half to even
    (every currency here has two decimals, so the scales cancel): integer
    arithmetic on each distinct rate's digits."""
    codes, uniques = pd.factorize(rates)
    scale = [len(r.split(".", 1)[1]) if "." in r else 0 for r in uniques]
    mantissa = [int(r.replace(".", "")) for r in uniques]
    local = local_minor.abs().to_numpy("int64")
    if len(local) and int(local.max()) * 10 ** max(scale) >= 2**62:
        raise BadData("settlement amount too large for the exact FX check")
    num = local * (10 ** pd.Series(scale, dtype="int64").to_numpy()[codes])
    den = pd.Series(mantissa, dtype="int64").to_numpy()[codes]
    q, r = num // den, num % den
    up = (2 * r > den) | ((2 * r == den) & (q % 2 == 1))
    return pd.Series(q + up.astype("int64"), index=local_minor.index)


def reconcile(orders, payments, settlements, as_of: dt.date, lag_days: int, fee_rates):
    at = pd.Timestamp(peer_terms.end_of(as_of), unit="s", tz="UTC")
    cols = ["key", "psp", "payment_id", "order_id", "country", "currency", "amount_minor", "paid_at", "expires_at",
            "status"]
    paid = payments.loc[payments["status"] == "paid", cols].reset_index(drop=True)
    # Paid once, since refunded, reversed or charged back.
    later = payments.loc[payments["status"].isin(["refunded", "reversed", "charged_back"]), cols].reset_index(drop=True)
    pending = payments.loc[payments["status"] == "pending", cols].reset_index(drop=True)
    paid_count = paid["order_id"].value_counts()
    # "psp:payment_id" per order (sorted list for the few paid more than once),
    # only for the orders that get an order finding.
    many = paid["order_id"].duplicated(keep=False)
    ids = paid["key"]
    paid_ids = pd.concat([
        ids[~many].set_axis(paid.loc[~many, "order_id"]),
        ids[many].groupby(paid.loc[many, "order_id"]).agg(lambda x: ",".join(sorted(x))),
    ])
    n_paid = pd.Series(paid_count.reindex(orders["order_id"].array).fillna(0).to_numpy("int64"), index=orders.index)

    out = []

    def order_findings(kind, mask, facts):
        o = orders[mask]
        out.append(pd.DataFrame({
            "kind": kind, "order_id": o["order_id"], "psp": None, "payment_id": None, "settlement_id": pd.NA,
            "amount_minor": o["amount_minor"], "currency": o["currency"], "facts": facts(o),
        }))

    status = orders["status"]
    awaits = status.isin(["pending_payment", "cancelled", "expired"])
    counts_as_paid = status.isin(["paid", "fulfilled"])
    taken_back = later.loc[later["status"].isin(["reversed", "charged_back"]), "order_id"]
    order_findings("paid_not_recorded", (n_paid > 0) & awaits,
                   lambda o: "shop=" + o["status"] + ";paid=" + o["order_id"].map(paid_ids))
    # An order whose payment was reversed or charged back has its own finding.
    order_findings("recorded_not_paid", (n_paid == 0) & counts_as_paid & ~member(orders["order_id"], taken_back),
                   lambda o: "shop=" + o["status"])
    order_findings("duplicate_payment", n_paid >= 2, lambda o: "paid=" + o["order_id"].map(paid_ids))
    # The shop names a payment id none of the order's paid payments has.
    named = orders["psp_payment_id"].fillna("")
    named_paid = member(orders["order_id"] + "\x1f" + named, paid["order_id"] + "\x1f" + paid["payment_id"])
    order_findings("payment_id_mismatch", (n_paid > 0) & (named != "") & ~named_paid,
                   lambda o: "shop_payment=" + o["psp_payment_id"] + ";paid=" + o["order_id"].map(paid_ids))
    # Pending at the shop, nothing paid, and the voucher (the order's, or the
    # latest of its still-pending payments') expired a day ago.
    pending_until = pending.dropna(subset=["expires_at"]).groupby("order_id")["expires_at"].max()
    until = orders["order_id"].map(pending_until).astype(orders["voucher_expires_at"].dtype)
    expiry_o = pd.concat([orders["voucher_expires_at"], until], axis=1).max(axis=1)
    order_findings("expired_unpaid",
                   (n_paid == 0) & (status == "pending_payment")
                   & (expiry_o <= at - pd.Timedelta(hours=peer_terms.EXPIRED_UNPAID_HOURS)).fillna(False).astype(bool),
                   lambda o: "expired=" + expiry_o[o.index].astype(str))

    # Paid-payment rules.
    o = orders.set_index("order_id")[["currency", "amount_minor", "voucher_expires_at", "status"]].rename(
        columns={"currency": "currency_order", "amount_minor": "amount_minor_order", "status": "status_order"})
    f = paid.join(o, on="order_id")
    known = f["currency_order"].notna()
    expiry = f["expires_at"].fillna(f["voucher_expires_at"])
    settled = member(f["key"], settlements.loc[settlements["row_type"] == "PAYMENT", "key"])
    paid_on = market_dates(f)
    # Settlement terms and business days on the few distinct paid dates.
    unsettled = pd.DataFrame({"psp": f["psp"], "country": f["country"], "paid_on": paid_on})[
        ~settled & paid_on.notna()].drop_duplicates()
    late = peer_terms.late_settlements(
        [(p, c, d.date()) for p, c, d in unsettled.itertuples(index=False)], as_of, lag_days)
    day_key = f["psp"] + "|" + f["country"] + "|" + paid_on.dt.strftime("%Y-%m-%d").fillna("")
    is_late = member(day_key, [f"{p}|{c}|{d.isoformat()}" for p, c, d, _ in late])

    def payment_findings(kind, frame, mask, facts):
        p = frame[mask]
        out.append(pd.DataFrame({
            "kind": kind, "order_id": p["order_id"], "psp": p["psp"], "payment_id": p["payment_id"],
            "settlement_id": pd.NA, "amount_minor": p["amount_minor"], "currency": p["currency"], "facts": facts(p),
        }))

    same_currency = known & (f["currency_order"] == f["currency"])
    payment_findings("unknown_order", f, ~known, lambda p: "order=" + p["order_id"])
    # No dated USD rates here (nor in the bench's ledger): another currency is a currency_mismatch.
    payment_findings("currency_mismatch", f, known & (f["currency_order"] != f["currency"]),
                     lambda p: "order=" + p["currency_order"] + ";payment=" + p["currency"])
    payment_findings("amount_mismatch", f,
                     same_currency & ((f["amount_minor_order"] - f["amount_minor"]).abs() > 0),
                     lambda p: "order=" + p["amount_minor_order"].astype("Int64").astype(str)
                     + ";payment=" + p["amount_minor"].astype(str))
    payment_findings("paid_after_expiry", f, (f["paid_at"] > expiry).fillna(False).astype(bool),
                     lambda p: "paid=" + p["paid_at"].astype(str) + ";expired=" + expiry[p.index].astype(str))
    payment_findings("not_settled", f, ~settled & is_late,
                     lambda p: "paid_on=" + paid_on[p.index].dt.strftime("%Y-%m-%d"))

    # Pending payments whose voucher expired days ago.
    pe = pending.join(o, on="order_id")
    pending_expiry = pe["expires_at"].fillna(pe["voucher_expires_at"])
    payment_findings("stale_pending", pe,
                     (pending_expiry <= at - pd.Timedelta(days=peer_terms.STALE_PENDING_DAYS)).fillna(False).astype(bool),
                     lambda p: "expired=" + pending_expiry[p.index].astype(str))

    # Money taken back.
    lo = later.join(o, on="order_id")
    payment_findings("reversed_after_fulfilment", lo,
                     (lo["status"] == "reversed") & lo["status_order"].isin(["paid", "fulfilled"]),
                     lambda p: "shop=" + p["status_order"])
    # One per charged-back payment, and one per chargeback row of a payment the ledger does not have.
    charged_back = lo["status"] == "charged_back"
    payment_findings("chargeback", lo, charged_back, lambda p: "amount=" + p["amount_minor"].astype(str))

    # Settlement rows of every type, against the payment they refer to (paid, or paid once).
    known_payments = pd.concat([paid, later], ignore_index=True).set_index("key")[
        ["order_id", "currency", "amount_minor"]].rename(
        columns={"order_id": "order_id_paid", "currency": "currency_paid", "amount_minor": "amount_minor_paid"})
    s = settlements.join(known_payments, on="key")
    refers = s["order_id_paid"].notna()
    s["order_id_any"] = s["order_id_paid"].fillna(s["order_id"]).fillna("")
    is_payment = s["row_type"] == "PAYMENT"
    wrong = (
        (s["local_currency"] != s["currency_paid"])
        | (s["local_amount_minor"] != s["amount_minor_paid"])
        | (s["net_minor"] != s["gross_minor"] - s["fee_minor"])
    ).fillna(True).astype(bool)
    gross, fee = s["gross_minor"].abs(), s["fee_minor"].abs()
    contracted = s["psp"].isin({psp for psp, _ in fee_rates})
    fits = pd.Series(False, index=s.index)
    for psp, bps in fee_rates:  # 0.10 point and one minor unit of slack, against every rate of the PSP
        fits |= (s["psp"] == psp) & (
            (fee - gross * bps // 10_000).abs() <= gross * peer_terms.FEE_RATE_TOLERANCE_BPS // 10_000 + 1)
    converts = (s["fx_rate"].fillna("") != "") & (s["settlement_currency"] != s["local_currency"])
    c = s[converts]
    expected = fx_expected(c["local_amount_minor"], c["fx_rate"])
    off = (expected - c["gross_minor"].abs()).abs() * 10_000 > (
        pd.concat([expected, c["gross_minor"].abs()], axis=1).max(axis=1) * peer_terms.FX_TOLERANCE_BPS)
    fx_wrong = pd.Series(False, index=s.index)
    fx_wrong[c.index[off.to_numpy()]] = True
    cb_rows = (s["row_type"] == "CHARGEBACK") & ~member(s["key"], lo.loc[charged_back, "key"])
    for kind, mask in (
        ("unknown_settlement", is_payment & ~refers),
        ("settlement_mismatch", is_payment & refers & wrong),
        ("fee_mismatch", is_payment & refers & (s["gross_minor"] != 0) & contracted & ~fits),
        # No ledger of our own refunds here (nor any in the bench's): every refund row is one we did not make.
        ("unmatched_refund_settlement", s["row_type"] == "REFUND"),
        ("settlement_fx_mismatch", fx_wrong),
        ("chargeback", cb_rows),
    ):
        r = s[mask]
        out.append(pd.DataFrame({
            "kind": kind, "order_id": r["order_id_any"], "psp": r["psp"], "payment_id": r["payment_id"],
            "settlement_id": r["settlement_id"], "amount_minor": r["local_amount_minor"],
            "currency": r["local_currency"],
            "facts": "local=" + r["local_amount_minor"].astype(str) + r["local_currency"]
            + ";g=" + r["gross_minor"].astype(str) + ";n=" + r["net_minor"].astype(str)
            + ";f=" + r["fee_minor"].astype(str),
        }))

    # settlement_report_missing: each file's span of settlement dates per PSP
    # and market, against the due dates of every payment whose money was due.
    dated = settlements[settlements["settled_on"].notna() & settlements["local_currency"].isin(["COP", "PEN"])]
    spans = dated.assign(market=dated["local_currency"].map(peer_terms.CURRENCY_MARKET)).groupby(
        ["psp", "market", "file_no"])["settled_on"].agg(["min", "max"])
    due = payments[payments["status"].isin(["paid", "refunded", "charged_back"]) & payments["paid_at"].notna()]
    due_keys = pd.DataFrame({"psp": due["psp"], "country": due["country"], "paid_on": market_dates(due)}).drop_duplicates()
    missing = peer_terms.missing_reports(
        [(p, m, n, a.date(), b.date()) for (p, m, n), (a, b) in spans.iterrows()],
        [(p, c, d.date()) for p, c, d in due_keys.itertuples(index=False)], as_of)
    out.append(pd.DataFrame({
        "kind": "settlement_report_missing", "order_id": "", "psp": [p for p, _, _ in missing], "payment_id": None,
        "settlement_id": pd.NA, "amount_minor": pd.NA, "currency": None,
        "facts": [f"market={m};date={d}" for _, m, d in missing],
    }))

    findings = pd.concat(out, ignore_index=True)
    findings["settlement_id"] = findings["settlement_id"].astype("Int64")
    findings["amount_minor"] = findings["amount_minor"].astype("Int64")
    flagged = pd.Index(findings["order_id"].unique())
    matched = int(((n_paid > 0) & (flagged.get_indexer(orders["order_id"]) < 0)).sum())
    return findings, matched


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--findings", type=Path,
                    default=Path(__file__).resolve().parent / "out" / "peer_pandas_findings.parquet")
    ap.add_argument("--as-of", default="2026-03-20")
    ap.add_argument("--lag-days", type=int, default=peer_terms.SETTLEMENT_LAG_DAYS_DEFAULT)
    ap.add_argument("--fee-rate", action="append", default=[], metavar="PSP=BPS",
                    help="a contracted fee rate in basis points of the gross (dlocal=300); repeatable")
    args = ap.parse_args()
    as_of = dt.date.fromisoformat(args.as_of)

    try:
        orders = load_orders(args.data_dir)
        obs = load_payment_observations(args.data_dir)
        payments = resolve_payments(obs)
        settlements = load_settlements(args.data_dir)
        fee_rates = [(psp.strip().lower(), int(bps)) for psp, bps in (r.split("=", 1) for r in args.fee_rate)]
        # A chargeback row takes its payment's money back whatever its status
        # (voucherdesk moves the payment to charged_back, the highest rank).
        charged_back = member(payments["key"], settlements.loc[settlements["row_type"] == "CHARGEBACK", "key"])
        payments.loc[charged_back, "status"] = "charged_back"
        payments.loc[charged_back, "status_rank"] = RANK["charged_back"]
        findings, matched = reconcile(orders, payments, settlements, as_of, args.lag_days, fee_rates)
    except BadData as e:
        raise SystemExit(f"peer_pandas: {e}")

    args.findings.parent.mkdir(parents=True, exist_ok=True)
    findings.to_parquet(args.findings, index=False)
    counts = findings["kind"].value_counts()
    unexpected = set(counts.index) - set(KINDS)
    if unexpected:
        raise SystemExit(f"peer_pandas: unexpected finding kinds {sorted(unexpected)}")
    summary = {
        "as_of": as_of.isoformat(),
        "orders": len(orders),
        "payments": len(payments),
        "settlements": len(settlements),
        "matched": matched,
        "exceptions": {k: int(counts.get(k, 0)) for k in KINDS},
        "kinds": list(KINDS),  # the kinds this peer computes (run.sh compares only these)
    }
    print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
