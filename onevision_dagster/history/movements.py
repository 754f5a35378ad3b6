"""Movements between two consecutive snapshots of a department (SOURCES.md section 9), and their reconciliation.

A line is compared with itself by its key (`source`, `cle`) in the two stored snapshots; a key with no kept row
at `t1` but a rejected one in the file `t1` reads gives no movement. Each rule of the contract's two tables is
one SELECT over the pairs of lines.

Reconciliation (the identity the check verifies, per department and pair, separately for debts and credits):

    stock(t1) − stock(t0) = Σ signed movements + Σ explained gaps

- debt stock = Σ over the positions of (total_dettes + dettes_a_echoir + dettes_non_valeur), i.e. the rests of
  the tracked debt lines; signed movements: + NOUVELLE + HAUSSE − PAIEMENT − ANNULATION − SORTIE. A fine
  written off between the two (NON_VALEUR) moves its rest from the debts to `dettes_non_valeur`, both inside the
  stock: it is not in the sum;
- credit stock = Σ (total_creances + creances_a_echoir), the certain credits; signed movements:
  + NOUVELLE_CREANCE − SORTIE − IMPUTATION − REMBOURSEMENT of credits certain at t0 (a credit that was never
  certain in a snapshot leaves no stock when it is paid or applied);
- explained gaps, per line, where the contract gives no movement: the key is rejected at t1 (its rest at t0
  leaves the stock: REJETEE_T1); the line stays in the file but its company has no position any more (out of
  scope, register row rejected, fine no longer attached: SUIVI_PERDU); a payment went down (PAIEMENT_REDUIT);
  the amounts changed while a fine was written off (MONTANT_MODIFIE_NON_VALEUR); a certain credit changed amount
  or left without being paid or applied (refused, back to potential: CREANCE_MODIFIEE).
Every other line must be explained by its movements exactly; the check lists the keys of those that are not.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from onevision_dagster.consolidate.snapshot import snapshot_at, snapshot_dates
from onevision_dagster.consolidate.table_validation import validate_table
from onevision_dagster.consolidate.tables import MONEY, execute, transaction
from onevision_dagster.errors import OneVisionError
from onevision_dagster.history.schemas import HISTORY_MODELS
from onevision_dagster.history.snapshots import create_history_tables


class ReconciliationFailed(OneVisionError):
    """The movements of a pair do not reconcile the stocks: they are not published."""

CANCELLED = ("ANNULEE", "ANNULE")
APPLIED = ("IMPUTEE", "IMPUTE")
REFUNDED = ("REMBOURSEE", "RESTITUE")


def previous_date(con: duckdb.DuckDBPyConnection, departement: str, when: dt.date) -> dt.date | None:
    """The department's snapshot date just before `when` (None for its first snapshot)."""
    earlier = [d for d in snapshot_dates(con, departement) if d < when]
    return earlier[-1] if earlier else None


