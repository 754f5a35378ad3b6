"""File-level failures (SOURCES.md section 4): a clear message, and the last good snapshot stays."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from onevision_dagster import warehouse
from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.errors import FileRejected
from onevision_dagster.ingest import schemas as ingest_schemas
from onevision_dagster.ingest.landing import scan_landing
from onevision_dagster.ingest.load import ingest_landing, load_file, read_source_file

AMENDES = SOURCES_BY_NAME["amendes"]
RNF = SOURCES_BY_NAME["rnf"]
HEADER = "NUM_AMENDE;DATE_INFRACTION;DATE_MAJORATION;RAISON_SOCIALE;SIREN;ADRESSE;CODE_POSTAL;COMMUNE;" \
         "MONTANT_MAJORE;MONTANT_PAYE;STATUT"
ROW = "1;01/01/2026;15/03/2026;GARAGE;812345676;RUE;17000;LA ROCHELLE;10,00;0,00;EN_RECOUVREMENT"


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "amendes_17_20261120.csv", b"")
    with pytest.raises(FileRejected, match=r"amendes_17_20261120\.csv.*vide"):
        read_source_file(AMENDES, path)


def test_header_only_is_a_valid_empty_snapshot(tmp_path: Path) -> None:
    path = _write(tmp_path / "amendes_17_20261120.csv", (HEADER + "\r\n").encode("cp1252"))
    result = read_source_file(AMENDES, path)
    assert result.rows_read == 0 and len(result.kept) == 0 and len(result.rejects) == 0


def test_missing_column_is_refused_with_its_name(tmp_path: Path) -> None:
    header = HEADER.replace(";MONTANT_PAYE", "")
    path = _write(tmp_path / "amendes_17_20261120.csv", f"{header}\r\n".encode("cp1252"))
    with pytest.raises(FileRejected, match="colonne\\(s\\) manquante\\(s\\).*MONTANT_PAYE"):
        read_source_file(AMENDES, path)


def test_utf8_file_declared_cp1252_is_refused(tmp_path: Path) -> None:
    text = f"{HEADER}\r\n{ROW.replace('GARAGE', 'GARAGE RÉUNIS')}\r\n"
    path = _write(tmp_path / "amendes_17_20261120.csv", text.encode("utf-8"))
    with pytest.raises(FileRejected, match=r"séquence UTF-8 C3 89 ligne 2.*Windows-1252"):
        read_source_file(AMENDES, path)


def test_bom_in_cp1252_source_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "amendes_17_20261120.csv", b"\xef\xbb\xbf" + f"{HEADER}\r\n".encode())
    with pytest.raises(FileRejected, match="BOM"):
        read_source_file(AMENDES, path)


def test_invalid_utf8_is_refused(tmp_path: Path) -> None:
    header = "numero_titre,ordonnateur,nature_recette,identifiant_debiteur,date_emission,montant," \
             "montant_recouvre,statut"
    data = f"{header}\n1,DDTM,REDEVANCE,812345676,2026-01-01,1.00,0.00,SOLDE\n".encode() + b"2,DDTM \xe9\n"
    path = _write(tmp_path / "rnf_17_20261120.csv", data)
    with pytest.raises(FileRejected, match=r"octet 0xE9 ligne 3.*UTF-8"):
        read_source_file(RNF, path)


def test_extra_columns_are_ignored_and_reported_and_order_is_free(tmp_path: Path) -> None:
    cols = HEADER.split(";")
    cells = ROW.split(";")
    order = list(reversed(range(len(cols))))
    header = ";".join([cols[i] for i in order] + ["COMMENTAIRE"])
    row = ";".join([cells[i] for i in order] + ["libre"])
    path = _write(tmp_path / "amendes_17_20261120.csv", f"{header}\r\n{row}\r\n".encode("cp1252"))
    result = read_source_file(AMENDES, path)
    assert result.ignored_columns == ["COMMENTAIRE"]
    assert result.kept.iloc[0]["montant_majore"] == 1000 and result.kept.iloc[0]["num_amende"] == "1"


def test_multiline_quoted_record_takes_the_number_of_its_first_line(tmp_path: Path) -> None:
    header = "numero_titre,ordonnateur,nature_recette,identifiant_debiteur,date_emission,montant," \
             "montant_recouvre,statut"
    text = (f"{header}\r\n"
            '1,"DDTM 17\r\nSERVICE ""TITRES""",REDEVANCE,812345676,2026-01-01,1.00,0.00,SOLDE\r\n'
            "\r\n"
            "2,DDTM,REDEVANCE,812345676,2026-01-01,-1.00,0.00,SOLDE\r\n")
    path = _write(tmp_path / "rnf_17_20261120.csv", text.encode())
    result = read_source_file(RNF, path)
    assert result.kept["ligne"].tolist() == [2]
    assert result.kept.iloc[0]["ordonnateur"] == 'DDTM 17\nSERVICE "TITRES"'
    assert result.rejects["ligne"].tolist() == [5]  # line 4 is blank: not a row, but it counts
    assert result.rows_read == 2


def test_unclosed_quote_fails_the_file(tmp_path: Path) -> None:
    header = "numero_titre,ordonnateur,nature_recette,identifiant_debiteur,date_emission,montant," \
             "montant_recouvre,statut"
    path = _write(tmp_path / "rnf_17_20261120.csv",
                  f'{header}\n1,"DDTM,REDEVANCE,812345676,2026-01-01,1.00,0.00,SOLDE\n'.encode())
    with pytest.raises(FileRejected, match="guillemet ouvert ligne 2"):
        read_source_file(RNF, path)


