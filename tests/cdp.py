"""A headless Chromium driven through the DevTools protocol, for end-to-end tests of the application.

`--dump-dom` (tests/test_e2e_browser.py) shows what was rendered but not what went wrong on the way; this
records what a reviewer would look for in the browser's console and network panel: console errors, uncaught
exceptions, Content-Security-Policy violations (logged as errors) and the URL of every request the page
made, so a test can assert "no console error, no external request".
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from websockets.sync.client import connect

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--remote-debugging-port=0"]


@dataclass
class PageVisit:
    url: str
    status: int | None = None
    text: str = ""
    svg_charts: int = 0
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    screenshot: bytes = b""  # PNG, when asked for (`screenshot=(width, height, scale)`)


class Chromium:
    def __init__(self, binary: str):
        self.profile = Path(tempfile.mkdtemp(prefix="onevision-cdp-"))
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.1)
        self.port = int(port_file.read_text().splitlines()[0])
        self._id = 0

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _new_target(self) -> str:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)["webSocketDebuggerUrl"]

    def visit(self, url: str, headers: dict[str, str] | None = None, settle_s: float = 2.0,
              timeout_s: float = 60.0, wait_for: tuple[str, ...] = (),
              screenshot: tuple[int, int, float] | None = None) -> PageVisit:
        """Opens `url` in a fresh tab (extra headers on every request), waits for load, then `settle_s`; with
        `wait_for`, until the page's text holds each of them (a single-page application renders after its load event and
        keeps polling, so real time, not `--virtual-time-budget`, is what can be waited on)."""
        visit = PageVisit(url)
        with connect(self._new_target(), max_size=None, open_timeout=30) as ws:
            send = self._sender(ws, visit, timeout_s)

            for domain in ("Page", "Runtime", "Log", "Network"):
                send(f"{domain}.enable")
            if headers:
                send("Network.setExtraHTTPHeaders", headers=headers)
            if screenshot:
                width, height, scale = screenshot
                send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=scale,
                     mobile=False)
            send("Page.navigate", url=url)
            self._wait(ws, visit, lambda m: m.get("method") == "Page.loadEventFired", timeout_s)
            end = time.monotonic() + settle_s
            while time.monotonic() < end:
                try:
                    self._handle(json.loads(ws.recv(timeout=max(0.05, end - time.monotonic()))), visit)
                except TimeoutError:
                    break
            deadline = time.monotonic() + timeout_s
            while True:
                result = send("Runtime.evaluate", returnByValue=True, expression=(
                    "JSON.stringify({text: document.body ? document.body.innerText : '', "
                    "svg: document.querySelectorAll('svg.main-svg').length})"))
                value = json.loads(result["result"]["result"]["value"])
                visit.text, visit.svg_charts = value["text"], value["svg"]
                if all(w in visit.text for w in wait_for) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            if screenshot:
                visit.screenshot = base64.b64decode(send("Page.captureScreenshot", format="png")["result"]["data"])
        return visit

    def _sender(self, ws, visit: PageVisit, timeout_s: float):
        """`send(method, **params)`: one DevTools command on `ws`, its answer (events seen meanwhile go to `visit`)."""
        def send(method: str, **params) -> dict:
            self._id += 1
            ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
            return self._wait(ws, visit, lambda m, i=self._id: m.get("id") == i, timeout_s)
        return send

    def _wait(self, ws, visit: PageVisit, done, timeout_s: float) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no answer from Chromium")
            message = json.loads(ws.recv(timeout=remaining))
            self._handle(message, visit)
            if done(message):
                return message

    @staticmethod
    def _handle(message: dict, visit: PageVisit) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            visit.requests.append(params["request"]["url"])
        elif method == "Network.responseReceived" and params.get("type") == "Document" and visit.status is None:
            visit.status = params["response"]["status"]
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            visit.errors.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                       for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            visit.errors.append("exception: " + params["exceptionDetails"].get("text", ""))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            # the HTTP status of a page we asked for on purpose (403) is not an error of the page itself
            if not (entry.get("source") == "network" and entry.get("url") == visit.url):
                visit.errors.append(f"log {entry.get('source')}: {entry.get('text')}")
