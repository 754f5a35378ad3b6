"""Look shared by every dashboard chart: French separators, colours, empty charts, label wrapping.

Figures plot floats but every number an agent reads (hover, bar labels) is a
string formatted from the exact `Decimal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.reports.formatting import NBSP, PLOTLY_SEPARATORS, format_euros

SOURCE_COLOURS = {
    "amendes": "#8c564b",
    "spl": "#1f77b4",
    "impots_pro": "#d62728",
    "rnf": "#9467bd",
    "credits_tva": "#2ca02c",
    "excedents": "#17becf",
    "creances_is": "#bcbd22",
    "potentielles": "#c7e9c0",
    "a_echoir": "#fdae6b",
    "non_valeur": "#bdbdbd",
    "entreprises": "#7f7f7f",
}


def euros_short(value: Decimal) -> str:
    return format_euros(value, decimales=False)


# the look of every chart, shared by `style_figure` and the dashboards' plain-dict charts (`figure_dicts`)
TEMPLATE = "plotly_white"
TITLE = {"x": 0.01, "xanchor": "left"}
MARGIN = {"l": 20, "r": 20, "t": 70, "b": 40}
FONT = {"family": "Marianne, Arial, sans-serif", "size": 13}
HOVERLABEL = {"font": {"size": 13}}
# on the right: never over the title, and the margin grows with it
LEGEND = {"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top", "traceorder": "normal"}
MONTANT_AXIS = {"tickformat": ",.0f", "ticksuffix": NBSP + "€", "automargin": True}


def style_figure(fig: go.Figure, title: str, *, height: int = 420, montant_axis: str | None = "y") -> go.Figure:
    fig.update_layout(
        title={"text": title, **TITLE},
        separators=PLOTLY_SEPARATORS,
        template=TEMPLATE,
        height=height,
        margin=MARGIN,
        font=FONT,
        hoverlabel=HOVERLABEL,
        legend=LEGEND,
    )
    if montant_axis == "y":
        fig.update_yaxes(**MONTANT_AXIS)
    elif montant_axis == "x":
        fig.update_xaxes(**MONTANT_AXIS)
    return fig


def wrap_label(label: str, width: int = 18) -> str:
    """Category label on several lines (``<br>``) so axis labels stay horizontal."""
    lines: list[str] = []
    for word in label.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def count_axis_options(maximum: int) -> dict[str, Any]:
    """Whole-number ticks (no "1, 1, 2, 2" on small counts)."""
    options: dict[str, Any] = {"tickformat": ",d", "rangemode": "tozero"}
    if maximum <= 10:
        options.update(tick0=0, dtick=1)
    return options


def count_axis(fig: go.Figure, axis: str, maximum: int, **where: int) -> None:
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    update(**count_axis_options(maximum), **where)


def empty_figure(fig: go.Figure, message: str = "Aucune donnée pour ce périmètre") -> go.Figure:
    fig.add_annotation(
        text=message,
        showarrow=False,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        font={"size": 16, "color": "#666"},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def ordered_sources(values: Sequence[str]) -> list[str]:
    """Sources present, in the contract's order (a stable legend across pages)."""
    present = set(values)
    known = [s for s in SOURCES_BY_NAME if s in present]
    return known + sorted(present - set(known))


def floats(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values]
