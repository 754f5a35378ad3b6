"""Charts of the experiment's dashboard: pilots against the others per ISO week, each pilot's trend, and the
agents' follow-up recorded in the application.

Bars of a subset ("dont signalées par l'outil", "dont à risque") are drawn over their total in the same place
(`offsetgroup`), the total lighter. Hover texts and labels are formatted from the exact `Decimal` values;
group, list and department labels are ours or escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from onevision_dagster.history.tables import OTHERS, PILOT
from onevision_dagster.reports.chart_style import count_axis, empty_figure, style_figure
from onevision_dagster.reports.experiment_followup import NATIONAL
from onevision_dagster.reports.formatting import MISSING, NBSP, format_date, format_euros, format_nombre
from onevision_dagster.reports.labels import GROUPE_LABELS

GROUP_COLOURS = {PILOT: "#e4794a", OTHERS: "#6a6af4", NATIONAL: "#7f7f7f"}
MEASURE_COLOURS = {
    "recouvre": "#1f77b4",
    "compense": "#2ca02c",
    "rembourse": "#d62728",
    "stock_dettes": "#8c564b",
    "stock_creances": "#17becf",
    "stock_compensable": "#ff7f0e",
}
LIGHT = 0.4
"""Opacity of a total drawn behind its subset."""
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")


def week_label(semaine: str) -> str:
    """``2026-W48`` → ``S48 2026`` (short axis label)."""
    year, _, week = str(semaine).partition("-W")
    return f"S{week} {year}"


def week_span(semaine: str) -> str:
    """``2026-W48`` → ``semaine 48 de 2026, du 23/11/2026 au 29/11/2026``."""
    year, _, week = str(semaine).partition("-W")
    monday = dt.date.fromisocalendar(int(year), int(week), 1)
    return (f"semaine {int(week)} de {year}, du {format_date(monday)} au "
            f"{format_date(monday + dt.timedelta(days=6))}")


def month_label(mois: str) -> str:
    """``2026-11`` → ``novembre 2026``."""
    year, _, month = str(mois).partition("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def group_label(groupe: str) -> str:
    return GROUPE_LABELS.get(groupe, "Agents nationaux" if groupe == NATIONAL else html.escape(str(groupe)))


def rate_text(value: Any) -> str:
    """``Decimal('0.7634')`` → ``76,3 %``; no rate when nothing was offsettable."""
    if value is None or (not isinstance(value, Decimal) and pd.isna(value)):
        return MISSING
    return f"{format_nombre(Decimal(value) * 100, 1)}{NBSP}%"


def _num(values: Sequence[Any], scale: int = 1) -> list[float | None]:
    """Floats to plot (gaps for missing values); the numbers read are formatted from the Decimals."""
    return [None if v is None or (not isinstance(v, Decimal) and pd.isna(v)) else float(v) * scale for v in values]


def _groups(semaines: pd.DataFrame) -> list[str]:
    return [g for g in (PILOT, OTHERS) if g in set(semaines["groupe"])]


def _by_week(semaines: pd.DataFrame, groupe: str, weeks: list[str]) -> pd.DataFrame:
    return semaines[semaines["groupe"] == groupe].set_index("semaine").reindex(weeks)


def _percent_axis(fig: go.Figure, **where: int) -> None:
    fig.update_yaxes(ticksuffix=NBSP + "%", range=[0, 105], tickformat=",.0f", **where)


def iso_week(day: dt.date) -> str:
    """``2026-11-27`` → ``2026-W48`` (the weeks of `history.impact_national`)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def mark_start(fig: go.Figure, weeks: list[str], debut: dt.date) -> None:
    """A dashed vertical line after the last week "before" the start (pairs ending at or before it)."""
    position = sum(1 for w in weeks if w <= iso_week(debut)) - 0.5
    fig.add_vline(x=position, line={"color": "#161616", "dash": "dash", "width": 2})
    fig.add_annotation(x=position, y=1.0, yref="paper", xanchor="left", yanchor="bottom", showarrow=False,
                       text=f"Début de l'expérimentation ({format_date(debut)})", font={"size": 13})


