"""HTML dashboards that open offline, and the index of the report folder.

Design decisions:

- plotly.js (≈ 4.8 MB) is written once as ``<out_dir>/plotly.min.js`` from
  plotly's bundled copy and referenced by every page (``./plotly.min.js``):
  pages stay small, nothing is fetched from the network.
- Every text that comes from the data is escaped with `html.escape` here;
  chart labels are escaped by :mod:`onevision_dagster.reports.charts` and embedded
  through Plotly's JSON serializer, which writes ``<``, ``>`` and ``/`` as
  ``\\u003c``, ``\\u003e``, ``\\u002f``: no ``</script>`` can end a script early.
- Files are written to a temporary name then renamed, so the report server
  never serves half a page.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import html
import importlib.resources
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from onevision_dagster.contract.sources import DEPARTEMENT_PATTERN
from onevision_dagster.reports.charts import (
    ETAPE_LABELS,
    NON_POSITIONNEE_LABELS,
    DashboardData,
    build_figures,
    key_figures_fr,
)
from onevision_dagster.reports.formatting import MISSING, format_date, format_euros, format_nombre

log = logging.getLogger(__name__)

PLOTLY_JS = "plotly.min.js"
INDEX = "index.html"
FICHES_DIR = "fiches"
"""Sub-folder of the report folder where company sheets go (linked from the dashboards)."""

PAGE_KIND_DASHBOARD = "tableau-de-bord"
PAGE_KIND_FICHE = "fiche"

_SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.html")
_DEPARTEMENT = re.compile(DEPARTEMENT_PATTERN)

LEGAL_BASIS_HTML = """
<p><strong>Ce que recouvre le « montant compensable ».</strong> Le comptable public peut imputer
un remboursement ou une restitution dû à une entreprise sur le paiement de ses
<em>impôts, droits, taxes, pénalités et intérêts</em>, de sa propre initiative, lorsque les deux
créances sont liquides et exigibles (<strong>art. L. 257 B du LPF</strong>) ; il en informe alors
l'entreprise (<strong>art. R. 257 B-1 du LPF</strong>). En conséquence :</p>
<ul>
  <li>seules les dettes d'<strong>impôts professionnels exigibles</strong> à la date de situation sont
      compensables ; les amendes et les recettes non fiscales sont hors du champ de l'article L. 257 B,
      et les produits locaux appartiennent aux collectivités (un autre créancier) : jamais compensés ;</li>
  <li>une dette sous <strong>sursis de paiement</strong> n'est pas exigible
      (<strong>art. L. 277 du LPF</strong>) : elle est exclue ;</li>
  <li>seules les <strong>créances certaines</strong> comptent (crédit de TVA accordé, excédent à
      restituer, créance d'IS remboursable) ; les demandes en instruction restent potentielles ;</li>
  <li>dès l'ouverture d'une <strong>procédure collective</strong>, payer une dette antérieure au
      jugement, y compris par compensation, est interdit sauf créances connexes
      (<strong>art. L. 622-7 du Code de commerce</strong>) : le montant est ramené à 0 et l'agent
      apprécie au cas par cas.</li>
</ul>
<p>Montant compensable = le plus petit de (créances certaines, dettes fiscales compensables).
C'est une <strong>opportunité à examiner</strong> par un agent, pas une action réalisée par le logiciel.</p>
"""

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
tr.fermee td { color: #777; }
.drapeau { display: inline-block; padding: .1rem .45rem; margin: .1rem .2rem .1rem 0; border-radius: 3px;
           font-size: .8rem; font-weight: bold; background: #fee9e9; color: var(--rouge); }
.drapeau.info { background: #e8edff; color: var(--bleu); }
.encadre { background: #eef4ff; border-left: 4px solid var(--bleu); padding: .6rem 1rem; }
.alerte { background: #fee9e9; border-left: 4px solid var(--rouge); padding: .6rem 1rem; }
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


def dashboard_filename(departement: str | None) -> str:
    """Suggested file name of a dashboard (``tableau_de_bord_17.html``, ``tableau_de_bord_national.html``)."""
    return f"tableau_de_bord_{check_departement(departement) or 'national'}.html"


def write_text_atomic(path: Path, text: str) -> None:
    """Writes beside the target then renames: a reader sees the old or the new page, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_plotly_js(out_dir: Path) -> Path:
    """Copies plotly's bundled ``plotly.min.js`` once (again only if plotly was upgraded)."""
    target = out_dir / PLOTLY_JS
    source = importlib.resources.files("plotly") / "package_data" / PLOTLY_JS
    with importlib.resources.as_file(source) as src:
        if target.exists() and filecmp.cmp(src, target, shallow=False):
            return target
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{PLOTLY_JS}.", suffix=".tmp", dir=out_dir)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return target


def page_html(
    title: str,
    body: str,
    *,
    kind: str,
    perimetre: str = "",
    subtitle_html: str = "",
    head_extra: str = "",
) -> str:
    """A complete page: escaped title, shared style, metadata the index reads."""
    generated = dt.datetime.now().strftime("%d/%m/%Y à %H:%M")
    return f"""<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="onevision-page" content="{esc(kind)}">
<meta name="onevision-perimetre" content="{esc(perimetre)}">
<title>{esc(title)}</title>
<style>{PAGE_CSS}</style>
{head_extra}
</head>
<body>
<header>
<h1>{esc(title)}</h1>
{subtitle_html}
</header>
<main>
{body}
</main>
<footer>One Vision — document de travail à usage interne de l'administration. Généré le {generated}.
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


# ------------------------------------------------------------------ dashboard

_SECTION_HELP = {
    "dettes": "Restant dû des dettes ouvertes de chaque source. Une entreprise peut figurer dans plusieurs sources.",
    "creances": "Ce que l'État doit aux entreprises. Les créances hachurées sont potentielles (demandes en "
    "instruction) : elles ne peuvent pas être compensées.",
    "bilan": "Créances certaines moins dettes, toutes entreprises confondues.",
    "solde": "Nombre d'entreprises par tranche de solde (créances certaines − dettes).",
    "compensation": "Entreprises pour lesquelles une compensation est possible, par montant décroissant "
    "(voir la base légale en bas de page).",
    "anciennete": "Âge des dettes ouvertes à la date de situation (date de majoration, d'émission ou "
    "d'exigibilité selon la source).",
    "etapes": "Où en est le recouvrement des titres ouverts. Les amendes et recettes non fiscales n'ont pas d'étape.",
    "panel": "Entreprises ayant des dettes dans au moins deux sources, classées par priorité (montant, "
    "ancienneté, étape la plus avancée).",
    "qualite": "Lignes lues dans les fichiers sources : gardées ou rejetées (une ligne rejetée est listée "
    "avec son motif dans l'export des rejets).",
    "rejets": "Pourquoi des lignes ont été rejetées.",
    "rattachement": "Amendes rattachées à une entreprise : par SIREN, ou par nom et code postal "
    "quand le SIREN manque. En cas de doute l'amende n'est jamais rattachée.",
}


def _fiche_link(out_dir: Path, siren: str, departement: str | None, text_html: str) -> str:
    rel = f"{FICHES_DIR}/{fiche_filename(siren, departement)}"
    if (out_dir / rel).exists():
        return f'<a href="{esc(rel)}">{text_html}</a>'
    return text_html


def _compensation_table(data: DashboardData, out_dir: Path) -> str:
    df = data.top_compensation
    if df.empty:
        return "<p>Aucune compensation possible sur ce périmètre.</p>"
    rows = [
        [
            str(i),
            _fiche_link(out_dir, r.siren, data.departement, esc(r.denomination)),
            esc(r.siren),
            format_euros(r.montant_compensable),
            format_euros(r.total_creances),
            format_euros(r.dettes_compensables),
            format_euros(r.total_dettes),
        ]
        for i, r in enumerate(df.itertuples(index=False), start=1)
    ]
    headers = [
        ("Rang", False),
        ("Entreprise", False),
        ("SIREN", False),
        ("Montant compensable", True),
        ("Créances certaines", True),
        ("Impôts exigibles compensables", True),
        ("Total des dettes", True),
    ]
    return table_html(headers, rows, caption="Les 10 compensations possibles les plus importantes")


def _etape(etape: object) -> str:
    if etape is None or pd.isna(etape):
        return MISSING
    return ETAPE_LABELS.get(str(etape), str(etape))


def _panel_table(data: DashboardData, out_dir: Path) -> str:
    df = data.panel
    if df.empty:
        return ""
    rows = [
        [
            esc(int(r.rang)),
            _fiche_link(out_dir, r.siren, data.departement, esc(r.denomination)),
            esc(r.siren),
            format_euros(r.total_dettes),
            format_nombre(r.nb_sources_dettes),
            esc(_etape(r.etape_la_plus_avancee)),
            MISSING if pd.isna(r.anciennete_jours) else f"{format_nombre(r.anciennete_jours)} j",
            format_nombre(r.score, 2),
        ]
        for r in df.itertuples(index=False)
    ]
    headers = [
        ("Rang", False),
        ("Entreprise", False),
        ("SIREN", False),
        ("Total des dettes", True),
        ("Sources", True),
        ("Étape la plus avancée", False),
        ("Ancienneté", True),
        ("Score", True),
    ]
    return table_html(headers, rows, caption="Débiteurs communs, par ordre de priorité")


def _quality_notes(data: DashboardData) -> str:
    parts = []
    if not data.non_positionnees.empty:
        items = "".join(
            f"<li>{esc(NON_POSITIONNEE_LABELS.get(m, m))} : {format_nombre(n)} ligne(s)</li>"
            for m, n in zip(data.non_positionnees["motif"], data.non_positionnees["nb"], strict=True)
        )
        parts.append(
            "<p>Lignes gardées mais sans position (listées dans l'export <code>non_positionnees</code>) :</p>"
            f"<ul>{items}</ul>"
        )
    missing_files = data.chargements[data.chargements["nb_fichiers"] == 0] if not data.chargements.empty else None
    if missing_files is not None and not missing_files.empty:
        names = ", ".join(esc(s) for s in missing_files["source"])
        parts.append(f"<p class=alerte>Aucun fichier reçu pour : {names}.</p>")
    if data.tables_absentes:
        parts.append(
            "<p class=alerte>Tables absentes de l'entrepôt (sections vides) : "
            + esc(", ".join(data.tables_absentes))
            + "</p>"
        )
    return "".join(parts)


def _figure_div(key: str, fig: go.Figure) -> str:
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"graphe-{key}",
        default_width="100%",
        config={
            "displaylogo": False,
            "responsive": True,
            "toImageButtonOptions": {"format": "png", "filename": f"onevision_{key}"},
        },
    )


def render_dashboard(data: DashboardData, out_dir: Path, title: str) -> str:
    """The page as a string (``write_dashboard`` writes it)."""
    figures = build_figures(data)
    date = format_date(data.date_situation) if data.date_situation else MISSING
    cards = "".join(
        f'<div class="chiffre"><div class="libelle">{esc(label)}</div><div class="valeur">{esc(value)}</div>'
        f'<div class="detail">{esc(detail)}</div></div>'
        for label, value, detail in key_figures_fr(data)
    )
    nav = " ".join(f'<a href="#{esc(key)}">{esc(section)}</a>' for key, (section, _) in figures.items())
    sections = []
    for key, (section, fig) in figures.items():
        extra = ""
        if key == "compensation":
            extra = _compensation_table(data, out_dir)
        elif key == "panel":
            extra = _panel_table(data, out_dir)
        elif key == "rattachement":
            extra = _quality_notes(data)
        sections.append(
            f'<section id="{esc(key)}"><h2>{esc(section)}</h2>'
            f'<p class="aide">{esc(_SECTION_HELP.get(key, ""))}</p>{_figure_div(key, fig)}{extra}</section>'
        )
    body = (
        f'<section id="chiffres-cles"><h2>Chiffres clés</h2><div class="chiffres">{cards}</div></section>'
        f'<nav class="sommaire">Aller à : {nav} <a href="#base-legale">Base légale</a></nav>'
        + "".join(sections)
        + f'<section id="base-legale"><h2>Base légale de la compensation</h2>'
        f'<div class="encadre">{LEGAL_BASIS_HTML}</div></section>'
    )
    subtitle = (
        f"<p>{esc(data.libelle)} — situation au <strong>{esc(date)}</strong> — "
        f'<a href="{INDEX}">tous les tableaux de bord</a></p>'
    )
    head = f'<script src="./{PLOTLY_JS}" charset="utf-8"></script>'
    return page_html(
        title,
        body,
        kind=PAGE_KIND_DASHBOARD,
        perimetre=data.departement or "national",
        subtitle_html=subtitle,
        head_extra=head,
    )


def write_dashboard(data: DashboardData, out_dir: Path, title: str, filename: str) -> Path:
    """Writes one dashboard page, plotly.js beside it (once) and refreshes ``index.html``."""
    out_dir = Path(out_dir)
    path = out_dir / check_filename(filename)
    if filename == INDEX:
        raise ValueError("index.html est réservé à la page d'accueil des rapports")
    ensure_plotly_js(out_dir)
    write_text_atomic(path, render_dashboard(data, out_dir, title))
    write_index(out_dir)
    return path


# ------------------------------------------------------------------ index

_META = re.compile(r'<meta name="onevision-(page|perimetre)" content="([^"]*)">')
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _page_info(path: Path) -> tuple[str, str, str] | None:
    """(kind, perimetre, title) from a page we wrote; None for any other file."""
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
    )


def _perimetre_key(perimetre: str) -> tuple[int, str]:
    return (0, "") if perimetre == "national" else (1, perimetre.zfill(3))


def write_index(out_dir: Path) -> Path:
    """Rebuilds ``index.html`` from the pages present (dashboards, then company sheets)."""
    out_dir = Path(out_dir)
    dashboards: list[tuple[str, str, str]] = []
    fiches: list[tuple[str, str, str]] = []
    candidates = sorted(out_dir.glob("*.html")) + sorted((out_dir / FICHES_DIR).glob("*.html"))
    for path in candidates:
        if path.name == INDEX:
            continue
        info = _page_info(path)
        if info is None:
            continue
        kind, perimetre, title = info
        rel = path.relative_to(out_dir).as_posix()
        if kind == PAGE_KIND_DASHBOARD:
            dashboards.append((perimetre, title, rel))
        elif kind == PAGE_KIND_FICHE:
            fiches.append((perimetre, title, rel))
    dashboards.sort(key=lambda d: (_perimetre_key(d[0]), d[2]))
    fiches.sort(key=lambda f: (_perimetre_key(f[0]), f[1].lower(), f[2]))
    if dashboards:
        items = "".join(f'<li><a href="{esc(rel)}">{esc(title)}</a></li>' for _, title, rel in dashboards)
        body = f'<section><h2>Tableaux de bord</h2><ul id="tableaux-de-bord">{items}</ul></section>'
    else:
        body = "<section><h2>Tableaux de bord</h2><p>Aucun tableau de bord n'a encore été produit.</p></section>"
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
    write_text_atomic(path, page_html("One Vision — rapports", body, kind="index"))
    return path


# ------------------------------------------------------------------ static images

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
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(image if isinstance(image, bytes) else str(image).encode("utf-8"))
        os.replace(tmp, path)
    except Exception as exc:  # any renderer failure means "no image"
        log.warning("Image statique %s non produite : %s", path.name, type(exc).__name__)
        return False
    finally:
        if previous is None:
            os.environ.pop("BROWSER_PATH", None)
        else:
            os.environ["BROWSER_PATH"] = previous
    return path.stat().st_size > 0
