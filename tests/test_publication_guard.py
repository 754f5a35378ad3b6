"""Issue #11 point 2: a failing check never publishes what it failed on; the run names the check and the rows by
their identifiers only."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from onevision_dagster import warehouse
from onevision_dagster.consolidate import build, consistency
from onevision_dagster.consolidate.table_validation import TableCheckFailed
from onevision_dagster.ingest.load import ingest_landing


def _positions(con: duckdb.DuckDBPyConnection) -> list:
    return con.execute("SELECT * FROM marts.positions ORDER BY siren").fetchall()


@pytest.fixture
def built(sample_landing: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    ingest_landing(con, sample_landing)
    build.build_all(con)
    return con


def _spoiled_insert(original):
    """The real positions, then one total spoiled: the `totaux` rule of the model must stop it."""
    def insert(con, snap, dettes, creances, target):
        original(con, snap, dettes, creances, target)
        con.execute(f"UPDATE {target} SET total_dettes = total_dettes + 1 WHERE siren = '301122339'").fetchall()
    return insert


def test_a_model_failure_rolls_back_and_names_rows_by_identifier(built: duckdb.DuckDBPyConnection,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    before = _positions(built)
    monkeypatch.setattr(build, "insert_positions", _spoiled_insert(build.insert_positions))
    with pytest.raises(TableCheckFailed) as failure:
        build.build_positions(built, "17")
    message = str(failure.value)
    assert "marts.positions" in message and "totaux" in message and "siren 301122339" in message
    assert "ATLANTIC" not in message  # identifiers only, never a name
    assert failure.value.errors.failure_cases is not None  # Pandera's own report is kept
    assert _positions(built) == before  # the last good figures stay published


def test_a_consistency_failure_rolls_back(built: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _positions(built)
    monkeypatch.setattr(consistency, "positions_match_lines", lambda con, d: (False, {"total_dettes": "1 ≠ 2"}))
    with pytest.raises(build.ConsistencyFailed, match="totaux égaux aux lignes"):
        build.build_positions(built, "17")
    assert _positions(built) == before


def test_the_asset_run_fails_without_publishing_and_says_why(landing_copy: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from onevision_dagster.definitions import all_assets
    from onevision_dagster.orchestration.partitions import departements_partitions
    from onevision_dagster.resources import LandingZone, ReportsFolder, Settings, Warehouse

    path = tmp_path / "w.duckdb"
    resources = {"landing": LandingZone(path=str(landing_copy)), "warehouse": Warehouse(path=str(path)),
                 "reports": ReportsFolder(path=str(tmp_path / "r")), "settings": Settings(static_images=False)}
    department = [a for a in all_assets if a.partitions_def == departements_partitions]
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("departements", ["17"])  # department partitions are dynamic (issue 22)
    assert dg.materialize(all_assets, selection=dg.AssetSelection.assets(["raw", "entreprises"]),
                          resources=resources, instance=instance).success
    assert dg.materialize(all_assets, selection=dg.AssetSelection.assets(*department), partition_key="17",
                          resources=resources, instance=instance).success
    with duckdb.connect(str(path), read_only=True) as con:
        before = _positions(con)
    monkeypatch.setattr(build, "insert_positions", _spoiled_insert(build.insert_positions))
    result = dg.materialize(all_assets, selection=dg.AssetSelection.assets(["marts", "positions"]),
                            partition_key="17", resources=resources, raise_on_error=False, instance=instance)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    text = failure.step_failure_data.user_failure_data.description
    assert "totaux" in text and "siren 301122339" in text and "ATLANTIC" not in text
    logged = " ".join(str(e.message) for e in result.all_events)
    assert "ATLANTIC SHIPPING" not in logged and "QUAI DES PECHEURS" not in logged
    with duckdb.connect(str(path), read_only=True) as con:
        assert _positions(con) == before
