"""The benchmark commands at a tiny scale print every stage and the ratios.

(Every rule of the derived-table models is exercised on a broken row in tests/test_table_validation.py.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_command_prints_every_stage_and_the_ratios(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.national", "--scale", "0.002", "--out", str(tmp_path / "bench"),
         "--departements", "17", "75", "--no-images", "--steps"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    for stage in ("nation: read entreprises", "nation: group by siren", "department 75: total",
                  "process start", "register (raw/entreprises)", "departments (2 runs, wall)",
                  "snapshots (2 department", "of which department 75", "national views", "total (process start"):
        assert stage in text, stage
    assert re.search(r"department 75: pipeline [\d.]+ s .* = [\d.]+x", text)
    assert re.search(r"nation: pipeline [\d.]+ s / baseline [\d.]+ s = [\d.]+x", text)
    assert re.search(r"peak RSS: [\d,]+ MiB", text)
    assert "lignes_unifiees" in text  # --steps: time of every Dagster step


def test_history_bench_prints_the_weekly_ratio_and_the_year_estimate(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.history", "--scale", "0.002", "--instantanes", "2", "--departements", "17",
         "--out", str(tmp_path / "h")], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"weekly addition: worst [\d.]+ s / first refresh [\d.]+ s = [\d.]+x", out.stdout)
    assert re.search(r"a year of weekly snapshots ≈ [\d.]+ GiB", out.stdout)
