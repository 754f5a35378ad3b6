"""The companies behind `rembourse_a_risque` (SOURCES.md section 9), in each department's latest period.

The same definition as `history.impact`: per company, min(its `REMBOURSEMENT` total over the pair, its
offsettable amount at `date_debut` — what `compensations` gives its position there: its credits in the department
against its offsettable taxes in every department, contract v3 section 9), so the amounts of a department's list
add up to its impact row's
`rembourse_a_risque` (tested). A company refunded while it had nothing offsettable at t0 is not at risk and is
not listed. The latest period of a department is its latest impact row: a department whose last pair has no
movement still shows, with an empty list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from onevision_dagster.consolidate.compensations import offsettable_sql
from onevision_dagster.consolidate.positions import national_register_sql
from onevision_dagster.consolidate.tables import MONEY
from onevision_dagster.reports.atomic_files import written_beside
from onevision_dagster.reports.exports import write_agent_csv
from onevision_dagster.reports.frames import query_frame
from onevision_dagster.reports.html_page import check_departement

AT_RISK_COLUMNS = ("departement", "date_debut", "date_fin", "siren", "denomination", "rembourse",
                   "compensable_debut", "a_risque")
AT_RISK_MONEY = ("rembourse", "compensable_debut", "a_risque")
TOTAL_COLUMNS = ("departement", "date_debut", "date_fin", "nb_entreprises", "a_risque", "rembourse_a_risque")


def _latest_pairs(departement: str | None) -> str:
    where = "" if departement is None else f"WHERE departement = '{check_departement(departement)}'"
    return f"""(SELECT departement, date_debut, date_fin, rembourse_a_risque FROM history.impact {where}
               QUALIFY row_number() OVER (PARTITION BY departement ORDER BY date_fin DESC) = 1)"""


def _companies_sql(con: duckdb.DuckDBPyConnection, departement: str | None) -> str:
    pairs = _latest_pairs(departement)
    anchors = f"""(SELECT h.* FROM history.positions_historique h
                   JOIN {pairs} p ON p.departement = h.departement AND p.date_debut = h.date_situation)"""
    snapshots = ("(SELECT departement, date_situation, siren, dettes_compensables, passif_declare "
                 "FROM history.positions_historique)")
    dates = "(SELECT departement, date_situation FROM history.instantanes)"
    offsettable = offsettable_sql(anchors, snapshots, dates,
                                  national_register_sql(con, f"SELECT DISTINCT date_debut FROM {pairs}"))
    return f"""
        WITH paire AS {pairs},
        remb AS (
            SELECT m.departement, m.siren, sum(m.montant) AS rembourse
            FROM history.mouvements m
            JOIN paire p ON p.departement = m.departement AND p.date_debut = m.date_debut
                        AND p.date_fin = m.date_fin
            WHERE m.type = 'REMBOURSEMENT'
            GROUP BY m.departement, m.siren
        )
        SELECT r.departement, p.date_debut, p.date_fin, r.siren, o.denomination,
               CAST(r.rembourse AS {MONEY}) AS rembourse,
               o.montant_compensable AS compensable_debut,
               CAST(least(r.rembourse, o.montant_compensable) AS {MONEY}) AS a_risque
        FROM remb r
        JOIN paire p ON p.departement = r.departement
        JOIN {offsettable} o ON o.departement = r.departement AND o.date_situation = p.date_debut AND o.siren = r.siren
        WHERE o.montant_compensable > 0"""


def refunds_at_risk(con: duckdb.DuckDBPyConnection, departement: str | None = None,
                    limit_per_departement: int | None = None) -> pd.DataFrame:
    """The companies at risk, largest first within each department (`limit_per_departement`: the first ones)."""
    params: dict[str, Any] = {}
    qualify = ""
    if limit_per_departement is not None:
        qualify = ("QUALIFY row_number() OVER (PARTITION BY departement ORDER BY a_risque DESC, siren) <= $n")
        params["n"] = int(limit_per_departement)
    sql = (f"SELECT {', '.join(AT_RISK_COLUMNS)} FROM ({_companies_sql(con, departement)}) {qualify} "
           "ORDER BY departement, a_risque DESC, siren")
    return query_frame(con, sql, params)


def refunds_at_risk_totals(con: duckdb.DuckDBPyConnection, departement: str | None = None) -> pd.DataFrame:
    """Per department, its latest period: companies at risk, their sum, and the impact row's figure (equal)."""
    sql = f"""
        WITH l AS ({_companies_sql(con, departement)}),
        paire AS {_latest_pairs(departement)}
        SELECT p.departement, p.date_debut, p.date_fin, CAST(count(l.siren) AS INTEGER) AS nb_entreprises,
               CAST(coalesce(sum(l.a_risque), 0) AS {MONEY}) AS a_risque, p.rembourse_a_risque
        FROM paire p LEFT JOIN l ON l.departement = p.departement
        GROUP BY p.departement, p.date_debut, p.date_fin, p.rembourse_a_risque
        ORDER BY p.departement"""
    return query_frame(con, sql)


AT_RISK_CSV = "remboursements_a_risque.csv"


def export_refunds_at_risk(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Every company at risk of every department in the agents' CSV format, written beside then renamed (the
    report server never serves half a file). Returns the number of companies."""
    frame = refunds_at_risk(con)
    with written_beside(path) as tmp:
        return write_agent_csv(frame, tmp, date_columns=("date_debut", "date_fin"), money_columns=AT_RISK_MONEY,
                               columns=AT_RISK_COLUMNS)
