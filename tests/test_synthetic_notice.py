"""Demo data say they are synthetic (issue 17, point 9), and real extracts never do.

A landing zone written by `generate_landing` carries its marker; the pipeline built on it (through Dagster, the
stages of `onevision run`) records it, and every page an agent may read says so: the dashboards, the index,
a company sheet, the application's pages. The shared samples, hand-written extracts with no marker, give
pages without the notice.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
import requests

from onevision_dagster.demo.generator import generate_landing
from onevision_dagster.ingest.landing import SYNTHETIC_MARKER, scan_landing
from onevision_dagster.ingest.origin import SYNTHETIC_NOTICE, synthetic_data
from onevision_dagster.reports.fiche import write_fiche

from . import app_fixtures as fx

AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}
NOTICE = 'id="synthetique"'


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo_synthetique")
    # two weekly extracts ending on 27/11/2026: the dates `build_samples` refreshes
    generate_landing(root / "landing", ["17"], 40, dt.date(2026, 11, 27), seed=3, instantanes=2)
    fx.build_samples(root / "landing", root, ("17",))
    return root


def test_the_generator_marks_its_zone_and_the_marker_is_not_an_unread_file(demo: Path) -> None:
    marker = demo / "landing" / SYNTHETIC_MARKER
    assert marker.is_file() and "onevision generate" in marker.read_text(encoding="utf-8")
    scan = scan_landing(demo / "landing")
    assert scan.files and not scan.badly_named  # the marker is known, never reported « non lu »


def test_every_page_built_on_demo_data_says_it_is_synthetic(demo: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(demo / "w.duckdb"), read_only=True) as con:
        assert synthetic_data(con)
        siren = con.execute("SELECT min(siren) FROM marts.positions WHERE departement = '17'").fetchone()[0]
        sheet = write_fiche(con, siren, "17", tmp_path / "fiche.html").read_text(encoding="utf-8")
    assert NOTICE in sheet and SYNTHETIC_NOTICE.split(" (")[0] in sheet
    for name in ("tableau_de_bord_17.html", "tableau_de_bord_national.html", "index.html"):
        assert NOTICE in (demo / "rapports" / name).read_text(encoding="utf-8"), name
    with fx.running_app(fx.app_settings(tmp_path / "app", demo / "publication")) as base:
        for path in ("/", "/departements/17", f"/entreprises/{siren}", "/departements/17/listes/compensations"):
            page = requests.get(f"{base}{path}", headers=AGENT_17)
            assert page.status_code == 200 and NOTICE in page.text, path


def test_real_extracts_never_say_synthetic(sample_landing: Path, tmp_path_factory: pytest.TempPathFactory,
                                           tmp_path: Path) -> None:
    root = tmp_path_factory.mktemp("echantillons_reels")
    fx.build_samples(sample_landing, root, ("17",))
    with duckdb.connect(str(root / "w.duckdb"), read_only=True) as con:
        assert not synthetic_data(con)
    for name in ("tableau_de_bord_17.html", "index.html"):
        assert NOTICE not in (root / "rapports" / name).read_text(encoding="utf-8"), name
    with fx.running_app(fx.app_settings(tmp_path / "app", root / "publication")) as base:
        page = requests.get(f"{base}/entreprises/443210984", headers=AGENT_17)
        assert page.status_code == 200 and NOTICE not in page.text
