"""The HTML frame shared by every page: escaping, the page and table templates, safe file names, atomic writes.

Every text that comes from the data is escaped with `html.escape` here. Files
are written to a temporary name then renamed, so the report server never
serves half a page.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

from onevision_dagster.contract.sources import DEPARTEMENT_PATTERN
from onevision_dagster.ingest.origin import SYNTHETIC_NOTICE
from onevision_dagster.reports.atomic_files import written_beside
from onevision_dagster.reports.formatting import MISSING

INDEX = "index.html"


FICHES_DIR = "fiches"
"""Sub-folder of the report folder where company sheets go (linked from the dashboards)."""


PAGE_KIND_DASHBOARD = "tableau-de-bord"


PAGE_KIND_FICHE = "fiche"


PAGE_KIND_EXPERIMENT = "experimentation"


EXPERIMENT_FILENAME = "tableau_de_bord_experimentation.html"


_SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.html")


_DEPARTEMENT = re.compile(DEPARTEMENT_PATTERN)


PAGE_CSS = """
:root { --bleu: #000091; --gris: #f6f6f6; --rouge: #c9191e; --vert: #18753c; }
* { box-sizing: border-box; }
body { font-family: Marianne, Arial, sans-serif; margin: 0; color: #1e1e1e; background: #fff; }
header { background: var(--bleu); color: #fff; padding: 1rem 2rem; }
header h1 { margin: 0 0 .3rem 0; font-size: 1.6rem; }
header p { margin: 0; opacity: .9; }
header a { color: #fff; }
main { padding: 1rem 2rem 3rem; max-width: 1300px; margin: auto; }
nav.sommaire { font-size: .9rem; margin: .5rem 0 1rem; }
nav.sommaire a { margin-right: .8rem; }
.chiffres { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: .8rem; }
.chiffre { background: var(--gris); border-left: 4px solid var(--bleu); padding: .6rem .8rem; }
.chiffre .libelle { font-size: .85rem; color: #555; }
.chiffre .valeur { font-size: 1.35rem; font-weight: bold; margin: .2rem 0; white-space: nowrap; }
.chiffre .detail { font-size: .8rem; color: #666; }
section { margin-top: 2rem; }
section h2 { border-bottom: 2px solid var(--bleu); padding-bottom: .2rem; font-size: 1.25rem; }
p.aide { color: #444; font-size: .92rem; max-width: 70rem; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--gris); }
td.montant, th.montant { text-align: right; white-space: nowrap; }
.defile { overflow-x: auto; }
tr.fermee td { color: #777; }
.drapeau { display: inline-block; padding: .1rem .45rem; margin: .1rem .2rem .1rem 0; border-radius: 3px;
           font-size: .8rem; font-weight: bold; background: #fee9e9; color: var(--rouge); }
.drapeau.info { background: #e8edff; color: var(--bleu); }
.encadre { background: #eef4ff; border-left: 4px solid var(--bleu); padding: .6rem 1rem; }
.alerte { background: #fee9e9; border-left: 4px solid var(--rouge); padding: .6rem 1rem; }
header .alerte, header .fraicheur { color: #1e1e1e; }  /* dark text on the pink box, never the header's white */
.synthetique { background: #fff4d6; border: 2px dashed #b34000; color: #1e1e1e; padding: .4rem 1rem;
  margin: .5rem 0; font-weight: bold; }
footer { color: #666; font-size: .8rem; border-top: 1px solid #ddd; padding: 1rem 2rem; }
@media print { header { background: none; color: #000; } nav.sommaire, .plotly-graph-div { display: none; } }
"""


def esc(value: object) -> str:
    """HTML-escapes any value for text or attribute content (quotes included)."""
    if value is None:
        return MISSING
    return html.escape(str(value), quote=True)


def check_filename(filename: str) -> str:
    """A plain ``*.html`` name: no folder, no ``..``, nothing a shell or URL would misread."""
    if not _SAFE_FILENAME.fullmatch(filename) or ".." in filename:
        raise ValueError(
            f"Nom de fichier de rapport refusé : {filename!r} (attendu : lettres, chiffres, _ . - et .html)"
        )
    return filename


def check_departement(departement: str | None) -> str | None:
    if departement is not None and not _DEPARTEMENT.fullmatch(departement):
        raise ValueError(f"Code département inconnu : {departement!r}")
    return departement


def fiche_filename(siren: str, departement: str | None) -> str:
    """File name of a company sheet (shared by the sheet writer and the dashboards' links)."""
    return f"fiche_{siren}_{departement or 'national'}.html"


_SIREN = re.compile(r"\d{9}")


def company_sheet_link(siren: str, text_html: str) -> str:
    """A dashboard's link to a company: the application's sheet, rendered when opened with the agent's rights and
    the audit (dashboards are served by the application only; the refresh writes no sheet in advance, issue 21)."""
    if not _SIREN.fullmatch(str(siren)):
        return text_html
    return f'<a href="/entreprises/{siren}/fiche">{text_html}</a>'


def dashboard_filename(departement: str | None) -> str:
    """Suggested file name of a dashboard (``tableau_de_bord_17.html``, ``tableau_de_bord_national.html``)."""
    return f"tableau_de_bord_{check_departement(departement) or 'national'}.html"


def write_text_atomic(path: Path, text: str) -> None:
    """Writes beside the target then renames: a reader sees the old or the new page, never half."""
    with written_beside(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def page_html(
    title: str,
    body: str,
    *,
    kind: str,
    perimetre: str = "",
    subtitle_html: str = "",
    head_extra: str = "",
    synthetic: bool = False,
) -> str:
    """A complete page: escaped title, shared style, metadata the index reads; built from a synthetic landing
    zone, a notice no reader can miss, under the title."""
    notice = f'<p class="synthetique" role="note" id="synthetique">{esc(SYNTHETIC_NOTICE)}</p>' if synthetic else ""
    generated = dt.datetime.now(ZoneInfo("Europe/Paris")).strftime("%d/%m/%Y à %H:%M")  # agents read Paris time
    return f"""<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="onevision-page" content="{esc(kind)}">
<meta name="onevision-perimetre" content="{esc(perimetre)}">
<meta name="onevision-synthetique" content="{'oui' if synthetic else 'non'}">
<title>{esc(title)}</title>
<style>{PAGE_CSS}</style>
{head_extra}
</head>
<body>
<header>
<h1>{esc(title)}</h1>
{notice}
{subtitle_html}
</header>
<main>
{body}
</main>
<footer>One Vision — document de travail à usage interne de l'administration. Généré le {generated} (heure de Paris).
Les montants compensables sont des opportunités à examiner,
aucune action n'est réalisée automatiquement.</footer>
</body>
</html>
"""


def table_html(
    headers: Iterable[tuple[str, bool]],
    rows: Iterable[Iterable[str]],
    *,
    caption: str = "",
    row_classes: Iterable[str] | None = None,
    footer: Iterable[Iterable[str]] = (),
) -> str:
    """``headers``: (label, is_amount); ``rows`` and ``footer``: cells already escaped HTML."""
    headers = list(headers)
    head = "".join(
        f'<th{" class=montant" if amount else ""} scope="col">{esc(label)}</th>' for label, amount in headers
    )

    def line(row: Iterable[str], css: str = "", cell: str = "td") -> str:
        cells = "".join(
            f"<{cell}{' class=montant' if amount else ''}>{value}</{cell}>"
            for value, (_, amount) in zip(row, headers, strict=True)
        )
        return f'<tr class="{esc(css)}">{cells}</tr>' if css else f"<tr>{cells}</tr>"

    rows = list(rows)
    classes = list(row_classes) if row_classes is not None else [""] * len(rows)
    body = "".join(line(row, css) for row, css in zip(rows, classes, strict=True))
    foot = "".join(line(row, cell="th") for row in footer)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    tfoot = f"<tfoot>{foot}</tfoot>" if foot else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody>{tfoot}</table>"
