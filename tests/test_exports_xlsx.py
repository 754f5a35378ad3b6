"""Agent exports as .xlsx: read back with openpyxl, every cell typed as the spreadsheet must keep it."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from onevision_dagster import cli, warehouse
from onevision_dagster.consolidate.tables import (
    NATIONAL_POSITION_COLUMNS,
    POSITION_COLUMNS,
    POSITION_MONEY_COLUMNS,
)
from onevision_dagster.reports import xlsx
from onevision_dagster.reports.exports import (
    export_format,
    export_non_positionnees,
    export_positions,
    export_rejets,
)
from onevision_dagster.reports.xlsx import DATE_FORMAT, MONEY_FORMAT

D = Decimal
INTEGERS = ("nb_sources_dettes", "anciennete_jours")


def _sql_type(column: str) -> str:
    if column in POSITION_MONEY_COLUMNS:
        return "DECIMAL(18,2)"
    if column == "date_situation":
        return "DATE"
    return "INTEGER" if column in INTEGERS else "VARCHAR"


def _position(siren: str, dept: str, name: str, amount: Decimal, date: dt.date, procedure: str | None) -> dict:
    row: dict = {c: D("0.00") for c in POSITION_MONEY_COLUMNS}
    row.update(siren=siren, denomination=name, departement=dept, departements=dept, date_situation=date,
               nb_sources_dettes=1, anciennete_jours=None, procedure_collective=procedure)
    row.update(dettes_amendes=amount, total_dettes=amount, dettes_poursuivables=amount)
    return row


ROWS = [
    _position("012345678", "2A", "=HYPERLINK(\"http://x\";\"clic\")", D("1234567.89"), dt.date(2026, 11, 27),
              "REDRESSEMENT"),
    _position("443210984", "17", "TRANSPORTS CHARENTAIS", D("2500.00"), dt.date(2026, 2, 3), None),
]


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    warehouse.create_raw_and_quality(connection)
    connection.execute("CREATE SCHEMA IF NOT EXISTS marts")
    connection.execute("CREATE SCHEMA IF NOT EXISTS core")
    for table, cols in (("marts.positions", POSITION_COLUMNS),
                        ("marts.positions_nationales", NATIONAL_POSITION_COLUMNS)):
        connection.execute(f"CREATE TABLE {table} ({', '.join(f'{c} {_sql_type(c)}' for c in cols)})")
        for row in ROWS:
            values = {**row, "departements": "17,95" if row["siren"] == "443210984" else row["departements"]}
            connection.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(cols))})",
                               [values[c] for c in cols])
    connection.execute(
        """INSERT INTO quality.rejets (source, departement, fichier, date_extraction, ligne, colonne, motif, message,
           contenu) VALUES ('amendes', '17', 'amendes_17_20261127.csv', DATE '2026-11-27', 3, 'NUM_AMENDE',
           'VALEUR_MANQUANTE', 'NUM_AMENDE : valeur manquante', '=1+2;' || chr(1) || 'x')"""
    )
    connection.execute(  # the export covers the files of the latest snapshot: this file is one
        """INSERT INTO quality.chargements (source, departement, fichier, date_extraction, statut, lignes_lues,
           lignes_gardees, lignes_rejetees, charge_le) VALUES
           ('amendes', '17', 'amendes_17_20261127.csv', DATE '2026-11-27', 'CHARGE', 3, 2, 1, now()),
           ('amendes', '2A', 'amendes_2A_20261127.csv', DATE '2026-11-27', 'CHARGE', 1, 1, 0, now())"""
    )
    connection.execute(
        """CREATE TABLE core.non_positionnees (departement VARCHAR, source VARCHAR, fichier VARCHAR, ligne INTEGER,
           reference VARCHAR, motif VARCHAR, siren VARCHAR)"""
    )
    connection.execute(
        """INSERT INTO core.non_positionnees VALUES
           ('17', 'amendes', 'amendes_17_20261127.csv', 19, '1700000000019', 'REGISTRE_REJETE', '035173510')"""
    )
    return connection


def _sheet(path: Path):
    wb = load_workbook(path)
    assert len(wb.worksheets) == 1
    return wb.worksheets[0]


def test_positions_xlsx_cells_are_typed(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "positions_2A.xlsx"
    assert export_positions(con, out) == 2  # format read from the suffix
    ws = _sheet(out)
    assert ws.title == "positions"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(POSITION_COLUMNS)).column_letter}3"
    header = [c.value for c in ws[1]]
    assert header == list(POSITION_COLUMNS)
    assert all(c.font.bold for c in ws[1])
    rows = [{h: c for h, c in zip(header, r, strict=True)} for r in ws.iter_rows(min_row=2)]
    # order: department then SIREN ("17" < "2A")
    first, second = rows
    assert first["siren"].value == "443210984"
    siren = second["siren"]
    assert (siren.value, siren.data_type, siren.number_format) == ("012345678", "s", "@")  # leading zero kept
    assert (second["departement"].value, second["departement"].data_type) == ("2A", "s")
    name = second["denomination"]
    assert name.data_type == "s" and name.value == "'=HYPERLINK(\"http://x\";\"clic\")"  # never a formula
    debt = second["dettes_amendes"]
    assert debt.data_type == "n" and debt.value == 1234567.89 and debt.number_format == MONEY_FORMAT
    assert MONEY_FORMAT == '#,##0.00 "€"'
    assert second["dettes_poursuivables"].value == 1234567.89 and "solde" not in header  # no balance (v3)
    assert second["dettes_spl"].value == 0 and second["dettes_spl"].number_format == MONEY_FORMAT
    date = first["date_situation"]
    assert date.is_date and date.value == dt.datetime(2026, 2, 3) and date.number_format == DATE_FORMAT
    assert date.number_format == "dd/mm/yyyy"
    assert first["nb_sources_dettes"].value == 1 and first["nb_sources_dettes"].data_type == "n"
    assert first["anciennete_jours"].value is None  # missing stays empty
    assert first["procedure_collective"].value is None
    assert second["procedure_collective"].value == "REDRESSEMENT"


def test_national_departements_list_stays_text(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "nat.xlsx"
    assert export_positions(con, out, national=True, fmt="xlsx") == 2
    ws = _sheet(out)
    header = [c.value for c in ws[1]]
    assert header == list(NATIONAL_POSITION_COLUMNS)
    col = header.index("departements")
    cells = [r[col] for r in ws.iter_rows(min_row=2)]
    assert [(c.value, c.data_type) for c in cells] == [("2A", "s"), ("17,95", "s")]  # ordered by SIREN


def test_rejets_and_non_positionnees_xlsx(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "rejets.xlsx"
    assert export_rejets(con, out) == 1
    ws = _sheet(out)
    assert [c.value for c in ws[1]] == ["source", "fichier", "ligne", "colonne", "motif", "message", "contenu"]
    row = [c for c in ws[2]]
    assert (row[2].value, row[2].data_type) == (3, "n")  # physical line: a number
    assert row[6].value == "'=1+2;\ufffdx" and row[6].data_type == "s"  # neutralised, no XML-illegal byte
    out_np = tmp_path / "np.xlsx"
    assert export_non_positionnees(con, out_np, departement="17") == 1
    ws = _sheet(out_np)
    assert [c.value for c in ws[2]] == ["amendes", "amendes_17_20261127.csv", 19, "REGISTRE_REJETE", "035173510"]
    assert ws.cell(2, 5).data_type == "s"


def test_format_is_asked_or_read_from_the_suffix(tmp_path: Path) -> None:
    assert export_format(tmp_path / "a.xlsx") == "xlsx"
    assert export_format(tmp_path / "a.XLSX") == "xlsx"
    assert export_format(tmp_path / "a.csv") == "csv"
    assert export_format(tmp_path / "a") == "csv"
    assert export_format(tmp_path / "a", "xlsx") == "xlsx"
    with pytest.raises(ValueError, match="se termine par .csv"):
        export_format(tmp_path / "a.csv", "xlsx")
    with pytest.raises(ValueError, match="Format d'export inconnu"):
        export_format(tmp_path / "a", "ods")


def test_cli_export_xlsx(con: duckdb.DuckDBPyConnection, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "w.duckdb"
    con.execute(f"ATTACH '{db}' AS disk")
    con.execute("COPY FROM DATABASE memory TO disk")
    con.execute("DETACH disk")
    out = tmp_path / "p"
    assert cli.main(["export", "positions", "--departement", "2A", "--format", "xlsx", "--out", str(out),
                     "--warehouse", str(db)]) == 0
    ws = load_workbook(out.open("rb")).worksheets[0]  # no suffix: xlsx because asked for
    assert ws.cell(2, 1).value == "012345678"
    inferred = tmp_path / "p.xlsx"
    assert cli.main(["export", "positions", "--national", "--out", str(inferred), "--warehouse", str(db)]) == 0
    assert _sheet(inferred).cell(3, 3).value == "17,95"
    assert cli.main(["export", "rejets", "--format", "xlsx", "--out", str(tmp_path / "r.csv"),
                     "--warehouse", str(db)]) == 1
    assert "se termine par .csv" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()


def _peak_python_memory(rows: int, out: Path) -> int:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core")
    con.execute(
        f"""CREATE TABLE core.non_positionnees AS
            SELECT '17' AS departement, 'amendes' AS source, 'amendes_17_20261127.csv' AS fichier,
                   (i + 2)::INTEGER AS ligne, lpad(i::VARCHAR, 13, '0') AS reference, 'NON_RATTACHEE' AS motif,
                   lpad(i::VARCHAR, 9, '0') AS siren
            FROM range({rows}) t(i)"""
    )
    tracemalloc.start()
    try:
        assert export_non_positionnees(con, out) == rows
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        con.close()


def test_export_streams_rows_in_bounded_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten times the rows, not ten times the memory: rows go from DuckDB to the file in batches (write-only mode,
    inline strings), so memory is bounded by the batch. A workbook held in memory would grow by about 1 KiB a row.
    Small batches here so that both runs span several of them."""
    monkeypatch.setattr(xlsx, "BATCH_ROWS", 500)
    small = _peak_python_memory(2_000, tmp_path / "small.xlsx")
    large = _peak_python_memory(20_000, tmp_path / "large.xlsx")
    assert large < small * 1.5 + 2 * 2**20, (small, large)
    wb = load_workbook(tmp_path / "large.xlsx", read_only=True)
    rows = list(wb.worksheets[0].iter_rows(min_row=20_001, values_only=True))
    wb.close()
    assert rows == [("amendes", "amendes_17_20261127.csv", 20_001, "NON_RATTACHEE", "000019999")]


