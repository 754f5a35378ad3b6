"""Sensor on the landing zone: new or changed extracts trigger exactly the affected departments.

The cursor maps each file name to its modification time; a run key is built
from the department and the (file, mtime) pairs that triggered it, so the same
drop never triggers twice. A new register file refreshes the register, then
every active department follows through automation. Badly named files are
reported once each, in the skip reason and the log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from onevision_dagster.ingest.landing import LandingScan
from onevision_dagster.orchestration.jobs import (
    REFRESH_TARGET,
    REGISTER,
    departement_job,
    fiches_job,
    historique_job,
)
from onevision_dagster.orchestration.partitions import DATES_EXTRACTION, departements_partitions, snapshot_key
from onevision_dagster.orchestration.schedules import department_keys
from onevision_dagster.resources import LandingZone


@dataclass
class LandingChanges:
    run_requests: list[dg.RunRequest]
    new_cursor: dict
    skip_reason: str | None
    badly_named: list[str]
    new_dates: list[str] = field(default_factory=list)  # extraction dates to add as snapshot partitions


DATES_TAG = "onevision/instantanes"  # on a department run: the snapshot dates to compute once it succeeded


def affected_snapshots(scan: LandingScan, departement: str, changed: list[date], register: list[date]) -> list[date]:
    """The department's snapshot dates a change touches (section 9): each changed extraction date, the next
    snapshot after it (their pair changes), and for a new register dated r every snapshot from r until the next
    register (they read it now)."""
    dates = sorted({f.as_of for f in scan.files if f.departement == departement})
    registers = sorted({f.as_of for f in scan.files if f.departement is None})
    out = set(d for d in changed if d in dates)
    for r in register:
        later = [x for x in registers if x > r]
        out |= {d for d in dates if d >= r and (not later or d < later[0])} or ({dates[0]} if dates else set())
    out |= {dates[i + 1] for i, d in enumerate(dates[:-1]) if d in out}
    return sorted(out)


def _key(parts: list[str]) -> str:
    return hashlib.sha1("|".join(sorted(parts)).encode()).hexdigest()[:16]


def detect_changes(scan: LandingScan, cursor: dict, active: Sequence[str],
                   department_assets: Sequence[dg.AssetKey] | None = None) -> LandingChanges:
    """Pure function: compares the landing zone with the cursor (`{"files": {name: mtime}, "bad": [...]}`)."""
    seen: dict[str, float] = cursor.get("files", {})
    reported_bad = set(cursor.get("bad", []))
    current: dict[str, float] = {}
    changed_by_dept: dict[str, list[str]] = {}
    dates_by_dept: dict[str, list[date]] = {}
    register_changes: list[str] = []
    register_dates: list[date] = []
    for f in scan.files:
        mtime = f.path.stat().st_mtime
        current[f.name] = mtime
        if seen.get(f.name) == mtime:
            continue
        token = f"{f.name}@{mtime:.6f}"
        if f.departement is None:
            register_changes.append(token)
            register_dates.append(f.as_of)
        elif f.departement in active:
            changed_by_dept.setdefault(f.departement, []).append(token)
            dates_by_dept.setdefault(f.departement, []).append(f.as_of)
    requests: list[dg.RunRequest] = []
    if register_changes:
        requests.append(dg.RunRequest(run_key=f"registre:{_key(register_changes)}", asset_selection=[REGISTER],
                                      tags={"onevision/declencheur": "capteur"}))
        for dept in active:  # every active department depends on the register
            changed_by_dept.setdefault(dept, [])
    new_dates: set[str] = set()
    for dept in sorted(changed_by_dept):
        tokens = changed_by_dept[dept] + register_changes
        snapshots = affected_snapshots(scan, dept, dates_by_dept.get(dept, []), register_dates)
        new_dates |= {d.isoformat() for d in snapshots}
        requests.append(dg.RunRequest(run_key=f"{dept}:{_key(tokens)}", partition_key=dept,
                                      asset_selection=list(department_assets) if department_assets else None,
                                      tags={"onevision/declencheur": "capteur", "onevision/departement": dept,
                                            DATES_TAG: ",".join(d.isoformat() for d in snapshots)}))
    bad_now = {str(b.path): b.reason for b in scan.badly_named}
    new_bad = sorted(set(bad_now) - reported_bad)
    skip = None
    if not requests:
        skip = "Aucun extrait nouveau ou modifié."
        if new_bad:
            skip += " Fichiers mal nommés ignorés : " + "; ".join(f"{p} ({bad_now[p]})" for p in new_bad)
    return LandingChanges(requests, {"files": current, "bad": sorted(bad_now)}, skip,
                          [f"{p} ({bad_now[p]})" for p in new_bad], sorted(new_dates))


@dg.sensor(
    name="depot_extraits",
    target=REFRESH_TARGET,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Surveille la zone de dépôt : un extrait nouveau ou modifié déclenche son département ; un "
    "nouveau registre déclenche tous les départements actifs. Les fichiers mal nommés sont signalés.",
)
def depot_extraits(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    active = departements_partitions.get_partition_keys()
    changes = detect_changes(landing.scan(), cursor, active, department_keys())
    for bad in changes.badly_named:
        context.log.warning(f"Fichier mal nommé, non lu : {bad}")
    partitions = [dg.AddDynamicPartitionsRequest(DATES_EXTRACTION, changes.new_dates)] if changes.new_dates else []
    return dg.SensorResult(run_requests=changes.run_requests, skip_reason=changes.skip_reason,
                           cursor=json.dumps(changes.new_cursor), dynamic_partitions_requests=partitions)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[departement_job],
    request_job=historique_job,
    name="historique_apres_departement",
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Après le rafraîchissement réussi d'un département déclenché par le capteur, calcule ses "
    "instantanés touchés par les nouveaux extraits (la date d'extraction, et l'instantané suivant dont la paire "
    "change).",
)
def historique_apres_departement(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    dept = run.tags.get("onevision/departement") or run.tags.get("dagster/partition")
    dates = [d for d in run.tags.get(DATES_TAG, "").split(",") if d]
    return [dg.RunRequest(run_key=f"historique:{run.run_id}:{d}", partition_key=snapshot_key(d, dept),
                          tags={"onevision/declencheur": "capteur", "onevision/departement": dept})
            for d in dates if dept]


DEPARTEMENT_DIMENSION_TAG = "dagster/partition/departement"  # Dagster's tag of one dimension of a run's partition
PENDING = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING,
           dg.DagsterRunStatus.STARTED]


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[historique_job],
    request_job=fiches_job,
    name="fiches_apres_historique",
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Quand le dernier instantané en attente d'un département est calculé (capteur ou remplissage), "
    "réécrit ses fiches entreprises : elles montrent alors son historique à jour.",
)
def fiches_apres_historique(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    dept = run.tags.get(DEPARTEMENT_DIMENSION_TAG) or run.tags.get("onevision/departement")
    if not dept:
        return dg.SkipReason("Exécution d'historique sans département.")
    pending = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=historique_job.name, statuses=PENDING,
                              tags={DEPARTEMENT_DIMENSION_TAG: dept}), limit=1)
    if pending:  # the department's last snapshot run to finish rewrites its sheets, once
        return dg.SkipReason(f"Département {dept} : d'autres instantanés sont en attente.")
    return dg.RunRequest(run_key=f"fiches:{run.run_id}", partition_key=dept,
                         tags={"onevision/declencheur": "capteur", "onevision/departement": dept})
