"""End to end (issue 22): the operators' Dagster UI after a demo of 5 departments, seen by headless Chromium
against the real web server and daemon started by `scripts/ui.sh`.

One scenario, as docs/operations.md tells it: `onevision run` loads 5 departments (their partitions are those 5,
its runs carry the project's job names, each department has its own check results); the UI opens without the
community pop-up; a new department's extracts and a refused file land, the landing-zone sensor (running by
default) adds the department and launches both runs, the refused one fails and says why; the operator removes the
file and re-runs the department, then backfills one history date; `scripts/ui.sh` stops within 10 s on SIGTERM.

`ONEVISION_CAPTURES=docs/img` keeps the screenshots for docs/operations.md (default: the test's temp folder).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .cdp import Chromium, PageVisit
from .conftest import REPO
from .test_e2e_browser import _chromium, _free_port, _wait_http

pytestmark = pytest.mark.e2e

DEPARTEMENTS = ["17", "33", "69", "91", "95"]
NEW = "44"
DATE = "2026-11-27"
EARLIER = "2026-11-20"


class Screenshots(Chromium):
    """The project's DevTools driver, plus a screenshot of the page once its text holds what we wait for."""

    def shoot(self, url: str, path: Path, wait_for: tuple[str, ...] = (), timeout_s: float = 120.0,
              height: int = 900, settle_s: float = 3.0) -> PageVisit:
        visit = PageVisit(url)
        from websockets.sync.client import connect

        with connect(self._new_target(), max_size=None, open_timeout=30) as ws:
            send = self._sender(ws, visit, timeout_s)

            send("Page.enable")
            send("Emulation.setDeviceMetricsOverride", width=1400, height=height, deviceScaleFactor=1, mobile=False)
            send("Page.navigate", url=url)
            self._wait(ws, visit, lambda m: m.get("method") == "Page.loadEventFired", timeout_s)
            deadline = time.monotonic() + timeout_s
            while True:
                value = send("Runtime.evaluate", returnByValue=True,
                             expression="document.body ? document.body.innerText : ''")["result"]["result"]["value"]
                if all(w in value for w in wait_for) or time.monotonic() > deadline:
                    break
                time.sleep(1)
            time.sleep(settle_s)  # the pop-up, when enabled, opens a second after the page
            visit.text = send("Runtime.evaluate", returnByValue=True,
                              expression="document.body.innerText")["result"]["result"]["value"]
            data = send("Page.captureScreenshot", format="png")["result"]["data"]
        path.write_bytes(base64.b64decode(data))
        missing = [w for w in wait_for if w not in visit.text]
        assert not missing, f"{url}: {missing} not shown"
        return visit


