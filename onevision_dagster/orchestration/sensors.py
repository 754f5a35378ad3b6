"""Sensor on the landing zone: new or changed extracts trigger exactly the affected departments.

The cursor maps each file name to its modification time; a run key is built
from the department and the (file, mtime) pairs that triggered it, so the same
drop never triggers twice. A new register file refreshes the register, then
every department follows through automation. Badly named files are
reported once each, in the skip reason and the log.

Every department with extracts becomes a department partition (dynamic, see
`partitions.py`), in the same tick as its first run. On its first tick (no
cursor) the sensor takes as already seen the files the warehouse has loaded
with the same size and modification time (`quality.chargements`): after
`onevision run` (the demo), starting the UI does not reload everything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from onevision_dagster import warehouse as warehouse_db
from onevision_dagster.ingest.landing import LandingScan
from onevision_dagster.ingest.load import fingerprint
from onevision_dagster.orchestration.jobs import (
    REGISTER,
    departement_job,
    historique_job,
    register_job,
)
from onevision_dagster.orchestration.partitions import DATES_EXTRACTION, DEPARTEMENTS, known_departements, snapshot_key
from onevision_dagster.orchestration.schedules import department_keys
from onevision_dagster.resources import LandingZone, Warehouse


@dataclass
class LandingChanges:
    run_requests: list[dg.RunRequest]
    new_cursor: dict
    skip_reason: str | None
    badly_named: list[str]
    new_dates: list[str] = field(default_factory=list)  # extraction dates to add as snapshot partitions
    new_departements: list[str] = field(default_factory=list)  # departments to add as partitions


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


def baseline_cursor(scan: LandingScan, loaded: dict[str, str]) -> dict:
    """The cursor of a first tick: the files the warehouse loaded as they are now (`loaded`: file name ->
    fingerprint in `quality.chargements`) count as seen; any other triggers its department."""
    return {"files": {f.name: f.path.stat().st_mtime for f in scan.files if loaded.get(f.name) == fingerprint(f.path)}}


def loaded_files(path: str) -> dict[str, str] | None:
    """File name -> fingerprint of every file the warehouse recorded (loaded or refused); {} without a warehouse,
    None while another process holds its lock (the tick is then skipped, not guessed)."""
    if not Path(path).exists():
        return {}
    try:
        with warehouse_db.connect(path, read_only=True, lock_timeout_s=5.0) as con:
            tables = {t for (t,) in con.execute("SELECT table_schema || '.' || table_name "
                                                "FROM information_schema.tables").fetchall()}
            if "quality.chargements" not in tables:
                return {}
            rows = con.execute("SELECT fichier, empreinte FROM quality.chargements "
                               "WHERE fichier IS NOT NULL AND empreinte IS NOT NULL").fetchall()
    except duckdb.Error:
        return None
    return dict(rows)


def detect_changes(scan: LandingScan, cursor: dict, active: Sequence[str],
                   department_assets: Sequence[dg.AssetKey] | None = None,
                   known: Sequence[str] = ()) -> LandingChanges:
    """Pure function: compares the landing zone with the cursor (`{"files": {name: mtime}, "bad": [...]}`).

    `active`: the departments whose files trigger a run (every department with extracts); `known`: those that
    are partitions already (a department in `active` and not `known` is to add)."""
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
                                      job_name=register_job.name, tags={"onevision/declencheur": "capteur"}))
        for dept in active:  # every active department depends on the register
            changed_by_dept.setdefault(dept, [])
    new_dates: set[str] = set()
    for dept in sorted(changed_by_dept):
        tokens = changed_by_dept[dept] + register_changes
        snapshots = affected_snapshots(scan, dept, dates_by_dept.get(dept, []), register_dates)
        new_dates |= {d.isoformat() for d in snapshots}
        requests.append(dg.RunRequest(run_key=f"{dept}:{_key(tokens)}", partition_key=dept,
                                      job_name=departement_job.name,
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
                          [f"{p} ({bad_now[p]})" for p in new_bad], sorted(new_dates),
                          sorted(set(active) - set(known), key=list(active).index))


@dg.sensor(
    name="depot_extraits",
    jobs=[register_job, departement_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="En marche par défaut. Surveille la zone de dépôt (toutes les 60 s) : un extrait nouveau ou "
    "modifié déclenche son département, un département nouveau devient une partition ; un nouveau registre "
    "déclenche tous les départements. Les fichiers mal nommés sont signalés. Au premier passage, les fichiers "
    "déjà chargés dans l'entrepôt (onevision run) ne sont pas rechargés.",
)
def depot_extraits(context: dg.SensorEvaluationContext, landing: LandingZone,
                   warehouse: Warehouse) -> dg.SensorResult | dg.SkipReason:
    scan = landing.scan()
    if context.cursor:
        cursor = json.loads(context.cursor)
    else:
        loaded = loaded_files(warehouse.path)
        if loaded is None:
            return dg.SkipReason("Entrepôt occupé par une autre exécution : premier passage remis à plus tard.")
        cursor = baseline_cursor(scan, loaded)
    known = known_departements(context.instance)
    active = sorted(set(scan.departements()) | set(known), key=[*scan.departements(), *known].index)
    changes = detect_changes(scan, cursor, active, department_keys(), known)
    for bad in changes.badly_named:
        context.log.warning(f"Fichier mal nommé, non lu : {bad}")
    # the snapshot dates are added once the department's run succeeded (`historique_apres_departement`): a refused
    # file's date never becomes an empty column of the history grid
    partitions = [dg.AddDynamicPartitionsRequest(DEPARTEMENTS, changes.new_departements)] \
        if changes.new_departements else []
    return dg.SensorResult(run_requests=changes.run_requests, skip_reason=changes.skip_reason,
                           cursor=json.dumps(changes.new_cursor), dynamic_partitions_requests=partitions)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[departement_job],
    request_job=historique_job,
    name="historique_apres_departement",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="En marche par défaut. Après le rafraîchissement réussi d'un département déclenché par le "
    "capteur, ajoute les dates de ses extraits aux partitions de l'historique et calcule ses instantanés "
    "touchés par les nouveaux extraits (la date d'extraction, et l'instantané suivant dont la paire change).",
)
def historique_apres_departement(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    dept = run.tags.get("onevision/departement") or run.tags.get("dagster/partition")
    dates = [d for d in run.tags.get(DATES_TAG, "").split(",") if d]
    if not dept or not dates:
        return dg.SkipReason("Exécution sans instantané à calculer.")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"historique:{run.run_id}:{d}", partition_key=snapshot_key(d, dept),
                                    tags={"onevision/declencheur": "capteur", "onevision/departement": dept})
                      for d in dates],
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(DATES_EXTRACTION, dates)])
