"""DuckDB warehouse: layout of the raw and quality layers, short connections, partition swaps.

DuckDB allows one writing process and a writer locks readers of other
processes out, so connections are opened per unit of work and closed at once;
`connect` waits a little for a lock held by another process instead of failing
a run (see docs/warehouse.md and dagster.yaml for the pool that serialises writers).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from onevision_dagster.contract.sources import ALL_SOURCES, Kind, SourceSpec
from onevision_dagster.errors import OneVisionError

LAYERS = ("raw", "quality", "core", "marts")

_SQL_TYPE = {
    Kind.DATE: "DATE",
    Kind.AMOUNT: "DECIMAL(18,2)",
    Kind.CENTS: "DECIMAL(18,2)",
}
META_COLUMNS = (("siren", "VARCHAR"), ("departement", "VARCHAR"), ("fichier", "VARCHAR"), ("ligne", "INTEGER"),
                ("date_extraction", "DATE"))
REGISTER_EXTRA = (("nom_normalise", "VARCHAR"), ("sigle_normalise", "VARCHAR"))


def raw_columns(spec: SourceSpec) -> list[tuple[str, str]]:
    """(name, SQL type) of `raw.<source>`, in order."""
    cols = [(c.db_name, _SQL_TYPE.get(c.kind, "VARCHAR")) for c in spec.columns]
    names = {n for n, _ in cols}
    cols += [(n, t) for n, t in META_COLUMNS if n not in names]
    if not spec.partitioned:
        cols += list(REGISTER_EXTRA)
    return cols


REJETS_COLUMNS = (
    ("source", "VARCHAR NOT NULL"), ("departement", "VARCHAR"), ("fichier", "VARCHAR NOT NULL"),
    ("date_extraction", "DATE"), ("ligne", "INTEGER NOT NULL"), ("colonne", "VARCHAR"), ("motif", "VARCHAR NOT NULL"),
    ("message", "VARCHAR NOT NULL"), ("contenu", "VARCHAR"), ("cle", "VARCHAR"),
)
# one row per file the warehouse has read: loaded ('CHARGE') or refused as a whole ('REFUSE', with the reason)
CHARGEMENTS_COLUMNS = (
    ("source", "VARCHAR NOT NULL"), ("departement", "VARCHAR"), ("fichier", "VARCHAR"), ("date_extraction", "DATE"),
    ("lignes_lues", "BIGINT NOT NULL"), ("lignes_gardees", "BIGINT NOT NULL"), ("lignes_rejetees", "BIGINT NOT NULL"),
    ("colonnes_ignorees", "VARCHAR"), ("charge_le", "TIMESTAMP NOT NULL"), ("statut", "VARCHAR NOT NULL"),
    ("message", "VARCHAR"), ("empreinte", "VARCHAR"),
)
CHARGE, REFUSE = "CHARGE", "REFUSE"
# a natural person's line withdrawn at consolidation: nothing of it but where it was (contract v3, section 6;
# `consolidate.redaction`)
TOMBSTONES = "raw.lignes_personnes_physiques"
TOMBSTONE_COLUMNS = (
    ("source", "VARCHAR NOT NULL"), ("departement", "VARCHAR NOT NULL"), ("fichier", "VARCHAR NOT NULL"),
    ("date_extraction", "DATE NOT NULL"), ("ligne", "INTEGER NOT NULL"),
)

# the SIRENs any loaded register version calls a natural person (legal category 1…): the operators' preview of a
# source file hides their rows with a lookup in this small table instead of scanning the 2.5 M-row register at
# each of the ~700 source steps of a refresh (issue 21). Rebuilt with every register file; a purged version may
# leave SIRENs in it, which only hides more rows.
NATURAL_PERSONS = "raw.sirens_personnes_physiques"
NATURAL_PERSONS_SQL = (f"INSERT INTO {NATURAL_PERSONS} SELECT DISTINCT siren FROM raw.entreprises "
                       "WHERE starts_with(categorie_juridique, '1') ORDER BY siren")


def _ensure_columns(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[tuple[str, str], ...]) -> None:
    """Creates the table, or adds the columns a warehouse of an earlier version lacks (never drops data)."""
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(f'{n} {t}' for n, t in columns)})")
    schema, name = table.split(".")
    present = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ? "
        "AND table_name = ?", [schema, name]).fetchall()}
    for column, sql_type in columns:
        if column not in present:
            base = sql_type.replace(" NOT NULL", "")
            default = f" DEFAULT '{CHARGE}'" if column == "statut" else ""
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {base}{default}")


def create_raw_and_quality(con: duckdb.DuckDBPyConnection) -> None:
    for layer in LAYERS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    for spec in ALL_SOURCES:
        _ensure_columns(con, spec.table, tuple(raw_columns(spec)))
    _ensure_columns(con, "quality.rejets", REJETS_COLUMNS)
    _ensure_columns(con, "quality.chargements", CHARGEMENTS_COLUMNS)
    _ensure_columns(con, TOMBSTONES, TOMBSTONE_COLUMNS)
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                       "AND schema_name = 'raw' AND table_name = 'sirens_personnes_physiques'").fetchone()[0]:
        # a warehouse of an earlier version: its registers' natural persons, before any preview reads the table
        con.execute(f"CREATE TABLE {NATURAL_PERSONS} (siren VARCHAR NOT NULL)")
        con.execute(NATURAL_PERSONS_SQL)


# Warehouses kept open by `session` in this process: resolved path -> the open database.
_SESSIONS: dict[Path, duckdb.DuckDBPyConnection] = {}
SESSION_MEMORY_LIMIT = "512MB"  # DuckDB's memory while a session keeps the file open (spills beyond)
# WAL size that triggers a checkpoint; each checkpoint rewrites the last, partly filled row group of
# every table written since the previous one, so a session checkpoints less often than DuckDB's 16 MB
SESSION_CHECKPOINT_THRESHOLD = "256MB"


def lock_timeout(default: float) -> float:
    """Seconds to wait for another process's lock: `ONEVISION_LOCK_TIMEOUT` when set (an operator's script may
    prefer to fail fast), else `default`."""
    value = os.environ.get("ONEVISION_LOCK_TIMEOUT")
    return float(value) if value else default


@contextmanager
def session(path: str | Path, lock_timeout_s: float | None = None,
            memory_limit: str = SESSION_MEMORY_LIMIT) -> Iterator[None]:
    """Keeps the warehouse open for a sequence of runs in this process (`pipeline.run_pipeline`).

    Inside the block, `connect` on the same file hands out a cursor of the one open
    database instead of opening the file, creating the layout and closing (hence
    checkpointing) it for every step; the buffer pool stays warm between steps.
    The file lock is held for the whole block: other processes wait for its end.
    """
    key = Path(path).resolve()
    if key in _SESSIONS:  # nested: the outer session already holds it
        yield
        return
    with connect(path, lock_timeout_s=lock_timeout(60.0) if lock_timeout_s is None else lock_timeout_s) as con:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET checkpoint_threshold = '{SESSION_CHECKPOINT_THRESHOLD}'")
        _SESSIONS[key] = con
        try:
            yield
        finally:
            del _SESSIONS[key]


@contextmanager
def connect(path: str | Path, read_only: bool = False, lock_timeout_s: float = 60.0) -> Iterator[
        duckdb.DuckDBPyConnection]:
    """A short-lived connection; waits up to `lock_timeout_s` for another process's lock.

    Within a `session` on the same file, a cursor of the open database (closed at the end,
    which rolls back a transaction left open).
    """
    path = Path(path)
    shared = _SESSIONS.get(path.resolve()) if _SESSIONS else None
    if shared is not None:
        cursor = shared.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
        return
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_timeout_s
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as e:
            if "lock" not in str(e).lower() or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    try:
        if not read_only:
            create_raw_and_quality(con)
        yield con
    finally:
        con.close()


def _file_filter(spec: SourceSpec, departement: str | None) -> tuple[str, list]:
    """The rows of one file: a source, a department (none for the register) and an extraction date."""
    dept = "departement IS NULL" if departement is None else "departement = ?"
    return f"source = ? AND {dept} AND date_extraction = ?", [spec.name] + ([] if departement is None
                                                                           else [departement])


def replace_file(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    departement: str | None,
    kept: pa.Table | pd.DataFrame | None,
    rejects: pd.DataFrame | None,
    load_row: dict,
) -> None:
    """Swaps the rows, rejects and load record of one file in a single transaction.

    A file is (source, department, extraction date): every file ever loaded stays, so any snapshot can be
    computed again (section 9) and a file missing from the landing zone loses nothing. `kept` (an Arrow table,
    scanned by DuckDB without conversion, or a pandas frame) holds amounts in integer cents; they become
    DECIMAL(18,2) here by an exact decimal product, never through a float.
    """
    as_of = load_row["date_extraction"]
    where, params = _file_filter(spec, departement)
    # the register's `departement` is the head office's: its files differ by date only
    raw_where = ("departement = ? AND " if spec.partitioned else "") + "date_extraction = ?"
    raw_params = ([departement] if spec.partitioned else []) + [as_of]
    con.execute("BEGIN TRANSACTION")
    try:
        if load_row.get("statut", CHARGE) == CHARGE:
            con.execute(f"DELETE FROM {spec.table} WHERE {raw_where}", raw_params)
            if spec.partitioned:  # the new rows are withdrawn again at the next consolidation
                con.execute(f"DELETE FROM {TOMBSTONES} WHERE source = ? AND {raw_where}", [spec.name, *raw_params])
            if kept is not None and len(kept):
                select = []
                for name, sql_type in raw_columns(spec):
                    if name == "departement" and spec.partitioned:
                        select.append("$departement::VARCHAR AS departement")
                    elif name in ("fichier", "date_extraction"):
                        select.append(f"${name}::{sql_type} AS {name}")
                    elif sql_type.startswith("DECIMAL"):
                        select.append(f"(kept.{name}::DECIMAL(18,0) * 0.01)::DECIMAL(18,2) AS {name}")
                    else:
                        select.append(f"kept.{name}::{sql_type} AS {name}")
                con.register("kept", kept)
                # rows stored in SIREN order within a file: DuckDB's zone maps then skip the row groups of every
                # other SIREN in point lookups (company sheets, joins from a few lines)
                order = "" if spec.partitioned else " ORDER BY kept.siren"
                values = {"fichier": load_row["fichier"], "date_extraction": as_of}
                if spec.partitioned:
                    values["departement"] = departement
                con.execute(f"INSERT INTO {spec.table} SELECT {', '.join(select)} FROM kept{order}", values)
                con.unregister("kept")
            if not spec.partitioned:
                con.execute(f"DELETE FROM {NATURAL_PERSONS}")
                con.execute(NATURAL_PERSONS_SQL)
            con.execute(f"DELETE FROM quality.rejets WHERE {where}", [*params, as_of])
            if rejects is not None and len(rejects):
                frame = rejects.assign(source=spec.name, departement=departement, fichier=load_row["fichier"],
                                       date_extraction=as_of)
                con.register("rej", frame)
                con.execute(
                    """INSERT INTO quality.rejets SELECT source, departement::VARCHAR, fichier,
                       date_extraction::DATE, ligne, colonne, motif, message, contenu, cle::VARCHAR FROM rej"""
                )
                con.unregister("rej")
        con.execute(f"DELETE FROM quality.chargements WHERE {where}", [*params, as_of])
        con.execute(
            "INSERT INTO quality.chargements (source, departement, fichier, date_extraction, lignes_lues, "
            "lignes_gardees, lignes_rejetees, colonnes_ignorees, charge_le, statut, message, empreinte) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?, ?)",
            [spec.name, departement, load_row["fichier"], as_of, load_row.get("lignes_lues", 0),
             load_row.get("lignes_gardees", 0), load_row.get("lignes_rejetees", 0),
             load_row.get("colonnes_ignorees"), load_row.get("statut", CHARGE), load_row.get("message"),
             load_row.get("empreinte")],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def record_refusal(con: duckdb.DuckDBPyConnection, spec: SourceSpec, departement: str | None, fichier: str,
                   as_of, message: str, empreinte: str | None) -> None:
    """A file refused as a whole: its earlier rows (if the same file was once readable) are kept, the refusal is
    recorded so that snapshots skip it and say so (section 9)."""
    replace_file(con, spec, departement, None, None,
                 {"fichier": fichier, "date_extraction": as_of, "statut": REFUSE, "message": message,
                  "empreinte": empreinte})


class WarehouseUnavailable(OneVisionError):
    """The warehouse cannot be used for what was asked: one French sentence says why."""


def explain(error: Exception, path: str | Path) -> str:
    """One French sentence for a DuckDB error an operator can cause (missing, locked, read-only, corrupt file,
    table not built yet)."""
    text = str(error)
    name = Path(path)
    if isinstance(error, duckdb.CatalogException):
        table = re.search(r'name "([^"]+)"', text)
        what = f"la table {table.group(1)}" if table else "une table demandée"
        return (f"L'entrepôt {name} ne contient pas encore {what} : lancez d'abord `onevision run` "
                "(ou matérialisez les assets correspondants).")
    if "does not exist" in text and "read-only" in text:
        return f"Entrepôt introuvable : {name} (lancez d'abord `onevision run`)."
    if "lock" in text.lower():
        return (f"L'entrepôt {name} est verrouillé par un autre processus (un rafraîchissement en cours ?) : "
                "réessayez quand il sera terminé.")
    if "not a valid DuckDB database" in text or isinstance(error, duckdb.SerializationException):
        return (f"Le fichier {name} n'est pas un entrepôt DuckDB valide (corrompu ou d'un autre format) : "
                "restaurez-le ou reconstruisez-le avec `onevision run`.")
    if "Permission denied" in text or "Read-only file system" in text or "read-only" in text.lower():
        return (f"L'entrepôt {name} n'est pas accessible en écriture (droits du fichier ou du dossier, ou "
                "système de fichiers en lecture seule).")
    return f"L'entrepôt {name} est inutilisable : {text.splitlines()[0]}"


@contextmanager
def open_for_reading(path: str | Path, required: tuple[str, ...] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for the exports and sheets; `WarehouseUnavailable` (French) when the file is
    missing, locked, corrupt, or lacks one of the `required` tables."""
    path = Path(path)
    if not path.exists():
        raise WarehouseUnavailable(f"Entrepôt introuvable : {path} (lancez d'abord `onevision run`).")
    try:
        with connect(path, read_only=True, lock_timeout_s=lock_timeout(5.0)) as con:
            present = {f"{s}.{n}" for s, n in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
            missing = [t for t in required if t not in present]
            if missing:
                raise WarehouseUnavailable(
                    f"L'entrepôt {path} ne contient pas encore {', '.join(missing)} : lancez d'abord "
                    "`onevision run`.")
            yield con
    except duckdb.Error as e:
        raise WarehouseUnavailable(explain(e, path)) from e
