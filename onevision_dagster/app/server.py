"""`onevision app`: the application under uvicorn, on 127.0.0.1 unless told otherwise (and then only with a secret).

Uvicorn's access log is off (it would write query strings, which can hold a company's name); the guard
writes one line per request with the path and the user id only. No `Server` header, no date header noise.

Connection limits (issue 20, finding 6), in the HTTP protocol itself (`GuardedH11`, h11 always: the httptools
parser reads headers of any size):
- headers larger than `max_header_bytes` are refused (400) as they arrive, never buffered whole;
- a client has `header_timeout_s` seconds to finish its request's headers (first request and each next one on a
  kept-alive connection), then the connection is closed: slow clients cannot hold the server's connections;
- at most `max_connections_per_client` open connections per client address (beyond: closed at once) and
  `max_connections` in all (beyond: 503). Behind the proxy every connection comes from the proxy's address:
  the per-agent limits are the proxy's (deploy/nginx/onevision.conf), these protect the application from
  anything else that can reach its port.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import sqlalchemy as sa
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from onevision_dagster.app import audit
from onevision_dagster.app.settings import AppSettings
from onevision_dagster.app.web import create_app
from onevision_dagster.errors import OneVisionError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
log = logging.getLogger("onevision.app")


def guarded_protocol(settings: AppSettings) -> type[H11Protocol]:
    """An h11 protocol class with a header deadline and a per-client connection count (one count per server)."""
    open_by_client: Counter[str] = Counter()

    class GuardedH11(H11Protocol):
        _client_key: str | None = None
        _deadline: asyncio.TimerHandle | None = None
        _timed_cycle: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            key = self.client[0] if self.client else "?"
            if open_by_client[key] >= settings.max_connections_per_client:
                log.warning("connexion refusée : %s a déjà %d connexions ouvertes", key, open_by_client[key])
                transport.close()
                return
            open_by_client[key] += 1
            self._client_key = key
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(settings.header_timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _headers_too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                log.warning("connexion fermée : en-têtes non reçus en %g s", settings.header_timeout_s)
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not None and self.cycle is not self._timed_cycle:  # a request's headers are complete
                self._timed_cycle = self.cycle
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection has the same delay for its headers

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._client_key is not None:
                open_by_client[self._client_key] -= 1
                if open_by_client[self._client_key] <= 0:
                    del open_by_client[self._client_key]
                self._client_key = None
            super().connection_lost(exc)

    return GuardedH11


def check_audit(settings: AppSettings, engine: sa.Engine) -> None:
    """At every start: the audit's protections and chain; tampered with, the application does not serve
    (`ONEVISION_AUDIT_SI_ALTERE=refuser`, the default) or serves and alerts in its log (`alerter`)."""
    problems = audit.integrity(engine)
    if not problems:
        return
    message = " ".join(problems)
    if settings.audit_on_tamper == "alerter":
        log.error("ALERTE AUDIT : %s L'application sert quand même (ONEVISION_AUDIT_SI_ALTERE=alerter).", message)
        return
    raise OneVisionError(f"Refus de servir : {message} Faites constater, puis voir `onevision audit --verifier` "
                         "(docs/securite/exploitation.md).")


class _Server(uvicorn.Server):
    """Writes the requests without identity counted since the last row when it stops (SIGTERM included: uvicorn
    raises the signal again once stopped, so nothing after `run()` would run)."""

    async def shutdown(self, sockets=None) -> None:  # noqa: ANN001 - uvicorn's signature
        await super().shutdown(sockets)
        audit.flush_anonymous(self.config.app.engine)


def make_server(settings: AppSettings) -> uvicorn.Server:
    settings.check_listen()
    app = create_app(settings)
    check_audit(settings, app.engine)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, access_log=False, server_header=False,
        proxy_headers=True, forwarded_allow_ips="127.0.0.1", log_level="warning", lifespan="off",
        http=guarded_protocol(settings), h11_max_incomplete_event_size=settings.max_header_bytes,
        limit_concurrency=settings.max_connections, timeout_keep_alive=5)
    return _Server(config)


def serve(settings: AppSettings) -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("onevision.app").setLevel(logging.INFO)
    server = make_server(settings)
    if settings.dev and not settings.proxy_secret:
        log.warning("MODE DÉVELOPPEUR (--dev) : démarrage sans ONEVISION_PROXY_SECRET, les en-têtes d'identité sont "
                    "crus sans preuve qu'ils viennent du proxy ; jamais en production")
    where = f"http://{settings.host}:{settings.port}/"
    print(f"Application One Vision : {where} (publication lue dans {settings.publication}) — Ctrl+C pour arrêter",
          flush=True)
    server.run()
