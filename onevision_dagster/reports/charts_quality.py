"""Charts of data quality: rows kept and rejected per source, reasons, fines attached."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from onevision_dagster.reports.chart_style import (
    SOURCE_COLOURS,
    count_axis,
    empty_figure,
    ordered_sources,
    style_figure,
    wrap_label,
)
from onevision_dagster.reports.formatting import format_nombre, format_pourcentage
from onevision_dagster.reports.labels import MOTIF_LABELS, source_label


def chart_qualite_sources(df: pd.DataFrame) -> go.Figure:
    """Rows kept and rejected per source file."""
    fig = go.Figure()
    if df.empty:
        return style_figure(
            empty_figure(fig, "Aucun chargement enregistré"),
            "Lignes gardées et rejetées par source",
            montant_axis=None,
        )
    labels = [wrap_label(source_label(s), 14) for s in df["source"]]
    for col, name, colour in (
        ("lignes_gardees", "Gardées", "#2ca02c"),
        ("lignes_rejetees", "Rejetées", "#d62728"),
    ):
        fig.add_bar(
            name=name,
            x=labels,
            y=[int(v) for v in df[col]],
            marker_color=colour,
            text=[format_nombre(v) for v in df[col]],
            textposition="auto",
            customdata=[
                [format_nombre(v), format_nombre(lues), format_pourcentage(v, lues)]
                for v, lues in zip(df[col], df["lignes_lues"], strict=True)
            ],
            hovertemplate=f"<b>%{{x}}</b><br>{name} : %{{customdata[0]}} sur %{{customdata[1]}} lues"
            " (%{customdata[2]})<extra></extra>",
        )
    fig.update_layout(barmode="stack")
    fig = style_figure(fig, "Lignes gardées et rejetées par source", montant_axis=None)
    fig.update_yaxes(title_text="Lignes")
    count_axis(fig, "y", int(df["lignes_lues"].max()))
    return fig


def chart_motifs_rejet(df: pd.DataFrame) -> go.Figure:
    """Why rows were rejected (columns source, motif, nb)."""
    fig = go.Figure()
    title = "Motifs de rejet"
    if df.empty:
        return style_figure(empty_figure(fig, "Aucune ligne rejetée"), title, montant_axis=None)
    per_motif = df.groupby("motif")["nb"].sum().sort_values(ascending=False, kind="stable")
    motifs = list(per_motif.index)
    labels = [MOTIF_LABELS.get(m, html.escape(str(m), quote=False)) for m in motifs]
    for source in ordered_sources(df["source"]):
        part = df[df["source"] == source].set_index("motif")["nb"]
        fig.add_bar(
            name=source_label(source),
            y=labels,
            x=[int(part.get(m, 0)) for m in motifs],
            orientation="h",
            marker_color=SOURCE_COLOURS.get(source, "#888"),
            customdata=[source_label(source)] * len(motifs),
            hovertemplate="<b>%{y}</b><br>%{customdata} : %{x} ligne(s)<extra></extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed")
    fig = style_figure(
        fig,
        f"{title} — {format_nombre(int(df['nb'].sum()))} ligne(s) rejetée(s)",
        height=max(300, 120 + 40 * len(motifs)),
        montant_axis=None,
    )
    fig.update_xaxes(title_text="Lignes")
    count_axis(fig, "x", int(per_motif.max()))
    return fig


def chart_rattachement_amendes(df: pd.DataFrame) -> go.Figure:
    """Share of fines attached to a company (donut; columns resultat, libelle, nb)."""
    total = int(df["nb"].sum()) if not df.empty else 0
    attached = int(df.loc[df["resultat"].isin(["SIREN", "NOM"]), "nb"].sum()) if total else 0
    title = f"Rattachement des amendes : {format_pourcentage(attached, total)} rattachées"
    fig = go.Figure()
    if not total:
        return style_figure(empty_figure(fig, "Aucune amende"), title, montant_axis=None)
    fig.add_trace(
        go.Pie(
            labels=list(df["libelle"]),
            values=[int(n) for n in df["nb"]],
            hole=0.5,
            sort=False,
            marker={"colors": ["#2ca02c", "#98df8a", "#ff7f0e", "#d62728"]},
            texttemplate="%{percent:.1%}",
            customdata=[format_nombre(n) for n in df["nb"]],
            hovertemplate="<b>%{label}</b><br>%{customdata} amende(s) (%{percent:.1%})<extra></extra>",
        )
    )
    return style_figure(fig, title, montant_axis=None)
