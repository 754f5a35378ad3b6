"""End to end: the Dagster web server on 127.0.0.1 and a dashboard, seen by headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .cdp import Chromium, PageVisit
from .conftest import EXPECTED, REPO, SAMPLE_LANDING, require

pytestmark = pytest.mark.e2e


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "Chromium not installed (scripts/test.sh installs it when run as root)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read()
        except Exception as e:  # noqa: BLE001 - server still starting
            last = e
            time.sleep(0.5)
    raise TimeoutError(f"{url} not reachable: {last}")


def _text(dom: str) -> str:
    """Visible text of a dumped DOM (styles and scripts removed)."""
    dom = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"<[^>]+>", " ", dom)


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory, sample_landing: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "DAGSTER_HOME": str(root / "home")}
    (root / "home").mkdir()
    shutil.copy(REPO / "dagster.yaml", root / "home" / "dagster.yaml")
    onevision = Path(sys.executable).parent / "onevision"
    subprocess.run([str(onevision), "run", "--landing", str(sample_landing), "--warehouse", str(root / "w.duckdb"),
                    "--rapports", str(root / "rapports")], check=True, env=env, capture_output=True, timeout=600)
    return {"root": root, "warehouse": root / "w.duckdb", "rapports": root / "rapports", "home": root / "home"}


def test_webserver_on_loopback_shows_the_asset_graph(materialized: dict[str, Path]) -> None:
    chromium = _chromium()
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(materialized["home"]),
           "ONEVISION_WAREHOUSE": str(materialized["warehouse"]), "ONEVISION_REPORTS": str(materialized["rapports"]),
           "ONEVISION_LANDING": str(materialized["root"] / "landing")}
    webserver = Path(sys.executable).parent / "dagster-webserver"
    proc = subprocess.Popen([str(webserver), "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/server_info", 120)
        query = json.dumps({"query": "{ assetNodes { assetKey { path } groupName } }"}).encode()
        deadline = time.monotonic() + 120
        while True:  # the code location loads in the background
            req = urllib.request.Request(f"{base}/graphql", data=query, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as r:
                nodes = json.load(r)["data"]["assetNodes"]
            if nodes or time.monotonic() > deadline:
                break
            time.sleep(1)
        keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
        assert {"raw/amendes", "core/lignes_dettes", "marts/positions", "marts/positions_nationales",
                "rapports/tableau_de_bord"} <= keys
        browser = Chromium(chromium)
        try:
            groups = ("sources", "core", "marts", "national", "rapports")
            lineage = browser.visit(f"{base}/asset-groups", timeout_s=180, wait_for=groups).text
            for group in groups:
                assert group in lineage
            # the catalog is a virtual list (only the rows in view are in the page): open each asset's own page
            for path in ("raw/amendes", "core/lignes_dettes", "marts/positions_nationales", "history/mouvements"):
                name = path.split("/")[-1]
                assert name in browser.visit(f"{base}/assets/{path}", timeout_s=180, wait_for=(name,)).text, path
        finally:
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}
NATIONAL = {"X-Remote-User": "nina", "X-Remote-Groups": "onevision-national"}


@contextmanager
def _application(materialized: dict[str, Path]) -> Iterator[str]:
    """`onevision app --dev` (identity headers, no proxy) on a free port of the loopback, serving the dashboards the
    pipeline wrote under /rapports/ with its rights and audit (issue 20: `onevision rapports` is gone)."""
    port = _free_port()
    onevision = Path(sys.executable).parent / "onevision"
    env = {**os.environ, "ONEVISION_WAREHOUSE": str(materialized["warehouse"]),
           "ONEVISION_REPORTS": str(materialized["rapports"]), "ONEVISION_APP_PORT": str(port),
           "ONEVISION_APP_DATABASE_URL": f"sqlite:///{materialized['root'] / 'app.sqlite'}"}
    proc = subprocess.Popen([str(onevision), "app", "--dev"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/rapports/plotly.min.js", 60)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _visit(base: str, path: str, headers: dict[str, str], **kwargs) -> tuple[PageVisit, str]:
    """A page seen by headless Chromium with the identity headers; (the visit, its visible text)."""
    chromium = Chromium(_chromium())
    try:
        visit = chromium.visit(base + path, headers=headers, settle_s=3.0, **kwargs)
    finally:
        chromium.close()
    assert visit.status == 200, (path, visit.status)
    assert visit.errors == [], (visit.errors, visit.requests)
    assert [u for u in visit.requests if not u.startswith(base + "/")] == []  # nothing fetched from elsewhere
    return visit, visit.text.replace("\u00a0", " ").replace("\u202f", " ")


def test_dashboard_renders_its_charts_offline(materialized: dict[str, Path]) -> None:
    with _application(materialized) as base:
        links = urllib.request.urlopen(urllib.request.Request(f"{base}/departements/17", headers=AGENT_17)).read()
        assert b'href="/rapports/tableau_de_bord_17.html"' in links  # linked from the department's page
        visit, text = _visit(base, "/rapports/tableau_de_bord_17.html", AGENT_17, wait_for=("113 527,57 €",))
        assert "One Vision — département 17" in text
        assert "113 527,57 €" in text  # past-due debts of 17 at its latest snapshot (expected/positions_17.csv)
        assert "2 500,00 €" in text  # offsettable amount (ATLANTIC SHIPPING: min(2 500, 8 000))
        assert "créance déclarée au passif d'une procédure que le registre ne montre pas" in text
        assert visit.svg_charts >= 8  # plotly.js (served beside the page, by the application) drew the charts
        assert f"{base}/rapports/plotly.min.js" in visit.requests


def test_experiment_dashboard_renders_its_charts_offline(materialized: dict[str, Path]) -> None:
    """`onevision run` on the samples writes the experiment's page; Chromium draws its charts (DOM and pixels)."""
    from onevision_dagster.reports.charts_experiment import GROUP_COLOURS

    from .png_pixels import count_colour, distinct_colours, rgb_pixels

    with _application(materialized) as base:
        links = urllib.request.urlopen(urllib.request.Request(f"{base}/departements/17", headers=NATIONAL)).read()
        assert b'href="/rapports/tableau_de_bord_experimentation.html"' in links
        visit, text = _visit(base, "/rapports/tableau_de_bord_experimentation.html", NATIONAL,
                             screenshot=(1400, 2400, 0.5))
        assert "64,5 %" in text  # 12 500 / 19 375 in the pilots 17 and 95 (expected/impact.csv)
        assert "SOLAIRE ATLANTIQUE" in text and "4 375,00 €" in text  # its taxes in 17 and 95 (contract v3)
        assert "Aucune donnée de suivi" in text  # no application store beside this warehouse
        # taux, recouvré, compensations, remboursements, stocks and department 17: drawn by the local plotly.js
        assert visit.svg_charts >= 6
        pixels = rgb_pixels(visit.screenshot)
        assert pixels.shape[:2] == (1200, 700)
        # a blank or text-only page has a handful of colours and none of the pilots' bars and markers
        assert distinct_colours(pixels) > 50
        assert count_colour(pixels, GROUP_COLOURS["pilotes"]) > 5000


