"""Issue #11 points 3, 4 and 5: dates whatever the year, amounts up to the contract's limit summed exactly, line
endings, and everything in a source folder that is not read is reported."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from onevision_dagster import warehouse
from onevision_dagster.consolidate.build import build_all
from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.errors import FileRejected
from onevision_dagster.ingest.landing import scan_landing
from onevision_dagster.ingest.load import ingest_landing, read_source_file

from .landing_files import company, write_extract

SIREN = "355512575"
MAX = "99999999999999,99"  # 14 digits before the comma: the contract's largest amount


def _landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    write_extract(landing, "entreprises", "20261127", [company(SIREN, "GRANDS MONTANTS SA")])
    return landing


def test_dates_far_in_the_future_or_the_past_are_dates(tmp_path: Path) -> None:
    landing = _landing(tmp_path)
    write_extract(landing, "creances_is", "20261127", [
        dict(SIREN=SIREN, REF_CREANCE="C1", TYPE_CREANCE="CIR", EXERCICE="2025", MONTANT="100,00",
             DATE_REMBOURSABLE="31/12/3026", STATUT="REMBOURSABLE"),
    ])
    write_extract(landing, "amendes", "20261127", [
        dict(NUM_AMENDE="A1", DATE_INFRACTION="01/01/1500", DATE_MAJORATION="15/03/2026", SIREN=SIREN,
             CODE_POSTAL="17000", MONTANT_MAJORE="10,00", MONTANT_PAYE="0,00", STATUT="EN_RECOUVREMENT"),
    ])
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    ingest_landing(con, landing)
    assert con.execute("SELECT count(*) FROM quality.rejets").fetchone()[0] == 0
    assert str(con.execute("SELECT date_remboursable FROM raw.creances_is").fetchone()[0]) == "3026-12-31"
    build_all(con)
    row = con.execute("SELECT creances_a_echoir, total_creances FROM marts.positions").fetchone()
    assert row == (Decimal("100.00"), Decimal("0.00"))  # refundable in a thousand years: not due


def test_amounts_up_to_the_limit_are_summed_exactly(tmp_path: Path) -> None:
    landing = _landing(tmp_path)
    write_extract(landing, "amendes", "20261127", [
        dict(NUM_AMENDE=f"A{i}", DATE_MAJORATION="15/03/2026", SIREN=SIREN, CODE_POSTAL="17000",
             MONTANT_MAJORE=MAX, MONTANT_PAYE="0,00", STATUT="EN_RECOUVREMENT") for i in range(3)
    ])
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    ingest_landing(con, landing)
    build_all(con)  # validates every table it writes: a float comparison would fail here
    total = con.execute("SELECT total_dettes FROM marts.positions").fetchone()[0]
    assert total == 3 * Decimal("99999999999999.99") == Decimal("299999999999999.97")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("cp1252"))
    return path


HEADER = ";".join(SOURCES_BY_NAME["excedents"].column_names)
ROW = f"{SIREN};E{{n}};IS;2025;10,00;01/10/2026;A_RESTITUER"


@pytest.mark.parametrize(("name", "ending"), [("cr_seul", "\r"), ("melange", None)])
def test_cr_only_or_mixed_line_endings_are_refused_with_the_line(tmp_path: Path, name: str,
                                                                  ending: str | None) -> None:
    lines = [HEADER, ROW.format(n=1), ROW.format(n=2), ROW.format(n=3)]
    text = ending.join(lines) + ending if ending else f"{lines[0]}\r\n{lines[1]}\r{lines[2]}\n{lines[3]}\n"
    path = _write(tmp_path / "excedents" / "excedents_17_20261127.csv", text)
    with pytest.raises(FileRejected, match=r"retour chariot \(CR\) isolé ligne (1|2)"):
        read_source_file(SOURCES_BY_NAME["excedents"], path)


def test_crlf_and_lf_endings_read_the_same_rows(tmp_path: Path) -> None:
    lines = [HEADER, ROW.format(n=1), ROW.format(n=2)]
    crlf = _write(tmp_path / "a" / "excedents_17_20261127.csv", "\r\n".join(lines) + "\r\n")
    lf = _write(tmp_path / "b" / "excedents_17_20261127.csv", "\n".join(lines))
    a, b = (read_source_file(SOURCES_BY_NAME["excedents"], p).kept for p in (crlf, lf))
    assert a.equals(b) and len(a) == 2


def test_utf16_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "excedents" / "excedents_17_20261127.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(f"{HEADER}\r\n{ROW.format(n=1)}\r\n".encode("utf-16"))
    with pytest.raises(FileRejected, match="UTF-16"):
        read_source_file(SOURCES_BY_NAME["excedents"], path)


def test_everything_not_read_in_a_source_folder_is_reported(tmp_path: Path) -> None:
    landing = _landing(tmp_path)
    good = write_extract(landing, "excedents", "20261127", [dict(SIREN=SIREN, REF_EXCEDENT="E1", IMPOT="IS",
                                                                 MONTANT="1,00", STATUT="A_RESTITUER")])
    (landing / "excedents" / ".excedents_17_20261128.csv").write_bytes(good.read_bytes())
    (landing / "excedents" / "archives").mkdir()
    outside = tmp_path / "ailleurs.csv"
    outside.write_bytes(good.read_bytes())
    os.symlink(outside, landing / "excedents" / "excedents_91_20261127.csv")
    os.symlink(good, landing / "excedents" / "excedents_95_20261127.csv")  # inside the zone: followed
    scan = scan_landing(landing)
    reasons = {b.path.name: b.reason for b in scan.badly_named}
    assert reasons == {
        ".excedents_17_20261128.csv": "fichier caché, non lu",
        "archives": "sous-dossier dans un dossier de source, non lu",
        "excedents_91_20261127.csv": "lien symbolique vers l'extérieur de la zone de dépôt, non suivi",
    }
    assert sorted(f.departement for f in scan.files if f.source == "excedents") == ["17", "95"]
    assert "excedents_91_20261127.csv" in {f.name for f in scan_landing(landing, follow_links=True).files}
