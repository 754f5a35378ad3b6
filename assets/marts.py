"""Consolidated positions and common-debtor panels, per department and national.

The offsetting rule (SOURCES.md section 8) is stated in the descriptions
because agents read them in the UI: L. 257 B LPF allows the comptable to
offset a refund against taxes, duties, penalties and interest that are due;
L. 277 LPF (sursis de paiement) and L. 622-7 Code de commerce (collective
procedure) exclude it.
"""


import dagster as dg

from onevision_dagster.consolidate import build as consolidation
from onevision_dagster.consolidate import consistency
from onevision_dagster.orchestration.automation import FOLLOW_UPSTREAM, NATIONAL_CONDITION
from onevision_dagster.orchestration.partitions import departements_partitions
from onevision_dagster.resources import Warehouse

from .core import LIGNES_CREANCES, LIGNES_DETTES, NON_POSITIONNEES, RATTACHEMENT
from .failures import reported_as_failure
from .pools import DUCKDB_POOL
from .sources import REGISTER_KEY

OFFSETTING_BASIS = (
    "`montant_compensable` = min(créances certaines et exigibles, dettes compensables), où seules les dettes "
    "d'impôts professionnels exigibles à la date de situation et sans sursis de paiement sont compensables "
    "(art. L. 257 B et R. 257 B-1 LPF ; sursis : art. L. 277 LPF) ; une créance à échoir ne l'est pas avant sa date. "
    "Amendes, recettes non fiscales et produits locaux sont hors L. 257 B (d'autres voies existent : compensation "
    "de droit commun, SATD ; l'agent en juge). Il vaut 0 quand une procédure collective est ouverte (art. L. 622-7 "
    "Code de commerce) ou qu'une créance a été déclarée au passif d'une procédure, même absente du registre : "
    "l'agent décide au cas par cas. C'est une opportunité à examiner, pas une action du logiciel."
)

POSITIONS = dg.AssetKey(["marts", "positions"])
PANEL = dg.AssetKey(["marts", "panel_debiteurs_communs"])
POSITIONS_NATIONALES = dg.AssetKey(["marts", "positions_nationales"])
PANEL_NATIONAL = dg.AssetKey(["marts", "panel_debiteurs_communs_national"])


def _summary(con, table: str, where: str, params: dict) -> dict[str, dg.MetadataValue]:
    row = con.execute(
        f"""SELECT count(*), coalesce(sum(total_dettes), 0), coalesce(sum(total_creances), 0),
                   coalesce(sum(montant_compensable), 0), count(*) FILTER (WHERE montant_compensable > 0)
            FROM {table} WHERE {where}""", params).fetchone()
    return {
        "dagster/row_count": dg.MetadataValue.int(row[0]),
        "entreprises": dg.MetadataValue.int(row[0]),
        "total_dettes": dg.MetadataValue.float(float(row[1])),
        "total_creances": dg.MetadataValue.float(float(row[2])),
        "montant_compensable": dg.MetadataValue.float(float(row[3])),
        "entreprises_avec_compensation": dg.MetadataValue.int(row[4]),
    }


def _check(name: str, result: tuple[bool, dict], asset: dg.AssetKey, blocking_severity=True) -> dg.AssetCheckResult:
    passed, details = result
    return dg.AssetCheckResult(asset_key=asset, check_name=name, passed=bool(passed),
                               severity=dg.AssetCheckSeverity.ERROR if blocking_severity
                               else dg.AssetCheckSeverity.WARN,
                               metadata={k: dg.MetadataValue.text(str(v)) for k, v in details.items()})