def _dagster_cli(bin_dir: Path, env: dict, *args: str) -> None:
    """Runs a `dagster` command once (issue 23: no retry that could hide a failure or launch a job twice); a code
    server slow to start on a loaded machine has DAGSTER_GRPC_TIMEOUT_SECONDS, set by the callers."""
    out = subprocess.run([str(bin_dir / "dagster"), *args], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    if out.returncode != 0:
        pytest.fail(f"dagster {' '.join(args)} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")


def test_backfill_of_three_departments_queues_on_the_pool_and_national_follows(tmp_path: Path) -> None:
    """`dagster job backfill` of 17, 91, 95 at once: no DuckDB lock error, and automation builds the nation."""
    import dagster as dg

    from onevision_dagster.demo.generator import generate_landing

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    generate_landing(tmp_path / "landing", ["17", "91", "95"], 300, __import__("datetime").date(2026, 11, 20), 5)
    env = {**os.environ, "DAGSTER_HOME": str(home), "ONEVISION_LANDING": str(tmp_path / "landing"),
           "ONEVISION_WAREHOUSE": str(tmp_path / "w.duckdb"), "ONEVISION_REPORTS": str(tmp_path / "rapports"),
           "ONEVISION_IMAGES": "0", "DAGSTER_GRPC_TIMEOUT_SECONDS": "180"}
    bin_dir = Path(sys.executable).parent
    workspace = str(REPO / "workspace.yaml")
    # create the instance's SQLite storage once, before two processes (daemon, CLI) race to migrate it; the
    # department partitions are dynamic (added by the landing sensor or `onevision run`, issue 22): add them here
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("departements", ["17", "91", "95"])
    # the landing-zone sensor runs by default: stopped here, the backfill alone loads the departments
    _dagster_cli(bin_dir, env, "sensor", "stop", "depot_extraits", "-w", workspace)
    daemon = subprocess.Popen([str(bin_dir / "dagster-daemon"), "run", "-w", workspace], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _dagster_cli(bin_dir, env, "job", "launch", "-j", "chargement_registre", "-w", workspace)
        _dagster_cli(bin_dir, env, "job", "backfill", "-j", "rafraichissement_departement",
                     "--partitions", "17,91,95", "-w", workspace, "--noprompt")
        os.environ["DAGSTER_HOME"], previous = str(home), os.environ.get("DAGSTER_HOME")
        try:
            with dg.DagsterInstance.get() as instance:
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    runs = instance.get_runs()
                    done = [r for r in runs if r.is_finished]
                    national = [r for r in runs if r.asset_selection and
                                dg.AssetKey(["marts", "positions_nationales"]) in r.asset_selection]
                    if len(done) >= 4 and national and all(r.is_finished for r in national):
                        break
                    time.sleep(2)
                statuses = {(r.job_name, r.tags.get("dagster/partition")): r.status for r in instance.get_runs()}
        finally:
            if previous is None:
                os.environ.pop("DAGSTER_HOME")
            else:
                os.environ["DAGSTER_HOME"] = previous
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    for dept in ("17", "91", "95"):
        assert statuses[("rafraichissement_departement", dept)] == dg.DagsterRunStatus.SUCCESS
    assert all(s == dg.DagsterRunStatus.SUCCESS for s in statuses.values()), statuses
    from onevision_dagster import warehouse

    with warehouse.connect(tmp_path / "w.duckdb", read_only=True, lock_timeout_s=300) as con:
        depts = {r[0] for r in con.execute("SELECT DISTINCT departement FROM marts.positions").fetchall()}
        assert depts == {"17", "91", "95"}
        assert con.execute("SELECT count(*) FROM marts.positions_nationales").fetchone()[0] > 0


def test_history_backfill_of_one_department_from_the_command_line(tmp_path: Path) -> None:
    """`dagster job backfill -j historique` of every snapshot of department 17, through the daemon."""
    import dagster as dg

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    landing = SAMPLE_LANDING
    env = {**os.environ, "DAGSTER_HOME": str(home), "ONEVISION_LANDING": str(landing),
           "ONEVISION_WAREHOUSE": str(tmp_path / "w.duckdb"), "ONEVISION_REPORTS": str(tmp_path / "rapports"),
           "ONEVISION_IMAGES": "0", "DAGSTER_GRPC_TIMEOUT_SECONDS": "180"}
    bin_dir = Path(sys.executable).parent
    workspace = str(REPO / "workspace.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("dates_extraction", ["2026-11-20", "2026-11-27"])
        instance.add_dynamic_partitions("departements", ["17"])
    _dagster_cli(bin_dir, env, "sensor", "stop", "depot_extraits", "-w", workspace)  # running by default
    daemon = subprocess.Popen([str(bin_dir / "dagster-daemon"), "run", "-w", workspace], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _dagster_cli(bin_dir, env, "job", "launch", "-j", "chargement_registre", "-w", workspace)
        _dagster_cli(bin_dir, env, "job", "backfill", "-j", "rafraichissement_departement", "--partitions", "17",
                     "-w", workspace, "--noprompt")
        _dagster_cli(bin_dir, env, "job", "backfill", "-j", "historique", "--partitions",
                     "2026-11-20|17,2026-11-27|17", "-w", workspace, "--noprompt")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                runs = [r for r in instance.get_runs() if r.job_name == "historique"]
                if len(runs) == 2 and all(r.is_finished for r in runs):
                    break
                time.sleep(2)
            statuses = [r.status for r in instance.get_runs() if r.job_name == "historique"]
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    assert statuses == [dg.DagsterRunStatus.SUCCESS] * 2
    from onevision_dagster import warehouse

    # runs that automation launched after the backfill may still hold the file: wait for them
    with warehouse.connect(tmp_path / "w.duckdb", read_only=True, lock_timeout_s=300) as con:
        dates = con.execute("SELECT DISTINCT date_situation FROM history.positions_historique ORDER BY 1").fetchall()
        assert [str(d[0]) for d in dates] == ["2026-11-20", "2026-11-27"]
        # every movement of 17 between its two snapshots, as the contract's samples list them (24 under v3)
        expected = len((EXPECTED / "mouvements.csv").read_text(encoding="utf-8").splitlines()) - 1
        assert con.execute("SELECT count(*) FROM history.mouvements").fetchone()[0] == expected == 24
