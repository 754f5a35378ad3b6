"""Procedural deadlines of a claim declaration (contract v3, section 6; Code de procédure civile art. 641, 642).

Months are added as art. 641 does (the same day number, or the month's last day when it has none); a deadline
that falls on a Saturday, a Sunday or a public holiday moves to the next working day (art. 642). The holidays
are the eleven of the contract (art. L. 3133-1 Code du travail), Easter computed, not listed by year.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools

from dateutil.easter import easter

METROPOLITAN_OVERSEAS_PREFIX = "97"  # 971…976: overseas departments; the others are in metropolitan France


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` + `months` months, on the same day number or the month's last day (art. 641 CPC)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


@functools.cache
def public_holidays(year: int) -> frozenset[dt.date]:
    """The eleven public holidays of the contract: fixed days, Easter Monday, Ascension Day and Whit Monday."""
    sunday = easter(year)
    fixed = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))
    moving = (sunday + dt.timedelta(days=1), sunday + dt.timedelta(days=39), sunday + dt.timedelta(days=50))
    return frozenset([dt.date(year, m, d) for m, d in fixed] + list(moving))


def next_working_day(day: dt.date) -> dt.date:
    """`day` itself when it is a working day, else the next one (art. 642 CPC)."""
    while day.weekday() >= 5 or day in public_holidays(day.year):
        day += dt.timedelta(days=1)
    return day


def extra_months(creditor_departement: str, court_departement: str | None) -> bool:
    """R. 622-24: two more months when creditor and court are neither both in metropolitan France nor in the
    same overseas department."""
    if court_departement is None:
        return False  # head office unknown: the earliest deadline (the conservative reading)
    creditor_overseas = creditor_departement.startswith(METROPOLITAN_OVERSEAS_PREFIX)
    court_overseas = court_departement.startswith(METROPOLITAN_OVERSEAS_PREFIX)
    if not creditor_overseas and not court_overseas:
        return False
    return creditor_departement != court_departement


def declaration_deadline(publication: dt.date, extended: bool) -> dt.date:
    """Last day to declare: the BODACC publication + 2 months (+ 2 more when `extended`), art. R. 622-24."""
    return next_working_day(add_months(publication, 4 if extended else 2))


def relief_deadline(publication: dt.date) -> dt.date:
    """Last day to ask the judge for relief from a missed deadline: publication + 6 months (art. L. 622-26)."""
    return next_working_day(add_months(publication, 6))
