"""The asset graph materialized through Dagster's own APIs, on the sample landing zone."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb

from onevision_dagster.assets.sources import CHECK_COUNTS, CHECK_KEYS
from onevision_dagster.definitions import all_assets, defs
from onevision_dagster.orchestration.partitions import departements_partitions
from onevision_dagster.resources import LandingZone, ReportsFolder, Settings, Warehouse

from .conftest import EXPECTED


def _resources(landing: Path, warehouse: Path, tmp_path: Path) -> dict:
    return {
        "landing": LandingZone(path=str(landing)),
        "warehouse": Warehouse(path=str(warehouse)),
        "reports": ReportsFolder(path=str(tmp_path / "rapports")),
        "settings": Settings(departements="17,91,95", freshness_days=7, static_images=False),
    }


def _instance() -> dg.DagsterInstance:
    """Department partitions are dynamic (they follow the landing zone): an instance that knows every code."""
    from onevision_dagster.contract.departements import ALL_DEPARTEMENTS
    from onevision_dagster.orchestration.partitions import add_departements

    instance = dg.DagsterInstance.ephemeral()
    add_departements(instance, ALL_DEPARTEMENTS)
    return instance


def _materialize(resources: dict, selection, partition: str | None = None, raise_on_error: bool = True):
    return dg.materialize(all_assets, selection=selection, partition_key=partition, resources=resources,
                          raise_on_error=raise_on_error, instance=_instance())


def _register_and_department(resources: dict, dept: str = "17"):
    _materialize(resources, dg.AssetSelection.assets(["raw", "entreprises"]))
    partitioned = [a for a in all_assets if a.partitions_def == departements_partitions]
    return _materialize(resources, dg.AssetSelection.assets(*partitioned), dept)


def test_definitions_load_with_department_partitions() -> None:
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    for expected in ("raw/entreprises", "raw/amendes", "raw/creances_is", "core/lignes_dettes",
                     "core/rattachement_amendes", "core/non_positionnees", "marts/positions",
                     "marts/positions_nationales", "marts/panel_debiteurs_communs"):
        assert expected in keys
    amendes = repo.asset_graph.get(dg.AssetKey(["raw", "amendes"]))
    # no configured list: the departments the landing-zone sensor or `onevision run` added (issue 22)
    assert amendes.partitions_def == dg.DynamicPartitionsDefinition(name="departements")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("departements", ["17", "33"])
        assert amendes.partitions_def.get_partition_keys(dynamic_partitions_store=instance) == ["17", "33"]


def test_department_partition_materializes_with_metadata_and_checks(sample_landing: Path, tmp_path: Path) -> None:
    resources = _resources(sample_landing, tmp_path / "w.duckdb", tmp_path)
    result = _register_and_department(resources)
    assert result.success
    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    amendes = mats["raw/amendes"].materialization
    assert amendes.partition == "17"
    meta = amendes.metadata
    # the current file is the latest (2026-11-27): 22 rows, 7 rejected (expected/rejets.csv)
    assert (meta["lignes_lues"].value, meta["lignes_gardees"].value, meta["lignes_rejetees"].value) == (22, 15, 7)
    assert meta["fichier"].value == "amendes_17_20261127.csv"
    assert meta["fichiers_charges"].value == 2  # both snapshots' files are kept
    assert meta["rejets_par_motif"].value == {"CODE_INCONNU": 1, "DOUBLON": 1, "FUTURE_DATE": 1,
                                              "INCOHERENCE": 1, "MONTANT_INVALIDE": 2, "NB_CELLULES": 1}
    preview = meta["apercu"].value
    assert preview.startswith("|") and "ligne" in preview.splitlines()[0] and "375.00" in preview
    assert "LA ROCHELLE" not in preview  # no names or addresses in the UI metadata
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed
              for e in result.get_asset_check_evaluations()}
    for source in ("amendes", "spl", "impots_pro", "rnf", "credits_tva", "excedents", "creances_is"):
        assert checks[(f"raw/{source}", CHECK_COUNTS)] is True
        assert checks[(f"raw/{source}", CHECK_KEYS)] is True
    assert checks[("marts/positions", "totaux_egaux_aux_lignes")] is True
    assert checks[("marts/positions", "amendes_rattachees_ou_listees")] is True
    assert mats["marts/positions"].materialization.metadata["entreprises"].value == 11  # expected/positions_17.csv


def test_rematerialization_gives_the_same_rows(sample_landing: Path, tmp_path: Path) -> None:
    resources = _resources(sample_landing, tmp_path / "w.duckdb", tmp_path)
    _register_and_department(resources)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        first = con.execute("SELECT * FROM marts.positions ORDER BY siren").fetchall()
        raw_count = con.execute("SELECT count(*) FROM raw.amendes").fetchone()[0]
    _register_and_department(resources)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT * FROM marts.positions ORDER BY siren").fetchall() == first
        assert con.execute("SELECT count(*) FROM raw.amendes").fetchone()[0] == raw_count


def test_positions_match_the_expected_file(sample_landing: Path, tmp_path: Path) -> None:
    resources = _resources(sample_landing, tmp_path / "w.duckdb", tmp_path)
    _register_and_department(resources)
    with open(EXPECTED / "positions_17.csv", encoding="utf-8", newline="") as f:
        expected = list(csv.DictReader(f))
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT * FROM marts.positions ORDER BY siren").df()
    assert rows["siren"].tolist() == [e["siren"] for e in expected]
    for e, (_, got) in zip(expected, rows.iterrows(), strict=True):
        assert Decimal(str(got["total_dettes"])) == Decimal(e["total_dettes"])
        assert Decimal(str(got["montant_compensable"])) == Decimal(e["montant_compensable"])


def test_broken_file_fails_its_partition_and_keeps_last_good_data(landing_copy: Path, tmp_path: Path) -> None:
    resources = _resources(landing_copy, tmp_path / "w.duckdb", tmp_path)
    assert _register_and_department(resources).success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        before = con.execute("SELECT * FROM marts.positions ORDER BY siren").fetchall()
        spl_before = con.execute("SELECT count(*) FROM raw.spl").fetchone()[0]
    (landing_copy / "spl" / "spl_17_20261128.csv").write_bytes(b"")  # newer, empty: unreadable
    partitioned = [a for a in all_assets if a.partitions_def == departements_partitions]
    result = _materialize(resources, dg.AssetSelection.assets(*partitioned), "17", raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert [e.step_key for e in failures] == ["sources_departement"]  # the seven loads' step
    assert "spl_17_20261128.csv" in failures[0].step_failure_data.user_failure_data.description
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.spl").fetchone()[0] == spl_before
        assert con.execute("SELECT * FROM marts.positions ORDER BY siren").fetchall() == before


def test_department_without_extracts_materializes_empty(sample_landing: Path, tmp_path: Path) -> None:
    resources = _resources(sample_landing, tmp_path / "w.duckdb", tmp_path)
    _register_and_department(resources, "17")
    result = _register_and_department(resources, "91")
    assert result.success
    national = [a for a in all_assets if a.partitions_def is None and a.key.path[-1] != "entreprises"]
    assert _materialize(resources, dg.AssetSelection.assets(*national)).success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.positions WHERE departement='91'").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM marts.positions_nationales").fetchone()[0] == 11  # 17's only


def test_reports_escape_a_hostile_company_name(landing_copy: Path, tmp_path: Path) -> None:
    for register in (landing_copy / "entreprises").iterdir():
        text = register.read_text(encoding="utf-8").replace("SOLAIRE ATLANTIQUE;", "<script>alert(1)</script>;", 1)
        register.write_text(text, encoding="utf-8")
    resources = _resources(landing_copy, tmp_path / "w.duckdb", tmp_path)
    assert _register_and_department(resources).success
    national = [a for a in all_assets if a.partitions_def is None and a.key.path[-1] != "entreprises"]
    assert _materialize(resources, dg.AssetSelection.assets(*national)).success
    reports = tmp_path / "rapports"
    pages = [reports / "tableau_de_bord_17.html", reports / "tableau_de_bord_national.html",
             reports / "fiches" / "fiche_612345009_17.html", reports / "index.html"]
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<script>alert(1)</script>" not in html, page.name
    fiche = pages[2].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fiche
    dashboard = pages[0].read_text(encoding="utf-8")
    assert "plotly.min.js" in dashboard and (reports / "plotly.min.js").exists()
    assert len(dashboard) < 1_000_000  # plotly.js is beside the page, not inlined
    plain = dashboard.replace("\\u00a0", " ").replace("\u00a0", " ").replace("\\u202f", " ").replace("\u202f", " ")
    assert "113 527,57" in plain  # past-due debts of 17 at 2026-11-27 (expected/positions_17.csv), French formatting
