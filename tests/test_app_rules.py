"""Rules 5 and 6 of issue 12 through a real uvicorn server: identity, rights, proxy secret, CSRF, audit.

Every request below is answered by the application as deployed (Starlette under uvicorn, on the loopback),
and every answer — 200, 400, 401, 403 — must leave exactly its audit row.
"""

from __future__ import annotations

import html
import logging
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import requests
import sqlalchemy as sa

from onevision_dagster.app import audit
from onevision_dagster.app.publication import publish
from onevision_dagster.app.store import open_store
from onevision_dagster.errors import OneVisionError

from . import app_fixtures as fx

AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}
AGENT_91 = {"X-Remote-User": "bob", "X-Remote-Groups": "onevision-departement-91, autre-groupe"}
NATIONAL = {"X-Remote-User": "nina", "X-Remote-Groups": "onevision-national"}
NO_RIGHTS = {"X-Remote-User": "oscar", "X-Remote-Groups": "onevision-operateurs"}


@pytest.fixture(scope="module")
def publication(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("regles")
    warehouse = fx.build_warehouse(root / "w.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        publish(con, root / "publication")
    return root / "publication"


@pytest.fixture
def app(tmp_path: Path, publication: Path):
    settings = fx.app_settings(tmp_path, publication)
    with fx.running_app(settings) as base:
        yield base, open_store(settings.database_url)


def _audit(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT utilisateur, departements, action, objet, statut_http FROM audit ORDER BY id"))]


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).replace("\u00a0", " ")


def test_no_identity_is_401_and_recorded(app) -> None:
    base, engine = app
    assert requests.get(f"{base}/entreprises/{fx.BAKERY}").status_code == 401
    assert requests.get(f"{base}/recherche", params={"q": "boulangerie"}).status_code == 401
    assert requests.get(f"{base}/departements/17/listes/compensations").status_code == 401
    blank = {"X-Remote-User": "", "X-Remote-Groups": "onevision-national"}
    assert requests.get(f"{base}/entreprises/{fx.BAKERY}", headers=blank).status_code == 401
    assert _audit(engine) == []  # counted, not stored one by one, never with their query (issue 20)
    assert audit.flush_anonymous(engine) == 4
    assert [(r[2], r[3].split(" sans identité")[0], r[4]) for r in _audit(engine)] == [
        ("REQUETES_ANONYMES", "2 requête(s) « consultation d'une entreprise »", 401),
        ("REQUETES_ANONYMES", "1 requête(s) « consultation d'une liste de travail »", 401),
        ("REQUETES_ANONYMES", "1 requête(s) « recherche »", 401),
    ]


def test_company_without_position_in_the_users_departments_is_403(app) -> None:
    base, engine = app
    r = requests.get(f"{base}/entreprises/{fx.SOLAIRE}", headers=AGENT_17)
    assert r.status_code == 403
    assert "SOLAIRE" not in r.text and "1 375" not in _text(r.text)  # nothing of the company leaks
    # a SIREN nobody holds gets the same answer: a 404 would tell that SOLAIRE exists elsewhere
    unknown = requests.get(f"{base}/entreprises/356000000", headers=AGENT_17)
    assert unknown.status_code == 403 and unknown.text.replace("356000000", fx.SOLAIRE) == r.text
    assert requests.get(f"{base}/entreprises/356000000", headers=NATIONAL).status_code == 404
    assert requests.get(f"{base}/entreprises/{fx.BAKERY}", headers=NO_RIGHTS).status_code == 403
    assert requests.get(f"{base}/entreprises/12345", headers=AGENT_17).status_code == 400
    assert _audit(engine) == [
        ("alice", "17", "CONSULTATION_ENTREPRISE", fx.SOLAIRE, 403),
        ("alice", "17", "CONSULTATION_ENTREPRISE", "356000000", 403),
        ("nina", "national", "CONSULTATION_ENTREPRISE", "356000000", 404),
        ("oscar", None, "CONSULTATION_ENTREPRISE", fx.BAKERY, 403),
        ("alice", "17", "CONSULTATION_ENTREPRISE", "12345", 400),
    ]


def test_company_positioned_in_a_users_department_shows_national_figures(app) -> None:
    base, engine = app
    r = requests.get(f"{base}/entreprises/{fx.TRANSPORTS}", headers=AGENT_91)
    assert r.status_code == 200
    text = _text(r.text)
    assert "TRANSPORTS CHARENTAIS" in text
    assert "9 010,30 €" in text  # national debts: 8 510,30 in 17 + 500,00 in 91
    assert "Département 17" in text and "Département 91" in text
    assert "Compensable (art. L. 257 B LPF) : 3 000,00 €" in text  # offsettable in 17, hence nationally
    assert "impots_pro_17_20261127.csv" in text and "spl_91_20261127.csv" in text  # every line, with its file
    assert "Hors L. 257 B" in text and "Compensable (art. L. 257 B LPF)" in text
    assert _audit(engine) == [("bob", "91", "CONSULTATION_ENTREPRISE", fx.TRANSPORTS, 200)]


def test_offsetting_blocks_are_explained(app) -> None:
    base, _ = app
    ecuries = _text(requests.get(f"{base}/entreprises/{fx.ECURIES}", headers=AGENT_17).text)
    assert "Compensation bloquée : procédure collective ouverte (art. L. 622-7 C. com.)" in ecuries
    assert "redressement judiciaire depuis le 12/06/2026" in ecuries and "L. 622-7" in ecuries
    oysters = _text(requests.get(f"{base}/entreprises/{fx.OYSTERS}", headers=AGENT_17).text)
    assert ("Compensation bloquée : créance déclarée au passif d'une procédure que le registre ne montre pas"
            in oysters)
    assert "3 000,00 € d'impôts professionnels sont déclarés au passif" in oysters
    garage = _text(requests.get(f"{base}/entreprises/{fx.GARAGE}", headers=AGENT_17).text)
    assert "Rien à compenser au titre de l'art. L. 257 B" in garage
    assert "Échue, suspendue : sursis de paiement (art. L. 277 LPF)" in garage
    assert "Échue, suspendue : titre contesté en justice (art. L. 1617-5 CGCT)" in garage
    assert "Compensation bloquée" not in garage  # nothing to offset in 17: no credit there, its tax is suspended
    assert "Admise en non-valeur" in garage
    assert "jamais compensé" not in ecuries + oysters + garage


def test_search_results_are_filtered_and_recorded(app) -> None:
    base, engine = app
    r17 = requests.get(f"{base}/recherche", params={"q": "la rochelle"}, headers=AGENT_17)
    rnat = requests.get(f"{base}/recherche", params={"q": "la rochelle"}, headers=NATIONAL)
    assert r17.status_code == rnat.status_code == 200
    assert fx.BAKERY in r17.text and fx.SHIPPING not in r17.text and "ATLANTIC" not in r17.text
    assert "1 entreprise" in _text(r17.text)
    assert fx.SHIPPING in rnat.text and "2 entreprises" in _text(rnat.text)
    invalid = requests.get(f"{base}/recherche", params={"q": "812345677"}, headers=AGENT_17)
    assert invalid.status_code == 400 and "n'est pas un SIREN valide" in _text(invalid.text)
    assert requests.get(f"{base}/recherche", params={"q": "x"}, headers=NO_RIGHTS).status_code == 403
    assert _audit(engine) == [
        ("alice", "17", "RECHERCHE", "la rochelle", 200),
        ("nina", "national", "RECHERCHE", "la rochelle", 200),
        ("alice", "17", "RECHERCHE", "812345677", 400),
        ("oscar", None, "RECHERCHE", "x", 403),
    ]


def test_worklists_of_another_department_are_403(app) -> None:
    base, engine = app
    assert requests.get(f"{base}/departements/91/listes/compensations", headers=AGENT_17).status_code == 403
    assert requests.get(f"{base}/departements/91", headers=AGENT_17).status_code == 403
    assert requests.get(f"{base}/departements/91/listes/compensations/export.csv",
                        headers=AGENT_17).status_code == 403
    assert requests.get(f"{base}/departements/17/listes/inconnue", headers=AGENT_17).status_code == 400
    assert requests.get(f"{base}/departements/99/listes/compensations", headers=NATIONAL).status_code == 400
    assert requests.get(f"{base}/departements/91/listes/compensations", headers=NATIONAL).status_code == 200
    assert _audit(engine) == [
        ("alice", "17", "CONSULTATION_LISTE", "91/compensations", 403),
        ("alice", "17", "CONSULTATION_LISTE", "91", 403),
        ("alice", "17", "EXPORT_LISTE", "91/compensations", 403),
        ("alice", "17", "CONSULTATION_LISTE", "17/inconnue", 400),
        ("nina", "national", "CONSULTATION_LISTE", "99/compensations", 400),
        ("nina", "national", "CONSULTATION_LISTE", "91/compensations", 200),
    ]


def _form_token(html: str) -> str:
    return re.search(r'name="jeton" value="([0-9a-f]{64})"', html).group(1)


def _outcomes(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT utilisateur, departement, liste, siren, resultat, motif, montant_obtenu_centimes FROM resultats "
            "ORDER BY id"))]


