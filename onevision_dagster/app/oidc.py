"""Sign-in by OpenID Connect in the application itself (issue 20, point 6), when no proxy does it.

The application is then the relying party, and the protocol is Authlib's (the packaged, maintained library pinned
in pyproject.toml), not code of ours: `authlib.integrations.requests_client.OAuth2Session` builds the authorization
URL (authorization code flow, PKCE S256, `state`, `nonce`) and makes the token request;
`authlib.oidc.core.CodeIDToken` validates the ID token's claims (issuer, audience, expiry, nonce, `azp`, `at_hash`
when present) once its signature is checked with `joserfc` (the JOSE library Authlib uses and recommends) against
the provider's published keys, as Authlib's own OpenID client does
(`authlib/integrations/base_client/sync_openid.py`). What stays here: reading the provider's discovery document and
keys (cached; the keys fetched again once when a token does not verify with them, the provider may have rotated its
keys), the signed cookies, and the groups. The agent's groups come from one claim (`ONEVISION_OIDC_CLAIM_GROUPES`,
default `groups`), each value matched exactly by `identity.departements_of` (a group path such as
`/parent/onevision-national` is not `onevision-national`). The session is a cookie signed with the application's
key (`ONEVISION_APP_SECRET`): user, groups and an expiry (`ONEVISION_OIDC_SESSION_MINUTES`); past it, the next
request signs in again. `/deconnexion` ends the session here and at the provider. Every HTTP call has a timeout; no
secret, code or token is logged (Authlib's client logs none either).

`HttpGuard` uses this module: in this mode identity headers sent by the client are always dropped, and the
guard puts the session's user and groups in their place.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from onevision_dagster.errors import OneVisionError

LOGIN = "/oidc/connexion"
CALLBACK = "/oidc/callback"
LOGOUT = "/deconnexion"
SESSION_COOKIE = "onevision_session"
STATE_COOKIE = "onevision_oidc_etat"
STATE_TTL_S = 600
HTTP_TIMEOUT_S = 10  # every call to the provider (discovery, keys, token)
LEEWAY_S = 60  # clock difference tolerated on the ID token's times


class SignInError(Exception):
    """A sign-in that cannot be completed (French message for the agent)."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    public_url: str  # the application's address as the browser sees it, e.g. https://onevision.example.gouv.fr
    groups_claim: str = "groups"
    session_s: int = 8 * 3600
    scope: str = "openid profile"

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + CALLBACK


VARIABLES = {
    "ONEVISION_OIDC_EMETTEUR": "émetteur OpenID Connect (son document de découverte est lu) ; active la connexion "
                               "par l'application elle-même",
    "ONEVISION_OIDC_CLIENT_ID": "identifiant de l'application auprès du fournisseur d'identité",
    "ONEVISION_OIDC_CLIENT_SECRET": "secret de l'application auprès du fournisseur d'identité",
    "ONEVISION_OIDC_URL_PUBLIQUE": "adresse publique de l'application (retour de connexion : <adresse>/oidc/callback)",
    "ONEVISION_OIDC_CLAIM_GROUPES": "revendication portant les groupes de l'agent (défaut groups)",
    "ONEVISION_OIDC_SESSION_MINUTES": "durée d'une session, en minutes (défaut 480)",
}


def from_env(env: Mapping[str, str] | None = None) -> OidcSettings | None:
    env = os.environ if env is None else env
    values = {name: env.get(name, "").strip() for name in VARIABLES}
    if not values["ONEVISION_OIDC_EMETTEUR"]:
        return None
    for required in ("ONEVISION_OIDC_CLIENT_ID", "ONEVISION_OIDC_CLIENT_SECRET", "ONEVISION_OIDC_URL_PUBLIQUE"):
        if not values[required]:
            raise OneVisionError(f"{required} est obligatoire avec ONEVISION_OIDC_EMETTEUR.")
    minutes = values["ONEVISION_OIDC_SESSION_MINUTES"] or "480"
    if not minutes.isdigit() or int(minutes) < 1:
        raise OneVisionError(f"ONEVISION_OIDC_SESSION_MINUTES est un nombre de minutes, pas « {minutes} ».")
    return OidcSettings(values["ONEVISION_OIDC_EMETTEUR"].rstrip("/"), values["ONEVISION_OIDC_CLIENT_ID"],
                        values["ONEVISION_OIDC_CLIENT_SECRET"], values["ONEVISION_OIDC_URL_PUBLIQUE"],
                        values["ONEVISION_OIDC_CLAIM_GROUPES"] or "groups", int(minutes) * 60)


# ------------------------------------------------------------------ signed cookies


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(key: bytes, payload: dict) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return body + "." + _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def unsign(key: bytes, value: str | None) -> dict | None:
    """The payload of a cookie signed with `key` and not expired (`exp`), else None."""
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    if not hmac.compare_digest(mac, _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int | float) or payload["exp"] < time.time():
        return None
    return payload


# ------------------------------------------------------------------ the provider