def pairs_sql(con: duckdb.DuckDBPyConnection, departement: str, t0: dt.date, t1: dt.date) -> str:
    """SQL relation: every line key of either snapshot with both states, and whether t1 rejected its key."""
    snap1 = snapshot_at(con, departement, t1)
    files1 = " UNION ALL ".join(f"SELECT '{s}' AS source, DATE '{d.isoformat()}' AS d" for s, d in snap1.files.items())
    rejected = (f"SELECT DISTINCT r.source, r.cle FROM quality.rejets r JOIN ({files1}) f "
                f"ON f.source = r.source AND f.d = r.date_extraction "
                f"WHERE r.departement = '{departement}' AND r.cle IS NOT NULL") if files1 else (
        "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS cle WHERE false")
    return f"""(
        SELECT coalesce(a.sens, b.sens) AS sens, coalesce(a.source, b.source) AS source,
               coalesce(a.cle, b.cle) AS cle,
               a.cle IS NOT NULL AS in0, b.cle IS NOT NULL AS in1,
               coalesce(a.suivie, false) AS suivi0, coalesce(b.suivie, false) AS suivi1,
               a.siren AS siren0, b.siren AS siren1, coalesce(b.positionnable, false) AS positionnable1,
               a.statut AS s0, b.statut AS s1, a.nature AS n0, b.nature AS n1,
               coalesce(a.montant, 0) AS m0, coalesce(b.montant, 0) AS m1,
               a.montant_du AS d0, b.montant_du AS d1, a.montant_paye AS p0, b.montant_paye AS p1,
               b.cle IS NULL AND rj.cle IS NOT NULL AS rejete1
        FROM (SELECT * FROM history.lignes WHERE departement = '{departement}'
              AND date_situation = DATE '{t0.isoformat()}') a
        FULL OUTER JOIN (SELECT * FROM history.lignes WHERE departement = '{departement}'
              AND date_situation = DATE '{t1.isoformat()}') b
          ON a.sens = b.sens AND a.source = b.source AND a.cle = b.cle
        LEFT JOIN ({rejected}) rj ON rj.source = coalesce(a.source, b.source) AND rj.cle = coalesce(a.cle, b.cle)
    )"""


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def movement_selects() -> list[str]:
    """One SELECT per rule of section 9 over the relation `p` of `pairs_sql`: (siren, source, cle, type,
    montant). Rows with a zero amount are filtered by the caller."""
    otherwise = (f"p.sens = 'D' AND p.suivi0 AND p.in1 AND p.s1 NOT IN {_in(CANCELLED)} "
                 "AND NOT (p.source = 'amendes' AND p.s0 = 'EN_RECOUVREMENT' AND p.s1 = 'ADMISE_NON_VALEUR')")
    credit_amount = "CASE WHEN p.suivi0 THEN p.m0 ELSE p.d1 END"
    credit_siren = "CASE WHEN p.suivi0 THEN p.siren0 WHEN p.positionnable1 THEN p.siren1 END"
    return [
        # debts tracked at t0
        "SELECT p.siren0, p.source, p.cle, 'SORTIE', p.m0 FROM p "
        "WHERE p.sens = 'D' AND p.suivi0 AND NOT p.in1 AND NOT p.rejete1",
        f"SELECT p.siren0, p.source, p.cle, 'ANNULATION', p.m0 FROM p "
        f"WHERE p.sens = 'D' AND p.suivi0 AND p.in1 AND p.s1 IN {_in(CANCELLED)}",
        "SELECT p.siren0, p.source, p.cle, 'NON_VALEUR', p.m0 FROM p WHERE p.sens = 'D' AND p.suivi0 AND p.in1 "
        "AND p.source = 'amendes' AND p.s0 = 'EN_RECOUVREMENT' AND p.s1 = 'ADMISE_NON_VALEUR'",
        f"SELECT p.siren0, p.source, p.cle, 'PAIEMENT', p.p1 - p.p0 FROM p WHERE {otherwise} AND p.p1 > p.p0",
        f"SELECT p.siren0, p.source, p.cle, 'ANNULATION', p.d0 - p.d1 FROM p WHERE {otherwise} AND p.d1 < p.d0",
        f"SELECT p.siren0, p.source, p.cle, 'HAUSSE', p.d1 - p.d0 FROM p WHERE {otherwise} AND p.d1 > p.d0",
        # credits
        "SELECT p.siren0, p.source, p.cle, 'SORTIE', p.m0 FROM p "
        "WHERE p.sens = 'C' AND p.suivi0 AND NOT p.in1 AND NOT p.rejete1",
        f"SELECT {credit_siren}, p.source, p.cle, 'IMPUTATION', {credit_amount} FROM p WHERE p.sens = 'C' "
        f"AND p.s1 IN {_in(APPLIED)} AND (NOT p.in0 OR p.s0 NOT IN {_in(APPLIED)})",
        f"SELECT {credit_siren}, p.source, p.cle, 'REMBOURSEMENT', {credit_amount} FROM p WHERE p.sens = 'C' "
        f"AND p.s1 IN {_in(REFUNDED)} AND (NOT p.in0 OR p.s0 NOT IN {_in(REFUNDED)})",
        # lines tracked at t1 only
        "SELECT p.siren1, p.source, p.cle, 'NOUVELLE', p.m1 FROM p WHERE p.sens = 'D' AND p.suivi1 AND NOT p.suivi0",
        "SELECT p.siren1, p.source, p.cle, 'NOUVELLE_CREANCE', p.m1 FROM p "
        "WHERE p.sens = 'C' AND p.suivi1 AND NOT p.suivi0",
    ]


def build_movements(con: duckdb.DuckDBPyConnection, departement: str, t1: dt.date) -> dt.date | None:
    """(Re)writes the movements from the department's previous snapshot to `t1`; returns t0 (None for the first
    snapshot, which has no movement). Both snapshots must be in the history."""
    create_history_tables(con)
    t0 = previous_date(con, departement, t1)
    with transaction(con):
        execute(con, "DELETE FROM history.mouvements WHERE departement = ? AND date_fin = ?", [departement, t1])
        if t0 is None:
            return None
        body = " UNION ALL ".join(movement_selects())
        execute(
            con,
            f"""INSERT INTO history.mouvements
                WITH p AS {pairs_sql(con, departement, t0, t1)},
                m (siren, source, cle, type, montant) AS ({body})
                SELECT '{departement}', DATE '{t0.isoformat()}', DATE '{t1.isoformat()}', siren, source, cle, type,
                       CAST(montant AS {MONEY})
                FROM m WHERE montant <> 0 AND siren IS NOT NULL""",
        )
        # checked before they are committed: a failed check keeps the last good movements
        validate_table(con, "history.mouvements", departement, None, HISTORY_MODELS["history.mouvements"])
        passed, details = reconciliation(con, departement, t1)
        if not passed:
            raise ReconciliationFailed(f"Les mouvements de {departement} ({t0} → {t1}) ne réconcilient pas les "
                                       f"stocks, rien n'est publié : " + " ; ".join(f"{k} : {v}" for k, v in
                                                                                   details.items()))
    return t0


