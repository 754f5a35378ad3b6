"""Builders of the current core and marts tables: each department's latest snapshot, then the nation.

Pure functions over a DuckDB connection, no Dagster import, so the CLI, the assets and the tests share one
implementation. Each per-department build is idempotent and atomic: inside one transaction it deletes the
department's rows, inserts them again, and checks what it wrote (the Pandera model of each table, and for the
positions the consistency with the lines) **before** committing: a failed check rolls back, so the last good
figures stay published and the error names the check and the rows by their identifiers. The national tables
are rebuilt in full the same way.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from onevision_dagster.consolidate import consistency
from onevision_dagster.consolidate import snapshot as snapshots
from onevision_dagster.consolidate.compensations import insert_compensations
from onevision_dagster.consolidate.declarations import insert_declarations
from onevision_dagster.consolidate.fines import insert_rattachement
from onevision_dagster.consolidate.lines import insert_lines, insert_non_positionnees
from onevision_dagster.consolidate.panels import insert_panel
from onevision_dagster.consolidate.positions import insert_positions, insert_positions_nationales
from onevision_dagster.consolidate.redaction import withdraw_natural_persons
from onevision_dagster.consolidate.snapshot import Snapshot
from onevision_dagster.consolidate.table_validation import validate_table
from onevision_dagster.consolidate.tables import create_tables, execute, tables, transaction
from onevision_dagster.errors import OneVisionError


class RegisterMissing(OneVisionError):
    """No register file was ever loaded: no company can be positioned."""


class ConsistencyFailed(OneVisionError):
    """A consistency rule between layers failed: nothing was published."""


def _verify(con: duckdb.DuckDBPyConnection, departement: str | None, *tables: str) -> dict[str, int]:
    """Row count of each table written, validated by its Pandera model; raises before the caller commits."""
    return {table: validate_table(con, table, departement) for table in tables}


Guards = dict[str, tuple[bool, dict]]
"""The consistency rules a build checked before its commit, by the asset check's name: (passed, details). The
asset reports them as its checks instead of running the same queries again (issue 21)."""


def _require(name: str, result: tuple[bool, dict], guards: Guards | None = None, check: str | None = None) -> None:
    if guards is not None and check is not None:
        guards[check] = result
    passed, details = result
    if not passed:
        raise ConsistencyFailed(f"Contrôle « {name} » échoué, rien n'est publié : "
                                + " ; ".join(f"{k} {v}" for k, v in details.items()))


def _verify_positions(con: duckdb.DuckDBPyConnection, departement: str, guards: Guards | None = None) -> None:
    _require("totaux égaux aux lignes", consistency.positions_match_lines(con, departement), guards,
             "totaux_egaux_aux_lignes")
    _require("aucun SIREN hors périmètre", consistency.out_of_scope_in_positions(con, departement), guards,
             "aucun_siren_hors_perimetre")
    _require("amendes rattachées ou listées", consistency.fines_accounted_for(con, departement), guards,
             "amendes_rattachees_ou_listees")


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    if not snapshots.register_versions(con):
        raise RegisterMissing("le registre des entreprises n'est pas chargé : chargez un fichier "
                              "entreprises_<AAAAMMJJ>.csv avant de consolider")
    create_tables(con)  # cheap: (re)creates only a table missing or whose columns are not the current ones


def _of(table: str, departement: str) -> str:
    return f"(SELECT * FROM {table} WHERE departement = '{departement}')"


def date_situation(con: duckdb.DuckDBPyConnection, departement: str) -> dt.date | None:
    """As-of date of a department's current snapshot: the latest extraction date of its seven source files."""
    dates = snapshots.snapshot_dates(con, departement)
    return dates[-1] if dates else None


def departements(con: duckdb.DuckDBPyConnection) -> list[str]:
    return snapshots.departements(con)


def _current(con: duckdb.DuckDBPyConnection, departement: str) -> Snapshot | None:
    return snapshots.latest_snapshot(con, departement)


def _delete(con: duckdb.DuckDBPyConnection, table: str, departement: str) -> None:
    execute(con, f"DELETE FROM {table} WHERE departement = ?", [departement])


def _record(con: duckdb.DuckDBPyConnection, departement: str, snap: Snapshot | None, *written: str) -> None:
    """Which snapshot the tables now hold for the department (in the same transaction as the tables)."""
    execute(con, "DELETE FROM core.instantanes_courants WHERE departement = ? AND table_name IN (SELECT unnest(?))",
            [departement, list(written)])
    if snap is not None:
        for table in written:
            execute(con, "INSERT INTO core.instantanes_courants VALUES (?, ?, ?)", [departement, table, snap.key])


