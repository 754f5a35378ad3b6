"""Documents (issue 18): notification of an offset, claim declaration, joint SATD draft, in .odt and PDF.

Every produced file is opened with a library (zipfile and lxml for the .odt's content.xml, pypdf for the PDF)
and each amount, date and article is looked for in its text. The figures are those of the contract's samples
(shared/samples/README.md), checked by hand.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import zipfile
from decimal import Decimal

import duckdb
import pandas as pd
import pytest
from lxml import etree
from pypdf import PdfReader

from onevision_dagster import warehouse
from onevision_dagster.consolidate import tables
from onevision_dagster.documents import DocumentRefused, draft
from onevision_dagster.errors import OneVisionError

TODAY = dt.date(2026, 11, 30)
SITUATION = dt.date(2026, 11, 27)
HAS_SOFFICE = shutil.which("soffice") is not None
D = Decimal


# --------------------------------------------------------------------------- a small warehouse of the samples


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict], defaults: dict) -> None:
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    con.register("_rows", frame)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows").fetchall()
    con.unregister("_rows")


def _position(siren: str, name: str, dept: str = "17", **money: str) -> dict:
    row = {c: D(money.get(c, "0")) for c in tables.POSITION_MONEY_COLUMNS}
    row.update(siren=siren, denomination=name, departement=dept, date_situation=SITUATION, nb_sources_dettes=1,
               anciennete_jours=10, procedure_collective=money.get("procedure"))
    return row


def _line(dept: str, siren: str, source: str, reference: str, date: str, montant: str, nature: str, fichier: str,
          ligne: int, suspendue: bool = False, motif: str | None = None, compensable: bool = False,
          origine: str | None = None) -> dict:
    return {"departement": dept, "siren": siren, "source": source, "reference": reference,
            "date_ligne": dt.date.fromisoformat(date), "montant": D(montant), "statut": None, "etape": None,
            "ouverte": nature != "AUCUNE", "nature": nature, "compensable": compensable, "sursis": motif == "SURSIS",
            "conteste": motif == "TITRE_CONTESTE", "passif": False, "suspendue": suspendue,
            "motif_suspension": motif, "date_origine": dt.date.fromisoformat(origine or date),
            "anterieure_jugement": None, "montant_du": D(montant), "montant_paye": D("0"), "fichier": fichier,
            "ligne": ligne, "date_extraction": SITUATION}


def small_warehouse(path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """The rows of the samples' six companies the documents read, as the consolidation writes them (v3)."""
    con = duckdb.connect(path)
    warehouse.create_raw_and_quality(con)
    tables.create_tables(con)
    f17 = "impots_pro_17_20261127.csv"
    _insert(con, "raw.entreprises", [
        {"siren": "301122339", "denomination": "ATLANTIC SHIPPING LIMITED", "adresse": "QUAI DES PECHEURS",
         "code_postal": "17000", "commune": "LA ROCHELLE", "departement": "17"},
        {"siren": "812345676", "denomination": "BOULANGERIE DU PORT", "adresse": "12 QUAI DUPERRE",
         "code_postal": "17000", "commune": "LA ROCHELLE", "departement": "17"},
        {"siren": "845123454", "denomination": "FERRONNERIE ROCHELAISE", "adresse": "ZI DE CHEF DE BAIE",
         "code_postal": "17000", "commune": "LA ROCHELLE", "departement": "17", "procedure_collective": "SAUVEGARDE",
         "date_jugement": dt.date(2026, 11, 3), "date_publication_bodacc": dt.date(2026, 11, 17)},
        {"siren": "443210984", "denomination": "TRANSPORTS CHARENTAIS", "adresse": "ZI DE PERIGNY",
         "code_postal": "17180", "commune": "PERIGNY", "departement": "17"},
        {"siren": "520987611", "denomination": "ÉCURIES DE L'ÎLE DE RÉ", "adresse": "2 RUE DES SALINES",
         "code_postal": "17410", "commune": "SAINT-MARTIN-DE-RE", "departement": "17",
         "procedure_collective": "REDRESSEMENT", "date_jugement": dt.date(2026, 6, 12),
         "date_publication_bodacc": dt.date(2026, 6, 26)},
        {"siren": "790112239", "denomination": "GARAGE MARTIN", "adresse": "5 AVENUE DE ROCHEFORT",
         "code_postal": "17300", "commune": "ROCHEFORT", "departement": "17"},
    ], {"fichier": "entreprises_20261127.csv", "ligne": 2, "date_extraction": SITUATION, "categorie_juridique": "5499",
        "etat_administratif": "A"})
    _insert(con, "raw.impots_pro", [
        {"siren": "301122339", "ref_article": "2026IS00077", "code_impot": "IS", "periode": "2026", "ligne": 10},
        {"siren": "443210984", "ref_article": "2026TVA0007", "code_impot": "TVA", "periode": "202607", "ligne": 3},
        {"siren": "845123454", "ref_article": "2026CFE0845", "code_impot": "CFE", "periode": "2026", "ligne": 15},
        {"siren": "845123454", "ref_article": "2026TVA0845", "code_impot": "TVA", "periode": "202610", "ligne": 16},
        {"siren": "812345676", "ref_article": "2025CFE9502", "code_impot": "CFE", "periode": "2025", "ligne": 3,
         "departement": "95", "fichier": "impots_pro_95_20261127.csv"},
    ], {"departement": "17", "fichier": f17, "date_extraction": SITUATION})
    _insert(con, "raw.spl", [
        {"siren": "845123454", "code_collectivite": "17300", "libelle_collectivite": "COMMUNE DE LA ROCHELLE",
         "nature_produit": "LOYER", "ligne": 12},
        {"siren": "520987611", "code_collectivite": "17415", "libelle_collectivite": "SYNDICAT DES EAUX DE RE",
         "nature_produit": "EAU", "ligne": 5},
    ], {"departement": "17", "fichier": "spl_17_20261127.csv", "date_extraction": SITUATION})
    _insert(con, "raw.creances_is", [
        {"siren": "301122339", "ref_creance": "CIS-2026-0005", "type_creance": "EXCEDENT_ACOMPTES", "exercice": "2025",
         "ligne": 5},
    ], {"departement": "17", "fichier": "creances_is_17_20261127.csv", "date_extraction": SITUATION})
    _insert(con, "raw.credits_tva", [
        {"siren": "812345676", "num_demande": "3519-2026-0002", "periode": "202609", "ligne": 3},
    ], {"departement": "17", "fichier": "credits_tva_17_20261127.csv", "date_extraction": SITUATION})
    _insert(con, "marts.positions", [
        _position("301122339", "ATLANTIC SHIPPING LIMITED", dettes_amendes="1125", dettes_impots_pro="8000",
                  total_dettes="9125", dettes_poursuivables="9125", creances_is="2500", total_creances="2500",
                  dettes_compensables="8000", montant_compensable="2500"),
        _position("812345676", "BOULANGERIE DU PORT", dettes_amendes="80", dettes_spl="1340.50", total_dettes="1420.50",
                  dettes_poursuivables="1420.50", dettes_a_echoir="987", creances_tva="800", total_creances="800"),
        _position("812345676", "BOULANGERIE DU PORT", "95", dettes_impots_pro="450", total_dettes="450",
                  dettes_poursuivables="450", dettes_compensables="450"),
        _position("845123454", "FERRONNERIE ROCHELAISE", dettes_amendes="375", dettes_spl="900",
                  dettes_impots_pro="5120", total_dettes="6395", dettes_suspendues="6395", dettes_a_echoir="2100",
                  creances_excedents="700", total_creances="700", procedure="SAUVEGARDE"),
        _position("443210984", "TRANSPORTS CHARENTAIS", dettes_amendes="1125", dettes_impots_pro="7385.30",
                  total_dettes="8510.30", dettes_poursuivables="8510.30", creances_a_echoir="4000",
                  creances_potentielles="7000", dettes_compensables="7385.30"),
        _position("520987611", "ÉCURIES DE L'ÎLE DE RÉ", dettes_spl="980", dettes_impots_pro="24200",
                  total_dettes="25180", dettes_suspendues="25180", dettes_non_valeur="450", passif_declare="24200",
                  procedure="REDRESSEMENT"),
        _position("790112239", "GARAGE MARTIN", dettes_spl="1800", dettes_impots_pro="5730", total_dettes="7530",
                  dettes_suspendues="7530"),
    ], {})
    debt_defaults: dict = {}
    _insert(con, "core.lignes_dettes", [
        _line("17", "301122339", "amendes", "1700000000020", "2026-07-12", "1125", "ECHUE", "amendes_17_20261127.csv",
              15),
        _line("17", "301122339", "impots_pro", "2026IS00077", "2026-04-15", "8000", "ECHUE", f17, 10,
              compensable=True),
        _line("95", "812345676", "impots_pro", "2025CFE9502", "2025-12-15", "450", "ECHUE",
              "impots_pro_95_20261127.csv", 3, compensable=True),
        _line("17", "443210984", "impots_pro", "2026TVA0007", "2026-08-24", "7385.30", "ECHUE", f17, 3,
              compensable=True),
        _line("17", "443210984", "amendes", "1700000000007", "2026-08-13", "375", "ECHUE", "amendes_17_20261127.csv",
              7),
        _line("17", "443210984", "amendes", "1700000000021", "2026-11-25", "750", "ECHUE", "amendes_17_20261127.csv",
              23),
        _line("17", "790112239", "impots_pro", "2026TVA0100", "2026-06-24", "5730", "ECHUE", f17, 4, suspendue=True,
              motif="SURSIS"),
        _line("17", "790112239", "spl", "17306/2026/301", "2026-05-15", "1800", "ECHUE", "spl_17_20261127.csv", 4,
              suspendue=True, motif="TITRE_CONTESTE"),
    ], debt_defaults)
    _insert(con, "core.lignes_creances", [
        _line("17", "301122339", "creances_is", "CIS-2026-0005", "2026-11-27", "2500", "CERTAINE",
              "creances_is_17_20261127.csv", 5, compensable=True),
        _line("17", "812345676", "credits_tva", "3519-2026-0002", "2026-10-01", "800", "CERTAINE",
              "credits_tva_17_20261127.csv", 3, compensable=True),
    ], {})
    _insert(con, "marts.compensations", [
        {"siren": "301122339", "denomination": "ATLANTIC SHIPPING LIMITED", "departement": "17",
         "date_situation": SITUATION, "creances_departement": D("2500"), "dettes_compensables_departement": D("8000"),
         "dettes_compensables_autres": D("0"), "montant_compensable": D("2500"), "departements_dettes": "17"},
        {"siren": "812345676", "denomination": "BOULANGERIE DU PORT", "departement": "17",
         "date_situation": SITUATION, "creances_departement": D("800"), "dettes_compensables_departement": D("0"),
         "dettes_compensables_autres": D("450"), "montant_compensable": D("450"), "departements_dettes": "95"},
    ], {})
    ferronnerie = {"siren": "845123454", "denomination": "FERRONNERIE ROCHELAISE", "departement": "17",
                   "date_situation": SITUATION, "procedure_collective": "SAUVEGARDE",
                   "date_jugement": dt.date(2026, 11, 3), "date_publication_bodacc": dt.date(2026, 11, 17),
                   "date_limite_declaration": dt.date(2027, 1, 18), "date_limite_releve": dt.date(2027, 5, 18),
                   "etat": "A_DECLARER"}
    _insert(con, "marts.declarations", [
        {"source": "amendes", "fichier": "amendes_17_20261127.csv", "ligne": 22, "cle": "1700000000023",
         "montant": D("375"), "nature": "ECHUE", "date_ligne": dt.date(2026, 11, 5),
         "date_origine": dt.date(2026, 10, 1), "service_declarant": "COMPTABLE_AMENDES"},
        {"source": "spl", "fichier": "spl_17_20261127.csv", "ligne": 12, "cle": "17300/2026/520",
         "montant": D("900"), "nature": "ECHUE", "date_ligne": dt.date(2026, 11, 10),
         "date_origine": dt.date(2026, 11, 10), "service_declarant": "COMPTABLE_COLLECTIVITE",
         "date_limite_declaration": None, "date_limite_releve": None, "etat": "A_QUALIFIER"},
        {"source": "impots_pro", "fichier": f17, "ligne": 15, "cle": "2026CFE0845", "montant": D("2100"),
         "nature": "A_ECHOIR", "date_ligne": dt.date(2026, 12, 15), "date_origine": dt.date(2026, 1, 1),
         "service_declarant": "SIE"},
        {"source": "impots_pro", "fichier": f17, "ligne": 16, "cle": "2026TVA0845", "montant": D("5120"),
         "nature": "ECHUE", "date_ligne": dt.date(2026, 10, 24), "date_origine": dt.date(2026, 10, 1),
         "service_declarant": "SIE"},
    ], ferronnerie)
    ecuries = {"siren": "520987611", "denomination": "ÉCURIES DE L'ÎLE DE RÉ", "departement": "17",
               "date_situation": SITUATION, "procedure_collective": "REDRESSEMENT",
               "date_jugement": dt.date(2026, 6, 12), "date_publication_bodacc": dt.date(2026, 6, 26),
               "date_limite_declaration": dt.date(2026, 8, 26), "date_limite_releve": dt.date(2026, 12, 28),
               "etat": "RELEVE_POSSIBLE"}
    _insert(con, "marts.declarations", [
        {"source": "amendes", "fichier": "amendes_17_20261127.csv", "ligne": 12, "cle": "1700000000011",
         "montant": D("450"), "nature": "NON_VALEUR", "date_ligne": dt.date(2026, 4, 20),
         "date_origine": dt.date(2026, 2, 10), "service_declarant": "COMPTABLE_AMENDES"},
        {"source": "spl", "fichier": "spl_17_20261127.csv", "ligne": 5, "cle": "17415/2026/12", "montant": D("980"),
         "nature": "ECHUE", "date_ligne": dt.date(2026, 1, 20), "date_origine": dt.date(2026, 1, 20),
         "service_declarant": "COMPTABLE_COLLECTIVITE"},
    ], ecuries)
    return con


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return small_warehouse()


