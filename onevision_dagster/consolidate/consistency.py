"""Consistency rules between layers, as SQL (SOURCES.md section 6), used by the asset checks.

Each function returns (passed, details) so the check can show the agent what is wrong; none of them modifies
anything. Details carry identifiers and totals only, never names.
"""

from __future__ import annotations

import duckdb

from onevision_dagster.consolidate.positions import national_register_sql
from onevision_dagster.consolidate.snapshot import latest_snapshot
from onevision_dagster.consolidate.tables import ADDITIVE_COLUMNS
from onevision_dagster.contract.sources import in_scope_sql

# (position column, line table, line condition): every money column of a position is a sum of lines
_LINE_SUMS = (
    ("total_dettes", "core.lignes_dettes", "nature = 'ECHUE'"),
    ("dettes_a_echoir", "core.lignes_dettes", "nature = 'A_ECHOIR'"),
    ("dettes_non_valeur", "core.lignes_dettes", "nature = 'NON_VALEUR'"),
    ("passif_declare", "core.lignes_dettes", "passif"),
    ("dettes_compensables", "core.lignes_dettes", "compensable"),
    ("total_creances", "core.lignes_creances", "nature = 'CERTAINE'"),
    ("creances_a_echoir", "core.lignes_creances", "nature = 'A_ECHOIR'"),
    ("creances_potentielles", "core.lignes_creances", "nature = 'POTENTIELLE'"),
)


def positions_match_lines(con: duckdb.DuckDBPyConnection, departement: str) -> tuple[bool, dict]:
    """Each money column of the positions equals the sum of the matching unified lines of positioned companies
    (one scan of the positions and one of each line table)."""
    columns = [column for column, _, _ in _LINE_SUMS]
    by_table: dict[str, list[tuple[str, str]]] = {}
    for column, table, cond in _LINE_SUMS:
        by_table.setdefault(table, []).append((column, cond))
    parts = ["p AS (SELECT * FROM marts.positions WHERE departement = $d)",
             "pos AS (SELECT " + ", ".join(f"coalesce(sum({c}), 0) AS {c}" for c in columns) + " FROM p)"]
    for i, (table, sums) in enumerate(by_table.items()):
        parts.append(f"l{i} AS (SELECT " + ", ".join(f"coalesce(sum(montant) FILTER (WHERE {cond}), 0) AS {c}"
                                                    for c, cond in sums)
                     + f" FROM {table} l SEMI JOIN p ON p.siren = l.siren WHERE l.departement = $d)")
    lines = {c: f"l{i}.{c}" for i, (_, sums) in enumerate(by_table.items()) for c, _ in sums}
    row = con.execute(
        "WITH " + ", ".join(parts) + " SELECT "
        + ", ".join(f"pos.{c}, {lines[c]}" for c in columns)
        + " FROM pos, " + ", ".join(f"l{i}" for i in range(len(by_table))),
        {"d": departement},
    ).fetchone()
    details, ok = {}, True
    for i, column in enumerate(columns):
        positions, lines_sum = row[2 * i], row[2 * i + 1]
        details[column] = f"{positions} (positions) / {lines_sum} (lignes)"
        ok = ok and positions == lines_sum
    return ok, details


def out_of_scope_in_positions(con: duckdb.DuckDBPyConnection, departement: str | None) -> tuple[bool, dict]:
    """No position for a SIREN unknown to the register version used, or outside the scope (section 3)."""
    if departement is not None:
        snap = latest_snapshot(con, departement)
        if snap is None:
            return True, {"siren_hors_perimetre": 0}
        bad = con.execute(
            f"""SELECT count(*) FROM marts.positions p LEFT JOIN {snap.register("e")} ON e.siren = p.siren
                WHERE p.departement = ? AND (e.siren IS NULL OR NOT {in_scope_sql("e")})""", [departement],
        ).fetchone()[0]
    else:
        registres = national_register_sql(con, "SELECT DISTINCT date_situation FROM marts.positions_nationales")
        bad = con.execute(
            f"""SELECT count(*) FROM marts.positions_nationales p
                LEFT JOIN {registres} r USING (date_situation)
                LEFT JOIN raw.entreprises e ON e.siren = p.siren AND e.date_extraction = r.registre
                WHERE e.siren IS NULL OR NOT {in_scope_sql("e")}""",
        ).fetchone()[0]
    return bad == 0, {"siren_hors_perimetre": int(bad)}


def fines_accounted_for(con: duckdb.DuckDBPyConnection, departement: str) -> tuple[bool, dict]:
    """Every kept fine of the snapshot is in the attachment table, and every unattached one is listed."""
    snap = latest_snapshot(con, departement)
    fines = snap.rows("amendes", "a") if snap is not None else "(SELECT 1 WHERE false) AS a"
    row = con.execute(
        f"""SELECT
             (SELECT count(*) FROM {fines}),
             (SELECT count(*) FROM core.rattachement_amendes WHERE departement = $d),
             (SELECT count(*) FROM core.rattachement_amendes WHERE departement = $d AND siren IS NULL),
             (SELECT count(*) FROM core.non_positionnees
               WHERE departement = $d AND source = 'amendes' AND motif = 'NON_RATTACHEE')""",
        {"d": departement},
    ).fetchone()
    details = {"amendes": row[0], "dans_rattachement": row[1], "non_rattachees": row[2], "listees": row[3]}
    return row[0] == row[1] and row[2] == row[3], details


def national_sums_match(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    """National additive columns equal the sums over the department positions."""
    sums = ", ".join(f"sum({c})" for c in ADDITIVE_COLUMNS)
    dept = con.execute(f"SELECT {sums}, count(DISTINCT siren) FROM marts.positions").fetchone()
    nat = con.execute(f"SELECT {sums}, count(*) FROM marts.positions_nationales").fetchone()
    diffs = {c: f"{d} ≠ {n}" for c, d, n in zip((*ADDITIVE_COLUMNS, "nb_siren"), dept, nat, strict=True)
             if (d or 0) != (n or 0)}
    return not diffs, {"ecarts": diffs or "aucun"}
