"""Freshness is never hidden (issue 17, point 8): the as-of date of each department's figures, flagged when older
than another department's or than the freshness limit (`ONEVISION_FRESHNESS_DAYS`, 7 days by default, counted from
today in Paris). Shared by the application's pages, the dashboards and the company sheets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from onevision_dagster.reports.formatting import format_date

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_LIMIT_DAYS = 7


@dataclass(frozen=True)
class Freshness:
    departement: str
    date_situation: dt.date
    retard: str | None


def today_paris() -> dt.date:
    return dt.datetime.now(PARIS).date()


def flag(dates: dict[str, dt.date], limit_days: int, today: dt.date | None = None) -> list[Freshness]:
    """One row per department, flagged when older than the newest department or than the limit."""
    today = today or today_paris()
    newest = max(dates.values(), default=None)
    out = []
    for dept in sorted(dates):
        when = dates[dept]
        reasons = []
        if newest is not None and when < newest:
            reasons.append(f"plus ancienne que les autres départements ({(newest - when).days} j)")
        if (today - when).days > limit_days:
            reasons.append(f"plus de {limit_days} jours")
        out.append(Freshness(dept, when, "ancienne : " + " ; ".join(reasons) if reasons else None))
    return out


def sentence(rows: list[Freshness]) -> str:
    """« département 17 : 27/11/2026 ; département 95 : 20/11/2026 (ancienne : ...) » for a page's subtitle."""
    return " ; ".join(f"département {f.departement} : {format_date(f.date_situation)}"
                      + (f" ({f.retard})" if f.retard else "") for f in rows)


def paris_now() -> str:
    return dt.datetime.now(PARIS).strftime("%d/%m/%Y à %H:%M")
