"""Issue 18 in the application: the documents drafted from the company page and the worklists, audited and listed.

The real pipeline on the contract's samples (departments 17 and 95, as tests/test_app_pipeline.py runs it), then
the application on what it published, under uvicorn. Every document downloaded is opened (pypdf, the .odt's
content.xml) and its amounts looked for; the figures are those of shared/samples/README.md and issue 18:
ATLANTIC SHIPPING LIMITED's IS receivable of 2 500,00 € applied to its IS 2026 (8 000,00 €, 5 500,00 € left),
FERRONNERIE ROCHELAISE's declaration (375,00 + 5 120,00 past due, 2 100,00 to fall due, total 7 595,00 €,
deadline 18/01/2027), GARAGE MARTIN's SATD refused (nothing pursuable).
"""

from __future__ import annotations

import csv
import getpass
import html
import io
import re
import shutil
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from onevision_dagster.app import audit, csrf
from onevision_dagster.app.store import open_store

from .test_documents import HAS_SOFFICE, flat, odt_text, pdf_text

AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}
AGENT_95 = {"X-Remote-User": "carla", "X-Remote-Groups": "onevision-departement-95"}
AGENT_91 = {"X-Remote-User": "bob", "X-Remote-Groups": "onevision-departement-91"}
NATIONAL = {"X-Remote-User": "nina", "X-Remote-Groups": "onevision-national"}
ATLANTIC, BAKERY, FERRONNERIE, GARAGE = "301122339", "812345676", "845123454", "790112239"


@pytest.fixture(scope="module")
def app(samples_app: tuple):
    return samples_app  # conftest: the samples built once, served by an app of this module


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).replace("\u00a0", " ")


def _session(base: str, headers: dict[str, str], path: str) -> tuple[requests.Session, str]:
    """A browser's session on a page: its CSRF cookie, and the token its forms carry (key of fx.app_settings)."""
    s = requests.Session()
    s.headers.update(headers)
    page = s.get(base + path)
    assert page.status_code == 200, (path, page.status_code)
    token = csrf.token(b"k" * 32, s.cookies[csrf.COOKIE], headers["X-Remote-User"])
    assert f'name="jeton" value="{token}"' in page.text
    return s, token


def _documents(engine: sa.Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT id, utilisateur, departements, objet, statut_http FROM audit WHERE action = 'DOCUMENT' "
            "ORDER BY id")).mappings()]


def _forms(page: str) -> list[tuple[str, str]]:
    """(departement, document) of every drafting form on a page."""
    return re.findall(r'<form method="post" action="/entreprises/\d{9}/documents" class="document">\s*'
                      r'<input type="hidden" name="jeton" value="[0-9a-f]*"><input type="hidden" name="departement" '
                      r'value="(\w+)"><input type="hidden" name="document" value="(\w+)">', page)


def test_buttons_only_for_the_departments_the_agent_holds(app) -> None:
    base, _ = app
    kinds = ["notification", "declaration", "satd"]
    bakery_17 = requests.get(f"{base}/entreprises/{BAKERY}", headers=AGENT_17).text
    assert _forms(bakery_17) == [("17", k) for k in kinds]  # the bakery has positions in 17 and 95
    assert _forms(requests.get(f"{base}/entreprises/{BAKERY}", headers=AGENT_95).text) == [("95", k) for k in kinds]
    assert _forms(requests.get(f"{base}/entreprises/{BAKERY}", headers=NATIONAL).text) == [
        (d, k) for d in ("17", "95") for k in kinds]
    outsider = requests.get(f"{base}/entreprises/{BAKERY}", headers=AGENT_91)
    assert outsider.status_code == 403 and not _forms(outsider.text)
    # worklists: the offsets carry the notification, the declarations the declaration, for 17's agents only
    compensations = requests.get(f"{base}/departements/17/listes/compensations", headers=AGENT_17).text
    assert (("17", "notification") in _forms(compensations)
            and {k for _, k in _forms(compensations)} == {"notification"})
    declarations = requests.get(f"{base}/departements/17/listes/declarations", headers=AGENT_17).text
    assert {k for _, k in _forms(declarations)} == {"declaration"}
    assert f'action="/entreprises/{FERRONNERIE}/documents"' in declarations
    assert requests.get(f"{base}/departements/17/listes/compensations", headers=AGENT_95).status_code == 403


