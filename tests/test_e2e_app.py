"""End to end through a real nginx (Debian's package), HTTP basic authentication standing in for the SSO.

nginx authenticates the agent, maps the user to a group (`map $remote_user`), and passes X-Remote-User,
X-Remote-Groups and the proxy secret to `onevision app`, which only trusts requests carrying that secret.
Scenario of issue 12: an agent of 17 finds a company by a misspelt-case name, opens its page, records an
outcome; an agent of 91 gets 403 on it; the audit export lists all of it. The same pages are then opened
in headless Chromium: rendered, no console error, no request outside the proxy's origin.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import requests

from onevision_dagster.app.publication import publish

from . import app_fixtures as fx
from .cdp import Chromium
from .conftest import require

pytestmark = pytest.mark.e2e

SECRET = "secret-du-proxy-pour-le-test-e2e"
USERS = {"agent17": ("mdp-agent-17", "onevision-departement-17"),
         "agent91": ("mdp-agent-91", "onevision-departement-91")}

NGINX_CONF = """
worker_processes 1;
daemon off;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    # no query string in the log: a search can hold a company's name
    log_format onevision '$remote_addr $remote_user [$time_local] "$request_method $uri" $status';
    access_log {root}/access.log onevision;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    map $remote_user $onevision_groups {{
        default "";
{groups}
    }}
    server {{
        listen 127.0.0.1:{port};
        auth_basic "One Vision";
        auth_basic_user_file {root}/htpasswd;
        location / {{
            proxy_pass http://127.0.0.1:{app_port};
            # set by the proxy, whatever the client sent under the same names
            proxy_set_header X-Remote-User $remote_user;
            proxy_set_header X-Remote-Groups $onevision_groups;
            proxy_set_header X-OneVision-Proxy-Secret "{secret}";
            proxy_set_header Authorization "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def _binary(name: str, package: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    require(path is not None, f"{name} not installed (scripts/test.sh installs Debian's {package} when run as root)")
    return path


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return  # answering, even 401
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclass
class Stack:
    proxy: str
    app: str
    env: dict[str, str]
    root: Path


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    nginx = _binary("nginx", "nginx")
    root = Path(tempfile.mkdtemp(prefix="onevision-e2e-app-"))
    os.chmod(root, 0o755)
    for sub in ("tmp", "data"):
        (root / sub).mkdir()
    warehouse = fx.build_warehouse(root / "data" / "w.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        publish(con, root / "data" / "publication")
    htpasswd = []
    for user, (password, _) in USERS.items():
        hashed = subprocess.run(["openssl", "passwd", "-apr1", password], capture_output=True, text=True,
                                check=True).stdout.strip()
        htpasswd.append(f"{user}:{hashed}")
    (root / "htpasswd").write_text("\n".join(htpasswd) + "\n")
    app_port, proxy_port = fx.free_port(), fx.free_port()
    env = {**os.environ, "ONEVISION_WAREHOUSE": str(warehouse), "ONEVISION_PROXY_SECRET": SECRET,
           "ONEVISION_APP_SECRET": "cle-csrf-du-test", "ONEVISION_APP_PORT": str(app_port),
           "ONEVISION_AUDIT_CLE": "cle-du-chainage-de-l-audit-du-test-e2e"}
    app = subprocess.Popen([str(Path(sys.executable).parent / "onevision"), "app"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    groups = "\n".join(f'        {u} "{g}";' for u, (_, g) in USERS.items())
    conf = NGINX_CONF.format(root=root, port=proxy_port, app_port=app_port, secret=SECRET, groups=groups,
                             user="user root;" if os.geteuid() == 0 else "")
    (root / "nginx.conf").write_text(conf)
    subprocess.run([nginx, "-t", "-p", str(root), "-c", str(root / "nginx.conf")], check=True, capture_output=True)
    proxy = subprocess.Popen([nginx, "-p", str(root), "-c", str(root / "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(f"http://127.0.0.1:{app_port}/")
        _wait(f"http://127.0.0.1:{proxy_port}/")
        yield Stack(f"http://127.0.0.1:{proxy_port}", f"http://127.0.0.1:{app_port}", env, root)
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
        app.terminate()
        out, _ = app.communicate(timeout=30)
        (root / "app.log").write_text(out or "")
        shutil.rmtree(root, ignore_errors=True)


def _session(user: str) -> requests.Session:
    s = requests.Session()
    s.auth = (user, USERS[user][0])
    return s


def _audit_rows(stack: Stack, tmp_path: Path) -> list[list[str]]:
    out = subprocess.run([str(Path(sys.executable).parent / "onevision"), "audit", "--out", str(tmp_path / "a.csv")],
                         env=stack.env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return list(csv.reader(io.StringIO((tmp_path / "a.csv").read_text("utf-8-sig")), delimiter=";"))[1:]


def test_scenario_through_nginx(stack: Stack, tmp_path: Path) -> None:
    assert requests.get(f"{stack.proxy}/recherche?q=port").status_code == 401  # nginx: no credentials
    alice = _session("agent17")
    found = alice.get(f"{stack.proxy}/recherche", params={"q": "boulangerie DU Port"})
    assert found.status_code == 200 and f"/entreprises/{fx.BAKERY}" in found.text
    page = alice.get(f"{stack.proxy}/entreprises/{fx.BAKERY}")
    assert page.status_code == 200 and "BOULANGERIE DU PORT" in page.text
    worklist = alice.get(f"{stack.proxy}/departements/17/listes/compensations")
    token = re.search(r'name="jeton" value="([0-9a-f]{64})"', worklist.text).group(1)
    saved = alice.post(f"{stack.proxy}/departements/17/listes/compensations/resultats",
                       data={"jeton": token, "siren": fx.BAKERY, "resultat": "FAIT", "motif": "",
                             "montant": "800,00"})
    assert saved.status_code == 200 and saved.url.endswith("/departements/17/listes/compensations")
    assert "800,00\u00a0€ obtenus — agent17" in saved.text
    bob = _session("agent91")
    assert bob.get(f"{stack.proxy}/entreprises/{fx.BAKERY}").status_code == 403
    # headers a client sends are replaced by nginx's: no way to claim another identity through the proxy
    forged = bob.get(f"{stack.proxy}/entreprises/{fx.BAKERY}",
                     headers={"X-Remote-Groups": "onevision-national", "X-Remote-User": "agent17"})
    assert forged.status_code == 403
    # around the proxy, straight to the application: no secret, no trust
    assert requests.get(f"{stack.app}/entreprises/{fx.BAKERY}",
                        headers={"X-Remote-User": "agent17", "X-Remote-Groups": "onevision-national"}
                        ).status_code == 401
    rows = [(r[1], r[2], r[3], r[4], r[5]) for r in _audit_rows(stack, tmp_path)]
    # requests without identity (the fixture's probe, the request around the proxy) are counted, not stored one
    # by one: their row is written at the end of the minute or when the server stops (issue 20)
    assert rows == [
        ("agent17", "17", "RECHERCHE", "boulangerie DU Port", "200"),
        ("agent17", "17", "CONSULTATION_ENTREPRISE", fx.BAKERY, "200"),
        ("agent17", "17", "CONSULTATION_LISTE", "17/compensations", "200"),
        ("agent17", "17", "RESULTAT", f"17/compensations/{fx.BAKERY}", "303"),
        ("agent17", "17", "CONSULTATION_LISTE", "17/compensations", "200"),
        ("agent91", "91", "CONSULTATION_ENTREPRISE", fx.BAKERY, "403"),
        ("agent91", "91", "CONSULTATION_ENTREPRISE", fx.BAKERY, "403"),
    ]
    access_log = (stack.root / "access.log").read_text()
    assert "/recherche" in access_log and "boulangerie" not in access_log.lower()


def _basic(user: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{USERS[user][0]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_pages_in_headless_chromium(stack: Stack) -> None:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    require(binary is not None, "Chromium not installed (scripts/test.sh installs Debian's chromium)")
    browser = Chromium(binary)
    try:
        pages = {
            "recherche": (f"{stack.proxy}/recherche?q=boulangerie+DU+Port", "agent17", 200, "BOULANGERIE DU PORT"),
            "entreprise": (f"{stack.proxy}/entreprises/{fx.TRANSPORTS}", "agent17", 200,
                           "Compensable (art. L. 257 B LPF) : 3 000,00 €"),
            "liste": (f"{stack.proxy}/departements/17/listes/compensations", "agent17", 200,
                      "Compensations à examiner"),
            "procedures": (f"{stack.proxy}/departements/17/listes/procedures", "agent17", 200, "Reste à déclarer"),
            "refus": (f"{stack.proxy}/entreprises/{fx.BAKERY}", "agent91", 403, "Accès refusé"),
        }
        for name, (url, user, status, expected) in pages.items():
            visit = browser.visit(url, headers=_basic(user))
            text = visit.text.replace("\u00a0", " ").replace("\u202f", " ")
            assert visit.status == status, name
            assert expected in text, (name, text[:500])
            assert visit.errors == [], (name, visit.errors)
            outside = [u for u in visit.requests if not u.startswith(stack.proxy + "/") and not u.startswith("data:")]
            assert outside == [], (name, outside)
            if name == "entreprise":
                assert visit.svg_charts >= 1  # plotly.js, served by the application, drew the chart
                assert f"{stack.proxy}/static/plotly.min.js" in visit.requests
    finally:
        browser.close()