def current_identity(con: duckdb.DuckDBPyConnection, departement: str, table: str) -> str | None:
    """The identity of the snapshot `table` holds for the department (None when unknown)."""
    if "core.instantanes_courants" not in tables(con):
        return None
    row = con.execute("SELECT identite FROM core.instantanes_courants WHERE departement = ? AND table_name = ?",
                      [departement, table]).fetchone()
    return row[0] if row else None


def _build_rattachement(con: duckdb.DuckDBPyConnection, departement: str, snap: Snapshot | None) -> None:
    _delete(con, "core.rattachement_amendes", departement)
    if snap is not None:
        insert_rattachement(con, snap, "core.rattachement_amendes")
        withdraw_natural_persons(con, snap, "core.rattachement_amendes")


def _build_lignes(con: duckdb.DuckDBPyConnection, departement: str, snap: Snapshot | None) -> None:
    _delete(con, "core.lignes_dettes", departement)
    _delete(con, "core.lignes_creances", departement)
    if snap is not None:
        insert_lines(con, snap, _of("core.rattachement_amendes", departement), "core.lignes_dettes",
                     "core.lignes_creances")
    _record(con, departement, snap, "core.lignes_dettes", "core.lignes_creances")


def _build_non_positionnees(con: duckdb.DuckDBPyConnection, departement: str, snap: Snapshot | None) -> None:
    _delete(con, "core.non_positionnees", departement)
    if snap is not None:
        insert_non_positionnees(con, snap, _of("core.lignes_dettes", departement),
                                _of("core.lignes_creances", departement), "core.non_positionnees")


def _build_positions(con: duckdb.DuckDBPyConnection, departement: str, snap: Snapshot | None) -> None:
    _delete(con, "marts.positions", departement)
    if snap is not None:
        insert_positions(con, snap, _of("core.lignes_dettes", departement), _of("core.lignes_creances", departement),
                         "marts.positions")
    _record(con, departement, snap, "marts.positions")


