"""The figures of a dashboard, in reading order (the chart builders live in charts_* by family)."""

from __future__ import annotations

import copy

import plotly.graph_objects as go

from onevision_dagster.reports.charts_positions import (
    chart_compensation,
    chart_cote_a_cote,
    chart_creances_par_source,
    chart_dettes_par_source,
    chart_suspensions,
)
from onevision_dagster.reports.charts_quality import (
    chart_motifs_rejet,
    chart_qualite_sources,
    chart_rattachement_amendes,
)
from onevision_dagster.reports.charts_recovery import chart_anciennete, chart_etapes, chart_panel
from onevision_dagster.reports.dashboard_data import DashboardData
from onevision_dagster.reports.figure_dicts import FigureDict


def build_figure_dicts(data: DashboardData) -> dict[str, tuple[str, FigureDict]]:
    """Every chart of a dashboard as the dict a page hands to plotly.js, in reading order: key → (section title,
    chart). Plain dicts, no Plotly validation (`figure_dicts`): what the dashboards render."""
    return {
        "dettes": ("Dettes par source", chart_dettes_par_source(data.dettes_par_source)),
        "creances": ("Créances par source", chart_creances_par_source(data.creances_par_source)),
        "bilan": ("Dettes et créances côte à côte", chart_cote_a_cote(data.totaux)),
        "suspensions": ("Dettes suspendues", chart_suspensions(data.suspensions)),
        "compensation": ("Compensations possibles", chart_compensation(data.top_compensation, data.totaux)),
        "anciennete": ("Ancienneté des dettes", chart_anciennete(data.anciennete)),
        "etapes": ("Étapes du recouvrement", chart_etapes(data.etapes)),
        "panel": ("Débiteurs communs", chart_panel(data.panel)),
        "qualite": ("Qualité des données : lignes par source", chart_qualite_sources(data.chargements)),
        "rejets": ("Qualité des données : motifs de rejet", chart_motifs_rejet(data.rejets)),
        "rattachement": (
            "Qualité des données : amendes rattachées",
            chart_rattachement_amendes(data.rattachement),
        ),
    }


def build_figures(data: DashboardData) -> dict[str, tuple[str, go.Figure]]:
    """The same charts as validated ``go.Figure`` objects (static image, tests): slower, the same values.

    A copy goes to Plotly: ``go.Figure`` reorders the dicts it is given, and the template dict is shared."""
    return {key: (section, go.Figure(copy.deepcopy(fig))) for key, (section, fig) in build_figure_dicts(data).items()}
