"""Issue 20, point 6: the sign-in runs end to end.

A packaged OpenID Connect provider (`oidc-provider-mock`, started by the test), the application as the relying
party (app/oidc.py: Authlib's `OAuth2Session` and `CodeIDToken`), a headless Chromium going through the real
redirects: sign-in on the provider's form, back to the page asked for, groups from the `groups` claim matched
exactly (a nested path grants nothing), identity headers sent by a client ignored, logout at the provider, and
a session that expires. Without the browser: an ID token that is not for this sign-in (other nonce, other
audience, other issuer, expired, unsigned, signed by an unknown key, wrong `at_hash`) is refused.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests
import sqlalchemy as sa
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.jwk import RSAKey
from websockets.sync.client import connect

from onevision_dagster.app import audit, oidc
from onevision_dagster.app.oidc import OidcSettings, sign
from onevision_dagster.app.store import open_store

from . import app_fixtures as fx
from .cdp import Chromium
from .security_fixtures import published

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")
KEY = b"cle-de-test-du-chainage-de-l-audit-0123456789"


class Tab:
    """One browser tab driven through the DevTools protocol: navigate, read, fill and submit forms."""

    def __init__(self, chromium: Chromium):
        self.ws = connect(chromium._new_target(), max_size=None, open_timeout=30).__enter__()
        self._id = 0
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Network.enable")
        self.send("Network.clearBrowserCookies")  # each test signs in from nothing (cookies ignore the port)

    def send(self, method: str, **params) -> dict:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self._id:
                return message.get("result", {})

    def eval(self, expression: str):
        return self.send("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def settle(self, prefix: str, timeout_s: float = 30) -> str:
        """Waits until the page at an address starting with `prefix` is loaded; returns its text."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                href, state = self.eval("location.href"), self.eval("document.readyState")
            except (TimeoutError, KeyError):
                href, state = "", ""
            if href and href.startswith(prefix) and state == "complete":
                return self.eval("document.body ? document.body.innerText : ''")
            time.sleep(0.2)
        raise AssertionError(f"never reached {prefix}: at {self.eval('location.href')}")

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def cookies(self) -> list[dict]:
        """The browser's cookies (the session cookie is HttpOnly: not readable from the page)."""
        return self.send("Network.getCookies")["cookies"]

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def browser():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium not installed")
    chromium = Chromium(binary)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def provider():
    import os

    previous = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # the provider on plain http, on the loopback, for the test
    try:
        with oidc_provider_mock.run_server_in_thread() as server:
            base = f"http://localhost:{server.server_port}"
            for sub, claims in (("alice", {"preferred_username": "alice", "groups": ["onevision-departement-17"]}),
                                ("bob", {"preferred_username": "bob",
                                         "groups": ["/autre/onevision-national", "onevision-departement-91"]})):
                assert requests.put(f"{base}/users/{quote(sub)}", json=claims, timeout=10).status_code == 204
            yield base
    finally:
        if previous is None:
            os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)


@pytest.fixture(scope="module")
def publication(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published(tmp_path_factory.mktemp("connexion"))


def _settings(tmp_path: Path, publication: Path, provider: str, session_s: int):
    settings = fx.app_settings(tmp_path, publication)
    base = f"http://127.0.0.1:{settings.port}"
    return dataclasses.replace(settings, dev=False, audit_key=KEY, oidc=OidcSettings(
        issuer=provider, client_id="onevision", client_secret="secret-du-client", public_url=base,
        session_s=session_s)), base


def _sign_in(tab: Tab, base: str, provider: str, path: str, who: str) -> str:
    tab.goto(base + path)
    assert "Authorize" in tab.settle(provider + "/oauth2/authorize")  # the provider's own sign-in form
    tab.eval(f"document.querySelector('input[name=sub]').value = '{who}'; "
             "document.querySelector('input[name=sub]').form.submit()")
    return tab.settle(base + path)


def test_sign_in_groups_logout_through_the_browser(tmp_path: Path, publication: Path, provider: str, browser,
                                                   monkeypatch) -> None:
    audit.use_key(KEY)
    settings, base = _settings(tmp_path, publication, provider, session_s=3600)
    try:
        with fx.running_app(settings) as _:
            tab = Tab(browser)
            text = _sign_in(tab, base, provider, "/departements/17/listes/compensations", "alice")
            assert "BOULANGERIE DU PORT" in text and "alice" in text
            assert "Vos groupes ne vous donnent pas accès" in _sign_in_page(tab, base, "/departements/91")
            # a client's own identity headers are ignored: no session, sent to the provider
            forged = requests.get(f"{base}/departements/17/listes/compensations", allow_redirects=False, timeout=10,
                                  headers={"X-Remote-User": "alice", "X-Remote-Groups": "onevision-national"})
            assert forged.status_code == 302 and forged.headers["location"].startswith("/oidc/connexion?suite=")
            # logout: the session ends here and at the provider, the next page asks to sign in again
            tab.goto(base + "/deconnexion")
            tab.settle(provider + "/oauth2/end_session")
            tab.eval("document.querySelector('form button[type=submit]').form.submit()")
            assert "Authorize" in tab.settle(provider + "/oauth2/authorize")
            # bob's groups: department 91, and a nested path that is not the national group
            text = _sign_in(tab, base, provider, "/departements/91/listes/compensations", "bob")
            assert "bob" in text and "Accès refusé" not in text
            assert "Vos groupes ne vous donnent pas accès au département 17" in _sign_in_page(
                tab, base, "/departements/17")
            tab.close()
        engine = open_store(settings.database_url)
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(sa.text(
                "SELECT utilisateur, departements, action, objet, statut_http FROM audit ORDER BY id"))]
        assert ("alice", "17", "CONSULTATION_LISTE", "17/compensations", 200) in rows
        assert ("bob", "91", "CONSULTATION_LISTE", "17", 403) in rows
        assert audit.integrity(engine) == []
    finally:
        audit.use_key(None)


