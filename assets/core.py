"""Unified lines of one department: fine attachments, debt and credit lines, lines without position.

One step builds the four tables in a single transaction (they are derived
together and a half-built set would be inconsistent); each is still its own
asset in the lineage graph, with its own row count and Pandera validation.
"""


import dagster as dg

from onevision_dagster.consolidate import build as consolidation
from onevision_dagster.orchestration.automation import FOLLOW_UPSTREAM
from onevision_dagster.orchestration.partitions import departements_partitions
from onevision_dagster.resources import Warehouse

from .failures import reported_as_failure
from .pools import DUCKDB_POOL
from .sources import REGISTER_KEY, SOURCE_KEYS

RATTACHEMENT = dg.AssetKey(["core", "rattachement_amendes"])
LIGNES_DETTES = dg.AssetKey(["core", "lignes_dettes"])
LIGNES_CREANCES = dg.AssetKey(["core", "lignes_creances"])
NON_POSITIONNEES = dg.AssetKey(["core", "non_positionnees"])

_DESCRIPTIONS = {
    RATTACHEMENT: "Pour chaque amende : comment elle a été rattachée à un SIREN (SIREN tel quel, SIREN sans "
    "espaces, dénomination + code postal, sigle + code postal) ou pourquoi elle ne l'a pas été (ambiguë, "
    "aucun candidat). Une amende ambiguë n'est jamais rattachée.",
    LIGNES_DETTES: "Toutes les lignes de dettes (amendes, produits locaux, impôts professionnels, recettes non "
    "fiscales) dans un schéma unique, avec fichier et ligne d'origine.",
    LIGNES_CREANCES: "Toutes les lignes de créances (crédits de TVA, excédents, créances d'IS), certaines ou "
    "potentielles, avec fichier et ligne d'origine.",
    NON_POSITIONNEES: "Lignes gardées sans position : amende non rattachée, entreprise hors périmètre, SIREN "
    "inconnu du registre.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(key, deps=[REGISTER_KEY, *SOURCE_KEYS], description=desc, group_name="core",
                     kinds={"duckdb"}, partitions_def=departements_partitions,
                     automation_condition=FOLLOW_UPSTREAM)
        for key, desc in _DESCRIPTIONS.items()
    ],
    partitions_def=departements_partitions,
    pool=DUCKDB_POOL,
)
def lignes_unifiees(context: dg.AssetExecutionContext, warehouse: Warehouse):
    dept = context.partition_key
    # each build is checked by its Pandera models before it is committed
    with reported_as_failure(), warehouse.connect() as con:
        counts = {**consolidation.build_rattachement_amendes(con, dept), **consolidation.build_lignes(con, dept),
                  **consolidation.build_non_positionnees(con, dept)}
    for key in _DESCRIPTIONS:
        count = counts[".".join(key.path)]
        yield dg.MaterializeResult(asset_key=key, metadata={"dagster/row_count": dg.MetadataValue.int(count)})


core_assets = [lignes_unifiees]
