"""Issue 17, what it must show: three pages of the application as an agent of 17 sees them, in headless Chromium
1 400 px wide, on the samples built by the real pipeline (conftest's `samples`, `samples_app`).

- `app_entreprise_suspendue.png`: GARAGE MARTIN (790112239), its tax under sursis and its contested title;
- `app_entreprise_procedure.png`: FERRONNERIE ROCHELAISE (845123454), in sauvegarde, offsetting blocked;
- `app_declarations_17.png`: the claims to declare of department 17, the outcome column on screen.

Each page is shot whole (the viewport is stretched to the page's height), so the text asserted is in the image.
`ONEVISION_CAPTURES=docs/img` rewrites the screenshots of docs/app.md (default: the test's temp folder):

    ONEVISION_CAPTURES=docs/img .venv/bin/python -m pytest -q tests/test_app_screenshots.py -p no:cacheprovider
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from .cdp import Chromium, PageVisit
from .png_pixels import count_colour, distinct_colours, rgb_pixels
from .test_e2e_browser import _chromium

pytestmark = pytest.mark.e2e

AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}
WIDTH = 1400
BLEU = "#000091"  # the header band and the buttons (reports/html_page.py)

# what the page measures once drawn: its size, the document buttons, and where the outcome column's header ends
PROBE = """JSON.stringify({
  height: Math.ceil(document.documentElement.scrollHeight),
  width: Math.ceil(document.documentElement.scrollWidth),
  text: document.body.innerText,
  buttons: Array.from(document.querySelectorAll('form.document button')).map(b => {
      const r = b.getBoundingClientRect(); return [b.innerText, r.width > 0 && r.height > 0, r.right]; }),
  outcome: Array.from(document.querySelectorAll('th')).filter(t => t.innerText.trim() === 'Suite donnée')
      .map(t => t.getBoundingClientRect().right),
  wrapped_dates: Array.from(document.querySelectorAll('td.date')).filter(td => {
      const r = document.createRange(); r.selectNodeContents(td); return r.getClientRects().length > 1; })
      .map(td => td.innerText),
  dates: document.querySelectorAll('td.date').length,
})"""


class FullPage(Chromium):
    """The project's DevTools driver (tests/cdp.py), shooting a whole page at a given width with identity headers."""

    def shoot(self, url: str, headers: dict[str, str], wait_for: tuple[str, ...],
              timeout_s: float = 60.0) -> tuple[PageVisit, dict, bytes]:
        visit = PageVisit(url)
        with connect(self._new_target(), max_size=None, open_timeout=30) as ws:
            send = self._sender(ws, visit, timeout_s)

            def probe() -> dict:
                return json.loads(send("Runtime.evaluate", returnByValue=True,
                                       expression=PROBE)["result"]["result"]["value"])

            for domain in ("Page", "Runtime", "Log", "Network"):
                send(f"{domain}.enable")
            send("Network.setExtraHTTPHeaders", headers=headers)
            send("Emulation.setDeviceMetricsOverride", width=WIDTH, height=900, deviceScaleFactor=1, mobile=False)
            send("Page.navigate", url=url)
            self._wait(ws, visit, lambda m: m.get("method") == "Page.loadEventFired", timeout_s)
            deadline = time.monotonic() + timeout_s
            while not all(w in _flat(probe()["text"]) for w in wait_for) and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(1.0)  # the company page's chart is drawn after the load event
            measured = probe()
            send("Emulation.setDeviceMetricsOverride", width=WIDTH, height=measured["height"], deviceScaleFactor=1,
                 mobile=False)
            time.sleep(1.0)  # plotly redraws on resize
            measured = probe()
            data = send("Page.captureScreenshot", format="png")["result"]["data"]
        visit.text = measured["text"]
        return visit, measured, base64.b64decode(data)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " "))


