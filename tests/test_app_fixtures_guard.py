"""The application's hand-written warehouse (`tests/app_fixtures.py`) is what the pipeline would make of its
lines (issue 23, point 3).

Most application tests run on seven companies written by hand, with figures chosen so that each rule has a
case. That copy would go stale silently if the real tables or rules changed: here the pipeline's own code
(`insert_positions`, `insert_positions_nationales`, `insert_compensations`) recomputes the positions, the
national positions and the offsets from the fixture's lines and register, and the result must equal the
fixture's tables row for row; every table the application reads must also pass the pipeline's Pandera models.
A change of a rule or of a table's shape then fails here, naming the fixture to update.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from onevision_dagster.consolidate.compensations import insert_compensations
from onevision_dagster.consolidate.positions import insert_positions, insert_positions_nationales
from onevision_dagster.consolidate.snapshot import Snapshot
from onevision_dagster.consolidate.table_validation import validate_table
from onevision_dagster.consolidate.tables import TABLE_DDL
from onevision_dagster.warehouse import create_raw_and_quality

from . import app_fixtures as fx

APP_TABLES = (
    "core.lignes_dettes",
    "core.lignes_creances",
    "core.non_positionnees",
    "marts.positions",
    "marts.positions_nationales",
    "marts.compensations",
    "marts.declarations",
)


@pytest.fixture(scope="module")
def fixture_warehouse(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    path = fx.build_warehouse(tmp_path_factory.mktemp("fixture") / "w.duckdb")
    con = duckdb.connect(str(path))
    create_raw_and_quality(con)  # the register versions the real code reads (quality.chargements)
    for version in (fx.OLD_REGISTER, fx.SITUATION):
        con.execute(
            "INSERT INTO quality.chargements (source, departement, fichier, date_extraction, statut, "
            "lignes_lues, "
            "lignes_gardees, lignes_rejetees, charge_le) "
            "VALUES ('entreprises', NULL, ?, ?, 'CHARGE', 7, 7, 0, now())",
            [f"entreprises_{version:%Y%m%d}.csv", version],
        )
    yield con
    con.close()


def _same_rows(con: duckdb.DuckDBPyConnection, hand: str, pipeline: str) -> None:
    extra = con.execute(f"SELECT * FROM {hand} EXCEPT ALL SELECT * FROM {pipeline}").fetchall()
    missing = con.execute(f"SELECT * FROM {pipeline} EXCEPT ALL SELECT * FROM {hand}").fetchall()
    assert not extra and not missing, (
        f"{hand} (tests/app_fixtures.py) differs from what the pipeline computes "
        f"from its lines: only by hand {extra}, only by the pipeline {missing}"
    )


def test_every_table_the_app_reads_passes_the_pipelines_models(fixture_warehouse: duckdb.DuckDBPyConnection) -> None:
    for table in APP_TABLES:
        assert validate_table(fixture_warehouse, table, None) > 0, table


def test_hand_written_positions_are_the_pipelines(fixture_warehouse: duckdb.DuckDBPyConnection) -> None:
    con = fixture_warehouse
    con.execute(f"CREATE OR REPLACE TEMP TABLE pipeline_positions {TABLE_DDL['marts.positions']}")
    departements = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT departement FROM core.lignes_dettes UNION "
            "SELECT DISTINCT departement FROM core.lignes_creances"
        ).fetchall()
    ]
    for dept in sorted(departements):
        snap = Snapshot(dept, fx.SITUATION, {}, fx.SITUATION)
        insert_positions(
            con,
            snap,
            f"(SELECT * FROM core.lignes_dettes WHERE departement = '{dept}')",
            f"(SELECT * FROM core.lignes_creances WHERE departement = '{dept}')",
            "temp.pipeline_positions",
        )
    _same_rows(con, "marts.positions", "temp.pipeline_positions")


def test_hand_written_national_positions_and_offsets_are_the_pipelines(
    fixture_warehouse: duckdb.DuckDBPyConnection,
) -> None:
    con = fixture_warehouse
    con.execute(f"CREATE OR REPLACE TEMP TABLE pipeline_nationales {TABLE_DDL['marts.positions_nationales']}")
    insert_positions_nationales(con, "marts.positions", "temp.pipeline_nationales")
    _same_rows(con, "marts.positions_nationales", "temp.pipeline_nationales")
    con.execute(f"CREATE OR REPLACE TEMP TABLE pipeline_compensations {TABLE_DDL['marts.compensations']}")
    insert_compensations(con, "temp.pipeline_compensations")
    _same_rows(con, "marts.compensations", "temp.pipeline_compensations")
    # the cases the application's tests rely on are there: an offset across departments, a blocked company
    assert con.execute("SELECT count(*) FROM marts.compensations WHERE dettes_compensables_autres > 0").fetchone()[0]
    assert con.execute(
        "SELECT count(*) FROM marts.positions WHERE montant_compensable = 0 AND total_creances > 0 "
        "AND passif_declare > 0"
    ).fetchone()[0]


def test_the_fixture_is_a_file_of_its_own(tmp_path: Path) -> None:
    # built twice, the same rows: the application's tests do not depend on the order they run in
    a = fx.build_warehouse(tmp_path / "a.duckdb")
    b = fx.build_warehouse(tmp_path / "b.duckdb")
    with duckdb.connect(str(a)) as con:
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        for table in APP_TABLES:
            _same_rows(con, table, f"b.{table}")
