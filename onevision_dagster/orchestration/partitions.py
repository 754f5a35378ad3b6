"""The department partitions, defined once.

The set comes from `ONEVISION_DEPARTEMENTS` (default: the pilot departments;
`all`: the 101 codes). `onevision run` sets it to the departments present in
the landing zone before loading the definitions.
"""

from __future__ import annotations

import os

import dagster as dg

from onevision_dagster.contract.departements import parse_departements

DEPARTEMENTS_ENV = "ONEVISION_DEPARTEMENTS"


def active_departements() -> tuple[str, ...]:
    return parse_departements(os.environ.get(DEPARTEMENTS_ENV))


departements_partitions = dg.StaticPartitionsDefinition(list(active_departements()))


# Snapshots (SOURCES.md section 9): one partition per (extraction date, department). The dates are a dynamic
# dimension, added by the landing-zone sensor (or `onevision historique`) as extracts land: a year of weekly
# extracts is ~52 dates × 101 departments, shown by the UI as a grid where a row (a department's whole history)
# or a column (one date everywhere) is selected for a backfill in one click.
DATES_EXTRACTION = "dates_extraction"
dates_partitions = dg.DynamicPartitionsDefinition(name=DATES_EXTRACTION)
snapshots_partitions = dg.MultiPartitionsDefinition({"date": dates_partitions, "departement": departements_partitions})


def snapshot_key(date: str, departement: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": date, "departement": departement})
