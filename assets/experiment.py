"""The experiment's verdict (issue 19): thin wiring around `onevision_dagster.experiment`, after the national
history. Reads the indicators of every department and pair, estimates the effect of the tool on each (difference
in differences, randomization inference, interval by test inversion, placebo) and stores `experiment.evaluation`,
which `onevision export evaluation` writes and the experiment's dashboard reads."""

import dagster as dg

from onevision_dagster.experiment.evaluation import run_evaluation, verdict
from onevision_dagster.experiment.indicators import PRINCIPAL
from onevision_dagster.orchestration.automation import NATIONAL_CONDITION
from onevision_dagster.resources import Settings, Warehouse

from .failures import reported_as_failure
from .history import IMPACT, IMPACT_NATIONAL, MOUVEMENTS, POSITIONS_HISTORIQUE
from .pools import DUCKDB_POOL

EVALUATION = dg.AssetKey(["experiment", "evaluation"])


@dg.asset(
    key=EVALUATION,
    deps=[IMPACT_NATIONAL, IMPACT, MOUVEMENTS, POSITIONS_HISTORIQUE],
    automation_condition=NATIONAL_CONDITION,
    group_name="national",
    pool=DUCKDB_POOL,
    kinds={"duckdb", "statsmodels"},
    description="Le verdict de l'expérimentation : pour chaque indicateur (taux de compensation, part remboursée "
    "à risque, taux de recouvrement par source), la différence de différences pilotes (`ONEVISION_PILOTES`) "
    "contre les autres départements avant et après le début (`ONEVISION_DEBUT_PILOTE`), sa p-valeur par "
    "inférence par randomisation, son intervalle à 95 % et un placebo sur les semaines d'avant (docs/evaluation.md).",
)
def evaluation(warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    with reported_as_failure(), warehouse.connect() as con:
        frame, start = run_evaluation(con, settings.pilot_codes(), settings.pilot_start())
    meta: dict[str, dg.MetadataValue] = {
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "debut": dg.MetadataValue.text(f"{start:%d/%m/%Y}" if start else "aucun instantané"),
        "pilotes": dg.MetadataValue.text(", ".join(settings.pilot_codes())),
    }
    principal = frame[frame["indicateur"] == PRINCIPAL]
    if len(principal):
        meta["verdict"] = dg.MetadataValue.text(verdict(principal.iloc[0].to_dict()))
        shown = frame[["indicateur", "estimation", "ic_bas", "ic_haut", "p_valeur", "tirages"]]
        meta["apercu"] = dg.MetadataValue.md(shown.astype(str).to_markdown(index=False, disable_numparse=True))
    return dg.MaterializeResult(metadata=meta)


experiment_assets = [evaluation]
