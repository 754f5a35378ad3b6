"""Weekday refresh of the active departments, in Europe/Paris time.

The schedule asks for the register and one run per department partition (every
department with extracts, see `partitions.py`); the
national views follow through declarative automation once no department is in
progress (see `automation.py`), so the national figures are never computed
from a half-refreshed set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import dagster as dg

from onevision_dagster.assets import all_assets
from onevision_dagster.orchestration.jobs import DEPARTMENT_GROUPS, REGISTER, refresh_job
from onevision_dagster.orchestration.partitions import known_departements

SCHEDULE_ENV = "ONEVISION_CRON"
DEFAULT_CRON = "0 6 * * 1-5"  # 06:00, Monday to Friday
TIMEZONE = "Europe/Paris"


def department_keys() -> list[dg.AssetKey]:
    """Every asset partitioned by department, read from the asset modules (not from the `Definitions`,
    which imports this module)."""
    return sorted(key for a in all_assets if a.partitions_def is not None
                  for key, group in a.group_names_by_key.items() if group in DEPARTMENT_GROUPS)


def refresh_requests(key: str, departements: Sequence[str], trigger: str) -> list[dg.RunRequest]:
    """The register first, then one run per department (all its partitioned assets)."""
    keys = department_keys()
    requests = [dg.RunRequest(run_key=f"registre:{key}", asset_selection=[REGISTER],
                              tags={"onevision/declencheur": trigger})]
    requests += [
        dg.RunRequest(run_key=f"{dept}:{key}", partition_key=dept, asset_selection=keys,
                      tags={"onevision/declencheur": trigger, "onevision/departement": dept})
        for dept in departements
    ]
    return requests


@dg.schedule(
    cron_schedule=os.environ.get(SCHEDULE_ENV, DEFAULT_CRON),
    execution_timezone=TIMEZONE,
    job=refresh_job,
    name="rafraichissement_quotidien",
    description="En marche par défaut. Jours ouvrés (heure de Paris, `ONEVISION_CRON`) : registre puis chaque "
    "département qui a des extraits (ses partitions) ; les vues nationales suivent par automatisation. Même sans "
    "nouveau fichier, il recalcule la fraîcheur des extraits (contrôle `fraicheur_extraction`).",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def rafraichissement_quotidien(context: dg.ScheduleEvaluationContext):
    when = context.scheduled_execution_time
    key = when.strftime("%Y-%m-%d") if when else "manuel"
    return refresh_requests(key, known_departements(context.instance), "planning")
