"""Schedule, landing-zone sensor and automation conditions, through Dagster's test APIs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dagster as dg

from onevision_dagster.definitions import defs
from onevision_dagster.orchestration.automation import NATIONAL_CONDITION
from onevision_dagster.orchestration.schedules import rafraichissement_quotidien
from onevision_dagster.orchestration.sensors import depot_extraits
from onevision_dagster.resources import LandingZone


def _evaluate(landing: Path, cursor: str | None = None) -> dg.SensorResult:
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={
            "landing": LandingZone(path=str(landing))}, definitions=defs)
        return depot_extraits(context)


def _partitions(result: dg.SensorResult) -> list[str | None]:
    return [r.partition_key for r in result.run_requests]


def test_first_tick_requests_register_and_each_department_with_files(landing_copy: Path) -> None:
    result = _evaluate(landing_copy)
    # register first (no partition), then every active department (the register feeds them all)
    assert _partitions(result) == [None, "17", "91", "95"]
    assert result.run_requests[0].asset_selection == [dg.AssetKey(["raw", "entreprises"])]
    dept_assets = result.run_requests[1].asset_selection
    assert dg.AssetKey(["raw", "amendes"]) in dept_assets and dg.AssetKey(["marts", "positions"]) in dept_assets
    assert set(json.loads(result.cursor)["files"]) == {p.name for p in landing_copy.glob("*/*.csv")}


def test_nothing_new_gives_a_skip_reason(landing_copy: Path) -> None:
    first = _evaluate(landing_copy)
    second = _evaluate(landing_copy, first.cursor)
    assert second.run_requests == []
    assert "Aucun extrait nouveau" in second.skip_reason.skip_message


def test_new_file_triggers_only_its_department(landing_copy: Path) -> None:
    cursor = _evaluate(landing_copy).cursor
    new = landing_copy / "spl" / "spl_95_20261121.csv"
    new.write_bytes((landing_copy / "spl" / "spl_17_20261120.csv").read_bytes())
    result = _evaluate(landing_copy, cursor)
    assert _partitions(result) == ["95"]
    assert result.run_requests[0].run_key.startswith("95:")


def test_changed_file_triggers_again_with_a_new_run_key(landing_copy: Path) -> None:
    first = _evaluate(landing_copy)
    key_17 = next(r.run_key for r in first.run_requests if r.partition_key == "17")
    path = landing_copy / "rnf" / "rnf_17_20261120.csv"
    path.write_bytes(path.read_bytes())
    later = time.time() + 5
    os.utime(path, (later, later))
    result = _evaluate(landing_copy, first.cursor)
    assert _partitions(result) == ["17"]
    assert result.run_requests[0].run_key != key_17


def test_badly_named_file_is_reported_not_read(landing_copy: Path) -> None:
    cursor = _evaluate(landing_copy).cursor
    (landing_copy / "amendes" / "amendes_17_2026-11-21.csv").write_text("x")
    (landing_copy / "amendes" / "amendes_99_20261121.csv").write_text("x")
    result = _evaluate(landing_copy, cursor)
    assert result.run_requests == []
    message = result.skip_reason.skip_message
    assert "amendes_17_2026-11-21.csv" in message and "amendes_99_20261121.csv" in message
    assert "département inconnu" in message
    # reported once: the next tick is quiet about it
    again = _evaluate(landing_copy, result.cursor)
    assert "mal nommés" not in again.skip_reason.skip_message


def test_weekday_schedule_in_paris_time_requests_every_active_department() -> None:
    assert rafraichissement_quotidien.execution_timezone == "Europe/Paris"
    assert rafraichissement_quotidien.cron_schedule == "0 6 * * 1-5"
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance,
                                            scheduled_execution_time=__import__("datetime").datetime(2026, 11, 23, 6))
        requests = list(rafraichissement_quotidien(context))
    assert [r.partition_key for r in requests] == [None, "17", "91", "95"]
    assert requests[1].run_key == "17:2026-11-23"


def test_national_views_do_not_wait_for_missing_departments() -> None:
    labels = str(NATIONAL_CONDITION)
    assert "any_deps_missing" not in labels and "any_deps_in_progress" in labels
    graph = defs.resolve_asset_graph()
    national = graph.get(dg.AssetKey(["marts", "positions_nationales"]))
    assert national.automation_condition is NATIONAL_CONDITION


def test_new_dates_become_snapshot_partitions_and_department_runs_carry_them(landing_copy: Path) -> None:
    result = _evaluate(landing_copy)
    (request,) = result.dynamic_partitions_requests
    assert request.partitions_def_name == "dates_extraction"
    assert list(request.partition_keys) == ["2026-11-20", "2026-11-27"]
    run_17 = next(r for r in result.run_requests if r.partition_key == "17")
    assert run_17.tags["onevision/instantanes"] == "2026-11-20,2026-11-27"


def test_a_late_file_dated_earlier_touches_its_snapshot_and_the_next(landing_copy: Path) -> None:
    cursor = _evaluate(landing_copy).cursor
    late = landing_copy / "rnf" / "rnf_17_20261123.csv"
    late.write_bytes((landing_copy / "rnf" / "rnf_17_20261120.csv").read_bytes())
    result = _evaluate(landing_copy, cursor)
    (run,) = result.run_requests
    # the new snapshot of 23/11, and 27/11 whose pair is now (23/11, 27/11)
    assert run.tags["onevision/instantanes"] == "2026-11-23,2026-11-27"
    assert list(result.dynamic_partitions_requests[0].partition_keys) == ["2026-11-23", "2026-11-27"]


def test_a_successful_department_run_requests_its_snapshots() -> None:
    from onevision_dagster.orchestration.sensors import historique_apres_departement

    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(
            job_def=defs.resolve_job_def("rafraichissement_departement"),
            tags={"onevision/departement": "17", "onevision/instantanes": "2026-11-20,2026-11-27",
                  "dagster/partition": "17"},
        )
        context = dg.build_run_status_sensor_context(
            sensor_name="historique_apres_departement", dagster_instance=instance, dagster_run=run,
            dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name=run.job_name),
        )
        requests = historique_apres_departement(context)
    assert [r.partition_key for r in requests] == ["2026-11-20|17", "2026-11-27|17"]


def _history_run(instance: dg.DagsterInstance, partition: str, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    job = defs.resolve_job_def("historique")
    date, dept = partition.split("|")
    run = instance.create_run_for_job(
        job_def=job,
        tags={"dagster/partition": partition, "dagster/partition/date": date, "dagster/partition/departement": dept},
    )
    if status == dg.DagsterRunStatus.SUCCESS:
        instance.run_storage.handle_run_event(
            run.run_id, dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name=job.name))
    return instance.get_run_by_id(run.run_id)


def test_sheets_are_rewritten_once_the_departments_last_snapshot_run_succeeded() -> None:
    """Sheets written by the department's run predate its new snapshot: once every snapshot run of the
    department is done, one run rewrites them (and not while another is still queued)."""
    from onevision_dagster.orchestration.sensors import fiches_apres_historique

    def evaluate(instance: dg.DagsterInstance, run: dg.DagsterRun):
        return fiches_apres_historique(dg.build_run_status_sensor_context(
            sensor_name="fiches_apres_historique", dagster_instance=instance, dagster_run=run,
            dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name=run.job_name)))

    with dg.instance_for_test() as instance:
        first = _history_run(instance, "2026-11-20|17", dg.DagsterRunStatus.SUCCESS)
        second = _history_run(instance, "2026-11-27|17", dg.DagsterRunStatus.NOT_STARTED)
        _history_run(instance, "2026-11-27|91", dg.DagsterRunStatus.NOT_STARTED)  # another department does not hold 17
        waiting = evaluate(instance, first)
        assert isinstance(waiting, dg.SkipReason)
        assert "17" in waiting.skip_message
        instance.delete_run(second.run_id)
        second = _history_run(instance, "2026-11-27|17", dg.DagsterRunStatus.SUCCESS)
        request = evaluate(instance, second)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "17"
    assert request.run_key == f"fiches:{second.run_id}"
    assert defs.resolve_job_def("fiches_entreprises").asset_layer.executable_asset_keys == {
        dg.AssetKey(["rapports", "fiches_entreprises"])}
