"""Loads the extracts of the landing zone into the warehouse, one file per partition.

Read a chunk at a time → decode → validate → the key rule over the file → Pandera → one transaction per
file. Every file ever loaded stays (the snapshots of section 9 are computed from them); a file that
cannot be read as a whole is recorded as refused and changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from onevision_dagster import warehouse
from onevision_dagster.consolidate.matching import normalise_names
from onevision_dagster.contract.money import to_decimal_euros
from onevision_dagster.contract.sources import PARTITIONED_SOURCES, REGISTER, SOURCES_BY_NAME, Kind, SourceSpec
from onevision_dagster.errors import FileRejected, OneVisionError
from onevision_dagster.ingest.decoding import InputLimits, check_limits, iter_decoded, record_texts
from onevision_dagster.ingest.landing import LandingFile, LandingScan, parse_name, scan_landing
from onevision_dagster.ingest.schemas import validate_kept
from onevision_dagster.ingest.validation import ValidatedFile, finish, validate_part


@dataclass
class LoadReport:
    source: str
    departement: str | None
    fichier: str | None
    date_extraction: date | None
    rows_read: int = 0
    rows_kept: int = 0
    rows_rejected: int = 0
    rejects_by_motif: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)
    preview: pd.DataFrame | None = None


class InvariantBroken(OneVisionError):
    pass


def read_source_file(spec: SourceSpec, path: Path, as_of: date | None = None,
                     chunk_bytes: int | None = None) -> ValidatedFile:
    """Decodes and validates a file; raises `FileRejected` when it cannot be read as a whole.

    `as_of` is the file's extraction date (taken from its name when it follows the pattern), needed by the
    `FUTURE_DATE` rule; `chunk_bytes`, the bytes read at a time (default `decoding._READ_CHUNK`)."""
    if as_of is None:
        parsed = parse_name(spec.name, path)
        as_of = parsed.as_of if isinstance(parsed, LandingFile) else None
    check_limits(spec, path, InputLimits.from_env())
    try:  # a chunk at a time: the file's text is never in memory at once, only its kept rows, typed
        parts = [validate_part(spec, chunk, as_of) for chunk in iter_decoded(spec, path, chunk_bytes)]
        validated = finish(spec, parts, lambda lines: record_texts(spec, path, lines, chunk_bytes))
        del parts
    finally:
        pa.default_memory_pool().release_unused()  # the decoded cells are gone: give their memory back
    kept, rejected = len(validated.kept), len(validated.rejects)
    if validated.rows_read != kept + rejected:
        raise InvariantBroken(
            f"{path.name} : {validated.rows_read} lignes lues ≠ {kept} gardées + {rejected} rejetées"
        )
    validate_kept(spec.name, validated.kept, path.name)
    return validated


def _totals(spec: SourceSpec, kept: pd.DataFrame) -> dict[str, Decimal]:
    out = {}
    for col in spec.columns:
        if col.kind in (Kind.AMOUNT, Kind.CENTS):
            cents = int(kept[col.db_name].sum(skipna=True)) if len(kept) else 0
            out[col.db_name] = to_decimal_euros(cents)
    return out


def fingerprint(path: Path) -> str:
    """Size and modification time: a file rewritten in place is read again, an unchanged one is not."""
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def load_file(con: duckdb.DuckDBPyConnection, spec: SourceSpec, landing_file: LandingFile) -> LoadReport:
    """Loads one file into its own partition (source, department, date); a file refused as a whole is recorded
    as such and `FileRejected` is raised: the rows of every other file stay in place."""
    departement = landing_file.departement
    empreinte = fingerprint(landing_file.path)
    try:
        validated = read_source_file(spec, landing_file.path, landing_file.as_of)
    except FileRejected as e:
        warehouse.record_refusal(con, spec, departement, landing_file.name, landing_file.as_of, e.probleme,
                                 empreinte)
        raise
    kept = validated.kept
    table = validated.table
    if not spec.partitioned:  # section 5 normalisation, computed once, on the Arrow columns
        table = table.append_column("nom_normalise", normalise_names(table["denomination"]))
        table = table.append_column("sigle_normalise", normalise_names(table["sigle"]))
    report = LoadReport(
        source=spec.name,
        departement=departement,
        fichier=landing_file.name,
        date_extraction=landing_file.as_of,
        rows_read=validated.rows_read,
        rows_kept=len(kept),
        rows_rejected=len(validated.rejects),
        rejects_by_motif=validated.rejects_by_motif,
        ignored_columns=validated.ignored_columns,
        totals=_totals(spec, kept),
        preview=kept.head(10),
    )
    warehouse.replace_file(
        con, spec, departement, table, validated.rejects,
        {"fichier": landing_file.name, "date_extraction": landing_file.as_of, "lignes_lues": report.rows_read,
         "lignes_gardees": report.rows_kept, "lignes_rejetees": report.rows_rejected,
         "colonnes_ignorees": ",".join(validated.ignored_columns) or None, "empreinte": empreinte},
    )
    return report


@dataclass
class SyncReport:
    """What one source of one department (or the register) holds after a synchronisation with the landing zone."""

    source: str
    departement: str | None
    loaded: list[LoadReport] = field(default_factory=list)  # files read in this synchronisation
    unchanged: list[str] = field(default_factory=list)  # files already in the warehouse, same fingerprint
    refused: dict[str, str] = field(default_factory=dict)  # file -> reason, refused in this synchronisation
    still_refused: dict[str, str] = field(default_factory=dict)  # refused earlier, unchanged since
    absent: list[str] = field(default_factory=list)  # in the warehouse, no longer in the landing zone
    latest: str | None = None  # the latest file of the landing zone for this source

    @property
    def latest_refused(self) -> str | None:
        """The reason the latest file is refused, if it is: then the current snapshot is not what landed last."""
        if self.latest is None:
            return None
        return self.refused.get(self.latest) or self.still_refused.get(self.latest)


def _known_files(con: duckdb.DuckDBPyConnection, spec: SourceSpec, departement: str | None) -> dict[str, tuple]:
    dept = "departement IS NULL" if departement is None else "departement = ?"
    rows = con.execute(
        f"SELECT fichier, empreinte, statut, message FROM quality.chargements WHERE source = ? AND {dept} "
        "AND fichier IS NOT NULL", [spec.name] + ([] if departement is None else [departement])).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def sync_source(con: duckdb.DuckDBPyConnection, spec: SourceSpec, departement: str | None,
                files: list[LandingFile]) -> SyncReport:
    """Brings the warehouse in line with the landing zone for one source: every new or rewritten file is loaded,
    in date order, each in its own transaction; a file refused as a whole is recorded and reported, never
    replacing what an earlier file gave; files gone from the landing zone keep their rows (nothing is lost)."""
    files = sorted((f for f in files if f.source == spec.name and f.departement == departement),
                   key=lambda f: f.as_of)
    report = SyncReport(spec.name, departement, latest=files[-1].name if files else None)
    known = _known_files(con, spec, departement)
    for f in files:
        previous = known.get(f.name)
        if previous is not None and previous[0] == fingerprint(f.path):
            if previous[1] == warehouse.REFUSE:
                report.still_refused[f.name] = previous[2] or ""
            else:
                report.unchanged.append(f.name)
            continue
        try:
            report.loaded.append(load_file(con, spec, f))
        except FileRejected as e:
            report.refused[f.name] = e.probleme
    on_disk = {f.name for f in files}
    report.absent = sorted(name for name, (_, statut, _) in known.items()
                           if name not in on_disk and statut == warehouse.CHARGE)
    return report


def ingest_landing(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, departements: list[str] | None = None,
    scan: LandingScan | None = None,
) -> list[SyncReport]:
    """Synchronises the register and every source of the given departments (default: those present)."""
    scan = scan or scan_landing(Path(landing_dir))
    reports = [sync_source(con, REGISTER, None, scan.files)]
    for dept in departements if departements is not None else scan.departements():
        for spec in PARTITIONED_SOURCES:
            reports.append(sync_source(con, spec, dept, scan.files))
    return reports


__all__ = ["LoadReport", "SyncReport", "ingest_landing", "load_file", "read_source_file", "sync_source",
           "SOURCES_BY_NAME"]
