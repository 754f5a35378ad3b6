"""The experiment's indicators per department and pair of snapshots (issue 19 point 2), read from the history.

Each indicator is a rate, a numerator over a denominator, so departments of any size compare; pooled over
departments or pairs, numerators and denominators are summed (each department weighted by its denominator):

- `taux_compensation`: `compense_signale / compensable_debut` (history.impact);
- `part_rembourse_a_risque`: `rembourse_a_risque / compensable_debut` (history.impact) — lower is better;
- `taux_recouvrement_<source>` for each debt source: its `PAIEMENT` movements of the pair (history.mouvements)
  over its past-due stock at `t0` (`dettes_<source>` of history.positions_historique at `date_debut`).

Sums are exact DECIMAL in DuckDB; the frame carries them as `Decimal`.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from onevision_dagster.consolidate.tables import MONEY

DEBT_SOURCES = ("amendes", "spl", "impots_pro", "rnf")
HISTORY_TABLES = ("history.impact", "history.mouvements", "history.positions_historique", "history.instantanes")
PANEL_COLUMNS = ("indicateur", "departement", "date_debut", "date_fin", "numerateur", "denominateur")


@dataclass(frozen=True)
class Indicator:
    code: str
    libelle: str  # French, for the dashboard
    hausse_favorable: bool  # True when a higher rate is what the tool aims at
    phrase_plus: str  # "Les pilotes {phrase} {n} points de plus/moins {complement}"
    complement: str


SOURCE_LABELS = {"amendes": "amendes", "spl": "produits locaux", "impots_pro": "impôts professionnels",
                 "rnf": "recettes non fiscales"}

INDICATORS: dict[str, Indicator] = {
    "taux_compensation": Indicator(
        "taux_compensation", "Taux de compensation (compensations signalées faites / compensable au début)", True,
        "compensent", "de ce que l'outil signale"),
    "part_rembourse_a_risque": Indicator(
        "part_rembourse_a_risque", "Part remboursée à risque (remboursé à risque / compensable au début)", False,
        "laissent rembourser", "de ce qui était compensable"),
    **{f"taux_recouvrement_{s}": Indicator(
        f"taux_recouvrement_{s}", f"Taux de recouvrement des {label} (paiements / dettes échues au début)", True,
        "recouvrent", f"de leurs {label} échues") for s, label in SOURCE_LABELS.items()},
}
PRINCIPAL = "taux_compensation"
"""The indicator of the dashboard's verdict: what the tool exists to raise."""


def _panel_sql() -> str:
    impact = " UNION ALL ".join(
        f"SELECT '{code}', departement, date_debut, date_fin, CAST({num} AS {MONEY}), "
        f"CAST(compensable_debut AS {MONEY}) FROM history.impact"
        for code, num in (("taux_compensation", "compense_signale"), ("part_rembourse_a_risque", "rembourse_a_risque")))
    stocks = ", ".join(f"CAST(sum(dettes_{s}) AS {MONEY}) AS {s}" for s in DEBT_SOURCES)
    recovery = " UNION ALL ".join(
        f"""SELECT 'taux_recouvrement_{s}', i.departement, i.date_debut, i.date_fin,
                   CAST(coalesce(p.paye, 0) AS {MONEY}), CAST(coalesce(st.{s}, 0) AS {MONEY})
            FROM history.impact i
            LEFT JOIN paid p ON p.departement = i.departement AND p.date_fin = i.date_fin AND p.source = '{s}'
            LEFT JOIN stock st ON st.departement = i.departement AND st.date_situation = i.date_debut"""
        for s in DEBT_SOURCES)
    return f"""
        WITH paid AS (
            SELECT departement, date_fin, source, sum(montant) AS paye FROM history.mouvements
            WHERE type = 'PAIEMENT' GROUP BY ALL
        ), stock AS (
            SELECT departement, date_situation, {stocks} FROM history.positions_historique GROUP BY ALL
        )
        SELECT * FROM ({impact} UNION ALL {recovery}) ORDER BY 1, 2, 4"""


def load_panel(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per indicator, department and pair (PANEL_COLUMNS)."""
    rows = con.execute(_panel_sql()).fetchall()
    return pd.DataFrame(rows, columns=list(PANEL_COLUMNS))


def first_snapshot(con: duckdb.DuckDBPyConnection) -> object:
    """The earliest snapshot date of the history (the default start of the experiment), or None."""
    return con.execute("SELECT min(date_situation) FROM history.instantanes").fetchone()[0]
