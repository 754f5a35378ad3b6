"""Thin Dagster assets, one module per layer; `all_assets` is what the one `Definitions` loads."""

from onevision_dagster.assets.core import core_assets
from onevision_dagster.assets.experiment import experiment_assets
from onevision_dagster.assets.history import history_assets
from onevision_dagster.assets.marts import marts_assets
from onevision_dagster.assets.publication import publication_assets
from onevision_dagster.assets.reports import report_assets
from onevision_dagster.assets.sources import source_assets

all_assets = [*source_assets, *core_assets, *marts_assets, *report_assets, *history_assets, *experiment_assets,
              *publication_assets]
