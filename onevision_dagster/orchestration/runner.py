"""In-process runs of the asset graph, for `onevision run` and the benchmark.

The register is loaded once, then each department in its own run (a broken
file fails its department, not the others), then the national views from
whatever departments are materialized. Runs are recorded in the Dagster
instance of `DAGSTER_HOME` when set, so the UI shows them too.

The warehouse stays open for the whole sequence (`warehouse.session`): every
step gets a cursor of the open database instead of opening the file, creating
the layout and checkpointing it on close — about 50 ms per step, a minute over
the ~1 200 steps of a national refresh — and DuckDB's cache stays warm.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import time
from dataclasses import dataclass, field

import dagster as dg

from onevision_dagster import warehouse
from onevision_dagster.consolidate.snapshot import snapshot_dates
from onevision_dagster.consolidate.tables import create_tables
from onevision_dagster.history import snapshots as history_snapshots
from onevision_dagster.orchestration.jobs import (
    ON_REQUEST_GROUP,
    departement_job,
    fiches_job,
    historique_job,
    national_job,
    register_job,
)
from onevision_dagster.orchestration.partitions import (
    DATES_EXTRACTION,
    add_departements,
    snapshot_key,
    snapshots_partitions,
)


@dataclass
class StageResult:
    name: str
    ok: bool
    seconds: float
    errors: list[str] = field(default_factory=list)
    started: float = 0.0  # epoch seconds (time.time()) when the run was launched
    steps: dict[str, float] = field(default_factory=dict)  # step key -> seconds, as Dagster measured them
    notes: list[str] = field(default_factory=list)  # what the run did beyond its name (French, for the summary)


@dataclass
class PipelineResult:
    stages: list[StageResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.stages)

    def lines(self) -> list[str]:
        out = []
        for s in self.stages:
            status = "OK" if s.ok else "ÉCHEC"
            out.append(f"{s.name:<28} {status:<6} {s.seconds:6.1f} s")
            out.extend(f"    {e}" for e in s.errors)
            out.extend(f"    {n}" for n in s.notes)
        return out


def _notes(res: dg.ExecuteInJobResult) -> list[str]:
    """Impact rows of other departments recomputed because a snapshot landed late (contract v3, section 9); a
    snapshot built on the previous file of a source whose file of that date was refused."""
    out = []
    for event in res.get_asset_materialization_events():
        refused = event.materialization.metadata.get("fichiers_refuses")
        if refused is not None and refused.value != "aucun":
            out.append(f"fichier(s) refusé(s) à cette date : {refused.value} ; l'instantané lit pour leur source le "
                       "fichier lisible précédent (section 9 du contrat), jusqu'à ce qu'un fichier corrigé soit déposé")
        value = event.materialization.metadata.get("impacts_recalcules")
        if value is not None and value.value != "aucun":
            out.append("impacts recalculés (un instantané d'un autre département, daté au plus de leur début, "
                       f"calculé après eux) : {value.value}")
    return out


def _instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def _failures(result: dg.ExecuteInJobResult) -> list[str]:
    messages = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            desc = data.user_failure_data.description if data.user_failure_data else None
            messages.append(f"{event.step_key} : {desc or data.error.message.strip()}")
    return messages


def _step_seconds(result: dg.ExecuteInJobResult) -> dict[str, float]:
    steps = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            steps[event.step_key] = event.event_specific_data.duration_ms / 1000
    return steps


def _asset_groups(assets: list) -> tuple[list, list, list, list]:
    """(register, per department, per snapshot, national); assets written on request only are none of them."""
    register, partitioned, snapshots, national = [], [], [], []
    for a in assets:
        if set(a.group_names_by_key.values()) == {ON_REQUEST_GROUP}:
            continue
        if a.partitions_def == snapshots_partitions:
            snapshots.append(a)
        elif a.partitions_def is not None:
            partitioned.append(a)
        elif any(k.path[-1] == "entreprises" for k in a.keys):
            register.append(a)
        else:
            national.append(a)
    return register, partitioned, snapshots, national


def snapshots_to_compute(con, departement: str) -> list[dt.date]:
    """The department's snapshot dates whose stored history is missing or read other files than it would now,
    and the date after each (its movements compare with it): a late file inserts its snapshot and changes the
    pair after it (section 9)."""
    dates = snapshot_dates(con, departement)
    stale = {d for d in dates if not history_snapshots.is_up_to_date(con, departement, d)}
    stale |= {dates[i + 1] for i, d in enumerate(dates[:-1]) if d in stale}
    return sorted(stale)


def _job_name(keys: list[dg.AssetKey]) -> str:
    """The project's job whose selection holds these assets (the smallest first): the UI's runs list then reads
    like the CLI's summary (issue 22) instead of `__ephemeral_asset_job__`."""
    from onevision_dagster.definitions import defs

    for job in (register_job, fiches_job, historique_job, departement_job, national_job):
        if set(keys) <= set(defs.resolve_job_def(job.name).asset_layer.selected_asset_keys):
            return job.name
    raise ValueError(f"Aucun job du projet ne contient {', '.join(k.to_user_string() for k in keys)}")


