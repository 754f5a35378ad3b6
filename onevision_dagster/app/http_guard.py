"""ASGI middleware in front of every route: proxy secret, security headers, a log line without the query.

- When `ONEVISION_PROXY_SECRET` is set, a request without the secret in its header did not come through
  the proxy: its identity headers are forged or missing, it gets 401 and the attempt is audited.
- Every response carries a strict Content-Security-Policy (scripts and styles from the application only,
  nothing inline; no frame may embed the pages), `nosniff`, no referrer, no caching of pages.
- The log line holds the method, the path (a SIREN at most), the status and the user id: never the query
  string, which can hold a company's name. Uvicorn's own access log is off. Every message of the application's
  logger has its control characters escaped (`EscapeControls`): a `%0A` in a URL cannot forge a log line.
- A request body must announce its length (411 otherwise) and stay under `max_body_bytes` (413): it is refused
  before a byte of it is read.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlencode

import anyio.to_thread
import sqlalchemy as sa

from onevision_dagster.app import audit, oidc
from onevision_dagster.app.actions import classify
from onevision_dagster.app.settings import AppSettings

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    r"""Control characters (line feed, carriage return, escape...) written as `\xNN`."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class EscapeControls(logging.Filter):
    """Formats each record's message once, control characters escaped: one record, one log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape_controls(message)
        if escaped != message or record.args:
            record.msg, record.args = escaped, None
        return True


log = logging.getLogger("onevision.app")
if not any(isinstance(f, EscapeControls) for f in log.filters):
    log.addFilter(EscapeControls())

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
_PRINTABLE = re.compile(r"[^\x00-\x20\x7f]{1,200}")
UNAUTHORISED_PAGE = ("<!doctype html><html lang=fr><meta charset=utf-8><title>Accès refusé</title>"
                     "<p>Accès refusé : la requête ne vient pas du proxy d'authentification.</p></html>").encode()

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class HttpGuard:
    def __init__(self, app: Callable, settings: AppSettings, engine: sa.Engine):
        self.app = app
        self.settings = settings
        self.engine = engine
        self.secret_header = settings.secret_header.lower().encode("latin-1")
        self.user_header = settings.user_header.lower().encode("latin-1")
        self.groups_header = settings.groups_header.lower().encode("latin-1")
        self.provider = oidc.Provider(settings.oidc) if settings.oidc is not None else None

    def _has_secret(self, scope: Scope) -> bool:
        expected = self.settings.proxy_secret
        if not expected:
            return True
        for name, value in scope.get("headers", []):
            if name == self.secret_header:
                return hmac.compare_digest(value, expected.encode())
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if self.provider is not None:
                scope = self._with_session(scope)
                if await self._sign_in(scope, send_with_headers):
                    return
            if not self._has_secret(scope):
                await self._refuse(scope, send_with_headers)
            elif (too_big := self._body_refusal(scope)) is not None:
                await _plain(send_with_headers, *too_big)
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            user = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == self.user_header), "-")
            if not self._has_secret(scope) or not _PRINTABLE.fullmatch(user):
                user = "-"  # an untrusted or unprintable identity is not written (no log injection)
            log.info("%s %s %s %s %.0f ms", scope.get("method"), scope.get("path"), status_holder["status"],
                     user, (time.perf_counter() - start) * 1000)

    # ------------------------------------------------------------ sign-in by the application (oidc.py)

    def _with_session(self, scope: Scope) -> Scope:
        """The request with the client's identity headers dropped and the signed session's put instead."""
        own = (self.user_header, self.groups_header, self.secret_header)
        headers = [(k, v) for k, v in scope.get("headers", []) if k not in own]
        cookies = SimpleCookie()
        for k, v in scope.get("headers", []):
            if k == b"cookie":
                try:
                    cookies.load(v.decode("latin-1"))
                except CookieError:
                    pass
        session = cookies.get(oidc.SESSION_COOKIE)
        identity = oidc.session_identity(self.settings.signing_key, session.value if session else None)
        if identity is not None:
            user, groups = identity
            headers += [(self.user_header, user.encode("latin-1", "replace")),
                        (self.groups_header, ",".join(groups).encode("latin-1", "replace"))]
        state = cookies.get(oidc.STATE_COOKIE)
        return {**scope, "headers": headers, "onevision_signed_in": identity is not None,
                "onevision_oidc_state": state.value if state else None}

    async def _sign_in(self, scope: Scope, send: Send) -> bool:
        """Answers the sign-in routes, and sends a browser without session to the provider; False: go on."""
        path, method = scope.get("path", ""), scope.get("method", "GET")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        key, provider = self.settings.signing_key, self.provider
        secure = "; Secure" if provider.settings.public_url.startswith("https") else ""
        try:
            if path == oidc.LOGIN:
                location, state = await anyio.to_thread.run_sync(oidc.login, provider, key, query.get("suite", "/"))
                await _redirect(send, location, f"{oidc.STATE_COOKIE}={state}; Path=/oidc; Max-Age="
                                f"{oidc.STATE_TTL_S}; HttpOnly; SameSite=Lax{secure}")
                return True
            if path == oidc.CALLBACK:
                session, back = await anyio.to_thread.run_sync(
                    oidc.callback, provider, key, query, scope["onevision_oidc_state"])
                await _redirect(send, back, f"{oidc.SESSION_COOKIE}={session}; Path=/; Max-Age="
                                f"{provider.settings.session_s}; HttpOnly; SameSite=Lax{secure}",
                                f"{oidc.STATE_COOKIE}=; Path=/oidc; Max-Age=0")
                return True
            if path == oidc.LOGOUT:
                location = await anyio.to_thread.run_sync(oidc.logout_location, provider)
                await _redirect(send, location, f"{oidc.SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; "
                                f"SameSite=Lax{secure}")
                return True
        except oidc.SignInError as e:
            await _plain(send, 401, str(e))
            return True
        if scope["onevision_signed_in"] or path.startswith("/static/"):
            return False
        if method == "GET":
            target = path + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
            await _redirect(send, f"{oidc.LOGIN}?{urlencode({'suite': target})}")
            return True
        return False  # a form posted without session: the page answers 401 (counted, not stored)

    def _body_refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is None:
            if b"transfer-encoding" in headers:
                return 411, "Requête refusée : la taille du corps doit être annoncée (Content-Length)."
            return None
        if not length.isdigit() or int(length) > self.settings.max_body_bytes:
            return 413, f"Requête refusée : corps de plus de {self.settings.max_body_bytes} octets."
        return None

    async def _refuse(self, scope: Scope, send: Send) -> None:
        action, objet = classify(scope.get("method", "GET"), scope.get("path", ""), {})  # counted, query unread
        await anyio.to_thread.run_sync(lambda: audit.record(
            self.engine, user=None, departements=None, action=action, objet=objet, status=401))
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(UNAUTHORISED_PAGE)).encode())]})
        await send({"type": "http.response.body", "body": UNAUTHORISED_PAGE})


async def _redirect(send: Send, location: str, *cookies: str) -> None:
    headers = [(b"location", location.encode("latin-1")), (b"content-length", b"0")]
    headers += [(b"set-cookie", c.encode("latin-1")) for c in cookies]
    await send({"type": "http.response.start", "status": 302, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _plain(send: Send, status: int, message: str) -> None:
    body = message.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
