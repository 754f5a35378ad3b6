"""Documents (issue 18): notification of an offset, claim declaration, joint SATD draft, in .odt and PDF.

The warehouse is the contract's samples loaded and consolidated by the real code (ingest_landing + build_all).
Every produced file is opened with a library (zipfile and lxml for the .odt's content.xml, pypdf for the PDF)
and each amount, date and article is looked for in its text; the figures are those of shared/samples/README.md
and issue 18, checked by hand.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from lxml import etree
from pypdf import PdfReader

from onevision_dagster import warehouse
from onevision_dagster.consolidate.build import build_all
from onevision_dagster.documents import DocumentRefused, draft, summary_text
from onevision_dagster.errors import OneVisionError
from onevision_dagster.ingest.load import ingest_landing

from .conftest import SAMPLE_LANDING, require

TODAY = dt.date(2026, 11, 30)
HAS_SOFFICE = shutil.which("soffice") is not None
D = Decimal


# --------------------------------------------------------------------------- the samples' warehouse


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contract's samples loaded and consolidated as `onevision run` does (without the history), in a file."""
    path = tmp_path_factory.mktemp("documents") / "onevision.duckdb"
    with duckdb.connect(str(path)) as built:
        warehouse.create_raw_and_quality(built)
        ingest_landing(built, SAMPLE_LANDING)
        assert build_all(built) == ["17", "95"]
    return path


@pytest.fixture(scope="module")
def con(sample_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, as the CLI and the application open the warehouse."""
    copy = tmp_path_factory.mktemp("lecture") / "onevision.duckdb"
    shutil.copy(sample_file, copy)
    connection = duckdb.connect(str(copy), read_only=True)
    yield connection
    connection.close()


@pytest.fixture
def scratch(sample_file: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable copy, for a test that changes one figure."""
    copy = tmp_path / "onevision.duckdb"
    shutil.copy(sample_file, copy)
    connection = duckdb.connect(str(copy))
    yield connection
    connection.close()


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
    require(HAS_SOFFICE, "LibreOffice (soffice) manque : les PDF ne peuvent pas être vérifiés")
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
    assert summary_text(summary) == ("montant_affecte=2500.00 total_creances=2500.00 total_impositions=8000.00 "
                                     "reste_creances=0.00 reste_impositions=5500.00 departements_impositions=17")
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
    # OSTRÉICULTURE: 3 200,00 € to give back, but a claim filed in a procedure the register does not show
    with pytest.raises(DocumentRefused, match=r"bloquée, une créance de 3\s000,00\s€ .* déclarée au passif d'une "
                       r"procédure collective que le registre ne montre pas \(art\. L\. 622-7"):
        draft(con, "notification", "800000010", "17")
    # the department holding the debt does not send the notice: the credit is in 17
    with pytest.raises(DocumentRefused, match=r"aucune créance certaine et due.*département 95"):
        draft(con, "notification", "812345676", "95")
    with pytest.raises(DocumentRefused, match=r"TRANSPORTS CHARENTAIS n'a aucune créance certaine et due"):
        draft(con, "notification", "443210984", "17")
    with pytest.raises(DocumentRefused, match=r"n'a pas de position dans le département 17"):
        draft(con, "notification", "123456782", "17")
    assert issubclass(DocumentRefused, OneVisionError)


def test_notification_refused_when_a_claim_is_filed_in_another_department(
        scratch: duckdb.DuckDBPyConnection) -> None:
    """A claim filed in 95 blocks offsetting nationally: `compensations` has no row, the notice is refused."""
    scratch.execute("UPDATE marts.positions SET passif_declare = 450 WHERE siren = '812345676' AND departement = '95'")
    scratch.execute("DELETE FROM marts.compensations WHERE siren = '812345676'")
    with pytest.raises(DocumentRefused, match=r"bloquée partout, des créances de BOULANGERIE DU PORT sont déclarées "
                       r"au passif d'une procédure collective \(450,00\s€ dans le département 95\)"):
        draft(scratch, "notification", "812345676", "17")


def test_notification_refused_without_a_tax_to_pay(scratch: duckdb.DuckDBPyConnection) -> None:
    """BOULANGERIE's CFE of 95 paid in the meantime: its 800,00 € refund has nothing left to pay."""
    scratch.execute("DELETE FROM marts.compensations WHERE siren = '812345676'")
    with pytest.raises(DocumentRefused, match=r"aucun impôt professionnel échu et non suspendu sur lequel affecter "
                       r"ses 800,00\s€"):
        draft(scratch, "notification", "812345676", "17")


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
              "Date limite de déclaration : 26/08/2026 (dépassée au 27/11/2026)",
              "relevé de forclusion à demander au juge-commissaire avant le 28/12/2026 (art. L. 622-26",
              "1700000000011", "Amende forfaitaire majorée, échue (admise en non-valeur, non éteinte)",
              "07/06/2026 16/08/2026 450,00 €", "délai dépassé : relevé de forclusion à demander avant le 28/12/2026",
              "Total déclaré : 450,00 €",
              "Annexe — créances à déclarer par le comptable de la collectivité (SYNDICAT DES EAUX DE RE)",
              "le comptable qui en a la charge les déclare lui-même", "17415/2026/12", "Eau (SYNDICAT DES EAUX DE RE)",
              "20/01/2026 20/01/2026 980,00 €")
    for text in texts:
        main, _, annex = text.partition("Annexe")
        assert "17415/2026/12" not in main and "980,00" not in main and "980,00" in annex
        assert "à qualifier (art. L. 622-17 du Code de commerce)" not in text