def test_rights_are_checked_on_the_server(app) -> None:
    base, engine = app
    before = len(_documents(engine))
    s, token = _session(base, AGENT_95, f"/entreprises/{BAKERY}")
    form = {"jeton": token, "departement": "17", "document": "notification", "format": "odt"}
    refused = s.post(f"{base}/entreprises/{BAKERY}/documents", data=form)  # a 95 agent asking for 17's notice
    assert refused.status_code == 403 and "département 17" in _text(refused.text)
    assert not refused.headers["content-type"].startswith("application/vnd.oasis")
    unknown = requests.post(f"{base}/entreprises/{ATLANTIC}/documents", data={**form, "departement": "91"},
                            headers=AGENT_91)
    assert unknown.status_code == 400  # no page of this company, so no token: refused before anything is read
    anonymous = requests.post(f"{base}/entreprises/{ATLANTIC}/documents", data=form)
    assert anonymous.status_code == 401 and b"PK" not in anonymous.content[:2]
    no_token = s.post(f"{base}/entreprises/{BAKERY}/documents", data={**form, "departement": "95", "jeton": ""})
    assert no_token.status_code == 400
    rows = _documents(engine)[before:]
    assert [(r["utilisateur"], r["statut_http"]) for r in rows] == [("carla", 403), ("bob", 400), ("carla", 400)]
    assert [r["objet"] for r in rows] == [f"{BAKERY}/17/notification.odt", ATLANTIC, BAKERY]


def test_notification_downloaded_audited_and_listed(app) -> None:
    base, engine = app
    s, token = _session(base, AGENT_17, f"/entreprises/{ATLANTIC}")
    form = {"jeton": token, "departement": "17", "document": "notification", "format": "odt"}
    odt = s.post(f"{base}/entreprises/{ATLANTIC}/documents", data=form)
    assert odt.status_code == 200
    assert odt.headers["content-type"] == "application/vnd.oasis.opendocument.text"
    assert re.fullmatch(rf'attachment; filename="notification_{ATLANTIC}_17_\d{{8}}\.odt"',
                        odt.headers["content-disposition"])
    text = flat(odt_text(odt.content))
    assert "ATLANTIC SHIPPING LIMITED" in text and "Montant affecté : 2 500,00 €" in text
    assert "L. 257 B" in text and "R. 257 B-1" in text
    # the publication copies details_lignes: the receivable is named by its kind, not only its reference
    assert "CIS-2026-0005" in text and "excédent d'acomptes" in text
    if HAS_SOFFICE:
        pdf = s.post(f"{base}/entreprises/{ATLANTIC}/documents", data={**form, "format": "pdf"})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert "Montant affecté : 2 500,00 €" in flat(pdf_text(pdf.content))
    rows = [r for r in _documents(engine) if r["objet"].startswith(f"{ATLANTIC}/17/notification")]
    assert rows[0]["utilisateur"] == "alice" and rows[0]["departements"] == "17" and rows[0]["statut_http"] == 200
    assert rows[0]["objet"].startswith(f"{ATLANTIC}/17/notification.odt montant_affecte=2500.00 total_creances=2500.00 "
                                       "total_impositions=8000.00 reste_creances=0.00 reste_impositions=5500.00")
    assert audit.verify(engine).ok  # the chain still holds with the new action
    page = _text(s.get(f"{base}/entreprises/{ATLANTIC}").text)
    listed = re.search(r"Documents préparés Date \(heure de Paris\) Agent Document Dépt Montants Référence (.*?) "
                       r"Lignes de dettes", page).group(1)
    assert re.search(r"\d\d/\d\d/\d{4} à \d\d:\d\d alice Notification d'affectation \(art. L. 257 B et R. 257 B-1 "
                     r"LPF\) \(odt\) 17 montant affecté 2 500,00 € ; créances 2 500,00 € ; impositions 8 000,00 € ; "
                     r"reste dû par l'État 0,00 € ; reste à payer 5 500,00 € n° " + str(rows[0]["id"]), listed)
    # another department's agent does not see it listed (the company has no position in 95 anyway: 403)
    assert requests.get(f"{base}/entreprises/{ATLANTIC}", headers=AGENT_95).status_code == 403


