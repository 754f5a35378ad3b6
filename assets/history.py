"""History and impact (SOURCES.md section 9): one partition per (extraction date, department).

Thin wiring around `onevision_dagster.history`. A snapshot is recomputed from the files it reads, so a partition
materialized again gives the same rows whatever landed later; a date that is not one of the department's
extraction dates materializes empty and says so. The movements of a pair need the earlier snapshot: when it is
missing or out of date, the step computes it first (a backfill can run its partitions in any order).
"""

import datetime as dt

import dagster as dg

from onevision_dagster.history import impact, movements, snapshots
from onevision_dagster.orchestration.automation import NATIONAL_CONDITION
from onevision_dagster.orchestration.partitions import snapshots_partitions
from onevision_dagster.resources import Settings, Warehouse

from .failures import reported_as_failure
from .pools import DUCKDB_POOL
from .sources import REGISTER_KEY, SOURCE_KEYS

POSITIONS_HISTORIQUE = dg.AssetKey(["history", "positions_historique"])
MOUVEMENTS = dg.AssetKey(["history", "mouvements"])
IMPACT = dg.AssetKey(["history", "impact"])
IMPACT_NATIONAL = dg.AssetKey(["history", "impact_national"])

CHECK_RECONCILIATION = "mouvements_reconcilient_les_stocks"
CHECK_IMPACT = "impact_egal_somme_des_mouvements"

def _partition(context: dg.AssetExecutionContext) -> tuple[dt.date, str]:
    key = context.partition_key.keys_by_dimension
    return dt.date.fromisoformat(key["date"]), key["departement"]


def _snapshot_positions(context: dg.AssetExecutionContext, con, when: dt.date, dept: str) -> dg.MaterializeResult:
    if snapshots.is_up_to_date(con, dept, when):
        context.log.info(f"Instantané {dept} du {when:%d/%m/%Y} déjà à jour (mêmes fichiers)")
    else:
        snap = snapshots.build_snapshot(con, dept, when)
        if snap is None:
            context.log.info(f"{dept} n'a pas d'extrait daté du {when:%d/%m/%Y} : pas d'instantané")
    count, *sums = con.execute(
        "SELECT count(*), coalesce(sum(total_dettes), 0), coalesce(sum(total_creances), 0), "
        "coalesce(sum(montant_compensable), 0) FROM history.positions_historique "
        "WHERE departement = ? AND date_situation = ?", [dept, when]).fetchone()  # validated before commit
    files = snapshots.stored_identity(con, dept, when)
    refused = snapshots.refused_files(con, dept, when) if files else []
    return dg.MaterializeResult(asset_key=POSITIONS_HISTORIQUE, metadata={
        "fichiers_refuses": dg.MetadataValue.text(", ".join(refused) or "aucun"),
        "dagster/row_count": dg.MetadataValue.int(count),
        "instantane": dg.MetadataValue.text("oui" if files else "aucun extrait à cette date"),
        "fichiers": dg.MetadataValue.text(files or "—"),
        "total_dettes": dg.MetadataValue.float(float(sums[0])),  # display only; sums stay exact in SQL
        "total_creances": dg.MetadataValue.float(float(sums[1])),
        "montant_compensable": dg.MetadataValue.float(float(sums[2])),
    })


def _movements(con, when: dt.date, dept: str) -> dg.MaterializeResult:
    for date in (movements.previous_date(con, dept, when), when):
        if date is not None and not snapshots.is_up_to_date(con, dept, date):
            snapshots.build_snapshot(con, dept, date)
    t0 = movements.build_movements(con, dept, when)  # validated and reconciled before commit
    count = con.execute("SELECT count(*) FROM history.mouvements WHERE departement = ? AND date_fin = ?",
                        [dept, when]).fetchone()[0]
    by_type = dict(con.execute("SELECT type, sum(montant) FROM history.mouvements WHERE departement = ? "
                               "AND date_fin = ? GROUP BY 1 ORDER BY 1", [dept, when]).fetchall())
    passed, details = movements.reconciliation(con, dept, when)
    return dg.MaterializeResult(
        asset_key=MOUVEMENTS,
        metadata={"dagster/row_count": dg.MetadataValue.int(count),
                  "paire": dg.MetadataValue.text(f"{t0} → {when}" if t0 else "premier instantané"),
                  "montants_par_type": dg.MetadataValue.json({k: str(v) for k, v in by_type.items()})},
        check_results=[dg.AssetCheckResult(
            asset_key=MOUVEMENTS, check_name=CHECK_RECONCILIATION, passed=bool(passed),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={k: dg.MetadataValue.text(str(v)) for k, v in details.items()})],
    )


def _impact(con, when: dt.date, dept: str) -> dg.MaterializeResult:
    t0 = impact.build_impact(con, dept, when)  # validated and compared with the movements before commit
    passed, details = impact.impact_matches_movements(con, dept, when)
    row = con.execute("SELECT recouvre, compense, compense_signale, rembourse, rembourse_a_risque "
                      "FROM history.impact WHERE departement = ? AND date_fin = ?", [dept, when]).fetchone()
    meta: dict[str, dg.MetadataValue] = {"dagster/row_count": dg.MetadataValue.int(1 if t0 else 0),
                                         "paire": dg.MetadataValue.text(f"{t0} → {when}" if t0 else "aucune")}
    if row:
        for name, value in zip(("recouvre", "compense", "compense_signale", "rembourse", "rembourse_a_risque"),
                               row, strict=True):
            meta[name] = dg.MetadataValue.float(float(value))
    return dg.MaterializeResult(asset_key=IMPACT, metadata=meta, check_results=[dg.AssetCheckResult(
        asset_key=IMPACT, check_name=CHECK_IMPACT, passed=bool(passed), severity=dg.AssetCheckSeverity.ERROR,
        metadata={k: dg.MetadataValue.text(str(v)) for k, v in details.items()})])