def test_declaration_menuiserie_liquidation_foreclosed(con: duckdb.DuckDBPyConnection) -> None:
    """Liquidation judged 17/03/2025, published 31/03/2025: both deadlines long past (« à examiner », never
    « lost »); the title issued after the judgment is to qualify under L. 641-13, the liquidation's article."""
    summary, texts = both(con, "declaration", "622333441")
    assert summary["total_declare"] == D("44431.77") and summary["a_qualifier"] == D("1200.00")
    assert summary["date_limite_declaration"] == dt.date(2025, 6, 2)
    assert_in(texts, "liquidation judiciaire ouverte par jugement du 17/03/2025", "publié au BODACC le 31/03/2025",
              "Date limite de déclaration : 02/06/2025 (dépassée au 27/11/2026)", "avant le 30/09/2025",
              "2025CVAE091", "CVAE 2025, échue", "01/01/2025 15/06/2025 44 431,77 €",
              "délais dépassés d'après les données : à examiner (art. L. 622-26)", "Total déclaré : 44 431,77 €",
              "à qualifier (art. L. 641-13 du Code de commerce)", "payée à son échéance (art. L. 641-13 I)",
              "2026-RNF-000108", "Redevance, échue", "01/06/2025 01/06/2025 1 200,00 €")
    for text in texts:
        assert "L. 622-17" not in text


def test_declaration_refusals(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(DocumentRefused, match=r"n'est pas en procédure collective.*L\. 622-24"):
        draft(con, "declaration", "301122339", "17")
    # CHANTIER NAVAL: its only claim is a local title, declared by the local body's accountant
    with pytest.raises(DocumentRefused, match=r"aucune créance de l'État à déclarer pour CHANTIER NAVAL DE ROCHEFORT "
                       r"dans le département 17 ; 1 ligne\(s\) relèvent d'un autre comptable"):
        draft(con, "declaration", "711888990", "17")


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
    with pytest.raises(ValueError, match="SIREN invalide"):
        draft(con, "satd", "../../etc", "17")
    with pytest.raises(ValueError):
        draft(con, "satd", "301122339", "1/7")


def test_values_are_escaped(scratch: duckdb.DuckDBPyConnection) -> None:
    """A company name with XML characters stays text in the .odt (Genshi escapes every value)."""
    scratch.execute("UPDATE marts.positions SET denomination = 'A <b> & \"C\"' WHERE siren = '443210984'")
    _, odt, _ = draft(scratch, "satd", "443210984", "17", today=TODAY)
    assert 'A <b> & "C"' in odt_text(odt)


def test_cli_writes_the_document(sample_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from onevision_dagster.cli import main

    path = tmp_path / "onevision.duckdb"
    shutil.copy(sample_file, path)
    out = tmp_path / "satd.odt"
    assert main(["document", "satd", "443 210 984", "--departement", "17", "--out", str(out),
                 "--warehouse", str(path)]) == 0
    assert "Montant total de la saisie : 8 510,30 €" in flat(odt_text(out.read_bytes()))
    assert "total poursuivable 8 510,30 €" in _normal(capsys.readouterr().out)
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


def test_drafted_from_the_applications_publication(sample_file: Path, tmp_path: Path) -> None:
    """The application reads its publication, not the warehouse: the same amounts, and the same words since the
    publication copies `details_lignes` (`details_sql()` for the published lines); without that table the tax
    is named by its reference only."""
    from onevision_dagster.app.publication import publish

    shutil.copy(sample_file, tmp_path / "entrepot.duckdb")
    with duckdb.connect(str(tmp_path / "entrepot.duckdb")) as source:  # as the pipeline's last asset does
        path = publish(source, tmp_path / "pub").path
    with duckdb.connect(str(path), read_only=True) as pub:
        _, odt, summary = draft(pub, "notification", "812345676", "17", today=TODAY)
        text = flat(odt_text(odt))
        assert summary["montant_affecte"] == D("450.00") and summary["departements_impositions"] == ["17", "95"]
        assert "2025CFE9502 CFE 2025 15/12/2025 95 450,00 € 450,00 € 0,00 €" in text
        _, odt, summary = draft(pub, "satd", "443210984", "17", today=TODAY)
        assert summary["total_poursuivable"] == D("8510.30")
        with pytest.raises(DocumentRefused, match="bloquée.*redressement judiciaire.*12/06/2026"):
            draft(pub, "notification", "520987611", "17")
        _, odt, summary = draft(pub, "declaration", "845123454", "17", today=TODAY)
        assert summary["total_declare"] == D("7595.00") and summary["a_qualifier"] == D("900.00")
    with duckdb.connect(str(path)) as pub:  # a publication written before it copied the details
        pub.execute("DROP TABLE details_lignes")
        _, odt, _ = draft(pub, "notification", "812345676", "17", today=TODAY)
        assert "2025CFE9502 — — 15/12/2025 95 450,00 € 450,00 € 0,00 €" in flat(odt_text(odt))