SHOTS = {
    # GARAGE MARTIN: everything past due is suspended, each line says why (test_app_pipeline's figures)
    "app_entreprise_suspendue.png": ("/entreprises/790112239", (
        "GARAGE MARTIN", "dont suspendues (motif sur chaque ligne) 7 530,00 €",
        "dont poursuivables (non suspendues d'après les données) 0,00 €",
        "Échue, suspendue : sursis de paiement (art. L. 277 LPF)",
        "Échue, suspendue : titre contesté en justice (art. L. 1617-5 CGCT)", "Documents à préparer")),
    # FERRONNERIE ROCHELAISE, sauvegarde judged 03/11/2026: offsetting blocked, claims to declare by 18/01/2027
    "app_entreprise_procedure.png": ("/entreprises/845123454", (
        "FERRONNERIE ROCHELAISE", "Compensation bloquée : procédure collective ouverte (art. L. 622-7 C. com.)",
        "dont suspendues (motif sur chaque ligne) 6 395,00 €",
        "2026TVA0845 5 120,00 € 18/01/2027 18/05/2027 À déclarer avant la date limite", "Documents à préparer")),
    # the claims to declare of 17, most urgent first, with the outcome form on each line
    "app_declarations_17.png": ("/departements/17/listes/declarations", (
        "Déclarations de créances — département 17", "7 éléments", "5 120,00 € 18/01/2027",
        "Délai dépassé : relevé de forclusion", "Suite donnée")),
}


def test_agent_pages_in_headless_chromium_at_1400_px(samples_app: tuple, tmp_path: Path) -> None:
    base, _ = samples_app
    shots = Path(os.environ.get("ONEVISION_CAPTURES") or tmp_path / "captures")
    shots.mkdir(parents=True, exist_ok=True)
    browser = FullPage(_chromium())
    try:
        seen = {name: browser.shoot(base + path, AGENT_17, wait_for=facts) for name, (path, facts) in SHOTS.items()}
    finally:
        browser.close()
    for name, (visit, measured, png) in seen.items():
        (shots / name).write_bytes(png)
        path, facts = SHOTS[name]
        assert visit.status == 200, (path, visit.status)
        assert visit.errors == [], (path, visit.errors)
        assert [u for u in visit.requests if not u.startswith(base + "/")] == []  # nothing fetched from elsewhere
        text = _flat(measured["text"])
        missing = [f for f in facts if f not in text]
        assert not missing, (path, missing)
        # the whole page is in the image, 1 400 px wide, nothing pushed beyond the right edge
        pixels = rgb_pixels(png)
        assert pixels.shape[:2] == (measured["height"], WIDTH), (name, pixels.shape)
        assert measured["width"] <= WIDTH, (name, measured["width"])
        # not blank: the blue header band, antialiased text, and a good share of the page not white
        assert count_colour(pixels, BLEU) > WIDTH * 40, name
        assert distinct_colours(pixels) > 50, name
        assert (pixels < 240).any(axis=2).mean() > 0.03, name
    # the company pages carry the document buttons of 17 (the agent holds 17 only): 3 documents, .odt and PDF
    for name in ("app_entreprise_suspendue.png", "app_entreprise_procedure.png"):
        buttons = seen[name][1]["buttons"]
        assert sorted(label for label, _, _ in buttons) == [".odt"] * 3 + ["PDF"] * 3, (name, buttons)
        assert all(shown and right <= WIDTH for _, shown, right in buttons), (name, buttons)
    # the declarations list: its outcome column's header on screen at 1 400 px, a declaration button per line
    declarations = seen["app_declarations_17.png"][1]
    assert len(declarations["outcome"]) == 1 and 0 < declarations["outcome"][0] <= WIDTH, declarations["outcome"]
    assert len(declarations["buttons"]) == 2 * 7  # .odt and PDF on each of the 7 lines
    # a date is read whole: never « 28/12/202 » over « 6 » (the screenshot of 6 December showed it)
    assert declarations["dates"] >= 7 * 3 and declarations["wrapped_dates"] == [], declarations["wrapped_dates"]
