"""Retention (issue 20, finding 8): what is kept, for how long, and `onevision purge [--simulation]`.

- Extracts: a file loaded more than `ONEVISION_CONSERVATION_MOIS` months ago (by its extraction date) leaves the
  warehouse — its rows in `raw.<source>`, its rejects, its line in `quality.chargements` — and the landing zone,
  unless a kept snapshot still reads it: the latest snapshot of each department, every snapshot within the period,
  and for each of them, per source, the latest file dated on or before it (and the register version it reads).
  The history (`history.*`: positions, movements, impact) stays: it is what the extracts are kept *for*.
- Audit: rows older than `ONEVISION_AUDIT_CONSERVATION_MOIS` months (12 by default: an access log names agents)
  are deleted by `purge_audit`; the purge is itself recorded, with the range it removed, so the chain still
  verifies (see `app.audit.verify`).

Without `ONEVISION_CONSERVATION_MOIS` nothing is purged from the extracts (the deployment decides; the default
record of processing says 24 months, docs/securite/). Every purge says what it removes before removing it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from onevision_dagster.consolidate.snapshot import register_version_at, register_versions, snapshot_dates
from onevision_dagster.contract.sources import REGISTER, SOURCES_BY_NAME
from onevision_dagster.errors import OneVisionError
from onevision_dagster.ingest.landing import scan_landing
from onevision_dagster.warehouse import TOMBSTONES

DEFAULT_AUDIT_MONTHS = 12


def months(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise OneVisionError(f"{name} est un nombre de mois (1 ou plus), pas « {text} ».")
    return int(text)


def retention_from_env(env: Mapping[str, str] | None = None) -> tuple[int | None, int]:
    """(months of extracts or None for no purge, months of audit)."""
    env = os.environ if env is None else env
    return (months(env, "ONEVISION_CONSERVATION_MOIS", None),
            months(env, "ONEVISION_AUDIT_CONSERVATION_MOIS", DEFAULT_AUDIT_MONTHS))


def months_before(day: dt.date, n: int) -> dt.date:
    """The same day n months earlier (the month's last day when it has fewer days)."""
    month = day.month - 1 - n
    year = day.year + month // 12
    month = month % 12 + 1
    for d in range(day.day, 0, -1):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class PurgedFile:
    source: str
    departement: str | None
    fichier: str
    date_extraction: dt.date
    lignes: int


@dataclass
class ExtractPurge:
    cutoff: dt.date
    files: list[PurgedFile] = field(default_factory=list)
    landing_files: list[Path] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.lignes for f in self.files)

    def sentences(self) -> list[str]:
        when = self.cutoff.strftime("%d/%m/%Y")
        if not self.files and not self.landing_files:
            return [f"Extraits : rien d'antérieur au {when} qui ne soit encore lu par un instantané conservé."]
        out = [f"Extraits antérieurs au {when} : {len(self.files)} fichier(s) retiré(s) de l'entrepôt "
               f"({self.rows} ligne(s)), {len(self.landing_files)} fichier(s) de la zone de dépôt ; l'historique "
               "(positions, mouvements, impact) est conservé."]
        out += [f"  - {f.fichier} ({f.lignes} ligne(s))" for f in self.files]
        out += [f"  - zone de dépôt : {p}" for p in self.landing_files]
        return out


def _kept_files(con: duckdb.DuckDBPyConnection, cutoff: dt.date) -> set[tuple[str, str | None, dt.date]]:
    """(source, departement, date) of every file a kept snapshot reads."""
    loaded = con.execute("SELECT DISTINCT source, departement, date_extraction FROM quality.chargements "
                         "WHERE statut = 'CHARGE' AND fichier IS NOT NULL").fetchall()
    by_partition: dict[tuple[str, str | None], list[dt.date]] = {}
    for source, departement, day in loaded:
        by_partition.setdefault((source, departement), []).append(day)
    kept: set[tuple[str, str | None, dt.date]] = set()
    versions = register_versions(con)
    if versions:
        kept.add((REGISTER.name, None, max(versions)))
    departements = sorted({d for (_, d) in by_partition if d is not None})
    for departement in departements:
        dates = snapshot_dates(con, departement)
        if not dates:
            continue
        for when in [d for d in dates if d >= cutoff] + [max(dates)]:
            version = register_version_at(versions, when)
            if version is not None:
                kept.add((REGISTER.name, None, version))
            for (source, dept), days in by_partition.items():
                if dept == departement and (earlier := [d for d in days if d <= when]):
                    kept.add((source, dept, max(earlier)))
    for (source, dept), days in by_partition.items():  # the current file of every partition, whatever its age
        kept.add((source, dept, max(days)))
    return kept


def plan_extracts(con: duckdb.DuckDBPyConnection, keep_months: int, today: dt.date,
                  landing: Path | None = None) -> ExtractPurge:
    cutoff = months_before(today, keep_months)
    kept = _kept_files(con, cutoff)
    plan = ExtractPurge(cutoff)
    rows = con.execute("SELECT source, departement, fichier, date_extraction, statut FROM quality.chargements "
                       "WHERE date_extraction < ? AND fichier IS NOT NULL ORDER BY source, departement, "
                       "date_extraction", [cutoff]).fetchall()
    for source, departement, fichier, day, statut in rows:
        if (source, departement, day) in kept and statut == "CHARGE":
            continue
        spec = SOURCES_BY_NAME[source]
        lignes = con.execute(f"SELECT count(*) FROM {spec.table} WHERE fichier = ?", [fichier]).fetchone()[0]
        plan.files.append(PurgedFile(source, departement, fichier, day, int(lignes)))
    if landing is not None and landing.is_dir():
        for f in scan_landing(landing).files:
            if f.as_of < cutoff and (f.source, f.departement, f.as_of) not in kept:
                plan.landing_files.append(f.path)
    return plan


def apply_extracts(con: duckdb.DuckDBPyConnection, plan: ExtractPurge) -> None:
    """Removes the planned files' rows in one transaction, then the landing zone's files."""
    con.execute("BEGIN TRANSACTION")
    try:
        for f in plan.files:
            con.execute(f"DELETE FROM {SOURCES_BY_NAME[f.source].table} WHERE fichier = ?", [f.fichier])
            con.execute("DELETE FROM quality.rejets WHERE source = ? AND fichier = ?", [f.source, f.fichier])
            con.execute(f"DELETE FROM {TOMBSTONES} WHERE source = ? AND fichier = ?", [f.source, f.fichier])
            con.execute("DELETE FROM quality.chargements WHERE source = ? AND fichier = ?", [f.source, f.fichier])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for path in plan.landing_files:
        path.unlink(missing_ok=True)

