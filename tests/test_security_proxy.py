"""Issue 20, finding 6 on the proxy's side: the limits of deploy/nginx/onevision.conf, read from that file and run
in a real nginx in front of a stand-in upstream: a client that never finishes its headers is cut off, a 50 MB
header is refused without being buffered, a 300 MB body is refused before it is read."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from . import app_fixtures as fx
from .conftest import require

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "nginx" / "onevision.conf"
LIMITS = ("client_max_body_size", "client_header_timeout", "client_body_timeout", "client_header_buffer_size",
          "large_client_header_buffers", "keepalive_timeout", "limit_conn ", "limit_conn_status")


def _deployed_limits() -> tuple[str, str]:
    """(http-level zone, server-level directives) exactly as written in the deployment's configuration."""
    text = DEPLOY.read_text(encoding="utf-8")
    zone = re.search(r"^limit_conn_zone .*;$", text, re.M).group(0)
    lines = [line.split("#")[0].strip() for line in text.splitlines()
             if line.strip().startswith(LIMITS)]
    return zone, "\n".join(f"        {line}" for line in lines)


class _Upstream(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    require(nginx is not None, "nginx not installed (scripts/test.sh installs Debian's nginx)")
    root = tmp_path_factory.mktemp("nginx")
    (root / "tmp").mkdir()
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = fx.free_port()
    zone, limits = _deployed_limits()
    conf = f"""worker_processes 1;
daemon off;
{"user root;" if os.geteuid() == 0 else ""}
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    access_log off;
    {zone}
    server {{
        listen 127.0.0.1:{port};
{limits}
        location / {{ proxy_pass http://127.0.0.1:{upstream.server_address[1]}; }}
    }}
}}
"""
    (root / "nginx.conf").write_text(conf)
    subprocess.run([nginx, "-t", "-p", str(root), "-c", str(root / "nginx.conf")], check=True, capture_output=True)
    process = subprocess.Popen([nginx, "-p", str(root), "-c", str(root / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)
        upstream.shutdown()


def _ask(port: int, data: bytes, wait: float = 5) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return out
    finally:
        s.close()


def test_the_deployed_limits_are_those_the_application_expects() -> None:
    zone, limits = _deployed_limits()
    assert "zone=onevision_par_client" in zone
    for directive in ("client_max_body_size 64k;", "client_header_timeout 10s;", "large_client_header_buffers 4 8k;",
                      "limit_conn onevision_par_client 32;"):
        assert directive in limits


def test_slow_headers_are_cut_off_by_the_proxy(proxy: int) -> None:
    assert _ask(proxy, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 200")
    s = socket.create_connection(("127.0.0.1", proxy), timeout=60)  # never cut off: recv times out, the test fails
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and nothing more
    start = time.monotonic()
    answer = b""
    try:
        while chunk := s.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    s.close()
    waited = time.monotonic() - start
    assert waited > 8  # cut off by client_header_timeout (10s), not at once; a loaded machine only makes it later
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")


def test_big_headers_and_bodies_are_refused_by_the_proxy(proxy: int) -> None:
    big = _ask(proxy, b"GET / HTTP/1.1\r\nHost: x\r\nX-Bourrage: " + b"a" * (1 << 20) + b"\r\n\r\n")
    assert big.startswith(b"HTTP/1.1 400")
    body = _ask(proxy, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 314572800\r\n\r\n")
    assert body.startswith(b"HTTP/1.1 413")
