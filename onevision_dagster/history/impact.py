"""The impact of the experiment (SOURCES.md section 9): per department and pair of snapshots, then per ISO week,
pilot departments against the others.

`compense_signale` and `rembourse_a_risque` are per company `min(movement total, offsettable at t0)`: an offset
the tool had flagged that was made, and money the State paid back to a company that, at t0, owed it due taxes it
could have offset — the figure the tool exists to bring down. The offsettable amount at t0 is what
`compensations` would give the company's position in this department at t0 (contract v3, section 9): its credits
here against its offsettable taxes in every department, each from that department's latest snapshot <= t0. So a
snapshot of another department that lands late changes this department's rows dated after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb

from onevision_dagster.consolidate.compensations import offsettable_sql
from onevision_dagster.consolidate.positions import national_register_sql
from onevision_dagster.consolidate.snapshot import checked_code
from onevision_dagster.consolidate.table_validation import validate_table
from onevision_dagster.consolidate.tables import MONEY, execute, transaction
from onevision_dagster.errors import OneVisionError
from onevision_dagster.history.movements import previous_date
from onevision_dagster.history.schemas import HISTORY_MODELS
from onevision_dagster.history.snapshots import build_snapshot, create_history_tables
from onevision_dagster.history.tables import IMPACT_MONEY_COLUMNS, OTHERS, PILOT


class HistoryCheckFailed(OneVisionError):
    """A check of the history failed before commit: the stored history is the last good one."""

# impact column: the movement types it sums (debts only for `sorties`)
IMPACT_SUMS = {
    "recouvre": "type = 'PAIEMENT'",
    "annule": "type = 'ANNULATION'",
    "non_valeur": "type = 'NON_VALEUR'",
    "sorties": f"type = 'SORTIE' AND source IN {('amendes', 'spl', 'impots_pro', 'rnf')}",
    "nouvelles_dettes": "type IN ('NOUVELLE', 'HAUSSE')",
    "compense": "type = 'IMPUTATION'",
    "rembourse": "type = 'REMBOURSEMENT'",
}


def _sum(cond: str) -> str:
    return f"CAST(coalesce(sum(montant) FILTER (WHERE {cond}), 0) AS {MONEY})"


def missing_snapshots_before(con: duckdb.DuckDBPyConnection, departement: str,
                             t0: dt.date) -> list[tuple[str, dt.date]]:
    """(department, date) of the other departments' latest snapshots dated <= `t0` that the history does not hold:
    the offsettable amount at `t0` reads them (contract v3, section 9)."""
    rows = con.execute(
        """WITH d AS (SELECT departement, max(date_extraction) AS t FROM quality.chargements
                      WHERE departement IS NOT NULL AND departement <> ? AND source <> 'entreprises'
                        AND fichier IS NOT NULL AND date_extraction <= ? GROUP BY departement)
           SELECT d.departement, d.t FROM d
           ANTI JOIN history.instantanes i ON i.departement = d.departement AND i.date_situation = d.t
           ORDER BY 1""", [departement, t0]).fetchall()
    return [(d, t) for d, t in rows]


def build_impact(con: duckdb.DuckDBPyConnection, departement: str, t1: dt.date) -> dt.date | None:
    """(Re)writes the impact row of the pair ending at `t1` from its movements and the positions at t0; the other
    departments' snapshots it reads are computed first when the history does not hold them yet (as the movements
    compute the earlier snapshot they need), so a partition can run in any order."""
    create_history_tables(con)
    t0 = previous_date(con, departement, t1)
    if t0 is not None:
        for other, when in missing_snapshots_before(con, departement, t0):
            build_snapshot(con, other, when)
    offsettable = "(SELECT NULL::VARCHAR AS siren, NULL::DECIMAL(18,2) AS montant_compensable WHERE false)"
    if t0 is not None:
        anchors = (f"(SELECT * FROM history.positions_historique WHERE departement = '{checked_code(departement)}' "
                   f"AND date_situation = DATE '{t0.isoformat()}')")
        snapshots = ("(SELECT departement, date_situation, siren, dettes_compensables, passif_declare "
                     "FROM history.positions_historique)")
        dates = "(SELECT departement, date_situation FROM history.instantanes)"
        registres = national_register_sql(con, f"SELECT DATE '{t0.isoformat()}'")
        offsettable = offsettable_sql(anchors, snapshots, dates, registres)
    with transaction(con):
        execute(con, "DELETE FROM history.impact WHERE departement = ? AND date_fin = ?", [departement, t1])
        execute(con, "DELETE FROM history.impact_calcule WHERE departement = ? AND date_fin = ?", [departement, t1])
        if t0 is None:
            return None
        execute(con, "INSERT INTO history.impact_calcule VALUES (?, ?, now())", [departement, t1])
        sums = ",\n".join(f"{_sum(cond)} AS {col}" for col, cond in IMPACT_SUMS.items())
        execute(
            con,
            f"""INSERT INTO history.impact
                WITH m AS (SELECT * FROM history.mouvements WHERE departement = $d AND date_debut = $t0
                           AND date_fin = $t1),
                p0 AS (SELECT siren, montant_compensable FROM {offsettable}),  -- across departments (section 9)
                par_siren AS (
                    SELECT m.siren,
                           coalesce(sum(m.montant) FILTER (WHERE m.type = 'IMPUTATION'), 0) AS impute,
                           coalesce(sum(m.montant) FILTER (WHERE m.type = 'REMBOURSEMENT'), 0) AS rembourse
                    FROM m GROUP BY m.siren
                ), signale AS (
                    SELECT CAST(coalesce(sum(least(s.impute, coalesce(p0.montant_compensable, 0))), 0) AS {MONEY})
                               AS compense_signale,
                           CAST(coalesce(sum(least(s.rembourse, coalesce(p0.montant_compensable, 0))), 0) AS {MONEY})
                               AS rembourse_a_risque
                    FROM par_siren s LEFT JOIN p0 ON p0.siren = s.siren
                ), totaux AS (SELECT {sums} FROM m)
                SELECT $d, $t0, $t1, t.recouvre, t.annule, t.non_valeur, t.sorties, t.nouvelles_dettes, t.compense,
                       s.compense_signale, t.rembourse, s.rembourse_a_risque,
                       (SELECT CAST(coalesce(sum(montant_compensable), 0) AS {MONEY}) FROM p0) AS compensable_debut
                FROM totaux t, signale s""",
            {"d": departement, "t0": t0, "t1": t1},
        )
        validate_table(con, "history.impact", departement, None, HISTORY_MODELS["history.impact"])
        passed, details = impact_matches_movements(con, departement, t1)
        if not passed:
            raise HistoryCheckFailed(f"Contrôle « impact = somme des mouvements » échoué pour {departement} "
                                     f"({t0} → {t1}), rien n'est publié : {details}")
    return t0


def stale_impacts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, dt.date, dt.date]]:
    """(department, t0, t1) of the impact rows that another department's snapshot dated <= t0, computed after
    them, may change (contract v3, section 9: the offsettable amount at t0 reads every department)."""
    create_history_tables(con)
    rows = con.execute(
        """SELECT i.departement, i.date_debut, i.date_fin FROM history.impact i
           JOIN history.impact_calcule c USING (departement, date_fin)
           WHERE EXISTS (SELECT 1 FROM history.instantanes s WHERE s.departement <> i.departement
                         AND s.date_situation <= i.date_debut AND s.calcule_le > c.calcule_le)
           ORDER BY 1, 3""").fetchall()
    return [(d, t0, t1) for d, t0, t1 in rows]


def refresh_stale_impacts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, dt.date, dt.date]]:
    """Recomputes the stale impact rows (`stale_impacts`) and returns them, so the caller can say which."""
    stale = stale_impacts(con)
    for departement, _, t1 in stale:
        build_impact(con, departement, t1)
    return stale


def impact_matches_movements(con: duckdb.DuckDBPyConnection, departement: str, t1: dt.date) -> tuple[bool, dict]:
    """The stored impact row equals the sums of the stored movements (recomputed here, independently)."""
    row = con.execute("SELECT * FROM history.impact WHERE departement = ? AND date_fin = ?",
                      [departement, t1]).fetchone()
    if row is None:
        return previous_date(con, departement, t1) is None, {"impact": "aucune paire"}
    stored = dict(zip(("departement", "date_debut", "date_fin", *IMPACT_MONEY_COLUMNS), row, strict=True))
    sums = ", ".join(f"coalesce(sum(montant) FILTER (WHERE {cond}), 0)" for cond in IMPACT_SUMS.values())
    moved = con.execute(f"SELECT {sums} FROM history.mouvements WHERE departement = ? AND date_fin = ?",
                        [departement, t1]).fetchone()
    diffs = {col: f"{stored[col]} ≠ {value}" for col, value in zip(IMPACT_SUMS, moved, strict=True)
             if stored[col] != value}
    return not diffs, {"ecarts": diffs or "aucun"}


def build_impact_national(con: duckdb.DuckDBPyConnection, pilotes: Sequence[str]) -> int:
    """Per ISO week of `date_fin`, the pilot departments against the others: impact sums, offset rate
    (`compense_signale / compensable_debut`, at most 100 %) and the stocks at the end of the pair."""
    create_history_tables(con)
    pilots = list(pilotes)
    sums = ",\n".join(f"CAST(sum(i.{c}) AS {MONEY}) AS {c}" for c in IMPACT_MONEY_COLUMNS)
    with transaction(con):
        execute(con, "DELETE FROM history.impact_national")
        execute(
            con,
            f"""INSERT INTO history.impact_national
                WITH i AS (
                    SELECT *, strftime(date_fin, '%G-W%V') AS semaine,
                           CASE WHEN list_contains($pilotes, departement) THEN '{PILOT}' ELSE '{OTHERS}' END AS groupe
                    FROM history.impact
                ), stocks AS (
                    SELECT p.departement, p.date_situation, sum(p.total_dettes) AS dettes,
                           sum(p.total_creances) AS creances, sum(p.montant_compensable) AS compensable
                    FROM history.positions_historique p GROUP BY ALL
                )
                SELECT i.semaine, i.groupe, CAST(count(DISTINCT i.departement) AS INTEGER),
                       {sums},
                       CAST(CASE WHEN sum(i.compensable_debut) > 0
                            THEN least(1, sum(i.compense_signale) / sum(i.compensable_debut)) END AS DECIMAL(7,4)),
                       CAST(coalesce(sum(s.dettes), 0) AS {MONEY}), CAST(coalesce(sum(s.creances), 0) AS {MONEY}),
                       CAST(coalesce(sum(s.compensable), 0) AS {MONEY})
                FROM i LEFT JOIN stocks s ON s.departement = i.departement AND s.date_situation = i.date_fin
                GROUP BY i.semaine, i.groupe""",
            {"pilotes": pilots},
        )
        # checked before it is committed (issue 23: validated after the commit, a failure left its rows published)
        return validate_table(con, "history.impact_national", None, None, HISTORY_MODELS["history.impact_national"])
