"""Consistency rules between layers, as SQL (SOURCES.md section 6), used by the asset checks.

Each function returns (passed, details) so the check can show the agent what
is wrong; none of them modifies anything.
"""

from __future__ import annotations

import duckdb

from onevision_dagster.consolidate.consolidation import POSITION_MONEY_COLUMNS

# montant_compensable is recomputed nationally from the summed figures, not summed (section 6)
ADDITIVE_COLUMNS = tuple(c for c in POSITION_MONEY_COLUMNS if c != "montant_compensable")


def positions_match_lines(con: duckdb.DuckDBPyConnection, departement: str) -> tuple[bool, dict]:
    """Positions' debt and credit totals equal the sums of the open unified lines of in-scope companies."""
    row = con.execute(
        """
        WITH p AS (SELECT siren FROM marts.positions WHERE departement = $d)
        SELECT
          (SELECT coalesce(sum(total_dettes), 0) FROM marts.positions WHERE departement = $d),
          (SELECT coalesce(sum(montant), 0) FROM core.lignes_dettes
            WHERE departement = $d AND ouverte AND siren IN (SELECT siren FROM p)),
          (SELECT coalesce(sum(total_creances), 0) FROM marts.positions WHERE departement = $d),
          (SELECT coalesce(sum(montant), 0) FROM core.lignes_creances
            WHERE departement = $d AND ouverte AND nature = 'CERTAINE' AND siren IN (SELECT siren FROM p)),
          (SELECT coalesce(sum(creances_potentielles), 0) FROM marts.positions WHERE departement = $d),
          (SELECT coalesce(sum(montant), 0) FROM core.lignes_creances
            WHERE departement = $d AND ouverte AND nature = 'POTENTIELLE' AND siren IN (SELECT siren FROM p))
        """,
        {"d": departement},
    ).fetchone()
    details = {"dettes_positions": str(row[0]), "dettes_lignes": str(row[1]),
               "creances_positions": str(row[2]), "creances_lignes": str(row[3]),
               "potentielles_positions": str(row[4]), "potentielles_lignes": str(row[5])}
    return row[0] == row[1] and row[2] == row[3] and row[4] == row[5], details


def out_of_scope_in_positions(con: duckdb.DuckDBPyConnection, departement: str | None) -> tuple[bool, dict]:
    """No position for a SIREN unknown to the register or outside the private-law scope."""
    table, where = ("marts.positions", "p.departement = $d") if departement else ("marts.positions_nationales",
                                                                               "TRUE")
    params = {"d": departement} if departement else {}
    bad = con.execute(
        f"""SELECT count(*) FROM {table} p LEFT JOIN raw.entreprises e USING (siren)
            WHERE {where} AND (e.siren IS NULL OR left(e.categorie_juridique, 1) NOT IN ('5', '6', '8', '9'))""",
        params,
    ).fetchone()[0]
    return bad == 0, {"siren_hors_perimetre": int(bad)}


def fines_accounted_for(con: duckdb.DuckDBPyConnection, departement: str) -> tuple[bool, dict]:
    """Every kept fine is in the attachment table, and every unattached one is listed for the agents."""
    row = con.execute(
        """SELECT
             (SELECT count(*) FROM raw.amendes WHERE departement = $d),
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