def chart_taux(semaines: pd.DataFrame, debut: dt.date | None = None) -> go.Figure:
    """Offset rate per week: what the tool had flagged as offsettable at t0 that was offset by t1; the start of
    the experiment marked when known."""
    fig = go.Figure()
    title = "Taux de compensation par semaine (compensations signalées faites / compensable au début)"
    if semaines.empty:
        return style_figure(empty_figure(fig, "Aucune période dans l'historique"), title, montant_axis=None)
    weeks = sorted(set(semaines["semaine"]))
    for groupe in _groups(semaines):
        part = _by_week(semaines, groupe, weeks)
        fig.add_scatter(
            name=group_label(groupe), x=[week_label(w) for w in weeks], y=_num(part["taux_compensation"], 100),
            mode="lines+markers", line={"color": GROUP_COLOURS[groupe], "width": 3}, marker={"size": 10},
            customdata=[[group_label(groupe), week_span(w), rate_text(t), format_euros(s), format_euros(c)]
                        for w, t, s, c in zip(weeks, part["taux_compensation"], part["compense_signale"],
                                              part["compensable_debut"], strict=True)],
            hovertemplate="<b>%{customdata[0]}</b>, %{customdata[1]}<br>Taux : %{customdata[2]}"
                          "<br>Compensations signalées faites : %{customdata[3]}"
                          "<br>Compensable au début : %{customdata[4]}<extra></extra>",
        )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=[week_label(w) for w in weeks])
    fig.update_layout(showlegend=True)  # even with one group: say which
    if debut is not None:
        mark_start(fig, weeks, debut)
    style_figure(fig, title, montant_axis=None)
    _percent_axis(fig)
    return fig


def _bars(fig: go.Figure, semaines: pd.DataFrame, column: str, label: str, *, subset: str | None = None,
          subset_label: str = "", row: int | None = None, col: int | None = None) -> None:
    """One bar per group and week for `column`, and its `subset` drawn over it."""
    weeks = sorted(set(semaines["semaine"]))
    where = {} if row is None else {"row": row, "col": col}
    for groupe in _groups(semaines):
        part = _by_week(semaines, groupe, weeks)
        layers = [(column, label, LIGHT if subset else 1.0)] + ([(subset, subset_label, 1.0)] if subset else [])
        for name, text, opacity in layers:
            fig.add_trace(go.Bar(
                name=f"{text} — {group_label(groupe).lower()}", x=[week_label(w) for w in weeks],
                y=_num(part[name]), marker_color=GROUP_COLOURS[groupe], opacity=opacity, offsetgroup=groupe,
                legendgroup=groupe,
                customdata=[[group_label(groupe), week_span(w), text, format_euros(v)]
                            for w, v in zip(weeks, part[name], strict=True)],
                hovertemplate="<b>%{customdata[0]}</b>, %{customdata[1]}<br>%{customdata[2]} : %{customdata[3]}"
                              "<extra></extra>",
            ), **where)
    fig.update_layout(barmode="group", showlegend=True)
    fig.update_xaxes(type="category")


def chart_groupes(semaines: pd.DataFrame, column: str, label: str, title: str, *, subset: str | None = None,
                  subset_label: str = "") -> go.Figure:
    """Weekly sums of one impact column (and its subset), pilots beside the others."""
    fig = go.Figure()
    if semaines.empty:
        return style_figure(empty_figure(fig, "Aucune période dans l'historique"), title)
    _bars(fig, semaines, column, label, subset=subset, subset_label=subset_label)
    return style_figure(fig, title)


STOCKS = (("stock_dettes", "Dettes échues"), ("stock_creances", "Créances certaines et dues"),
          ("stock_compensable", "Montant compensable"))


def chart_stocks(semaines: pd.DataFrame) -> go.Figure:
    """Stocks at the end of the week's pairs, one panel per stock."""
    title = "Stocks en fin de période"
    fig = make_subplots(rows=1, cols=3, subplot_titles=[label for _, label in STOCKS], horizontal_spacing=0.08)
    if semaines.empty:
        return style_figure(empty_figure(fig, "Aucune période dans l'historique"), title)
    weeks = sorted(set(semaines["semaine"]))
    for i, (column, label) in enumerate(STOCKS, start=1):
        for groupe in _groups(semaines):
            part = _by_week(semaines, groupe, weeks)
            fig.add_trace(go.Scatter(
                name=group_label(groupe), x=[week_label(w) for w in weeks], y=_num(part[column]),
                mode="lines+markers", line={"color": GROUP_COLOURS[groupe], "width": 3}, marker={"size": 9},
                legendgroup=groupe, showlegend=i == 1,
                customdata=[[group_label(groupe), week_span(w), label, format_euros(v)]
                            for w, v in zip(weeks, part[column], strict=True)],
                hovertemplate="<b>%{customdata[0]}</b>, %{customdata[1]}<br>%{customdata[2]} : %{customdata[3]}"
                              "<extra></extra>",
            ), row=1, col=i)
    fig.update_xaxes(type="category")
    fig.update_yaxes(rangemode="tozero")
    return style_figure(fig, title)


FLOWS = (("recouvre", "compense", "Recouvré (tous moyens)", "dont par compensation"),
         ("compense", "compense_signale", "Compensé (déjà dans le recouvré)", "dont signalé par l'outil"),
         ("rembourse", "rembourse_a_risque", "Remboursé", "dont à risque"))