def test_outcome_form_needs_its_csrf_token(app) -> None:
    base, engine = app
    url = f"{base}/departements/17/listes/compensations"
    alice = requests.Session()
    alice.headers.update(AGENT_17)
    page = alice.get(url)
    assert page.status_code == 200 and "onevision_csrf" in alice.cookies
    token = _form_token(page.text)
    form = {"siren": fx.BAKERY, "resultat": "FAIT", "motif": "", "montant": "800,00"}
    # no token; a token of another user; the token without its cookie; a cross-site post: all refused
    assert alice.post(url + "/resultats", data=form, allow_redirects=False).status_code == 400
    bob_token = re.search(r'value="([0-9a-f]{64})"', requests.get(
        f"{base}/departements/17/listes/compensations", headers={**NATIONAL}).text).group(1)
    assert alice.post(url + "/resultats", data={**form, "jeton": bob_token}, allow_redirects=False).status_code == 400
    assert requests.post(url + "/resultats", data={**form, "jeton": token}, headers=AGENT_17,
                         allow_redirects=False).status_code == 400
    assert alice.post(url + "/resultats", data={**form, "jeton": token}, headers={"Sec-Fetch-Site": "cross-site"},
                      allow_redirects=False).status_code == 400
    assert _outcomes(engine) == []
    ok = alice.post(url + "/resultats", data={**form, "jeton": token}, allow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].startswith("/departements/17/listes/compensations")
    assert [o[:6] for o in _outcomes(engine)] == [("alice", "17", "compensations", fx.BAKERY, "FAIT", None)]
    assert _outcomes(engine)[0][6] == 80000  # cents
    after = _text(alice.get(url).text)
    assert "Fait : 800,00 € obtenus — alice" in after
    rows = [r for r in _audit(engine) if r[2] == "RESULTAT"]
    assert [r[4] for r in rows] == [400, 400, 400, 400, 303]
    assert rows[-1][3] == f"17/compensations/{fx.BAKERY}"


