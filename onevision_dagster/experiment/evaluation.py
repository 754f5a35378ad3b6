"""The experiment's verdict (issue 19 point 3): per indicator, the difference in differences, its randomization
p-value and 95 % interval, the two-way fixed-effects regression as a cross-check, and a placebo on the weeks
before the start alone (a fake start in their middle), which should find nothing.

A pair of snapshots is "before" when its `date_fin` is at or before the start (`ONEVISION_DEBUT_PILOTE`), "after"
otherwise. The rows are what `experiment.evaluation` stores and `onevision export evaluation` writes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import duckdb
import pandas as pd

from onevision_dagster.consolidate.tables import execute, transaction
from onevision_dagster.experiment.indicators import HISTORY_TABLES, INDICATORS, first_snapshot, load_panel
from onevision_dagster.experiment.inference import ALPHA, infer, twfe

EXPORT_COLUMNS = ("indicateur", "estimation", "ic_bas", "ic_haut", "p_valeur", "tirages", "pilotes", "temoins",
                  "semaines_avant", "semaines_apres")
EVALUATION_COLUMNS = (*EXPORT_COLUMNS, "placebo", "debut", "estimation_regression", "liste_pilotes",
                      "liste_temoins")
PLACEBO_PREFIX = "placebo_"
TABLE = "experiment.evaluation"
DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    indicateur VARCHAR NOT NULL,
    estimation DOUBLE,
    ic_bas DOUBLE,
    ic_haut DOUBLE,
    p_valeur DOUBLE,
    tirages INTEGER NOT NULL,
    pilotes INTEGER NOT NULL,
    temoins INTEGER NOT NULL,
    semaines_avant INTEGER NOT NULL,
    semaines_apres INTEGER NOT NULL,
    placebo BOOLEAN NOT NULL,
    debut DATE,
    estimation_regression DOUBLE,
    liste_pilotes VARCHAR NOT NULL,
    liste_temoins VARCHAR NOT NULL
)"""


def _weeks(dates: pd.Series) -> int:
    return len({d.isocalendar()[:2] for d in pd.to_datetime(dates)})


def estimate(panel: pd.DataFrame, pilotes: Sequence[str], debut: dt.date, *, indicateur: str,
             placebo: bool = False, **options: int) -> dict:
    """One row of the evaluation for one indicator's panel (PANEL_COLUMNS rows of that indicator)."""
    avant = pd.to_datetime(panel["date_fin"]).dt.date <= debut
    result = infer(panel, avant, pilotes, **options)
    kept = panel["departement"].isin(result.pilotes + result.temoins)
    return {
        "indicateur": (PLACEBO_PREFIX if placebo else "") + indicateur,
        "estimation": result.estimation, "ic_bas": result.ic_bas, "ic_haut": result.ic_haut,
        "p_valeur": result.p_valeur, "tirages": result.tirages,
        "pilotes": len(result.pilotes), "temoins": len(result.temoins),
        "semaines_avant": _weeks(panel.loc[kept & avant, "date_fin"]),
        "semaines_apres": _weeks(panel.loc[kept & ~avant, "date_fin"]),
        "placebo": placebo, "debut": debut,
        "estimation_regression": twfe(panel[kept], avant[kept], pilotes) if result.estimation is not None else None,
        "liste_pilotes": ",".join(result.pilotes), "liste_temoins": ",".join(result.temoins),
    }


def placebo_start(panel: pd.DataFrame, debut: dt.date) -> dt.date | None:
    """The fake start: the middle pair end of the weeks before the start (None with fewer than two)."""
    before = sorted({d for d in pd.to_datetime(panel["date_fin"]).dt.date if d <= debut})
    return before[(len(before) - 1) // 2] if len(before) >= 2 else None


def evaluate(panel: pd.DataFrame, pilotes: Sequence[str], debut: dt.date, **options: int) -> pd.DataFrame:
    """Every indicator, then every placebo (EVALUATION_COLUMNS)."""
    rows, placebos = [], []
    for code in INDICATORS:
        part = panel[panel["indicateur"] == code].reset_index(drop=True)
        rows.append(estimate(part, pilotes, debut, indicateur=code, **options))
        before = part[pd.to_datetime(part["date_fin"]).dt.date <= debut].reset_index(drop=True)
        fake = placebo_start(before, debut)
        if fake is None:
            placebos.append({**estimate(before.iloc[0:0], pilotes, debut, indicateur=code, placebo=True,
                                        **options), "debut": None})
        else:
            placebos.append(estimate(before, pilotes, fake, indicateur=code, placebo=True, **options))
    return pd.DataFrame(rows + placebos, columns=list(EVALUATION_COLUMNS))


def write_evaluation(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> int:
    """Replaces `experiment.evaluation` with `frame` in one transaction."""
    execute(con, "CREATE SCHEMA IF NOT EXISTS experiment")
    execute(con, DDL)
    rows = frame.astype(object).where(frame.notna(), None)
    with transaction(con):
        execute(con, f"DELETE FROM {TABLE}")
        if len(rows):
            con.executemany(f"INSERT INTO {TABLE} ({', '.join(EVALUATION_COLUMNS)}) VALUES "
                            f"({', '.join('?' for _ in EVALUATION_COLUMNS)})",
                            [list(r) for r in rows[list(EVALUATION_COLUMNS)].itertuples(index=False)])
    return len(rows)


def read_evaluation(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """The stored evaluation, or None when it was never computed."""
    present = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'experiment' "
                          "AND table_name = 'evaluation'").fetchone()[0]
    if not present:
        return None
    rows = con.execute(f"SELECT {', '.join(EVALUATION_COLUMNS)} FROM {TABLE}").fetchall()
    return pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS))