def test_broken_file_keeps_the_last_good_snapshot(landing_copy: Path, warehouse_path: Path) -> None:
    with warehouse.connect(warehouse_path) as con:
        ingest_landing(con, landing_copy)
        before = con.execute("SELECT count(*), sum(montant_majore) FROM raw.amendes").fetchone()
        rejects_before = con.execute("SELECT count(*) FROM quality.rejets WHERE source='amendes'").fetchone()
        # a newer extract arrives, but it is UTF-8 instead of cp1252
        newer = landing_copy / "amendes" / "amendes_17_20261128.csv"
        newer.write_bytes(f"{HEADER}\r\n{ROW.replace('GARAGE', 'GARAGE ÉLITE')}\r\n".encode())
        scan = scan_landing(landing_copy)
        assert scan.latest("amendes", "17").path == newer
        with pytest.raises(FileRejected, match="amendes_17_20261128.csv"):
            load_file(con, AMENDES, scan.latest("amendes", "17"))
        assert con.execute("SELECT count(*), sum(montant_majore) FROM raw.amendes").fetchone() == before
        assert con.execute("SELECT count(*) FROM quality.rejets WHERE source='amendes'").fetchone() == \
            rejects_before
        assert con.execute("SELECT DISTINCT fichier FROM raw.amendes ORDER BY 1").fetchall() == [
            ("amendes_17_20261120.csv",), ("amendes_17_20261127.csv",)]
        # the refusal is recorded, with its reason, so that snapshots skip the file and say so
        refused = con.execute("SELECT statut, message FROM quality.chargements "
                              "WHERE fichier = 'amendes_17_20261128.csv'").fetchone()
        assert refused[0] == "REFUSE" and "UTF-8" in refused[1]
        # the next synchronisation does not read it again, but still reports it
        report = [r for r in ingest_landing(con, landing_copy) if r.source == "amendes"][0]
        assert report.loaded == [] and report.latest_refused is not None


def test_reloading_replaces_exactly_the_file(landing_copy: Path, warehouse_path: Path) -> None:
    with warehouse.connect(warehouse_path) as con:
        ingest_landing(con, landing_copy)
        snapshot = con.execute("SELECT * FROM raw.spl ORDER BY date_extraction, ligne").fetchall()
        # another department's data must survive a reload of 17
        con.execute("INSERT INTO raw.spl SELECT * REPLACE ('91' AS departement) FROM raw.spl")
        ingest_landing(con, landing_copy, departements=["17"])
        # a file rewritten in place is read again, replacing exactly its own rows
        rewritten = landing_copy / "spl" / "spl_17_20261127.csv"
        rewritten.write_bytes(rewritten.read_bytes())
        os.utime(rewritten, ns=(rewritten.stat().st_atime_ns, rewritten.stat().st_mtime_ns + 10**9))
        reports = ingest_landing(con, landing_copy, departements=["17"])
        assert [r.fichier for s in reports if s.source == "spl" for r in s.loaded] == ["spl_17_20261127.csv"]
        assert con.execute("SELECT * FROM raw.spl WHERE departement='17' ORDER BY date_extraction, ligne"
                           ).fetchall() == snapshot
        assert con.execute("SELECT count(*) FROM raw.spl WHERE departement='91'").fetchone()[0] == len(snapshot)
        # one load record per file: spl of 17 and 95 (header-only), at both dates
        assert con.execute("SELECT count(*) FROM quality.chargements WHERE source='spl'").fetchone()[0] == 4


def test_files_gone_from_the_landing_zone_keep_their_rows(landing_copy: Path, warehouse_path: Path) -> None:
    """Nothing is lost when a source folder disappears: the loaded files stay and are reported absent."""
    with warehouse.connect(warehouse_path) as con:
        ingest_landing(con, landing_copy)
        before = con.execute("SELECT count(*) FROM raw.rnf").fetchone()[0]
        shutil.rmtree(landing_copy / "rnf")
        reports = ingest_landing(con, landing_copy, departements=["17"])
        rnf = [r for r in reports if r.source == "rnf"][0]
        assert rnf.absent == ["rnf_17_20261120.csv", "rnf_17_20261127.csv"] and rnf.loaded == []
        assert con.execute("SELECT count(*) FROM raw.rnf").fetchone()[0] == before > 0


def test_department_without_file_has_nothing_from_that_source(landing_copy: Path, warehouse_path: Path) -> None:
    with warehouse.connect(warehouse_path) as con:
        for f in (landing_copy / "rnf").iterdir():
            f.unlink()
        ingest_landing(con, landing_copy, departements=["17"])
        assert con.execute("SELECT count(*) FROM raw.rnf").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM quality.chargements WHERE source='rnf'").fetchone()[0] == 0


def test_a_model_rejecting_kept_rows_refuses_the_file_without_its_contents(landing_copy: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A defect of the validation is caught by the source's Pandera model: the file is refused like an unreadable
    one, and the message names the check and the lines, never a company name (it goes to the run's log)."""
    real = ingest_schemas.SOURCE_MODELS["amendes"]

    class Stricter(real):  # type: ignore[misc, valid-type]
        montant_majore: ingest_schemas.Cents = ingest_schemas.pa.Field(le=10000)  # above 100,00 € "fails"

    monkeypatch.setitem(ingest_schemas.SOURCE_MODELS, "amendes", Stricter)
    path = landing_copy / "amendes" / "amendes_17_20261127.csv"
    with pytest.raises(FileRejected) as refused:
        read_source_file(AMENDES, path)
    message = str(refused.value)
    assert "amendes_17_20261127.csv" in message and "lignes 2" in message
    assert "BOULANGERIE" not in message and "QUAI" not in message
