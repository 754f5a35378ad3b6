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
from onevision_dagster.reports.legal import CREANCE_A_ECHOIR


def chart_dettes_par_source(df: pd.DataFrame) -> go.Figure:
    """Due debts per source, then not-yet-due taxes and written-off fines apart (hatched, outside the total).

    Columns: source, libelle, dans_total, montant, nb_entreprises.
    """
    fig = go.Figure()
    if df.empty or not any(df["montant"]):
        return style_figure(empty_figure(fig), "Dettes exigibles par source")
    notes = {"a_echoir": "à échoir, hors total (non compensable avant sa date)",
             "non_valeur": "admise en non-valeur, hors total (non éteinte)"}
    fig.add_bar(
        x=[wrap_label(label) for label in df["libelle"]],
        y=floats(df["montant"]),
        marker_color=[SOURCE_COLOURS.get(s, "#888") for s in df["source"]],
        marker_pattern_shape=["" if inside else "/" for inside in df["dans_total"]],
        text=[euros_short(m) for m in df["montant"]],
        textposition="auto",
        customdata=[
            [format_euros(m), format_nombre(n), "exigible" if inside else notes.get(s, "hors total")]
            for s, m, n, inside in zip(df["source"], df["montant"], df["nb_entreprises"], df["dans_total"],
                                       strict=True)
        ],
        hovertemplate=(
            "<b>%{x}</b><br>Restant dû : %{customdata[0]} (%{customdata[2]})"
            "<br>Entreprises : %{customdata[1]}<extra></extra>"
        ),
        name="Dettes",
    )
    total = sum((m for m, inside in zip(df["montant"], df["dans_total"], strict=True) if inside), ZERO)
    apart = {s: m for s, m in zip(df["source"], df["montant"], strict=True)}
    return style_figure(
        fig,
        f"Dettes exigibles par source — total {format_euros(total)}<br><sup>à part, hors total : "
        f"à échoir {format_euros(apart.get('a_echoir', ZERO))}, "
        f"admises en non-valeur {format_euros(apart.get('non_valeur', ZERO))}</sup>",
    )


CREDIT_NATURE_TEXT = {
    "CERTAINE": "certaine et exigible",
    "A_ECHOIR": CREANCE_A_ECHOIR,
    "POTENTIELLE": "potentielle (non compensable)",
}
CREDIT_NATURE_PATTERN = {"CERTAINE": "", "A_ECHOIR": ".", "POTENTIELLE": "/"}


def chart_creances_par_source(df: pd.DataFrame) -> go.Figure:
    """Credits the State owes per source; not-yet-due and potential credits apart (not offsettable).

    Columns: categorie, libelle, nature (CERTAINE, A_ECHOIR, POTENTIELLE), montant, nb_entreprises.
    """
    fig = go.Figure()
    if df.empty or not any(df["montant"]):
        return style_figure(empty_figure(fig), "Créances dues par l'État, par source")
    colours = [SOURCE_COLOURS.get(s, "#888") for s in df["categorie"]]
    fig.add_bar(
        x=[wrap_label(label) for label in df["libelle"]],
        y=floats(df["montant"]),
        marker_color=colours,
        marker_pattern_shape=[CREDIT_NATURE_PATTERN[n] for n in df["nature"]],
        text=[euros_short(m) for m in df["montant"]],
        textposition="auto",
        customdata=[
            [format_euros(m), format_nombre(n), CREDIT_NATURE_TEXT[nat]]
            for m, n, nat in zip(df["montant"], df["nb_entreprises"], df["nature"], strict=True)
        ],
        hovertemplate=(
            "<b>%{x}</b><br>Montant : %{customdata[0]}<br>Créance %{customdata[2]}"
            "<br>Entreprises : %{customdata[1]}<extra></extra>"
        ),
        name="Créances",
    )
    due = sum((m for m, n in zip(df["montant"], df["nature"], strict=True) if n == "CERTAINE"), ZERO)
    return style_figure(fig, f"Créances dues par l'État — certaines et exigibles : {format_euros(due)}")


def chart_bilan(totaux: dict[str, Any]) -> go.Figure:
    """Due certain credits minus due debts = net balance, as a waterfall (not-yet-due amounts are not in it)."""
    creances, dettes, solde = totaux["total_creances"], totaux["total_dettes"], totaux["solde"]
    fig = go.Figure(
        go.Waterfall(
            x=["Créances certaines exigibles", "Dettes exigibles", "Solde net"],
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
            "<br>Créances certaines exigibles : %{customdata[2]}"
            "<br>Impôts exigibles sans sursis : %{customdata[3]}<extra></extra>"
        ),
        name="Compensable",
    )
    return style_figure(fig, title, height=max(320, 60 + 38 * len(df)), montant_axis="x")
