"""Issue 23 point 1 through the command line: `onevision run` (and `onevision historique`) exits 1 naming the
check, and `onevision export` then gives byte for byte the last good figures.

One guard of each kind — a department's consistency rule, a national model, the history's reconciliation — is
spoiled in the command's own process (`SPOIL_AND_RUN`: the spoil of `test_guards_publication.CASES` applied, then
the CLI's `main`), on a copy of the last good warehouse built from the samples. Each run is a real refresh (20 to
40 s), so the other guards are proven by the asset runs of `test_guards_publication.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, SAMPLE_LANDING
from .test_guards_publication import CASES, exports, last_good, tables

SPOIL_AND_RUN = """
import sys
import pytest
from tests.test_guards_publication import CASES, spoil_at_validation
from onevision_dagster.cli import main
patch = pytest.MonkeyPatch()
spoiled = spoil_at_validation(patch, CASES[sys.argv[1]])
code = main(sys.argv[2:])
print("spoiled:", ",".join(spoiled))
sys.exit(code)
"""


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], dict[str, str]]:
    return last_good(tmp_path_factory)


def _onevision(case: str, args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ONEVISION_IMAGES": "0", "ONEVISION_PILOTES": "17,91,95", "PYTHONPATH": str(REPO)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([sys.executable, "-c", SPOIL_AND_RUN, case, *args], capture_output=True, text=True,
                          cwd=tmp, env=env, timeout=900)


@pytest.mark.parametrize(("case", "command"), [
    ("fines_accounted_for", ["run", "--departement", "17", "--sans-historique"]),
    ("model marts.compensations", ["run", "--departement", "17", "--sans-historique"]),
    ("movements.reconciliation", ["historique", "--departement", "17", "--date", "2026-11-27"]),
])
def test_the_command_exits_1_naming_the_check_and_exports_the_last_good_figures(
        case: str, command: list[str], good, tmp_path: Path) -> None:
    good_db, good_exports, good_tables = good
    db = tmp_path / "onevision.duckdb"
    shutil.copyfile(good_db, db)
    args = [*command, "--warehouse", str(db), "--landing", str(SAMPLE_LANDING)]
    if command[0] == "run":
        args += ["--rapports", str(tmp_path / "rapports")]
    done = _onevision(case, args, tmp_path)
    out = done.stdout + done.stderr
    assert f"spoiled: {CASES[case].table}" in done.stdout, out
    assert done.returncode == 1, out
    assert "ÉCHEC" in done.stdout and CASES[case].names in done.stdout, out
    assert "Traceback" not in out
    assert exports(db, tmp_path / "exports") == good_exports
    assert tables(db) == good_tables