def test_history_exports_xlsx(tmp_path: Path) -> None:
    """Movements and impact (section 9) too: SIREN and key as text, amounts as numbers, dates as dates."""
    from onevision_dagster.history.snapshots import create_history_tables
    from onevision_dagster.history.tables import IMPACT_COLUMNS, IMPACT_MONEY_COLUMNS, MOUVEMENT_COLUMNS
    from onevision_dagster.reports.exports import export_impact, export_mouvements

    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    create_history_tables(con)
    con.execute("""INSERT INTO history.mouvements VALUES ('17', DATE '2026-11-20', DATE '2026-11-27', '012345678',
                   'impots_pro', '2026TVA0007', 'RECOUVRE', 7964.70)""")
    money = ", ".join("1.50" for _ in IMPACT_MONEY_COLUMNS)
    con.execute(f"INSERT INTO history.impact VALUES ('17', DATE '2026-11-20', DATE '2026-11-27', {money})")
    assert export_mouvements(con, tmp_path / "m.xlsx") == 1
    ws = _sheet(tmp_path / "m.xlsx")
    assert [c.value for c in ws[1]] == list(MOUVEMENT_COLUMNS)
    row = {h: c for h, c in zip(MOUVEMENT_COLUMNS, ws[2], strict=True)}
    assert (row["siren"].value, row["siren"].data_type) == ("012345678", "s")
    assert row["date_fin"].is_date and row["date_fin"].number_format == DATE_FORMAT
    assert row["montant"].value == 7964.7 and row["montant"].number_format == MONEY_FORMAT
    assert export_impact(con, tmp_path / "i.xlsx") == 1
    ws = _sheet(tmp_path / "i.xlsx")
    assert [c.value for c in ws[1]] == list(IMPACT_COLUMNS)
    assert all(c.value == 1.5 and c.number_format == MONEY_FORMAT for c in ws[2][3:])
