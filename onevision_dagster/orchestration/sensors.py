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
from dataclasses import dataclass

import dagster as dg

from onevision_dagster.ingest.landing import LandingScan, scan_landing
from onevision_dagster.orchestration.jobs import REFRESH_TARGET, REGISTER
from onevision_dagster.orchestration.partitions import departements_partitions
from onevision_dagster.orchestration.schedules import department_keys
from onevision_dagster.resources import LandingZone


@dataclass
class LandingChanges:
    run_requests: list[dg.RunRequest]
    new_cursor: dict
    skip_reason: str | None
    badly_named: list[str]


def _key(parts: list[str]) -> str:
    return hashlib.sha1("|".join(sorted(parts)).encode()).hexdigest()[:16]


def detect_changes(scan: LandingScan, cursor: dict, active: Sequence[str],
                   department_assets: Sequence[dg.AssetKey] | None = None) -> LandingChanges:
    """Pure function: compares the landing zone with the cursor (`{"files": {name: mtime}, "bad": [...]}`)."""
    seen: dict[str, float] = cursor.get("files", {})
    reported_bad = set(cursor.get("bad", []))
    current: dict[str, float] = {}
    changed_by_dept: dict[str, list[str]] = {}
    register_changes: list[str] = []
    for f in scan.files:
        mtime = f.path.stat().st_mtime
        current[f.name] = mtime
        if seen.get(f.name) == mtime:
            continue
        token = f"{f.name}@{mtime:.6f}"
        if f.departement is None:
            register_changes.append(token)
        elif f.departement in active:
            changed_by_dept.setdefault(f.departement, []).append(token)
    requests: list[dg.RunRequest] = []
    if register_changes:
        requests.append(dg.RunRequest(run_key=f"registre:{_key(register_changes)}", asset_selection=[REGISTER],
                                      tags={"onevision/declencheur": "capteur"}))
        for dept in active:  # every active department depends on the register
            changed_by_dept.setdefault(dept, [])
    for dept in sorted(changed_by_dept):
        tokens = changed_by_dept[dept] + register_changes
        requests.append(dg.RunRequest(run_key=f"{dept}:{_key(tokens)}", partition_key=dept,
                                      asset_selection=list(department_assets) if department_assets else None,
                                      tags={"onevision/declencheur": "capteur", "onevision/departement": dept}))
    bad_now = {str(b.path): b.reason for b in scan.badly_named}
    new_bad = sorted(set(bad_now) - reported_bad)
    skip = None
    if not requests:
        skip = "Aucun extrait nouveau ou modifié."
        if new_bad:
            skip += " Fichiers mal nommés ignorés : " + "; ".join(f"{p} ({bad_now[p]})" for p in new_bad)
    return LandingChanges(requests, {"files": current, "bad": sorted(bad_now)}, skip,
                          [f"{p} ({bad_now[p]})" for p in new_bad])


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
    changes = detect_changes(scan_landing(landing.root), cursor, active, department_keys())
    for bad in changes.badly_named:
        context.log.warning(f"Fichier mal nommé, non lu : {bad}")
    return dg.SensorResult(run_requests=changes.run_requests, skip_reason=changes.skip_reason,
                           cursor=json.dumps(changes.new_cursor))
