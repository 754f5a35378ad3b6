"""What the experiment's dashboard shows (SOURCES.md section 9), read from the history tables.

- per ISO week of `date_fin`, pilots against the others: `history.impact_national` as computed (offset rate
  `compense_signale / compensable_debut` at most 100 %, the impact sums, the stocks at the end of the pairs);
- per pilot department, each snapshot's stocks (`history.positions_historique`) beside the impact of the pair
  ending there (`history.impact`): its trend over the weeks;
- per department, the companies behind `rembourse_a_risque` in its latest period (`refunds_at_risk`);
- the verdict (`experiment.evaluation`, issue 19), when the asset `experiment/evaluation` computed it.

Everything is aggregated in DuckDB; pandas only sees a few rows per week and department. Amounts stay `Decimal`.
A warehouse without history gives empty frames and the list of the missing tables, never an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from onevision_dagster.consolidate.tables import MONEY
from onevision_dagster.experiment.evaluation import read_evaluation
from onevision_dagster.history.tables import IMPACT_MONEY_COLUMNS, IMPACT_NATIONAL_COLUMNS
from onevision_dagster.ingest.origin import synthetic_data
from onevision_dagster.reports.frames import history_tables_missing, query_frame
from onevision_dagster.reports.refunds_at_risk import (
    AT_RISK_COLUMNS,
    TOTAL_COLUMNS,
    refunds_at_risk,
    refunds_at_risk_totals,
)

HISTORY_TABLES = ("history.impact_national", "history.impact", "history.mouvements",
                  "history.positions_historique", "history.instantanes")
AT_RISK_SHOWN = 100
"""Companies at risk listed per department on the page (the CSV beside it holds them all)."""

STOCK_COLUMNS = ("stock_dettes", "stock_creances", "stock_compensable")
TREND_COLUMNS = ("departement", "date_situation", "date_debut", "nb_entreprises", *STOCK_COLUMNS,
                 *IMPACT_MONEY_COLUMNS, "taux_compensation")


@dataclass
class ExperimentData:
    pilotes: tuple[str, ...]
    semaines: pd.DataFrame  # IMPACT_NATIONAL_COLUMNS, by week then group
    evolution: pd.DataFrame  # TREND_COLUMNS, pilot departments only, by department then date
    a_risque: pd.DataFrame  # AT_RISK_COLUMNS, the first AT_RISK_SHOWN per department
    a_risque_totaux: pd.DataFrame  # TOTAL_COLUMNS, every department with a pair
    tables_absentes: list[str] = field(default_factory=list)
    evaluation: pd.DataFrame | None = None  # experiment.evaluation (EVALUATION_COLUMNS), None: never computed
    synthetique: bool = False  # built from a synthetic landing zone (`onevision generate`)
    fraicheur: dict[str, dt.date] = field(default_factory=dict)  # each department's latest snapshot in the history

    @property
    def debut(self) -> dt.date | None:
        """The start the verdict used (the first snapshot date when ONEVISION_DEBUT_PILOTE is not set)."""
        if self.evaluation is None or self.evaluation.empty:
            return None
        main = self.evaluation[~self.evaluation["placebo"].astype(bool)]
        return None if main.empty or main["debut"].isna().all() else main["debut"].dropna().iloc[0]

    @property
    def derniere_semaine(self) -> str | None:
        return None if self.semaines.empty else str(self.semaines["semaine"].max())


def _trend_sql() -> str:
    impact = ", ".join(f"i.{c}" for c in IMPACT_MONEY_COLUMNS)  # NULL at a first snapshot: no pair
    return f"""
        WITH s AS (
            SELECT departement, date_situation, count(*) AS nb_entreprises,
                   sum(total_dettes) AS dettes, sum(total_creances) AS creances,
                   sum(montant_compensable) AS compensable
            FROM history.positions_historique WHERE list_contains($pilotes::VARCHAR[], departement)
            GROUP BY departement, date_situation
        )
        SELECT n.departement, n.date_situation, i.date_debut, CAST(coalesce(s.nb_entreprises, 0) AS INTEGER),
               coalesce(s.dettes, 0)::{MONEY}, coalesce(s.creances, 0)::{MONEY}, coalesce(s.compensable, 0)::{MONEY},
               {impact},
               CAST(CASE WHEN i.compensable_debut > 0
                    THEN least(1, i.compense_signale / i.compensable_debut) END AS DECIMAL(7,4))
        FROM history.instantanes n
        LEFT JOIN s ON s.departement = n.departement AND s.date_situation = n.date_situation
        LEFT JOIN history.impact i ON i.departement = n.departement AND i.date_fin = n.date_situation
        WHERE list_contains($pilotes::VARCHAR[], n.departement)
        ORDER BY n.departement, n.date_situation"""


def load_experiment_data(con: duckdb.DuckDBPyConnection, pilotes: Sequence[str],
                         shown: int = AT_RISK_SHOWN) -> ExperimentData:
    pilots = tuple(pilotes)
    missing = history_tables_missing(con, HISTORY_TABLES)
    if missing:
        return ExperimentData(pilots, pd.DataFrame(columns=list(IMPACT_NATIONAL_COLUMNS)),
                              pd.DataFrame(columns=list(TREND_COLUMNS)), pd.DataFrame(columns=list(AT_RISK_COLUMNS)),
                              pd.DataFrame(columns=list(TOTAL_COLUMNS)), missing, synthetique=synthetic_data(con))
    semaines = query_frame(con, f"SELECT {', '.join(IMPACT_NATIONAL_COLUMNS)} FROM history.impact_national "
                                "ORDER BY semaine, groupe")
    evolution = query_frame(con, _trend_sql(), {"pilotes": list(pilots)})
    evolution.columns = list(TREND_COLUMNS)
    latest = dict(con.execute("SELECT departement, max(date_situation) FROM history.positions_historique "
                              "GROUP BY departement").fetchall())
    return ExperimentData(pilots, semaines, evolution, refunds_at_risk(con, limit_per_departement=shown),
                          refunds_at_risk_totals(con), evaluation=read_evaluation(con),
                          synthetique=synthetic_data(con), fraicheur=latest)
