"""Dashboards, index, static images and the report server, on the warehouse of test_charts.py."""

from __future__ import annotations

import http.client
import importlib.util
import re
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import plotly.graph_objects as go
import pytest

from onevision_dagster.reports.charts import build_figures
from onevision_dagster.reports.dashboard import PLOTLY_JS, ensure_plotly_js, write_dashboard
from onevision_dagster.reports.dashboard_data import load_dashboard_data
from onevision_dagster.reports.fiche import write_fiche
from onevision_dagster.reports.formatting import NBSP
from onevision_dagster.reports.html_page import dashboard_filename
from onevision_dagster.reports.index_page import write_index
from onevision_dagster.reports.static_image import find_browser, write_static_image

from . import test_charts as fx  # its small warehouse and cases
from .conftest import require

XSS = fx.XSS
XSS_SIREN = fx.XSS_SIREN


class Page(HTMLParser):
    """What a browser would build: start tags, visible text, script bodies."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._script: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)
        else:
            self.text.append(data)

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)

    @property
    def visible(self) -> str:
        return " ".join(self.text)


@pytest.fixture()
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    fx.build_warehouse(connection)
    yield connection
    connection.close()


@pytest.fixture()
def reports(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> Path:
    out = tmp_path / "rapports"
    for dept in ("17", "91", None):
        label = f"Département {dept}" if dept else "France entière"
        write_dashboard(load_dashboard_data(con, dept), out, f"One Vision — {label}", dashboard_filename(dept))
    return out


def _euros(text: str) -> str:
    return text.replace(" ", NBSP) + NBSP + "€"


def test_dashboard_shows_key_figures_dates_and_legal_basis(reports: Path, con: duckdb.DuckDBPyConnection) -> None:
    page = (reports / "tableau_de_bord_17.html").read_text(encoding="utf-8")
    visible = Page(page).visible
    assert "One Vision — Département 17" in visible
    assert "situation au" in visible and "27/11/2026" in visible
    # past-due debts (suspended, pursuable), certain credits, offsettable, potential; then what is shown apart;
    # no balance (contract v3: never netted)
    for amount in ("60 000,80", "39 360,00", "20 640,80", "6 500,00", "2 500,00", "7 000,00", "987,00", "450,00",
                   "4 000,00", "27 200,00"):
        assert _euros(amount) in visible, amount
    assert _euros("-53 500,80") not in visible and "Solde" not in visible and "solde" not in visible
    assert "exigible" not in visible.replace("liquides et exigibles", "")  # only in the quote of art. L. 257 B
    for label in ("Dettes échues", "dont suspendues", "dont poursuivables", "Impôts à échoir",
                  "Amendes admises en non-valeur", "Créances à échoir", "Passif déclaré", "Compensations bloquées"):
        assert label in visible, label
    # freshness: the as-of date per department, flagged older than the limit (7 days) since it is old
    assert "Données au : département 17 : 27/11/2026" in visible
    assert "85,7" + NBSP + "%" in visible  # fines attached
    for article in ("L. 257 B", "R. 257 B-1", "L. 277", "L. 622-7", "L. 622-21", "L. 1617-5", "art. 1347"):
        assert article in visible
    assert "hors L. 257 B" in visible and "à échoir (non compensable avant sa date)" in visible
    assert "jamais compens" not in visible
    # the 10 largest opportunities also as a table, with exact amounts
    assert re.search(r"ATLANTIC SHIPPING LIMITED</a></td><td>301122339</td><td class=montant>2\xa0500,00\xa0€", page)
    # and the blocked ones, with why
    blocked = re.search(r"OSTREICULTURE MARENNES OLERON</a></td><td>800000010</td><td>(.*?)</td>"
                        r"<td class=montant>3\xa0200,00\xa0€</td><td class=montant>3\xa0000,00\xa0€", page)
    assert blocked is not None
    assert Page(blocked.group(1)).visible == (
        "Compensation bloquée  créance déclarée au passif d'une procédure que le registre ne montre pas (art. "
        "L. 622-7 C. com.)"
    )
    # every chart is in the page
    for key in build_figures(load_dashboard_data(con, "17")):
        assert f'id="graphe-{key}"' in page


def test_national_dashboard_names_both_blocks(reports: Path) -> None:
    visible = Page((reports / "tableau_de_bord_national.html").read_text(encoding="utf-8")).visible
    assert "procédure collective ouverte (art. L. 622-7 C. com.)" in visible  # FONDERIE, department 91
    assert "créance déclarée au passif d'une procédure que le registre ne montre pas" in visible
    assert "FONDERIE DE L'ESSONNE" in visible
    assert "IMPRIMERIE DU HUREPOIX" in visible  # offsettable: judged after the as-of date
    assert _euros("8 200,00") in visible  # 5 000 + 3 200 at stake
    # the register's lines apart from the sources' chart, on their own (issue 17, point 9)
    assert ("Registre national des entreprises (à part, autre échelle) : 30 lignes lues, 26 gardées, 4 rejetées"
            in visible)


def test_plotly_js_written_once_beside_the_pages_and_not_inlined(reports: Path) -> None:
    bundled = Path(importlib.util.find_spec("plotly").origin).parent / "package_data" / PLOTLY_JS
    js = reports / PLOTLY_JS
    assert js.read_bytes() == bundled.read_bytes()
    for name in ("tableau_de_bord_17.html", "tableau_de_bord_91.html", "tableau_de_bord_national.html"):
        page = (reports / name).read_text(encoding="utf-8")
        parsed = Page(page)
        sources = [a.get("src") for t, a in parsed.tags if t == "script" and a.get("src")]
        assert sources == ["./plotly.min.js"]  # one external script, local, relative
        assert "http://" not in page and "https://" not in page  # opens offline
        assert "plotly.js v" not in page  # the library is not inlined
        assert (reports / name).stat().st_size < 500_000 < js.stat().st_size
    # writing again does not copy the 4.8 MB file again
    mtime = js.stat().st_mtime_ns
    ensure_plotly_js(reports)
    assert js.stat().st_mtime_ns == mtime


def test_index_lists_every_page(reports: Path, con: duckdb.DuckDBPyConnection) -> None:
    write_fiche(con, "443210984", "17", reports / "fiches")
    write_index(reports)
    index = Page((reports / "index.html").read_text(encoding="utf-8"))
    links = [a["href"] for t, a in index.tags if t == "a"]
    assert links == [
        "tableau_de_bord_national.html",
        "tableau_de_bord_17.html",
        "tableau_de_bord_91.html",
        "fiches/fiche_443210984_17.html",
    ]
    assert all((reports / link).is_file() for link in links)
    assert "One Vision — France entière" in index.visible
    assert "Fiche entreprise — TRANSPORTS CHARENTAIS (443210984)" in index.visible
    # a page that is not ours is not listed
    (reports / "notes.html").write_text("<html><title>x</title></html>", encoding="utf-8")
    write_index(reports)
    assert "notes.html" not in (reports / "index.html").read_text(encoding="utf-8")


def test_dashboard_links_each_company_to_the_applications_sheet(tmp_path: Path,
                                                               con: duckdb.DuckDBPyConnection) -> None:
    """No sheet is written in advance (issue 21): the link opens the application's sheet, rendered on demand with the
    agent's rights and the audit."""
    out = tmp_path / "r"
    page = write_dashboard(load_dashboard_data(con, "17"), out, "T", "tdb_17.html").read_text(encoding="utf-8")
    assert not (out / "fiches").exists()
    assert '<a href="/entreprises/443210984/fiche">TRANSPORTS CHARENTAIS</a>' in page
    assert '<a href="/entreprises/301122339/fiche">ATLANTIC SHIPPING LIMITED</a>' in page
    assert "fiches/fiche_" not in page


