"""French number and date formatting for agents (dashboards, sheets, metadata).

One separator everywhere: the no-break space U+00A0 (thousands and before
``€``), so an amount never wraps across two lines and every font renders it.
Amounts go through `Decimal` only: a float never decides the cent shown.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from numbers import Integral

from onevision_dagster.contract.money import is_missing as _is_missing
from onevision_dagster.contract.money import to_decimal_euros

NBSP = "\u00a0"
"""Thousands separator and space before the euro sign."""

PLOTLY_SEPARATORS = "," + NBSP
"""Plotly ``layout.separators``: decimal comma, same thousands separator as the text."""

MISSING = "—"
"""Shown for an absent value (never ``nan`` or ``None`` in front of an agent)."""

def _number(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Integral):
        return Decimal(int(value))
    return Decimal(repr(float(value)))  # type: ignore[arg-type]


def _group_thousands(digits: str) -> str:
    groups = []
    while len(digits) > 3:
        groups.append(digits[-3:])
        digits = digits[:-3]
    groups.append(digits)
    return NBSP.join(reversed(groups))


def format_euros(value: Decimal | int | float | str | None, *, decimales: bool = True) -> str:
    """``Decimal("12345.67")`` or ``1234567`` (cents) → ``"12 345,67 €"``.

    ``decimales=False`` rounds to the euro (for headline figures).
    """
    if _is_missing(value):
        return MISSING
    euros = to_decimal_euros(value)  # type: ignore[arg-type]
    if not decimales:
        euros = euros.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    sign = "-" if euros < 0 else ""
    text = f"{abs(euros):f}"
    integer, _, fraction = text.partition(".")
    body = _group_thousands(integer)
    if decimales:
        body += "," + (fraction + "00")[:2]
    if sign and body.strip("0,\u00a0") == "":
        sign = ""  # never "-0,00 €"
    return f"{sign}{body}{NBSP}€"


def format_nombre(value: int | float | Decimal | None, decimales: int = 0) -> str:
    """``1234567`` → ``"1 234 567"``; with ``decimales`` a comma is used."""
    if _is_missing(value):
        return MISSING
    number = _number(value).quantize(Decimal(1).scaleb(-decimales), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    integer, _, fraction = f"{abs(number):f}".partition(".")
    body = _group_thousands(integer)
    if decimales:
        body += "," + fraction
    if sign and body.strip("0,\u00a0") == "":
        sign = ""
    return sign + body


def format_pourcentage(part: int | float | Decimal, total: int | float | Decimal, decimales: int = 1) -> str:
    """``(1, 3)`` → ``"33,3 %"``; ``MISSING`` when the total is 0."""
    if _is_missing(part) or _is_missing(total) or not total:
        return MISSING
    ratio = _number(part) * 100 / _number(total)
    return f"{format_nombre(ratio, decimales)}{NBSP}%"


def format_date(value: dt.date | dt.datetime | str | None) -> str:
    """``date(2026, 11, 20)`` or ``"2026-11-20"`` → ``"20/11/2026"``."""
    if _is_missing(value):
        return MISSING
    if isinstance(value, str):
        value = dt.date.fromisoformat(value.strip()[:10])
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()  # type: ignore[union-attr]
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"  # type: ignore[union-attr]
