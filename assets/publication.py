"""The last asset: a read-only copy of what the agents' application serves, swapped atomically.

DuckDB admits one writing process: the application never opens the warehouse, it reads the latest copy
published here (onevision_dagster/app/publication.py), so it keeps answering while a refresh writes.
"""

import dagster as dg

from onevision_dagster.app.publication import publish
from onevision_dagster.app.settings import publication_dir
from onevision_dagster.orchestration.automation import NATIONAL_CONDITION
from onevision_dagster.resources import Warehouse

from .history import MOUVEMENTS, POSITIONS_HISTORIQUE
from .marts import POSITIONS_NATIONALES
from .pools import DUCKDB_POOL

PUBLICATION_APP = dg.AssetKey(["publication", "app"])


@dg.asset(
    key=PUBLICATION_APP,
    deps=[POSITIONS_NATIONALES, POSITIONS_HISTORIQUE, MOUVEMENTS],
    automation_condition=NATIONAL_CONDITION,
    group_name="national",
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="Copie en lecture seule, pour l'application des agents (`onevision app`), des positions "
    "départementales et nationales, des lignes de dettes et de créances, des lignes sans position, de "
    "l'historique (positions de chaque instantané, mouvements) et des colonnes de recherche du registre "
    "courant, triées par SIREN, dans un nouveau fichier DuckDB du dossier "
    "de publication (ONEVISION_PUBLICATION, défaut : <dossier de l'entrepôt>/publication) ; le pointeur "
    "`current.json` est remplacé atomiquement, les anciennes copies sont supprimées après un délai de grâce. "
    "L'application continue de répondre pendant qu'un rafraîchissement écrit dans l'entrepôt.",
)
def publication_app(warehouse: Warehouse) -> dg.MaterializeResult:
    folder = publication_dir(warehouse.path)
    with warehouse.connect() as con:
        result = publish(con, folder)
    return dg.MaterializeResult(metadata={
        "fichier": dg.MetadataValue.path(str(result.path)),
        "entreprises": dg.MetadataValue.int(result.entreprises),
        "secondes": dg.MetadataValue.float(round(result.seconds, 2)),
        "copies_supprimees": dg.MetadataValue.int(len(result.removed)),
    })


publication_assets = [publication_app]
