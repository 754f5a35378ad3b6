"""Issue 20, finding 6: server limits, requests without identity counted (not stored, never their query), log
lines with their control characters escaped. The exact attacks, on a real uvicorn server."""

from __future__ import annotations

import dataclasses
import logging
import socket
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from onevision_dagster.app import audit
from onevision_dagster.app.http_guard import escape_controls
from onevision_dagster.app.settings import load_settings
from onevision_dagster.app.store import open_store
from onevision_dagster.errors import OneVisionError

from . import app_fixtures as fx
from .security_fixtures import published

AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}


@pytest.fixture(scope="module")
def publication(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published(tmp_path_factory.mktemp("serveur"))


@pytest.fixture
def settings(tmp_path: Path, publication: Path):
    return dataclasses.replace(fx.app_settings(tmp_path, publication), header_timeout_s=1.0,
                               max_connections_per_client=3, max_body_bytes=65536, max_header_bytes=16384)


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection (None: still open after `seconds`)."""
    sock.settimeout(seconds)
    start = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - start


def test_a_client_that_never_finishes_its_headers_is_cut_off(settings) -> None:
    with fx.running_app(settings) as base:
        slow = _connect(base)
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Remote-User: ali")  # ... and nothing more
        waited = _closed_within(slow, 5)
        assert waited is not None and 0.5 < waited < 3  # header_timeout_s = 1
        # a kept-alive connection gets the same delay for its next request's headers
        kept = _connect(base)
        kept.sendall(b"GET /static/app.css HTTP/1.1\r\nHost: x\r\n\r\n")
        assert kept.recv(65536).startswith(b"HTTP/1.1 ")
        kept.sendall(b"GET / HTTP/1.1\r\nHost")
        assert _closed_within(kept, 5) is not None
        assert requests.get(f"{base}/", headers=AGENT_17).status_code == 200  # the server still answers


def test_connections_per_client_are_limited(settings) -> None:
    with fx.running_app(settings) as base:
        held = [_connect(base) for _ in range(3)]
        for s in held:
            s.sendall(b"GET / HTTP/1.1\r\n")
        time.sleep(0.2)
        extra = _connect(base)
        assert _closed_within(extra, 0.8) is not None  # closed at once: this client already has 3
        for s in held:
            s.close()
        time.sleep(0.2)
        assert requests.get(f"{base}/", headers=AGENT_17).status_code == 200


def test_big_headers_and_bodies_are_refused_unread(settings) -> None:
    with fx.running_app(settings) as base:
        big = _connect(base)
        big.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Remote-User: alice\r\nX-Bourrage: ")
        sent = 0
        try:
            for _ in range(50 * 16):  # up to 50 MB of one header, 64 KiB at a time
                big.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            answer = big.recv(65536)
        except ConnectionResetError:
            pass
        assert sent < 50 * 16 * 65536  # the server stopped reading long before 50 MB
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400")
        # a body announced at 300 MB is refused before a byte is read; a body of unannounced length too
        post = _connect(base)
        post.sendall(b"POST /departements/17/listes/compensations/resultats HTTP/1.1\r\nHost: x\r\n"
                     b"X-Remote-User: alice\r\nX-Remote-Groups: onevision-departement-17\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 314572800\r\n\r\n")
        assert post.recv(65536).startswith(b"HTTP/1.1 413")
        chunked = requests.post(f"{base}/departements/17/listes/compensations/resultats", headers=AGENT_17,
                                data=iter([b"siren=1"]))
        assert chunked.status_code == 411


def test_requests_without_identity_are_counted_not_stored(settings) -> None:
    with fx.running_app(settings) as base:
        engine = open_store(settings.database_url)
        for i in range(30):
            assert requests.get(f"{base}/recherche", params={"q": f"secret fiscal {i}"}).status_code == 401
        for _ in range(5):
            assert requests.get(f"{base}/entreprises/{fx.BAKERY}").status_code == 401
        assert requests.get(f"{base}/recherche", params={"q": "port"}, headers=AGENT_17).status_code == 200
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(sa.text("SELECT utilisateur, action, objet FROM audit"))]
        assert rows == [("alice", "RECHERCHE", "port")]  # nothing stored one by one
        assert audit.flush_anonymous(engine) == 35  # written at the end of the window or when the server stops
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(sa.text(
                "SELECT utilisateur, action, objet, statut_http FROM audit WHERE action = 'REQUETES_ANONYMES' "
                "ORDER BY id"))]
        assert [(r[0], r[1], r[3]) for r in rows] == [(None, "REQUETES_ANONYMES", 401)] * 2
        assert rows[0][2].startswith("5 requête(s) « consultation d'une entreprise » sans identité depuis le ")
        assert rows[1][2].startswith("30 requête(s) « recherche » sans identité depuis le ")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM audit WHERE objet LIKE '%secret%'")).scalar() == 0


def test_a_line_feed_in_the_url_does_not_forge_a_log_line(settings, caplog: pytest.LogCaptureFixture) -> None:
    with fx.running_app(settings) as base, caplog.at_level(logging.INFO, logger="onevision.app"):
        forged = "/entreprises/x%0A2026-12-06 10:00:00,000 INFO onevision.app GET /suivi 200 admin 1 ms"
        requests.get(base + forged, headers=AGENT_17)
        time.sleep(0.1)
    lines = [r.getMessage() for r in caplog.records if r.name == "onevision.app"]
    assert any(line.startswith("GET /entreprises/x\\x0a2026-12-06 10:00:00,000 INFO") for line in lines)
    assert not any("\n" in line for line in lines)
    assert escape_controls("a\r\nb\x1b[31m\x85") == "a\\x0d\\x0ab\\x1b[31m\\x85"


def test_server_limits_come_from_the_environment() -> None:
    s = load_settings({"ONEVISION_APP_DELAI_ENTETES": "2.5", "ONEVISION_APP_MAX_OCTETS_ENTETES": "8192",
                       "ONEVISION_APP_MAX_OCTETS_CORPS": "1024", "ONEVISION_APP_MAX_CONNEXIONS_CLIENT": "8",
                       "ONEVISION_APP_MAX_CONNEXIONS": "100"})
    assert (s.header_timeout_s, s.max_header_bytes, s.max_body_bytes, s.max_connections_per_client,
            s.max_connections) == (2.5, 8192, 1024, 8, 100)
    with pytest.raises(OneVisionError, match="ONEVISION_APP_MAX_OCTETS_CORPS doit être un nombre positif"):
        load_settings({"ONEVISION_APP_MAX_OCTETS_CORPS": "-1"})
