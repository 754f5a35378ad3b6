"""The benchmark command at a tiny scale prints every stage and the ratios."""

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
                  "process start", "register (raw/entreprises)", "departments (2 runs)",
                  "of which department 75", "national views", "total (process start"):
        assert stage in text, stage
    assert re.search(r"department 75: pipeline [\d.]+ s .* = [\d.]+x", text)
    assert re.search(r"nation: pipeline [\d.]+ s / baseline [\d.]+ s = [\d.]+x", text)
    assert re.search(r"peak RSS: [\d,]+ MiB", text)
    assert "lignes_unifiees" in text  # --steps: time of every Dagster step