_SNAPSHOT_SPECS = [
    dg.AssetSpec(
        POSITIONS_HISTORIQUE,
        deps=[*SOURCE_KEYS, REGISTER_KEY],  # each snapshot reads its department's files (dimension `departement`)
        description="Positions de chaque instantané (date d'extraction × département), calculées comme les "
        "positions courantes à partir des fichiers datés au plus de cette date, et leurs lignes (pour les "
        "mouvements)."),
    dg.AssetSpec(
        MOUVEMENTS, deps=[POSITIONS_HISTORIQUE],
        description="Mouvements ligne à ligne entre l'instantané précédent du département et celui-ci : paiements, "
        "annulations, admissions en non-valeur, sorties, hausses, nouvelles dettes et créances, imputations "
        "(compensations faites) et remboursements."),
    dg.AssetSpec(
        IMPACT, deps=[MOUVEMENTS],
        description="Impact entre deux instantanés consécutifs : recouvré, annulé, admis en non-valeur, sorti, "
        "nouvelles dettes, compensé (dont compensations signalées par l'outil), remboursé et `rembourse_a_risque` "
        "(remboursé à une entreprise dont des impôts échus, poursuivables et compensables, restaient dus dans un "
        "département)."),
]


@dg.multi_asset(
    name="instantane",
    specs=[s.replace_attributes(group_name="historique", kinds={"duckdb"}, partitions_def=snapshots_partitions,
                                skippable=True) for s in _SNAPSHOT_SPECS],
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_RECONCILIATION, asset=MOUVEMENTS, blocking=True, partitions_def=snapshots_partitions,
            description="Stock(t1) − stock(t0) = mouvements + écarts expliqués (clés rejetées en t1, suivi perdu…), "
            "pour les dettes et les créances ; identité détaillée dans onevision_dagster/history/movements.py."),
        dg.AssetCheckSpec(CHECK_IMPACT, asset=IMPACT, blocking=True, partitions_def=snapshots_partitions,
                          description="Chaque colonne de l'impact = somme des mouvements de son type."),
    ],
    partitions_def=snapshots_partitions,
    pool=DUCKDB_POOL,
    can_subset=True,  # an operator can still recompute one of the three for a snapshot
)
def instantane(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """A snapshot's positions, movements and impact in one step (issue 21: three steps per snapshot were 606 of a
    national refresh's steps). Each keeps its asset, metadata and check; a failed reconciliation stops the impact,
    as a blocking check stopped the next step."""
    when, dept = _partition(context)
    selected = context.selected_asset_keys
    with reported_as_failure(), warehouse.connect() as con:
        if POSITIONS_HISTORIQUE in selected:
            yield _snapshot_positions(context, con, when, dept)
        if MOUVEMENTS in selected:
            result = _movements(con, when, dept)
            yield result
            if not result.check_results[0].passed:
                return  # the step fails on the blocking check; the impact is not computed on unreconciled rows
        if IMPACT in selected:
            yield _impact(con, when, dept)


@dg.asset(
    key=IMPACT_NATIONAL,
    deps=[IMPACT],
    automation_condition=NATIONAL_CONDITION,
    group_name="national",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="L'expérimentation : par semaine ISO, départements pilotes (`ONEVISION_PILOTES`) contre les "
    "autres — taux de compensation, montants recouvrés, `rembourse_a_risque`, stocks.",
)
def impact_national(context: dg.AssetExecutionContext, warehouse: Warehouse,
                    settings: Settings) -> dg.MaterializeResult:
    with reported_as_failure(), warehouse.connect() as con:
        # a snapshot of one department landed late changes the other departments' impact rows dated after it
        refreshed = impact.refresh_stale_impacts(con)
        for dept, t0, t1 in refreshed:
            context.log.info(f"Impact {dept} {t0:%d/%m/%Y} → {t1:%d/%m/%Y} recalculé : un instantané d'un autre "
                             "département daté au plus du début de la paire a été calculé depuis")
        count = impact.build_impact_national(con, settings.pilot_codes())  # validated before it is committed
        preview = con.execute("SELECT semaine, groupe, nb_departements, recouvre, compense_signale, "
                              "compensable_debut, taux_compensation, rembourse_a_risque FROM history.impact_national "
                              "ORDER BY semaine DESC, groupe LIMIT 12").df()
    meta = {"dagster/row_count": dg.MetadataValue.int(count), "pilotes": dg.MetadataValue.text(
        ", ".join(settings.pilot_codes())),
        "impacts_recalcules": dg.MetadataValue.text(
            ", ".join(f"{d} {t0:%d/%m/%Y}→{t1:%d/%m/%Y}" for d, t0, t1 in refreshed) or "aucun")}
    if len(preview):
        meta["apercu"] = dg.MetadataValue.md(preview.astype(str).to_markdown(index=False, disable_numparse=True))
    return dg.MaterializeResult(metadata=meta)


history_assets = [instantane, impact_national]
