"""Rebuilds docs/img/evaluation_verdict.png: the top of the experiment's dashboard on the demo draw of
docs/evaluation.md.

The draw is the one of `tests/test_evaluation.py::test_demo_experiment_effect_is_found_and_no_effect_is_not`
(its table in docs/evaluation.md): `onevision generate` of 12 departments (01 13 17 21 33 35 44 59 67 69 91 95),
pilots 17, 91, 95, 600 companies per department, seed 1, 8 weekly snapshots ending on 2026-11-27, the experiment
starting on the 4th (2026-10-30), `--effet 0.3`. The history is built as the test builds it (the plain functions
`onevision run` calls, no Dagster run per snapshot) in a DuckDB file, with the national weekly impact and the
landing zone's synthetic-data marker; then the evaluation is stored, the dashboard
`tableau_de_bord_experimentation.html` written as the asset writes it (no application store: no agents'
follow-up), and headless Chromium takes the top of the page (verdict, synthetic-data notice, key figures and
the weekly offset-rate chart with its start line).

    .venv/bin/python scripts/evaluation_screenshot.py            # a few minutes; prints the verdict's figures
    .venv/bin/python scripts/evaluation_screenshot.py --work build/shot --png /tmp/shot.png

The page's « page produite le … » stamp is the day it runs; its freshness limit is raised to the age of the
draw's latest snapshot (2026-11-27), so that fixed date is not flagged « ancienne » on a later day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPARTEMENTS = ("01", "13", "17", "21", "33", "35", "44", "59", "67", "69", "91", "95")
PILOTES = ("17", "91", "95")
LAST = dt.date(2026, 11, 27)
START = LAST - dt.timedelta(weeks=4)  # 8 weekly snapshots, the start on the 4th
COMPANIES = 600
SEED = 1


def build(work: Path, effet: float) -> Path:
    """Landing zone, warehouse with history and evaluation, dashboard: returns the page's path."""
    import duckdb

    from onevision_dagster import warehouse
    from onevision_dagster.consolidate.build import build_all
    from onevision_dagster.demo.generator import generate_landing
    from onevision_dagster.experiment.evaluation import run_evaluation
    from onevision_dagster.history.rebuild import rebuild_history
    from onevision_dagster.ingest.load import ingest_landing
    from onevision_dagster.ingest.origin import record_origin
    from onevision_dagster.reports.experiment_data import load_experiment_data
    from onevision_dagster.reports.experiment_followup import load_followup, with_verification
    from onevision_dagster.reports.experiment_page import write_experiment_dashboard

    landing, db, reports = work / "landing", work / "onevision.duckdb", work / "rapports"
    t = time.monotonic()
    generate_landing(landing, list(DEPARTEMENTS), COMPANIES, LAST, SEED, instantanes=8, pilotes=PILOTES,
                     debut_pilote=START, effet=effet)
    print(f"landing zone written ({time.monotonic() - t:.0f} s)", flush=True)
    with duckdb.connect(str(db)) as con:
        warehouse.create_raw_and_quality(con)
        ingest_landing(con, landing)
        record_origin(con, landing)  # the register's refresh does it in `onevision run`
        rebuild_history(con, build_all(con), PILOTES)
        print(f"history built ({time.monotonic() - t:.0f} s)", flush=True)
        frame, _ = run_evaluation(con, PILOTES, START)
        data = load_experiment_data(con, PILOTES)
        # no application store in this folder: the page says there is no agents' follow-up
        followup = with_verification(con, load_followup(f"sqlite:///{work / 'absent.sqlite'}", PILOTES))
    # the draw's dates are fixed: its latest snapshot is not flagged as old merely because the picture is taken later
    page = write_experiment_dashboard(data, followup, reports, freshness_days=freshness_limit())
    shown = frame.set_index("indicateur")
    for name in ("taux_compensation", "placebo_taux_compensation"):
        r = shown.loc[name]
        print(f"{name}: {r['estimation']:.4f} (IC {r['ic_bas']:.4f} à {r['ic_haut']:.4f}), "
              f"p = {r['p_valeur']:.4f} sur {r['tirages']} tirages", flush=True)
    return page


def freshness_limit(today: dt.date | None = None) -> int:
    """The freshness limit the page is written with: the usual 7 days, or the age of the draw's latest snapshot."""
    from onevision_dagster.reports.freshness import DEFAULT_LIMIT_DAYS, today_paris

    return max(DEFAULT_LIMIT_DAYS, ((today or today_paris()) - LAST).days)


def screenshot(page: Path, png: Path, chromium: str, width: int, height: int) -> None:
    """Headless Chromium's capture of the page's top `width` × `height` CSS pixels (plotly has time to draw)."""
    png.unlink(missing_ok=True)  # a picture left from an earlier run must not pass for this one
    with tempfile.TemporaryDirectory(prefix="onevision-shot-") as profile:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--no-first-run", "--disable-background-networking", "--disable-component-update",
                        f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        "--virtual-time-budget=10000", f"--screenshot={png.resolve()}", page.resolve().as_uri()],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=180)
    if not png.is_file() or png.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no picture at {png}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, help="folder for the landing zone, warehouse and dashboard "
                        "(default: a temporary folder, deleted afterwards); must not exist yet")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "img" / "evaluation_verdict.png")
    parser.add_argument("--effet", type=float, default=0.3)
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--width", type=int, default=1300)
    parser.add_argument("--height", type=int, default=1820)
    args = parser.parse_args()
    if args.work is not None and args.work.exists():
        parser.error(f"{args.work} exists: give a new folder")
    work = args.work or Path(tempfile.mkdtemp(prefix="onevision-evaluation-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        page = build(work, args.effet)
        screenshot(page, args.png, args.chromium, args.width, args.height)
        print(f"{args.png} ({args.width} × {args.height}) from {page}")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
