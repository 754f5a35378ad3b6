"""`onevision run` never says « OK » over a file it did not read (issue 17, point 8).

Tried as a new user would: a VAT file whose name does not follow the contract's pattern (upper case, wrong case
of the extension) used to be skipped with exit 0 and every stage « OK ». It is now listed « non lu » in the
summary, with why, and the run exits 1 — the rest of the landing zone is still loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ONEVISION = Path(sys.executable).parent / "onevision"


def test_a_file_not_read_because_of_its_name_is_non_lu_and_exit_1(landing_copy: Path, tmp_path: Path) -> None:
    stray = landing_copy / "credits_tva" / "Credits_TVA_17_20261206.CSV"
    stray.write_text("NUM_DEMANDE;SIREN\n", encoding="utf-8")
    result = subprocess.run([str(ONEVISION), "run", "--landing", str(landing_copy), "--warehouse",
                             str(tmp_path / "w.duckdb"), "--rapports", str(tmp_path / "r"), "--departement", "17"],
                            capture_output=True, text=True, timeout=900, env={**os.environ, "ONEVISION_IMAGES": "0"})
    assert result.returncode == 1, result.stdout + result.stderr
    unread = [line for line in result.stdout.splitlines() if line.startswith("Non lu — ")]
    assert len(unread) == 1 and "Credits_TVA_17_20261206.CSV" in unread[0]
    assert "le nom ne suit pas le modèle" in unread[0]
    assert "Traceback" not in result.stdout + result.stderr
    # every stage ran and succeeded: the exit code is the unread file's alone
    assert "vue nationale" in result.stdout and "ÉCHEC" not in result.stdout and "Non rafraîchi" not in result.stderr
    assert (tmp_path / "w.duckdb").exists()  # the files that follow the contract were loaded all the same