def _graphql(base: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(f"{base}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        answer = json.load(r)
    assert "errors" not in answer, answer
    return answer["data"]


def _partitions(base: str, path: list[str]) -> list[str]:
    data = _graphql(base, "query($k: AssetKeyInput!) { assetNodeOrError(assetKey: $k) { ... on AssetNode "
                          "{ partitionKeys } } }", {"k": {"path": path}})
    return data["assetNodeOrError"].get("partitionKeys") or []


def _runs(base: str) -> list[dict]:
    data = _graphql(base, "{ runsOrError(limit: 200) { ... on Runs { results { runId jobName status "
                          "tags { key value } } } } }")
    runs = data["runsOrError"]["results"]
    for run in runs:
        run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
    return runs


def _wait(what: str, condition, timeout_s: float, every_s: float = 3.0):
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(every_s)


def _cli(bin_dir: Path, env: dict, *args: str) -> str:
    out = subprocess.run([str(bin_dir / args[0]), *args[1:]], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, f"{args}: {out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def test_operators_week_in_the_dagster_ui(tmp_path: Path) -> None:
    chromium = _chromium()
    shots = Path(os.environ.get("ONEVISION_CAPTURES") or tmp_path / "captures")
    shots.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    home, landing, staging = tmp_path / "home", tmp_path / "landing", tmp_path / "staging"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "ONEVISION_LANDING": str(landing),
           "ONEVISION_WAREHOUSE": str(tmp_path / "w.duckdb"), "ONEVISION_REPORTS": str(tmp_path / "rapports"),
           "ONEVISION_IMAGES": "0", "DAGSTER_GRPC_TIMEOUT_SECONDS": "180"}
    # a small demo: 6 departments generated, 5 in the landing zone; 44 lands later
    _cli(bin_dir, env, "onevision", "generate", "--out", str(staging), "--departement", *DEPARTEMENTS, NEW,
         "--entreprises", "25", "--date", DATE, "--instantanes", "2", "--seed", "7")
    later = sorted(staging.glob(f"*/*_{NEW}_*.csv"))
    assert later
    shutil.copytree(staging, landing, ignore=lambda d, names: [n for n in names if f"_{NEW}_" in n])
    summary = _cli(bin_dir, env, "onevision", "run", "--landing", str(landing),
                   "--warehouse", env["ONEVISION_WAREHOUSE"], "--rapports", env["ONEVISION_REPORTS"])
    assert "département 33" in summary and "vue nationale" in summary

    port = _free_port()
    log_path = tmp_path / "ui.log"
    with log_path.open("w") as log_file:
        ui = subprocess.Popen(["bash", str(REPO / "scripts" / "ui.sh")], env={**env, "ONEVISION_UI_PORT": str(port)},
                              stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    browser = None
    try:
        _wait_http(f"{base}/server_info", 180)
        _wait("code location", lambda: _partitions(base, ["raw", "amendes"]), 180)
        # 1. the partitions are the 5 departments of the demo, nothing configured; the history grid the same
        assert _partitions(base, ["raw", "amendes"]) == DEPARTEMENTS
        history = _partitions(base, ["history", "mouvements"])
        assert sorted(history) == sorted(f"{d}|{dept}" for d in (EARLIER, DATE) for dept in DEPARTEMENTS)
        # 2. `onevision run`'s runs carry the project's job names, like its summary
        jobs = [r["jobName"] for r in _runs(base)]
        assert "__ephemeral_asset_job__" not in jobs
        assert jobs.count("rafraichissement_departement") == 5 and jobs.count("historique") == 10
        assert {"chargement_registre", "vue_nationale"} <= set(jobs)
        assert "fiches_entreprises" not in jobs  # company sheets are rendered on demand by the application (issue 21)
        #    one check result per department
        executions = _graphql(base, "{ assetCheckExecutions(assetKey: {path: [\"marts\", \"positions\"]}, "
                                    "checkName: \"totaux_egaux_aux_lignes\", limit: 20) { partition status } }")
        assert sorted(e["partition"] for e in executions["assetCheckExecutions"]) == DEPARTEMENTS
        assert {e["status"] for e in executions["assetCheckExecutions"]} == {"SUCCEEDED"}
        # 3. no community pop-up, the automation running
        assert _graphql(base, "{ shouldShowNux }")["shouldShowNux"] is False
        browser = Screenshots(chromium)
        runs = browser.shoot(f"{base}/runs", shots / "operations_01_executions.png",
                             wait_for=("rafraichissement_departement", "vue_nationale"))
        assert "Join the Dagster community" not in runs.text
        browser.shoot(f"{base}/assets/raw/amendes?view=partitions",
                      shots / "operations_02_partitions_departements.png", wait_for=tuple(DEPARTEMENTS))
        browser.shoot(f"{base}/automation", shots / "operations_03_automatisation.png",
                      wait_for=("depot_extraits", "rafraichissement_quotidien", "historique_apres_departement"))
        # 4. a week: 44's first extracts and a refused file for 17 land; the sensor adds 44 and runs both
        for path in later:
            shutil.copy(path, landing / path.parent.name / path.name)
        (landing / "spl" / "spl_17_20261128.csv").write_bytes(b"")  # unreadable: refused, 17 keeps its figures
        _wait("partition 44", lambda: NEW in _partitions(base, ["raw", "amendes"]), 240)
        assert _partitions(base, ["raw", "amendes"]) == [*DEPARTEMENTS, NEW]  # dynamic: in the order they came

        def sensor_runs() -> list[dict] | None:
            found = [r for r in _runs(base) if r["tags"].get("onevision/declencheur") == "capteur"
                     and r["jobName"] == "rafraichissement_departement"]
            done = [r for r in found if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
            return found if len(done) == 2 else None

        by_dept = {r["tags"]["dagster/partition"]: r for r in _wait("sensor runs", sensor_runs, 420)}
        assert by_dept[NEW]["status"] == "SUCCESS" and by_dept["17"]["status"] == "FAILURE"
        failed = browser.shoot(f"{base}/runs/{by_dept['17']['runId']}", shots / "operations_05_execution_refusee.png",
                               wait_for=("spl_17_20261128.csv",))
        assert "rafraichissement_departement" in failed.text
        browser.shoot(f"{base}/locations/onevision/sensors/depot_extraits", shots / "operations_04_capteur.png",
                      wait_for=("depot_extraits",))
        # the operator removes the refused file and re-runs department 17, then backfills one history date
        (landing / "spl" / "spl_17_20261128.csv").unlink()
        workspace = str(REPO / "workspace.yaml")
        _cli(bin_dir, env, "dagster", "job", "backfill", "-j", "rafraichissement_departement", "--partitions", "17",
             "-w", workspace, "--noprompt")
        _cli(bin_dir, env, "dagster", "job", "backfill", "-j", "historique", "--partitions", f"{EARLIER}|17",
             "-w", workspace, "--noprompt")

        def operator_runs() -> list[dict] | None:
            # the daemon may split a backfill into several runs (one asset after the others): wait for every run
            # of both backfills to finish, whatever their number
            found = [r for r in _runs(base) if "dagster/backfill" in r["tags"]]
            backfills = {r["tags"]["dagster/backfill"] for r in found}
            done = all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in found)
            return found if len(backfills) == 2 and done else None

        reruns = _wait("operator's runs", operator_runs, 420)
        assert {(r["tags"].get("dagster/partition"), r["status"]) for r in reruns} == {
            ("17", "SUCCESS"), (f"{EARLIER}|17", "SUCCESS")}
        assert {"rafraichissement_departement", "historique"} <= {r["jobName"] for r in reruns}
        browser.shoot(f"{base}/assets/marts/positions?view=checks", shots / "operations_06_controles_par_partition.png",
                      wait_for=("totaux_egaux_aux_lignes",))
        browser.shoot(f"{base}/assets/history/mouvements?view=partitions",
                      shots / "operations_07_grille_historique.png", wait_for=("mouvements",), height=1000)
        browser.shoot(f"{base}/runs", shots / "operations_08_executions_semaine.png",
                      wait_for=("historique",))
    finally:
        if browser is not None:
            browser.close()
        # 5. scripts/ui.sh stops within 10 s on SIGTERM, its whole process group with it
        started = time.monotonic()
        ui.send_signal(signal.SIGTERM)
        try:
            ui.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait()
            pytest.fail("scripts/ui.sh did not stop within 10 s of SIGTERM")
        stopped = time.monotonic() - started
        log = log_path.read_text(errors="replace")
    assert stopped < 10
    time.sleep(0.5)
    leftover = subprocess.run(["pgrep", "-g", str(ui.pid)], capture_output=True, text=True).stdout.split()
    assert leftover == [], leftover
    # no warning at start: neither about a dagster.yaml in the current folder nor about `dagster dev` itself
    assert "Found a dagster instance configuration" not in log and "SupersessionWarning" not in log, log[-3000:]
