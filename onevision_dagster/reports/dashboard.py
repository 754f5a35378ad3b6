"""HTML dashboards that open offline.

Design decisions:

- plotly.js (≈ 4.8 MB) is written once as ``<out_dir>/plotly.min.js`` from
  plotly's bundled copy and referenced by every page (``./plotly.min.js``):
  pages stay small, nothing is fetched from the network.
- Chart labels are escaped by the chart builders and embedded through Plotly's
  JSON serializer, which writes ``<``, ``>`` and ``/`` as ``\\u003c``,
  ``\\u003e``, ``\\u002f``: no ``</script>`` can end a script early.
"""

from __future__ import annotations

import filecmp
import importlib.resources
import shutil
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from onevision_dagster.consolidate.snapshot import REGISTER
from onevision_dagster.reports import freshness
from onevision_dagster.reports.atomic_files import written_beside
from onevision_dagster.reports.charts import build_figure_dicts
from onevision_dagster.reports.dashboard_data import DashboardData
from onevision_dagster.reports.figure_dicts import FigureDict
from onevision_dagster.reports.formatting import MISSING, format_date, format_euros, format_nombre
from onevision_dagster.reports.html_page import (
    INDEX,
    PAGE_KIND_DASHBOARD,
    check_filename,
    company_sheet_link,
    esc,
    page_html,
    table_html,
    write_text_atomic,
)
from onevision_dagster.reports.index_page import write_index
from onevision_dagster.reports.key_figures import key_figures_fr
from onevision_dagster.reports.labels import ETAPE_LABELS, NON_POSITIONNEE_LABELS, source_label
from onevision_dagster.reports.legal import LEGAL_BASIS_HTML

PLOTLY_JS = "plotly.min.js"


def ensure_plotly_js(out_dir: Path) -> Path:
    """Copies plotly's bundled ``plotly.min.js`` once (again only if plotly was upgraded)."""
    target = out_dir / PLOTLY_JS
    source = importlib.resources.files("plotly") / "package_data" / PLOTLY_JS
    with importlib.resources.as_file(source) as src:
        if target.exists() and filecmp.cmp(src, target, shallow=False):
            return target
        with written_beside(target) as tmp:
            shutil.copyfile(src, tmp)
    return target


_SECTION_HELP = {
    "dettes": "Restant dû des dettes échues de chaque source (leur somme est le total des dettes échues, "
    "poursuivables ou suspendues). Montrés à part, hachurés et hors total : les impôts professionnels à échoir "
    "(pas encore échus, non compensables avant leur date) et les amendes admises en non-valeur (non éteintes, à "
    "reconsidérer). Une entreprise peut figurer dans plusieurs sources.",
    "creances": "Ce que l'État doit aux entreprises. Pleines : créances certaines et dues, les seules "
    "compensables. Pointillées : créances d'IS à échoir (non compensables avant leur date). Les créances "
    "potentielles (demandes en instruction) ne sont pas des créances : leur montant est donné à part, sous le "
    "titre.",
    "bilan": "Dettes échues (poursuivables, puis suspendues en hachuré) à côté des créances certaines et dues, "
    "toutes entreprises confondues. Les unes ne sont jamais soustraites des autres : la créance d'une commune et "
    "le remboursement dû par l'État ne sont pas dus entre les mêmes personnes (art. 1347 du Code civil), et les "
    "créances d'une entreprise ne paient pas les dettes d'une autre.",
    "suspensions": "Dettes échues dont le recouvrement est suspendu, par motif : sursis de paiement (art. L. 277 "
    "du LPF), titre contesté en justice (art. L. 1617-5 du CGCT), procédure collective (art. L. 622-21 du Code de "
    "commerce ; postérieures au jugement : à qualifier, art. L. 622-17). Ni poursuivies ni compensées.",
    "compensation": "Entreprises pour lesquelles une compensation est possible, par montant décroissant ; puis "
    "celles dont la compensation est bloquée, avec le motif (voir la base légale en bas de page). Les amendes, "
    "recettes non fiscales et produits locaux sont hors L. 257 B.",
    "anciennete": "Âge des dettes restant dues à la date de situation (date de majoration, d'émission ou "
    "d'échéance selon la source) ; les impôts à échoir sont dans la première tranche.",
    "etapes": "Où en est le recouvrement des titres ouverts. Les amendes et recettes non fiscales n'ont pas d'étape.",
    "panel": "Entreprises ayant des dettes échues dans au moins deux sources et quelque chose de poursuivable, "
    "classées par priorité (montant poursuivable, ancienneté, étape la plus avancée). Les entreprises en procédure "
    "collective (toute poursuite arrêtée, art. L. 622-21 du Code de commerce : voir la liste des déclarations de "
    "créances) et celles dont toutes les dettes sont suspendues n'y figurent pas.",
    "qualite": "Lignes lues dans les fichiers des départements de la dernière situation du périmètre : gardées ou "
    "rejetées (une ligne rejetée est listée avec son motif dans l'export des rejets). Le registre national, d'une "
    "autre échelle, n'est jamais sur le même axe : le tableau de bord national en donne les chiffres à part, sous "
    "les graphiques de qualité.",
    "rejets": "Pourquoi des lignes des fichiers de la dernière situation ont été rejetées.",
    "rattachement": "Amendes rattachées à une entreprise : par SIREN, ou par nom et code postal "
    "quand le SIREN manque. En cas de doute l'amende n'est jamais rattachée.",
}


