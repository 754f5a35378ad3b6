"""What a department's credits can offset against the company's taxes in every department (contract v3, sections
6 and 9): L. 257 B LPF looks at the taxpayer, not at the office.

One SQL statement serves the current table (`marts.compensations`, anchored on each department's latest
positions) and the history's impact (anchored on a department's positions at `t0`): for each anchor position with
certain due credits, its own `dettes_compensables` plus the company's `dettes_compensables` in every other
department, each taken from that department's latest snapshot dated <= the anchor's date; blocked (0) when the
register dated <= that date shows a procedure open then, or `passif_declare` summed over the same snapshots is > 0.
"""

from __future__ import annotations

import duckdb

from onevision_dagster.consolidate.positions import national_register_sql
from onevision_dagster.consolidate.tables import MONEY, execute, tables


def offsettable_sql(anchors: str, snapshots: str, snapshot_dates: str, registres: str) -> str:
    """SQL relation: one row per anchor position with `total_creances` > 0 —
    `siren, denomination, departement, date_situation, creances_departement, dettes_compensables_departement,
    dettes_compensables_autres, montant_compensable, departements_dettes` (0 and '' when blocked or nothing).

    `anchors`: positions (siren, denomination, departement, date_situation, total_creances, dettes_compensables,
    passif_declare); `snapshots`: every known snapshot's positions (departement, date_situation, siren,
    dettes_compensables, passif_declare); `snapshot_dates`: (departement, date_situation) of every known snapshot;
    `registres`: (date_situation, registre), the register version of each anchor date."""
    m = MONEY
    return f"""(
        WITH a AS (SELECT siren, denomination, departement, date_situation, total_creances, dettes_compensables,
                          passif_declare FROM {anchors} WHERE total_creances > 0),
        ad AS (SELECT DISTINCT departement, date_situation FROM a),
        pick AS (  -- each other department's latest snapshot dated <= the anchor's date
            SELECT ad.departement AS d0, ad.date_situation AS t0, sd.departement AS d, max(sd.date_situation) AS t
            FROM ad JOIN {snapshot_dates} sd ON sd.date_situation <= ad.date_situation
                                             AND sd.departement <> ad.departement
            GROUP BY ALL),
        s AS (  -- the other departments' rows of the anchors' companies only (joined on the SIREN first)
            SELECT a.siren, a.departement AS d0, a.date_situation AS t0, s.departement, s.date_situation,
                   s.dettes_compensables, s.passif_declare
            FROM {snapshots} s JOIN a ON a.siren = s.siren
            WHERE s.departement <> a.departement AND s.date_situation <= a.date_situation
              AND (s.dettes_compensables > 0 OR s.passif_declare > 0)),
        o AS (
            SELECT s.* FROM s SEMI JOIN pick p
                ON p.d0 = s.d0 AND p.t0 = s.t0 AND p.d = s.departement AND p.t = s.date_situation),
        oa AS (
            SELECT siren, d0, t0, sum(dettes_compensables) AS autres, sum(passif_declare) AS passif,
                   list(departement) FILTER (WHERE dettes_compensables > 0) AS depts
            FROM o GROUP BY ALL),
        proc AS (  -- the register dated <= the anchor's date shows a procedure open at that date
            SELECT v.date_situation, e.siren
            FROM {registres} v JOIN raw.entreprises e ON e.date_extraction = v.registre
            SEMI JOIN a ON a.siren = e.siren
            WHERE e.procedure_collective IS NOT NULL AND e.date_jugement <= v.date_situation),
        r AS (
            SELECT a.*, CAST(coalesce(oa.autres, 0) AS {m}) AS autres,
                   proc.siren IS NOT NULL OR a.passif_declare + coalesce(oa.passif, 0) > 0 AS bloque,
                   list_sort(coalesce(oa.depts, []::VARCHAR[])
                             || CASE WHEN a.dettes_compensables > 0 THEN [a.departement] ELSE []::VARCHAR[] END)
                       AS depts
            FROM a LEFT JOIN oa ON oa.siren = a.siren AND oa.d0 = a.departement AND oa.t0 = a.date_situation
                   LEFT JOIN proc ON proc.siren = a.siren AND proc.date_situation = a.date_situation)
        SELECT siren, denomination, departement, date_situation, total_creances AS creances_departement,
               dettes_compensables AS dettes_compensables_departement, autres AS dettes_compensables_autres,
               CAST(CASE WHEN bloque THEN 0 ELSE least(total_creances, dettes_compensables + autres) END AS {m})
                   AS montant_compensable,
               array_to_string(depts, ',') AS departements_dettes
        FROM r)"""


def known_snapshots(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """(positions, dates) SQL relations of every snapshot the warehouse knows: each department's current positions
    and, when the history is built, every stored snapshot."""
    present = tables(con)
    cols = "departement, date_situation, siren, dettes_compensables, passif_declare"
    parts = [f"SELECT {cols} FROM marts.positions"]
    dates = ["SELECT DISTINCT departement, date_situation FROM marts.positions"]
    if "history.positions_historique" in present:
        parts.append(f"SELECT {cols} FROM history.positions_historique")
        dates.append("SELECT departement, date_situation FROM history.instantanes")
    return (f"(SELECT DISTINCT * FROM ({' UNION ALL '.join(parts)}))",
            f"(SELECT DISTINCT * FROM ({' UNION ALL '.join(dates)}))")


def insert_compensations(con: duckdb.DuckDBPyConnection, target: str) -> None:
    """`marts.compensations` (section 6): every department's current credits against the company's taxes
    everywhere, one row per SIREN and department when the offsettable amount is > 0."""
    snapshots, dates = known_snapshots(con)
    registres = national_register_sql(con, "SELECT DISTINCT date_situation FROM marts.positions")
    relation = offsettable_sql("marts.positions", snapshots, dates, registres)
    execute(con, f"INSERT INTO {target} SELECT * FROM {relation} WHERE montant_compensable > 0")
