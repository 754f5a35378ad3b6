"""Company sheets on the warehouse of test_charts.py (sample department 17, figures checked by hand)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from onevision_dagster.reports.fiche import write_fiche
from onevision_dagster.reports.fiche_data import PositionIntrouvable, top_companies
from onevision_dagster.reports.formatting import NBSP
from onevision_dagster.reports.html_page import fiche_filename

from . import test_charts as fx  # its small warehouse and cases


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


POURSUIVABLE = "Échue, poursuivable (non suspendue d'après les données)"


def test_sheet_lists_every_line_with_its_origin(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    s = _sheet(con, tmp_path, "443210984", "17")
    # source, reference, date, amount, status, nature, stage, offsetting, flags, file, line
    debts = {r[1].split(" ")[0]: r for r in s.rows["dettes"]}
    assert set(debts) == {
        "1700000000006",
        "1700000000007",
        "1700000000021",
        "2025CFE0001",
        "2026TVA0007",
        "2026-RNF-000103",
        "17300/2024/77",
    }
    assert debts["2026TVA0007"] == [
        "Impôts professionnels",
        "2026TVA0007",
        "24/08/2026",
        eur("7 385,30"),
        "Ouvert",
        POURSUIVABLE,
        "Mise en demeure",
        "Rien à compenser : aucune créance certaine et due",  # its refund was applied: no credit left
        "",
        "impots_pro_17_20261127.csv",
        "3",
    ]
    # never "jamais compensée"
    assert debts["1700000000007"][5:8] == [POURSUIVABLE, "—", "Hors L. 257 B (amende)"]
    # settled lines are listed too, greyed, with their origin
    assert debts["1700000000006"][3:6] == [eur("0,00"), "Payée", "Rien n'est dû (payée ou annulée)"]
    assert debts["1700000000006"][-2:] == ["amendes_17_20261127.csv", "7"]
    assert debts["17300/2024/77"][-2:] == ["spl_17_20261127.csv", "9"]
    assert debts["2026-RNF-000103"][-2:] == ["rnf_17_20261127.csv", "4"]
    assert s.classes["dettes"].count("fermee") == 4
    assert "rattachée par SIREN" in debts["1700000000021"][1]
    # the due lines add up to the position; what is owed apart is totalled apart
    assert [f[2:4] for f in s.footers["dettes"]] == [
        ["Total des dettes échues", eur("8 510,30")],
        ["À échoir (hors total)", eur("0,00")],
        ["Admises en non-valeur (hors total)", eur("0,00")],
    ]

    credits = {r[1]: r for r in s.rows["creances"]}
    assert credits["CIS-2026-0004"] == [
        "Créances d'impôt sur les sociétés",
        "CIS-2026-0004",
        "01/06/2028",
        eur("4 000,00"),
        "Remboursable",
        "À échoir (non compensable avant sa date)",
        "creances_is_17_20261127.csv",
        "5",
    ]
    assert credits["CIS-2026-0002"][5:] == ["Potentielle (en instruction)", "creances_is_17_20261127.csv", "3"]
    assert credits["3519-2026-0001"][4:6] == ["Imputée", "Rien n'est dû"]
    assert [f[1:3] for f in s.footers["creances"]] == [
        ["Total des créances certaines et dues", eur("0,00")],
        ["Créances à échoir (hors total)", eur("4 000,00")],
        ["Total des créances potentielles", eur("7 000,00")],
    ]


def test_sheet_shows_identity_position_and_offsetting(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    s = _sheet(con, tmp_path, "443210984", "17")
    identity = dict((r[0], r[1]) for r in s.rows["identite"])
    assert identity["Dénomination"] == "TRANSPORTS CHARENTAIS"
    assert identity["Sigle"] == "TC"
    # the register version of the 27/11 snapshot, not the 20/11 one (its address differs)
    assert identity["Adresse du siège"] == "ZI DE PERIGNY 17180 PERIGNY"
    assert identity["Origine"] == "entreprises_20261127.csv, ligne 3"
    assert identity["Catégorie juridique"] == "5710 — Société commerciale"
    assert identity["État administratif"] == "Active"
    assert identity["Procédure collective"] == "Aucune"
    position = dict((r[0], r[1]) for r in s.rows["position"])
    assert position["Total des dettes échues"] == eur("8 510,30")
    assert position["dont suspendues (motif sur chaque ligne)"] == eur("0,00")
    assert position["dont poursuivables (non suspendues d'après les données)"] == eur("8 510,30")
    assert position["Créances à échoir (hors total, non compensables avant leur date)"] == eur("4 000,00")
    assert position["Créances potentielles (en instruction)"] == eur("7 000,00")
    assert not any("olde" in label for label in position)  # contract v3: no balance
    assert position["Montant compensable"] == eur("0,00")
    assert position["Passif déclaré (impôts déclarés au passif d'une procédure)"] == eur("0,00")
    assert position["Ancienneté de la plus vieille dette échue"] == "106 jours"
    offsetting = s.visible("compensation")
    assert f"Montant compensable : {eur('0,00')}" in offsetting
    assert f"impôts professionnels échus et poursuivables : {eur('7 385,30')}" in offsetting
    assert "art. L. 257 B du LPF" in offsetting and "R. 257 B-1" in offsetting
    assert f"({eur('1 125,00')}) : hors L. 257 B" in offsetting  # the two fines
    assert f"Créances à échoir ({eur('4 000,00')})" in offsetting
    assert "à échoir (non compensable avant sa date)" in offsetting
    assert "jamais" not in offsetting
    assert "L. 277" in s.visible("base-legale") and "L. 622-7" in s.visible("base-legale")
    assert "Compensation" not in s.visible("indicateurs")  # nothing to offset, nothing blocked


def test_collective_procedure_blocks_offsetting(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    s = _sheet(con, tmp_path, "520987611", "17")
    flags = s.visible("indicateurs")
    # no credit left (its VAT refund was paid): nothing to offset, so « procédure », never « compensation bloquée »
    assert "Compensation bloquée" not in flags and "Compensable" not in flags
    assert "Procédure collective : Redressement judiciaire (12/06/2026)" in flags
    assert f"Passif déclaré : {eur('24 200,00')}" in flags
    assert f"Dettes suspendues : {eur('25 180,00')}" in flags
    offsetting = s.visible("compensation")
    assert f"Montant compensable : {eur('0,00')}" in offsetting
    assert "Procédure collective ouverte" in offsetting and "L. 622-21" in offsetting
    assert f"sans le blocage : {eur('0,00')}" in offsetting  # its VAT refund was paid: min(0, 24 200)
    assert f"Amendes admises en non-valeur ({eur('450,00')})" in offsetting
    identity = dict((r[0], r[1]) for r in s.rows["identite"])
    assert identity["Procédure collective"] == "Redressement judiciaire — jugement d'ouverture du 12/06/2026"
    assert identity["Dénomination"] == "ÉCURIES DE L'ÎLE DE RÉ"
    debts = {r[1].split(" ")[0]: r for r in s.rows["dettes"]}
    assert debts["2025IS00055"][5] == ("Échue, suspendue : déclarée au passif d'une procédure collective "
                                       "(art. L. 622-21 C. com.)")
    assert debts["2025IS00055"][7:9] == ["Non compensable : suspendue", "Déclarée au passif"]
    assert debts["17415/2026/12"][5] == "Échue, suspendue : antérieure au jugement d'ouverture (art. L. 622-21 C. com.)"
    # the written-off fine: shown, greyed, apart
    assert debts["1700000000011"][4:8] == [
        "Admise en non-valeur",
        "Admise en non-valeur : hors des dettes poursuivies, non éteinte",
        "—",
        "Admise en non-valeur, hors dettes poursuivies",
    ]
    assert s.classes["dettes"][-1] == "fermee"
    assert [f[2:4] for f in s.footers["dettes"]][2] == ["Admises en non-valeur (hors total)", eur("450,00")]


def test_declared_claim_without_procedure_blocks_offsetting(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    s = _sheet(con, tmp_path, "800000010", "17")
    flags = s.visible("indicateurs")
    assert ("Compensation bloquée : créance déclarée au passif d'une procédure que le registre ne montre pas (art. "
            "L. 622-7 C. com.)" in flags)
    assert f"Passif déclaré : {eur('3 000,00')}" in flags
    assert "Procédure collective :" not in flags  # the register shows none
    offsetting = s.visible("compensation")
    assert f"Montant compensable : {eur('0,00')}" in offsetting
    assert f"sans le blocage : {eur('3 200,00')}" in offsetting  # min(3 200, 4 650)
    assert f"{eur('3 000,00')} d'impôts sont déclarés au passif" in offsetting
    identity = dict((r[0], r[1]) for r in s.rows["identite"])
    assert identity["Procédure collective"] == "Aucune"
    position = dict((r[0], r[1]) for r in s.rows["position"])
    assert position["Passif déclaré (impôts déclarés au passif d'une procédure)"] == eur("3 000,00")
    debts = {r[1]: r for r in s.rows["dettes"]}
    reason = ("Compensation bloquée : créance déclarée au passif d'une procédure que le registre ne montre pas (art. "
              "L. 622-7 C. com.)")
    assert debts["2024IS00010"][7:9] == [reason, "Déclarée au passif"]
    assert debts["2026CFE0010"][7] == reason  # a due tax of a blocked company is not offset either
    assert debts["2026-RNF-000102"][7] == "Hors L. 257 B (recette non fiscale)"


def test_procedure_judged_after_the_as_of_date_does_not_block(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    s = _sheet(con, tmp_path, fx.IMPRIMERIE, "91")
    assert "Compensation bloquée" not in s.visible("indicateurs")
    assert f"Compensable (art. L. 257 B LPF) : {eur('700,00')}" in s.visible("indicateurs")
    assert "antérieure au jugement" not in s.visible("indicateurs")  # the procedure is not open yet
    offsetting = s.visible("compensation")
    assert "jugement postérieur à la date de situation : à vérifier" in offsetting
    s = _sheet(con, tmp_path, fx.FONDERIE, "91")
    assert "Compensation bloquée : procédure collective ouverte (art. L. 622-7 C. com.)" in s.visible("indicateurs")
    assert f"sans le blocage : {eur('5 000,00')}" in s.visible("compensation")


def test_sursis_and_contested_titles_are_flagged(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    s = _sheet(con, tmp_path, "790112239", "17")
    flags = s.visible("indicateurs")
    assert f"Dettes suspendues : {eur('7 530,00')}" in flags and "Compensation" not in flags
    debts = {r[1].split(" ")[0]: r for r in s.rows["dettes"]}
    assert debts["2026TVA0100"][5] == "Échue, suspendue : sursis de paiement (art. L. 277 LPF)"
    assert debts["2026TVA0100"][7:9] == ["Non compensable : suspendue", "Sursis de paiement"]
    assert debts["17306/2026/301"][5:9] == [
        "Échue, suspendue : titre contesté en justice (art. L. 1617-5 CGCT)",
        "Contestation par le débiteur",
        "Hors L. 257 B (créance d'une collectivité, autre créancier)",
        "Contestée",
    ]
    offsetting = s.visible("compensation")
    assert f"Dettes échues suspendues ({eur('7 530,00')}) : comptées dans les dettes échues" in offsetting
    assert f"sursis de paiement (art. L. 277 LPF) : 1 ligne(s), {eur('5 730,00')}" in offsetting
    assert f"titre contesté en justice (art. L. 1617-5 CGCT) : 1 ligne(s), {eur('1 800,00')}" in offsetting
    assert f"Montant compensable : {eur('0,00')}" in offsetting  # its CIR was paid back: nothing to offset
    position = dict((r[0], r[1]) for r in s.rows["position"])
    assert position["Total des dettes échues"] == eur("7 530,00")  # the debt under sursis stays past due
    assert position["dont poursuivables (non suspendues d'après les données)"] == eur("0,00")


def test_taxes_not_yet_due_and_fine_attachment(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    s = _sheet(con, tmp_path, "812345676", "17")
    offsetting = s.visible("compensation")
    assert f"1 impôt(s) à échoir ({eur('987,00')}) : pas encore échu(s)" in offsetting
    debts = {r[1].split(" ")[0]: r for r in s.rows["dettes"]}
    assert debts["2026CFE0002"][5:8] == [
        "À échoir : pas encore échue",
        "Amiable",
        "À échoir (non compensable avant sa date)",
    ]
    assert "par SIREN (espaces retirés)" in debts["1700000000002"][1]
    assert "par nom et code postal" in debts["1700000000003"][1]
    assert [f[3] for f in s.footers["dettes"]][:2] == [eur("1 420,50"), eur("987,00")]
    assert len(s.rows["dettes"]) == 8  # 3 fines (one paid, one cancelled), 2 titles, 2 taxes (one paid), 1 rnf
    # the due lines first, then the not-yet-due tax, then what is settled
    assert [r[5] for r in s.rows["dettes"]][:4] == [POURSUIVABLE] * 3 + ["À échoir : pas encore échue"]
    position = dict((r[0], r[1]) for r in s.rows["position"])
    assert position["Impôts professionnels à échoir (hors total, pas encore échus)"] == eur("987,00")
    assert position["Total des dettes échues"] == eur("1 420,50")


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
    assert f"Compensable (art. L. 257 B LPF) : {eur('1 234,56')}" in s.visible("compensation")


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
    # total_dettes + total_creances: 25 180 ; 9 125 + 2 500 ; 6 650 + 3 200 ; 8 510,30 ; …
    assert top_companies(con, "17", 3) == ["520987611", "301122339", "800000010"]
    assert top_companies(con, None, 20) == [
        "520987611",  # 25 180
        fx.FONDERIE,  # 8 000 + 5 000
        "301122339",  # 9 125 + 2 500
        "800000010",  # 6 650 + 3 200
        "443210984",  # 8 510,30
        "790112239",  # 7 530
        fx.XSS_SIREN,  # 3 500 + 1 234,56
        "612345009",  # 1 375 in 17 + 3 000 in 95 (samples v3)
        "812345676",  # 1 420,50 + 450 in 95 + 800
        fx.IMPRIMERIE,  # 1 000 + 700
        "552100554",  # 250
        "908070600",  # 210
    ]
    assert top_companies(con, "91", 0) == []
    assert top_companies(con, "95", 5) == []
    # ties are broken by SIREN, for a stable list
    con.execute("UPDATE marts.positions SET total_dettes = 100, total_creances = 0 WHERE departement = '91'")
    assert top_companies(con, "91", 2) == [fx.XSS_SIREN, "552100554"]
