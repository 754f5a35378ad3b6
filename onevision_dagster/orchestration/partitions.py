"""The department partitions, defined once, following the landing zone.

A department is a partition as soon as it has extracts: the partitions are dynamic (`departements`), added by
the landing-zone sensor for every department it finds there and by `onevision run` / `onevision historique` for
the departments they load. No setting lists them, so the UI shows exactly the departments whose figures exist
(a demo of 5 departments has 5 partitions, a sixth department's first file adds the sixth). The 101 INSEE codes
as static partitions were the other choice, refused: 96 empty partitions in every grid, and a schedule that
would refresh departments that never sent a file (docs/operations.md, "Partitions").
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import dagster as dg

from onevision_dagster.contract.departements import ALL_DEPARTEMENTS

# Checks are partitioned like their asset (one result per department or snapshot, not one for all):
# Dagster 1.13 flags `AssetCheckSpec(partitions_def=...)` as a preview, a warning at every start otherwise.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")

DEPARTEMENTS = "departements"
departements_partitions = dg.DynamicPartitionsDefinition(name=DEPARTEMENTS)


# Snapshots (SOURCES.md section 9): one partition per (extraction date, department). The dates are a dynamic
# dimension, added by the landing-zone sensor (or `onevision historique`) as extracts land: a year of weekly
# extracts is ~52 dates × 101 departments, shown by the UI as a grid where a row (a department's whole history)
# or a column (one date everywhere) is selected for a backfill in one click.
DATES_EXTRACTION = "dates_extraction"
dates_partitions = dg.DynamicPartitionsDefinition(name=DATES_EXTRACTION)
snapshots_partitions = dg.MultiPartitionsDefinition({"date": dates_partitions, "departement": departements_partitions})


def snapshot_key(date: str, departement: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": date, "departement": departement})


def known_departements(instance: dg.DagsterInstance) -> list[str]:
    """The department partitions of the instance, in INSEE order."""
    order = {c: i for i, c in enumerate(ALL_DEPARTEMENTS)}
    return sorted(instance.get_dynamic_partitions(DEPARTEMENTS), key=lambda c: order.get(c, len(order)))


def add_departements(instance: dg.DagsterInstance, departements: Iterable[str]) -> list[str]:
    """Adds the departments not yet partitions; returns those added."""
    new = sorted(set(departements) - set(instance.get_dynamic_partitions(DEPARTEMENTS)))
    if new:
        instance.add_dynamic_partitions(DEPARTEMENTS, new)
    return new
