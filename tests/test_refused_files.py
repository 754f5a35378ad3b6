"""A file refused as a whole, and what follows from it (issue 20, finding 3), through `onevision run` on the
samples as an operator runs it.

- A department file of a new date refused: the snapshot of that date reads the previous readable file of its
  source (contract section 9), so the history reconciles; the summary says which file the snapshot could not
  read, never raw stocks; nothing is stored under another date.
- A register refused: the run exits 1 with the register « ÉCHEC », the departments are consolidated on the last
  good register, and the dashboards list the refused file: a register not refreshed is never shown as loaded.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from .test_fault_injection import Warehouse

NEW = "20261204"


@pytest.fixture(scope="module")
def good(sample_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    w = Warehouse(tmp_path_factory.mktemp("refus"))
    shutil.copytree(sample_landing, w.landing)
    result = w.run()
    assert result.returncode == 0, result.stdout + result.stderr
    return w


def _copy(w: Warehouse, tmp_path: Path) -> Warehouse:
    copy = Warehouse(tmp_path)
    shutil.copytree(w.landing, copy.landing)
    shutil.copy(w.path, copy.path)
    return copy


def _refused_block(page: Path) -> str:
    found = re.search(r'<div class=alerte id="fichiers-refuses">(.*?)</div>', page.read_text(encoding="utf-8"), re.S)
    assert found is not None, f"{page.name} does not list the refused files"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))))


def _history(w: Warehouse) -> dict[dt.date, tuple[int, object]]:
    with duckdb.connect(str(w.path), read_only=True) as con:
        rows = con.execute("SELECT date_situation, count(*), sum(total_creances) FROM history.positions_historique "
                           "WHERE departement = '17' GROUP BY ALL").fetchall()
    return {d: (n, creances) for d, n, creances in rows}


def test_a_refused_department_file_gives_a_snapshot_on_the_previous_file(good: Warehouse, tmp_path: Path) -> None:
    w = _copy(good, tmp_path)
    before = _history(w)
    (w.landing / "rnf" / f"rnf_17_{NEW}.csv").write_text("MAUVAIS;ENTETE\n1;2\n", encoding="utf-8")
    result = w.run()
    assert result.returncode == 1  # department 17 was not refreshed as asked
    out = result.stdout
    assert re.search(r"département 17\s+ÉCHEC", out) and f"Fichier rnf_17_{NEW}.csv refusé" in out
    assert re.search(r"historique 17 \(1 instantané\(s\)\)\s+OK", out), out
    assert (f"instantané du 04/12/2026 : fichier(s) refusé(s) à cette date : rnf_17_{NEW}.csv ; l'instantané lit "
            "pour leur source le fichier lisible précédent") in out
    assert "réconcilient pas" not in out and "stock" not in out  # no knock-on failure printed as raw stocks
    after = _history(w)
    # the 04/12 snapshot reads the 27/11 files at its own date: same companies and credits, stored under 04/12,
    # and the 27/11 snapshot is untouched (the defect stored the 04/12 rows under 27/11)
    assert after[dt.date(2026, 11, 27)] == before[dt.date(2026, 11, 27)]
    assert after[dt.date(2026, 12, 4)] == before[dt.date(2026, 11, 27)]
    assert set(after) == set(before) | {dt.date(2026, 12, 4)}
    block = _refused_block(w.root / "rapports" / "tableau_de_bord_national.html")
    assert f"rnf_17_{NEW}.csv (Recettes non fiscales, 17)" in block
    assert "les chiffres restent ceux du fichier valide du 27/11/2026" in block


def test_a_refused_register_is_never_shown_as_loaded(good: Warehouse, tmp_path: Path) -> None:
    w = _copy(good, tmp_path)
    positions = w.positions()
    (w.landing / "entreprises" / f"entreprises_{NEW}.csv").write_text("siren;x\n1;2\n", encoding="utf-8")
    result = w.run()
    assert result.returncode == 1
    out = result.stdout
    assert re.search(r"registre\s+ÉCHEC", out) and f"Fichier entreprises_{NEW}.csv refusé" in out
    assert "les départements sont consolidés avec le dernier registre valide" in out
    assert re.search(r"département 17\s+OK", out) and re.search(r"vue nationale\s+OK", out)
    assert w.positions() == positions  # the last good register: the same figures
    for page in ("tableau_de_bord_national.html", "tableau_de_bord_17.html"):
        block = _refused_block(w.root / "rapports" / page)
        assert f"entreprises_{NEW}.csv (registre national)" in block
        assert "les chiffres restent ceux du fichier valide du 27/11/2026" in block
    # the samples' own files are fine: a clean run lists no refused file
    assert 'id="fichiers-refuses"' not in (good.root / "rapports" / "tableau_de_bord_national.html").read_text(
        encoding="utf-8")
