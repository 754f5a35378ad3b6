"""Charts of the recovery work: age of open debts, recovery stages, common debtors."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from onevision_dagster.reports.chart_style import (
    SOURCE_COLOURS,
    count_axis,
    empty_figure,
    floats,
    ordered_sources,
    style_figure,
    wrap_label,
)
from onevision_dagster.reports.dashboard_data import ANCIENNETE_TRANCHES, DEBT_SOURCES, PANEL_TOP_N, ZERO
from onevision_dagster.reports.formatting import NBSP, format_euros, format_nombre
from onevision_dagster.reports.labels import ETAPE_LABELS, label_entreprise, source_label


def chart_anciennete(df: pd.DataFrame) -> go.Figure:
    """Open debts by age bucket, stacked by source (columns tranche, ordre, source, montant, nb_lignes)."""
    fig = go.Figure()
    if df.empty:
        return style_figure(empty_figure(fig), "Ancienneté des dettes restant dues")
    for source in ordered_sources(df["source"]):
        part = df[df["source"] == source].set_index("tranche")
        montants = [part["montant"].get(t, ZERO) for t in ANCIENNETE_TRANCHES]
        nbs = [int(part["nb_lignes"].get(t, 0)) for t in ANCIENNETE_TRANCHES]
        fig.add_bar(
            name=source_label(source),
            x=[wrap_label(t, 12) for t in ANCIENNETE_TRANCHES],
            y=floats(montants),
            marker_color=SOURCE_COLOURS.get(source, "#888"),
            customdata=[
                [source_label(source), format_euros(m), format_nombre(n)] for m, n in zip(montants, nbs, strict=True)
            ],
            hovertemplate=(
                "<b>%{x}</b> — %{customdata[0]}<br>Restant dû : %{customdata[1]}"
                "<br>Lignes : %{customdata[2]}<extra></extra>"
            ),
        )
    fig.update_layout(barmode="stack")
    total_old = sum(
        (m for t, m in zip(df["tranche"], df["montant"], strict=True) if t == ANCIENNETE_TRANCHES[-1]), ZERO
    )
    return style_figure(fig, f"Ancienneté des dettes restant dues — plus de 2 ans : {format_euros(total_old)}")


def chart_etapes(df: pd.DataFrame) -> go.Figure:
    """Open debt lines per recovery stage: number of lines and amount, by source."""
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        subplot_titles=("Nombre de titres", "Montant restant dû"),
        horizontal_spacing=0.06,
    )
    if df.empty:
        return style_figure(
            empty_figure(fig),
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
            "marker_color": SOURCE_COLOURS.get(source, "#888"),
            "customdata": custom,
            "legendgroup": source,
            "hovertemplate": "<b>%{y}</b> — %{customdata[0]}<br>Titres : %{customdata[1]}"
            "<br>Restant dû : %{customdata[2]}<extra></extra>",
        }
        fig.add_trace(go.Bar(x=nbs, name=source_label(source), **common), row=1, col=1)
        fig.add_trace(go.Bar(x=floats(montants), name=source_label(source), showlegend=False, **common), row=1, col=2)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", automargin=True)
    count_axis(fig, "x", int(df.groupby("etape")["nb_lignes"].sum().max()), row=1, col=1)
    fig.update_xaxes(tickformat=",.0f", ticksuffix=NBSP + "€", row=1, col=2)
    return style_figure(
        fig,
        "Étapes du recouvrement (produits locaux et impôts professionnels)",
        height=max(360, 120 + 45 * len(stages)),
        montant_axis=None,
    )


def _etape_label(etape: str | None) -> str:
    if etape is None or (isinstance(etape, float) and pd.isna(etape)):
        return "aucune"
    return ETAPE_LABELS.get(etape, html.escape(str(etape), quote=False))


def chart_panel(df: pd.DataFrame, top_n: int = PANEL_TOP_N) -> go.Figure:
    """Common debtors (debts in 2+ sources) in priority order, debts stacked by source."""
    fig = go.Figure()
    title = "Débiteurs communs à plusieurs sources"
    if df.empty:
        return style_figure(empty_figure(fig, "Aucun débiteur commun"), title, montant_axis=None)
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
        fig.add_bar(
            name=source_label(source),
            y=labels,
            x=floats(col),
            orientation="h",
            marker_color=SOURCE_COLOURS[source],
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
    fig.update_layout(barmode="stack")
    return style_figure(
        fig,
        f"{title} — les {len(df)} premiers par priorité",
        height=max(360, 100 + 36 * len(df)),
        montant_axis="x",
    )
