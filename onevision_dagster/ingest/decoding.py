"""From a file's bytes to cells with physical line numbers (SOURCES.md sections 2 and 4).

A file is read a chunk at a time (`iter_decoded`, `_READ_CHUNK` bytes, cut at the end of a record: never inside
a quoted field), so its bytes are never in memory at once (issue 20). Each chunk is decoded vectorised: one strict
decode, one split into physical lines, quote parity computed with numpy to find records that span several lines
(RFC 4180), then a split on the separator in Arrow. Only the records that contain a quote go through Python's C
`csv` parser. Anything that makes the file unreadable as a whole raises `FileRejected`, naming the file's line.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from onevision_dagster.contract.sources import SourceSpec
from onevision_dagster.errors import FileRejected, OneVisionError

UTF8_BOM = b"\xef\xbb\xbf"
# UTF-8 encodings of Latin-1 letters (é = C3 A9), of «, °, no-break space (C2 xx)
# and of ’ “ ” – … (E2 80 xx): never meaningful in a French cp1252 text.
_UTF8_IN_CP1252 = re.compile(rb"\xc3[\x80-\xbf]|\xc2[\xa0-\xbf]|\xe2\x80[\x80-\xbf]")

_ENCODING_LABEL = {"cp1252": "Windows-1252 (cp1252)", "utf-8": "UTF-8", "utf-8-sig": "UTF-8 avec BOM"}


@dataclass(frozen=True)
class InputLimits:
    """What a landing file may hold before it is read (issue 20): beyond, it is refused with one sentence.

    Checked on the file's size, then in one streaming pass of `_CHECK_CHUNK` bytes at a time (never the whole
    file in memory): the header's columns and every physical line's bytes. Set by the environment variables
    of `LIMIT_VARIABLES` (the pipeline's and `onevision run`'s environment).
    """

    max_file_bytes: int = 4 << 30  # 4 GiB: the national register of a year of growth, with room
    max_line_bytes: int = 64 << 10  # 64 KiB: a contract line is a few hundred bytes
    max_columns: int = 200  # a contract source has at most a few dozen columns

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> InputLimits:
        env = os.environ if env is None else env
        values = {}
        for name, attribute in LIMIT_VARIABLES.items():
            text = env.get(name, "").strip()
            if not text:
                continue
            try:
                values[attribute] = int(text)
            except ValueError:
                raise OneVisionError(f"{name} doit être un nombre entier positif, pas « {text} ».") from None
            if values[attribute] < 1:
                raise OneVisionError(f"{name} doit être un nombre entier positif, pas « {text} ».")
        return cls(**values)


LIMIT_VARIABLES = {
    "ONEVISION_MAX_OCTETS_FICHIER": "max_file_bytes",
    "ONEVISION_MAX_OCTETS_LIGNE": "max_line_bytes",
    "ONEVISION_MAX_COLONNES": "max_columns",
}
_CHECK_CHUNK = 1 << 22


def check_limits(spec: SourceSpec, path: Path, limits: InputLimits) -> None:
    """Refuses (`FileRejected`, naming the file) a file over a limit, reading it a chunk at a time."""
    fichier = path.name
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as e:
        raise FileRejected(fichier, f"lecture impossible ({e.strerror})") from None
    if size > limits.max_file_bytes:
        handle.close()
        raise FileRejected(fichier, f"fichier de {size} octets, au-delà de la limite de {limits.max_file_bytes} "
                           "octets (ONEVISION_MAX_OCTETS_FICHIER) : il n'est pas lu")
    # the csv module refuses a field over 128 KiB in English: any field within the file's limit is read here and
    # in the validation's messages (a process-wide setting, only ever raised)
    csv.field_size_limit(max(csv.field_size_limit(), min(limits.max_file_bytes, 2**31 - 1)))
    separator = spec.separator.encode()
    line, current, columns, in_header = 1, 0, 1, True
    with handle:
        while chunk := handle.read(_CHECK_CHUNK):
            buffer = np.frombuffer(chunk, np.uint8)
            ends = np.flatnonzero(buffer == 10)
            if in_header:
                header_part = chunk if not len(ends) else chunk[: ends[0]]
                columns += header_part.count(separator)
                if columns > limits.max_columns:
                    raise FileRejected(fichier, f"l'en-tête a plus de {limits.max_columns} colonnes "
                                       "(ONEVISION_MAX_COLONNES) : ce n'est pas un extrait du contrat")
                in_header = not len(ends)
            # bytes of each line ending in this chunk (the first one continues the previous chunk's last line)
            lengths = np.diff(np.concatenate(([-1], ends))) - 1
            if len(lengths):
                lengths[0] += current
                over = np.flatnonzero(lengths > limits.max_line_bytes)
                if len(over):
                    _line_too_long(fichier, line + int(over[0]), limits)
                line += len(ends)
                current = len(chunk) - 1 - int(ends[-1])
            else:
                current += len(chunk)
            if current > limits.max_line_bytes:
                _line_too_long(fichier, line, limits)


def _line_too_long(fichier: str, line: int, limits: InputLimits) -> None:
    raise FileRejected(fichier, f"la ligne {line} dépasse {limits.max_line_bytes} octets "
                       "(ONEVISION_MAX_OCTETS_LIGNE) : le fichier n'est pas lu")


@dataclass
class DecodedFile:
    """Cells of the well-formed records, and the records with the wrong number of cells."""

    fichier: str
    header: list[str]
    columns: dict[str, pa.Array]  # spec column name -> trimmed cells (null = empty)
    lines: np.ndarray  # physical line of each well-formed record
    body: pa.Array  # raw text of every non-blank record after the header
    good_idx: np.ndarray  # position in `body` of each well-formed record
    bad_lines: np.ndarray  # records with the wrong number of cells
    bad_texts: list[str]
    bad_counts: np.ndarray
    ignored_columns: list[str] = field(default_factory=list)
    column_index: dict[str, int] = field(default_factory=dict)  # spec column name -> position in the header

    @property
    def rows_read(self) -> int:
        return len(self.lines) + len(self.bad_lines)

    def texts(self, idx: np.ndarray) -> list[str]:
        """Raw text of the well-formed records `idx` (only the rejected ones are ever needed)."""
        return pc.take(self.body, pa.array(self.good_idx[idx], pa.int64())).to_pylist()


def _line_of(data: bytes, offset: int, base_line: int = 0) -> int:
    """Physical line of the file at `offset` of a chunk that starts after `base_line` lines."""
    return base_line + data.count(b"\n", 0, offset) + 1


def decode_bytes(spec: SourceSpec, fichier: str, data: bytes, base_line: int = 0) -> str:
    """Strict decode in the source's declared encoding; mojibake is refused, not read. `base_line`: the lines
    of the file before this chunk (0: the file's start, where a BOM or a UTF-16 mark can be)."""
    label = _ENCODING_LABEL[spec.encoding]
    first = base_line == 0
    if not data and first:
        raise FileRejected(fichier, "fichier vide (0 octet)")
    nul = data.find(b"\x00")
    if (first and data.startswith((b"\xff\xfe", b"\xfe\xff"))) or nul != -1:
        where = "" if nul == -1 else f" (octet nul ligne {_line_of(data, nul, base_line)})"
        raise FileRejected(fichier, f"le fichier semble en UTF-16 ou binaire{where} alors que la source est en {label}")
    if spec.encoding == "cp1252":
        if first and data.startswith(UTF8_BOM):
            raise FileRejected(
                fichier, f"il commence par une marque UTF-8 (BOM) alors que la source est en {label}"
            )
        m = _UTF8_IN_CP1252.search(data)
        if m:
            raise FileRejected(
                fichier,
                f"séquence UTF-8 {m.group().hex(' ').upper()} ligne {_line_of(data, m.start(), base_line)} : "
                f"le fichier est en UTF-8 alors que la source est en {label}",
            )
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as e:
            raise FileRejected(
                fichier,
                f"octet 0x{data[e.start]:02X} ligne {_line_of(data, e.start, base_line)} invalide en {label}",
            ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileRejected(
            fichier,
            f"octet 0x{data[e.start]:02X} ligne {_line_of(data, e.start, base_line)} : ce n'est pas de l'UTF-8 valide "
            f"(la source est en {label})",
        ) from None
    return text[1:] if first and text.startswith("\ufeff") else text


_UTF8_CHUNK = 1 << 24


def _utf8(spec: SourceSpec, fichier: str, data: bytes, base_line: int = 0) -> bytes:
    """The file as UTF-8 bytes without BOM, or `FileRejected` exactly as `decode_bytes` says it.

    A UTF-8 source is checked by the same strict decoder as `decode_bytes`, in chunks, so a large
    register never exists as one Python string; only a failure goes back to `decode_bytes` for the message.
    """
    first = base_line == 0
    if spec.encoding == "cp1252" or not data or (first and data.startswith((b"\xff\xfe", b"\xfe\xff"))) \
            or b"\x00" in data:
        return decode_bytes(spec, fichier, data, base_line).encode("utf-8")
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    view = memoryview(data)
    try:
        for i in range(0, len(data), _UTF8_CHUNK):
            decoder.decode(view[i : i + _UTF8_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        decode_bytes(spec, fichier, data, base_line)  # raises FileRejected with the byte and the line
        raise
    return data[len(UTF8_BOM):] if first and data.startswith(UTF8_BOM) else data


def _drop_line_end_cr(fichier: str, data: bytes, base_line: int = 0) -> bytes:
    """One CR dropped at the end of each line (physical lines are split on LF).

    The CR that ends a line is the one just before its LF, or at the very end of
    the data: removed from the bytes before the split, no per-line work. A CR
    anywhere else (a file with CR-only or mixed line endings) would silently join
    two rows into one physical line: the file is refused, naming the line.
    """
    if data.find(b"\r") == -1:
        return data
    data = data.replace(b"\r\n", b"\n")
    data = data[:-1] if data.endswith(b"\r") else data
    lone = data.find(b"\r")
    if lone != -1:
        raise FileRejected(
            fichier, f"retour chariot (CR) isolé ligne {_line_of(data, lone, base_line)} : les lignes doivent finir "
            "par LF ou CRLF (un fichier aux fins de ligne CR seules ou mélangées joindrait des lignes entre elles)")
    return data


def _split_lines(data: bytes) -> pa.Array:
    """Physical lines (split on LF) of data whose line-ending CRs are already dropped."""
    whole = pa.Array.from_buffers(pa.large_string(), 1, [None, pa.py_buffer(np.array([0, len(data)], np.int64)),
                                                         pa.py_buffer(data)])
    return pc.split_pattern(whole, "\n").flatten()


def _records(lines: pa.Array, has_quote: bool) -> tuple[pa.Array, np.ndarray, bool]:
    """Joins the lines of multi-line quoted records: (record texts, first physical line of each,
    last record unterminated)."""
    numbers = np.arange(1, len(lines) + 1)
    if not has_quote:
        return lines, numbers, False
    quotes = pc.count_substring(lines, '"').to_numpy()
    ends = np.cumsum(quotes) % 2 == 0
    starts = np.empty(len(lines), dtype=bool)
    starts[0] = True
    starts[1:] = ends[:-1]
    if starts.all():
        return lines, numbers, False
    first = np.flatnonzero(starts)
    sizes = np.diff(np.append(first, len(lines)))
    records = pc.take(lines, pa.array(first, pa.int64()))
    multi = np.flatnonzero(sizes > 1)  # only the few multi-line records go through Python
    if len(multi):
        joined = ["\n".join(lines.slice(first[r], sizes[r]).to_pylist()) for r in multi]
        mask = np.zeros(len(first), dtype=bool)
        mask[multi] = True
        records = pc.replace_with_mask(records, pa.array(mask), pa.array(joined, pa.large_string()))
    return records, numbers[first], not bool(ends[-1])


_SPLIT_ROWS = 1 << 19  # records split at a time: bounds the memory of the cell lists


def _null_if_empty(trimmed: pa.Array) -> pa.Array:
    """Same values, empty strings made null (a validity bitmap over the same buffers, no copy)."""
    if not len(trimmed):
        return trimmed
    filled = pc.not_equal(trimmed, "")
    if trimmed.offset or filled.offset or trimmed.null_count:
        return pc.if_else(filled, trimmed, pa.scalar(None, trimmed.type))
    buffers = trimmed.buffers()
    return pa.Array.from_buffers(trimmed.type, len(trimmed), [filled.buffers()[1], buffers[1], buffers[2]])


@dataclass(frozen=True)
class _Header:
    names: list[str]
    index: dict[str, int]  # spec column name -> position in the header
    ignored: list[str]


def _read_header(spec: SourceSpec, fichier: str, first: str) -> _Header:
    if not first.strip():
        raise FileRejected(fichier, "en-tête absent (la première ligne est vide)")
    names = [h.strip() for h in next(csv.reader([first], delimiter=spec.separator))]
    index = _match_header(spec, fichier, names)
    wanted = {c.lower() for c in spec.column_names}
    return _Header(names, index, [h for h in names if h.lower() not in wanted])


def _decode_records(spec: SourceSpec, fichier: str, data: bytes, base_line: int,
                    header: _Header | None) -> tuple[DecodedFile, _Header]:
    """Decodes one chunk of whole records (the file's first when `header` is None: its first record is the
    header); `base_line`: the file's physical lines before the chunk."""
    data = _drop_line_end_cr(fichier, _utf8(spec, fichier, data, base_line), base_line)  # never held twice
    has_quote = data.find(b'"') != -1
    lines = _split_lines(data)
    del data
    records, numbers, unterminated = _records(lines, has_quote)
    numbers = numbers + base_line
    del lines
    if unterminated:
        raise FileRejected(
            fichier, f"guillemet ouvert ligne {numbers[-1]} jamais refermé (format CSV RFC 4180 attendu)"
        )
    if header is None:
        header = _read_header(spec, fichier, records[0].as_py())
        body, body_lines = records.slice(1), numbers[1:]
    else:
        body, body_lines = records, numbers
    columns_index = header.index
    # a blank record has no separator: trim only those to find the blank ones
    no_sep = np.flatnonzero(~pc.match_substring(body, spec.separator).to_numpy(zero_copy_only=False))
    if len(no_sep):
        candidates = pc.take(body, pa.array(no_sep, pa.int64()))
        blank = pc.equal(pc.utf8_trim_whitespace(candidates), "").to_numpy(zero_copy_only=False)
        if blank.any():
            blank_idx = no_sep[blank]
            if np.array_equal(blank_idx, np.arange(len(body) - len(blank_idx), len(body))):
                body = body.slice(0, len(body) - len(blank_idx))  # blank lines at the end only: no copy
                body_lines = body_lines[: len(body)]
            else:
                keep = np.ones(len(body), dtype=bool)
                keep[blank_idx] = False
                keep_idx = np.flatnonzero(keep)
                body = pc.take(body, pa.array(keep_idx, pa.int64()))
                body_lines = body_lines[keep_idx]
    width = len(header.names)
    quoted_mask = (pc.match_substring(body, '"').to_numpy(zero_copy_only=False) if has_quote
                   else np.zeros(len(body), dtype=bool))

    counts = np.zeros(len(body), dtype=np.int64)
    plain_idx = np.flatnonzero(~quoted_mask)
    quoted_idx = np.flatnonzero(quoted_mask)
    plain = body if not len(quoted_idx) else pc.take(body, pa.array(plain_idx, pa.int64()))
    quoted_rows = list(csv.reader(pc.take(body, pa.array(quoted_idx, pa.int64())).to_pylist(),
                                  delimiter=spec.separator)) if len(quoted_idx) else []
    counts[quoted_idx] = [len(r) for r in quoted_rows]

    # plain records: split a slice at a time, keep only the cells of the wanted columns
    plain_cells: dict[str, list[pa.Array]] = {name: [] for name in columns_index}
    good_plain_parts = []
    for a in range(0, len(plain), _SPLIT_ROWS):
        part = plain.slice(a, _SPLIT_ROWS)
        split = pc.split_pattern(part, spec.separator)
        n_cells = pc.list_value_length(split).to_numpy(zero_copy_only=False).astype(np.int64)
        counts[plain_idx[a : a + len(part)]] = n_cells
        ok = np.flatnonzero(n_cells == width)
        good_plain_parts.append(ok + a)
        starts = (np.cumsum(n_cells) - n_cells)[ok]
        flat = split.flatten()
        for name, j in columns_index.items():
            plain_cells[name].append(pc.take(flat, pa.array(starts + j, pa.int64())))
        del split, flat

    good = counts == width
    good_plain_pos = np.concatenate(good_plain_parts) if good_plain_parts else np.zeros(0, np.int64)
    good_quoted_rows = [r for r, ok in zip(quoted_rows, good[quoted_idx], strict=True) if ok]
    quoted_columns = list(zip(*good_quoted_rows, strict=True)) if good_quoted_rows else [()] * width
    order = np.concatenate([plain_idx[good_plain_pos], quoted_idx[good[quoted_idx]]])
    sort = np.argsort(order, kind="stable")
    in_order = not good_quoted_rows  # plain records only: already in file order
    cells: dict[str, pa.Array] = {}
    for name, j in columns_index.items():
        parts = [p.cast(pa.large_string()) for p in plain_cells.pop(name)]
        if not in_order:
            parts.append(pa.array(quoted_columns[j], pa.large_string()))
        col = pa.concat_arrays(parts) if parts else pa.array([], pa.large_string())
        if not in_order:
            col = pc.take(col, pa.array(sort))
        cells[name] = _null_if_empty(pc.utf8_trim_whitespace(col))

    good_idx = order[sort]
    bad_idx = np.flatnonzero(~good)
    decoded = DecodedFile(
        fichier=fichier,
        header=header.names,
        columns=cells,
        lines=body_lines[good_idx],
        body=body,
        good_idx=good_idx,
        bad_lines=body_lines[bad_idx],
        bad_texts=pc.take(body, pa.array(bad_idx, pa.int64())).to_pylist(),
        bad_counts=counts[bad_idx],
        ignored_columns=header.ignored,
        column_index=columns_index,
    )
    return decoded, header


_READ_CHUNK = 1 << 25  # 32 MiB read at a time: a department's file in a few chunks, the register in ~20


def _record_end(buf: bytes) -> int:
    """Offset of the last line feed of `buf` that ends a record (an even number of quotes before it, `buf`
    starting at a record's start), or -1 when none does yet."""
    last = buf.rfind(b"\n")
    if last < 0 or buf.find(b'"', 0, last) < 0:
        return last
    arr = np.frombuffer(buf, np.uint8)
    quotes = np.flatnonzero(arr == 34)
    feeds = np.flatnonzero(arr == 10)
    even = np.flatnonzero(np.searchsorted(quotes, feeds) % 2 == 0)
    return int(feeds[even[-1]]) if len(even) else -1


def _byte_chunks(fichier: str, path: Path, chunk_bytes: int) -> Iterator[tuple[bytes, int, bool]]:
    """(bytes, lines of the file before them, last) of about `chunk_bytes` each, cut after a record's line feed
    (dropped); the last chunk is what follows the last cut (no line feed at its end, possibly empty)."""
    try:
        handle = path.open("rb")
    except OSError as e:
        raise FileRejected(fichier, f"lecture impossible ({e.strerror})") from None
    base_line, pending = 0, b""
    with handle:
        if os.fstat(handle.fileno()).st_size == 0:
            raise FileRejected(fichier, "fichier vide (0 octet)")
        while True:
            try:
                block = handle.read(chunk_bytes)
            except OSError as e:
                raise FileRejected(fichier, f"lecture impossible ({e.strerror})") from None
            buf = pending + block if pending else block
            if not block:
                yield buf, base_line, True
                return
            cut = _record_end(buf)
            if cut < 0:  # no record ends in what was read yet (a long quoted field): read on
                pending = buf
                continue
            data, pending = buf[:cut], buf[cut + 1:]
            del buf
            yield data, base_line, False
            base_line += data.count(b"\n") + 1
            del data


def iter_decoded(spec: SourceSpec, path: Path, chunk_bytes: int | None = None) -> Iterator[DecodedFile]:
    """The file's records, decoded a chunk of about `chunk_bytes` (default `_READ_CHUNK`) at a time, in file
    order, with the file's physical line numbers. Call `check_limits` first: it bounds the longest line, hence
    every chunk."""
    fichier = path.name
    header: _Header | None = None
    for data, base_line, last in _byte_chunks(fichier, path, chunk_bytes or _READ_CHUNK):
        if not data and header is None and not last:
            _read_header(spec, fichier, "")  # the file starts with an empty line: no header
        if data or header is None:
            decoded, header = _decode_records(spec, fichier, data, base_line, header)
            yield decoded


def record_texts(spec: SourceSpec, path: Path, wanted: np.ndarray, chunk_bytes: int | None = None) -> dict[int, str]:
    """The raw text of the records starting on the physical lines `wanted` of a file already read whole by
    `iter_decoded` (the key rule's rejects, known once the file is read): the chunks are read again, the records'
    limits found on the bytes (line feeds and quotes are ASCII in both encodings), and only those records decoded."""
    fichier = path.name
    out: dict[int, str] = {}
    for data, base_line, _ in _byte_chunks(fichier, path, chunk_bytes or _READ_CHUNK):
        arr = np.frombuffer(data, np.uint8)
        feeds = np.flatnonzero(arr == 10)
        local = wanted - base_line - 1  # index of the wanted lines among this chunk's physical lines
        local = local[(local >= 0) & (local <= len(feeds))]
        if not len(local):
            continue
        starts = np.concatenate(([0], feeds + 1))
        ends = np.concatenate((feeds, [len(data)]))
        quotes = np.flatnonzero(arr == 34)
        if len(quotes):  # a record ends on the first line after which the quotes are balanced
            balanced = np.searchsorted(quotes, ends) % 2 == 0
            record_end = np.flatnonzero(balanced)
            last = record_end[np.searchsorted(record_end, local)]
        else:
            last = local
        for first_line, last_line in zip(local.tolist(), last.tolist(), strict=True):
            raw = data[starts[first_line]:ends[last_line]]
            text = raw.replace(b"\r\n", b"\n")
            text = text[:-1] if text.endswith(b"\r") else text
            if base_line == 0 and first_line == 0 and text.startswith(UTF8_BOM):
                text = text[len(UTF8_BOM):]
            out[base_line + first_line + 1] = text.decode(spec.encoding)
        if len(out) == len(wanted):
            break
    return out


def decode_file(spec: SourceSpec, path: Path, limits: InputLimits | None = None) -> DecodedFile:
    """The whole file decoded at once, for tests of a file's decoding: the pipeline streams (`iter_decoded`)."""
    fichier = path.name
    check_limits(spec, path, limits if limits is not None else InputLimits.from_env())
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FileRejected(fichier, f"lecture impossible ({e.strerror})") from None
    return _decode_records(spec, fichier, data, 0, None)[0]


def _match_header(spec: SourceSpec, fichier: str, header: list[str]) -> dict[str, int]:
    """Columns are matched by name (case-insensitive), order free; a missing one fails the file (linear)."""
    lowered = [h.lower() for h in header]
    duplicates = sorted(h for h, n in Counter(lowered).items() if n > 1 and h)
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
