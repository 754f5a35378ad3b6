"""Consolidated positions and common-debtor panels, per department and national.

The offsetting rule (SOURCES.md section 8) is stated in the descriptions
because agents read them in the UI: L. 257 B LPF allows the comptable to
offset a refund against taxes, duties, penalties and interest that are due;
L. 277 LPF (sursis de paiement) and L. 622-7 Code de commerce (collective
procedure) exclude it.
"""


import dagster as dg

from onevision_dagster.consolidate import build as consolidation
from onevision_dagster.orchestration.automation import FOLLOW_UPSTREAM, NATIONAL_CONDITION
from onevision_dagster.orchestration.partitions import departements_partitions
from onevision_dagster.resources import Warehouse

from .core import LIGNES_CREANCES, LIGNES_DETTES, NON_POSITIONNEES, RATTACHEMENT
from .failures import reported_as_failure
from .pools import DUCKDB_POOL
from .sources import REGISTER_KEY

OFFSETTING_BASIS = (
    "`montant_compensable` = min(créances certaines et échues, dettes compensables), où seules les dettes "
    "d'impôts professionnels échues à la date de situation et poursuivables (ni sursis de paiement, art. L. 277 "
    "LPF, ni procédure collective) sont compensables (art. L. 257 B et R. 257 B-1 LPF) ; une créance à échoir ne "
    "l'est pas avant sa date. "
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
    "dont suspendues (sursis, titre contesté, procédure collective : art. L. 277 LPF, L. 1617-5 CGCT, L. 622-21 "
    "C. com.) et poursuivables, créances certaines et potentielles, ancienneté ; jamais de solde (section 8). "
    + OFFSETTING_BASIS,
    check_specs=[
        dg.AssetCheckSpec("totaux_egaux_aux_lignes", asset=POSITIONS, blocking=True,
                          partitions_def=departements_partitions,
                          description="Totaux des positions = somme des lignes unifiées ouvertes."),
        dg.AssetCheckSpec("aucun_siren_hors_perimetre", asset=POSITIONS, blocking=True,
                          partitions_def=departements_partitions,
                          description="Aucune position pour une entreprise hors périmètre ou inconnue."),
        dg.AssetCheckSpec("amendes_rattachees_ou_listees", asset=POSITIONS, blocking=True,
                          partitions_def=departements_partitions,
                          description="Chaque amende est rattachée ou listée comme non positionnée."),
    ],
)
def positions(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    dept = context.partition_key
    with reported_as_failure(), warehouse.connect() as con:
        guards: consolidation.Guards = {}  # the rules checked before the commit, reported without running again
        consolidation.build_positions(con, dept, guards)
        meta = _summary(con, "marts.positions", "departement = $d", {"d": dept})
    checks = [_check(name, guards[name], POSITIONS) for name in (
        "totaux_egaux_aux_lignes", "aucun_siren_hors_perimetre", "amendes_rattachees_ou_listees")]
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
        guards: consolidation.Guards = {}  # the rules checked before the commit, reported without running again
        consolidation.build_positions_nationales(con, guards)
        meta = _summary(con, "marts.positions_nationales", "TRUE", {})
        depts = [r[0] for r in con.execute(
            "SELECT DISTINCT departement FROM marts.positions ORDER BY 1").fetchall()]
        meta["departements"] = dg.MetadataValue.text(", ".join(depts) or "aucun")
    checks = [_check(name, guards[name], POSITIONS_NATIONALES) for name in (
        "sommes_egales_aux_departements", "aucun_siren_hors_perimetre")]
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


DECLARATIONS = dg.AssetKey(["marts", "declarations"])
COMPENSATIONS = dg.AssetKey(["marts", "compensations"])


@dg.asset(
    key=DECLARATIONS,
    deps=[POSITIONS, LIGNES_DETTES, REGISTER_KEY],
    partitions_def=departements_partitions,
    automation_condition=FOLLOW_UPSTREAM,
    group_name="marts",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="Créances à déclarer au mandataire dans une procédure collective (art. L. 622-24 C. com.), une "
    "ligne par dette ouverte d'une entreprise en procédure (sauf déjà déclarée au passif), avec la date limite de "
    "déclaration (publication au BODACC + 2 mois, + 2 pour l'outre-mer : art. R. 622-24) et celle du relevé de "
    "forclusion (+ 6 mois : art. L. 622-26), reportées au jour ouvrable suivant (art. 641 et 642 CPC). Une créance "
    "née le jour du jugement ou après est « à qualifier » (art. L. 622-17) ; « forclos » signifie « à examiner ».",
    check_specs=[dg.AssetCheckSpec(
        "declarations_egales_aux_lignes", asset=DECLARATIONS, blocking=True, partitions_def=departements_partitions,
        description="Par entreprise en procédure, les créances à déclarer = dettes échues + à échoir + non-valeur "
        "− passif déjà déclaré de sa position.")],
)
def declarations(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    dept = context.partition_key
    with reported_as_failure(), warehouse.connect() as con:
        guards: consolidation.Guards = {}  # the rule checked before the commit, reported without running again
        count = consolidation.build_declarations(con, dept, guards)["marts.declarations"]
        by_state = dict(con.execute("SELECT etat, count(*) FROM marts.declarations WHERE departement = ? "
                                    "GROUP BY 1 ORDER BY 1", [dept]).fetchall())
    check = _check("declarations_egales_aux_lignes", guards["declarations_egales_aux_lignes"], DECLARATIONS)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": dg.MetadataValue.int(count),
                  "par_etat": dg.MetadataValue.json({k: int(v) for k, v in by_state.items()})},
        check_results=[check])


@dg.asset(
    key=COMPENSATIONS,
    deps=[POSITIONS, POSITIONS_NATIONALES],
    automation_condition=NATIONAL_CONDITION,
    group_name="national",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="Ce que les créances certaines et échues d'un département peuvent payer des impôts compensables "
    "de l'entreprise dans tous les départements (art. L. 257 B LPF : le contribuable, pas le service) : une ligne "
    "par SIREN et département créancier, chaque autre département lu à son dernier instantané daté au plus de la "
    "date de situation (historique), bloquée par une procédure collective ou un passif déclaré.",
    check_specs=[dg.AssetCheckSpec(
        "compensations_egales_aux_positions", asset=COMPENSATIONS, blocking=True,
        description="Créances et impôts compensables de chaque ligne = ceux de la position du département ; "
        "montant de la position pour une entreprise présente dans un seul département.")],
)
def compensations(warehouse: Warehouse) -> dg.MaterializeResult:
    with reported_as_failure(), warehouse.connect() as con:
        guards: consolidation.Guards = {}  # the rule checked before the commit, reported without running again
        count = consolidation.build_compensations(con, guards)["marts.compensations"]
        row = con.execute("SELECT coalesce(sum(montant_compensable), 0), count(*) FILTER "
                          "(WHERE dettes_compensables_autres > 0) FROM marts.compensations").fetchone()
    check = _check("compensations_egales_aux_positions", guards["compensations_egales_aux_positions"],
                   COMPENSATIONS)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": dg.MetadataValue.int(count),
                  "montant_compensable": dg.MetadataValue.float(float(row[0])),
                  "lignes_entre_departements": dg.MetadataValue.int(row[1])},
        check_results=[check])


marts_assets = [positions, panel_debiteurs_communs, positions_nationales, panel_debiteurs_communs_national,
                declarations, compensations]
