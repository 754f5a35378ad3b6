"""What agents see of a dashboard must not move when the way it is built changes (issue 21: the dashboards were made
cheaper to build). Each page is compared with what commit 5d9281d wrote, kept in `dashboards_5d9281d.json` beside
this file: the SHA-256 of the whole page (its two clock stamps aside) and every chart's JSON as the page hands it to
plotly.js (data and layout; the template, the same in every chart, by its SHA-256), so that a difference says which
chart and which property. Rendered from the hand-built warehouse of test_charts.py (escaping, procedures, an empty
department) and from the samples built by the pipeline.

The reference is written, never edited: with the code of the commit it describes checked out,
``ONEVISION_WRITE_DASHBOARD_REFERENCE=1 .venv/bin/python -m pytest tests/test_dashboard_identical.py``.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import plotly.graph_objects as go
import pytest

from onevision_dagster.reports import freshness
from onevision_dagster.reports.charts import build_figure_dicts
from onevision_dagster.reports.dashboard import render_dashboard
from onevision_dagster.reports.dashboard_data import load_dashboard_data

from . import test_charts as fx

REFERENCE = Path(__file__).with_name("dashboards_5d9281d.json")
WRITE = os.environ.get("ONEVISION_WRITE_DASHBOARD_REFERENCE") == "1"
TODAY = dt.date(2026, 12, 7)  # the freshness flags ("plus de 7 jours") are computed against it
_CLOCK = re.compile(r"(produite le|Généré le) \d{2}/\d{2}/\d{4} à \d{2}:\d{2}")
_NEW_PLOT = re.compile(r'Plotly\.newPlot\(\s*"graphe-([^"]+)",\s*')
_SEPARATOR = re.compile(r",\s*")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _figures(page: str) -> dict[str, dict[str, Any]]:
    """Every chart's (data, layout) exactly as the page passes them to ``Plotly.newPlot``, template by its hash."""
    decoder = json.JSONDecoder()
    figures = {}
    for match in _NEW_PLOT.finditer(page):
        data, end = decoder.raw_decode(page, match.end())
        layout, _ = decoder.raw_decode(page, _SEPARATOR.match(page, end).end())
        template = layout.get("template")
        if template is not None:
            layout["template"] = "sha256:" + _sha(json.dumps(template, sort_keys=True, ensure_ascii=False))
        figures[match.group(1)] = {"data": data, "layout": layout}
    return figures


def _describe(con: duckdb.DuckDBPyConnection, departement: str | None, tmp_path: Path) -> dict[str, Any]:
    label = f"département {departement}" if departement else "France entière"
    page = render_dashboard(load_dashboard_data(con, departement), tmp_path, f"One Vision — {label}", 7)
    page, stamps = _CLOCK.subn(r"\1 <horloge>", page)
    assert stamps == 2, f"{label} : {stamps} horodatages au lieu de 2"
    return {"sha256": _sha(page), "figures": _figures(page)}


def _check(pages: dict[str, dict[str, Any]]) -> None:
    """Compares with the reference (or writes these pages into it)."""
    reference = json.loads(REFERENCE.read_text(encoding="utf-8")) if REFERENCE.exists() else {}
    if WRITE:
        reference.update(pages)
        REFERENCE.write_text(json.dumps(reference, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                             encoding="utf-8")
        return
    for name, page in pages.items():
        expected = reference[name]
        assert sorted(page["figures"]) == sorted(expected["figures"]), name  # their order: in the page's hash
        for key, figure in page["figures"].items():
            for part in ("data", "layout"):
                assert figure[part] == expected["figures"][key][part], f"{name}, graphique {key} : {part} différent"
        assert page["sha256"] == expected["sha256"], f"{name} : mêmes graphiques, mais le reste de la page diffère"


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(freshness, "today_paris", lambda: TODAY)


@pytest.fixture()
def fixture_con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    fx.build_warehouse(connection)
    yield connection
    connection.close()


def test_the_fixture_dashboards_are_those_of_5d9281d(fixture_con: duckdb.DuckDBPyConnection, tmp_path: Path):
    # 17: the sample by hand; 91: an HTML injection, blocked offsets; 95: empty charts; None: the nation
    _check({f"fixture/{d or 'national'}": _describe(fixture_con, d, tmp_path) for d in ("17", "91", "95", None)})


def test_the_samples_dashboards_are_those_of_5d9281d(samples: Path, tmp_path: Path):
    con = duckdb.connect(str(samples / "w.duckdb"), read_only=True)
    try:
        _check({f"samples/{d or 'national'}": _describe(con, d, tmp_path) for d in ("17", "95", None)})
    finally:
        con.close()


def test_the_reference_holds_every_chart():
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert len(reference) == 7
    for name, page in reference.items():
        assert len(page["figures"]) == 11, name
        assert all(f["data"] is not None and f["layout"]["template"].startswith("sha256:")
                   for f in page["figures"].values()), name


@pytest.mark.parametrize("departement", ["17", "91", "95", None])
def test_plotly_validation_changes_nothing_in_the_charts(fixture_con: duckdb.DuckDBPyConnection,
                                                         departement: str | None):
    """The pages write the charts unvalidated: Plotly's validation must accept each one and change no value."""
    for key, (_, fig) in build_figure_dicts(load_dashboard_data(fixture_con, departement)).items():
        assert go.Figure(copy.deepcopy(fig)).to_dict() == fig, key  # a copy: go.Figure reorders the dict it is given
