"""Freshness is never hidden (issue 17, point 8): the as-of date of each department's figures, flagged when older
than another department's or than the freshness limit (`ONEVISION_FRESHNESS_DAYS`, 7 days by default, counted from
today in Paris). Shared by the application's pages, the dashboards and the company sheets.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from onevision_dagster.reports.formatting import format_date

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_LIMIT_DAYS = 7
LIMIT_VARIABLE = "ONEVISION_FRESHNESS_DAYS"


def limit_days(configured: int | None = None) -> int:
    """The limit a written page flags against: the pipeline's setting when given, else the environment's (the same
    variable the application and the sources' freshness checks read), else 7 days."""
    if configured is not None:
        return configured
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_LIMIT_DAYS


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


def paragraph(rows: list[Freshness], produced: str) -> str:
    """The « Données au » line of a written page (dashboard, sheet), flagged when a department is late; the flag is
    the day the page was written, which the line says (`produced`: « page produite », « fiche produite »)."""
    late = any(f.retard for f in rows)
    return (f'<p class="{"alerte " if late else ""}fraicheur" id="fraicheur">Données au : '
            f"{html.escape(sentence(rows))} — {html.escape(produced)} le {html.escape(paris_now())} (heure de "
            "Paris).</p>")
