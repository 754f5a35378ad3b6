"""Issue 20, finding 8: nothing was ever purged. `onevision purge [--simulation]` says what it removes, removes it,
is audited, and leaves the latest snapshot (every file it reads) and the history intact."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from onevision_dagster import warehouse
from onevision_dagster.app import audit
from onevision_dagster.app.store import open_store
from onevision_dagster.errors import OneVisionError
from onevision_dagster.ingest.load import ingest_landing
from onevision_dagster.retention import apply_extracts, months_before, plan_extracts, retention_from_env

from .landing_files import company, write_extract

SIREN = "355512575"
ONEVISION = str(Path(sys.executable).parent / "onevision")
KEY = "cle-de-test-du-chainage-de-l-audit-0123456789"


def _excedent(ref: str) -> dict[str, str]:
    return dict(SIREN=SIREN, REF_EXCEDENT=ref, IMPOT="IS", MONTANT="1,00", STATUT="A_RESTITUER")


def _landing(root: Path, days: list[dt.date]) -> Path:
    """Refunds of department 17 at every date of `days`; fines and the register at the first date only, and the
    register again at the last one."""
    landing = root / "landing"
    ymd = [d.strftime("%Y%m%d") for d in days]
    for i, day in enumerate(ymd):
        write_extract(landing, "excedents", day, [_excedent(f"E{i}-{n}") for n in range(i + 1)])
    write_extract(landing, "amendes", ymd[0], [dict(NUM_AMENDE="A1", DATE_MAJORATION="15/03/2025", SIREN=SIREN,
                                                    CODE_POSTAL="17000", MONTANT_MAJORE="10,00", MONTANT_PAYE="0,00",
                                                    STATUT="EN_RECOUVREMENT")])
    for day in (ymd[0], ymd[-1]):
        write_extract(landing, "entreprises", day, [company(SIREN, "GRANDS MONTANTS SA")])
    return landing


def _warehouse(root: Path, landing: Path) -> Path:
    path = root / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        warehouse.create_raw_and_quality(con)
        ingest_landing(con, landing)
        con.execute("CREATE SCHEMA IF NOT EXISTS history")
        con.execute("CREATE TABLE history.mouvements AS SELECT 1 AS un FROM range(5)")  # stands for the history
    return path


def _files(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT source, fichier FROM quality.chargements ORDER BY source, fichier").fetchall()


def test_old_extracts_leave_but_every_file_the_latest_snapshot_reads_stays(tmp_path: Path) -> None:
    days = [dt.date(2026, 1, 5), dt.date(2026, 3, 2), dt.date(2026, 6, 1), dt.date(2026, 11, 27)]
    landing = _landing(tmp_path, days)
    path = _warehouse(tmp_path, landing)
    today = dt.date(2026, 12, 6)
    with duckdb.connect(str(path)) as con:
        plan = plan_extracts(con, 3, today, landing)  # kept from 06/09/2026
        assert plan.cutoff == dt.date(2026, 9, 6)
        # fines of 05/01 are still what the latest snapshot reads (never refreshed), so is the register of 27/11
        assert [(f.fichier, f.lignes) for f in plan.files] == [
            ("entreprises_20260105.csv", 1), ("excedents_17_20260105.csv", 1), ("excedents_17_20260302.csv", 2),
            ("excedents_17_20260601.csv", 3)]
        assert sorted(p.name for p in plan.landing_files) == [
            "entreprises_20260105.csv", "excedents_17_20260105.csv", "excedents_17_20260302.csv",
            "excedents_17_20260601.csv"]
        assert plan.sentences()[0] == (
            "Extraits antérieurs au 06/09/2026 : 4 fichier(s) retiré(s) de l'entrepôt (7 ligne(s)), 4 fichier(s) de "
            "la zone de dépôt ; l'historique (positions, mouvements, impact) est conservé.")
        apply_extracts(con, plan)
        assert _files(con) == [("amendes", "amendes_17_20260105.csv"), ("entreprises", "entreprises_20261127.csv"),
                               ("excedents", "excedents_17_20261127.csv")]
        assert con.execute("SELECT count(*) FROM raw.excedents").fetchone()[0] == 4  # the 4 rows of 27/11
        assert con.execute("SELECT count(*) FROM raw.amendes").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM history.mouvements").fetchone()[0] == 5
        assert plan_extracts(con, 3, today, landing).files == []  # a second purge has nothing left to do
    assert sorted(p.name for p in landing.rglob("*.csv")) == [
        "amendes_17_20260105.csv", "entreprises_20261127.csv", "excedents_17_20261127.csv"]


def test_the_audit_keeps_twelve_months_and_still_verifies(tmp_path: Path, monkeypatch) -> None:
    audit.use_key(KEY.encode())
    try:
        engine = open_store(f"sqlite:///{tmp_path / 'app.sqlite'}")
        for when in (dt.datetime(2025, 10, 1, 8), dt.datetime(2025, 11, 30, 8), dt.datetime(2026, 6, 1, 8)):
            monkeypatch.setattr(audit, "utc_now", lambda when=when: when)
            audit.record(engine, user="alice", departements="17", action="RECHERCHE", objet="q", status=200)
        monkeypatch.undo()
        today = dt.date(2026, 12, 6)
        assert audit.purge(engine, 12, today, simulate=True) == (
            "Audit : 2 enregistrement(s) antérieurs au 06/12/2025 seraient supprimés (n° 1 à 2).")
        assert len(audit.read(engine)) == 3
        assert audit.purge(engine, 12, today, simulate=False) == (
            "Audit : 2 enregistrement(s) antérieurs au 06/12/2025 supprimés (n° 1 à 2) ; purge enregistrée.")
        rows = audit.read(engine)
        assert rows["action"].tolist() == ["RECHERCHE", "ADMINISTRATION"]
        assert rows["objet"].iloc[1] == ("purge de l'audit : 2 enregistrement(s) du n° 1 au n° 2, antérieurs au "
                                         "06/12/2025")
        assert audit.integrity(engine) == []  # chain verified from n° 3, the purge recorded
        # the same deletion without the purge's record is tampering
        other = open_store(f"sqlite:///{tmp_path / 'b.sqlite'}")
        for _ in range(3):
            audit.record(other, user="alice", departements="17", action="RECHERCHE", objet="q", status=200)
        with other.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER audit_sans_delete")
            conn.exec_driver_sql("DELETE FROM audit WHERE id = 1")
            conn.exec_driver_sql("CREATE TRIGGER audit_sans_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, "
                                 "'x'); END")
        assert audit.verify(other).reason == "enregistrement(s) n° 1 à 1 supprimé(s) sans purge enregistrée"
    finally:
        audit.use_key(None)


def test_purge_command_simulates_then_purges_and_is_audited(tmp_path: Path) -> None:
    today = dt.date.today()
    days = [months_before(today, 30), months_before(today, 20), today - dt.timedelta(days=3)]
    landing = _landing(tmp_path, days)
    path = _warehouse(tmp_path, landing)
    env = {"PATH": "/usr/bin:/bin", "ONEVISION_AUDIT_CLE": KEY, "ONEVISION_CONSERVATION_MOIS": "24"}
    command = [ONEVISION, "purge", "--warehouse", str(path), "--landing", str(landing)]
    simulated = subprocess.run([*command, "--simulation"], capture_output=True, text=True, timeout=120, env=env)
    assert simulated.returncode == 0, simulated.stderr
    old = days[0].strftime("%Y%m%d")
    assert simulated.stdout.splitlines()[:4] == [
        "Simulation : rien n'est supprimé.",
        f"Extraits antérieurs au {months_before(today, 24).strftime('%d/%m/%Y')} : 1 fichier(s) retiré(s) de "
        "l'entrepôt (1 ligne(s)), 1 fichier(s) de la zone de dépôt ; l'historique (positions, mouvements, impact) "
        "est conservé.",
        f"  - excedents_17_{old}.csv (1 ligne(s))",  # the register of that date is what the snapshot 20 months ago
        f"  - zone de dépôt : {landing / 'excedents' / f'excedents_17_{old}.csv'}"]  # reads: kept
    with duckdb.connect(str(path), read_only=True) as con:
        assert len(_files(con)) == 6
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and done.stdout.startswith("Purge :\nExtraits antérieurs au "), done.stderr
    with duckdb.connect(str(path), read_only=True) as con:
        assert len(_files(con)) == 5 and ("excedents", f"excedents_17_{old}.csv") not in _files(con)
    store = open_store(f"sqlite:///{tmp_path / 'onevision-app.sqlite'}")
    assert [o.split(" : ")[0] for o in audit.read(store)["objet"]] == ["simulation de purge", "purge des extraits"]


def test_retention_settings() -> None:
    assert retention_from_env({}) == (None, 12)
    assert retention_from_env({"ONEVISION_CONSERVATION_MOIS": "24", "ONEVISION_AUDIT_CONSERVATION_MOIS": "6"}) == (
        24, 6)
    with pytest.raises(OneVisionError, match="ONEVISION_AUDIT_CONSERVATION_MOIS est un nombre de mois"):
        retention_from_env({"ONEVISION_AUDIT_CONSERVATION_MOIS": "un an"})
    assert months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2026, 1, 15), 13) == dt.date(2024, 12, 15)

