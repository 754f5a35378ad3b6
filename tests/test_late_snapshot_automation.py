"""Contract v3, section 9 (issue 16, point 5), through the operators' automation: a department's extracts land
late; the landing-zone sensor requests its refresh, the run's success sensor requests its snapshots, and the
automation then refreshes the national experiment, which recomputes the other department's impact row its
snapshot changes and says which. Each step is the real sensor or condition, evaluated with Dagster's test APIs;
each run they request is executed in process."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb

from onevision_dagster.definitions import all_assets, defs
from onevision_dagster.orchestration.jobs import DEPARTMENT_SELECTION, HISTORY_GROUP
from onevision_dagster.orchestration.partitions import DATES_EXTRACTION, DEPARTEMENTS, snapshot_key
from onevision_dagster.orchestration.sensors import depot_extraits, historique_apres_departement

from .landing_files import hold_back, land, pipeline_resources

IMPACT_NATIONAL = dg.AssetKey(["history", "impact_national"])


def _tick(instance: dg.DagsterInstance, resources: dict, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources={
        "landing": resources["landing"], "warehouse": resources["warehouse"]})
    return depot_extraits(context)


def _run(instance: dg.DagsterInstance, resources: dict, selection: dg.AssetSelection,
         request: dg.RunRequest | None = None) -> dg.ExecuteInProcessResult:
    result = dg.materialize(all_assets, selection=selection, resources=resources, instance=instance,
                            partition_key=request.partition_key if request else None,
                            tags=dict(request.tags) if request else None)
    assert result.success
    return result


def _snapshot_requests(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[dg.RunRequest]:
    context = dg.build_run_status_sensor_context(
        sensor_name="historique_apres_departement", dagster_instance=instance, dagster_run=run,
        dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name=run.job_name))
    result = historique_apres_departement(context)
    for added in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(added.partitions_def_name, list(added.partition_keys))
    return list(result.run_requests)


def test_a_late_department_refreshes_the_other_departments_impact_through_the_sensors(
        landing_copy: Path, tmp_path: Path) -> None:
    late = hold_back(landing_copy, "95", tmp_path / "late95")
    resources = pipeline_resources(landing_copy, tmp_path)
    warehouse = tmp_path / "w.duckdb"
    department = DEPARTMENT_SELECTION  # the selection of the job `rafraichissement_departement`
    history = dg.AssetSelection.groups(HISTORY_GROUP)
    with dg.instance_for_test() as instance:
        # 17 and the register land; the sensor requests them, each run's success requests its snapshots
        first = _tick(instance, resources, None)
        for added in first.dynamic_partitions_requests:
            instance.add_dynamic_partitions(added.partitions_def_name, list(added.partition_keys))
        assert sorted(str(r.partition_key) for r in first.run_requests) == ["17", "None"]
        for request in sorted(first.run_requests, key=lambda r: r.partition_key or ""):  # the register first
            selection = department if request.partition_key else dg.AssetSelection.assets(["raw", "entreprises"])
            if request.partition_key is None:
                _run(instance, resources, selection)
            else:
                run = _run(instance, resources, selection, request).dagster_run
                for snapshot in _snapshot_requests(instance, run):
                    _run(instance, resources, history, snapshot)
        # the experiment is up to date: the automation asks for nothing more
        _run(instance, resources, dg.AssetSelection.assets(IMPACT_NATIONAL))
        evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                       asset_selection=dg.AssetSelection.assets(IMPACT_NATIONAL))
        assert evaluation.total_requested == 0
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("SELECT rembourse_a_risque FROM history.impact WHERE departement = '17'"
                               ).fetchone() == (Decimal("1375.00"),)  # SOLAIRE ATLANTIQUE's taxes in 17 only

        # 95's extracts land late: the sensor requests 95 with its two snapshot dates
        land(late, landing_copy)
        tick = _tick(instance, resources, first.cursor)
        (request,) = tick.run_requests
        assert request.partition_key == "95"
        assert request.tags["onevision/instantanes"] == "2026-11-20,2026-11-27"
        for added in tick.dynamic_partitions_requests:
            instance.add_dynamic_partitions(added.partitions_def_name, list(added.partition_keys))
        run = _run(instance, resources, department, request).dagster_run
        snapshots = _snapshot_requests(instance, run)
        assert [r.partition_key for r in snapshots] == [snapshot_key("2026-11-20", "95"),
                                                        snapshot_key("2026-11-27", "95")]
        for snapshot in snapshots:
            _run(instance, resources, history, snapshot)
        assert set(instance.get_dynamic_partitions(DEPARTEMENTS)) >= {"17", "95"}
        assert set(instance.get_dynamic_partitions(DATES_EXTRACTION)) == {"2026-11-20", "2026-11-27"}

        # the automation refreshes the experiment, which recomputes 17's pair and names it
        evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                       asset_selection=dg.AssetSelection.assets(IMPACT_NATIONAL),
                                                       cursor=evaluation.cursor)
        assert evaluation.total_requested == 1
        national = _run(instance, resources, dg.AssetSelection.assets(IMPACT_NATIONAL))
        meta = national.get_asset_materialization_events()[0].materialization.metadata
        assert meta["impacts_recalcules"].value == "17 20/11/2026→27/11/2026"
        with duckdb.connect(str(warehouse), read_only=True) as con:
            # 4 375: SOLAIRE ATLANTIQUE's CFE of 3 000 in 95 could have been offset too
            assert con.execute("SELECT rembourse_a_risque FROM history.impact WHERE departement = '17'"
                               ).fetchone() == (Decimal("4375.00"),)
