"""Company sheets on the warehouse of test_charts.py (sample department 17, figures checked by hand)."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from onevision_dagster.reports.fiche import write_fiche
from onevision_dagster.reports.fiche_data import PositionIntrouvable, top_companies
from onevision_dagster.reports.formatting import NBSP
from onevision_dagster.reports.html_page import fiche_filename


def _fixture_module():
    name = "onevision_test_charts_fixture"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("test_charts.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fx = _fixture_module()


def eur(text: str) -> str:
    return text.replace(" ", NBSP) + NBSP + "€"


class Sections(HTMLParser):
    """Visible text and table rows (cell texts) of each ``<section id=...>``."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.text: dict[str, list[str]] = {}
        self.rows: dict[str, list[list[str]]] = {}
        self.footers: dict[str, list[list[str]]] = {}
        self.classes: dict[str, list[str]] = {}
        self.tags: list[str] = []
        self._section = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_foot = False
        self._in_head = False
        self._row_class = ""
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "section":
            self._section = a.get("id") or ""
        elif tag == "thead":
            self._in_head = True
        elif tag == "tfoot":
            self._in_foot = True
        elif tag == "tr":
            self._row, self._row_class = [], a.get("class") or ""
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_head = False
        elif tag == "tfoot":
            self._in_foot = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if not self._in_head:
                target = self.footers if self._in_foot else self.rows
                target.setdefault(self._section, []).append(self._row)
                if not self._in_foot:
                    self.classes.setdefault(self._section, []).append(self._row_class)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.setdefault(self._section, []).append(data)
        if self._cell is not None:
            self._cell.append(data)

    def visible(self, section: str) -> str:
        # collapse layout whitespace only: the no-break spaces of amounts stay
        return re.sub(r"[ \t\r\n]+", " ", " ".join(self.text.get(section, []))).strip()


@pytest.fixture()
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    fx.build_warehouse(connection)
    yield connection
    connection.close()


def _sheet(con: duckdb.DuckDBPyConnection, tmp_path: Path, siren: str, dept: str | None) -> Sections:
    path = write_fiche(con, siren, dept, tmp_path / "fiches")
    assert path == tmp_path / "fiches" / fiche_filename(siren, dept)
    return Sections(path.read_text(encoding="utf-8"))


