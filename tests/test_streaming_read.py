"""Issue 20, point 3: files are read in streaming, never whole.

The loader reads a file a chunk at a time (`decoding.iter_decoded`), cut at the end of a record, validates each
chunk, and applies the key rule over the whole file at the end. Read with any chunk size, every sample file gives
exactly what the whole file decoded at once gives; errors name the file's line, whichever chunk it is in; the
file's text is never in memory at once.
"""

from __future__ import annotations

import datetime as dt
import re
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.errors import FileRejected
from onevision_dagster.ingest.decoding import decode_file, iter_decoded
from onevision_dagster.ingest.landing import LandingFile, parse_name
from onevision_dagster.ingest.load import read_source_file
from onevision_dagster.ingest.validation import validate

from .conftest import SAMPLE_LANDING

SPEC = SOURCES_BY_NAME["excedents"]
HEADER = ";".join(SPEC.column_names)
ROW = "355512575;E{n};IS;2025;10,00;01/10/2026;A_RESTITUER"
NAME = "excedents_17_20261127.csv"
SAMPLE_FILES = sorted(SAMPLE_LANDING.glob("*/*.csv"))


def _file(tmp_path: Path, data: bytes, name: str = NAME) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_every_sample_file_reads_the_same_in_chunks_of_any_size(path: Path) -> None:
    spec = SOURCES_BY_NAME[path.parent.name]
    parsed = parse_name(spec.name, path)
    as_of = parsed.as_of if isinstance(parsed, LandingFile) else None
    whole = validate(spec, decode_file(spec, path), as_of)
    sizes = (1, 37, 300, 4096)
    for size in sizes:
        chunked = read_source_file(spec, path, as_of, chunk_bytes=size)
        pd.testing.assert_frame_equal(chunked.kept.reset_index(drop=True), whole.kept.reset_index(drop=True))
        pd.testing.assert_frame_equal(chunked.rejects, whole.rejects)
        assert chunked.rows_read == whole.rows_read
        assert chunked.table.equals(whole.table)
    # the small sizes did cut the file: more than one chunk, none cut inside a record
    assert len(list(iter_decoded(spec, path, 300))) > 1 or path.stat().st_size <= 300


def test_a_quoted_field_over_several_lines_is_never_cut(tmp_path: Path) -> None:
    spec = SOURCES_BY_NAME["rnf"]
    sample = SAMPLE_LANDING / "rnf" / "rnf_17_20261127.csv"
    whole = read_source_file(spec, sample)
    multi_line = [t for t in whole.rejects["contenu"].tolist() + [""] if "\n" in t]
    kept_lines = whole.kept["ligne"].tolist()
    for size in range(1, 200, 7):  # every cut position around the quoted record
        chunked = read_source_file(spec, sample, chunk_bytes=size)
        assert chunked.kept["ligne"].tolist() == kept_lines
        assert [t for t in chunked.rejects["contenu"].tolist() + [""] if "\n" in t] == multi_line


def test_a_duplicate_key_across_chunks_is_rejected_with_its_text(tmp_path: Path) -> None:
    rows = [ROW.format(n=i) for i in range(1, 200)] + [ROW.format(n=3).replace("10,00", "11,00")]
    path = _file(tmp_path, (HEADER + "\n" + "\n".join(rows) + "\n").encode())
    assert len(list(iter_decoded(SPEC, path, 512))) > 10
    validated = read_source_file(SPEC, path, chunk_bytes=512)
    assert validated.rejects[["ligne", "motif", "message", "contenu", "cle"]].values.tolist() == [
        [201, "DOUBLON", "REF_EXCEDENT : clé 'E3' en double (déjà présente ligne 4)",
         "355512575;E3;IS;2025;11,00;01/10/2026;A_RESTITUER", "E3"]]
    assert len(validated.kept) == 199 and validated.rows_read == 200


