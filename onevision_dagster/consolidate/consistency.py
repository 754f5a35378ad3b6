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
    ("dettes_suspendues", "core.lignes_dettes", "nature = 'ECHUE' AND suspendue"),
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
    """Every kept fine of the snapshot is in the attachment table, and every unattached one is listed (a natural
    person's fine is listed out of scope, by its place only)."""
    snap = latest_snapshot(con, departement)
    fines = snap.rows("amendes", "a") if snap is not None else "(SELECT 1 WHERE false) AS a"
    row = con.execute(
        f"""SELECT
             (SELECT count(*) FROM {fines}),
             (SELECT count(*) FROM core.rattachement_amendes WHERE departement = $d),
             (SELECT count(*) FROM core.rattachement_amendes WHERE departement = $d AND siren IS NULL
                AND motif <> 'PERSONNE_PHYSIQUE'),
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


def declarations_match_lines(con: duckdb.DuckDBPyConnection, departement: str) -> tuple[bool, dict]:
    """The claims to declare add up, per company, to what its position owes beyond the claims already filed:
    past due + to fall due + written off − `passif_declare`, for every company whose procedure (register of the
    snapshot) is open at the as-of date; and no other company has a claim to declare."""
    snap = latest_snapshot(con, departement)
    if snap is None:
        return True, {"ecarts": "aucun"}
    row = con.execute(
        f"""WITH p AS (
                SELECT p.siren, p.total_dettes + p.dettes_a_echoir + p.dettes_non_valeur - p.passif_declare AS du
                FROM marts.positions p JOIN {snap.register("e")} ON e.siren = p.siren
                WHERE p.departement = $d AND e.procedure_collective IS NOT NULL
                  AND e.date_jugement <= p.date_situation),
            d AS (SELECT siren, sum(montant) AS declare FROM marts.declarations WHERE departement = $d GROUP BY siren)
            SELECT count(*), coalesce(sum(coalesce(p.du, 0)), 0), coalesce(sum(coalesce(d.declare, 0)), 0)
            FROM p FULL JOIN d USING (siren)
            WHERE coalesce(p.du, 0) <> coalesce(d.declare, 0)""",
        {"d": departement},
    ).fetchone()
    return row[0] == 0, {"entreprises_en_ecart": int(row[0]), "du": str(row[1]), "a_declarer": str(row[2])}


def compensations_match_positions(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    """Each row of `marts.compensations` carries its department position's credits and offsettable taxes, and for
    a company present in one department only its amount is its position's `montant_compensable` (section 6)."""
    row = con.execute(
        """WITH n AS (SELECT siren, count(*) AS nb FROM marts.positions GROUP BY siren),
           c AS (SELECT c.*, p.siren AS p_siren, p.total_creances, p.dettes_compensables,
                        p.montant_compensable AS p_compensable, n.nb
                 FROM marts.compensations c
                 LEFT JOIN marts.positions p ON p.siren = c.siren AND p.departement = c.departement
                 LEFT JOIN n ON n.siren = c.siren)
           SELECT count(*) FILTER (WHERE p_siren IS NULL OR total_creances <> creances_departement
                                   OR dettes_compensables <> dettes_compensables_departement),
                  count(*) FILTER (WHERE nb = 1 AND montant_compensable <> p_compensable)
           FROM c""").fetchone()
    single = con.execute(
        """SELECT count(*) FROM marts.positions p
           WHERE p.montant_compensable > 0 AND NOT EXISTS (
               SELECT 1 FROM marts.compensations c WHERE c.siren = p.siren AND c.departement = p.departement)
             AND (SELECT count(*) FROM marts.positions q WHERE q.siren = p.siren) = 1""").fetchone()[0]
    details = {"lignes_sans_position": int(row[0]), "ecarts_mono_departement": int(row[1]),
               "compensables_absentes": int(single)}
    return row[0] == 0 and row[1] == 0 and single == 0, details