def test_sheet_lists_every_line_with_its_origin(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    s = _sheet(con, tmp_path, "443210984", "17")
    # source, reference, date, amount, status, stage, flags, file, line
    debts = {r[1].split(" ")[0]: r for r in s.rows["dettes"]}
    assert set(debts) == {
        "1700000000005",
        "1700000000006",
        "2025CFE0001",
        "2026TVA0007",
        "2026-RNF-000103",
        "17300/2024/77",
    }
    assert debts["2025CFE0001"] == [
        "Impôts professionnels",
        "2025CFE0001",
        "15/12/2025",
        eur("4 535,30"),
        "Ouvert",
        "Saisie administrative à tiers détenteur",
        "Compensable",
        "impots_pro_17_20261120.csv",
        "2",
    ]
    # settled lines are listed too, greyed, with their origin
    assert debts["1700000000006"][3:5] == [eur("0,00"), "Payée"]
    assert debts["1700000000006"][-2:] == ["amendes_17_20261120.csv", "7"]
    assert debts["17300/2024/77"][-2:] == ["spl_17_20261120.csv", "9"]
    assert debts["2026-RNF-000103"][-2:] == ["rnf_17_20261120.csv", "4"]
    assert s.classes["dettes"].count("fermee") == 3
    # a fine attached by name says so
    assert "rattachée par nom et code postal" in debts["1700000000005"][1]
    # the open lines add up to the position
    assert s.footers["dettes"][0][2:4] == ["Total restant dû (lignes ouvertes)", eur("19 035,30")]

    credits = {r[1]: r for r in s.rows["creances"]}
    assert credits["3519-2026-0001"] == [
        "Crédits de TVA",
        "3519-2026-0001",
        "15/07/2026",
        eur("12 500,00"),
        "Accordée",
        "Certaine",
        "credits_tva_17_20261120.csv",
        "2",
    ]
    assert credits["CIS-2026-0002"][5:] == ["Potentielle", "creances_is_17_20261120.csv", "3"]
    assert [f[2:4] for f in s.footers["creances"]] == [
        ["Total des créances certaines", eur("12 500,00")],
        ["Total des créances potentielles", eur("7 000,00")],
    ]


def test_sheet_shows_identity_position_and_offsetting(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    s = _sheet(con, tmp_path, "443210984", "17")
    identity = dict((r[0], r[1]) for r in s.rows["identite"])
    assert identity["Dénomination"] == "TRANSPORTS CHARENTAIS"
    assert identity["Sigle"] == "TC"
    assert identity["Adresse du siège"] == "ZI DE PERIGNY 17180 PERIGNY"
    assert identity["Catégorie juridique"] == "5710 — Société commerciale"
    assert identity["État administratif"] == "Active"
    assert identity["Procédure collective"] == "Aucune"
    position = dict((r[0], r[1]) for r in s.rows["position"])
    assert position["Total des dettes"] == eur("19 035,30")
    assert position["Solde (créances − dettes)"] == eur("-6 535,30")
    assert position["Montant compensable"] == eur("12 500,00")
    assert position["Ancienneté de la plus vieille dette ouverte"] == "340 jours"
    offsetting = s.visible("compensation")
    assert f"Montant compensable : {eur('12 500,00')}" in offsetting
    assert f"impôts professionnels exigibles sans sursis : {eur('18 035,30')}" in offsetting
    assert "art. L. 257 B du LPF" in offsetting and "R. 257 B-1" in offsetting
    assert f"({eur('1 000,00')}) : jamais compensés" in offsetting  # the fine
    assert "L. 277" in s.visible("base-legale") and "L. 622-7" in s.visible("base-legale")
    assert f"Compensation possible : {eur('12 500,00')}" in s.visible("indicateurs")


def test_collective_procedure_blocks_offsetting(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    s = _sheet(con, tmp_path, "520987611", "17")
    flags = s.visible("indicateurs")
    assert "Procédure collective : Redressement judiciaire (12/06/2026)" in flags
    assert "Compensation possible" not in flags
    offsetting = s.visible("compensation")
    assert f"Montant compensable : {eur('0,00')}" in offsetting
    assert "Compensation bloquée" in offsetting and "L. 622-7 du Code de commerce" in offsetting
    assert f"sans la procédure : {eur('9 000,00')}" in offsetting  # min(9 000, 24 200)
    identity = dict((r[0], r[1]) for r in s.rows["identite"])
    assert identity["Procédure collective"] == "Redressement judiciaire — jugement d'ouverture du 12/06/2026"
    assert identity["Dénomination"] == "ÉCURIES DE L'ÎLE DE RÉ"


def test_sursis_and_contested_titles_are_flagged(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    s = _sheet(con, tmp_path, "790112239", "17")
    flags = s.visible("indicateurs")
    assert "Sursis de paiement (1 dette(s))" in flags
    assert "Titre(s) contesté(s) (1)" in flags
    debts = {r[1]: r for r in s.rows["dettes"]}
    assert debts["2026TVA0100"][6] == "Sursis de paiement"
    assert debts["17306/2026/301"][5:7] == ["Contestation par le débiteur", "Contestée"]
    offsetting = s.visible("compensation")
    assert f"1 dette(s) sous sursis de paiement ({eur('8 030,00')})" in offsetting
    assert "L. 277 du LPF" in offsetting
    assert f"Montant compensable : {eur('0,00')}" in offsetting  # its CIR of 5 000 € has nothing to offset


def test_taxes_not_yet_due_and_fine_attachment(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    s = _sheet(con, tmp_path, "812345676", "17")
    assert f"1 impôt(s) pas encore exigible(s) à la date de situation ({eur('987,00')})" in s.visible("compensation")
    debts = {r[1].split(" ")[0]: r for r in s.rows["dettes"]}
    assert "par SIREN (espaces retirés)" in debts["1700000000002"][1]
    assert "par nom et code postal" in debts["1700000000003"][1]
    assert s.footers["dettes"][0][3] == eur("4 317,50")
    assert len(s.rows["dettes"]) == 8  # 3 fines, 2 titles, 2 taxes (one paid), 1 rnf


def test_national_sheet_has_departments_and_escapes_everything(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_fiche(con, fx.XSS_SIREN, None, tmp_path / "fiches")
    raw = path.read_text(encoding="utf-8")
    assert "<script>alert" not in raw and "<img" not in raw and "<b>X</b>" not in raw
    s = Sections(raw)
    assert "script" not in s.tags and "img" not in s.tags
    identity = dict((r[0], r[1]) for r in s.rows["identite"])
    assert identity["Dénomination"] == fx.XSS  # shown as text
    assert identity["Sigle"] == "<b>X</b>"
    assert identity["Adresse du siège"] == '<img src=x onerror="alert(2)"> 91000 EVRY'
    assert identity["État administratif"] == "Cessée"
    assert f"Fiche entreprise — {fx.XSS} ({fx.XSS_SIREN})" in s.visible("")  # page title and heading
    debts = s.rows["dettes"]
    assert {r[0] for r in debts} == {"91"}  # national sheet: department column first
    assert {r[2] for r in debts} == {"2026TS91001", "91228/2026/7"}
    assert "Départements : 91" in s.visible("position")
    assert f"Montant compensable : {eur('1 234,56')}" in s.visible("compensation")


def test_no_position_is_a_clear_french_error(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "fiches"
    with pytest.raises(PositionIntrouvable, match="Aucune position pour le SIREN 999999998 dans le département 17"):
        write_fiche(con, "999999998", "17", out)  # kept lines, but SIREN unknown to the register
    with pytest.raises(ValueError, match="au niveau national"):
        write_fiche(con, "314159260", None, out)  # in the register, nothing owed
    with pytest.raises(PositionIntrouvable):
        write_fiche(con, fx.XSS_SIREN, "17", out)  # has a position, but in 91
    with pytest.raises(ValueError, match="SIREN invalide"):
        write_fiche(con, "12345", "17", out)
    with pytest.raises(ValueError, match="département"):
        write_fiche(con, "443210984", "../17", out)
    assert not out.exists()


def test_output_path_and_spaces_in_siren(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    target = tmp_path / "ma_fiche.html"
    assert write_fiche(con, "443 210 984", "17", target) == target
    assert "TRANSPORTS CHARENTAIS" in target.read_text(encoding="utf-8")
    assert 'href="../index.html"' not in target.read_text(encoding="utf-8")  # no index beside it: no link
    in_folder = write_fiche(con, "443210984", "17", tmp_path / "fiches")
    assert 'href="../index.html"' in in_folder.read_text(encoding="utf-8")


def test_top_companies_by_amount_at_stake(con: duckdb.DuckDBPyConnection) -> None:
    # total_dettes + total_creances: 34 630 ; 33 375 ; 31 535,30 ; 15 340 ; …
    assert top_companies(con, "17", 3) == ["520987611", "612345009", "443210984"]
    assert top_companies(con, None, 20) == [
        "520987611",  # 25 630 + 9 000
        "612345009",  # 13 375 + 20 000
        "443210984",  # 19 035,30 + 12 500
        "790112239",  # 10 340 + 5 000
        "800000010",  # 2 375 + 3 200
        fx.XSS_SIREN,  # 3 500 + 1 234,56
        "812345676",  # 4 317,50
        "356000000",  # 2 500
        "552100554",  # 250
        "908070600",  # 210
    ]
    assert top_companies(con, "91", 0) == []
    assert top_companies(con, "95", 5) == []
    # ties are broken by SIREN, for a stable list
    con.execute("UPDATE marts.positions SET total_dettes = 100, total_creances = 0 WHERE departement = '91'")
    assert top_companies(con, "91", 2) == [fx.XSS_SIREN, "552100554"]
