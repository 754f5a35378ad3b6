"""Fault injection on generated data, through the `onevision` command as an operator runs it (issue #11).

After each fault: the exit code, the one French sentence, and the agents' positions export byte-identical to the
last good one (or to the complete new one, never to a half-written state).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import require

REPO = Path(__file__).resolve().parent.parent
ONEVISION = Path(sys.executable).parent / "onevision"
AS_OF = dt.date(2026, 11, 27)


def onevision(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(ONEVISION), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "ONEVISION_IMAGES": "0", "ONEVISION_LOCK_TIMEOUT": "3", **(env or {})})


class Warehouse:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.landing = root / "landing"
        self.path = root / "onevision.duckdb"

    def run(self, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return onevision("run", "--landing", str(self.landing), "--warehouse", str(self.path), "--rapports",
                         str(self.root / "rapports"), *extra, env=env)

    def positions(self) -> bytes:
        out = self.root / "positions.csv"
        result = onevision("export", "positions", "--departement", "17", "--warehouse", str(self.path), "--out",
                           str(out))
        assert result.returncode == 0, result.stderr
        return out.read_bytes()


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, bytes]:
    """A generated landing zone (department 17) run once: the last good positions."""
    from onevision_dagster.demo.generator import generate_landing

    w = Warehouse(tmp_path_factory.mktemp("faults"))
    generate_landing(w.landing, ["17"], 1500, AS_OF, 7)
    result = w.run()
    assert result.returncode == 0, result.stdout + result.stderr
    return w, w.positions()


def _copy(w: Warehouse, tmp_path: Path) -> Warehouse:
    copy = Warehouse(tmp_path)
    shutil.copytree(w.landing, copy.landing)
    shutil.copy(w.path, copy.path)
    return copy


def test_missing_source_folders_keep_the_last_good_figures(good: tuple[Warehouse, bytes], tmp_path: Path) -> None:
    w, positions = good
    w = _copy(w, tmp_path)
    shutil.rmtree(w.landing / "spl")
    shutil.rmtree(w.landing / "entreprises")
    result = w.run()
    assert result.returncode == 1  # the register asked for was not refreshed
    assert "Non rafraîchi — registre : aucun fichier entreprises_<AAAAMMJJ>.csv" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert w.positions() == positions


def test_a_department_whose_files_are_all_gone_is_reported(good: tuple[Warehouse, bytes], tmp_path: Path) -> None:
    w, positions = good
    w = _copy(w, tmp_path)
    for folder in w.landing.iterdir():
        for f in folder.glob("*_17_*.csv"):
            f.unlink()
    result = w.run("--departement", "17")
    assert result.returncode == 1
    assert "département 17 : aucun extrait dans la zone de dépôt, son dernier instantané est conservé" in result.stderr
    assert w.positions() == positions


def test_a_run_killed_midway_leaves_the_last_good_or_the_new_figures(good: tuple[Warehouse, bytes],
                                                                    tmp_path: Path) -> None:
    w, positions = good
    w = _copy(w, tmp_path)
    # a new weekly extract lands (same files, a week later): the run has real work to do
    later = (AS_OF + dt.timedelta(days=7)).strftime("%Y%m%d")
    for folder in w.landing.iterdir():
        for f in list(folder.glob(f"*_{AS_OF:%Y%m%d}.csv")):
            shutil.copy(f, f.with_name(f.name.replace(f"{AS_OF:%Y%m%d}", later)))
    started = time.monotonic()
    complete = _copy(w, tmp_path / "complete").run()
    assert complete.returncode == 0, complete.stderr
    full = time.monotonic() - started
    proc = subprocess.Popen([str(ONEVISION), "run", "--landing", str(w.landing), "--warehouse", str(w.path),
                             "--rapports", str(w.root / "rapports")], env={**os.environ, "ONEVISION_IMAGES": "0"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(full * 0.4)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after_kill = w.positions()
    assert after_kill in (positions, Warehouse(tmp_path / "complete").positions())
    assert w.run().returncode == 0  # the next run completes from whatever was committed
    assert w.positions() == Warehouse(tmp_path / "complete").positions()


def test_a_locked_warehouse_gives_one_sentence_and_changes_nothing(good: tuple[Warehouse, bytes],
                                                                   tmp_path: Path) -> None:
    w, positions = good
    w = _copy(w, tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
                               "print('ok', flush=True); time.sleep(60)", str(w.path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        for result in (w.run(), onevision("export", "positions", "--departement", "17", "--warehouse", str(w.path),
                                          "--out", str(tmp_path / "x.csv"))):
            assert result.returncode == 1
            assert "est verrouillé par un autre processus" in result.stderr
            assert "Traceback" not in result.stderr
    finally:
        holder.kill()
        holder.wait()
    assert w.positions() == positions


def test_a_corrupt_warehouse_is_named_and_left_untouched(good: tuple[Warehouse, bytes], tmp_path: Path) -> None:
    w, _ = good
    w = _copy(w, tmp_path)
    data = bytearray(w.path.read_bytes())
    data[:4096] = b"\x00" * 4096  # the header is gone
    w.path.write_bytes(bytes(data))
    for result in (w.run(), onevision("export", "positions", "--departement", "17", "--warehouse", str(w.path),
                                      "--out", str(tmp_path / "x.csv"))):
        assert result.returncode == 1
        assert "n'est pas un entrepôt DuckDB valide" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert w.path.read_bytes() == bytes(data)  # nothing rebuilt over it: it can still be restored


def _read_only_command(folder: Path, args: list[str]) -> list[str]:
    """The command run with `folder` read-only: file modes for a user, a read-only bind mount for root (for
    whom modes do not apply) in a private mount namespace; where neither is possible, skipped on a developer's
    machine and a failure under CI."""
    if os.geteuid() != 0:
        return args
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    require(probe.returncode == 0, "root sans droit de créer un espace de montage : lecture seule non simulable ici")
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", str(folder), *args]


def test_a_read_only_warehouse_gives_one_sentence_and_still_exports(good: tuple[Warehouse, bytes],
                                                                     tmp_path: Path) -> None:
    w, positions = good
    w = _copy(w, tmp_path / "ro")
    env = {**os.environ, "ONEVISION_IMAGES": "0", "ONEVISION_LOCK_TIMEOUT": "3"}
    run = [str(ONEVISION), "run", "--landing", str(w.landing), "--warehouse", str(w.path), "--rapports",
           str(tmp_path / "rapports")]
    export = [str(ONEVISION), "export", "positions", "--departement", "17", "--warehouse", str(w.path), "--out",
              str(tmp_path / "positions.csv")]
    before = w.path.read_bytes()
    w.path.chmod(0o444)
    w.root.chmod(0o555)
    try:
        refused = subprocess.run(_read_only_command(w.root, run), capture_output=True, text=True, env=env,
                                 timeout=600)
        exported = subprocess.run(_read_only_command(w.root, export), capture_output=True, text=True, env=env,
                                  timeout=600)
    finally:
        w.root.chmod(0o755)
        w.path.chmod(0o644)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stderr.strip() == (
        f"Erreur : L'entrepôt {w.path} n'est pas accessible en écriture (droits du fichier ou du dossier, ou "
        "système de fichiers en lecture seule).")
    assert "Traceback" not in refused.stdout + refused.stderr
    assert exported.returncode == 0, exported.stderr  # agents can still export the last figures
    assert (tmp_path / "positions.csv").read_bytes() == positions
    assert w.path.read_bytes() == before


def test_two_refreshes_at_once_queue_and_agree(good: tuple[Warehouse, bytes], tmp_path: Path) -> None:
    w, positions = good
    w = _copy(w, tmp_path)
    env = {**os.environ, "ONEVISION_IMAGES": "0", "ONEVISION_LOCK_TIMEOUT": "600"}
    args = [str(ONEVISION), "run", "--landing", str(w.landing), "--warehouse", str(w.path), "--rapports",
            str(w.root / "rapports")]
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert w.positions() == positions  # same files, same figures
