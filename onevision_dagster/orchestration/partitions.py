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
