"""Issue 23 point 1, the source tables' checks: the row count and the key checks stop the department's refresh
(blocking), the freshness check flags an old extract without refusing it (contract section 1).

Each case lands a new extract of department 17 (its fines a day later: a refresh would move the department's
as-of date, so the positions' export would change), spoils what the loader stored just after it stored it, and
runs the department's refresh: the run fails naming the check and nothing downstream is written — the exports
are byte-identical to the last good ones. The control case, the same extract unspoiled, changes them.
"""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from onevision_dagster.assets import sources as source_assets
from onevision_dagster.contract.sources import PARTITIONED_SOURCES, REGISTER
from onevision_dagster.ingest import load
from onevision_dagster.ingest import schemas as ingest_schemas

from .conftest import SAMPLE_LANDING
from .test_guards_publication import exports, failure_text, last_good, materialize, tables

NEW_FILE = "amendes_17_20261128.csv"
DEPARTMENT = [dg.AssetKey(["raw", "amendes"]), *(dg.AssetKey(["core", t]) for t in (
    "rattachement_amendes", "lignes_dettes", "lignes_creances", "non_positionnees")),
    dg.AssetKey(["marts", "positions"])]
SPOILS = {  # check -> what the loader's result becomes
    source_assets.CHECK_KEYS: "INSERT INTO raw.amendes SELECT * FROM raw.amendes WHERE rowid = (SELECT min(rowid) "
                              "FROM raw.amendes WHERE departement = '17' AND date_extraction = DATE '2026-11-28')",
    source_assets.CHECK_COUNTS: f"UPDATE quality.chargements SET lignes_lues = lignes_lues + 1 "
                                f"WHERE fichier = '{NEW_FILE}'",
}
# every check of the source assets -> the test proving it trips
SOURCE_GUARDS = {
    source_assets.CHECK_KEYS: "test_a_blocking_source_check_stops_the_refresh[cle_unique]",
    source_assets.CHECK_COUNTS: "test_a_blocking_source_check_stops_the_refresh"
                                "[lignes_lues_egal_gardees_plus_rejetees]",
    source_assets.CHECK_FRESHNESS: "test_an_old_extract_is_flagged_not_refused",
}


def test_every_source_check_has_a_tripping_test() -> None:
    from onevision_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    sources = {dg.AssetKey(["raw", s.name]) for s in (REGISTER, *PARTITIONED_SOURCES)}
    names = {k.name for k in graph.asset_check_keys if k.asset_key in sources}
    assert names == set(SOURCE_GUARDS)
    blocking = {k.name for k in graph.asset_check_keys if k.asset_key in sources and graph.get(k).blocking}
    assert blocking == set(SPOILS)  # freshness warns: an old extract is flagged, not refused (section 1)
    tests = {n.split("[")[0] for n in SOURCE_GUARDS.values()}
    assert all(callable(globals().get(t)) for t in tests)
    # each source's Pandera model: the parametrized case of test_a_source_model_refuses_the_file... covers every
    # model of the registry, by construction; every source has one
    assert set(ingest_schemas.SOURCE_MODELS) == {s.name for s in (REGISTER, *PARTITIONED_SOURCES)}


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], dict[str, str]]:
    return last_good(tmp_path_factory)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """The samples and, a day later, department 17's fines again (the same rows)."""
    dest = tmp_path / "landing"
    shutil.copytree(SAMPLE_LANDING, dest)
    shutil.copyfile(dest / "amendes" / "amendes_17_20261127.csv", dest / "amendes" / NEW_FILE)
    return dest


def _spoil_after_load(monkeypatch: pytest.MonkeyPatch, sql: str) -> list[str]:
    original = source_assets.sync_source
    done: list[str] = []

    @functools.wraps(original)
    def sync_source(con, spec, departement, files):
        report = original(con, spec, departement, files)
        if spec.name == "amendes" and departement == "17":
            con.execute(sql)
            done.append(spec.name)
        return report

    monkeypatch.setattr(source_assets, "sync_source", sync_source)
    return done


def _check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e for e in result.get_asset_check_evaluations()
                     if e.check_name == name and e.asset_key == dg.AssetKey(["raw", "amendes"])]
    return evaluation


