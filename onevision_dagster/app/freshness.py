"""Freshness is never hidden (issue 17, point 8): the as-of date of each department's figures, on every page.

A department is flagged when its figures are older than another department's or than the freshness limit
(`ONEVISION_FRESHNESS_DAYS`, 7 days by default, counted from today in Paris).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from onevision_dagster.reports.freshness import PARIS, Freshness, flag, today_paris

__all__ = ["PARIS", "Freshness", "flag", "per_departement", "published_at", "today_paris"]


def per_departement(con: duckdb.DuckDBPyConnection) -> dict[str, dt.date]:
    """The as-of date of each department's current positions (the publication's `fraicheur` table)."""
    try:
        rows = con.execute("SELECT departement, date_situation FROM fraicheur").fetchall()
    except duckdb.CatalogException:  # a publication of an earlier version
        rows = con.execute("SELECT departement, max(date_situation) FROM positions GROUP BY departement").fetchall()
    return {d: when for d, when in rows if when is not None}


def published_at(con: duckdb.DuckDBPyConnection) -> str | None:
    """When the figures were published, in Paris time (`publication.publie_le` is UTC)."""
    try:
        row = con.execute("SELECT publie_le FROM publication").fetchone()
    except duckdb.CatalogException:
        return None
    if row is None or row[0] is None:
        return None
    return row[0].replace(tzinfo=dt.UTC).astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")
