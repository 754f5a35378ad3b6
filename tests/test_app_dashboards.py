"""Issue 20, finding 5: the pipeline's dashboards served by the application, with its rights and audit.

The real pipeline on the contract's samples (departments 17 and 95), then the application (`dev`, identity
headers, as tests/test_app_documents.py runs it) with `reports` pointing at the folder the pipeline wrote.
17's dashboard shows 113 527,57 € past due at its latest snapshot (expected/positions_17.csv) and ATLANTIC
SHIPPING LIMITED's 2 500,00 € offsettable; it must reach nobody else than 17's agents and the national ones.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from onevision_dagster.cli import REPORTS_MOVED

AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}
AGENT_95 = {"X-Remote-User": "carla", "X-Remote-Groups": "onevision-departement-95"}
NATIONAL = {"X-Remote-User": "nina", "X-Remote-Groups": "onevision-national"}
ATLANTIC = "301122339"


@pytest.fixture(scope="module")
def app(samples_app: tuple):
    return samples_app  # conftest: the samples built once, served by an app of this module


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).replace("\u00a0", " ").replace(
        "\u202f", " ")


def _audit(engine: sa.Engine, n: int) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT utilisateur, action, objet, statut_http FROM audit "
                                    "ORDER BY id DESC LIMIT :n"), {"n": n}).all()
    return [tuple(r) for r in reversed(rows)]


def test_department_dashboard_to_its_agents_only(app) -> None:
    base, engine = app
    url = f"{base}/rapports/tableau_de_bord_17.html"
    page = requests.get(url, headers=AGENT_17)
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    text = _text(page.text)
    assert "One Vision — département 17" in text and "113 527,57 €" in text and "2 500,00 €" in text
    assert "script-src 'self' 'unsafe-inline'" in page.headers["content-security-policy"]
    assert "connect-src 'none'" in page.headers["content-security-policy"]
    assert requests.get(url, headers=NATIONAL).status_code == 200
    refused = requests.get(url, headers=AGENT_95)
    assert refused.status_code == 403
    assert "113 527,57" not in _text(refused.text) and "ATLANTIC" not in refused.text
    assert "département 17" in _text(refused.text)
    assert _audit(engine, 3) == [("alice", "CONSULTATION_TABLEAU_DE_BORD", "tableau_de_bord_17.html", 200),
                                 ("nina", "CONSULTATION_TABLEAU_DE_BORD", "tableau_de_bord_17.html", 200),
                                 ("carla", "CONSULTATION_TABLEAU_DE_BORD", "tableau_de_bord_17.html", 403)]


def test_no_company_figure_without_an_identity(app, samples: Path) -> None:
    base, _ = app
    names = [p.name for p in (samples / "rapports").glob("tableau_de_bord_*.html")]
    assert {"tableau_de_bord_17.html", "tableau_de_bord_95.html", "tableau_de_bord_national.html",
            "tableau_de_bord_experimentation.html"} <= set(names)
    for name in names:
        anonymous = requests.get(f"{base}/rapports/{name}")
        assert anonymous.status_code == 401, name
        assert "€" not in anonymous.text and ATLANTIC not in anonymous.text and "ATLANTIC" not in anonymous.text


def test_national_dashboards_to_national_agents(app) -> None:
    base, engine = app
    for name, expected in (("tableau_de_bord_national.html", "One Vision — France entière"),
                           ("tableau_de_bord_experimentation.html", "64,5 %")):
        assert requests.get(f"{base}/rapports/{name}", headers=AGENT_17).status_code == 403
        assert _audit(engine, 1) == [("alice", "CONSULTATION_TABLEAU_DE_BORD", name, 403)]
        page = requests.get(f"{base}/rapports/{name}", headers=NATIONAL)
        assert page.status_code == 200 and expected in _text(page.text), name


def test_plotly_beside_the_pages_and_nothing_else(app, samples: Path) -> None:
    base, _ = app
    js = requests.get(f"{base}/rapports/plotly.min.js", headers=AGENT_17)
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert len(js.content) == (samples / "rapports" / "plotly.min.js").stat().st_size
    assert 'src="./plotly.min.js"' in requests.get(f"{base}/rapports/tableau_de_bord_17.html", headers=AGENT_17).text
    for path in ("/rapports/index.html", "/rapports/tableau_de_bord_17.html.tmp", "/rapports/..%2f..%2fetc%2fpasswd",
                 "/rapports/%2e%2e", "/rapports/tableau_de_bord_99.html", "/rapports/fiches/x.html"):
        answer = requests.get(base + path, headers=NATIONAL, allow_redirects=False)
        assert answer.status_code in (400, 404), path
        assert "root:" not in answer.text
    # a dashboard's link to a company sheet leads to the application's sheet, with its own rights
    link = requests.get(f"{base}/rapports/fiches/fiche_{ATLANTIC}_17.html", headers=AGENT_95, allow_redirects=False)
    assert link.status_code == 303 and link.headers["location"] == f"/entreprises/{ATLANTIC}/fiche"
    assert requests.get(f"{base}/entreprises/{ATLANTIC}/fiche", headers=AGENT_95).status_code == 403


def test_department_page_links_its_dashboards(app) -> None:
    base, _ = app
    page = requests.get(f"{base}/departements/17", headers=AGENT_17).text
    assert re.findall(r'<a href="(/rapports/[^"]+)">', page) == ["/rapports/tableau_de_bord_17.html"]
    national = requests.get(f"{base}/departements/17", headers=NATIONAL).text
    assert re.findall(r'<a href="(/rapports/[^"]+)">', national) == [
        "/rapports/tableau_de_bord_17.html", "/rapports/tableau_de_bord_national.html",
        "/rapports/tableau_de_bord_experimentation.html"]


def test_report_server_command_refuses() -> None:
    out = subprocess.run([sys.executable, "-m", "onevision_dagster.cli", "rapports", "--port", "0"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and REPORTS_MOVED in out.stderr and "/rapports/" in out.stderr