def _compensation_table(data: DashboardData, out_dir: Path) -> str:
    df = data.top_compensation
    if df.empty:
        html = "<p>Aucune compensation possible sur ce périmètre.</p>"
    else:
        rows = [
            [
                str(i),
                company_sheet_link(r.siren, esc(r.denomination)),
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
            ("Créances certaines et dues", True),
            ("Impôts échus et poursuivables", True),
            ("Total des dettes échues", True),
        ]
        html = table_html(headers, rows, caption="Les 10 compensations possibles les plus importantes")
    return html + _blocked_table(data, out_dir)


def _blocked_table(data: DashboardData, out_dir: Path) -> str:
    """Companies whose offsetting is blocked, with why: the agent reviews each one."""
    df = data.compensation_bloquee
    if df.empty:
        return "<p>Aucune compensation bloquée sur ce périmètre.</p>"
    rows = [
        [
            company_sheet_link(r.siren, esc(r.denomination)),
            esc(r.siren),
            f'<span class="drapeau">Compensation bloquée</span> {esc(r.motif)}',
            format_euros(r.montant_en_jeu),
            format_euros(r.passif_declare),
        ]
        for r in df.itertuples(index=False)
    ]
    headers = [
        ("Entreprise", False),
        ("SIREN", False),
        ("Motif du blocage", False),
        ("Montant en jeu sans le blocage (créances, impôts échus)", True),
        ("Passif déclaré", True),
    ]
    return table_html(headers, rows, caption="Compensations bloquées, à examiner au cas par cas (les 10 plus "
                      "importantes)")


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
            company_sheet_link(r.siren, esc(r.denomination)),
            esc(r.siren),
            format_euros(getattr(r, "dettes_poursuivables", r.total_dettes)),
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
        ("Dettes poursuivables", True),
        ("Dettes échues", True),
        ("Sources", True),
        ("Étape la plus avancée", False),
        ("Ancienneté", True),
        ("Score", True),
    ]
    return table_html(headers, rows, caption="Débiteurs communs, par ordre de priorité")


def _refused_files(data: DashboardData) -> str:
    """Refused files newer than the data shown, first and in red: a refused file is never shown as loaded."""
    if data.fichiers_refuses.empty:
        return ""
    items = []
    for row in data.fichiers_refuses.itertuples(index=False):  # a handful of files, never one per company
        used = (f"les chiffres restent ceux du fichier valide du {format_date(row.dernier_valide)}"
                if row.dernier_valide is not None and not pd.isna(row.dernier_valide)
                else "aucun fichier valide de cette source : elle n'est pas comptée")
        where = "registre national" if row.source == REGISTER else f"{source_label(row.source)}, {row.departement}"
        items.append(f"<li><strong>{esc(row.fichier)}</strong> ({esc(where)}) : {esc(row.message or 'refusé')} — "
                     f"{esc(used)}.</li>")
    return ('<div class=alerte id="fichiers-refuses"><p><strong>Fichiers refusés</strong> : ces extraits n\'ont pas '
            "été chargés (section 4 du contrat) ; les données affichées sont antérieures. Déposez un fichier "
            f"corrigé.</p><ul>{''.join(items)}</ul></div>")


def _quality_notes(data: DashboardData) -> str:
    parts = []
    if data.registre_lignes is not None:
        lues, gardees, rejetees = data.registre_lignes
        parts.append(f'<p id="registre">Registre national des entreprises (à part, autre échelle) : '
                     f"{format_nombre(lues)} lignes lues, {format_nombre(gardees)} gardées, "
                     f"{format_nombre(rejetees)} rejetées.</p>")
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


def figure_div(key: str, fig: go.Figure | FigureDict) -> str:
    """A chart as a ``<div>`` drawn by the plotly.js served beside the page (never inlined, never a CDN).

    A ``go.Figure`` was validated as it was built; a plain dict (`figure_dicts`) is written as it is."""
    return pio.to_html(
        fig,
        validate=False,
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


def render_dashboard(data: DashboardData, out_dir: Path, title: str, freshness_days: int | None = None) -> str:
    """The page as a string (``write_dashboard`` writes it)."""
    figures = build_figure_dicts(data)
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
            f'<p class="aide">{esc(_SECTION_HELP.get(key, ""))}</p>{figure_div(key, fig)}{extra}</section>'
        )
    body = (
        _refused_files(data)
        + f'<section id="chiffres-cles"><h2>Chiffres clés</h2><div class="chiffres">{cards}</div></section>'
        f'<nav class="sommaire">Aller à : {nav} <a href="#base-legale">Base légale</a></nav>'
        + "".join(sections)
        + f'<section id="base-legale"><h2>Base légale de la compensation</h2>'
        f'<div class="encadre">{LEGAL_BASIS_HTML}</div></section>'
    )
    rows = freshness.flag(dict(zip(data.fraicheur["departement"], data.fraicheur["date_situation"], strict=True)),
                          freshness.limit_days(freshness_days))
    subtitle = (
        f"<p>{esc(data.libelle)} — situation au <strong>{esc(date)}</strong> — "
        f'<a href="{INDEX}">tous les tableaux de bord</a></p>' + freshness.paragraph(rows, "page produite")
    )
    head = f'<script src="./{PLOTLY_JS}" charset="utf-8"></script>'
    return page_html(
        title,
        body,
        kind=PAGE_KIND_DASHBOARD,
        perimetre=data.departement or "national",
        subtitle_html=subtitle,
        head_extra=head,
        synthetic=data.synthetique,
    )


def write_dashboard(data: DashboardData, out_dir: Path, title: str, filename: str,
                    freshness_days: int | None = None) -> Path:
    """Writes one dashboard page, plotly.js beside it (once) and refreshes ``index.html``."""
    out_dir = Path(out_dir)
    path = out_dir / check_filename(filename)
    if filename == INDEX:
        raise ValueError("index.html est réservé à la page d'accueil des rapports")
    ensure_plotly_js(out_dir)
    write_text_atomic(path, render_dashboard(data, out_dir, title, freshness_days))
    write_index(out_dir)
    return path