def _sign_in_page(tab: Tab, base: str, path: str) -> str:
    tab.goto(base + path)
    return tab.settle(base + path)


def test_a_session_expires(tmp_path: Path, publication: Path, provider: str, browser) -> None:
    audit.use_key(KEY)
    settings, base = _settings(tmp_path, publication, provider, session_s=3)
    try:
        with fx.running_app(settings) as _:
            tab = Tab(browser)
            assert "BOULANGERIE DU PORT" in _sign_in(tab, base, provider, "/departements/17/listes/compensations",
                                                     "alice")
            # the 3-second session ends: the next page asks the provider again (polled, never a fixed sleep)
            deadline = time.monotonic() + 30
            while True:
                r = requests.get(f"{base}/departements/17/listes/compensations", allow_redirects=False, timeout=10,
                                 cookies={c["name"]: c["value"] for c in tab.cookies()})
                if r.status_code == 302 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert r.status_code == 302 and r.headers["location"].startswith("/oidc/connexion")
            tab.goto(base + "/departements/17/listes/compensations")
            assert "Authorize" in tab.settle(provider + "/oauth2/authorize")
            tab.close()
            # a session cookie signed with another key, or expired, is no session
            expired = sign(settings.signing_key, {"u": "alice", "g": ["onevision-national"], "exp": 1})
            forged = sign(b"une autre cle", {"u": "alice", "g": ["onevision-national"], "exp": 4102444800})
            for cookie in (expired, forged):
                r = requests.get(f"{base}/departements/17", cookies={"onevision_session": cookie},
                                 allow_redirects=False, timeout=10)
                assert r.status_code == 302 and r.headers["location"].startswith("/oidc/connexion")
    finally:
        audit.use_key(None)


# ------------------------------------------------------------------ ID tokens that are not for this sign-in


def _provider_answer(authorize_url: str, who: str) -> dict[str, str]:
    """The provider's answer (code, state) to an authorization request, its form submitted without a browser."""
    r = requests.post(authorize_url, data={"sub": who}, allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    return dict(parse_qsl(urlsplit(r.headers["location"]).query))


def test_the_real_providers_token_for_another_nonce_is_refused(provider: str) -> None:
    rp = oidc.Provider(OidcSettings(issuer=provider, client_id="onevision", client_secret="secret-du-client",
                                    public_url="http://127.0.0.1:9"))
    url, cookie = oidc.login(rp, KEY, "/departements/17")
    assert "code_challenge_method=S256" in url and "nonce=" in url
    # the provider's genuine answer, but the browser's sign-in expected another nonce: refused
    other = sign(KEY, {**oidc.unsign(KEY, cookie), "n": "un-autre-nonce"})
    with pytest.raises(oidc.SignInError, match=r"jeton d'identité invalide \(InvalidClaimError\)"):
        oidc.callback(rp, KEY, _provider_answer(url, "alice"), other)
    # the same steps with the sign-in's own nonce are accepted
    url, cookie = oidc.login(rp, KEY, "/departements/17")
    session, back = oidc.callback(rp, KEY, _provider_answer(url, "alice"), cookie)
    assert back == "/departements/17"
    assert oidc.session_identity(KEY, session) == ("alice", ["onevision-departement-17"])


ISSUER = "https://idp.example.gouv.fr"
SIGNING = RSAKey.generate_key(2048, parameters={"kid": "cle-1"}, private=True)
UNKNOWN = RSAKey.generate_key(2048, parameters={"kid": "cle-2"}, private=True)
ACCESS_TOKEN = "jeton-d-acces"


def _id_token(key: RSAKey = SIGNING, **changes) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "onevision", "sub": "alice", "iat": now, "exp": now + 300,
              "nonce": "le-nonce", "preferred_username": "alice", "groups": ["onevision-departement-17"],
              "at_hash": create_half_hash(ACCESS_TOKEN, "RS256").decode()}
    claims.update(changes)
    return jwt.encode({"alg": "RS256", "kid": key.kid}, {k: v for k, v in claims.items() if v is not None}, key)