class Provider:
    """The provider's discovery document and keys, fetched once (keys again when a token's key is unknown)."""

    def __init__(self, settings: OidcSettings):
        self.settings = settings
        self._lock = threading.Lock()
        self._metadata: dict | None = None
        self._keys: KeySet | None = None

    def metadata(self) -> dict:
        with self._lock:
            if self._metadata is None:
                url = self.settings.issuer + "/.well-known/openid-configuration"
                try:
                    response = requests.get(url, timeout=HTTP_TIMEOUT_S)
                    response.raise_for_status()
                except requests.RequestException as e:
                    raise SignInError(f"Fournisseur d'identité injoignable ({e.__class__.__name__}).") from None
                metadata = response.json()
                if metadata.get("issuer", "").rstrip("/") != self.settings.issuer:
                    raise SignInError("Le document de découverte du fournisseur d'identité annonce un autre émetteur.")
                self._metadata = metadata
            return self._metadata

    def keys(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            try:
                response = requests.get(self.metadata()["jwks_uri"], timeout=HTTP_TIMEOUT_S)
                response.raise_for_status()
            except requests.RequestException as e:
                raise SignInError(f"Fournisseur d'identité injoignable ({e.__class__.__name__}).") from None
            self._keys = KeySet.import_key_set(response.json())
        return self._keys

    def client(self) -> OAuth2Session:
        """Authlib's OAuth 2.0 / OpenID Connect client for this application (one per sign-in step)."""
        settings = self.settings
        return OAuth2Session(client_id=settings.client_id, client_secret=settings.client_secret,
                             scope=settings.scope, redirect_uri=settings.redirect_uri,
                             code_challenge_method="S256", default_timeout=HTTP_TIMEOUT_S)


def login(provider: Provider, key: bytes, next_path: str) -> tuple[str, str]:
    """(URL of the provider's sign-in page, signed state cookie) for a browser that has no session."""
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    with provider.client() as client:
        url, _ = client.create_authorization_url(provider.metadata()["authorization_endpoint"], state=state,
                                                 code_verifier=verifier, nonce=nonce)
    cookie = sign(key, {"s": state, "n": nonce, "v": verifier, "suite": safe_path(next_path),
                        "exp": int(time.time()) + STATE_TTL_S})
    return url, cookie


def safe_path(path: str | None) -> str:
    """A local path to go back to after the sign-in (never another site)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def callback(provider: Provider, key: bytes, query: Mapping[str, str], state_cookie: str | None) -> tuple[str, str]:
    """(signed session cookie, path to go back to) from the provider's answer; `SignInError` otherwise."""
    state = unsign(key, state_cookie)
    if state is None or not hmac.compare_digest(str(query.get("state", "")), state["s"]):
        raise SignInError("Connexion refusée : réponse du fournisseur d'identité inattendue (état absent, périmé ou "
                          "différent). Recommencez.")
    if "code" not in query:
        raise SignInError("Connexion refusée par le fournisseur d'identité.")
    settings = provider.settings
    try:
        with provider.client() as client:  # client_secret_basic, redirect_uri and the PKCE verifier
            token = client.fetch_token(provider.metadata()["token_endpoint"], grant_type="authorization_code",
                                       code=query["code"], code_verifier=state["v"], timeout=HTTP_TIMEOUT_S)
        id_token = token["id_token"]
    except (requests.RequestException, AuthlibBaseError, KeyError, ValueError):
        raise SignInError("Connexion impossible : le fournisseur d'identité n'a pas délivré de jeton.") from None
    claims = _verified_claims(provider, id_token, state["n"], token.get("access_token"))
    user = str(claims.get("preferred_username") or claims["sub"])
    raw = claims.get(settings.groups_claim) or []
    groups = [raw] if isinstance(raw, str) else [g for g in raw if isinstance(g, str)] if isinstance(raw, list) else []
    session = sign(key, {"u": user, "g": [g for g in groups if "," not in g],
                         "exp": int(time.time()) + settings.session_s})
    return session, state["suite"]


def _verified_claims(provider: Provider, id_token: str, nonce: str, access_token: str | None = None) -> dict:
    """The ID token's claims: signature by the provider's keys (joserfc), then Authlib's `CodeIDToken` checks."""
    settings = provider.settings
    metadata = provider.metadata()
    # the algorithms the provider announces (as Authlib's OpenID client does), never the unsigned "none"
    algorithms = [a for a in metadata.get("id_token_signing_alg_values_supported") or [] if a != "none"] or None
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    try:
        try:
            token = jwt.decode(id_token, provider.keys(), registry=registry)
        except JoseError:
            token = jwt.decode(id_token, provider.keys(refresh=True), registry=registry)  # keys rotated
        claims = CodeIDToken(token.claims, token.header,
                             {"iss": {"essential": True, "value": metadata["issuer"]},
                              "aud": {"essential": True, "value": settings.client_id},
                              "exp": {"essential": True}, "nonce": {"essential": True, "value": nonce},
                              "sub": {"essential": True}},
                             {"nonce": nonce, "client_id": settings.client_id, "access_token": access_token})
        claims.validate(leeway=LEEWAY_S)  # iss, aud, exp, iat, nonce, azp, at_hash when present
    except (JoseError, ValueError) as e:
        raise SignInError(f"Connexion refusée : jeton d'identité invalide ({e.__class__.__name__}).") from None
    return dict(claims)


def session_identity(key: bytes, cookie: str | None) -> tuple[str, list[str]] | None:
    payload = unsign(key, cookie)
    if payload is None or not isinstance(payload.get("u"), str) or not isinstance(payload.get("g"), list):
        return None
    return payload["u"], [g for g in payload["g"] if isinstance(g, str)]


def logout_location(provider: Provider) -> str:
    """Where `/deconnexion` sends the browser: the provider's end of session, back to the application."""
    settings = provider.settings
    end = provider.metadata().get("end_session_endpoint")
    home = settings.public_url.rstrip("/") + "/"
    if not end:
        return home
    return f"{end}?{urlencode({'client_id': settings.client_id, 'post_logout_redirect_uri': home})}"
