"""Issue 20, finding 1: the audit is tamper-evident.

The attack of the review: the application's own account drops the triggers, rewrites and deletes rows, and the
application recreated the triggers at its next start without a word. Now every row is chained to the previous one
by a keyed hash, `onevision audit --verifier` names the first broken link, the application refuses to serve (or
alerts) when the chain or the triggers were touched, and never recreates a trigger by itself.
"""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from onevision_dagster.app import audit
from onevision_dagster.app.server import make_server
from onevision_dagster.app.settings import load_settings
from onevision_dagster.app.store import missing_protections, open_store
from onevision_dagster.errors import OneVisionError

from . import app_fixtures as fx

KEY = "cle-de-test-du-chainage-de-l-audit-0123456789"
ONEVISION = str(Path(sys.executable).parent / "onevision")


@pytest.fixture(autouse=True)
def _key():
    audit.use_key(KEY.encode())
    yield
    audit.use_key(None)


def _write(engine: sa.Engine, n: int) -> None:
    for i in range(1, n + 1):
        audit.record(engine, user="alice", departements="17", action="CONSULTATION_ENTREPRISE",
                     objet=f"81234567{i}", status=200)


def _tamper(engine: sa.Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def _cli(tmp_path: Path, database: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ONEVISION, "audit", "--base", f"sqlite:///{database}", *args], capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "ONEVISION_AUDIT_CLE": KEY,
                                                      "ONEVISION_WAREHOUSE": str(tmp_path / "w.duckdb")})


def test_the_reviews_attack_is_detected_and_the_application_does_not_serve(tmp_path: Path) -> None:
    database = tmp_path / "app.sqlite"
    engine = open_store(f"sqlite:///{database}")
    _write(engine, 4)
    assert audit.verify(engine).sentence() == ("Chaîne de l'audit intacte : 4 enregistrement(s) vérifié(s), du n° 1 "
                                               "au n° 4.")
    # the application's own account: drop the triggers, rewrite who looked at a company, delete a row
    _tamper(engine, "DROP TRIGGER audit_sans_update", "DROP TRIGGER audit_sans_delete",
            "UPDATE audit SET utilisateur = 'bob' WHERE id = 2", "DELETE FROM audit WHERE id = 4")
    engine = open_store(f"sqlite:///{database}")  # a restart: the triggers are not silently recreated
    with engine.connect() as conn:
        assert missing_protections(conn) == ["audit_sans_update", "audit_sans_delete"]
    assert audit.integrity(engine) == [
        "Protection de l'audit retirée : déclencheur(s) absent(s) ou désactivé(s) : audit_sans_update, "
        "audit_sans_delete.",
        "Chaîne de l'audit rompue : premier maillon rompu à l'enregistrement n° 2 (contenu modifié, ou clé "
        "différente de celle qui l'a écrit)."]
    settings = dataclasses.replace(fx.app_settings(tmp_path, tmp_path / "publication"),
                                   database_url=f"sqlite:///{database}", audit_key=KEY.encode())
    with pytest.raises(OneVisionError, match=r"^Refus de servir : Protection de l'audit retirée .* premier maillon "
                       r"rompu à l'enregistrement n° 2 "):
        make_server(settings)
    # the command names the first broken link, exit 1
    out = _cli(tmp_path, database, "--verifier")
    assert out.returncode == 1 and "premier maillon rompu à l'enregistrement n° 2" in out.stdout, out.stderr


def test_alert_mode_serves_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = tmp_path / "app.sqlite"
    engine = open_store(f"sqlite:///{database}")
    _write(engine, 3)
    _tamper(engine, "DROP TRIGGER audit_sans_delete", "DELETE FROM audit WHERE id = 2")
    settings = dataclasses.replace(fx.app_settings(tmp_path, tmp_path / "publication"),
                                   database_url=f"sqlite:///{database}", audit_key=KEY.encode(),
                                   audit_on_tamper="alerter")
    with caplog.at_level(logging.ERROR, logger="onevision.app"):
        make_server(settings)
    assert any("ALERTE AUDIT" in r.getMessage() and "enregistrement(s) n° 2 à 2 supprimé(s)" in r.getMessage()
               for r in caplog.records)


