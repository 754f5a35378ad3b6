"""Issue 18: the common debtors' worklist ("débiteurs communs") and its joint SATD button, through the application.

The real pipeline on the contract's samples (departments 17 and 95, as tests/test_app_documents.py runs it), then
the application on what it published. The list shows exactly `marts.panel_debiteurs_communs` of 17 (companies with
past-due debts in two sources and something pursuable, contract v3), most urgent first; TRANSPORTS CHARENTAIS'
joint SATD drafted from its line carries its 8 510,30 € pursuable (shared/samples/README.md, issue 18).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb
import pytest
import requests
import sqlalchemy as sa

from onevision_dagster.app import audit

from .test_app_documents import AGENT_17, AGENT_95, _documents, _forms, _session, _text
from .test_documents import HAS_SOFFICE, flat, odt_text, pdf_text

TRANSPORTS = "443210984"
LIST = "/departements/17/listes/debiteurs_communs"


@pytest.fixture(scope="module")
def app(samples_app: tuple):
    return samples_app  # conftest: the samples built once, served by an app of this module


def _rows(page: str) -> list[str]:
    """The SIRENs of a list page's lines, in order."""
    return re.findall(r'<tr>\s*<td class="montant">\d+</td>\s*<td><a href="/entreprises/(\d{9})">', page)


def test_the_list_is_the_panel_most_urgent_first(samples: Path, app) -> None:
    base, _ = app
    with duckdb.connect(str(samples / "w.duckdb"), read_only=True) as con:
        panel = con.execute("SELECT siren FROM marts.panel_debiteurs_communs WHERE departement = '17' "
                            "ORDER BY rang").fetchall()
    assert sorted(s for (s,) in panel) == ["301122339", "443210984", "812345676"]
    page = requests.get(base + LIST, headers=AGENT_17)
    assert page.status_code == 200
    assert _rows(page.text) == [s for (s,) in panel]
    text = _text(page.text)
    assert "Débiteurs communs — département 17" in text and "3 éléments" in text
    for header in ("Rang", "SIREN", "Dénomination", "Dettes poursuivables", "Dettes échues", "Sources de dettes",
                   "Étape la plus avancée", "Base légale", "Suite donnée"):
        assert header in text, header
    assert "TRANSPORTS CHARENTAIS" in text and "8 510,30 €" in text
    assert text.count("SATD commune, art. L. 262 du LPF") >= 3  # the legal basis on every line (and the help)
    # the joint SATD's button on each line, for 17, and nothing else
    assert _forms(page.text) == [("17", "satd")] * 3
    # the department's page links the list with its count
    home = _text(requests.get(base + "/departements/17", headers=AGENT_17).text)
    assert re.search(r"Débiteurs communs 3 ", home)


def test_satd_downloaded_from_the_list(app) -> None:
    base, engine = app
    s, token = _session(base, AGENT_17, LIST)
    form = {"jeton": token, "departement": "17", "document": "satd", "format": "odt", "liste": "debiteurs_communs"}
    odt = s.post(f"{base}/entreprises/{TRANSPORTS}/documents", data=form)
    assert odt.status_code == 200 and odt.headers["content-type"] == "application/vnd.oasis.opendocument.text"
    text = flat(odt_text(odt.content))
    assert "TRANSPORTS CHARENTAIS" in text and "8 510,30 €" in text and "L. 262" in text
    if HAS_SOFFICE:
        pdf = s.post(f"{base}/entreprises/{TRANSPORTS}/documents", data={**form, "format": "pdf"})
        assert pdf.status_code == 200 and "8 510,30 €" in flat(pdf_text(pdf.content))
    row = [r for r in _documents(engine) if r["objet"].startswith(f"{TRANSPORTS}/17/satd.odt")][-1]
    assert row["utilisateur"] == "alice" and row["statut_http"] == 200 and "8510.30" in row["objet"]
    assert audit.verify(engine).ok


def test_rights(app) -> None:
    base, engine = app
    assert requests.get(base + LIST, headers=AGENT_95).status_code == 403
    assert requests.get(base + LIST + "/export.csv", headers=AGENT_95).status_code == 403
    anonymous = requests.get(base + LIST)
    assert anonymous.status_code == 401 and TRANSPORTS not in anonymous.text
    s, token = _session(base, AGENT_95, "/entreprises/812345676")  # a page of 95 with forms (the bakery)
    refused = s.post(f"{base}/entreprises/{TRANSPORTS}/documents", data={
        "jeton": token, "departement": "17", "document": "satd", "format": "odt", "liste": "debiteurs_communs"})
    assert refused.status_code == 403 and b"PK" not in refused.content[:2]
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT utilisateur, action, objet, statut_http FROM audit WHERE utilisateur = "
                                    "'carla' ORDER BY id")).all()
    assert ("carla", "CONSULTATION_LISTE", "17/debiteurs_communs", 403) in [tuple(r) for r in rows]
    assert ("carla", "DOCUMENT", f"{TRANSPORTS}/17/satd.odt", 403) in [tuple(r) for r in rows]


def test_outcome_and_export(app) -> None:
    base, engine = app
    s, token = _session(base, AGENT_17, LIST)
    url = base + LIST + "/resultats"
    too_much = s.post(url, data={"jeton": token, "siren": TRANSPORTS, "resultat": "FAIT", "montant": "8510,31"},
                      allow_redirects=False)
    assert too_much.status_code == 403  # more than what is pursuable
    done = s.post(url, data={"jeton": token, "siren": TRANSPORTS, "resultat": "FAIT", "montant": "8510,30"},
                  allow_redirects=False)
    assert done.status_code == 303
    assert "Fait : 8 510,30 € obtenus — alice" in _text(s.get(base + LIST).text)
    export = s.get(base + LIST + "/export.csv")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:9] == ["Rang", "SIREN", "Dénomination", "Dettes poursuivables", "Dettes échues",
                           "Sources de dettes", "Étape la plus avancée", "Ancienneté (jours)", "Base légale"]
    assert rows[0][9:12] == ["Suite donnée", "Motif", "Montant obtenu"]
    line = next(r for r in rows[1:] if r[1] == TRANSPORTS)
    assert line[3] == "8510,30" and line[8] == "SATD commune, art. L. 262 du LPF"
    assert line[9] == "Fait" and line[11] == "8510,30"
    assert sorted(r[1] for r in rows[1:]) == ["301122339", "443210984", "812345676"]
