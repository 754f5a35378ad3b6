"""The real pipeline on the shared samples, then the application on what it published.

Register, departments 17 and 95, their two snapshots (history) and the national views are materialized through
Dagster, stage by stage as `onevision run` does (the national run ends with `publication/app` and the
dashboards); the application then serves a company page from the published copy, with the figures of
`expected/positions_17.csv` and the lines of the sample files, and the refunds at risk of `expected/impact.csv`.

Issue 17 (what agents see is lawful), through the same application on the same samples: the words of contract
section 8 on every page, list, export and dashboard; suspended lines with their reason; the declarations list;
the offsets across departments; the rows rejected in the latest files; the as-of date of each department.
"""

from __future__ import annotations

import csv
import html
import re
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from onevision_dagster.app.publication import current_file

from .conftest import EXPECTED

AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}
AGENT_91 = {"X-Remote-User": "bob", "X-Remote-Groups": "onevision-departement-91"}


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).replace("\u00a0", " ")


def _euros(amount: str) -> str:
    """`6650.00` → `6 650,00 €` (the page's format)."""
    whole, cents = amount.split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{' '.join(groups)},{cents} €"


AGENT_95 = {"X-Remote-User": "carla", "X-Remote-Groups": "onevision-departement-95"}
NATIONAL = {"X-Remote-User": "nina", "X-Remote-Groups": "onevision-national"}


@pytest.fixture(scope="module")
def app(samples_app: tuple):
    return samples_app[0]  # conftest: the samples built once, served by an app of this module


def _page(base: str, path: str, headers: dict[str, str] = AGENT_17, **params: str) -> str:
    r = requests.get(f"{base}{path}", headers=headers, params=params)
    assert r.status_code == 200, (path, r.status_code)
    return _text(r.text)


def test_company_page_from_the_published_pipeline_output(samples: Path, app: str) -> None:

    with open(EXPECTED / "positions_17.csv", encoding="utf-8") as fh:
        expected = {row["siren"]: row for row in csv.DictReader(fh)}
    base = app
    found = requests.get(f"{base}/recherche", params={"q": "Ostreiculture marennes"}, headers=AGENT_17)
    assert found.status_code == 200 and "/entreprises/800000010" in found.text
    page = requests.get(f"{base}/entreprises/800000010", headers=AGENT_17)
    assert page.status_code == 200
    text = _text(page.text)
    oysters = expected["800000010"]
    for column in ("total_dettes", "total_creances", "passif_declare", "dettes_impots_pro"):
        assert _euros(oysters[column]) in text, column
    assert oysters["montant_compensable"] == "0.00"
    assert "créance déclarée au passif d'une procédure que le registre ne montre pas" in text
    assert "impots_pro_17_20261127.csv" in text and "excedents_17_20261127.csv" in text
    shipping = _text(requests.get(f"{base}/entreprises/301122339", headers=AGENT_17).text)
    assert f"Compensable (art. L. 257 B LPF) : {_euros(expected['301122339']['montant_compensable'])}" in shipping
    assert requests.get(f"{base}/entreprises/800000010", headers=AGENT_91).status_code == 403
    worklist = _text(requests.get(f"{base}/departements/17/listes/compensations", headers=AGENT_17).text)
    with open(EXPECTED / "compensations.csv", encoding="utf-8") as fh:  # what 17's credits can pay, anywhere
        offsets = [row for row in csv.DictReader(fh) if row["departement"] == "17"]
    assert f"{len(offsets)} élément" in worklist
    for row in offsets:
        assert row["siren"] in worklist and _euros(row["montant_compensable"]) in worklist
    # the history is published too: refunds at risk of the period 20/11 → 27/11, as expected/impact.csv
    with open(EXPECTED / "impact.csv", encoding="utf-8") as fh:
        impact = next(csv.DictReader(fh))
    refunds = requests.get(f"{base}/departements/17/listes/remboursements/export.csv", headers=AGENT_17)
    rows = list(csv.DictReader(refunds.content.decode("utf-8-sig").splitlines(), delimiter=";"))
    total = sum(Decimal(r["À risque"].replace(",", ".")) for r in rows)  # French headers (issue 17)
    assert total == Decimal(impact["rembourse_a_risque"]) and total > 0
    assert all(r["Début"] == "20/11/2026" and r["Fin"] == "27/11/2026" for r in rows)
    page = _text(requests.get(f"{base}/entreprises/800000010", headers=AGENT_17).text)
    assert "Historique" in page and "20/11/2026" in page


