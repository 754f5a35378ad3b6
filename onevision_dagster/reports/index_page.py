"""``index.html`` of the report folder: the dashboards, the experiment's, then the company sheets, read from the
pages present."""

from __future__ import annotations

import html
import re
from pathlib import Path

from onevision_dagster.reports.formatting import format_nombre
from onevision_dagster.reports.html_page import (
    FICHES_DIR,
    INDEX,
    PAGE_KIND_DASHBOARD,
    PAGE_KIND_EXPERIMENT,
    PAGE_KIND_FICHE,
    esc,
    page_html,
    table_html,
    write_text_atomic,
)

_META = re.compile(r'<meta name="onevision-(page|perimetre|synthetique)" content="([^"]*)">')


_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _page_info(path: Path) -> tuple[str, str, str, bool] | None:
    """(kind, perimetre, title, synthetic) from a page we wrote; None for any other file."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    meta = dict(_META.findall(head))
    title = _TITLE.search(head)
    if "page" not in meta or not title:
        return None
    # values were escaped when written: unescape, they are escaped again on output
    return (
        html.unescape(meta["page"]),
        html.unescape(meta.get("perimetre", "")),
        html.unescape(title.group(1)),
        meta.get("synthetique") == "oui",
    )


def _perimetre_key(perimetre: str) -> tuple[int, str]:
    return (0, "") if perimetre == "national" else (1, perimetre.zfill(3))


def write_index(out_dir: Path) -> Path:
    """Rebuilds ``index.html`` from the pages present (dashboards, the experiment's, then company sheets)."""
    out_dir = Path(out_dir)
    dashboards: list[tuple[str, str, str]] = []
    experiments: list[tuple[str, str]] = []
    fiches: list[tuple[str, str, str]] = []
    synthetic = False
    candidates = sorted(out_dir.glob("*.html")) + sorted((out_dir / FICHES_DIR).glob("*.html"))
    for path in candidates:
        if path.name == INDEX:
            continue
        info = _page_info(path)
        if info is None:
            continue
        kind, perimetre, title, from_demo = info
        synthetic |= from_demo
        rel = path.relative_to(out_dir).as_posix()
        if kind == PAGE_KIND_DASHBOARD:
            dashboards.append((perimetre, title, rel))
        elif kind == PAGE_KIND_EXPERIMENT:
            experiments.append((title, rel))
        elif kind == PAGE_KIND_FICHE:
            fiches.append((perimetre, title, rel))
    dashboards.sort(key=lambda d: (_perimetre_key(d[0]), d[2]))
    fiches.sort(key=lambda f: (_perimetre_key(f[0]), f[1].lower(), f[2]))
    if dashboards:
        items = "".join(f'<li><a href="{esc(rel)}">{esc(title)}</a></li>' for _, title, rel in dashboards)
        body = f'<section><h2>Tableaux de bord</h2><ul id="tableaux-de-bord">{items}</ul></section>'
    else:
        body = "<section><h2>Tableaux de bord</h2><p>Aucun tableau de bord n'a encore été produit.</p></section>"
    if experiments:
        items = "".join(f'<li><a href="{esc(rel)}">{esc(title)}</a></li>' for title, rel in experiments)
        body += ('<section><h2>Expérimentation</h2><p>Départements pilotes et autres départements, semaine par '
                 f'semaine (historique des instantanés).</p><ul id="experimentation">{items}</ul></section>')
    if fiches:
        rows = [
            [
                esc("France entière" if p == "national" else f"Département {p}"),
                f'<a href="{esc(rel)}">{esc(title)}</a>',
            ]
            for p, title, rel in fiches
        ]
        body += (
            f"<section><h2>Fiches entreprises ({format_nombre(len(fiches))})</h2>"
            + table_html([("Périmètre", False), ("Fiche", False)], rows)
            + "</section>"
        )
    path = out_dir / INDEX
    write_text_atomic(path, page_html("One Vision — rapports", body, kind="index", synthetic=synthetic))
    return path