def test_outcome_values_are_checked(app) -> None:
    base, engine = app
    url = f"{base}/departements/17/listes/compensations"
    s = requests.Session()
    s.headers.update(AGENT_17)
    token = _form_token(s.get(url).text)

    def post(**fields: str) -> requests.Response:
        return s.post(url + "/resultats", data={"siren": fx.BAKERY, "jeton": token, **fields}, allow_redirects=False)

    assert post(resultat="NON_PERTINENT", motif="", montant="").status_code == 400  # a reason is required
    assert post(resultat="NON_PERTINENT", motif="INVENTE", montant="").status_code == 400
    assert post(resultat="FAIT", motif="", montant="12,345").status_code == 400  # three decimals
    assert post(resultat="FAIT", motif="", montant="-5").status_code == 400
    assert post(resultat="ACCEPTE", motif="", montant="").status_code == 400
    assert post(resultat="FAIT", motif="", montant="").status_code == 303  # done, no amount (yet)
    # an outcome for a company without a position in the list's department is refused
    assert s.post(url + "/resultats", data={"siren": fx.SOLAIRE, "jeton": token, "resultat": "FAIT"},
                  allow_redirects=False).status_code == 403
    assert post(resultat="NON_PERTINENT", motif="DEJA_TRAITE", montant="").status_code == 303
    assert [(o[4], o[5]) for o in _outcomes(engine)] == [("FAIT", None), ("NON_PERTINENT", "DEJA_TRAITE")]
    assert "Non pertinent (Déjà traité par ailleurs)" in _text(s.get(url).text)  # the latest one counts


