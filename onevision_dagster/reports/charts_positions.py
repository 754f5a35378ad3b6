"""Charts of the positions: debts and credits by source, net balance, balance buckets, offsetting.

Company names only reach Plotly HTML-escaped (`label_entreprise`), and
Plotly.js turns the entities back into plain text nodes: ``<script>`` shows as
text and never runs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from onevision_dagster.reports.chart_style import (
    SOURCE_COLOURS,
    count_axis,
    empty_figure,
    euros_short,
    floats,
    style_figure,
    wrap_label,
)
from onevision_dagster.reports.dashboard_data import ZERO
from onevision_dagster.reports.formatting import format_euros, format_nombre
from onevision_dagster.reports.labels import label_entreprise


def chart_dettes_par_source(df: pd.DataFrame) -> go.Figure:
    """Remaining due of open debts per source (columns source, libelle, montant, nb_entreprises)."""
    fig = go.Figure()
    if df.empty or not any(df["montant"]):
        return style_figure(empty_figure(fig), "Dettes restant dues par source")
    fig.add_bar(
        x=[wrap_label(label) for label in df["libelle"]],
        y=floats(df["montant"]),
        marker_color=[SOURCE_COLOURS.get(s, "#888") for s in df["source"]],
        text=[euros_short(m) for m in df["montant"]],
        textposition="auto",
        customdata=[
            [format_euros(m), format_nombre(n)] for m, n in zip(df["montant"], df["nb_entreprises"], strict=True)
        ],
        hovertemplate=("<b>%{x}</b><br>Restant dû : %{customdata[0]}<br>Entreprises : %{customdata[1]}<extra></extra>"),
        name="Dettes",
    )
    total = sum(df["montant"], ZERO)
    return style_figure(fig, f"Dettes restant dues par source — total {format_euros(total)}")


def chart_creances_par_source(df: pd.DataFrame) -> go.Figure:
    """Credits the State owes per source; potential credits apart (not offsettable)."""
    fig = go.Figure()
    if df.empty or not any(df["montant"]):
        return style_figure(empty_figure(fig), "Créances dues par l'État, par source")
    colours = [SOURCE_COLOURS.get(s, "#888") for s in df["categorie"]]
    fig.add_bar(
        x=[wrap_label(label) for label in df["libelle"]],
        y=floats(df["montant"]),
        marker_color=colours,
        marker_pattern_shape=["" if c else "/" for c in df["certaine"]],
        text=[euros_short(m) for m in df["montant"]],
        textposition="auto",
        customdata=[
            [format_euros(m), format_nombre(n), "certaine" if c else "potentielle (non compensable)"]
            for m, n, c in zip(df["montant"], df["nb_entreprises"], df["certaine"], strict=True)
        ],
        hovertemplate=(
            "<b>%{x}</b><br>Montant : %{customdata[0]}<br>Créance %{customdata[2]}"
            "<br>Entreprises : %{customdata[1]}<extra></extra>"
        ),
        name="Créances",
    )
    certain = sum((m for m, c in zip(df["montant"], df["certaine"], strict=True) if c), ZERO)
    return style_figure(fig, f"Créances dues par l'État — certaines : {format_euros(certain)}")


def chart_bilan(totaux: dict[str, Any]) -> go.Figure:
    """Certain credits minus debts = net balance, as a waterfall."""
    creances, dettes, solde = totaux["total_creances"], totaux["total_dettes"], totaux["solde"]
    fig = go.Figure(
        go.Waterfall(
            x=["Créances certaines", "Dettes", "Solde net"],
            measure=["relative", "relative", "total"],
            y=[float(creances), -float(dettes), float(solde)],
            text=[euros_short(creances), euros_short(-dettes), euros_short(solde)],
            textposition="outside",
            customdata=[format_euros(creances), format_euros(-dettes), format_euros(solde)],
            hovertemplate="<b>%{x}</b><br>%{customdata}<extra></extra>",
            increasing={"marker": {"color": SOURCE_COLOURS["credits_tva"]}},
            decreasing={"marker": {"color": SOURCE_COLOURS["impots_pro"]}},
            totals={"marker": {"color": "#444"}},
            connector={"line": {"color": "#bbb"}},
            name="Bilan",
        )
    )
    return style_figure(fig, f"Solde net : {format_euros(solde)} (négatif : les entreprises doivent)")


def chart_repartition_solde(df: pd.DataFrame) -> go.Figure:
    """How many companies owe how much (columns tranche, nb_entreprises, montant)."""
    fig = go.Figure()
    if df.empty or not df["nb_entreprises"].sum():
        return style_figure(empty_figure(fig), "Répartition des entreprises selon leur solde", montant_axis=None)
    colours = ["#67000d", "#a50f15", "#ef3b2c", "#fc9272", "#bdbdbd", "#a1d99b", "#238b45"]
    fig.add_bar(
        x=[wrap_label(t, 16) for t in df["tranche"]],
        y=[int(n) for n in df["nb_entreprises"]],
        marker_color=colours[: len(df)],
        text=[format_nombre(n) for n in df["nb_entreprises"]],
        textposition="auto",
        customdata=[
            [format_nombre(n), format_euros(m)] for n, m in zip(df["nb_entreprises"], df["montant"], strict=True)
        ],
        hovertemplate=(
            "<b>%{x}</b><br>Entreprises : %{customdata[0]}<br>Solde cumulé : %{customdata[1]}<extra></extra>"
        ),
        name="Entreprises",
    )
    fig = style_figure(fig, "Répartition des entreprises selon leur solde (créances − dettes)", montant_axis=None)
    fig.update_yaxes(title_text="Nombre d'entreprises")
    count_axis(fig, "y", int(df["nb_entreprises"].max()))
    return fig


def chart_compensation(df: pd.DataFrame, totaux: dict[str, Any]) -> go.Figure:
    """The 10 largest offsetting opportunities, total and count in the title."""
    title = (
        f"Compensations possibles : {format_euros(totaux['montant_compensable'])} "
        f"pour {format_nombre(totaux['nb_compensables'])} entreprise(s)<br><sup>les 10 plus importantes</sup>"
    )
    fig = go.Figure()
    if df.empty:
        return style_figure(empty_figure(fig, "Aucune compensation possible"), title, montant_axis=None)
    df = df.iloc[::-1]  # largest on top
    labels = [label_entreprise(d, s) for d, s in zip(df["denomination"], df["siren"], strict=True)]
    fig.add_bar(
        y=labels,
        x=floats(df["montant_compensable"]),
        orientation="h",
        marker_color=SOURCE_COLOURS["credits_tva"],
        text=[euros_short(m) for m in df["montant_compensable"]],
        textposition="auto",
        customdata=[
            [label, format_euros(m), format_euros(c), format_euros(d)]
            for label, m, c, d in zip(
                labels,
                df["montant_compensable"],
                df["total_creances"],
                df["dettes_compensables"],
                strict=True,
            )
        ],
        hovertemplate=(
            "<b>%{customdata[0]}</b><br>Compensable : %{customdata[1]}"
            "<br>Créances certaines : %{customdata[2]}"
            "<br>Dettes fiscales exigibles : %{customdata[3]}<extra></extra>"
        ),
        name="Compensable",
    )
    return style_figure(fig, title, height=max(320, 60 + 38 * len(df)), montant_axis="x")
