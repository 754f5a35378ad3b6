"""Point 7 of issue 12: the application answers from a published copy while the pipeline writes.

DuckDB admits one writing process and a writer locks other processes out of the file: a second process
holds the warehouse's write lock here, the application keeps answering from the published copy, and a
publication made by that writer is picked up without a restart.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import requests
import yaml

from onevision_dagster.app import model
from onevision_dagster.app.publication import POINTER, current_file, publish, remove_old
from onevision_dagster.app.reader import NoPublication, PublishedData
from onevision_dagster.assets.publication import PUBLICATION_APP, publication_app
from onevision_dagster.definitions import all_assets
from onevision_dagster.errors import OneVisionError
from onevision_dagster.orchestration.runner import _asset_groups
from onevision_dagster.resources import Warehouse

from . import app_fixtures as fx
from .conftest import REPO

TELEMETRY_GUARD = """grep -q '^telemetry:' "$DAGSTER_HOME/dagster.yaml" || printf"""
NATIONAL = {"X-Remote-User": "nina", "X-Remote-Groups": "onevision-national"}


def test_published_copy_holds_the_served_tables_sorted_by_siren(tmp_path: Path) -> None:
    warehouse = fx.build_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        result = publish(con, tmp_path / "pub")
    assert result.entreprises == 7 and result.path == current_file(tmp_path / "pub")
    with duckdb.connect(str(result.path), read_only=True) as pub:
        tables = {r[0] for r in pub.execute("SHOW TABLES").fetchall()}
        assert tables == {"positions", "positions_nationales", "lignes_dettes", "lignes_creances", "non_positionnees",
                          "recherche", "mots", "noms", "publication", "compensations", "declarations", "fraicheur"}
        assert tuple(c[0] for c in pub.execute("DESCRIBE positions").fetchall()) == model.POSITIONS
        assert tuple(c[0] for c in pub.execute("DESCRIBE lignes_dettes").fetchall()) == model.LIGNES
        sirens = [r[0] for r in pub.execute("SELECT siren FROM lignes_dettes").fetchall()]
        assert sirens == sorted(sirens)
        # the current register version is the one searched (the older one called the bakery otherwise)
        assert pub.execute("SELECT denomination, nom_normalise FROM recherche WHERE siren = ?",
                           [fx.BAKERY]).fetchone() == ("BOULANGERIE DU PORT", "BOULANGERIE DU PORT")
        ecuries = pub.execute("SELECT commune_normalise, date_jugement::VARCHAR, liste_departements FROM recherche "
                              "WHERE siren = ?", [fx.ECURIES]).fetchone()
        assert ecuries == ("SAINT MARTIN DE RE", "2026-06-12", ["17"])
        # the word index: each word of name, acronym, town and postal code, sorted by word
        words = pub.execute("SELECT mot FROM mots WHERE siren = ? ORDER BY mot", [fx.OYSTERS]).fetchall()
        assert [w[0] for w in words] == ["17320", "MARENNES", "OLERON", "OMO", "OSTREICULTURE"]
        all_words = [w[0] for w in pub.execute("SELECT mot FROM mots").fetchall()]
        assert all_words == sorted(all_words)
        money = pub.execute("SELECT typeof(montant_compensable) FROM positions LIMIT 1").fetchone()[0]
        assert money == "DECIMAL(18,2)"


def test_swap_is_atomic_and_old_copies_go_after_their_grace(tmp_path: Path) -> None:
    warehouse = fx.build_warehouse(tmp_path / "w.duckdb")
    folder = tmp_path / "pub"
    data = PublishedData(folder, check_interval_s=0)
    with pytest.raises(NoPublication):
        with data.cursor():
            pass
    with duckdb.connect(str(warehouse)) as con:
        first = publish(con, folder).path
        with data.cursor() as old:  # a request running on the first copy during the next publication
            con.execute("UPDATE marts.positions_nationales SET denomination = 'NOUVEAU NOM' WHERE siren = ?",
                        [fx.BAKERY])
            second = publish(con, folder, grace_s=3600).path
            assert json.loads((folder / POINTER).read_text())["fichier"] == second.name
            with data.cursor() as new:
                assert new.execute("SELECT denomination FROM positions_nationales WHERE siren = ?",
                                   [fx.BAKERY]).fetchone()[0] == "NOUVEAU NOM"
            # the old request still reads its own copy, untouched
            assert old.execute("SELECT denomination FROM positions_nationales WHERE siren = ?",
                               [fx.BAKERY]).fetchone()[0] == "BOULANGERIE DU PORT"
    assert data.path == second and first.exists()
    assert remove_old(folder, grace_s=3600) == ()  # retired a moment ago: kept for a while
    assert remove_old(folder, grace_s=3600, now=time.time() + 3601) == (first.name,)
    assert not first.exists() and second.exists()
    (folder / POINTER).write_text('{"fichier": "../w.duckdb"}')  # a pointer never leads outside its folder
    assert current_file(folder) is None
    with data.cursor() as cur:  # a broken pointer: the last good copy stays served
        assert cur.execute("SELECT count(*) FROM recherche").fetchone()[0] == 7
    data.close()


WRITER = textwrap.dedent("""
    import sys, time, duckdb
    from onevision_dagster.app.publication import publish
    con = duckdb.connect(sys.argv[1])          # the pipeline's process: the only writer
    con.execute("BEGIN TRANSACTION")
    con.execute("UPDATE marts.positions SET dettes_spl = dettes_spl WHERE departement = '17'")
    print("verrou", flush=True)
    sys.stdin.readline()                       # the test checks the application meanwhile
    con.execute("UPDATE raw.entreprises SET denomination = 'BOULANGERIE DU PORT REFAITE' "
                "WHERE siren = '812345676'")
    con.execute("COMMIT")
    publish(con, sys.argv[2])
    print("publie", flush=True)
    sys.stdin.readline()