@pytest.mark.parametrize("check", list(SPOILS))
def test_a_blocking_source_check_stops_the_refresh(check: str, good, landing: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    good_db, good_exports, good_tables = good
    db = tmp_path / "onevision.duckdb"
    shutil.copyfile(good_db, db)
    assert _spoil_after_load(monkeypatch, SPOILS[check]) == []
    result = materialize(db, tmp_path, DEPARTMENT, "17", landing=landing)
    assert not result.success
    evaluation = _check(result, check)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert check in failure_text(result), failure_text(result)  # the run's failure names the check
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized <= {dg.AssetKey(["raw", "amendes"])}  # nothing downstream ran
    monkeypatch.undo()
    assert exports(db, tmp_path / "exports") == good_exports
    assert tables(db) == good_tables


def test_the_same_extract_unspoiled_is_published(good, landing: Path, tmp_path: Path) -> None:
    """The control: without a spoil the refresh passes its checks and changes the exports (the new as-of date),
    so an identical export above means the check held the figures back."""
    good_db, good_exports, _ = good
    db = tmp_path / "onevision.duckdb"
    shutil.copyfile(good_db, db)
    result = materialize(db, tmp_path, DEPARTMENT, "17", landing=landing)
    assert result.success
    assert all(_check(result, name).passed for name in SPOILS)
    now = exports(db, tmp_path / "exports")
    assert now["positions_17.csv"] != good_exports["positions_17.csv"]
    assert "28/11/2026" in now["positions_17.csv"].decode("utf-8-sig")


def test_an_old_extract_is_flagged_not_refused(good, landing: Path, tmp_path: Path) -> None:
    """Freshness warns (contract section 1: flagged, not refused): the check fails with a warning and the
    figures are published. Its limit is the run's day minus `freshness_days`: the newest extract is dated
    28/11/2026, so a limit reaching back past it passes and one that does not, fails."""
    good_db, _, _ = good
    newest = dt.date(2026, 11, 28)
    age = (dt.date.today() - newest).days
    for limit, fresh in ((age, True), (age - 1, False)):
        db = tmp_path / f"onevision_{limit}.duckdb"
        shutil.copyfile(good_db, db)
        result = materialize(db, tmp_path, DEPARTMENT, "17", landing=landing, freshness_days=limit)
        evaluation = _check(result, source_assets.CHECK_FRESHNESS)
        assert evaluation.passed is fresh, evaluation.metadata
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
        assert evaluation.metadata["age"].value == f"{age} jour(s)"
        assert result.success  # published all the same
        assert dg.AssetKey(["marts", "positions"]) in {e.asset_key for e in result.get_asset_materialization_events()}


# --- the sources' Pandera models: a file whose kept rows a model rejects is refused whole ---------------------

def _new_extract(landing: Path, source: str) -> str:
    """The source's file of 17 (the register's file) dated a day later: what a refresh would load."""
    spec = next(s for s in (REGISTER, *PARTITIONED_SOURCES) if s.name == source)
    old = f"{source}_20261127.csv" if not spec.partitioned else f"{source}_17_20261127.csv"
    new = old.replace("20261127", "20261128")
    if new != NEW_FILE:
        shutil.copyfile(landing / source / old, landing / source / new)
    return new


@pytest.mark.parametrize("source", list(ingest_schemas.SOURCE_MODELS))
def test_a_source_model_refuses_the_file_and_nothing_is_published(source: str, good, landing: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The validation hands its model one kept row numbered 1 (the header's line): the model stops the file, the
    run fails naming the file and the check, the file is recorded refused, no row of it is stored and the exports
    are the last good ones."""
    good_db, good_exports, good_tables = good
    db = tmp_path / "onevision.duckdb"
    shutil.copyfile(good_db, db)
    fichier = _new_extract(landing, source)
    original, spoiled = load.validate_kept, []

    def validate_kept(name, kept, path_name=None):
        if name == source and path_name == fichier:
            kept = kept.copy()
            kept.loc[kept.index[0], "ligne"] = 1
            spoiled.append(path_name)
        return original(name, kept, path_name)

    monkeypatch.setattr(load, "validate_kept", validate_kept)
    spec = next(s for s in (REGISTER, *PARTITIONED_SOURCES) if s.name == source)
    keys = [dg.AssetKey(["raw", source])] + (DEPARTMENT[1:] if spec.partitioned else [])
    result = materialize(db, tmp_path, keys, "17" if spec.partitioned else None, landing=landing)
    assert spoiled == [fichier]
    assert not result.success
    text = failure_text(result)
    assert f"Fichier {fichier} refusé" in text and "greater_than_or_equal_to(2)" in text, text
    monkeypatch.undo()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT statut FROM quality.chargements WHERE fichier = ?", [fichier]).fetchall() == [
            ("REFUSE",)]
        assert con.execute(f"SELECT count(*) FROM {spec.table} WHERE date_extraction = DATE '2026-11-28'"
                           ).fetchone()[0] == 0
    assert exports(db, tmp_path / "exports") == good_exports
    assert tables(db) == good_tables
