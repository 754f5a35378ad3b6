"""A tiny read-only web server for the report folder (``onevision rapports``).

Only what the standard library gives (`http.server`): GET and HEAD, files of
one folder, nothing else. Bound to 127.0.0.1 by default: the reports hold
tax data and must not be published on the network by accident. Requests are
logged without their path (a path names a company's sheet).
"""

from __future__ import annotations

import functools
import logging
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
"""Pages may run their own plotly.js and inline plot scripts, and fetch nothing from anywhere."""


class ReportRequestHandler(SimpleHTTPRequestHandler):
    """Serves files read-only; no upload, no write method, no path in the logs."""

    server_version = "OneVisionRapports"
    sys_version = ""
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".csv": "text/csv; charset=utf-8",
        ".png": "image/png",
        ".svg": "image/svg+xml",
    }

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def _refuse(self) -> None:
        self.send_error(405, "Méthode non autorisée : serveur de rapports en lecture seule")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse  # http.server dispatches on do_<METHOD>

    def log_message(self, format: str, *args: object) -> None:
        # never the path (it names companies), only method and status
        log.debug("rapports: %s %s", self.command, args[1] if len(args) > 1 else "")


def make_server(directory: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server ready to ``serve_forever`` (port 0: any free port, see ``server.server_address``)."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"Dossier des rapports introuvable : {root}")
    handler = functools.partial(ReportRequestHandler, directory=str(root))
    return ThreadingHTTPServer((host, port), handler)


def serve_reports(directory: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serves the report folder until interrupted (Ctrl+C)."""
    server = make_server(directory, host, port)
    address, actual_port = server.server_address[:2]
    print(f"Rapports One Vision : http://{address}:{actual_port}/  (Ctrl+C pour arrêter)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"Attention : le serveur écoute sur {host}, les rapports sont visibles depuis le réseau.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