# ------------------------------------------------------------------ issue 17: what agents see is lawful

SOLDE = re.compile(r"\bsoldes?\b", re.IGNORECASE)
EXIGIBLE = re.compile(r"exigibles?\b", re.IGNORECASE)


def _lawful(text: str, where: str) -> None:
    """No balance anywhere; « exigible » only in the quote of art. L. 257 B (« liquides et exigibles »), never on a
    debt total, a nature or a line (contract section 8: past due is not exigible)."""
    assert not SOLDE.search(text), where
    assert not EXIGIBLE.search(text.replace("liquides et exigibles", "")), (where, EXIGIBLE.findall(text))


def _visible_file(path: Path) -> str:
    """A generated page's text, chart titles included (their JSON sits in scripts)."""
    raw = path.read_text(encoding="utf-8")
    return _text(raw) + " " + " ".join(re.findall(r'"text":\s*"([^"]*)"', raw))


def test_every_page_list_export_dashboard_and_sheet_is_lawful(samples: Path, app: str) -> None:
    import duckdb

    from onevision_dagster.app.worklists import LISTS

    with duckdb.connect(str(current_file(samples / "publication")), read_only=True) as con:
        companies = con.execute("SELECT siren FROM recherche").fetchall()
    pages = 0
    for agent, dept in ((AGENT_17, "17"), (AGENT_95, "95")):
        for path in ("/", f"/departements/{dept}", "/suivi"):
            _lawful(_page(app, path, agent), path)
            pages += 1
        for key in LISTS:
            _lawful(_page(app, f"/departements/{dept}/listes/{key}", agent), key)
            export = requests.get(f"{app}/departements/{dept}/listes/{key}/export.csv", headers=agent)
            assert export.status_code == 200
            _lawful(export.content.decode("utf-8-sig"), f"{key}.csv")
            pages += 2
    for (siren,) in companies:  # each company's page and its sheet, rendered on demand (none is written in advance)
        _lawful(_page(app, f"/entreprises/{siren}", NATIONAL), siren)
        _lawful(_page(app, f"/entreprises/{siren}/fiche", NATIONAL), f"{siren}/fiche")
        pages += 2
    _lawful(_page(app, "/recherche", AGENT_17, q="garage"), "recherche")
    reports = sorted((samples / "rapports").rglob("*.html"))
    assert {p.name for p in reports} >= {"tableau_de_bord_17.html", "tableau_de_bord_95.html",
                                         "tableau_de_bord_national.html", "tableau_de_bord_experimentation.html"}
    for path in reports:
        _lawful(_visible_file(path), path.name)
    assert pages >= 30 and len(companies) >= 10


def test_company_in_a_procedure_is_blocked_never_compensable(app: str) -> None:
    # FERRONNERIE ROCHELAISE, sauvegarde judged 03/11/2026: every past-due line suspended with its reason, a 700
    # overpayment blocked, claims to declare by 18/01/2027 (17/01 is a Sunday), one born after the judgment
    text = _page(app, "/entreprises/845123454")
    assert "Compensable (art. L. 257 B LPF)" not in text  # the finding 2: the page now says « bloquée »
    assert text.count("Compensation bloquée : procédure collective ouverte (art. L. 622-7 C. com.)") >= 3
    assert "Échue, suspendue : antérieure au jugement d'ouverture (art. L. 622-21 C. com.)" in text
    assert "Échue, suspendue : postérieure au jugement, à qualifier (art. L. 622-17 C. com.)" in text
    assert ("privilégiée (L. 622-17 I), elle est payée à l'échéance et, impayée, portée à la connaissance du "
            "mandataire (L. 622-17 IV) ; sinon, à déclarer dans les deux mois de son échéance") in text
    assert f"dont poursuivables (non suspendues d'après les données) {_euros('0.00')}" in text
    assert f"dont suspendues (motif sur chaque ligne) {_euros('6395.00')}" in text
    assert f"2026TVA0845 {_euros('5120.00')} 18/01/2027 18/05/2027 À déclarer avant la date limite" in text
    assert "comptable de la collectivité (SGC), pas le SIE" in text  # its spl title, to qualify
    # its 700 overpayment of 12/10/2026 and its VAT due 24/10/2026 both predate the judgment
    assert "Compensation antérieure au jugement à examiner (art. 1347 C. civ., L. 622-7 C. com.)" in text
    assert "PASSIF_PROCEDURE" not in text and "ANTERIEURE_JUGEMENT" not in text  # no raw code in a sentence


