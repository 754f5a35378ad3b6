"""Schedule, landing-zone sensor and automation conditions, through Dagster's test APIs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dagster as dg

from onevision_dagster.definitions import defs
from onevision_dagster.orchestration.automation import NATIONAL_CONDITION
from onevision_dagster.orchestration.schedules import department_keys, rafraichissement_quotidien
from onevision_dagster.orchestration.sensors import depot_extraits
from onevision_dagster.resources import LandingZone, Warehouse


def _evaluate(landing: Path, cursor: str | None = None, warehouse: Path | None = None,
              known: tuple[str, ...] = ()) -> dg.SensorResult:
    """One tick; `warehouse`: the file read on a first tick (default: none beside the landing zone);
    `known`: the department partitions the instance already has."""
    with dg.instance_for_test() as instance:
        if known:
            instance.add_dynamic_partitions("departements", list(known))
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={
            "landing": LandingZone(path=str(landing)),
            "warehouse": Warehouse(path=str(warehouse or landing.parent / "absent.duckdb"))}, definitions=defs)
        return depot_extraits(context)


def _partitions(result: dg.SensorResult) -> list[str | None]:
    return [r.partition_key for r in result.run_requests]


def test_first_tick_requests_register_and_each_department_with_files(landing_copy: Path) -> None:
    result = _evaluate(landing_copy)
    # register first (no partition), then every active department (the register feeds them all)
    assert _partitions(result) == [None, "17", "95"]
    assert result.run_requests[0].asset_selection == [dg.AssetKey(["raw", "entreprises"])]
    dept_assets = result.run_requests[1].asset_selection
    assert dg.AssetKey(["raw", "amendes"]) in dept_assets and dg.AssetKey(["marts", "positions"]) in dept_assets
    assert set(json.loads(result.cursor)["files"]) == {p.name for p in landing_copy.glob("*/*.csv")}
    # named jobs: the runs list tells the register from a department refresh (issue 22)
    assert [r.job_name for r in result.run_requests] == ["chargement_registre"] + ["rafraichissement_departement"] * 2


def test_every_department_with_extracts_becomes_a_partition_in_the_same_tick(landing_copy: Path) -> None:
    (partitions,) = _evaluate(landing_copy).dynamic_partitions_requests
    assert partitions.partitions_def_name == "departements"
    assert list(partitions.partition_keys) == ["17", "95"]  # the samples' departments, nothing configured
    # a department seen for the first time (33) is added and refreshed; 17 and 95 already known are not added
    cursor = _evaluate(landing_copy).cursor
    new = landing_copy / "spl" / "spl_33_20261127.csv"
    new.write_bytes((landing_copy / "spl" / "spl_17_20261127.csv").read_bytes())
    result = _evaluate(landing_copy, cursor, known=("17", "95"))
    assert _partitions(result) == ["33"]
    assert [list(r.partition_keys) for r in result.dynamic_partitions_requests
            if r.partitions_def_name == "departements"] == [["33"]]


def test_first_tick_after_onevision_run_does_not_reload_what_the_warehouse_loaded(tmp_path: Path,
                                                                               landing_copy: Path) -> None:
    """The demo loads everything with `onevision run`; the sensor then starts (no cursor): files the warehouse
    recorded with the same size and mtime are seen, a file rewritten since (or never loaded) triggers."""
    from onevision_dagster import warehouse as wh
    from onevision_dagster.ingest.load import fingerprint

    db = tmp_path / "w.duckdb"
    files = sorted(landing_copy.glob("*/*.csv"))
    with wh.connect(db) as con:
        for f in files:
            con.execute("INSERT INTO quality.chargements (source, fichier, empreinte, lignes_lues, lignes_gardees, "
                        "lignes_rejetees, charge_le, statut) VALUES (?, ?, ?, 0, 0, 0, now(), 'CHARGE')",
                        [f.parent.name, f.name, fingerprint(f)])
    assert _evaluate(landing_copy, warehouse=db, known=("17", "95")).run_requests == []
    path = landing_copy / "rnf" / "rnf_95_20261127.csv"
    later = time.time() + 5
    os.utime(path, (later, later))
    result = _evaluate(landing_copy, warehouse=db, known=("17", "95"))
    assert _partitions(result) == ["95"]


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
        # the departments are the partitions the sensor or `onevision run` added, in INSEE order
        instance.add_dynamic_partitions("departements", ["95", "2A", "17", "91"])
        context = dg.build_schedule_context(instance=instance,
                                            scheduled_execution_time=__import__("datetime").datetime(2026, 11, 23, 6))
        requests = list(rafraichissement_quotidien(context))
    assert [r.partition_key for r in requests] == [None, "17", "2A", "91", "95"]
    assert requests[1].run_key == "17:2026-11-23"


def test_the_automation_that_keeps_figures_fresh_runs_by_default() -> None:
    """An operator finds the schedule and every sensor running after the demo (issue 22), each saying so."""
    assert rafraichissement_quotidien.default_status == dg.DefaultScheduleStatus.RUNNING
    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {"depot_extraits", "historique_apres_departement", "automatisation"}
    for sensor in sensors.values():
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, sensor.name
    for definition in [rafraichissement_quotidien, *sensors.values()]:
        assert "par défaut" in definition.description or definition.name == "automatisation"


def test_checks_of_department_and_snapshot_assets_are_partitioned_like_them() -> None:
    graph = defs.resolve_asset_graph()
    checks = {key: graph.get(key) for key in graph.asset_check_keys}
    assert len(checks) >= 20
    for key, node in checks.items():
        assert node.partitions_def == graph.get(key.asset_key).partitions_def, key.to_user_string()
    partitioned = [k for k, n in checks.items() if n.partitions_def is not None]
    assert dg.AssetCheckKey(dg.AssetKey(["marts", "positions"]), "totaux_egaux_aux_lignes") in partitioned
    assert dg.AssetCheckKey(dg.AssetKey(["history", "mouvements"]), "mouvements_reconcilient_les_stocks") in partitioned


def test_national_views_do_not_wait_for_missing_departments() -> None:
    labels = str(NATIONAL_CONDITION)
    assert "any_deps_missing" not in labels and "any_deps_in_progress" in labels
    graph = defs.resolve_asset_graph()
    national = graph.get(dg.AssetKey(["marts", "positions_nationales"]))
    assert national.automation_condition is NATIONAL_CONDITION


def test_new_dates_become_snapshot_partitions_and_department_runs_carry_them(landing_copy: Path) -> None:
    result = _evaluate(landing_copy)
    # only the departments are added now; the dates once the department's run succeeded (a refused file's date
    # never becomes an empty column of the history grid)
    assert [r.partitions_def_name for r in result.dynamic_partitions_requests] == ["departements"]
    run_17 = next(r for r in result.run_requests if r.partition_key == "17")
    assert run_17.tags["onevision/instantanes"] == "2026-11-20,2026-11-27"


def test_a_late_file_dated_earlier_touches_its_snapshot_and_the_next(landing_copy: Path) -> None:
    cursor = _evaluate(landing_copy).cursor
    late = landing_copy / "rnf" / "rnf_17_20261123.csv"
    late.write_bytes((landing_copy / "rnf" / "rnf_17_20261120.csv").read_bytes())
    result = _evaluate(landing_copy, cursor, known=("17", "95"))
    (run,) = result.run_requests
    # the new snapshot of 23/11, and 27/11 whose pair is now (23/11, 27/11)
    assert run.tags["onevision/instantanes"] == "2026-11-23,2026-11-27"
    assert result.dynamic_partitions_requests == []  # 17 and 95 are partitions already, dates come after the run


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
        result = historique_apres_departement(context)
    assert [r.partition_key for r in result.run_requests] == ["2026-11-20|17", "2026-11-27|17"]
    (dates,) = result.dynamic_partitions_requests
    assert (dates.partitions_def_name, list(dates.partition_keys)) == ("dates_extraction", ["2026-11-20", "2026-11-27"])


def test_company_sheets_are_written_on_request_only() -> None:
    """The application renders any company's sheet when an agent opens it, so nothing writes them in advance
    (issue 21): no refresh job, schedule, sensor, automation or stage of `onevision run`; the operators' job still
    can."""
    from onevision_dagster.assets import all_assets
    from onevision_dagster.orchestration.runner import _asset_groups

    sheets = dg.AssetKey(["rapports", "fiches_entreprises"])
    for job in ("rafraichissement_departement", "rafraichissement_planifie", "historique", "vue_nationale",
                "chargement_registre"):
        assert sheets not in defs.resolve_job_def(job).asset_layer.selected_asset_keys, job
    assert defs.resolve_job_def("fiches_entreprises").asset_layer.selected_asset_keys == {sheets}
    assert defs.get_repository_def().asset_graph.get(sheets).automation_condition is None
    assert all(sheets not in a.keys for stage in _asset_groups(all_assets) for a in stage)
    assert sheets not in set(department_keys())
