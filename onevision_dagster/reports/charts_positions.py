"""Charts of the positions: debts and credits by source, debts and credits side by side (never netted), suspended
debts by reason, offsetting.

Company names only reach Plotly HTML-escaped (`label_entreprise`), and
Plotly.js turns the entities back into plain text nodes: ``<script>`` shows as
text and never runs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from onevision_dagster.reports.chart_style import SOURCE_COLOURS, euros_short, floats, wrap_label
from onevision_dagster.reports.dashboard_data import ZERO
from onevision_dagster.reports.figure_dicts import FigureDict, add_trace, empty, new_figure, style, update_layout
from onevision_dagster.reports.formatting import format_euros, format_nombre
from onevision_dagster.reports.labels import label_entreprise
from onevision_dagster.reports.legal import CREANCE_A_ECHOIR


def chart_dettes_par_source(df: pd.DataFrame) -> FigureDict:
    """Due debts per source, then not-yet-due taxes and written-off fines apart (hatched, outside the total).

    Columns: source, libelle, dans_total, montant, nb_entreprises.
    """
    fig = new_figure()
    if df.empty or not any(df["montant"]):
        return style(empty(fig), "Dettes échues par source")
    notes = {"a_echoir": "à échoir, hors total (non compensable avant sa date)",
             "non_valeur": "admise en non-valeur, hors total (non éteinte)"}
    add_trace(
        fig,
        "bar",
        x=[wrap_label(label) for label in df["libelle"]],
        y=floats(df["montant"]),
        marker={"color": [SOURCE_COLOURS.get(s, "#888") for s in df["source"]],
                "pattern": {"shape": ["" if inside else "/" for inside in df["dans_total"]]}},
        text=[euros_short(m) for m in df["montant"]],
        textposition="auto",
        customdata=[
            [format_euros(m), format_nombre(n), "échue" if inside else notes.get(s, "hors total")]
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
    return style(
        fig,
        f"Dettes échues par source — total {format_euros(total)}<br><sup>à part, hors total : "
        f"à échoir {format_euros(apart.get('a_echoir', ZERO))}, "
        f"admises en non-valeur {format_euros(apart.get('non_valeur', ZERO))}</sup>",
    )


CREDIT_NATURE_TEXT = {
    "CERTAINE": "certaine et due",
    "A_ECHOIR": CREANCE_A_ECHOIR,
    "POTENTIELLE": "potentielle (non compensable)",
}
CREDIT_NATURE_PATTERN = {"CERTAINE": "", "A_ECHOIR": ".", "POTENTIELLE": "/"}


def chart_creances_par_source(df: pd.DataFrame) -> FigureDict:
    """Credits the State owes per source, not-yet-due ones dotted; potential claims only in the subtitle.

    Columns: categorie, libelle, nature (CERTAINE, A_ECHOIR, POTENTIELLE), montant, nb_entreprises.
    """
    fig = new_figure()
    potential = sum((m for m, n in zip(df["montant"], df["nature"], strict=True) if n == "POTENTIELLE"), ZERO)
    df = df[df["nature"] != "POTENTIELLE"]  # potential claims are not credits yet: never a bar beside them
    if df.empty or not any(df["montant"]):
        return style(empty(fig), "Créances dues par l'État, par source")
    colours = [SOURCE_COLOURS.get(s, "#888") for s in df["categorie"]]
    add_trace(
        fig,
        "bar",
        x=[wrap_label(label) for label in df["libelle"]],
        y=floats(df["montant"]),
        marker={"color": colours, "pattern": {"shape": [CREDIT_NATURE_PATTERN[n] for n in df["nature"]]}},
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
    return style(fig, f"Créances dues par l'État — certaines et dues : {format_euros(due)}<br><sup>à part, "
                      f"hors graphique : créances potentielles (demandes en instruction, non compensables) "
                      f"{format_euros(potential)}</sup>")


def chart_cote_a_cote(totaux: dict[str, Any]) -> FigureDict:
    """Past-due debts (pursuable and suspended, stacked) beside certain due credits: never subtracted one from the
    other (contract section 8: not owed between the same persons; one company's credits never pay another's)."""
    dettes, suspendues = totaux["total_dettes"], totaux["dettes_suspendues"]
    poursuivables, creances = totaux["dettes_poursuivables"], totaux["total_creances"]
    fig = new_figure()
    for name, x, y, colour, pattern in (
        ("Dettes poursuivables", "Dettes échues", poursuivables, SOURCE_COLOURS["impots_pro"], ""),
        ("Dettes suspendues", "Dettes échues", suspendues, SOURCE_COLOURS["impots_pro"], "x"),
        ("Créances certaines et dues", "Créances certaines et dues", creances, SOURCE_COLOURS["credits_tva"], ""),
    ):
        add_trace(fig, "bar", name=name, x=[x], y=[float(y)], marker={"color": colour, "pattern": {"shape": pattern}},
                  text=[euros_short(y)], textposition="auto", customdata=[[name, format_euros(y)]],
                  hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>")
    update_layout(fig, barmode="stack", showlegend=True)
    return style(
        fig, f"Dettes échues {format_euros(dettes)} (dont suspendues {format_euros(suspendues)}) et créances "
        f"certaines et dues {format_euros(creances)}<br><sup>côte à côte, jamais soustraites les unes des "
        "autres</sup>")


def chart_suspensions(df: pd.DataFrame) -> FigureDict:
    """Suspended past-due debts by reason (columns motif, libelle, nb_lignes, nb_entreprises, montant)."""
    fig = new_figure()
    title = "Dettes échues suspendues, par motif"
    if df.empty or not any(df["montant"]):
        return style(empty(fig, "Aucune dette suspendue"), title)
    add_trace(
        fig,
        "bar",
        x=[wrap_label(label, 22) for label in df["libelle"]],
        y=floats(df["montant"]),
        marker={"color": SOURCE_COLOURS["impots_pro"], "pattern": {"shape": "x"}},
        text=[euros_short(m) for m in df["montant"]],
        textposition="auto",
        customdata=[[format_euros(m), format_nombre(n), format_nombre(e)]
                    for m, n, e in zip(df["montant"], df["nb_lignes"], df["nb_entreprises"], strict=True)],
        hovertemplate=("<b>%{x}</b><br>Restant dû : %{customdata[0]}<br>Lignes : %{customdata[1]}"
                       "<br>Entreprises : %{customdata[2]}<extra></extra>"),
        name="Suspendues",
    )
    return style(fig, f"{title} — total {format_euros(sum(df['montant'], ZERO))}")


def chart_compensation(df: pd.DataFrame, totaux: dict[str, Any]) -> FigureDict:
    """The 10 largest offsetting opportunities, total and count in the title."""
    title = (
        f"Compensations possibles : {format_euros(totaux['montant_compensable'])} "
        f"pour {format_nombre(totaux['nb_compensables'])} entreprise(s)<br><sup>les 10 plus importantes</sup>"
    )
    fig = new_figure()
    if df.empty:
        return style(empty(fig, "Aucune compensation possible"), title, montant_axis=None)
    df = df.iloc[::-1]  # largest on top
    labels = [label_entreprise(d, s) for d, s in zip(df["denomination"], df["siren"], strict=True)]
    add_trace(
        fig,
        "bar",
        y=labels,
        x=floats(df["montant_compensable"]),
        orientation="h",
        marker={"color": SOURCE_COLOURS["credits_tva"]},
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
            "<br>Créances certaines et dues : %{customdata[2]}"
            "<br>Impôts échus et poursuivables : %{customdata[3]}<extra></extra>"
        ),
        name="Compensable",
    )
    return style(fig, title, height=max(320, 60 + 38 * len(df)), montant_axis="x")