@dg.asset(
    key=POSITIONS,
    deps=[LIGNES_DETTES, LIGNES_CREANCES, RATTACHEMENT, NON_POSITIONNEES, REGISTER_KEY],
    partitions_def=departements_partitions,
    automation_condition=FOLLOW_UPSTREAM,
    group_name="marts",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="Position consolidée de chaque entreprise du périmètre dans le département : dettes par source, "
    "créances certaines et potentielles, solde, ancienneté. " + OFFSETTING_BASIS,
    check_specs=[
        dg.AssetCheckSpec("totaux_egaux_aux_lignes", asset=POSITIONS, blocking=True,
                          description="Totaux des positions = somme des lignes unifiées ouvertes."),
        dg.AssetCheckSpec("aucun_siren_hors_perimetre", asset=POSITIONS, blocking=True,
                          description="Aucune position pour une entreprise hors périmètre ou inconnue."),
        dg.AssetCheckSpec("amendes_rattachees_ou_listees", asset=POSITIONS, blocking=True,
                          description="Chaque amende est rattachée ou listée comme non positionnée."),
    ],
)
def positions(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    dept = context.partition_key
    with reported_as_failure(), warehouse.connect() as con:
        consolidation.build_positions(con, dept)  # checked (models, consistency) before it is committed
        meta = _summary(con, "marts.positions", "departement = $d", {"d": dept})
        checks = [
            _check("totaux_egaux_aux_lignes", consistency.positions_match_lines(con, dept), POSITIONS),
            _check("aucun_siren_hors_perimetre", consistency.out_of_scope_in_positions(con, dept), POSITIONS),
            _check("amendes_rattachees_ou_listees", consistency.fines_accounted_for(con, dept), POSITIONS),
        ]
    return dg.MaterializeResult(metadata=meta, check_results=checks)


@dg.asset(
    key=PANEL,
    deps=[POSITIONS],
    partitions_def=departements_partitions,
    automation_condition=FOLLOW_UPSTREAM,
    group_name="marts",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="Panel des débiteurs communs du département : entreprises ayant des dettes ouvertes dans au "
    "moins deux sources, classées par priorité (montant, ancienneté, étape de recouvrement ; formule dans "
    "docs/warehouse.md).",
)
def panel_debiteurs_communs(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    dept = context.partition_key
    with reported_as_failure(), warehouse.connect() as con:
        count = consolidation.build_panel_debiteurs_communs(con, dept)["marts.panel_debiteurs_communs"]
    return dg.MaterializeResult(metadata={"dagster/row_count": dg.MetadataValue.int(count)})


@dg.asset(
    key=POSITIONS_NATIONALES,
    deps=[POSITIONS],
    automation_condition=NATIONAL_CONDITION,
    group_name="national",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="Vue nationale : positions sommées par SIREN sur tous les départements matérialisés ; "
    "`montant_compensable` et `nb_sources_dettes` recalculés. " + OFFSETTING_BASIS,
    check_specs=[
        dg.AssetCheckSpec("sommes_egales_aux_departements", asset=POSITIONS_NATIONALES, blocking=True,
                          description="Colonnes additives = somme des positions départementales."),
        dg.AssetCheckSpec("aucun_siren_hors_perimetre", asset=POSITIONS_NATIONALES, blocking=True,
                          description="Aucune position pour une entreprise hors périmètre ou inconnue."),
    ],
)
def positions_nationales(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with reported_as_failure(), warehouse.connect() as con:
        consolidation.build_positions_nationales(con)  # checked before it is committed
        meta = _summary(con, "marts.positions_nationales", "TRUE", {})
        depts = [r[0] for r in con.execute(
            "SELECT DISTINCT departement FROM marts.positions ORDER BY 1").fetchall()]
        meta["departements"] = dg.MetadataValue.text(", ".join(depts) or "aucun")
        checks = [
            _check("sommes_egales_aux_departements", consistency.national_sums_match(con), POSITIONS_NATIONALES),
            _check("aucun_siren_hors_perimetre", consistency.out_of_scope_in_positions(con, None),
                   POSITIONS_NATIONALES),
        ]
    return dg.MaterializeResult(metadata=meta, check_results=checks)


@dg.asset(
    key=PANEL_NATIONAL,
    deps=[POSITIONS_NATIONALES],
    automation_condition=FOLLOW_UPSTREAM,
    group_name="national",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="Panel national des débiteurs communs (même priorité que les panels départementaux).",
)
def panel_debiteurs_communs_national(warehouse: Warehouse) -> dg.MaterializeResult:
    with reported_as_failure(), warehouse.connect() as con:
        count = consolidation.build_panel_debiteurs_communs_national(con)["marts.panel_debiteurs_communs_national"]
    return dg.MaterializeResult(metadata={"dagster/row_count": dg.MetadataValue.int(count)})


marts_assets = [positions, panel_debiteurs_communs, positions_nationales, panel_debiteurs_communs_national]
