"""A tiny read-only web server for the report folder (``onevision rapports``).

Only what the standard library gives (`http.server`): GET and HEAD, files of
one folder, nothing else. Bound to 127.0.0.1 by default: the reports hold
tax data and must not be published on the network by accident. Requests are
logged without their path (a path names a company's sheet).

What it serves, and only that: a regular file whose real path (every symlink
resolved) lies inside the real report folder, none of whose parts is hidden
(a ``.name.tmp`` is a page being written). A folder is served through its
``index.html`` or not at all: folder contents are never listed, since a listing
would name every company that has a sheet. Anything else is a plain 404, which
says nothing about what exists outside.

Company sheets (``fiches/``) are never served (issue 20): they name a company's figures, and this server has no
identity and no audit; the application serves them (``/entreprises/SIREN/fiche``) with its rights and audit.
"""

from __future__ import annotations

import functools
import logging
import os
import urllib.parse
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

from onevision_dagster.reports.html_page import FICHES_DIR

log = logging.getLogger(__name__)

INDEX = "index.html"
SHEETS_MOVED = ("Les fiches entreprises ne sont plus servies ici (ni identité ni audit) : ouvrez l'entreprise dans "
                "l'application One Vision, /entreprises/SIREN/fiche, avec vos droits (issue 20).")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
"""Pages may run their own plotly.js and inline plot scripts, and fetch nothing from anywhere."""


def resolve_inside(root: Path, path: str | Path) -> Path | None:
    """The real path of ``path`` when it exists inside the real ``root`` and is not hidden, else None.

    ``root`` must already be resolved. Resolving first and comparing after is
    what makes a symlink to ``/etc/passwd`` (or to a folder outside) harmless.
    """
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    if real != root and root not in real.parents:
        return None
    if any(part.startswith(".") for part in real.relative_to(root).parts):
        return None
    return real


class ReportRequestHandler(SimpleHTTPRequestHandler):
    """Serves files read-only; no upload, no write method, no listing, no path in the logs."""

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

    def _not_found(self) -> None:
        self.send_error(HTTPStatus.NOT_FOUND, "Fichier introuvable")

    def list_directory(self, path: str | os.PathLike[str]) -> None:  # type: ignore[override]
        """Never called by `send_head` below; refused anyway should a base class path reach it."""
        self._not_found()

    def send_head(self) -> BinaryIO | None:  # type: ignore[override]
        """GET/HEAD: the checked file, a redirect to a folder's slash, or 404."""
        root = Path(self.directory)
        url_path = urllib.parse.urlsplit(self.path).path
        real = resolve_inside(root, self.translate_path(self.path))
        if real is not None and real.is_dir():
            if not url_path.endswith("/"):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                # one leading slash: "//host/.." must not become a redirect to another site
                self.send_header("Location", "/" + url_path.lstrip("/") + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            real = resolve_inside(root, real / INDEX)
        elif url_path.endswith("/"):
            real = None  # "/page.html/" is not a page
        if real is None or not real.is_file():
            self._not_found()
            return None
        if real.relative_to(root).parts[0] == FICHES_DIR:  # a company's sheet: the application's, with rights
            self.send_error(HTTPStatus.NOT_FOUND, "Fichier introuvable", SHEETS_MOVED)
            return None
        try:
            fh = real.open("rb")
        except OSError:
            self._not_found()
            return None
        try:
            stat = os.fstat(fh.fileno())
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", self.guess_type(str(real)))
            self.send_header("Content-Length", str(stat.st_size))
            self.send_header("Last-Modified", self.date_time_string(stat.st_mtime))
            self.end_headers()
        except BaseException:
            fh.close()
            raise
        return fh

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