def test_refusal_answered_on_the_page_and_audited(app) -> None:
    base, engine = app
    s, token = _session(base, AGENT_17, f"/entreprises/{GARAGE}")
    refused = s.post(f"{base}/entreprises/{GARAGE}/documents",
                     data={"jeton": token, "departement": "17", "document": "satd", "format": "pdf"})
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("text/html")
    page = _text(refused.text)
    assert "SATD refusée : GARAGE MARTIN n'a aucune dette poursuivable" in page
    assert "GARAGE MARTIN" in page and "Documents préparés" in page  # the company page, with the sentence
    row = _documents(engine)[-1]
    assert row["utilisateur"] == "alice" and row["statut_http"] == 409
    assert row["objet"].startswith(f"{GARAGE}/17/satd.pdf refusé : SATD refusée : GARAGE MARTIN n'a aucune dette")
    assert "Aucun document préparé pour cette entreprise" in page  # a refusal is not a document


def test_declaration_from_the_worklist(app) -> None:
    base, engine = app
    s, token = _session(base, AGENT_17, "/departements/17/listes/declarations")
    answer = s.post(f"{base}/entreprises/{FERRONNERIE}/documents", data={
        "jeton": token, "departement": "17", "document": "declaration", "format": "odt", "liste": "declarations"})
    assert answer.status_code == 200
    text = flat(odt_text(answer.content))
    for expected in ("375,00 €", "5 120,00 €", "2 100,00 €", "15/12/2026", "7 595,00 €", "18/01/2027", "900,00 €",
                     "L. 622-24"):
        assert expected in text, expected
    row = _documents(engine)[-1]
    assert row["objet"].startswith(f"{FERRONNERIE}/17/declaration.odt ") and "total_declare=7595.00" in row["objet"]
    # a refusal from a worklist is answered on the list: ATLANTIC is not in procedure
    refused = s.post(f"{base}/entreprises/{ATLANTIC}/documents", data={
        "jeton": token, "departement": "17", "document": "declaration", "format": "odt", "liste": "declarations"})
    assert refused.status_code == 409
    assert "Déclarations de créances — département 17" in _text(refused.text)
    assert "Déclaration refusée" in _text(refused.text) or "procédure" in _text(refused.text)


def test_outcome_points_to_the_notification_sent(app) -> None:
    base, engine = app
    s, token = _session(base, AGENT_17, f"/entreprises/{ATLANTIC}")
    sent = s.post(f"{base}/entreprises/{ATLANTIC}/documents",
                  data={"jeton": token, "departement": "17", "document": "notification", "format": "odt",
                        "liste": "compensations"})
    assert sent.status_code == 200
    reference = _documents(engine)[-1]["id"]
    url = f"{base}/departements/17/listes/compensations"
    page = s.get(url).text.replace("\xa0", " ")
    assert f'<option value="{reference}">n° {reference} du ' in page and "(2 500,00 €)</option>" in page
    # a reference that is not this company's notification is refused in the form, nothing recorded
    with engine.connect() as conn:
        other = conn.execute(sa.text("SELECT min(id) FROM audit WHERE action <> 'DOCUMENT'")).scalar()
        count = conn.execute(sa.text("SELECT count(*) FROM resultats")).scalar()
    wrong = s.post(url + "/resultats", data={"jeton": token, "siren": ATLANTIC, "resultat": "FAIT",
                                             "montant": "2500,00", "document": str(other)}, allow_redirects=False)
    assert wrong.status_code == 403 and f"le document n° {other} n'est pas une notification" in _text(wrong.text)
    done = s.post(url + "/resultats", data={"jeton": token, "siren": ATLANTIC, "resultat": "FAIT",
                                            "montant": "2500,00", "document": str(reference)}, allow_redirects=False)
    assert done.status_code == 303
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT siren, resultat, montant_obtenu_centimes, document FROM resultats "
                                    "ORDER BY id")).all()
    assert len(rows) == count + 1 and tuple(rows[-1]) == (ATLANTIC, "FAIT", 250000, reference)
    assert f"Fait : 2 500,00 € obtenus — notification envoyée : document n° {reference} — alice" in _text(
        s.get(url).text)
    export = s.get(url + "/export.csv")
    exported = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert exported[0][-1] == "Notification envoyée (document n°)"
    assert [r[-1] for r in exported[1:] if r[0] == ATLANTIC] == [str(reference)]