def test_suspended_company_shows_each_reason_and_nothing_to_offset(app: str) -> None:
    # GARAGE MARTIN: its tax under sursis and its contested title are suspended: nothing pursuable, nothing to
    # offset (no credit left), hence no « compensation bloquée »
    text = _page(app, "/entreprises/790112239")
    assert "Échue, suspendue : sursis de paiement (art. L. 277 LPF)" in text
    assert "Échue, suspendue : titre contesté en justice (art. L. 1617-5 CGCT)" in text
    assert f"dont suspendues (motif sur chaque ligne) {_euros('7530.00')}" in text
    assert f"dont poursuivables (non suspendues d'après les données) {_euros('0.00')}" in text
    assert "Compensation bloquée" not in text and "Compensable (art. L. 257 B LPF)" not in text
    suspended = _page(app, "/departements/17/listes/suspendues")
    assert "790112239 GARAGE MARTIN" in suspended and _euros("7530.00") in suspended
    # OSTREICULTURE: a filed claim, no procedure in the register: every line suspended, the reason said in words
    oysters = _page(app, "/entreprises/800000010")
    assert "Échue, suspendue : procédure non référencée au registre" in oysters
    assert "Échue, suspendue : déclarée au passif d'une procédure collective (art. L. 622-21 C. com.)" in oysters