def _warehouse_path(resources: dict) -> str | None:
    path = getattr(resources.get("warehouse"), "path", None)
    return path.get_value() if isinstance(path, dg.EnvVar) else path


PARALLELISM_ENV = "ONEVISION_PARALLELISME"
# a department's run that lost a write-write race on a shared table (DuckDB's optimistic concurrency) is run again,
# alone, after the others
_CONFLICT_MARKERS = ("Conflict", "TransactionContext Error")


def parallelism(instance: dg.DagsterInstance, asked: int | None = None) -> tuple[int, str | None]:
    """(department runs at a time, why fewer than asked). `ONEVISION_PARALLELISME` (default 1). Runs of one process
    share its open warehouse, so two can overlap (DuckDB releases the GIL while it works). Only without
    `DAGSTER_HOME`: each worker thread then has an ephemeral instance of its own (an instance's storage is not safe
    across threads: a national run failed on « database table is locked »), while runs recorded in `DAGSTER_HOME`
    share one instance, whose pools moreover hold a slot per step (`dagster.yaml`)."""
    asked = asked if asked is not None else int(os.environ.get(PARALLELISM_ENV) or 1)
    if asked <= 1:
        return 1, None
    if not instance.is_ephemeral:
        return 1, (f"{PARALLELISM_ENV}={asked} ignoré : les exécutions enregistrées dans DAGSTER_HOME passent un "
                   "département à la fois")
    return asked, None