def test_rows_forged_without_the_key_or_out_of_order_break_the_chain(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'a.sqlite'}")
    _write(engine, 3)
    audit.use_key(b"une-autre-cle-que-celle-de-l-application-000")
    _write(engine, 1)  # written with another key: the attacker's row
    audit.use_key(KEY.encode())
    assert audit.verify(engine).broken_id == 4
    other = open_store(f"sqlite:///{tmp_path / 'b.sqlite'}")
    _write(other, 2)
    _tamper(other, "DROP TRIGGER audit_sans_update", "UPDATE audit SET precedente = NULL WHERE id = 2")
    assert audit.verify(other).reason == "il ne suit pas l'enregistrement précédent"


def test_retablir_puts_the_triggers_back_and_records_it(tmp_path: Path) -> None:
    database = tmp_path / "app.sqlite"
    engine = open_store(f"sqlite:///{database}")
    _write(engine, 2)
    _tamper(engine, "DROP TRIGGER resultats_sans_delete")
    out = _cli(tmp_path, database, "--retablir", "--verifier")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["Protections de l'audit rétablies : resultats_sans_delete.",
                                       "Chaîne de l'audit intacte : 3 enregistrement(s) vérifié(s), du n° 1 au n° 3."]
    row = audit.read(engine).iloc[-1]
    assert row["action"] == "ADMINISTRATION" and row["utilisateur"].startswith("exploitant:")
    assert row["objet"] == "protections rétablies : resultats_sans_delete"


def test_concurrent_writers_leave_a_chain_without_gap(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'a.sqlite'}")
    second = open_store(f"sqlite:///{tmp_path / 'a.sqlite'}")  # another engine: its own connections
    threads = [threading.Thread(target=_write, args=(e, 40)) for e in (engine, second, engine, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check = audit.verify(engine)
    assert check.ok and check.chained == 160 and (check.first_id, check.last_id) == (1, 160)


def test_no_start_without_the_audit_key_outside_dev() -> None:
    secret = {"ONEVISION_PROXY_SECRET": "un-secret-assez-long"}
    with pytest.raises(OneVisionError, match="Refus de démarrer sans ONEVISION_AUDIT_CLE"):
        load_settings(secret).check_listen()
    load_settings({**secret, "ONEVISION_AUDIT_CLE": KEY}).check_listen()
    with pytest.raises(OneVisionError, match="Clé de l'audit trop courte"):
        load_settings({**secret, "ONEVISION_AUDIT_CLE": "courte"})
    with pytest.raises(OneVisionError, match="ONEVISION_AUDIT_SI_ALTERE vaut « refuser » ou « alerter »"):
        load_settings({**secret, "ONEVISION_AUDIT_CLE": KEY, "ONEVISION_AUDIT_SI_ALTERE": "ignorer"})


def test_a_key_file_other_accounts_can_read_is_refused(tmp_path: Path) -> None:
    """Whoever reads the key and can write the table rewrites a consistent chain: the file is the application's."""
    key_file = tmp_path / "cle_audit"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    settings = {"ONEVISION_PROXY_SECRET": "un-secret-assez-long", "ONEVISION_AUDIT_CLE_FICHIER": str(key_file)}
    for mode in (0o644, 0o640, 0o604):
        key_file.chmod(mode)
        with pytest.raises(OneVisionError, match=rf"accessible à d'autres comptes \(droits {mode:04o}\) : réservez"):
            load_settings(settings)
    key_file.chmod(0o600)
    assert audit.key_from_env(settings) == KEY.encode()
    load_settings(settings).check_listen()