def test_the_command_line_audits_with_the_operators_identity(samples: Path, tmp_path: Path) -> None:
    from onevision_dagster.cli import main

    shutil.copy(samples / "w.duckdb", tmp_path / "w.duckdb")
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    common = ["--departement", "17", "--warehouse", str(tmp_path / "w.duckdb"), "--base", url]
    assert main(["document", "notification", ATLANTIC, "--out", str(tmp_path / "n.odt"), *common]) == 0
    assert main(["document", "satd", GARAGE, "--out", str(tmp_path / "s.odt"), *common]) == 1
    assert not (tmp_path / "s.odt").exists()
    engine = open_store(url)
    rows = _documents(engine)
    assert [(r["utilisateur"], r["statut_http"]) for r in rows] == [(f"exploitant:{getpass.getuser()}", 200),
                                                                     (f"exploitant:{getpass.getuser()}", 409)]
    assert rows[0]["objet"].startswith(f"{ATLANTIC}/17/notification.odt montant_affecte=2500.00 ")
    assert rows[1]["objet"].startswith(f"{GARAGE}/17/satd.odt refusé : SATD refusée : GARAGE MARTIN")
    assert audit.verify(engine).ok


# --------------------------------------------------------------------------- issue 20, finding 5: company sheets


def test_company_sheet_served_by_the_application_with_rights_and_audit(app) -> None:
    base, engine = app
    anonymous = requests.get(f"{base}/entreprises/{ATLANTIC}/fiche")
    assert anonymous.status_code == 401
    assert "ATLANTIC" not in anonymous.text and "2 500,00" not in _text(anonymous.text)
    sheet = requests.get(f"{base}/entreprises/{ATLANTIC}/fiche", headers=AGENT_17)
    assert sheet.status_code == 200
    text = _text(sheet.text)
    assert "ATLANTIC SHIPPING LIMITED" in text and "2 500,00 €" in text and "8 000,00 €" in text
    assert requests.get(f"{base}/entreprises/{ATLANTIC}/fiche", headers=AGENT_95).status_code == 403
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT utilisateur, action, objet, statut_http FROM audit "
                                    "ORDER BY id DESC LIMIT 2")).all()
    assert [tuple(r) for r in rows] == [("carla", "CONSULTATION_ENTREPRISE", ATLANTIC, 403),
                                        ("alice", "CONSULTATION_ENTREPRISE", ATLANTIC, 200)]


def test_dashboards_links_to_sheets_lead_to_the_application(app) -> None:
    """`onevision rapports` (no identity, no audit) is gone; a dashboard's link to a sheet leads to the application's
    sheet, and without an identity to nothing (tests/test_app_dashboards.py tests the dashboards themselves)."""
    base, _ = app
    anonymous = requests.get(f"{base}/rapports/fiches/fiche_{ATLANTIC}_17.html", allow_redirects=False)
    assert anonymous.status_code == 401 and "ATLANTIC" not in anonymous.text and "€" not in anonymous.text
    link = requests.get(f"{base}/rapports/fiches/fiche_{ATLANTIC}_17.html", headers=AGENT_17, allow_redirects=False)
    assert link.status_code == 303 and link.headers["location"] == f"/entreprises/{ATLANTIC}/fiche"
