"""The one Dagster entry point: assets, checks, resources, schedules and sensors."""

from __future__ import annotations

import dagster as dg

from onevision_dagster import filemodes
from onevision_dagster.assets import all_assets
from onevision_dagster.orchestration.config import default_resources
from onevision_dagster.orchestration.jobs import (
    departement_job,
    fiches_job,
    historique_job,
    national_job,
    refresh_job,
    register_job,
)
from onevision_dagster.orchestration.schedules import rafraichissement_quotidien
from onevision_dagster.orchestration.sensors import (
    depot_extraits,
    historique_apres_departement,
)

filemodes.restrict()  # code location and run workers: the warehouse, publication and exports are 0640 (issue 20)

defs = dg.Definitions(
    assets=all_assets,
    resources=default_resources(),
    jobs=[departement_job, register_job, national_job, historique_job, fiches_job, refresh_job],
    schedules=[rafraichissement_quotidien],
    sensors=[
        depot_extraits,
        historique_apres_departement,
        dg.AutomationConditionSensorDefinition(
            "automatisation", target=dg.AssetSelection.all(), default_status=dg.DefaultSensorStatus.RUNNING,
            description="En marche par défaut. Fait suivre les assets dérivés et les vues nationales après chaque "
            "chargement.",
        ),
    ],
    executor=dg.in_process_executor,
)
