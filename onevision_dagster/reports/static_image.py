"""Static images of a chart (PNG, SVG...) through kaleido and a local Chromium, never from the network."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import plotly.graph_objects as go

from onevision_dagster.reports.atomic_files import written_beside

log = logging.getLogger(__name__)

BROWSER_CANDIDATES = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
)


def find_browser() -> str | None:
    """A Chromium for kaleido: ``BROWSER_PATH`` if set, else the usual system paths."""
    configured = os.environ.get("BROWSER_PATH")
    if configured:
        return configured if Path(configured).is_file() and os.access(configured, os.X_OK) else None
    for candidate in BROWSER_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


IMAGE_FORMATS = ("png", "svg", "pdf", "jpeg", "webp")


def write_static_image(fig: go.Figure, path: Path, *, timeout_s: float = 60.0) -> bool:
    """PNG/SVG/PDF/JPEG/WebP (by suffix) through kaleido; False, never an exception, when it cannot render.

    Offline by construction: kaleido is called directly with MathJax disabled
    (its default is a CDN URL) and uses plotly's bundled plotly.js; it never
    downloads a browser, so without a local Chromium the answer is False.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".").replace("jpg", "jpeg")
    if fmt not in IMAGE_FORMATS:
        log.warning("Format d'image non pris en charge : %s", path.suffix)
        return False
    browser = find_browser()
    if browser is None:
        log.info("Pas de Chromium disponible : image statique %s non produite", path.name)
        return False
    previous = os.environ.get("BROWSER_PATH")
    os.environ["BROWSER_PATH"] = browser  # read by kaleido's browser launcher (choreographer)
    try:
        import kaleido

        image = kaleido.calc_fig_sync(
            fig,
            opts={"format": fmt, "width": fig.layout.width or 1000, "height": fig.layout.height or 450},
            kopts={"mathjax": False, "timeout": timeout_s},
        )
        if not image:
            return False
        with written_beside(path) as tmp:
            tmp.write_bytes(image if isinstance(image, bytes) else str(image).encode("utf-8"))
    except Exception as exc:  # any renderer failure means "no image"
        log.warning("Image statique %s non produite : %s", path.name, type(exc).__name__)
        return False
    finally:
        if previous is None:
            os.environ.pop("BROWSER_PATH", None)
        else:
            os.environ["BROWSER_PATH"] = previous
    return path.stat().st_size > 0
