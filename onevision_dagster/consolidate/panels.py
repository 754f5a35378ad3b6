"""Common-debtor panels: companies with past-due debts in at least two debtor sources and something pursuable,
ranked by priority.

Only what may be pursued is ranked (contract v3, section 8): a company in a collective procedure (every claim is
stayed, art. L. 622-21 C. com.: it belongs to the declarations list) or whose debts are all suspended (sursis,
contested title) has `dettes_poursuivables` = 0 and leaves the ranking.

Score on a 0–100 scale, rounded to 2 decimals (docs/warehouse.md)::

    score = 100 × ( 0.5 × montant + 0.3 × age + 0.2 × etape )
    montant = min(1, ln(1 + dettes_poursuivables) / ln(1 + 1 000 000))   # log scale, 1 M€ saturates
    age     = min(1, anciennete_jours / 1095)                      # 3 years saturate
    etape   = rank of the most advanced stage of a pursuable past-due debt / 5
              AMIABLE 1, RELANCE 2, MISE_EN_DEMEURE 3, SATD 4, SAISIE 4,
              PASSIF_PROCEDURE 5; CONTESTATION 0 (the debtor contests: not a
              recovery step); no stage (fines, rnf) 0

``rang`` orders by score descending, then ``dettes_poursuivables`` descending, then ``siren``. The logarithm is the
only floating-point step and it never touches an amount column.
"""

from __future__ import annotations

import duckdb

from onevision_dagster.consolidate.tables import execute

STAGE_RANKS: dict[str, int] = {
    "CONTESTATION": 0,
    "AMIABLE": 1,
    "RELANCE": 2,
    "MISE_EN_DEMEURE": 3,
    "SATD": 4,
    "SAISIE": 4,
    "PASSIF_PROCEDURE": 5,
}
MAX_STAGE_RANK = 5
SCORE_WEIGHTS = {"montant": 0.5, "age": 0.3, "etape": 0.2}
SCORE_AMOUNT_CAP = 1_000_000  # euros
SCORE_AGE_CAP_DAYS = 1095


def _stage_rank_sql(col: str) -> str:
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in STAGE_RANKS.items())
    return f"(CASE {col} {whens} ELSE NULL END)"


def _score_sql() -> str:
    w = SCORE_WEIGHTS
    return f"""CAST(round(100 * (
            {w["montant"]} * least(1.0, ln(1 + CAST(p.dettes_poursuivables AS DOUBLE)) / ln(1 + {SCORE_AMOUNT_CAP}))
          + {w["age"]} * least(1.0, coalesce(p.anciennete_jours, 0) / {SCORE_AGE_CAP_DAYS}.0)
          + {w["etape"]} * coalesce(s.rang_etape, 0) / {MAX_STAGE_RANK}.0
        ), 2) AS DECIMAL(5,2))"""


def insert_panel(con: duckdb.DuckDBPyConnection, positions: str, dept_col: str, dettes: str, target: str) -> None:
    """Inserts into `target` the ranked panel of the positions `positions`, stages taken from the debt lines
    `dettes` (relations)."""
    execute(
        con,
        f"""
        INSERT INTO {target}
        WITH e AS (
            SELECT siren, etape, {_stage_rank_sql("etape")} AS r
            FROM {dettes} WHERE nature = 'ECHUE' AND NOT suspendue AND etape IS NOT NULL AND siren IS NOT NULL
        ), s AS (
            SELECT siren, max(r) AS rang_etape, first(etape ORDER BY r DESC, etape) AS etape
            FROM e GROUP BY siren
        ), p AS (
            SELECT * FROM {positions} WHERE nb_sources_dettes >= 2 AND dettes_poursuivables > 0
        ), scored AS (
            SELECT p.siren, p.denomination, p.{dept_col}, p.nb_sources_dettes, p.total_dettes,
                   p.dettes_poursuivables, p.dettes_amendes, p.dettes_spl, p.dettes_impots_pro, p.dettes_rnf,
                   p.anciennete_jours,
                   s.etape AS etape_la_plus_avancee, {_score_sql()} AS score
            FROM p LEFT JOIN s ON s.siren = p.siren
        )
        SELECT CAST(row_number() OVER (ORDER BY score DESC, dettes_poursuivables DESC, siren) AS INTEGER) AS rang,
               siren, denomination, {dept_col}, nb_sources_dettes, total_dettes, dettes_poursuivables,
               dettes_amendes, dettes_spl, dettes_impots_pro, dettes_rnf, anciennete_jours,
               etape_la_plus_avancee, score
        FROM scored
        """,
    )