def test_a_duplicate_over_two_quoted_lines_keeps_its_whole_text(tmp_path: Path) -> None:
    """The text of a duplicate is read again from the file: a record over two lines (a quoted line feed), with
    CRLF line ends, is given back exactly as the whole file's decoding gives it, whatever the chunks."""
    spec = SOURCES_BY_NAME["rnf"]
    sample = (SAMPLE_LANDING / "rnf" / "rnf_17_20261127.csv").read_bytes().split(b"\r\n")
    header, first = sample[0], sample[1]
    twice = first.replace(b'"PREFECTURE DE LA CHARENTE-MARITIME, SERVICE DES TITRES"',
                          b'"PREFECTURE DE LA CHARENTE-MARITIME,\r\nSERVICE DES TITRES"')
    assert twice != first
    rows = [r for r in sample[2:] if r]
    path = _file(tmp_path, b"\r\n".join([header, twice, *rows, twice, b""]), "rnf_17_20261127.csv")
    whole = validate(spec, decode_file(spec, path), dt.date(2026, 11, 27))
    duplicate = whole.rejects[whole.rejects["motif"] == "DOUBLON"]
    assert duplicate["ligne"].tolist()[-1] == 4 + len(rows)  # header, the record's two lines, the rows
    assert duplicate["contenu"].tolist()[-1:] == [twice.decode("cp1252" if spec.encoding == "cp1252" else "utf-8")
                                             .replace("\r\n", "\n")]
    for size in (1, 50, 200, 1 << 20):
        chunked = read_source_file(spec, path, chunk_bytes=size)
        pd.testing.assert_frame_equal(chunked.rejects, whole.rejects)


@pytest.mark.parametrize(("damage", "reason"), [
    (b"\xc3\xa9", "séquence UTF-8 C3 A9 ligne 151 : le fichier est en UTF-8"),
    (b"\r", "retour chariot (CR) isolé ligne 151"),
    (b"\x00", "octet nul ligne 151"),
    (b'"', "guillemet ouvert ligne 151 jamais refermé"),
])
def test_a_fault_deep_in_the_file_names_its_line(tmp_path: Path, damage: bytes, reason: str) -> None:
    rows = [ROW.format(n=i).encode() for i in range(1, 300)]
    rows[149] = rows[149].replace(b";IS;", b";I" + damage + b"S;")  # line 151 of the file (header is line 1)
    path = _file(tmp_path, HEADER.encode() + b"\n" + b"\n".join(rows) + b"\n")
    for size in (256, 1 << 20):  # in a later chunk, and in the one chunk of the whole file
        with pytest.raises(FileRejected, match=re.escape(reason)):
            read_source_file(SPEC, path, chunk_bytes=size)


def test_the_files_text_is_never_in_memory_at_once(tmp_path: Path) -> None:
    """A 26 MB file read in chunks of 1 MiB. The reader holds a chunk at a time: Python's allocations peak at a few
    MiB, not at the file. The whole load (the kept rows, typed, and the key rule over the file are O(rows)) peaks
    well under what reading the file whole did (measured here too: the comparison shows the measure can fail)."""
    rows = "\n".join(ROW.format(n=i) for i in range(480_000))
    path = _file(tmp_path, (HEADER + "\n" + rows + "\n").encode())
    size = path.stat().st_size
    assert size > 24_000_000

    def peak(read) -> int:
        tracemalloc.start()
        try:
            read()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    reader = peak(lambda: sum(chunk.rows_read for chunk in iter_decoded(SPEC, path, 1 << 20)))
    streamed = peak(lambda: read_source_file(SPEC, path, chunk_bytes=1 << 20))
    whole = peak(lambda: validate(SPEC, decode_file(SPEC, path)))
    assert reader < size / 4, f"lecteur : pic de {reader} octets pour un fichier de {size}"
    assert whole > 2 * size  # the file's bytes, its lines, its cells
    assert streamed < whole / 2, f"chargement : pic de {streamed} octets, {whole} en lisant le fichier entier"
