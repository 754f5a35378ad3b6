"""Issue 20, finding 5: no start without the proxy's secret unless `--dev` (logged as such); the files the project
writes are 0640 in 0750 folders (warehouse, publication, exports, audit store)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import requests

from onevision_dagster import filemodes
from onevision_dagster.app import audit, model
from onevision_dagster.app.publication import current_file, publish
from onevision_dagster.app.settings import load_settings
from onevision_dagster.app.store import open_store
from onevision_dagster.errors import OneVisionError

from . import app_fixtures as fx
from .security_fixtures import _add_missing

ONEVISION = str(Path(sys.executable).parent / "onevision")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "ONEVISION_WAREHOUSE": str(tmp_path / "data" / "w.duckdb"), **extra}


def test_no_start_without_the_proxy_secret_even_on_the_loopback(tmp_path: Path) -> None:
    with pytest.raises(OneVisionError, match="Refus de démarrer sans ONEVISION_PROXY_SECRET"):
        load_settings({}).check_listen()
    load_settings({"ONEVISION_PROXY_SECRET": "un-secret-assez-long",
                   "ONEVISION_AUDIT_CLE": "une-cle-de-chainage-de-32-caracteres-au-moins"}).check_listen()
    out = subprocess.run([ONEVISION, "app"], capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "Refus de démarrer sans ONEVISION_PROXY_SECRET" in out.stderr and "onevision app --dev" in out.stderr
    # --dev never opens the door beyond the loopback
    out = subprocess.run([ONEVISION, "app", "--dev", "--host", "0.0.0.0"], capture_output=True, text=True,
                         timeout=60, env=_env(tmp_path))
    assert out.returncode == 1 and "Refus de démarrer sur 0.0.0.0" in out.stderr


def test_dev_mode_starts_and_says_so(tmp_path: Path) -> None:
    port = fx.free_port()
    app = subprocess.Popen([ONEVISION, "app", "--dev"], env=_env(tmp_path, ONEVISION_APP_PORT=str(port)),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen = ""
        deadline = time.monotonic() + 60
        while "Application One Vision" not in seen and time.monotonic() < deadline:
            line = app.stdout.readline()
            if not line:
                break
            seen += line
        while time.monotonic() < deadline:  # the banner is printed just before uvicorn binds
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/recherche", params={"q": "secret"}, timeout=10)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer.status_code == 401
    finally:
        app.terminate()  # SIGTERM: uvicorn stops gracefully, the requests without identity counted are written
        app.wait(timeout=30)
    assert "MODE DÉVELOPPEUR (--dev) : démarrage sans ONEVISION_PROXY_SECRET" in seen, seen
    assert f"http://127.0.0.1:{port}/" in seen
    rows = audit.read(open_store(f"sqlite:///{tmp_path / 'data' / 'onevision-app.sqlite'}"))
    assert rows["action"].tolist() == ["REQUETES_ANONYMES"]
    assert rows["objet"].iloc[0].startswith("1 requête(s) « recherche » sans identité depuis le ")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_written_by_the_command_are_not_world_readable(tmp_path: Path) -> None:
    """Run under the usual umask 022: the command's own umask decides (the review found 0644 everywhere)."""
    out = subprocess.run(["/bin/sh", "-c", f"umask 022 && {ONEVISION} audit --out {tmp_path / 'exports' / 'a.csv'}"],
                         capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert out.returncode == 0, out.stderr
    store = tmp_path / "data" / "onevision-app.sqlite"
    assert _mode(store) == 0o640 and _mode(store.parent) == 0o750
    assert _mode(tmp_path / "exports" / "a.csv") == 0o640 and _mode(tmp_path / "exports") == 0o750
    assert filemodes.open_to_others([tmp_path / "data", tmp_path / "exports"]) == []


def test_a_store_made_world_readable_is_brought_back(tmp_path: Path) -> None:
    from onevision_dagster.app.store import open_store

    database = tmp_path / "app.sqlite"
    database.touch(mode=0o666)
    database.chmod(0o666)
    open_store(f"sqlite:///{database}")
    assert _mode(database) == 0o640


def test_warehouse_and_publication_under_the_projects_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        filemodes.restrict()  # what cli.main and definitions do at import
        (tmp_path / "data").mkdir()
        warehouse = fx.build_warehouse(tmp_path / "data" / "w.duckdb")
        with duckdb.connect(str(warehouse)) as con:
            for table, columns in (("marts.positions", model.POSITIONS), ("core.lignes_dettes", model.LIGNES),
                                   ("marts.positions_nationales", model.POSITIONS_NATIONALES),
                                   ("core.lignes_creances", model.LIGNES)):
                _add_missing(con, table, columns)
            publish(con, tmp_path / "data" / "publication")
    finally:
        os.umask(previous)
    assert _mode(warehouse) == 0o640 and _mode(tmp_path / "data") == 0o750
    assert _mode(current_file(tmp_path / "data" / "publication")) == 0o640
    assert _mode(tmp_path / "data" / "publication") == 0o750
    assert filemodes.open_to_others([tmp_path / "data"]) == []
