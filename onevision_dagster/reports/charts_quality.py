"""Charts of data quality: rows kept and rejected per source, reasons, fines attached."""

from __future__ import annotations

import html

import pandas as pd

from onevision_dagster.reports.chart_style import SOURCE_COLOURS, ordered_sources, wrap_label
from onevision_dagster.reports.figure_dicts import (
    FigureDict,
    add_trace,
    count_axis,
    empty,
    new_figure,
    style,
    update_axes,
    update_layout,
)
from onevision_dagster.reports.formatting import format_nombre, format_pourcentage
from onevision_dagster.reports.labels import MOTIF_LABELS, source_label


def chart_qualite_sources(df: pd.DataFrame) -> FigureDict:
    """Rows kept and rejected per source file."""
    fig = new_figure()
    if df.empty:
        return style(
            empty(fig, "Aucun chargement enregistré"),
            "Lignes gardées et rejetées par source",
            montant_axis=None,
        )
    labels = [wrap_label(source_label(s), 14) for s in df["source"]]
    for col, name, colour in (
        ("lignes_gardees", "Gardées", "#2ca02c"),
        ("lignes_rejetees", "Rejetées", "#d62728"),
    ):
        add_trace(
            fig,
            "bar",
            name=name,
            x=labels,
            y=[int(v) for v in df[col]],
            marker={"color": colour},
            text=[format_nombre(v) for v in df[col]],
            textposition="auto",
            customdata=[
                [format_nombre(v), format_nombre(lues), format_pourcentage(v, lues)]
                for v, lues in zip(df[col], df["lignes_lues"], strict=True)
            ],
            hovertemplate=f"<b>%{{x}}</b><br>{name} : %{{customdata[0]}} sur %{{customdata[1]}} lues"
            " (%{customdata[2]})<extra></extra>",
        )
    update_layout(fig, barmode="stack")
    style(fig, "Lignes gardées et rejetées par source", montant_axis=None)
    update_axes(fig, "y", {"title": {"text": "Lignes"}})
    count_axis(fig, "y", int(df["lignes_lues"].max()))
    return fig


def chart_motifs_rejet(df: pd.DataFrame) -> FigureDict:
    """Why rows were rejected (columns source, motif, nb)."""
    fig = new_figure()
    title = "Motifs de rejet"
    if df.empty:
        return style(empty(fig, "Aucune ligne rejetée"), title, montant_axis=None)
    per_motif = df.groupby("motif")["nb"].sum().sort_values(ascending=False, kind="stable")
    motifs = list(per_motif.index)
    labels = [MOTIF_LABELS.get(m, html.escape(str(m), quote=False)) for m in motifs]
    for source in ordered_sources(df["source"]):
        part = df[df["source"] == source].set_index("motif")["nb"]
        add_trace(
            fig,
            "bar",
            name=source_label(source),
            y=labels,
            x=[int(part.get(m, 0)) for m in motifs],
            orientation="h",
            marker={"color": SOURCE_COLOURS.get(source, "#888")},
            customdata=[source_label(source)] * len(motifs),
            hovertemplate="<b>%{y}</b><br>%{customdata} : %{x} ligne(s)<extra></extra>",
        )
    update_layout(fig, barmode="stack")
    update_axes(fig, "y", {"autorange": "reversed"})
    style(
        fig,
        f"{title} — {format_nombre(int(df['nb'].sum()))} ligne(s) rejetée(s)",
        height=max(300, 120 + 40 * len(motifs)),
        montant_axis=None,
    )
    update_axes(fig, "x", {"title": {"text": "Lignes"}})
    count_axis(fig, "x", int(per_motif.max()))
    return fig


def chart_rattachement_amendes(df: pd.DataFrame) -> FigureDict:
    """Share of fines attached to a company (donut; columns resultat, libelle, nb)."""
    total = int(df["nb"].sum()) if not df.empty else 0
    attached = int(df.loc[df["resultat"].isin(["SIREN", "NOM"]), "nb"].sum()) if total else 0
    title = f"Rattachement des amendes : {format_pourcentage(attached, total)} rattachées"
    fig = new_figure()
    if not total:
        return style(empty(fig, "Aucune amende"), title, montant_axis=None)
    add_trace(
        fig,
        "pie",
        labels=list(df["libelle"]),
        values=[int(n) for n in df["nb"]],
        hole=0.5,
        sort=False,
        marker={"colors": ["#2ca02c", "#98df8a", "#ff7f0e", "#d62728"]},
        texttemplate="%{percent:.1%}",
        customdata=[format_nombre(n) for n in df["nb"]],
        hovertemplate="<b>%{label}</b><br>%{customdata} amende(s) (%{percent:.1%})<extra></extra>",
    )
    return style(fig, title, montant_axis=None)
