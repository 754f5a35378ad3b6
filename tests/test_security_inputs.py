"""Issue 20, finding 3: inputs have limits, each refusal one French sentence naming the file.

The attacks of the review: a header of 10⁶ columns (the header check was quadratic), a 1 GB file of one line
(read whole: 4.5 GB of memory), a line over 128 KiB with a wrong cell count (an English error of the csv module
that named no file). The limits are set by environment variables (`ONEVISION_MAX_*`).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import duckdb
import pytest

from onevision_dagster import warehouse
from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.errors import FileRejected, OneVisionError
from onevision_dagster.ingest.decoding import InputLimits, check_limits, decode_file
from onevision_dagster.ingest.landing import scan_landing
from onevision_dagster.ingest.load import ingest_landing, read_source_file

SPEC = SOURCES_BY_NAME["excedents"]
HEADER = ";".join(SPEC.column_names)
ROW = "355512575;E{n};IS;2025;10,00;01/10/2026;A_RESTITUER"
NAME = "excedents_17_20261127.csv"


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "landing" / "excedents" / NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_header_of_a_million_columns_is_refused_at_once(tmp_path: Path) -> None:
    extra = ";".join(f"c{i}" for i in range(1_000_000))
    path = _file(tmp_path, f"{extra};{HEADER}\n{';' * 1_000_000}{ROW.format(n=1)}\n".encode())
    with pytest.raises(FileRejected) as refused:
        decode_file(SPEC, path, InputLimits())
    assert str(refused.value) == (
        f"Fichier {NAME} refusé : l'en-tête a plus de 200 colonnes (ONEVISION_MAX_COLONNES) : ce n'est pas un extrait "
        "du contrat. Les dernières données valides sont conservées.")
    # allowed by configuration, the same header is matched in linear time (a count per column was 10¹² steps)
    wide = InputLimits(max_columns=2_000_000, max_line_bytes=16 << 20)
    decoded = decode_file(SPEC, path, wide)
    assert decoded.rows_read == 1 and len(decoded.lines) == 1 and len(decoded.ignored_columns) == 1_000_000
    # how long it takes is measured by `bench/input_limits.py`, not asserted here (issue 23, point 4)


def test_a_one_gigabyte_line_is_refused_reading_a_few_megabytes(tmp_path: Path) -> None:
    path = _file(tmp_path, f"{HEADER}\n{ROW.format(n=1)}\n".encode())
    with path.open("r+b") as f:  # a sparse gigabyte of one line (no line feed): no disk, no time to write it
        f.truncate(1 << 30)
    tracemalloc.start()
    try:
        with pytest.raises(FileRejected, match=rf"^Fichier {NAME} refusé : la ligne 3 dépasse 65536 octets "
                           r"\(ONEVISION_MAX_OCTETS_LIGNE\) : le fichier n'est pas lu\."):
            read_source_file(SPEC, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20  # a few chunks of 4 MiB, not the gigabyte


def test_file_size_limit_is_configurable_and_the_file_is_not_read(tmp_path: Path, monkeypatch) -> None:
    data = f"{HEADER}\n{ROW.format(n=1)}\n".encode()
    path = _file(tmp_path, data)
    monkeypatch.setenv("ONEVISION_MAX_OCTETS_FICHIER", "50")
    with pytest.raises(FileRejected, match=rf"^Fichier {NAME} refusé : fichier de {len(data)} octets, au-delà de la "
                       r"limite de 50 octets \(ONEVISION_MAX_OCTETS_FICHIER\)"):
        read_source_file(SPEC, path)
    monkeypatch.setenv("ONEVISION_MAX_OCTETS_FICHIER", "beaucoup")
    with pytest.raises(OneVisionError, match="ONEVISION_MAX_OCTETS_FICHIER doit être un nombre entier positif"):
        read_source_file(SPEC, path)
    monkeypatch.delenv("ONEVISION_MAX_OCTETS_FICHIER")
    assert len(read_source_file(SPEC, path).kept) == 1


def test_a_long_line_with_a_wrong_cell_count_is_french_and_names_the_file(tmp_path: Path, monkeypatch) -> None:
    long_line = "x" * 200_000 + ";a"
    path = _file(tmp_path, f"{HEADER}\n{ROW.format(n=1)}\n{long_line}\n".encode())
    # default limit (64 KiB): the file is refused, by name, and the landing run records the French sentence
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    reports = ingest_landing(con, tmp_path / "landing", ["17"])
    refused = {name: why for r in reports for name, why in r.refused.items()}
    assert refused == {NAME: "la ligne 3 dépasse 65536 octets (ONEVISION_MAX_OCTETS_LIGNE) : le fichier n'est pas lu"}
    with pytest.raises(FileRejected, match=rf"^Fichier {NAME} refusé : la ligne 3 dépasse 65536 octets"):
        read_source_file(SPEC, path)
    # limit raised: the line is a reject of the file (wrong cell count), not an English error of the csv module
    monkeypatch.setenv("ONEVISION_MAX_OCTETS_LIGNE", "1000000")
    validated = read_source_file(SPEC, path)
    assert len(validated.kept) == 1
    assert validated.rejects[["ligne", "motif", "message"]].values.tolist() == [
        [3, "NB_CELLULES", "2 cellule(s) au lieu de 7 (séparateur ';')"]]


def test_line_lengths_are_counted_across_chunks(tmp_path: Path, monkeypatch) -> None:
    import onevision_dagster.ingest.decoding as decoding

    monkeypatch.setattr(decoding, "_CHECK_CHUNK", 7)  # lines straddle many chunks
    lines = [HEADER, ROW.format(n=1), ROW.format(n=22)]
    path = _file(tmp_path, ("\n".join(lines) + "\n").encode())
    longest = max(len(x) for x in lines)
    check_limits(SPEC, path, InputLimits(max_line_bytes=longest))
    with pytest.raises(FileRejected, match=f"la ligne 1 dépasse {longest - 1} octets"):
        check_limits(SPEC, path, InputLimits(max_line_bytes=longest - 1))
    with pytest.raises(FileRejected, match="plus de 6 colonnes"):
        check_limits(SPEC, path, InputLimits(max_columns=6))
    check_limits(SPEC, path, InputLimits(max_columns=7))


def test_a_source_folder_linked_out_of_the_landing_zone_is_not_read(tmp_path: Path) -> None:
    """Issue 20, finding 4: a source *folder* that is a symbolic link out of the landing zone was read."""
    outside = tmp_path / "ailleurs" / "excedents"
    outside.mkdir(parents=True)
    (outside / NAME).write_bytes(f"{HEADER}\n{ROW.format(n=1)}\n".encode())
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "excedents").symlink_to(outside, target_is_directory=True)
    scan = scan_landing(landing)
    assert scan.files == []
    assert [(b.path.name, b.reason) for b in scan.badly_named] == [
        ("excedents", "dossier de source lié vers l'extérieur de la zone de dépôt (lien symbolique), non lu")]
    con = duckdb.connect()
    warehouse.create_raw_and_quality(con)
    ingest_landing(con, landing, ["17"])
    assert con.execute("SELECT count(*) FROM raw.excedents").fetchone()[0] == 0
    # a link that stays inside the landing zone is read; following links is the operator's explicit choice
    (landing / "excedents").unlink()
    inside = landing / "depot" / "excedents"
    inside.mkdir(parents=True)
    (inside / NAME).write_bytes(f"{HEADER}\n{ROW.format(n=1)}\n".encode())
    (landing / "excedents").symlink_to(inside, target_is_directory=True)
    assert [f.name for f in scan_landing(landing).files] == [NAME]
    (landing / "excedents").unlink()
    (landing / "excedents").symlink_to(outside, target_is_directory=True)
    assert [f.name for f in scan_landing(landing, follow_links=True).files] == [NAME]
