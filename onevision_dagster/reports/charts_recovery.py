"""Charts of the recovery work: age of open debts, recovery stages, common debtors."""

from __future__ import annotations

import html

import pandas as pd

from onevision_dagster.reports.chart_style import SOURCE_COLOURS, floats, ordered_sources, wrap_label
from onevision_dagster.reports.dashboard_data import ANCIENNETE_TRANCHES, DEBT_SOURCES, PANEL_TOP_N, ZERO
from onevision_dagster.reports.figure_dicts import (
    FigureDict,
    add_trace,
    count_axis,
    empty,
    new_figure,
    style,
    subplots_figure,
    update_axes,
    update_layout,
)
from onevision_dagster.reports.formatting import NBSP, format_euros, format_nombre
from onevision_dagster.reports.labels import ETAPE_LABELS, label_entreprise, source_label


def chart_anciennete(df: pd.DataFrame) -> FigureDict:
    """Open debts by age bucket, stacked by source (columns tranche, ordre, source, montant, nb_lignes)."""
    fig = new_figure()
    if df.empty:
        return style(empty(fig), "Ancienneté des dettes restant dues")
    for source in ordered_sources(df["source"]):
        part = df[df["source"] == source].set_index("tranche")
        montants = [part["montant"].get(t, ZERO) for t in ANCIENNETE_TRANCHES]
        nbs = [int(part["nb_lignes"].get(t, 0)) for t in ANCIENNETE_TRANCHES]
        add_trace(
            fig,
            "bar",
            name=source_label(source),
            x=[wrap_label(t, 12) for t in ANCIENNETE_TRANCHES],
            y=floats(montants),
            marker={"color": SOURCE_COLOURS.get(source, "#888")},
            customdata=[
                [source_label(source), format_euros(m), format_nombre(n)] for m, n in zip(montants, nbs, strict=True)
            ],
            hovertemplate=(
                "<b>%{x}</b> — %{customdata[0]}<br>Restant dû : %{customdata[1]}"
                "<br>Lignes : %{customdata[2]}<extra></extra>"
            ),
        )
    update_layout(fig, barmode="stack")
    total_old = sum(
        (m for t, m in zip(df["tranche"], df["montant"], strict=True) if t == ANCIENNETE_TRANCHES[-1]), ZERO
    )
    return style(fig, f"Ancienneté des dettes restant dues — plus de 2 ans : {format_euros(total_old)}")


def chart_etapes(df: pd.DataFrame) -> FigureDict:
    """Open debt lines per recovery stage: number of lines and amount, by source."""
    fig = subplots_figure(("Nombre de titres", "Montant restant dû"), horizontal_spacing=0.06)
    if df.empty:
        return style(
            empty(fig),
            "Étapes du recouvrement (produits locaux et impôts professionnels)",
            montant_axis=None,
        )
    stages = list(dict.fromkeys(df["etape"]))
    labels = [ETAPE_LABELS.get(e, html.escape(str(e), quote=False)) for e in stages]
    for source in ordered_sources(df["source"]):
        part = df[df["source"] == source].set_index("etape")
        nbs = [int(part["nb_lignes"].get(e, 0)) for e in stages]
        montants = [part["montant"].get(e, ZERO) for e in stages]
        custom = [[source_label(source), format_nombre(n), format_euros(m)] for n, m in zip(nbs, montants, strict=True)]
        common = {
            "y": labels,
            "orientation": "h",
            "marker": {"color": SOURCE_COLOURS.get(source, "#888")},
            "customdata": custom,
            "legendgroup": source,
            "hovertemplate": "<b>%{y}</b> — %{customdata[0]}<br>Titres : %{customdata[1]}"
            "<br>Restant dû : %{customdata[2]}<extra></extra>",
        }
        add_trace(fig, "bar", col=1, x=nbs, name=source_label(source), **common)
        add_trace(fig, "bar", col=2, x=floats(montants), name=source_label(source), showlegend=False, **common)
    update_layout(fig, barmode="stack")
    update_axes(fig, "y", {"autorange": "reversed", "automargin": True})
    count_axis(fig, "x", int(df.groupby("etape")["nb_lignes"].sum().max()), col=1)
    update_axes(fig, "x", {"tickformat": ",.0f", "ticksuffix": NBSP + "€"}, col=2)
    return style(
        fig,
        "Étapes du recouvrement (produits locaux et impôts professionnels)",
        height=max(360, 120 + 45 * len(stages)),
        montant_axis=None,
    )


def _etape_label(etape: str | None) -> str:
    if etape is None or (isinstance(etape, float) and pd.isna(etape)):
        return "aucune"
    return ETAPE_LABELS.get(etape, html.escape(str(etape), quote=False))


def chart_panel(df: pd.DataFrame, top_n: int = PANEL_TOP_N) -> FigureDict:
    """Common debtors (debts in 2+ sources) in priority order, debts stacked by source."""
    fig = new_figure()
    title = "Débiteurs communs à plusieurs sources"
    if df.empty:
        return style(empty(fig, "Aucun débiteur commun"), title, montant_axis=None)
    df = df.sort_values("rang").head(top_n).iloc[::-1]
    labels = [
        f"{int(r)}. {label_entreprise(d, s)}"
        for r, d, s in zip(df["rang"], df["denomination"], df["siren"], strict=True)
    ]
    details = [
        [format_euros(t), format_nombre(n), _etape_label(e), format_nombre(sc, 2)]
        for t, n, e, sc in zip(
            df["total_dettes"], df["nb_sources_dettes"], df["etape_la_plus_avancee"], df["score"], strict=True
        )
    ]
    for source in DEBT_SOURCES:
        col = df[f"dettes_{source}"]
        add_trace(
            fig,
            "bar",
            name=source_label(source),
            y=labels,
            x=floats(col),
            orientation="h",
            marker={"color": SOURCE_COLOURS[source]},
            customdata=[
                [label, source_label(source), format_euros(m), *d]
                for label, m, d in zip(labels, col, details, strict=True)
            ],
            hovertemplate=(
                "<b>%{customdata[0]}</b><br>%{customdata[1]} : %{customdata[2]}"
                "<br>Total des dettes : %{customdata[3]} (%{customdata[4]} sources)"
                "<br>Étape la plus avancée : %{customdata[5]}<br>Score de priorité : %{customdata[6]}"
                "<extra></extra>"
            ),
        )
    update_layout(fig, barmode="stack")
    return style(
        fig,
        f"{title} — les {len(df)} premiers par priorité",
        height=max(360, 100 + 36 * len(df)),
        montant_axis="x",
    )
