"""Calendars and terms the Python peers share (benchmark only).

The date arithmetic voucherdesk's rules use, written once for both peers: it
runs on the few hundred distinct dates, never per row. Business days are
Monday to Friday except the holidays in assets/holidays/{co,pe}.csv (the
files voucherdesk embeds); settlement is due `T+N` business days after the
payment's market date, N by PSP (voucherdesk's built-in terms: dLocal T+2,
PagoEfectivo T+1, any other PSP T+2); Bogotá and Lima are UTC-5 all year.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

HOLIDAY_DIR = Path(__file__).resolve().parent.parent / "assets" / "holidays"
MARKET_OFFSET = dt.timedelta(hours=-5)  # CO and PE, no DST
SETTLE_BUSINESS_DAYS = {"dlocal": 2, "pagoefectivo": 1}
SETTLE_BUSINESS_DAYS_OTHER = 2
SETTLEMENT_LAG_DAYS_DEFAULT = 1  # business days of grace after the due date
EXPIRED_UNPAID_HOURS = 24
STALE_PENDING_DAYS = 3
SETTLEMENT_REPORT_GRACE_BUSINESS_DAYS = 2
SETTLEMENT_REPORT_LOOKBACK_DAYS = 366
FX_TOLERANCE_BPS = 100
FEE_RATE_TOLERANCE_BPS = 10
CURRENCY_MARKET = {"COP": "CO", "PEN": "PE"}  # a settlement row's market, by its local currency


def _holidays(market: str) -> frozenset[dt.date]:
    out = set()
    for raw in (HOLIDAY_DIR / f"{market.lower()}.csv").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        day, name = line.split(",", 1)
        if not name.strip():
            raise ValueError(f"holiday line without a name: {raw!r}")
        out.add(dt.date.fromisoformat(day.strip()))
    return frozenset(out)


HOLIDAYS = {m: _holidays(m) for m in ("CO", "PE")}


def is_business_day(market: str, day: dt.date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS[market]


def add_business_days(market: str, day: dt.date, n: int) -> dt.date:
    while n > 0:
        day += dt.timedelta(days=1)
        if is_business_day(market, day):
            n -= 1
    return day


def business_days_between(market: str, a: dt.date, b: dt.date) -> int:
    """Business days in (a, b]; negative when b is before a."""
    if b < a:
        return -business_days_between(market, b, a)
    return sum(is_business_day(market, a + dt.timedelta(days=i)) for i in range(1, (b - a).days + 1))


def settle_days(psp: str) -> int:
    return SETTLE_BUSINESS_DAYS.get(psp, SETTLE_BUSINESS_DAYS_OTHER)


def end_of(as_of: dt.date) -> int:
    """The instant (epoch seconds) the hour- and day-based rules measure from:
    the last second of the as-of date in the markets' calendar."""
    midnight = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone(MARKET_OFFSET))
    return int(midnight.timestamp()) - 1


def late_settlements(keys, as_of: dt.date, lag_days: int) -> list[tuple[str, str, dt.date, dt.date]]:
    """(psp, country, paid_on) -> [(psp, country, paid_on, due)] for the
    paid market dates whose settlement is overdue by more than `lag_days`
    business days as of `as_of` (not_settled, when no PAYMENT row came)."""
    out = []
    for psp, country, paid_on in keys:
        due = add_business_days(country, paid_on, settle_days(psp))
        if business_days_between(country, due, as_of) > lag_days:
            out.append((psp, country, paid_on, due))
    return out


def missing_reports(spans, paid_keys, as_of: dt.date) -> list[tuple[str, str, dt.date]]:
    """settlement_report_missing: `spans` are (psp, market, file, first, last)
    settlement dates per imported file; `paid_keys` the distinct (psp,
    country, paid market date) of every payment whose money was due to settle
    (paid, refunded or charged back since). One (psp, market, due date) per
    due date, old enough to have been reported, that no file covers."""
    files: dict[tuple[str, str], list[tuple[dt.date, dt.date]]] = {}
    for psp, market, _file, first, last in spans:
        files.setdefault((psp, market), []).append((first, last))
    if not files:
        return []
    earliest = as_of - dt.timedelta(days=SETTLEMENT_REPORT_LOOKBACK_DAYS)
    due: dict[tuple[str, str], set[dt.date]] = {}
    for psp, country, paid_on in paid_keys:
        if (psp, country) not in files:
            continue
        day = add_business_days(country, paid_on, settle_days(psp))
        reported_by = add_business_days(country, day, SETTLEMENT_REPORT_GRACE_BUSINESS_DAYS)
        if day >= earliest and reported_by <= as_of:
            due.setdefault((psp, country), set()).add(day)
    out = []
    for (psp, market), days in sorted(due.items()):
        file_spans = files[(psp, market)]
        first = min(a for a, _ in file_spans)
        for day in sorted(days):
            if day >= first and not any(a <= day <= b for a, b in file_spans):
                out.append((psp, market, day))
    return out