def test_company_name_injection_is_text_everywhere(
    reports: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    fiche = write_fiche(con, XSS_SIREN, None, reports / "fiches")
    write_fiche(con, XSS_SIREN, "91", reports / "fiches")
    write_index(reports)
    pages = {
        "91": reports / "tableau_de_bord_91.html",
        "national": reports / "tableau_de_bord_national.html",
        "index": reports / "index.html",
        "fiche": fiche,
    }
    for name, path in pages.items():
        raw = path.read_text(encoding="utf-8")
        assert "<script>alert" not in raw and "<b>SA</b>" not in raw and "<img" not in raw, name
        page = Page(raw)
        assert XSS in page.visible, name  # shown, as text
        assert page.count("img") == 0 and page.count("b") == 0, name
        if name in ("91", "national"):
            # plotly.js + one inline script per figure, none injected
            assert page.count("script") == 1 + len(build_figures(load_dashboard_data(con, None))), name
            # labels reach plotly entity-escaped, and the JSON has no "</": no way out of the script
            assert any("&lt;script&gt;alert(1)&lt;\\u002fscript&gt;" in s for s in page.scripts), name
            assert all("</" not in s for s in page.scripts), name
        else:
            assert page.count("script") == 0, name
    dupont = write_fiche(con, "552100554", "91", reports / "fiches").read_text(encoding="utf-8")
    assert "<b>SA</b>" not in dupont
    assert "Dupont &amp; Fils &quot;&lt;b&gt;SA&lt;/b&gt;&quot;" in dupont


def test_hostile_title_and_filenames(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    data = load_dashboard_data(con, "17")
    path = write_dashboard(data, tmp_path, "</title><script>alert(3)</script>", "t.html")
    raw = path.read_text(encoding="utf-8")
    assert "<script>alert(3)" not in raw
    assert "&lt;/title&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in raw
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(3)" not in index and "alert(3)" in index
    for bad in ("../evil.html", "sub/page.html", "page.htm", "index.html", ".hidden.html", "a b.html"):
        with pytest.raises(ValueError):
            write_dashboard(data, tmp_path, "T", bad)
    with pytest.raises(ValueError):
        dashboard_filename("../17")


def test_static_image_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fig = go.Figure(go.Bar(x=["a"], y=[1]))
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-browser"))
    assert write_static_image(fig, tmp_path / "a.png") is False
    assert not (tmp_path / "a.png").exists()
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("BROWSER_PATH", str(fake))
    assert write_static_image(fig, tmp_path / "b.png") is False


def test_static_image_with_chromium(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    require(find_browser() is not None, "pas de Chromium installé")  # under CI: a failure, not a skip
    figures = build_figures(load_dashboard_data(con, "91"))
    png, svg = tmp_path / "compensation.png", tmp_path / "compensation.svg"
    assert write_static_image(figures["compensation"][1], png) is True
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert write_static_image(figures["compensation"][1], svg) is True
    root = ElementTree.fromstring(svg.read_text(encoding="utf-8"))
    texts = list(root.itertext())
    # the hostile name is drawn as text, never as markup
    assert f"{XSS} ({XSS_SIREN})" in texts
    assert not any(el.tag.rsplit("}", 1)[-1] == "script" for el in root.iter())
    assert any(f"1{NBSP}934,56{NBSP}€" in t for t in texts)  # French number in the title
    assert write_static_image(figures["compensation"][1], tmp_path / "x.bmp") is False


AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}
NATIONAL = {"X-Remote-User": "nina", "X-Remote-Groups": "onevision-national"}


@contextmanager
def _app(reports: Path, tmp_path: Path) -> Iterator[int]:
    """The application (`dev`, identity headers) serving `reports` under /rapports/ (issue 20: `onevision rapports`,
    with no identity and no audit, is gone); yields its port."""
    from . import app_fixtures as app_fx

    settings = app_fx.app_settings(tmp_path / "app", tmp_path / "publication", reports=reports)
    (tmp_path / "app").mkdir(exist_ok=True)
    with app_fx.running_app(settings):
        yield settings.port


def _raw_get(port: int, path: str, method: str = "GET", headers: dict[str, str] | None = None
             ) -> tuple[int, bytes, dict[str, str]]:
    """Sends the path as written (urllib would not keep every `..` or `%2e%2e`)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def test_dashboards_served_by_the_application_with_rights(reports: Path, tmp_path: Path) -> None:
    with _app(reports, tmp_path) as port:
        status, body, headers = _raw_get(port, "/rapports/tableau_de_bord_17.html", headers=AGENT_17)
        assert status == 200 and body == (reports / "tableau_de_bord_17.html").read_bytes()
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        status, body, headers = _raw_get(port, f"/rapports/{PLOTLY_JS}", headers=AGENT_17)
        assert headers["content-type"].startswith("text/javascript")
        assert len(body) == (reports / PLOTLY_JS).stat().st_size
        for path in ("/rapports/tableau_de_bord_17.html", "/rapports/tableau_de_bord_national.html"):
            status, body, _ = _raw_get(port, path)  # no identity: nothing of the page
            assert status == 401 and "€".encode() not in body, path
        assert _raw_get(port, "/rapports/tableau_de_bord_91.html", headers=AGENT_17)[0] == 403
        assert _raw_get(port, "/rapports/tableau_de_bord_national.html", headers=AGENT_17)[0] == 403
        assert _raw_get(port, "/rapports/tableau_de_bord_national.html", headers=NATIONAL)[0] == 200
        for method in ("POST", "PUT"):
            assert _raw_get(port, "/rapports/new.html", method, NATIONAL)[0] == 405
        assert not (reports / "new.html").exists()


def test_the_application_lists_no_folder_and_never_leaves_the_reports(
    reports: Path, tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    write_fiche(con, "443210984", "17", reports / "fiches")
    write_index(reports)
    secret = tmp_path / "secret.html"  # outside the report folder
    secret.write_text("<p>hors du dossier</p>", encoding="utf-8")
    (reports / "passwd").symlink_to("/etc/passwd")
    (reports / "etc").symlink_to("/etc", target_is_directory=True)
    (reports / "tableau_de_bord_95.html").symlink_to(secret)  # a dashboard's name, pointing outside
    (reports / "vide").mkdir()
    (reports / ".tableau_de_bord_17.html.tmp").write_text("moitié de page", encoding="utf-8")
    with _app(reports, tmp_path) as port:
        refused = [
            "/rapports/../../../etc/passwd",
            "/rapports/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "/rapports/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
            "/rapports/..%2f..%2f..%2fetc%2fpasswd",
            "/rapports/passwd",
            "/rapports/etc/passwd",
            "/rapports/etc/",
            "/rapports/tableau_de_bord_95.html",
            "/rapports/fiches/",
            "/rapports/fiches/index.html",
            "/rapports/vide/",
            "/rapports/.tableau_de_bord_17.html.tmp",
            "/rapports/index.html",
            "/rapports/",
        ]
        for path in refused:
            status, body, headers = _raw_get(port, path, headers=NATIONAL)
            if status == 307:  # a trailing slash is dropped (Starlette), the same refusal follows
                assert headers["location"].endswith(path.rstrip("/")), path
                status, body, _ = _raw_get(port, path.rstrip("/"), headers=NATIONAL)
            assert status in (403, 404), (path, status)
            assert b"root:" not in body and b"hors du dossier" not in body, path
            assert b"fiche_443210984_17.html" not in body, path  # no listing
        # a dashboard's link to a sheet: the application's sheet, with its rights and audit (issue 20)
        status, body, headers = _raw_get(port, "/rapports/fiches/fiche_443210984_17.html", headers=NATIONAL)
        assert status == 303 and headers["location"] == "/entreprises/443210984/fiche"
        assert b"TRANSPORTS CHARENTAIS" not in body and b"8 510" not in body