def test_proxy_secret_is_required_beyond_loopback(tmp_path: Path, publication: Path) -> None:
    with pytest.raises(OneVisionError, match="ONEVISION_PROXY_SECRET"):
        fx.app_settings(tmp_path, publication, host="0.0.0.0").check_listen()
    out = subprocess.run([str(Path(sys.executable).parent / "onevision"), "app", "--host", "0.0.0.0"],
                         capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "ONEVISION_WAREHOUSE": str(tmp_path / "w.duckdb")})
    assert out.returncode == 1 and "Refus de démarrer sur 0.0.0.0" in out.stderr and "Traceback" not in out.stderr
    secret = "s3cret-partage-avec-le-proxy"
    settings = fx.app_settings(tmp_path, publication, host="0.0.0.0", proxy_secret=secret)
    with fx.running_app(settings) as base:
        base = base.replace("0.0.0.0", "127.0.0.1")
        engine = open_store(settings.database_url)
        forged = requests.get(f"{base}/entreprises/{fx.BAKERY}", headers=NATIONAL)
        assert forged.status_code == 401 and "BOULANGERIE" not in forged.text
        wrong = {**NATIONAL, "X-OneVision-Proxy-Secret": "pas-le-bon-secret"}
        assert requests.get(f"{base}/recherche", params={"q": "port"}, headers=wrong).status_code == 401
        assert requests.get(f"{base}/static/app.css").status_code == 401
        good = {**NATIONAL, "X-OneVision-Proxy-Secret": secret}
        assert requests.get(f"{base}/entreprises/{fx.BAKERY}", headers=good).status_code == 200
        assert _audit(engine) == [("nina", "national", "CONSULTATION_ENTREPRISE", fx.BAKERY, 200)]
        assert audit.flush_anonymous(engine) == 3  # the forged user is not believed: counted without identity


def test_security_headers_and_escaping(app) -> None:
    base, _ = app
    r = requests.get(f"{base}/recherche", params={"q": '<script>alert("x")</script>'}, headers=AGENT_17)
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "default-src 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    assert "server" not in {k.lower() for k in r.headers}
    assert "<script>alert" not in r.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in r.text
    for url in ("/", "/recherche?q=port", f"/entreprises/{fx.TRANSPORTS}", "/departements/17",
                "/departements/17/listes/procedures", "/suivi"):
        html = requests.get(base + url, headers=AGENT_17).text
        assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", html) == [], url  # no inline script
        assert "<style" not in html and " style=" not in html, url  # no inline style
        assert "http://" not in html.replace(base, "") and "https://" not in html, url  # nothing external
    plotly = requests.get(f"{base}/static/plotly.min.js", headers=AGENT_17)
    assert plotly.status_code == 200 and plotly.content.startswith(b"/**\n* plotly.js")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()}")


def test_log_has_the_path_but_never_the_query(app) -> None:
    base, _ = app
    collect = _Collect()
    root = logging.getLogger()
    previous = root.level, logging.getLogger("onevision.app").level
    root.addHandler(collect)
    root.setLevel(logging.DEBUG)
    logging.getLogger("onevision.app").setLevel(logging.INFO)
    try:
        requests.get(f"{base}/recherche", params={"q": "BOULANGERIE DU PORT"}, headers=AGENT_17)
        requests.get(f"{base}/entreprises/{fx.BAKERY}", headers=AGENT_17)
    finally:
        root.removeHandler(collect)
        root.setLevel(previous[0])
        logging.getLogger("onevision.app").setLevel(previous[1])
    ours = [line for line in collect.lines if line.startswith("onevision.app ")]
    assert any(line.startswith("onevision.app GET /recherche 200 alice") for line in ours), collect.lines
    assert any(line.startswith(f"onevision.app GET /entreprises/{fx.BAKERY} 200 alice") for line in ours)
    server_side = [line for line in collect.lines if not line.startswith("urllib3")]  # the client logs its URL
    assert not any("BOULANGERIE" in line or "q=" in line for line in server_side), server_side


def test_nothing_published_yet_is_503_and_recorded(tmp_path: Path) -> None:
    settings = fx.app_settings(tmp_path, tmp_path / "rien")
    with fx.running_app(settings) as base:
        engine = open_store(settings.database_url)
        r = requests.get(f"{base}/recherche", params={"q": "port"}, headers=AGENT_17)
        assert r.status_code == 503 and "onevision run" in r.text
        assert requests.get(f"{base}/", headers=AGENT_17).status_code == 200  # the home page still answers
        assert _audit(engine) == [("alice", "17", "RECHERCHE", "port", 503)]