# ---- the verdict in French -------------------------------------------------------------------------------------

def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _points(value: float, decimals: int) -> str:
    from onevision_dagster.reports.formatting import format_nombre

    return format_nombre(round(value * 100, decimals) + 0.0, decimals)


def _p_text(p: float) -> str:
    if p < 0.001:
        return "p < 0,001"
    text = f"{p:.3f}".rstrip("0").rstrip(".")
    return "p = " + text.replace(".", ",")


def interval_text(row: dict) -> str:
    """``IC 95 % : 12 à 41 ; p = 0,009 sur 220 tirages`` (points of the rate)."""
    low, high = row["ic_bas"], row["ic_haut"]
    decimals = _decimals(row)
    if _missing(low) or _missing(high) or math.isinf(low) or math.isinf(high):
        ci = "non borné, trop peu de tirages pour exclure un effet"
    else:
        ci = f"{_points(low, decimals)} à {_points(high, decimals)}"
    return f"IC {100 - round(ALPHA * 100)}\u00a0% : {ci} ; {_p_text(row['p_valeur'])} sur {row['tirages']} tirages"


def _decimals(row: dict) -> int:
    """Whole points, but a tenth of a point for an estimate under one point."""
    return 0 if abs(row["estimation"]) * 100 >= 0.95 else 1


def contains_zero(row: dict) -> bool:
    low, high = row["ic_bas"], row["ic_haut"]
    return _missing(low) or _missing(high) or low <= 0 <= high


def why_not_estimated(row: dict) -> str:
    if not row["semaines_avant"] and not row["pilotes"] and not row["temoins"]:
        return "aucune période de l'historique n'a de dénominateur non nul avant et après le début"
    if not row["pilotes"]:
        return "aucun département pilote n'a de période à la fois avant et après le début"
    if not row["temoins"]:
        return "aucun autre département à qui comparer les pilotes"
    return "pas assez de périodes"


def verdict(row: dict) -> str:
    """The sentence a committee reads, e.g. « Les pilotes compensent 28 points de plus de ce que l'outil signale
    (IC 95 % : 12 à 41 ; p = 0,009 sur 220 tirages) », « Non concluant : … » when the interval contains 0."""
    code = str(row["indicateur"]).removeprefix(PLACEBO_PREFIX)
    indicator = INDICATORS[code]
    if _missing(row["estimation"]):
        return f"Pas d'estimation : {why_not_estimated(row)}."
    decimals = _decimals(row)
    size = _points(abs(row["estimation"]), decimals)
    if size in ("0", "0,0"):
        claim = f"les pilotes {indicator.phrase_plus} autant {indicator.complement} que les autres départements"
    else:
        more = "plus" if row["estimation"] > 0 else "moins"
        unit = "point" if round(abs(row["estimation"]) * 100, decimals) < 2 else "points"
        claim = f"les pilotes {indicator.phrase_plus} {size} {unit} de {more} {indicator.complement}"
    if contains_zero(row):
        return f"Non concluant : {claim}, mais l'intervalle contient 0 ({interval_text(row)})."
    return f"{claim[0].upper()}{claim[1:]} ({interval_text(row)})."


def placebo_verdict(row: dict) -> str:
    """What the placebo says: nothing found (as it should), or a gap before the start (trends differ)."""
    if _missing(row["estimation"]):
        return "Placebo impossible : il faut au moins deux périodes avant le début de l'expérimentation."
    fake = row["debut"]
    when = f" au {fake:%d/%m/%Y}" if isinstance(fake, dt.date) else ""
    if contains_zero(row):
        return (f"Placebo (faux début{when}, périodes d'avant seulement) : rien de trouvé, comme attendu "
                f"({interval_text(row)}).")
    return (f"Placebo (faux début{when}, périodes d'avant seulement) : un écart apparaît avant tout outil "
            f"({interval_text(row)}) ; les pilotes et les autres n'évoluaient pas de la même façon, le verdict est "
            "à lire avec prudence.")



def run_evaluation(con: duckdb.DuckDBPyConnection, pilotes: Sequence[str], debut: dt.date | None,
                   **options: int) -> tuple[pd.DataFrame, dt.date | None]:
    """Reads the indicators from the history, evaluates them and stores the result; `debut` None: the first
    snapshot date (then nothing is "before" and nothing is estimated, which the verdict says)."""
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    if not set(HISTORY_TABLES) <= present:  # history never computed (`onevision run --sans-historique`)
        start = debut
        frame = pd.DataFrame(columns=list(EVALUATION_COLUMNS))
    elif (start := debut if debut is not None else first_snapshot(con)) is None:
        frame = pd.DataFrame(columns=list(EVALUATION_COLUMNS))
    else:
        frame = evaluate(load_panel(con), pilotes, start, **options)
    write_evaluation(con, frame)
    return frame, start