def _b64json(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _unsigned() -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "onevision", "sub": "alice", "iat": now, "exp": now + 300, "nonce": "le-nonce"}
    return f"{_b64json({'alg': 'none'})}.{_b64json(claims)}."


CASES = {  # name: (ID token, how the callback answers: None = a session, else the error named in the refusal)
    "valide": (lambda: _id_token(), None),
    "autre-nonce": (lambda: _id_token(nonce="un-autre-nonce"), "InvalidClaimError"),
    "sans-nonce": (lambda: _id_token(nonce=None), "MissingClaimError"),
    "autre-audience": (lambda: _id_token(aud="une-autre-application"), "InvalidClaimError"),
    "autre-audience-liste": (lambda: _id_token(aud=["une-autre-application"]), "InvalidClaimError"),
    "autre-emetteur": (lambda: _id_token(iss="https://autre.example.org"), "InvalidClaimError"),
    "expire": (lambda: _id_token(exp=int(time.time()) - 3600), "ExpiredTokenError"),
    "mauvais-at_hash": (lambda: _id_token(at_hash="AAAAAAAAAAAAAAAAAAAAAA"), "InvalidClaimError"),
    "cle-inconnue": (lambda: _id_token(UNKNOWN), "InvalidKeyIdError"),
    "non-signe": (_unsigned, "UnsupportedAlgorithmError"),
}


@pytest.mark.parametrize("case", CASES)
def test_an_id_token_not_for_this_sign_in_is_refused(monkeypatch, case: str) -> None:
    """The callback fed a token by the token endpoint (stubbed): only the valid one opens a session."""
    make_token, refusal = CASES[case]
    fetched: list[str] = []

    class Answer:
        def __init__(self, body: dict):
            self.body = body

        def raise_for_status(self) -> None:
            pass

        def json(self) -> dict:
            return self.body

    def get(url: str, timeout: float) -> Answer:
        assert timeout
        fetched.append(url)
        if url.endswith("/.well-known/openid-configuration"):
            return Answer({"issuer": ISSUER, "authorization_endpoint": ISSUER + "/autorisation",
                           "token_endpoint": ISSUER + "/jeton", "jwks_uri": ISSUER + "/cles",
                           "id_token_signing_alg_values_supported": ["RS256", "none"]})
        return Answer({"keys": [SIGNING.as_dict(private=False)]})

    token = make_token()
    monkeypatch.setattr(oidc.requests, "get", get)
    monkeypatch.setattr(OAuth2Session, "fetch_token", lambda self, url, **kw: {
        "access_token": ACCESS_TOKEN, "token_type": "Bearer", "id_token": token})
    rp = oidc.Provider(OidcSettings(issuer=ISSUER, client_id="onevision", client_secret="secret-du-client",
                                    public_url="http://127.0.0.1:9"))
    _, cookie = oidc.login(rp, KEY, "/")
    state = oidc.unsign(KEY, cookie)
    cookie, answer = sign(KEY, {**state, "n": "le-nonce"}), {"code": "un-code", "state": state["s"]}
    if refusal is None:
        session, _ = oidc.callback(rp, KEY, answer, cookie)
        assert oidc.session_identity(KEY, session) == ("alice", ["onevision-departement-17"])
        return
    with pytest.raises(oidc.SignInError, match=rf"Connexion refusée : jeton d'identité invalide \({refusal}\)"):
        oidc.callback(rp, KEY, answer, cookie)
    if case == "cle-inconnue":  # the provider's keys were fetched again before refusing (they may have rotated)
        assert fetched.count(ISSUER + "/cles") == 2