# --------------------------------------------------------------------------- reading the produced files


def odt_text(content: bytes) -> str:
    """The text of an .odt as a reader sees it: every paragraph and table cell, one per line."""
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        assert z.read("mimetype") == b"application/vnd.oasis.opendocument.text"
        root = etree.fromstring(z.read("content.xml"))
    lines = ["".join(_odf_text(p)) for p in root.iterfind(f".//{{{TEXT_NS}}}p")]
    return _normal("\n".join(lines))


TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def _odf_text(element: etree._Element) -> list[str]:
    """A paragraph's text with ODF's space, tab and line-break elements (`text:s c="n"`...) as characters."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == f"{{{TEXT_NS}}}s":
            parts.append(" " * int(child.get(f"{{{TEXT_NS}}}c", "1")))
        elif child.tag == f"{{{TEXT_NS}}}tab":
            parts.append("\t")
        elif child.tag == f"{{{TEXT_NS}}}line-break":
            parts.append("\n")
        else:
            parts.extend(_odf_text(child))
        parts.append(child.tail or "")
    return parts


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    # a line broken after a hyphen ("L. 211-" / "2") is one word again
    return _normal(re.sub(r"(?<=\w-)[ \u00a0]*\n", "", text))


def _normal(text: str) -> str:
    """No-break spaces as spaces, runs of blanks as one (PDF extraction breaks lines where the layout does)."""
    return re.sub(r"[ \t\u00a0\u202f]+", " ", text)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def both(con: duckdb.DuckDBPyConnection, kind: str, siren: str, dept: str = "17") -> tuple[dict, list[str]]:
    """The document in both formats: its summary and the flattened text of each (the PDF needs LibreOffice, which
    scripts/test.sh installs: under CI its absence fails the test)."""
    if not HAS_SOFFICE and os.environ.get("CI"):
        pytest.fail("LibreOffice (soffice) manque : les PDF ne peuvent pas être vérifiés")
    name, odt, summary = draft(con, kind, siren, dept, "odt", today=TODAY)
    assert name == f"{kind}_{siren}_{dept}_20261130.odt"
    texts = [flat(odt_text(odt))]
    if HAS_SOFFICE:
        name_pdf, pdf, summary_pdf = draft(con, kind, siren, dept, "pdf", today=TODAY)
        assert name_pdf == name[:-3] + "pdf" and summary_pdf == summary
        texts.append(flat(pdf_text(pdf)))
    return summary, texts


def assert_in(texts: list[str], *expected: str) -> None:
    for text in texts:
        missing = [e for e in expected if flat(e) not in text]
        assert not missing, f"absent : {missing}\n---\n{text}"


# --------------------------------------------------------------------------- the documents


def test_notification_atlantic_shipping(con: duckdb.DuckDBPyConnection) -> None:
    summary, texts = both(con, "notification", "301122339")
    assert summary["montant_affecte"] == D("2500.00")
    assert summary["reste_impositions"] == D("5500.00") and summary["reste_creances"] == D("0.00")
    assert_in(texts, "Notification d'affectation", "art. L. 257 B et R. 257 B-1 du livre des procédures fiscales",
              "ATLANTIC SHIPPING LIMITED", "SIREN 301 122 339", "QUAI DES PECHEURS", "17000 LA ROCHELLE",
              "le 30/11/2026", "Situation du 27/11/2026",
              # the credit applied: source, reference, detail, amount
              "Créance d'impôt sur les sociétés", "CIS-2026-0005", "excédent d'acomptes exercice 2025",
              # the tax paid: reference, tax, period, due date, amounts
              "2026IS00077", "IS 2026 15/04/2026 17 8 000,00 € 2 500,00 € 5 500,00 €",
              "Montant affecté : 2 500,00 €", "l'État vous reste redevable de 0,00 €",
              "restent dues pour 5 500,00 €", "art. L. 281 et R. 281-1", "deux mois", "article L. 190",
              "[Nom du service]", "[Adresse du service]", "[Nom, qualité et signature]")
    for text in texts:
        # the fine of 1 125,00 € is outside L. 257 B: it is not in the notice
        assert "1 125,00" not in text and "1700000000020" not in text
        assert "département 95" not in text


def test_notification_boulangerie_across_departments(con: duckdb.DuckDBPyConnection) -> None:
    summary, texts = both(con, "notification", "812345676")
    assert summary["montant_affecte"] == D("450.00") and summary["reste_creances"] == D("350.00")
    assert summary["departements_impositions"] == ["17", "95"]
    assert_in(texts, "BOULANGERIE DU PORT", "Crédit de TVA", "3519-2026-0002", "période 09/2026",
              "800,00 € 450,00 € 350,00 €", "2025CFE9502", "CFE 2025 15/12/2025 95 450,00 € 450,00 € 0,00 €",
              "Montant affecté : 450,00 €", "détenues dans le département 17", "dans le département 95",
              "l'État vous reste redevable de 350,00 €", "restent dues pour 0,00 €")


def test_notification_refusals(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(DocumentRefused, match=r"bloquée.*redressement judiciaire.*12/06/2026.*L\. 622-7"):
        draft(con, "notification", "520987611", "17")
    with pytest.raises(DocumentRefused, match=r"bloquée.*sauvegarde.*03/11/2026.*L\. 622-7"):
        draft(con, "notification", "845123454", "17")
    # the department holding the debt does not send the notice: the credit is in 17
    with pytest.raises(DocumentRefused, match=r"aucune créance certaine et due.*département 95"):
        draft(con, "notification", "812345676", "95")
    with pytest.raises(DocumentRefused, match=r"aucun impôt professionnel échu et non suspendu"):
        con.execute("UPDATE marts.positions SET montant_compensable = 0 WHERE siren = '443210984'")
        con.execute("UPDATE marts.positions SET total_creances = 10 WHERE siren = '443210984'")
        try:
            draft(con, "notification", "443210984", "17")
        finally:
            con.execute("UPDATE marts.positions SET total_creances = 0 WHERE siren = '443210984'")
    with pytest.raises(DocumentRefused, match=r"n'a pas de position dans le département 17"):
        draft(con, "notification", "123456782", "17")
    assert issubclass(DocumentRefused, OneVisionError)


def test_declaration_ferronnerie(con: duckdb.DuckDBPyConnection) -> None:
    summary, texts = both(con, "declaration", "845123454")
    assert summary["total_echu"] == D("5495.00") and summary["total_a_echoir"] == D("2100.00")
    assert summary["total_declare"] == D("7595.00") and summary["a_qualifier"] == D("900.00")
    assert summary["date_limite_declaration"] == dt.date(2027, 1, 18)
    assert_in(texts, "Déclaration de créances", "art. L. 622-24 et L. 622-25 du Code de commerce",
              "FERRONNERIE ROCHELAISE", "SIREN 845 123 454", "[nom du mandataire judiciaire]",
              "[adresse du mandataire judiciaire]", "sauvegarde ouverte par jugement du 03/11/2026",
              "publié au BODACC le 17/11/2026", "Date limite de déclaration : 18/01/2027", "art. R. 622-24",
              "art. 642 du code de procédure civile", "avant le 18/05/2027 (art. L. 622-26",
              # impots_pro: past due VAT and CFE to fall due on 15/12/2026
              "Impôts professionnels — créances suivies par le service des impôts des entreprises (SIE)",
              "2026TVA0845", "TVA 10/2026, échue", "5 120,00 €", "2026CFE0845", "CFE 2026, à échoir",
              "01/01/2026 15/12/2026 2 100,00 €",
              # the fine, declared with the State's claims
              "Amendes — créances suivies par le comptable chargé des amendes", "1700000000023",
              "01/10/2026 05/11/2026 375,00 €",
              "Créances échues : 5 495,00 €", "Créances à échoir : 2 100,00 € (échéance du 15/12/2026)",
              "Total déclaré : 7 595,00 €", "art. R. 622-23",
              # the rent issued after the judgment: only in its annex
              "créances nées après le jugement, à qualifier (art. L. 622-17 du Code de commerce)",
              "17300/2026/520", "Loyer (COMMUNE DE LA ROCHELLE), échue", "900,00 €",
              "comptable de la collectivité (COMMUNE DE LA ROCHELLE)")
    for text in texts:
        main, _, annex = text.partition("Annexe")
        assert "17300/2026/520" not in main and "900,00" not in main
        assert "17300/2026/520" in annex
        assert "créances à déclarer par le comptable de la collectivité" not in text  # no other accountant's claim


def test_declaration_ecuries_late_with_an_annex_for_the_local_accountant(con: duckdb.DuckDBPyConnection) -> None:
    """Deadline passed (relief possible until 28/12/2026); the water bill of a syndicate is its accountant's."""
    summary, texts = both(con, "declaration", "520987611")
    assert summary["total_echu"] == D("450.00") and summary["total_a_echoir"] == D("0.00")
    assert summary["autres_comptables"] == D("980.00") and summary["a_qualifier"] == D("0.00")
    assert_in(texts, "redressement judiciaire ouverte par jugement du 12/06/2026", "publié au BODACC le 26/06/2026",
              "Date limite de déclaration : 26/08/2026",
              "relevé de forclusion à demander au juge-commissaire avant le 28/12/2026 (art. L. 622-26",
              "1700000000011", "Amende forfaitaire majorée, échue (admise en non-valeur, non éteinte)",
              "10/02/2026 20/04/2026 450,00 €", "délai dépassé : relevé de forclusion à demander avant le 28/12/2026",
              "Total déclaré : 450,00 €",
              "Annexe — créances à déclarer par le comptable de la collectivité (SYNDICAT DES EAUX DE RE)",
              "le comptable qui en a la charge les déclare lui-même", "17415/2026/12", "Eau (SYNDICAT DES EAUX DE RE)",
              "20/01/2026 20/01/2026 980,00 €")
    for text in texts:
        main, _, annex = text.partition("Annexe")
        assert "17415/2026/12" not in main and "980,00" not in main and "980,00" in annex
        assert "à qualifier (art. L. 622-17 du Code de commerce)" not in text