def _build_panel(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    _delete(con, "marts.panel_debiteurs_communs", departement)
    insert_panel(con, _of("marts.positions", departement), "departement", _of("core.lignes_dettes", departement),
                 "marts.panel_debiteurs_communs")


def _build_declarations(con: duckdb.DuckDBPyConnection, departement: str, snap: Snapshot | None) -> None:
    _delete(con, "marts.declarations", departement)
    if snap is not None:
        insert_declarations(con, snap, _of("core.lignes_dettes", departement), _of("marts.positions", departement),
                            "marts.declarations")


def _build_compensations(con: duckdb.DuckDBPyConnection) -> None:
    execute(con, "DELETE FROM marts.compensations")
    insert_compensations(con, "marts.compensations")


def _build_national(con: duckdb.DuckDBPyConnection) -> None:
    execute(con, "DELETE FROM marts.positions_nationales")
    insert_positions_nationales(con, "marts.positions", "marts.positions_nationales")


def _build_panel_national(con: duckdb.DuckDBPyConnection) -> None:
    execute(con, "DELETE FROM marts.panel_debiteurs_communs_national")
    insert_panel(con, "marts.positions_nationales", "departements", "core.lignes_dettes",
                 "marts.panel_debiteurs_communs_national")


def build_rattachement_amendes(con: duckdb.DuckDBPyConnection, departement: str) -> dict[str, int]:
    """(Re)build ``core.rattachement_amendes`` for one department's current snapshot (section 5)."""
    _prepare(con)
    with transaction(con):
        _build_rattachement(con, departement, _current(con, departement))
        return _verify(con, departement, "core.rattachement_amendes")


def build_lignes(con: duckdb.DuckDBPyConnection, departement: str) -> dict[str, int]:
    """(Re)build ``core.lignes_dettes`` and ``core.lignes_creances``; needs the department's fine attachments."""
    _prepare(con)
    with transaction(con):
        _build_lignes(con, departement, _current(con, departement))
        return _verify(con, departement, "core.lignes_dettes", "core.lignes_creances")


def build_non_positionnees(con: duckdb.DuckDBPyConnection, departement: str) -> dict[str, int]:
    """(Re)build ``core.non_positionnees`` for one department from its unified lines."""
    _prepare(con)
    with transaction(con):
        _build_non_positionnees(con, departement, _current(con, departement))
        return _verify(con, departement, "core.non_positionnees")


def build_positions(con: duckdb.DuckDBPyConnection, departement: str, guards: Guards | None = None
                    ) -> dict[str, int]:
    """(Re)build ``marts.positions`` for one department from its unified lines (section 6); `guards` receives
    the consistency rules checked before the commit."""
    _prepare(con)
    with transaction(con):
        _build_positions(con, departement, _current(con, departement))
        counts = _verify(con, departement, "marts.positions")
        _verify_positions(con, departement, guards)
    return counts


def build_panel_debiteurs_communs(con: duckdb.DuckDBPyConnection, departement: str) -> dict[str, int]:
    """(Re)build ``marts.panel_debiteurs_communs`` for one department from its positions."""
    _prepare(con)
    with transaction(con):
        _build_panel(con, departement)
        return _verify(con, departement, "marts.panel_debiteurs_communs")


def build_declarations(con: duckdb.DuckDBPyConnection, departement: str, guards: Guards | None = None
                       ) -> dict[str, int]:
    """(Re)build ``marts.declarations`` for one department's current snapshot (contract v3, section 6)."""
    _prepare(con)
    with transaction(con):
        _build_declarations(con, departement, _current(con, departement))
        counts = _verify(con, departement, "marts.declarations")
        _require("déclarations = lignes des entreprises en procédure", consistency.declarations_match_lines(
            con, departement), guards, "declarations_egales_aux_lignes")
    return counts


def build_departement(con: duckdb.DuckDBPyConnection, departement: str) -> Snapshot | None:
    """Every per-department table of the current snapshot, in dependency order, in one transaction."""
    _prepare(con)
    snap = _current(con, departement)
    with transaction(con):
        _build_rattachement(con, departement, snap)
        _build_lignes(con, departement, snap)
        _build_non_positionnees(con, departement, snap)
        _build_positions(con, departement, snap)
        _build_panel(con, departement)
        _build_declarations(con, departement, snap)
        _verify(con, departement, "core.rattachement_amendes", "core.lignes_dettes", "core.lignes_creances",
                "core.non_positionnees", "marts.positions", "marts.panel_debiteurs_communs", "marts.declarations")
        _verify_positions(con, departement)
        _require("déclarations = lignes des entreprises en procédure", consistency.declarations_match_lines(
            con, departement))
    return snap


def build_positions_nationales(con: duckdb.DuckDBPyConnection, guards: Guards | None = None) -> dict[str, int]:
    """Full rebuild of ``marts.positions_nationales`` from every department's positions."""
    _prepare(con)
    with transaction(con):
        _build_national(con)
        counts = _verify(con, None, "marts.positions_nationales")
        _require("sommes égales aux départements", consistency.national_sums_match(con), guards,
                 "sommes_egales_aux_departements")
        _require("aucun SIREN hors périmètre", consistency.out_of_scope_in_positions(con, None), guards,
                 "aucun_siren_hors_perimetre")
    return counts


def build_panel_debiteurs_communs_national(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Full rebuild of ``marts.panel_debiteurs_communs_national`` from the national positions."""
    _prepare(con)
    with transaction(con):
        _build_panel_national(con)
        return _verify(con, None, "marts.panel_debiteurs_communs_national")


def build_compensations(con: duckdb.DuckDBPyConnection, guards: Guards | None = None) -> dict[str, int]:
    """Full rebuild of ``marts.compensations`` from every department's positions (and the history's snapshots)."""
    _prepare(con)
    with transaction(con):
        _build_compensations(con)
        counts = _verify(con, None, "marts.compensations")
        _require("compensations = créances et impôts des positions", consistency.compensations_match_positions(con),
                 guards, "compensations_egales_aux_positions")
    return counts


def build_national(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The national tables in one transaction."""
    _prepare(con)
    with transaction(con):
        _build_national(con)
        _build_panel_national(con)
        _build_compensations(con)
        counts = _verify(con, None, "marts.positions_nationales", "marts.panel_debiteurs_communs_national",
                         "marts.compensations")
        _require("sommes égales aux départements", consistency.national_sums_match(con))
        _require("aucun SIREN hors périmètre", consistency.out_of_scope_in_positions(con, None))
        _require("compensations = créances et impôts des positions", consistency.compensations_match_positions(con))
    return counts


def build_all(con: duckdb.DuckDBPyConnection, departements_: list[str] | None = None) -> list[str]:
    """Every department (default: all with loaded files), then the national tables; returns the departments."""
    depts = departements(con) if departements_ is None else list(departements_)
    for d in depts:
        build_departement(con, d)
    build_national(con)
    return depts