""")


def test_app_answers_while_another_process_holds_the_write_lock(tmp_path: Path) -> None:
    warehouse = fx.build_warehouse(tmp_path / "w.duckdb")
    folder = tmp_path / "pub"
    with duckdb.connect(str(warehouse)) as con:
        publish(con, folder)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(warehouse), str(folder)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert writer.stdout.readline().strip() == "verrou"
        with pytest.raises(duckdb.IOException, match="(?i)lock"):  # the warehouse itself is out of reach
            duckdb.connect(str(warehouse), read_only=True)
        settings = fx.app_settings(tmp_path, folder)
        with fx.running_app(settings) as base:
            page = requests.get(f"{base}/entreprises/{fx.BAKERY}", headers=NATIONAL, timeout=10)
            assert page.status_code == 200 and "BOULANGERIE DU PORT" in page.text
            found = requests.get(f"{base}/recherche", params={"q": "boulangerie"}, headers=NATIONAL, timeout=10)
            assert found.status_code == 200 and fx.BAKERY in found.text
            writer.stdin.write("\n")
            writer.stdin.flush()
            assert writer.stdout.readline().strip() == "publie"
            # the application looks at the pointer at most once a second: poll for the new page (issue 23: a
            # condition, not a sleep), failing after 30 s
            deadline = time.monotonic() + 30
            while True:
                fresh = requests.get(f"{base}/entreprises/{fx.BAKERY}", headers=NATIONAL, timeout=10)
                if "BOULANGERIE DU PORT REFAITE" in fresh.text or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert fresh.status_code == 200 and "BOULANGERIE DU PORT REFAITE" in fresh.text
    finally:
        writer.stdin.write("\n")
        writer.stdin.flush()
        writer.wait(timeout=60)
    assert writer.returncode == 0


def test_publication_is_the_last_asset_of_the_national_run(tmp_path: Path, monkeypatch) -> None:
    _, partitioned, _, national = _asset_groups(all_assets)
    assert PUBLICATION_APP in {k for a in national for k in a.keys}  # `onevision run` materializes it
    assert PUBLICATION_APP not in {k for a in partitioned for k in a.keys}
    monkeypatch.delenv("ONEVISION_PUBLICATION", raising=False)
    warehouse = fx.build_warehouse(tmp_path / "w.duckdb")
    result = dg.materialize([publication_app], resources={"warehouse": Warehouse(path=str(warehouse))})
    assert result.success
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["entreprises"].value == 7
    assert Path(meta["fichier"].value) == current_file(tmp_path / "publication")
    monkeypatch.setenv("ONEVISION_PUBLICATION", str(tmp_path / "ailleurs"))
    assert dg.materialize([publication_app], resources={"warehouse": Warehouse(path=str(warehouse))}).success
    assert current_file(tmp_path / "ailleurs") is not None


def test_every_dagster_instance_of_the_project_has_telemetry_off() -> None:
    for config in (REPO / "dagster.yaml", REPO / "deploy" / "postgres" / "dagster.yaml"):
        assert yaml.safe_load(config.read_text())["telemetry"] == {"enabled": False}, config
    for script in ("scripts/ui.sh", "scripts/demo.sh"):
        text = (REPO / script).read_text()
        assert "cp dagster.yaml" in text and TELEMETRY_GUARD in text, script  # an older instance gets it too
    with dg.DagsterInstance.ephemeral() as instance:  # `onevision run` without DAGSTER_HOME
        assert instance.telemetry_enabled is False


def test_an_incomplete_copy_is_never_published(tmp_path: Path) -> None:
    warehouse = fx.build_warehouse(tmp_path / "w.duckdb")
    folder = tmp_path / "pub"
    with duckdb.connect(str(warehouse)) as con:
        good = publish(con, folder).path
        # a register holding a SIREN twice would give a company two search rows: refused, not served
        con.execute("INSERT INTO raw.entreprises SELECT * FROM raw.entreprises WHERE siren = ? "
                    "AND date_extraction = DATE '2026-11-27'", [fx.BAKERY])
        with pytest.raises(OneVisionError, match="recherche : 8 lignes copiées pour 7"):
            publish(con, folder)
    assert current_file(folder) == good
    assert sorted(p.name for p in folder.glob("*.duckdb")) == [good.name]  # the partial copy is gone
