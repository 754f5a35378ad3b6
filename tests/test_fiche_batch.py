"""Company sheets are written on request only (issue 21): the operators' job `fiches_entreprises` reads its
companies' rows from a copy made once per department (`prefetch_companies`); what it writes must be exactly what a
sheet rendered on its own shows. Compared byte for byte on the samples' warehouse built by the pipeline (history,
rejected rows, offsets across departments, declarations)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from onevision_dagster.reports.fiche import write_fiche
from onevision_dagster.reports.fiche_data import prefetch_companies, rejected_rows_sql, top_companies
from onevision_dagster.reports.html_page import FICHES_DIR, fiche_filename

# the two wall-clock stamps of a sheet ("fiche produite le", footer "Généré le"): the job wrote its sheets minutes
# before this test renders them again; nothing else may differ
_CLOCK = re.compile(r"(produite le|Généré le) \d{2}/\d{2}/\d{4} à \d{2}:\d{2}".encode())


def _without_clock(path: Path) -> bytes:
    content, stamps = _CLOCK.subn(rb"\1 <horloge>", path.read_bytes())
    assert stamps == 2, f"{path.name}: {stamps} horodatages au lieu de 2"
    return content


@pytest.fixture(scope="module")
def on_request(samples: Path, sample_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The operators' job `fiches_entreprises` for 17 and 95, on a copy of the samples' warehouse (the refresh wrote
    no sheet); its reports folder."""
    from onevision_dagster.definitions import all_assets
    from onevision_dagster.orchestration import partitions
    from onevision_dagster.resources import LandingZone, ReportsFolder, Settings, Warehouse

    root = tmp_path_factory.mktemp("fiches_sur_demande")
    assert not (samples / "rapports" / FICHES_DIR).exists()  # the refresh wrote none
    for name in ("w.duckdb", "w.duckdb.wal"):
        if (samples / name).exists():
            shutil.copyfile(samples / name, root / name)
    resources = {"landing": LandingZone(path=str(sample_landing)), "warehouse": Warehouse(path=str(root / "w.duckdb")),
                 "reports": ReportsFolder(path=str(root / "r")),
                 "settings": Settings(departements="17,95", freshness_days=7, static_images=False)}
    instance = dg.DagsterInstance.ephemeral()
    partitions.add_departements(instance, ["17", "95"])
    for departement in ("17", "95"):
        result = dg.materialize(all_assets, selection=dg.AssetSelection.assets(["rapports", "fiches_entreprises"]),
                                partition_key=departement, resources=resources, instance=instance)
        assert result.success
    return root / "r"


@pytest.fixture(scope="module")
def warehouse(samples: Path):
    con = duckdb.connect(str(samples / "w.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.mark.parametrize("departement", ["17", "95"])
def test_the_sheets_written_on_request_are_those_rendered_one_by_one(on_request: Path, warehouse, tmp_path: Path,
                                                                     departement: str):
    written = sorted((on_request / FICHES_DIR).glob(fiche_filename("*", departement)))
    sirens = top_companies(warehouse, departement, 1000)
    # every company with a position in the samples' department has its sheet (95 holds two)
    assert len(written) == len(sirens) >= {"17": 8, "95": 2}[departement]
    for path in written:
        siren = path.name.split("_")[1]
        alone = write_fiche(warehouse, siren, departement, tmp_path / FICHES_DIR)
        assert _without_clock(alone) == _without_clock(path), path.name


def test_national_sheets_from_the_copy_are_the_same(warehouse, tmp_path: Path):
    sirens = top_companies(warehouse, None, 1000)
    assert len(sirens) > 8
    tables = prefetch_companies(warehouse, sirens, None)
    assert tables.lignes_dettes.startswith("temp.")  # the copy is what the sheets read
    rejected = rejected_rows_sql(warehouse, None, None)
    for siren in sirens:
        alone = write_fiche(warehouse, siren, None, tmp_path / "seule" / FICHES_DIR)
        batch = write_fiche(warehouse, siren, None, tmp_path / "lot" / FICHES_DIR, rejected, tables)
        assert _without_clock(batch) == _without_clock(alone), siren


def test_a_copy_scoped_to_a_department_holds_only_its_rows(warehouse):
    sirens = top_companies(warehouse, "17", 1000)
    tables = prefetch_companies(warehouse, sirens, "17")
    copied = {r[0] for r in warehouse.execute(f"SELECT DISTINCT departement FROM {tables.lignes_dettes}").fetchall()}
    assert copied == {"17"}
    # positions keep every department: the sheet shows how fresh the company's figures are everywhere
    assert warehouse.execute(f"SELECT count(DISTINCT departement) FROM {tables.positions}").fetchone()[0] >= 2
    with pytest.raises(ValueError):
        prefetch_companies(warehouse, ["12345"], "17")
