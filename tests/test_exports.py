"""Agent CSV exports: byte-level format, and the sample exports against the expected files."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from onevision_dagster import warehouse
from onevision_dagster.consolidate.build import build_all
from onevision_dagster.consolidate.tables import POSITION_MONEY_COLUMNS
from onevision_dagster.ingest.load import ingest_landing
from onevision_dagster.reports.exports import (
    export_non_positionnees,
    export_positions,
    export_rejets,
    format_money,
    write_agent_csv,
)

from .conftest import SAMPLES

BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def samples() -> duckdb.DuckDBPyConnection:
    assert (SAMPLES / "landing").is_dir(), f"samples not found at {SAMPLES}"
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    ingest_landing(con, SAMPLES / "landing")
    build_all(con)
    return con


def agent_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    """What the contract asks for, spelled out independently of the module under test."""
    lines = [";".join(header)] + [";".join(r) for r in rows]
    return BOM + "".join(line + "\r\n" for line in lines).encode("utf-8")


def expected_as_agent(name: str, date_cols: set[str], money_cols: set[str]) -> bytes:
    with (SAMPLES / "expected" / name).open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    out = []
    for row in rows:
        cells = []
        for col, cell in zip(header, row, strict=True):
            if col in date_cols and cell:
                y, m, d = cell.split("-")
                cell = f"{d}/{m}/{y}"
            elif col in money_cols:
                cell = cell.replace(".", ",")
            cells.append(cell)
        out.append(cells)
    return agent_bytes(header, out)


# --------------------------------------------------------------------------- format


def test_write_agent_csv_bytes(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "texte": ["=1+2", "+33 6", "-x", "@SOMME(A1)", "\tTAB", "a;b", 'dit "oui"', "deux\nlignes", None,
                      "normal", "É'té"],
            "montant": [Decimal("-2500"), Decimal("0.00"), 123456, 0.1 + 0.2, None, Decimal("-0.00"),
                        Decimal("1250.4"), Decimal("7"), Decimal("0.005"), 12, Decimal("-1.10")],
            "jour": [dt.date(2026, 3, 1), pd.Timestamp("2026-11-20"), "2026-01-31", None,
                     dt.date(2025, 12, 9),
                     None, None, None, None, None, dt.datetime(2026, 2, 3, 10, 0)],
            "nombre": [1, 264, None, -3, 0, 10, 2, 3, 4, 5, 6],
        },
        dtype=object,
    )
    out = tmp_path / "sub" / "x.csv"
    n = write_agent_csv(df, out, date_columns=["jour"], money_columns=["montant"],
                        columns=["texte", "montant", "jour", "nombre"])
    assert n == 11
    data = out.read_bytes()
    assert data.startswith(BOM)
    assert data == agent_bytes(
        ["texte", "montant", "jour", "nombre"],
        [
            ["'=1+2", "-2500,00", "01/03/2026", "1"],
            ["'+33 6", "0,00", "20/11/2026", "264"],
            ["'-x", "1234,56", "31/01/2026", ""],  # an integer amount is cents
            ["'@SOMME(A1)", "0,30", "", "-3"],  # negative numbers are numbers, not formulas
            ["'\tTAB", "", "09/12/2025", "0"],
            ['"a;b"', "0,00", "", "10"],
            ['"dit ""oui"""', "1250,40", "", "2"],
            ['"deux\nlignes"', "7,00", "", "3"],
            ["", "0,01", "", "4"],  # half a cent rounds up
            ["normal", "0,12", "", "5"],
            ["É'té", "-1,10", "03/02/2026", "6"],
        ],
    )


def test_carriage_return_is_neutralised_and_quoted(tmp_path: Path) -> None:
    out = tmp_path / "cr.csv"
    write_agent_csv(pd.DataFrame({"t": ["\rx"]}), out)
    assert out.read_bytes() == BOM + b"t\r\n\"'\rx\"\r\n"


def test_format_money() -> None:
    assert format_money(Decimal("-6535.3")) == "-6535,30"
    assert format_money(Decimal("18035.30")) == "18035,30"
    assert format_money(-250000) == "-2500,00"
    assert format_money(None) == ""
    assert format_money(float("nan")) == ""
    with pytest.raises(TypeError):
        format_money(True)


