"""Which files make a department's snapshot at a date (SOURCES.md sections 1 and 9).

A department has a snapshot at every extraction date of one of its seven source
files (refused files included: the date exists, the file is skipped). The
snapshot at `t` reads, per source, the latest file of the department dated
<= `t` that was loaded, and the latest register dated <= `t` (the oldest when
none is). The current positions are the latest snapshot. Everything is read
from `quality.chargements`, never from the landing zone: the warehouse keeps
every file it loaded.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import duckdb

from onevision_dagster.consolidate.tables import PARTITIONED_SOURCES

REGISTER = "entreprises"


@dataclass(frozen=True)
class Snapshot:
    departement: str
    date_situation: dt.date
    files: dict[str, dt.date] = field(default_factory=dict)  # source -> extraction date of the file used
    registre: dt.date | None = None  # extraction date of the register version used

    @property
    def files_json(self) -> str:
        """The files this snapshot reads (sorted JSON: source → date)."""
        return json.dumps({s: d.isoformat() for s, d in sorted(self.files.items())}, sort_keys=True)

    @property
    def identity(self) -> str:
        """The files this snapshot reads and its register version, as one comparable string."""
        return f"{self.files_json}|{self.registre.isoformat() if self.registre else ''}"

    @property
    def key(self) -> str:
        """The identity and the as-of date: two snapshots reading the same files at different dates differ (a
        date whose only new file was refused reads the week before's files, but counts what is past due, ages
        and deadlines at its own date)."""
        return f"{self.date_situation.isoformat()}|{self.identity}"

    def rows(self, source: str, alias: str | None = None) -> str:
        """SQL relation of the rows this snapshot reads from `raw.<source>`."""
        name = alias or source
        used = self.files.get(source)
        if used is None:
            return f"(SELECT * FROM raw.{source} WHERE false) AS {name}"
        return (f"(SELECT * FROM raw.{source} WHERE departement = '{checked_code(self.departement)}' "
                f"AND date_extraction = DATE '{used.isoformat()}') AS {name}")

    def register(self, alias: str = "e") -> str:
        """SQL relation of the register version this snapshot reads."""
        return register_version_rows(self.registre, alias)

    def register_rejected(self, alias: str = "rr") -> str:
        """SQL relation of the SIRENs whose row of this snapshot's register was rejected (column `siren`)."""
        return register_rejected_rows(self.registre, alias)


def register_version_rows(version: dt.date | None, alias: str = "e", table: str = f"raw.{REGISTER}") -> str:
    if version is None:
        return f"(SELECT * FROM {table} WHERE false) AS {alias}"
    return f"(SELECT * FROM {table} WHERE date_extraction = DATE '{version.isoformat()}') AS {alias}"


def register_rejected_rows(version: dt.date | None, alias: str = "rr") -> str:
    if version is None:
        return f"(SELECT NULL::VARCHAR AS siren WHERE false) AS {alias}"
    return (f"(SELECT DISTINCT cle AS siren FROM quality.rejets WHERE source = '{REGISTER}' "
            f"AND date_extraction = DATE '{version.isoformat()}' AND cle IS NOT NULL) AS {alias}")


def checked_code(departement: str) -> str:
    if not departement.isalnum():  # INSEE codes only: never a quote in generated SQL
        raise ValueError(f"code département invalide : {departement!r}")
    return departement


def snapshot_dates(con: duckdb.DuckDBPyConnection, departement: str) -> list[dt.date]:
    """Every snapshot date of a department, oldest first."""
    rows = con.execute(
        "SELECT DISTINCT date_extraction FROM quality.chargements WHERE departement = ? AND source <> ? "
        "AND fichier IS NOT NULL AND date_extraction IS NOT NULL ORDER BY 1", [departement, REGISTER]).fetchall()
    return [r[0] for r in rows]


def register_versions(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """Extraction dates of the register files loaded, oldest first."""
    rows = con.execute("SELECT DISTINCT date_extraction FROM quality.chargements WHERE source = ? "
                       "AND statut = 'CHARGE' ORDER BY 1", [REGISTER]).fetchall()
    return [r[0] for r in rows]


def register_version_at(versions: list[dt.date], when: dt.date) -> dt.date | None:
    """The latest register dated <= `when`, the oldest when none is (section 9)."""
    earlier = [v for v in versions if v <= when]
    return max(earlier) if earlier else (min(versions) if versions else None)


def snapshot_at(con: duckdb.DuckDBPyConnection, departement: str, when: dt.date) -> Snapshot:
    """The files a department's snapshot at `when` reads."""
    rows = con.execute(
        "SELECT source, max(date_extraction) FROM quality.chargements WHERE departement = ? AND statut = 'CHARGE' "
        "AND date_extraction <= ? AND source IN (SELECT unnest(?)) GROUP BY source",
        [departement, when, list(PARTITIONED_SOURCES)]).fetchall()
    return Snapshot(departement, when, {s: d for s, d in rows}, register_version_at(register_versions(con), when))


def latest_snapshot(con: duckdb.DuckDBPyConnection, departement: str) -> Snapshot | None:
    """The current snapshot of a department (None when none of its files was ever read)."""
    dates = snapshot_dates(con, departement)
    return snapshot_at(con, departement, dates[-1]) if dates else None


def departements(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Departments with at least one source file read, sorted."""
    rows = con.execute("SELECT DISTINCT departement FROM quality.chargements WHERE source <> ? "
                       "AND departement IS NOT NULL ORDER BY 1", [REGISTER]).fetchall()
    return [r[0] for r in rows]


def current_files(con: duckdb.DuckDBPyConnection,
                  only: list[str] | None = None) -> list[tuple[str, str | None, dt.date]]:
    """(source, department or None for the register, extraction date) of every file a department's latest
    snapshot reads: what the agents' exports of rejects cover (older files' rejects stay in the warehouse).
    `only`: those departments' snapshots only (a department's sheet needs its own, not the nation's)."""
    out: set[tuple[str, str | None, dt.date]] = set()
    for dept in (departements(con) if only is None else only):
        snap = latest_snapshot(con, dept)
        if snap is None:
            continue
        out.update((source, dept, used) for source, used in snap.files.items())
        if snap.registre is not None:
            out.add((REGISTER, None, snap.registre))
    return sorted(out, key=lambda f: (f[0], f[1] or "", f[2]))


def current_files_sql(con: duckdb.DuckDBPyConnection, only: list[str] | None = None) -> str:
    """`current_files` as a SQL relation (source, departement, date_extraction)."""
    rows = current_files(con, only)
    if not rows:
        return "(SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS departement, NULL::DATE AS date_extraction " \
               "WHERE false)"
    values = ", ".join(
        f"('{s}', {'NULL' if d is None else repr(checked_code(d))}, DATE '{when.isoformat()}')" for s, d, when in rows)
    return f"(SELECT * FROM (VALUES {values}) AS f(source, departement, date_extraction))"
