"""Dashboard charts built as plain dicts, exactly as ``go.Figure.to_dict()`` gives them (issue 21).

A ``go.Figure`` validates every property on every update: styling the 11 charts of a dashboard (the template above
all) took about half of its build, 16 s over the nation. The dashboards' charts are built here as the dicts Plotly
would have produced, and rendered with ``plotly.io.to_html(..., validate=False)``: the same JSON, key for key and in
the same order, so the same page. What makes the order the same:

- a trace's properties in the order Plotly's trace classes set them (alphabetical), ``type`` last, then the axes of
  its subplot;
- an update puts nested objects first, then plain values, each in call order; a key already there keeps its place
  (Plotly applies an update's plain values at the end of its batch).

tests/test_dashboard_identical.py compares every page with what the ``go.Figure`` code wrote; tests/test_charts.py
reads the charts back through a validated ``go.Figure`` (``charts.build_figures``).
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any, Literal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from onevision_dagster.reports.chart_style import (
    FONT,
    HOVERLABEL,
    LEGEND,
    MARGIN,
    MONTANT_AXIS,
    TEMPLATE,
    TITLE,
    count_axis_options,
)
from onevision_dagster.reports.formatting import PLOTLY_SEPARATORS

FigureDict = dict[str, Any]
"""``{"data": [trace, ...], "layout": {...}}``; the layout's template is shared by every chart, never modified."""

Axis = Literal["x", "y"]


@functools.cache
def _template() -> dict[str, Any]:
    """The template's JSON as a validated figure holds it: computed once per process, not once per chart."""
    return go.Figure(layout={"template": TEMPLATE}).to_dict()["layout"]["template"]


@functools.cache
def _subplots_layout(titles: tuple[str, ...], horizontal_spacing: float) -> dict[str, Any]:
    """The layout ``make_subplots`` gives one row of subplots sharing their y axis (axes, domains, titles)."""
    return make_subplots(rows=1, cols=len(titles), shared_yaxes=True, subplot_titles=titles,
                         horizontal_spacing=horizontal_spacing).to_dict()["layout"]


def new_figure() -> FigureDict:
    """An empty chart, already on the dashboards' template (``go.Figure()`` then ``template=`` keeps it first)."""
    return {"data": [], "layout": {"template": _template()}}


def subplots_figure(titles: tuple[str, ...], horizontal_spacing: float) -> FigureDict:
    """One row of subplots sharing their y axis, one per title."""
    layout = copy.deepcopy(_subplots_layout(titles, horizontal_spacing))
    layout["template"] = _template()  # in place of the default one: first, as in the validated figure
    return {"data": [], "layout": layout}


def _sorted(props: dict[str, Any]) -> dict[str, Any]:
    """Keys in Plotly's order for a trace or an annotation (alphabetical), nested objects too; None is unset."""
    return {k: _sorted(v) if isinstance(v, dict) else v for k, v in sorted(props.items()) if v is not None}


def add_trace(fig: FigureDict, kind: str, *, col: int | None = None, **props: Any) -> None:
    """Appends a trace (``fig.add_trace(go.Bar(**props), row=1, col=col)`` for ``kind="bar"``)."""
    trace = {**_sorted(props), "type": kind}
    if col is not None:
        suffix = "" if col == 1 else str(col)
        trace.update(xaxis=f"x{suffix}", yaxis=f"y{suffix}")
    fig["data"].append(trace)


def _merge(target: dict[str, Any], props: dict[str, Any]) -> None:
    """Plotly's update: nested objects first, then plain values, in call order; existing keys keep their place."""
    for key, value in props.items():
        if isinstance(value, dict):
            _merge(target.setdefault(key, {}), value)
    for key, value in props.items():
        if not isinstance(value, dict):
            target[key] = value


def update_layout(fig: FigureDict, **props: Any) -> None:
    _merge(fig["layout"], props)


def update_axes(fig: FigureDict, axis: Axis, props: dict[str, Any], *, col: int | None = None) -> None:
    """``fig.update_xaxes(**props)`` (every x axis, or the one of subplot ``col``), likewise for y."""
    layout = fig["layout"]
    if col is not None:
        names = [f"{axis}axis{'' if col == 1 else col}"]
    else:
        pattern = re.compile(rf"{axis}axis(\d*)")
        names = sorted((k for k in layout if pattern.fullmatch(k)), key=lambda k: int(k[5:] or 1)) or [f"{axis}axis"]
    for name in names:
        _merge(layout.setdefault(name, {}), props)


def style(fig: FigureDict, title: str, *, height: int = 420, montant_axis: Axis | None = "y") -> FigureDict:
    """``chart_style.style_figure`` for a chart built here."""
    update_layout(fig, title={"text": title, **TITLE}, separators=PLOTLY_SEPARATORS, height=height, margin=MARGIN,
                  font=FONT, hoverlabel=HOVERLABEL, legend=LEGEND)
    if montant_axis is not None:
        update_axes(fig, montant_axis, MONTANT_AXIS)
    return fig


def count_axis(fig: FigureDict, axis: Axis, maximum: int, *, col: int | None = None) -> None:
    """``chart_style.count_axis`` for a chart built here."""
    update_axes(fig, axis, count_axis_options(maximum), col=col)


def empty(fig: FigureDict, message: str = "Aucune donnée pour ce périmètre") -> FigureDict:
    """``chart_style.empty_figure`` for a chart built here."""
    fig["layout"].setdefault("annotations", []).append(_sorted(
        {"text": message, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
         "font": {"size": 16, "color": "#666"}}))
    update_axes(fig, "x", {"visible": False})
    update_axes(fig, "y", {"visible": False})
    return fig
