"""From a file's bytes to cells with physical line numbers (SOURCES.md sections 2 and 4).

Decoding is whole-file and vectorised: one strict decode, one split into
physical lines, quote parity computed with numpy to find records that span
several lines (RFC 4180), then a split on the separator in Arrow. Only the
records that contain a quote go through Python's C `csv` parser. Anything that
makes the file unreadable as a whole raises `FileRejected`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import FileRejected
from .sources import SourceSpec

UTF8_BOM = b"\xef\xbb\xbf"
# UTF-8 encodings of Latin-1 letters (é = C3 A9), of «, °, no-break space (C2 xx)
# and of ’ “ ” – … (E2 80 xx): never meaningful in a French cp1252 text.
_UTF8_IN_CP1252 = re.compile(rb"\xc3[\x80-\xbf]|\xc2[\xa0-\xbf]|\xe2\x80[\x80-\xbf]")

_ENCODING_LABEL = {"cp1252": "Windows-1252 (cp1252)", "utf-8": "UTF-8", "utf-8-sig": "UTF-8 avec BOM"}


@dataclass
class DecodedFile:
    """Cells of the well-formed records, and the records with the wrong number of cells."""

    fichier: str
    header: list[str]
    columns: dict[str, pa.Array]  # spec column name -> trimmed cells (null = empty)
    lines: np.ndarray  # physical line of each well-formed record
    texts: pa.Array  # raw text of each well-formed record
    bad_lines: np.ndarray  # records with the wrong number of cells
    bad_texts: list[str]
    bad_counts: np.ndarray
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.lines) + len(self.bad_lines)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_bytes(spec: SourceSpec, fichier: str, data: bytes) -> str:
    """Strict decode in the source's declared encoding; mojibake is refused, not read."""
    label = _ENCODING_LABEL[spec.encoding]
    if not data:
        raise FileRejected(fichier, "fichier vide (0 octet)")
    if spec.encoding == "cp1252":
        if data.startswith(UTF8_BOM):
            raise FileRejected(
                fichier, f"il commence par une marque UTF-8 (BOM) alors que la source est en {label}"
            )
        m = _UTF8_IN_CP1252.search(data)
        if m:
            raise FileRejected(
                fichier,
                f"séquence UTF-8 {m.group().hex(' ').upper()} ligne {_line_of(data, m.start())} : "
                f"le fichier est en UTF-8 alors que la source est en {label}",
            )
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as e:
            raise FileRejected(
                fichier,
                f"octet 0x{data[e.start]:02X} ligne {_line_of(data, e.start)} invalide en {label}",
            ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileRejected(
            fichier,
            f"octet 0x{data[e.start]:02X} ligne {_line_of(data, e.start)} : ce n'est pas de l'UTF-8 valide "
            f"(la source est en {label})",
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _records(text: str) -> tuple[list[str], np.ndarray, bool]:
    """Splits into records: returns (record texts, first physical line of each, last record unterminated)."""
    lines = text.split("\n")
    if "\r" in text:
        lines = pc.replace_substring_regex(pa.array(lines, pa.large_string()), r"\r$", "").to_pylist()
    numbers = np.arange(1, len(lines) + 1)
    if '"' not in text:
        return lines, numbers, False
    quotes = pc.count_substring(pa.array(lines, pa.large_string()), '"').to_numpy()
    ends = np.cumsum(quotes) % 2 == 0
    starts = np.empty(len(lines), dtype=bool)
    starts[0] = True
    starts[1:] = ends[:-1]
    if starts.all():
        return lines, numbers, False
    first = np.flatnonzero(starts)
    sizes = np.diff(np.append(first, len(lines)))
    records = [lines[i] for i in first]
    for r in np.flatnonzero(sizes > 1):  # only the few multi-line records
        i = first[r]
        records[r] = "\n".join(lines[i : i + sizes[r]])
    return records, numbers[first], not bool(ends[-1])


def decode_file(spec: SourceSpec, path: Path) -> DecodedFile:
    fichier = path.name
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FileRejected(fichier, f"lecture impossible ({e.strerror})") from None
    text = decode_bytes(spec, fichier, data)
    records, numbers, unterminated = _records(text)
    if unterminated:
        raise FileRejected(
            fichier, f"guillemet ouvert ligne {numbers[-1]} jamais refermé (format CSV RFC 4180 attendu)"
        )
    if not records or not records[0].strip():
        raise FileRejected(fichier, "en-tête absent (la première ligne est vide)")
    header = [h.strip() for h in next(csv.reader([records[0]], delimiter=spec.separator))]
    columns_index = _match_header(spec, fichier, header)
    ignored = [h for h in header if h.lower() not in {c.lower() for c in spec.column_names}]

    body = pa.array(records[1:], pa.large_string())
    body_lines = numbers[1:]
    blank = pc.equal(pc.utf8_trim_whitespace(body), "").to_numpy(zero_copy_only=False)
    if blank.any():
        keep = np.flatnonzero(~blank)
        body = pc.take(body, pa.array(keep))
        body_lines = body_lines[keep]
    width = len(header)
    has_quote = pc.match_substring(body, '"').to_numpy(zero_copy_only=False)

    counts = np.zeros(len(body), dtype=np.int64)
    cells: dict[int, pa.Array] = {}
    plain_idx = np.flatnonzero(~has_quote)
    quoted_idx = np.flatnonzero(has_quote)

    plain = pc.take(body, pa.array(plain_idx, pa.int64()))
    plain_split = pc.split_pattern(plain, spec.separator)
    counts[plain_idx] = pc.list_value_length(plain_split).to_numpy(zero_copy_only=False)
    quoted_rows = list(csv.reader(pc.take(body, pa.array(quoted_idx, pa.int64())).to_pylist(),
                                  delimiter=spec.separator))
    counts[quoted_idx] = [len(r) for r in quoted_rows]

    good = counts == width
    good_plain = good[plain_idx]
    flat = pc.list_flatten(pc.filter(plain_split, pa.array(good_plain)))
    n_plain_good = int(good_plain.sum())
    good_quoted_rows = [r for r, ok in zip(quoted_rows, good[quoted_idx], strict=True) if ok]
    quoted_columns = list(zip(*good_quoted_rows, strict=True)) if good_quoted_rows else [()] * width
    order = np.concatenate([plain_idx[good_plain], quoted_idx[good[quoted_idx]]])
    sort = np.argsort(order, kind="stable")
    for name, j in columns_index.items():
        col_plain = pc.take(flat, pa.array(np.arange(j, n_plain_good * width, width, dtype=np.int64)))
        col = pa.concat_arrays(
            [col_plain.cast(pa.large_string()), pa.array(quoted_columns[j], pa.large_string())]
        )
        col = pc.take(col, pa.array(sort))
        trimmed = pc.utf8_trim_whitespace(col)
        cells[name] = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.large_string()), trimmed)

    good_idx = order[sort]
    bad_idx = np.flatnonzero(~good)
    return DecodedFile(
        fichier=fichier,
        header=header,
        columns=cells,
        lines=body_lines[good_idx],
        texts=pc.take(body, pa.array(good_idx, pa.int64())),
        bad_lines=body_lines[bad_idx],
        bad_texts=pc.take(body, pa.array(bad_idx, pa.int64())).to_pylist(),
        bad_counts=counts[bad_idx],
        ignored_columns=ignored,
    )


def _match_header(spec: SourceSpec, fichier: str, header: list[str]) -> dict[str, int]:
    """Columns are matched by name (case-insensitive), order free; a missing one fails the file."""
    lowered = [h.lower() for h in header]
    duplicates = sorted({h for h in lowered if lowered.count(h) > 1 and h})
    if duplicates:
        raise FileRejected(fichier, f"colonne(s) en double dans l'en-tête : {', '.join(duplicates)}")
    index = {h: i for i, h in enumerate(lowered)}
    missing = [c for c in spec.column_names if c.lower() not in index]
    if missing:
        raise FileRejected(
            fichier,
            f"colonne(s) manquante(s) dans l'en-tête : {', '.join(missing)} "
            f"(attendues : {spec.separator.join(spec.column_names)})",
        )
    return {c: index[c.lower()] for c in spec.column_names}
