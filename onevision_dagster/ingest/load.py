"""Loads the current file of one source and department into the warehouse.

Read → decode → validate → Pandera → one transaction. Any failure before the
transaction commits leaves the previous snapshot untouched.
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
from onevision_dagster.errors import OneVisionError
from onevision_dagster.ingest.decoding import decode_file
from onevision_dagster.ingest.landing import LandingFile, LandingScan, scan_landing
from onevision_dagster.ingest.schemas import validate_kept
from onevision_dagster.ingest.validation import ValidatedFile, validate


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


def read_source_file(spec: SourceSpec, path: Path) -> ValidatedFile:
    """Decodes and validates a file; raises `FileRejected` when it cannot be read as a whole."""
    try:
        validated = validate(spec, decode_file(spec, path))
    finally:
        pa.default_memory_pool().release_unused()  # the decoded cells are gone: give their memory back
    kept, rejected = len(validated.kept), len(validated.rejects)
    if validated.rows_read != kept + rejected:
        raise InvariantBroken(
            f"{path.name} : {validated.rows_read} lignes lues ≠ {kept} gardées + {rejected} rejetées"
        )
    validate_kept(spec.name, validated.kept)
    return validated


def _totals(spec: SourceSpec, kept: pd.DataFrame) -> dict[str, Decimal]:
    out = {}
    for col in spec.columns:
        if col.kind in (Kind.AMOUNT, Kind.CENTS):
            cents = int(kept[col.db_name].sum(skipna=True)) if len(kept) else 0
            out[col.db_name] = to_decimal_euros(cents)
    return out


def load_source(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, departement: str | None, landing_file: LandingFile | None
) -> LoadReport:
    """Replaces the source's partition with the given file (or with nothing when there is no file)."""
    if landing_file is None:
        warehouse.replace_source_partition(
            con, spec, departement, None, None,
            {"fichier": None, "date_extraction": None, "lignes_lues": 0, "lignes_gardees": 0,
             "lignes_rejetees": 0},
        )
        return LoadReport(spec.name, departement, None, None)
    validated = read_source_file(spec, landing_file.path)
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
    warehouse.replace_source_partition(
        con, spec, departement, table, validated.rejects,
        {"fichier": landing_file.name, "date_extraction": landing_file.as_of, "lignes_lues": report.rows_read,
         "lignes_gardees": report.rows_kept, "lignes_rejetees": report.rows_rejected,
         "colonnes_ignorees": ",".join(validated.ignored_columns) or None},
    )
    return report


def ingest_landing(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, departements: list[str] | None = None,
    scan: LandingScan | None = None,
) -> list[LoadReport]:
    """Loads the register and every source of the given departments (default: those present)."""
    scan = scan or scan_landing(Path(landing_dir))
    reports = [load_source(con, REGISTER, None, scan.latest(REGISTER.name))]
    for dept in departements if departements is not None else scan.departements():
        for spec in PARTITIONED_SOURCES:
            reports.append(load_source(con, spec, dept, scan.latest(spec.name, dept)))
    return reports


__all__ = ["LoadReport", "ingest_landing", "load_source", "read_source_file", "SOURCES_BY_NAME"]
