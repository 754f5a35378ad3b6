"""The application's small warehouse (`tests/app_fixtures.py`) is what the pipeline makes of its lines (issue 23,
point 3).

Most application tests run on seven companies whose lines are written by hand, with figures chosen so that each
rule has a case; the positions, national positions and offsets are computed from them by the pipeline's own code
(`insert_positions`, `insert_positions_nationales`, `insert_compensations`). Here: every table the application
reads passes the pipeline's Pandera models (a changed table shape fails here, naming the fixture to update), and
the cases the tests rely on are there.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from onevision_dagster.consolidate.table_validation import validate_table
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


def test_the_marts_are_the_pipelines_and_hold_the_cases_the_tests_need(
    fixture_warehouse: duckdb.DuckDBPyConnection,
) -> None:
    con = fixture_warehouse
    # no rule of the pipeline is re-implemented in the fixture: its marts come from the pipeline's own functions
    source = Path(fx.__file__).read_text(encoding="utf-8")
    assert "insert_positions(" in source and "insert_compensations(" in source
    assert "INSERT INTO marts.positions" not in source and "INSERT INTO marts.compensations" not in source
    # the totals of each position are the sum of its lines (section 6)
    assert con.execute(
        "SELECT count(*) FROM marts.positions p JOIN (SELECT departement, siren, sum(montant) AS m FROM "
        "core.lignes_dettes WHERE nature = 'ECHUE' GROUP BY ALL) l USING (departement, siren) "
        "WHERE p.total_dettes <> l.m"
    ).fetchone()[0] == 0
    # the cases the application's tests rely on: an offset across departments, a blocked company, a suspended one
    assert con.execute("SELECT count(*) FROM marts.compensations WHERE dettes_compensables_autres > 0").fetchone()[0]
    assert con.execute(
        "SELECT count(*) FROM marts.positions WHERE montant_compensable = 0 AND total_creances > 0 "
        "AND passif_declare > 0"
    ).fetchone()[0]
    assert con.execute(
        "SELECT dettes_suspendues, dettes_poursuivables FROM marts.positions WHERE siren = ? AND departement = '17'",
        [fx.GARAGE]).fetchone() == (Decimal("7530.00"), Decimal("0.00"))
    assert {r[0] for r in con.execute("SELECT departements FROM marts.positions_nationales").fetchall()} >= {
        "17,95", "17,91"}


def test_the_fixture_is_a_file_of_its_own(tmp_path: Path) -> None:
    # built twice, the same rows: the application's tests do not depend on the order they run in
    a = fx.build_warehouse(tmp_path / "a.duckdb")
    b = fx.build_warehouse(tmp_path / "b.duckdb")
    with duckdb.connect(str(a)) as con:
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        for table in APP_TABLES:
            _same_rows(con, table, f"b.{table}")