def reconciliation(con: duckdb.DuckDBPyConnection, departement: str, t1: dt.date) -> tuple[bool, dict]:
    """Checks the identity of the module docstring for the pair ending at `t1`: (passed, details). Details carry
    sums, counts and at most 20 keys of unexplained lines (identifiers only)."""
    t0 = previous_date(con, departement, t1)
    if t0 is None:
        return True, {"paire": "premier instantané : aucun mouvement"}
    stocks = {}
    for when in (t0, t1):
        stocks[when] = con.execute(
            "SELECT coalesce(sum(total_dettes + dettes_a_echoir + dettes_non_valeur), 0), "
            "coalesce(sum(total_creances + creances_a_echoir), 0) FROM history.positions_historique "
            "WHERE departement = ? AND date_situation = ?", [departement, when]).fetchone()
    signed = """CASE WHEN m.type IN ('NOUVELLE', 'HAUSSE', 'NOUVELLE_CREANCE') THEN m.montant
                     WHEN m.type IN ('PAIEMENT', 'ANNULATION', 'SORTIE') THEN -m.montant
                     WHEN m.type IN ('IMPUTATION', 'REMBOURSEMENT') AND p.suivi0 THEN -m.montant
                     ELSE 0 END"""
    rows = con.execute(
        f"""WITH p AS {pairs_sql(con, departement, t0, t1)},
            m AS (SELECT source, cle, type, montant FROM history.mouvements
                  WHERE departement = $d AND date_debut = $t0 AND date_fin = $t1),
            l AS (
                SELECT p.sens, p.source, p.cle,
                       (CASE WHEN p.suivi1 THEN p.m1 ELSE 0 END) - (CASE WHEN p.suivi0 THEN p.m0 ELSE 0 END) AS delta,
                       coalesce(sum({signed}), 0) AS mouvements,
                       CASE WHEN p.suivi0 AND p.rejete1 THEN 'REJETEE_T1'
                            WHEN p.suivi0 AND p.in1 AND NOT p.suivi1 AND p.n1 <> 'AUCUNE' THEN 'SUIVI_PERDU'
                            WHEN p.sens = 'D' AND p.suivi0 AND p.in1 AND p.p1 < p.p0 THEN 'PAIEMENT_REDUIT'
                            WHEN p.sens = 'D' AND p.suivi0 AND p.s0 = 'EN_RECOUVREMENT'
                                 AND p.s1 = 'ADMISE_NON_VALEUR' THEN 'MONTANT_MODIFIE_NON_VALEUR'
                            WHEN p.sens = 'C' AND p.suivi0 AND p.in1
                                 AND p.s1 NOT IN {_in(APPLIED + REFUNDED)} THEN 'CREANCE_MODIFIEE'
                       END AS ecart
                FROM p LEFT JOIN m ON m.source = p.source AND m.cle = p.cle
                GROUP BY ALL
            )
            SELECT sens, sum(delta), sum(mouvements),
                   sum(delta - mouvements) FILTER (WHERE ecart IS NOT NULL),
                   count(*) FILTER (WHERE ecart IS NULL AND delta <> mouvements),
                   list(source || ':' || cle ORDER BY source, cle) FILTER (WHERE ecart IS NULL AND delta <> mouvements),
                   list(DISTINCT ecart) FILTER (WHERE ecart IS NOT NULL AND delta <> mouvements)
            FROM l GROUP BY sens""",
        {"d": departement, "t0": t0, "t1": t1},
    ).fetchall()
    by_side = {r[0]: r[1:] for r in rows}
    details: dict[str, object] = {"paire": f"{t0.isoformat()} → {t1.isoformat()}"}
    passed = True
    for sens, label, index in (("D", "dettes", 0), ("C", "creances", 1)):
        lines_delta, moved, explained, unexplained, keys, kinds = by_side.get(sens, (0, 0, 0, 0, [], []))
        stock_delta = stocks[t1][index] - stocks[t0][index]
        explained = explained or 0
        ok = stock_delta == lines_delta == moved + explained and unexplained == 0
        passed = passed and ok
        details[label] = (f"stock {stocks[t0][index]} → {stocks[t1][index]} (écart {stock_delta}) ; "
                          f"mouvements {moved} ; écarts expliqués {explained} ({', '.join(kinds or []) or 'aucun'})")
        if unexplained:
            details[f"{label}_lignes_non_expliquees"] = f"{unexplained} : " + ", ".join((keys or [])[:20])
    return passed, details