def chart_departement(evolution: pd.DataFrame, departement: str) -> go.Figure:
    """One pilot department over its snapshots: the pair's flows (top) and the stocks at each date (bottom)."""
    title = f"Département {html.escape(departement)} : évolution d'un instantané à l'autre"
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=("Flux de la période se terminant à cette date", "Stocks à cette date"))
    if evolution.empty:
        return style_figure(empty_figure(fig, "Aucun instantané pour ce département"), title)
    dates = [format_date(d) for d in evolution["date_situation"]]
    periods = [MISSING if d0 is None or pd.isna(d0) else f"du {format_date(d0)} au {format_date(d1)}"
               for d0, d1 in zip(evolution["date_debut"], evolution["date_situation"], strict=True)]
    for column, subset, label, subset_label in FLOWS:
        layers = [(column, label, LIGHT if subset else 1.0)] + ([(subset, subset_label, 1.0)] if subset else [])
        for name, text, opacity in layers:
            fig.add_trace(go.Bar(
                name=text if name == column else f"{label} {text}", x=dates, y=_num(evolution[name]),
                marker_color=MEASURE_COLOURS[column], opacity=opacity, offsetgroup=column, legendgroup=column,
                customdata=[[p, text, format_euros(v)] for p, v in zip(periods, evolution[name], strict=True)],
                hovertemplate="Période %{customdata[0]}<br>%{customdata[1]} : %{customdata[2]}<extra></extra>",
            ), row=1, col=1)
    for column, label in STOCKS:
        fig.add_trace(go.Scatter(
            name=label, x=dates, y=_num(evolution[column]), mode="lines+markers",
            line={"color": MEASURE_COLOURS[column], "width": 3}, marker={"size": 9},
            customdata=[[d, label, format_euros(v)] for d, v in zip(dates, evolution[column], strict=True)],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]} : %{customdata[2]}<extra></extra>",
        ), row=2, col=1)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category")
    fig.update_yaxes(rangemode="tozero")
    return style_figure(fig, title, height=620)


def chart_resultats(groupes: pd.DataFrame, list_titles: dict[str, str]) -> go.Figure:
    """Acceptance rate (done / recorded) per worklist, pilots beside the others."""
    title = "Suites données aux listes de travail : taux d'acceptation (faits / enregistrés)"
    fig = go.Figure()
    if groupes.empty:
        return style_figure(empty_figure(fig, "Aucune suite enregistrée"), title, montant_axis=None)
    listes = sorted(set(groupes["liste"]))
    labels = [html.escape(list_titles.get(x, x)) for x in listes]
    for groupe in [g for g in (PILOT, OTHERS) if g in set(groupes["groupe"])]:
        part = groupes[groupes["groupe"] == groupe].set_index("liste").reindex(listes)
        fig.add_bar(
            name=group_label(groupe), x=labels, y=_num(part["taux_acceptation"], 100),
            marker_color=GROUP_COLOURS[groupe],
            customdata=[[group_label(groupe), rate_text(t), format_nombre(f), format_nombre(d), format_euros(m)]
                        for t, f, d, m in zip(part["taux_acceptation"], part["faits"], part["decides"],
                                              part["montant_obtenu"], strict=True)],
            hovertemplate="<b>%{x}</b> — %{customdata[0]}<br>Taux d'acceptation : %{customdata[1]} "
                          "(%{customdata[2]} faits sur %{customdata[3]})<br>Montant obtenu : %{customdata[4]}"
                          "<extra></extra>",
        )
    fig.update_layout(barmode="group")
    style_figure(fig, title, montant_axis=None)
    _percent_axis(fig)
    return fig


def chart_usage(usage: pd.DataFrame) -> go.Figure:
    """Company pages viewed per month, by group of departments (national agents apart)."""
    title = "Consultations de fiches entreprises par mois"
    fig = go.Figure()
    if usage.empty:
        return style_figure(empty_figure(fig, "Aucune consultation enregistrée"), title, montant_axis=None)
    months = sorted(set(usage["mois"]))
    totals = usage.groupby(["mois", "groupe"])["consultations"].sum()
    for groupe in [g for g in (PILOT, OTHERS, NATIONAL) if g in set(usage["groupe"])]:
        counts = [int(totals.get((m, groupe), 0)) for m in months]
        fig.add_bar(name=group_label(groupe), x=[month_label(m) for m in months], y=counts,
                    marker_color=GROUP_COLOURS[groupe],
                    customdata=[[group_label(groupe), format_nombre(n)] for n in counts],
                    hovertemplate="<b>%{x}</b> — %{customdata[0]}<br>Consultations : %{customdata[1]}"
                                  "<extra></extra>")
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    style_figure(fig, title, montant_axis=None)
    count_axis(fig, "y", int(usage.groupby("mois")["consultations"].sum().max()))
    return fig
