"""The one Dagster entry point: assets, checks, resources, schedules and sensors."""

from __future__ import annotations

import dagster as dg

from onevision_dagster.assets.core import core_assets
from onevision_dagster.assets.marts import marts_assets
from onevision_dagster.assets.sources import source_assets
from onevision_dagster.config import default_resources

all_assets = [*source_assets, *core_assets, *marts_assets]

defs = dg.Definitions(
    assets=all_assets,
    resources=default_resources(),
    executor=dg.in_process_executor,
)