def test_declaration_refusals(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(DocumentRefused, match=r"n'est pas en procédure collective.*L\. 622-24"):
        draft(con, "declaration", "301122339", "17")
    con.execute("UPDATE marts.declarations SET service_declarant = 'COMPTABLE_COLLECTIVITE' "
                "WHERE siren = '520987611' AND source = 'amendes'")
    try:
        with pytest.raises(DocumentRefused, match=r"aucune créance de l'État à déclarer.*2 ligne\(s\) relèvent "
                           r"d'un autre comptable"):
            draft(con, "declaration", "520987611", "17")
    finally:
        con.execute("UPDATE marts.declarations SET service_declarant = 'COMPTABLE_AMENDES' "
                    "WHERE siren = '520987611' AND source = 'amendes'")


def test_satd_transports_charentais(con: duckdb.DuckDBPyConnection) -> None:
    summary, texts = both(con, "satd", "443210984")
    assert summary["total_poursuivable"] == D("8510.30") == summary["dettes_poursuivables_position"]
    assert summary["total_impots_pro"] == D("7385.30") and summary["total_amendes"] == D("1125.00")
    assert_in(texts, "Projet de saisie administrative à tiers détenteur commune",
              "art. L. 262 du livre des procédures fiscales", "TRANSPORTS CHARENTAIS", "SIREN 443 210 984",
              "[nom du tiers détenteur]", "[adresse du tiers détenteur]",
              "article L. 211-2 du code des procédures civiles d'exécution",
              "Impôts professionnels — titre exécutoire : rôle ou avis de mise en recouvrement (art. L. 252 A",
              "2026TVA0007", "TVA 07/2026 24/08/2026", "7 385,30 €",
              "Amendes — titre exécutoire : titre exécutoire de l'amende forfaitaire majorée (art. 529-2",
              "1700000000007", "13/08/2026", "375,00 €", "1700000000021", "25/11/2026", "750,00 €",
              "Sous-total 1 125,00 €", "Montant total de la saisie : 8 510,30 €", "Aucune dette n'est écartée.",
              "articles L. 281 et R. 281-1")


def test_satd_refusals(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(DocumentRefused, match=r"SATD refusée.*redressement judiciaire.*L\. 622-21"):
        draft(con, "satd", "520987611", "17")
    with pytest.raises(DocumentRefused, match=r"aucune dette poursuivable.*7\s530,00\s€.*suspendues.*sursis de "
                       r"paiement, art\. L\. 277.*titre contesté en justice, art\. L\. 1617-5"):
        draft(con, "satd", "790112239", "17")


def test_unknown_kind_or_format(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="document inconnu"):
        draft(con, "lettre", "301122339", "17")
    with pytest.raises(ValueError, match="format inconnu"):
        draft(con, "satd", "301122339", "17", "docx")


def test_values_are_escaped(con: duckdb.DuckDBPyConnection) -> None:
    """A company name with XML characters stays text in the .odt (Genshi escapes every value)."""
    con.execute("UPDATE marts.positions SET denomination = 'A <b> & \"C\"' WHERE siren = '443210984'")
    try:
        _, odt, _ = draft(con, "satd", "443210984", "17", today=TODAY)
    finally:
        con.execute("UPDATE marts.positions SET denomination = 'TRANSPORTS CHARENTAIS' WHERE siren = '443210984'")
    assert 'A <b> & "C"' in odt_text(odt)


def test_cli_writes_the_document(tmp_path, capsys) -> None:
    from onevision_dagster.cli import main

    path = tmp_path / "onevision.duckdb"
    small_warehouse(str(path)).close()
    out = tmp_path / "satd.odt"
    assert main(["document", "satd", "443 210 984", "--departement", "17", "--out", str(out),
                 "--warehouse", str(path)]) == 0
    assert "Montant total de la saisie : 8 510,30 €" in flat(odt_text(out.read_bytes()))
    assert "total_poursuivable 8510.30" in capsys.readouterr().out
    refused = tmp_path / "refus.odt"
    assert main(["document", "satd", "790112239", "--departement", "17", "--out", str(refused),
                 "--warehouse", str(path)]) == 1
    assert "SATD refusée : GARAGE MARTIN n'a aucune dette poursuivable" in capsys.readouterr().err
    assert not refused.exists()
    if HAS_SOFFICE:
        pdf = tmp_path / "notification.pdf"  # the format follows the extension
        assert main(["document", "notification", "301122339", "--departement", "17", "--out", str(pdf),
                     "--warehouse", str(path)]) == 0
        assert "Montant affecté : 2 500,00 €" in flat(pdf_text(pdf.read_bytes()))
