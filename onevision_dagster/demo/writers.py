"""Bytes of a source file: header, CRLF lines joined column-wise, the source's encoding and dialect.

Also where the bad rows are slotted among the good ones, and the physical line number of every row
(header = line 1; a quoted cell holding a line break makes its record span two physical lines), so the
summary can say which lines a reader must reject.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from onevision_dagster.contract.sources import SourceSpec
from onevision_dagster.demo.cells import join, strs


def header(spec: SourceSpec) -> bytes:
    text = spec.separator.join(spec.column_names) + "\r\n"
    return text.encode("utf-8-sig" if spec.encoding == "utf-8-sig" else spec.encoding)


def _rfc4180(arr: pa.Array) -> pa.Array:
    arr = pc.fill_null(arr, "")
    needs = pc.match_substring_regex(arr, r'[",\r\n]')
    quoted = join('"', pc.replace_substring(arr, '"', '""'), '"')
    return pc.if_else(needs, quoted, arr)


def lines(spec: SourceSpec, cells: dict[str, pa.Array]) -> pa.Array:
    cols = [cells[c] for c in spec.column_names]
    if spec.separator == ",":
        cols = [_rfc4180(c) for c in cols]
    return join(*cols, sep=spec.separator)


def py_line(spec: SourceSpec, values: list[str], raw: int = -1) -> str:
    """One line built in Python (bad rows); cell `raw` is written unquoted even in the RFC 4180 dialect."""
    if spec.separator == ",":
        values = [
            v if i == raw or not any(ch in v for ch in ',"\r\n') else '"' + v.replace('"', '""') + '"'
            for i, v in enumerate(values)
        ]
    return spec.separator.join(values)


def encode(spec: SourceSpec, rows: pa.Array) -> bytes:
    """CRLF-terminated lines in the source's encoding (the BOM goes with the header)."""
    if len(rows) == 0:
        return b""
    arr = join(rows, "\r\n")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
    if spec.encoding == "cp1252":
        return data.decode("utf-8").encode("cp1252")
    return data


def interleave(good: pa.Array, bad: list[str], anchors: np.ndarray, rng: np.random.Generator,
               ) -> tuple[pa.Array, np.ndarray]:
    """Good lines plus bad ones, each bad line somewhere after the row it was copied from.

    Returns the lines and the position of every bad line (in the order of `bad`).
    """
    n_good = len(good)
    if not bad:
        return good, np.zeros(0, dtype=np.int64)
    keys = np.concatenate([
        np.arange(n_good, dtype=np.float64),
        anchors + 0.5 + rng.random(len(anchors)) * (n_good - 1 - anchors),
    ])
    order = np.argsort(keys, kind="stable")
    out = pa.concat_arrays([good, strs(bad)]).take(pa.array(order))
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    return out, position[n_good:]


def physical_lines(rows: pa.Array, first: int = 2) -> np.ndarray:
    """Physical line number of each record, the first one being on line `first`."""
    extra = pc.count_substring(rows, "\n").to_numpy(zero_copy_only=False).astype(np.int64)
    return first + np.arange(len(rows)) + np.cumsum(extra) - extra
