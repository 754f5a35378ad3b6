"""One department's snapshot at one date, stored in the history (SOURCES.md section 9).

A line is *tracked* when it adds to a debt column of a position (due, not yet due, written off) or to a
certain-credit column (due or refundable later); a potential credit is not tracked.

Computed exactly as the current positions (the same SQL of `consolidate`), from the files the snapshot reads:
per source the latest loaded file dated <= the date, and the register dated <= it. History is always rebuilt
from the files, never from a previous run's state, so computing an old snapshot again gives the same rows
whatever landed after it.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from onevision_dagster.consolidate.build import current_identity
from onevision_dagster.consolidate.fines import insert_rattachement
from onevision_dagster.consolidate.lines import insert_lines
from onevision_dagster.consolidate.positions import insert_positions
from onevision_dagster.consolidate.redaction import withdraw_natural_persons
from onevision_dagster.consolidate.snapshot import Snapshot, snapshot_at, snapshot_dates
from onevision_dagster.consolidate.table_validation import validate_table
from onevision_dagster.consolidate.tables import TABLE_DDL, create_tables, execute, transaction
from onevision_dagster.contract.sources import in_scope_sql
from onevision_dagster.history.schemas import HISTORY_MODELS
from onevision_dagster.history.tables import HISTORY_DDL

# per-snapshot work tables, private to the connection that computes the snapshot
_WORK = {
    "rattachement_amendes": "core.rattachement_amendes",
    "lignes_dettes": "core.lignes_dettes",
    "lignes_creances": "core.lignes_creances",
    "positions": "marts.positions",
}


def create_history_tables(con: duckdb.DuckDBPyConnection) -> None:
    create_tables(con, HISTORY_DDL)


def _current_holds(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> bool:
    """The current tables (`core.lignes_*`, `marts.positions`) hold exactly this snapshot: the history copies
    them instead of computing the same rows again (the latest snapshot, at every weekly refresh)."""
    return all(current_identity(con, snap.departement, t) == snap.key
               for t in ("core.lignes_dettes", "core.lignes_creances", "marts.positions"))


def _work_tables(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    names = {}
    for name, model in _WORK.items():
        execute(con, f"DROP TABLE IF EXISTS temp._ov_{name}")
        execute(con, f"CREATE TEMP TABLE _ov_{name} {TABLE_DDL[model]}")
        names[name] = f"temp._ov_{name}"
    return names


def _drop_work_tables(con: duckdb.DuckDBPyConnection, names: dict[str, str]) -> None:
    for table in names.values():
        execute(con, f"DROP TABLE IF EXISTS {table}")


def _delete(con: duckdb.DuckDBPyConnection, departement: str, when: dt.date) -> None:
    for table in ("history.positions_historique", "history.lignes", "history.instantanes"):
        execute(con, f"DELETE FROM {table} WHERE departement = ? AND date_situation = ?", [departement, when])


def build_snapshot(con: duckdb.DuckDBPyConnection, departement: str, when: dt.date) -> Snapshot | None:
    """(Re)computes the department's snapshot at `when` into `history.positions_historique` and
    `history.lignes`, in one transaction. Returns None (and stores nothing) when `when` is not one of the
    department's extraction dates."""
    create_history_tables(con)
    if when not in snapshot_dates(con, departement):
        with transaction(con):
            _delete(con, departement, when)
        return None
    snap = snapshot_at(con, departement, when)
    if _current_holds(con, snap):
        source = {"lignes_dettes": f"(SELECT * FROM core.lignes_dettes WHERE departement = '{departement}')",
                  "lignes_creances": f"(SELECT * FROM core.lignes_creances WHERE departement = '{departement}')",
                  "positions": f"(SELECT * FROM marts.positions WHERE departement = '{departement}')"}
        _store(con, snap, source)
        return snap
    work = _work_tables(con)
    try:
        insert_rattachement(con, snap, work["rattachement_amendes"])
        with transaction(con):  # a natural person's lines leave the warehouse (contract v3, section 6)
            withdraw_natural_persons(con, snap, work["rattachement_amendes"])
        insert_lines(con, snap, work["rattachement_amendes"], work["lignes_dettes"], work["lignes_creances"])
        insert_positions(con, snap, work["lignes_dettes"], work["lignes_creances"], work["positions"])
        _store(con, snap, work)
    finally:
        _drop_work_tables(con, work)
    return snap


def _store(con: duckdb.DuckDBPyConnection, snap: Snapshot, source: dict[str, str]) -> None:
    """Replaces the stored snapshot by the lines and positions of `source` (relations), checked before commit."""
    departement, when = snap.departement, snap.date_situation
    with transaction(con):
        _delete(con, departement, when)
        execute(con, f"INSERT INTO history.positions_historique SELECT * FROM {source['positions']} AS p")
        lines = " UNION ALL ".join(
            f"SELECT '{sens}' AS sens, source, reference AS cle, siren, nature, statut, montant, montant_du, "
            f"montant_paye FROM {source[table]} AS l{sens}"
            for sens, table in (("D", "lignes_dettes"), ("C", "lignes_creances")))
        execute(
            con,
            f"""INSERT INTO history.lignes
                SELECT $dept, $ds, l.sens, l.source, l.cle, l.siren, l.nature, l.statut, l.montant,
                       l.montant_du, l.montant_paye,
                       l.montant > 0 AND p.siren IS NOT NULL
                         AND l.nature IN ('ECHUE', 'A_ECHOIR', 'NON_VALEUR', 'CERTAINE') AS suivie,
                       e.siren IS NOT NULL AND {in_scope_sql("e")} AS positionnable
                FROM ({lines}) l
                LEFT JOIN {source['positions']} p ON p.siren = l.siren
                LEFT JOIN {snap.register("e")} ON e.siren = l.siren""",
            {"dept": departement, "ds": when},
        )
        execute(con, "INSERT INTO history.instantanes VALUES (?, ?, ?, ?, now())",
                [departement, when, snap.files_json, snap.registre])
        for table in ("history.positions_historique", "history.lignes"):  # checked before it is committed
            validate_table(con, table, departement, when, HISTORY_MODELS[table])


def stored_identity(con: duckdb.DuckDBPyConnection, departement: str, when: dt.date) -> str | None:
    create_history_tables(con)
    row = con.execute("SELECT fichiers || '|' || coalesce(CAST(registre AS VARCHAR), '') FROM history.instantanes "
                      "WHERE departement = ? AND date_situation = ?", [departement, when]).fetchone()
    return row[0] if row else None


def is_up_to_date(con: duckdb.DuckDBPyConnection, departement: str, when: dt.date) -> bool:
    """The stored snapshot read the files the snapshot would read now (nothing landed or was refused since)."""
    return stored_identity(con, departement, when) == snapshot_at(con, departement, when).identity


def refused_files(con: duckdb.DuckDBPyConnection, departement: str, when: dt.date) -> list[str]:
    """The department's files dated `when` that were refused as a whole: the snapshot at `when` reads, for their
    sources, the previous readable file (section 9), which the run's summary says."""
    rows = con.execute("SELECT DISTINCT fichier FROM quality.chargements WHERE departement = ? AND date_extraction = ? "
                       "AND statut <> 'CHARGE' AND fichier IS NOT NULL ORDER BY 1", [departement, when]).fetchall()
    return [r[0] for r in rows]