def test_empty_frame_gives_header_only(tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    assert write_agent_csv(pd.DataFrame({"a": [], "b": []}), out) == 0
    assert out.read_bytes() == BOM + b"a;b\r\n"


# --------------------------------------------------------------------------- samples


def test_export_positions_17(samples: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "positions_17.csv"
    assert export_positions(samples, out, departement="17") == 11
    expected = expected_as_agent("positions_17.csv", {"date_situation"}, set(POSITION_MONEY_COLUMNS))
    assert out.read_bytes() == expected
    assert b";44431,77;" in expected  # MENUISERIE's CVAE 2025, suspended: its procedure (v3)
    assert b"solde" not in out.read_bytes().split(b"\r\n")[0]  # no balance (contract v3, section 8)


def test_export_positions_95(samples: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "positions_95.csv"
    assert export_positions(samples, out, departement="95") == 2
    assert out.read_bytes() == expected_as_agent("positions_95.csv", {"date_situation"}, set(POSITION_MONEY_COLUMNS))


def test_export_compensations(samples: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Contract v3: 17's credits against the company's taxes in every department (BOULANGERIE's 800,00 refund in
    17 pays its 450,00 CFE in 95)."""
    from onevision_dagster.reports.exports import export_compensations

    out = tmp_path / "c.csv"
    assert export_compensations(samples, out) == 2
    money = {"creances_departement", "dettes_compensables_departement", "dettes_compensables_autres",
             "montant_compensable"}
    assert out.read_bytes() == expected_as_agent("compensations.csv", {"date_situation"}, money)
    out17 = tmp_path / "c17.csv"
    assert export_compensations(samples, out17, departement="17") == 2
    assert export_compensations(samples, tmp_path / "c95.csv", departement="95") == 0  # 95 holds no credit


def test_export_declarations(samples: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Contract v3: the claims to declare, the most urgent first; the expected file is compared as a set."""
    from onevision_dagster.reports.exports import export_declarations

    out = tmp_path / "d.csv"
    n = export_declarations(samples, out, departement="17")
    dates = {"date_situation", "date_jugement", "date_publication_bodacc", "date_limite_declaration",
             "date_limite_releve"}
    expected = expected_as_agent("declarations.csv", dates, {"montant"}).split(b"\r\n")
    got = out.read_bytes().split(b"\r\n")
    assert n == len(expected) - 2 and got[0] == expected[0] and sorted(got[1:]) == sorted(expected[1:])
    deadlines = [r[12] for r in read_agent_csv(out)[1:]]
    filled = [dt.datetime.strptime(d, "%d/%m/%Y").date() for d in deadlines if d]
    assert filled == sorted(filled) and deadlines[-1] == ""  # earliest deadline first, no deadline last


def test_export_positions_national(samples: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "nat.csv"
    assert export_positions(samples, out, national=True) == 11
    assert out.read_bytes() == expected_as_agent(
        "positions_nationales.csv", {"date_situation"}, set(POSITION_MONEY_COLUMNS)
    )
    with pytest.raises(ValueError):
        export_positions(samples, out, departement="17", national=True)


def test_export_positions_unknown_department_is_header_only(
    samples: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    out = tmp_path / "p91.csv"
    assert export_positions(samples, out, departement="91") == 0
    assert out.read_bytes().count(b"\r\n") == 1


def test_export_non_positionnees(samples: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "np.csv"
    assert export_non_positionnees(samples, out, departement="17") == 6
    assert out.read_bytes() == expected_as_agent("non_positionnees.csv", set(), set())
    out_all = tmp_path / "np_all.csv"
    export_non_positionnees(samples, out_all)
    assert out_all.read_bytes() == out.read_bytes()


def read_agent_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))


def test_export_rejets(samples: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "rejets.csv"
    n = export_rejets(samples, out)
    header, *rows = read_agent_csv(out)
    assert header == ["source", "fichier", "ligne", "colonne", "motif", "message", "contenu"]
    assert len(rows) == n
    with (SAMPLES / "expected" / "rejets.csv").open(encoding="utf-8", newline="") as fh:
        _, *expected = list(csv.reader(fh))
    # the rejects of the files of the latest snapshot (2026-11-27), in the contract's order of sources
    assert [r[:4] for r in rows] == expected
    raw = out.read_bytes().decode("utf-8")
    # the raw line holds the separator: quoted, one record per line
    assert '"1700000000016;12/06/2026;21/08/2026;BOULANGERIE DU PORT;812345676;12 QUAI DUPERRE;17000"' in raw
    assert raw.count("\r\n") == n + 1
    # the rnf raw line with a negative amount is text: it does not start with '-', so it is left as is
    assert any(r[6].startswith("2026-RNF-000106,") for r in rows)

    out17 = tmp_path / "rejets_17.csv"
    export_rejets(samples, out17, departement="17")
    _, *rows17 = read_agent_csv(out17)
    assert [r[:4] for r in rows17] == [e for e in expected if e[0] != "entreprises"]


def test_export_rejets_neutralises_formula_like_content(tmp_path: Path) -> None:
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    con.execute(
        """INSERT INTO quality.rejets (source, departement, fichier, date_extraction, ligne, colonne, motif, message,
                                       contenu) VALUES
           ('amendes', '17', 'amendes_17_20261120.csv', DATE '2026-11-20', 3, 'NUM_AMENDE',
            'VALEUR_MANQUANTE',
            'NUM_AMENDE : valeur manquante', '=HYPERLINK(\"http://x\";\"clic\")'),
           ('amendes', '17', 'amendes_17_20261120.csv', DATE '2026-11-20', 2, 'MONTANT_MAJORE',
            'MONTANT_NEGATIF', '-5 est négatif', '-5;x')"""
    ).fetchall()
    con.execute("""INSERT INTO quality.chargements (source, departement, fichier, date_extraction, lignes_lues,
                   lignes_gardees, lignes_rejetees, charge_le, statut)
                   VALUES ('amendes', '17', 'amendes_17_20261120.csv', DATE '2026-11-20', 2, 0, 2, now(), 'CHARGE')
                """).fetchall()
    out = tmp_path / "r.csv"
    export_rejets(con, out)
    assert out.read_bytes() == agent_bytes(
        ["source", "fichier", "ligne", "colonne", "motif", "message", "contenu"],
        [
            ["amendes", "amendes_17_20261120.csv", "2", "MONTANT_MAJORE", "MONTANT_NEGATIF",
             "'-5 est négatif", "\"'-5;x\""],
            ["amendes", "amendes_17_20261120.csv", "3", "NUM_AMENDE", "VALEUR_MANQUANTE",
             "NUM_AMENDE : valeur manquante", '"\'=HYPERLINK(""http://x"";""clic"")"'],
        ],
    )


def test_export_positions_17_xlsx_matches_the_expected_positions(
    samples: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The workbook of the samples holds the expected positions, each cell typed (text, number, date)."""
    from openpyxl import load_workbook

    out = tmp_path / "positions_17.xlsx"
    assert export_positions(samples, out, departement="17") == 11
    ws = load_workbook(out).worksheets[0]
    with (SAMPLES / "expected" / "positions_17.csv").open(encoding="utf-8", newline="") as fh:
        header, *expected = list(csv.reader(fh))
    assert [c.value for c in ws[1]] == header
    money = set(POSITION_MONEY_COLUMNS)
    for want, got in zip(expected, ws.iter_rows(min_row=2), strict=True):
        for col, cell_text, cell in zip(header, want, got, strict=True):
            if cell_text == "":
                assert cell.value is None, col
            elif col in money:
                assert cell.data_type == "n" and Decimal(str(cell.value)) == Decimal(cell_text), col
            elif col == "date_situation":
                assert cell.is_date and cell.value.date() == dt.date.fromisoformat(cell_text)
            elif col in ("nb_sources_dettes", "anciennete_jours"):
                assert cell.value == int(cell_text)
            else:
                assert cell.data_type == "s" and cell.value == cell_text, col
    assert ws.max_row == 12


@pytest.mark.parametrize("table", ["compensations", "declarations"])
def test_compensations_and_declarations_in_xlsx_hold_the_csvs_rows(samples: duckdb.DuckDBPyConnection,
                                                                   tmp_path: Path, table: str) -> None:
    """The same rows as the CSV, typed as a spreadsheet keeps them: SIREN and keys as text, amounts as numbers in
    euros, dates as dates (section 6 conventions)."""
    from openpyxl import load_workbook

    from onevision_dagster.reports import exports
    from onevision_dagster.reports.xlsx import DATE_FORMAT, MONEY_FORMAT

    export = getattr(exports, f"export_{table}")
    n = export(samples, tmp_path / "t.csv")
    assert export(samples, tmp_path / "t.xlsx") == n > 0
    rows_csv = read_agent_csv(tmp_path / "t.csv")
    ws = load_workbook(tmp_path / "t.xlsx").worksheets[0]
    header = [c.value for c in ws[1]]
    assert header == rows_csv[0]
    cells = list(ws.iter_rows(min_row=2))
    assert len(cells) == n
    for row, text in zip(cells, rows_csv[1:], strict=True):
        cell = dict(zip(header, row, strict=True))
        assert (cell["siren"].value, cell["siren"].data_type) == (text[header.index("siren")], "s")
        assert cell["date_situation"].is_date and cell["date_situation"].number_format == DATE_FORMAT
        money = "montant_compensable" if table == "compensations" else "montant"
        assert cell[money].data_type == "n" and cell[money].number_format == MONEY_FORMAT
        assert Decimal(str(cell[money].value)).quantize(Decimal("0.01")) == Decimal(
            text[header.index(money)].replace(" ", "").replace("\u00a0", "").replace(",", "."))