def test_suspended_lines_export_gives_each_line_its_reason(app: str) -> None:
    # point 10: one row per suspended line, its reason in words; per company they add up to `dettes_suspendues`
    # of expected/positions_17.csv (every reason, companies in procedure included)
    r = requests.get(f"{app}/departements/17/listes/suspendues/lignes.csv", headers=AGENT_17)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(r.content.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert rows and set(rows[0]) == {"SIREN", "Dénomination", "Source", "Référence", "Date de la ligne", "Montant",
                                     "Motif de la suspension", "Fichier", "Ligne"}
    with open(EXPECTED / "positions_17.csv", encoding="utf-8") as fh:
        expected = {row["siren"]: Decimal(row["dettes_suspendues"]) for row in csv.DictReader(fh)}
    found: dict[str, Decimal] = {}
    for row in rows:
        found[row["SIREN"]] = found.get(row["SIREN"], Decimal(0)) + Decimal(row["Montant"].replace(",", "."))
    assert found == {s: v for s, v in expected.items() if v > 0}
    garage = {row["Motif de la suspension"] for row in rows if row["SIREN"] == "790112239"}
    assert garage == {"sursis de paiement (art. L. 277 LPF)", "titre contesté en justice (art. L. 1617-5 CGCT)"}
    assert not any("_" in row["Motif de la suspension"] for row in rows)  # words, never a raw code
    assert all(row["Fichier"].endswith(".csv") and row["Ligne"].isdigit() for row in rows)
    listing = requests.get(f"{app}/departements/17/listes/suspendues", headers=AGENT_17).text
    assert 'href="/departements/17/listes/suspendues/lignes.csv"' in listing
    # rights on the server: another department's agent gets nothing; a list without a line export is a 404
    assert requests.get(f"{app}/departements/17/listes/suspendues/lignes.csv", headers=AGENT_91).status_code == 403
    assert requests.get(f"{app}/departements/17/listes/compensations/lignes.csv",
                        headers=AGENT_17).status_code == 404


def test_a_debt_rejected_in_the_latest_file_never_vanishes(app: str, samples: Path, tmp_path: Path) -> None:
    # TRANSPORTS CHARENTAIS: fine 1700000000005 had 1 000 € due on 20/11; on 27/11 its amount reads « mille »
    text = _page(app, "/entreprises/443210984")
    row = re.search(r"Lignes rejetées dans les derniers fichiers : non comptées (.*)", text)
    assert row is not None
    assert "17 Amendes amendes_17_20261127.csv 6" in row.group(1) and "mille" in row.group(1)
    assert "Non comptée" in row.group(1) and "1700000000005" in row.group(1)
    # the sheet as `onevision fiche` or the operators' job `fiches_entreprises` writes it
    import duckdb

    from onevision_dagster.reports.fiche import write_fiche

    with duckdb.connect(str(samples / "w.duckdb"), read_only=True) as con:
        path = write_fiche(con, "443210984", "17", tmp_path / "fiche.html")
    sheet = _visible_file(path)
    assert "Lignes rejetées dans les derniers fichiers : non comptées" in sheet and "mille" in sheet
    assert "Lignes rejetées non comptées : 1" in sheet and "Non comptée" in sheet


def test_declarations_list_most_urgent_first(app: str) -> None:
    text = _page(app, "/departements/17/listes/declarations")
    assert "7 éléments" in text  # the 9 rows of expected/declarations.csv but the 2 to qualify, listed apart
    order = [m.group(1) for m in re.finditer(r"(\d{9}) [^\d]+? (?:Sauvegarde|Redressement|Liquidation)", text)]
    # relief deadline 28/12/2026 (ÉCURIES), then 18/01/2027 (FERRONNERIE), then no open deadline
    assert order[:5] == ["520987611", "520987611", "845123454", "845123454", "845123454"]
    assert f"{_euros('5120.00')} 18/01/2027" in text and "Délai dépassé : relevé de forclusion" in text
    forclos = re.search(r"2025CVAE091\) 44 431,77 € (.*?) SIE", text)
    assert forclos is not None
    assert forclos.group(1) == ("— — 02/06/2025 30/09/2025 À examiner : relevé possible un an pour une créance "
                                "ignorée (art. L. 622-26 C. com.)")
    assert "un an pour le créancier qui ne pouvait connaître sa créance (art. L. 622-26 C. com.)" in text  # help
    assert "perdue" not in text.replace("n'est jamais perdue", "")
    assert "BODACC inconnu" in text or "Date de publication au BODACC inconnue" in text
    qualify = _page(app, "/departements/17/listes/a_qualifier")
    assert "2 éléments" in qualify and "à qualifier (art. L. 622-17)" in qualify
    # al. 6 of L. 622-24 is for the claims L. 622-17 I does not privilege; a privileged one unpaid is made known
    assert "(art. L. 622-17 IV)" in qualify
    assert "Les autres sont à déclarer dans les deux mois de leur échéance (art. L. 622-24 al. 6)" in qualify
    assert "17300/2026/520" in qualify and "2026-RNF-000108" in qualify


def test_offset_across_departments(app: str) -> None:
    # BOULANGERIE's 800 VAT refund in 17 can pay its 450 CFE in 95: on 17's list (17 holds the credit) ...
    text = _page(app, "/departements/17/listes/compensations")
    row = re.search(r"812345676 BOULANGERIE DU PORT (.*?) Suite", text)
    assert row is not None
    assert row.group(1).startswith(f"LA ROCHELLE {_euros('800.00')} {_euros('0.00')} {_euros('450.00')} "
                                   f"{_euros('450.00')} 95")
    # ... and the agent of 95, who holds the debt, sees on the company page that a credit elsewhere could pay it
    page95 = _page(app, "/entreprises/812345676", AGENT_95)
    assert ("Les impôts dus dans le département 95 pourraient être payés par les créances détenues dans le "
            f"département 17 (montant compensable {_euros('450.00')}, art. L. 257 B LPF)") in page95
    assert _page(app, "/departements/95/listes/compensations", AGENT_95).count("812345676") == 0


def test_freshness_and_search_by_siret(app: str) -> None:
    text = _page(app, "/departements/17")
    assert "Données au : département 17 : 27/11/2026" in text and "heure de Paris" in text
    # no raw code in a sentence: the lines without a position say why in words
    assert "Amende non rattachée" in text and "NON_RATTACHEE" not in text and "HORS_PERIMETRE" not in text
    national = _page(app, "/", NATIONAL)
    assert "département 17 : 27/11/2026" in national and "département 95 : 27/11/2026" in national
    from onevision_dagster.contract.identifiers import first_siret

    r = requests.get(f"{app}/recherche", params={"q": first_siret("845123454")}, headers=AGENT_17,
                     allow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/entreprises/845123454"


def test_common_debtor_ranking_scores_what_is_pursuable(samples: Path) -> None:
    # 17's dashboard: only companies with past-due debts in 2 sources and something pursuable are ranked; GARAGE
    # MARTIN (all suspended), ÉCURIES, FERRONNERIE, OSTREICULTURE (procedure, filed claim) leave the ranking
    raw = (samples / "rapports" / "tableau_de_bord_17.html").read_text(encoding="utf-8")
    panel = re.search(r"Débiteurs communs, par ordre de priorité</caption>(.*?)</table>", raw, re.S)
    assert panel is not None
    text = _text(panel.group(1)).strip()
    assert text.startswith("Rang Entreprise SIREN Dettes poursuivables Dettes échues Sources")
    ranked = re.findall(r"\b(\d{9})\b", text)
    assert ranked == ["812345676", "301122339", "443210984"]
    for siren in ("790112239", "520987611", "845123454", "800000010"):
        assert siren not in text