def _in_threads(count: int, departements: list[str], selection: list, execute) -> list[StageResult]:
    """The department runs, `count` worker threads each on an ephemeral Dagster instance of its own, created and
    disposed in that thread (its SQLite storage may be used by no other thread); results in department order."""
    todo = list(enumerate(departements))
    stages: list[StageResult | None] = [None] * len(departements)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            with dg.DagsterInstance.ephemeral() as own:
                add_departements(own, departements)
                while True:
                    with lock:
                        if not todo or errors:
                            return
                        i, dept = todo.pop(0)
                    stages[i] = execute(f"département {dept}", selection, dept, own)
        except BaseException as e:  # re-raised in the calling thread
            with lock:
                errors.append(e)

    threads = [threading.Thread(target=worker, name=f"departements-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [s for s in stages if s is not None]


def run_pipeline(departements: list[str], include_national: bool = True,
                 log_level: str = "WARNING", keep_open: bool = True, include_history: bool = True,
                 history_dates: list[dt.date] | None = None, include_current: bool = True,
                 workers: int | None = None) -> PipelineResult:
    """`keep_open`: the warehouse stays open for all the runs (`warehouse.session`) instead of being
    opened and closed by every step; other processes then wait for the end to open it.

    `include_history`: after the current figures, every snapshot of the departments that is missing or out of
    date is computed (one run per date and department); `history_dates` forces those dates instead.
    `include_current=False` (a history backfill): no register or department run, and of the national views
    only the experiment's. `workers`: department runs at a time (`parallelism`); the register, the history and
    the national views run alone."""
    from onevision_dagster.definitions import all_assets, defs

    resources = defs.resources
    register, partitioned, history, national = _asset_groups(all_assets)
    result = PipelineResult()
    path = _warehouse_path(resources) if keep_open else None
    with _instance() as instance, (warehouse.session(path) if path else contextlib.nullcontext()):

        add_departements(instance, departements)  # the department partitions follow what is loaded (issue 22)

        def execute(name: str, selection: list, partition_key: str | None = None,
                    on: dg.DagsterInstance | None = None) -> StageResult:
            started, start = time.time(), time.perf_counter()
            keys = [k for a in selection for k in a.keys]
            res = defs.resolve_job_def(_job_name(keys)).execute_in_process(  # named runs, as in the summary
                asset_selection=keys,
                partition_key=partition_key,
                instance=on or instance,
                raise_on_error=False,
                tags={"onevision/origine": "cli"},
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            )
            return StageResult(name, res.success, time.perf_counter() - start, [] if res.success else _failures(res),
                               started, _step_seconds(res), _notes(res))

        def run(name: str, selection: list, partition_key: str | None = None) -> None:
            result.stages.append(execute(name, selection, partition_key))

        if include_current:
            run("registre", register)
            if not result.stages[-1].ok:
                # the last good register stays (section 4) and the snapshots read the latest readable one
                # (section 9): the departments are still refreshed on it, the run exits 1 and the dashboards
                # list the refused file; with no register ever loaded, the departments say so and fail
                result.stages[-1].notes.append(
                    "les départements sont consolidés avec le dernier registre valide ; déposez un registre corrigé")
            count, why = parallelism(instance, workers)
            if count > 1 and len(departements) > 1:
                with warehouse.connect(path or _warehouse_path(resources)) as con:
                    create_tables(con)  # the derived tables exist before two runs could race to create them
                stages = _in_threads(count, departements, partitioned, execute)
                for i, stage in enumerate(stages):
                    if not stage.ok and any(m in e for e in stage.errors for m in _CONFLICT_MARKERS):
                        stages[i] = execute(stage.name, partitioned, departements[i])
                        stages[i].notes.append("exécuté de nouveau seul après un conflit d'écriture concurrente")
                result.stages.extend(stages)
            else:
                for dept in departements:
                    run(f"département {dept}", partitioned, dept)
                if why and departements:
                    result.stages[-1].notes.append(why)
        if include_history:
            _run_history(instance, path or _warehouse_path(resources), departements, history_dates,
                         lambda name, key: run(name, history, key), result)
        if include_national:
            run("vue nationale", national if include_current else
                [a for a in national if any(k.path[0] in ("history", "experiment") for k in a.keys)])
    return result


def _run_history(instance: dg.DagsterInstance, path: str, departements: list[str],
                 forced: list[dt.date] | None, run, result: PipelineResult) -> None:
    """One run per snapshot to compute; the stage lines are gathered per department."""
    with warehouse.connect(path) as con:
        plan = {d: (sorted(set(forced) & set(snapshot_dates(con, d))) if forced is not None
                    else snapshots_to_compute(con, d)) for d in departements}
    dates = sorted({day.isoformat() for days in plan.values() for day in days})
    if dates:
        instance.add_dynamic_partitions(DATES_EXTRACTION, dates)
    for dept, days in plan.items():
        if not days:
            continue
        first = len(result.stages)
        for day in days:
            run(f"historique {dept} {day:%d/%m/%Y}", snapshot_key(day.isoformat(), dept))
        done = result.stages[first:]
        del result.stages[first:]
        result.stages.append(StageResult(
            f"historique {dept} ({len(done)} instantané(s))", all(s.ok for s in done), sum(s.seconds for s in done),
            [e for s in done for e in s.errors], done[0].started,
            {f"{s.name}:{k}": v for s in done for k, v in s.steps.items()},
            [f"instantané du {day:%d/%m/%Y} : {n}" for day, s in zip(days, done, strict=True) for n in s.notes]))
