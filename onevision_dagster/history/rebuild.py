"""The whole history of some departments in one process, without Dagster: what the snapshot partitions and the
national history compute, in the order they do. For tests and scripts that need a warehouse with its history
(the pipeline itself runs one Dagster run per snapshot)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb

from onevision_dagster.consolidate.snapshot import snapshot_dates
from onevision_dagster.history.impact import build_impact, build_impact_national
from onevision_dagster.history.movements import build_movements
from onevision_dagster.history.snapshots import build_snapshot


def rebuild_history(con: duckdb.DuckDBPyConnection, departements: Iterable[str], pilotes: Sequence[str]) -> None:
    """Every snapshot of each department, then the movements and impact of each pair, then the national view."""
    for dept in departements:
        days = snapshot_dates(con, dept)
        for day in days:
            build_snapshot(con, dept, day)
        for day in days:  # a pair's movements compare two stored snapshots: all of them first
            build_movements(con, dept, day)
            build_impact(con, dept, day)
    build_impact_national(con, pilotes)
