"""Row validation of a decoded file (SOURCES.md section 4), vectorised.

Each column is checked on its *distinct* values (Arrow dictionary encoding):
a department has a few thousand distinct dates and amounts for hundreds of
thousands of rows. A row is rejected once, for its first fault: cells in the
order of the contract's columns, then the rules between cells, then the key.
Messages are built only for the rejected rows.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from onevision_dagster.contract import identifiers as ids
from onevision_dagster.contract.sources import (
    DATE_LABELS,
    Column,
    FilledOnlyWhen,
    Kind,
    NotAbove,
    NotAfterExtraction,
    NotBefore,
    SourceSpec,
)
from onevision_dagster.ingest.decoding import DecodedFile

MOTIFS: dict[str, str] = {
    "NB_CELLULES": "nombre de cellules incorrect",
    "VALEUR_MANQUANTE": "valeur obligatoire manquante",
    "DATE_INVALIDE": "date invalide",
    "MONTANT_INVALIDE": "montant illisible",
    "MONTANT_NEGATIF": "montant négatif",
    "CODE_INCONNU": "code inconnu",
    "FORMAT_INVALIDE": "format invalide",
    "IDENTIFIANT_INVALIDE": "identifiant invalide",
    "INCOHERENCE": "montants ou valeurs incohérents entre eux",
    "FUTURE_DATE": "date postérieure à la date d'extraction du fichier",
    "DOUBLON": "clé en double",
}

_DATE_REGEX = {
    "DD/MM/YYYY": r"^(?P<d>\d{2})/(?P<m>\d{2})/(?P<y>\d{4})$",
    "YYYY-MM-DD": r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})$",
    "YYYYMMDD": r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$",
}
_ID_LABEL = {
    Kind.SIREN: "SIREN valide (9 chiffres, clé de Luhn)",
    Kind.SIRET: "SIRET valide (14 chiffres, clé de Luhn ou règle La Poste)",
    Kind.DEBTOR_ID: "SIREN, SIRET ou numéro de TVA intracommunautaire (FR + clé + SIREN) valide",
}

REJECT_COLUMNS = ["ligne", "colonne", "motif", "message", "contenu", "cle"]

# reject reasons as small integers while validating (0 = no fault), names only for the rejected rows
_CODES: tuple[str | None, ...] = (None, *MOTIFS)
_CODE = {m: i for i, m in enumerate(_CODES) if m}
_CELL_CODES = ("VALEUR_MANQUANTE", "DATE_INVALIDE", "MONTANT_INVALIDE", "MONTANT_NEGATIF", "CODE_INCONNU",
               "FORMAT_INVALIDE", "IDENTIFIANT_INVALIDE")


@dataclass
class ColumnResult:
    motif: np.ndarray  # int8 array: index in `_CODES` of the cell's fault, 0 when none
    value: pa.Array  # parsed value (dates: date32, amounts: int64 cents, text: string)


@dataclass
class ValidatedFile:
    kept: pd.DataFrame  # warehouse column names; amounts in integer cents
    rejects: pd.DataFrame  # REJECT_COLUMNS
    rows_read: int
    ignored_columns: list[str]
    table: pa.Table | None = None  # the kept rows as Arrow (dates as date32), what the warehouse loads

    @property
    def rejects_by_motif(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.rejects["motif"].value_counts().sort_index().items()}


def _on_distinct(values: pa.Array, fn: Callable[[pa.Array], pa.Array | np.ndarray]) -> pa.Array:
    """Applies `fn` to the distinct non-null values and spreads the result back."""
    encoded = pc.dictionary_encode(values).combine_chunks() if isinstance(values, pa.ChunkedArray) else (
        pc.dictionary_encode(values)
    )
    result = fn(encoded.dictionary)
    if isinstance(result, np.ndarray):
        result = pa.array(result)
    return pc.take(result, encoded.indices)


def _match(values: pa.Array, regex: str) -> np.ndarray:
    """Full-match mask; null where the cell is empty (checked separately)."""
    return pc.match_substring_regex(values, regex).to_numpy(zero_copy_only=False)


def days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm), any year, vectorised."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _parse_dates(values: pa.Array, fmt: str) -> pa.Array:
    """Calendar dates of years 0001–9999 (no pandas timestamp, which stops in 2262); null when the cell is not
    exactly the source's format or not a day of the calendar (31/02, month 13, 29/02 of a common year)."""

    def parse(distinct: pa.Array) -> pa.Array:
        parts = pc.extract_regex(distinct, _DATE_REGEX[fmt])
        valid = pc.is_valid(parts).to_numpy(zero_copy_only=False)

        def field(name: str) -> np.ndarray:
            return pc.fill_null(pc.cast(pc.struct_field(parts, name), pa.int64()), 1).to_numpy(
                zero_copy_only=False)

        y, m, d = field("y"), field("m"), field("d")
        leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
        month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 1, 12) - 1]
        month_days = month_days + ((m == 2) & leap)
        ok = valid & (y >= 1) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= month_days)
        days = days_from_civil(y, m, d).astype(np.int32)
        return pa.array(days, pa.int32(), mask=~ok).cast(pa.date32())

    return _on_distinct(values, parse)


def _parse_amounts(values: pa.Array, decimal: str | None) -> pa.Array:
    """Integer cents, or null when the cell does not follow the strict amount format."""
    if decimal is None:
        regex = r"^(?P<sign>[+-]?)(?P<units>\d{1,16})$"
    else:
        regex = rf"^(?P<sign>[+-]?)(?P<units>\d{{1,14}})(?:{re.escape(decimal)}(?P<frac>\d{{1,2}}))?$"

    def parse(distinct: pa.Array) -> pa.Array:
        parts = pc.extract_regex(distinct, regex)  # null when it does not match
        units = pc.cast(pc.struct_field(parts, "units"), pa.int64())
        if decimal is None:
            cents = units
        else:
            frac = pc.utf8_rpad(pc.fill_null(pc.struct_field(parts, "frac"), ""), 2, "0")
            cents = pc.add(pc.multiply(units, 100), pc.cast(frac, pa.int64()))
        negative = pc.equal(pc.struct_field(parts, "sign"), "-")
        return pc.if_else(negative, pc.negate(cents), cents)

    return _on_distinct(values, parse)


def check_column(spec: SourceSpec, col: Column, values: pa.Array) -> ColumnResult:
    n = len(values)
    motif = np.zeros(n, dtype=np.int8)
    present = pc.is_valid(values).to_numpy(zero_copy_only=False)
    if col.mandatory:
        motif[~present] = _CODE["VALEUR_MANQUANTE"]
    value: pa.Array = values
    bad: np.ndarray | None = None
    code = ""
    if col.kind is Kind.DATE:
        value = _parse_dates(values, spec.date_format)
        bad, code = present & pc.is_null(value).to_numpy(zero_copy_only=False), "DATE_INVALIDE"
    elif col.kind in (Kind.AMOUNT, Kind.CENTS):
        value = _parse_amounts(values, spec.decimal if col.kind is Kind.AMOUNT else None)
        unreadable = present & pc.is_null(value).to_numpy(zero_copy_only=False)
        negative = pc.fill_null(pc.less(value, 0), False).to_numpy(zero_copy_only=False)
        motif[negative] = _CODE["MONTANT_NEGATIF"]
        bad, code = unreadable, "MONTANT_INVALIDE"
    elif col.kind is Kind.CODE:
        known = pc.is_in(values, value_set=pa.array(col.codes, values.type)).to_numpy(zero_copy_only=False)
        bad, code = present & ~known, "CODE_INCONNU"
    elif col.kind is Kind.PATTERN:
        matches = _on_distinct(values, lambda d: pc.match_substring_regex(d, f"^(?:{col.pattern})$"))
        bad, code = present & ~np.asarray(pc.fill_null(matches, False)), "FORMAT_INVALIDE"
    elif col.kind in (Kind.SIREN, Kind.SIRET, Kind.DEBTOR_ID):
        value = ids.compact(values)
        if col.kind is Kind.DEBTOR_ID:
            value = pc.utf8_upper(value)
            ok, _ = ids.siren_of_debtor_id(value)
        elif col.kind is Kind.SIRET:
            ok = ids.valid_siret(value)
        else:
            ok = ids.valid_siren(value)
        bad, code = present & ~ok, "IDENTIFIANT_INVALIDE"
    if bad is not None:
        motif[bad] = _CODE[code]
    return ColumnResult(motif=motif, value=value)


def _expected(spec: SourceSpec, col: Column) -> str:
    if col.kind is Kind.DATE:
        return f"n'est pas une date valide (format attendu {DATE_LABELS[spec.date_format]})"
    if col.kind is Kind.AMOUNT:
        example = "1250,40" if spec.decimal == "," else "1250.40"
        sep = "virgule" if spec.decimal == "," else "point"
        return (
            f"n'est pas un montant valide (format attendu : chiffres, au plus deux décimales après la {sep}, "
            f"sans séparateur de milliers, ex. {example})"
        )
    if col.kind is Kind.CENTS:
        return "n'est pas un montant en centimes valide (nombre entier attendu, ex. 125040)"
    if col.kind is Kind.CODE:
        return f"n'est pas un code connu (valeurs admises : {', '.join(col.codes)})"
    if col.kind is Kind.PATTERN:
        return f"ne respecte pas le format attendu ({col.pattern_label})"
    if col.kind in _ID_LABEL:
        return f"n'est pas un {_ID_LABEL[col.kind]}"
    return "est invalide"


def _cell_message(spec: SourceSpec, col: Column, motif: str, raw: str | None) -> str:
    if motif == "VALEUR_MANQUANTE":
        return f"{col.name} : valeur obligatoire manquante"
    if motif == "MONTANT_NEGATIF":
        return f"{col.name} : '{raw}' est un montant négatif (montant positif ou nul attendu)"
    return f"{col.name} : '{raw}' {_expected(spec, col)}"


@dataclass
class ValidatedPart:
    """One chunk of a file validated row by row: its kept rows before the key rule (which needs the whole file)."""

    table: pa.Table  # warehouse names, with `siren` and `ligne`
    rejects: pd.DataFrame  # REJECT_COLUMNS
    rows_read: int
    ignored_columns: list[str]
    column_index: dict[str, int]  # spec column name -> position in the header


def validate(spec: SourceSpec, decoded: DecodedFile, as_of: date | None = None) -> ValidatedFile:
    """A whole decoded file: `as_of` is the file's extraction date, for the `FUTURE_DATE` rule (not checked when
    None)."""
    def texts_of(lines: np.ndarray) -> dict[int, str]:
        idx = np.flatnonzero(np.isin(decoded.lines, lines))
        return dict(zip(decoded.lines[idx].tolist(), decoded.texts(idx), strict=True))

    return finish(spec, [validate_part(spec, decoded, as_of)], texts_of)


def validate_part(spec: SourceSpec, decoded: DecodedFile, as_of: date | None = None) -> ValidatedPart:
    """Cells and the rules between cells, for the records of one chunk; releases the chunk's cells."""
    n = len(decoded.lines)
    motif = np.zeros(n, dtype=np.int8)  # index in _CODES, 0 = no fault yet
    fault_col = np.full(n, None, dtype=object)
    message = np.full(n, None, dtype=object)
    parsed: dict[str, pa.Array] = {}

    def mark(mask: np.ndarray, column: str, code: str, messages: Callable[[np.ndarray], list[str]]) -> None:
        sel = np.flatnonzero(mask & (motif == 0))
        if len(sel):
            motif[sel] = _CODE[code]
            fault_col[sel] = column
            message[sel] = messages(sel)

    for col in spec.columns:
        raw = decoded.columns[col.name]
        result = check_column(spec, col, raw)
        parsed[col.name] = result.value
        found = np.bincount(result.motif, minlength=len(_CODES))
        for code in _CELL_CODES:
            if found[_CODE[code]]:
                mark(result.motif == _CODE[code], col.name, code,
                     lambda sel, col=col, code=code, raw=raw: [
                         _cell_message(spec, col, code, v) for v in pc.take(raw, pa.array(sel)).to_pylist()])

    for rule in spec.rules:
        _apply_rule(spec, rule, parsed, decoded, mark, as_of)

    rejected = motif != 0
    rej_idx = np.flatnonzero(rejected)
    rejects = pd.DataFrame({
        "ligne": decoded.lines[rej_idx].astype(np.int64),
        "colonne": fault_col[rej_idx],
        "motif": np.array(_CODES, dtype=object)[motif[rej_idx]],
        "message": message[rej_idx],
        "contenu": decoded.texts(rej_idx),
        "cle": _keys(spec, decoded, rej_idx),
    })
    width = len(decoded.header)
    bad_shape = pd.DataFrame({
        "ligne": decoded.bad_lines.astype(np.int64),
        "colonne": None,
        "motif": "NB_CELLULES",
        "message": [f"{c} cellule(s) au lieu de {width} (séparateur '{spec.separator}')"
                    for c in decoded.bad_counts],
        "contenu": decoded.bad_texts,
        "cle": _keys_of_texts(spec, decoded.bad_texts, decoded.column_index),
    })
    frames = [f for f in (rejects, bad_shape) if len(f)]
    table = _kept_table(spec, parsed, decoded, np.flatnonzero(~rejected))
    return ValidatedPart(table=table, rejects=pd.concat(frames, ignore_index=True) if frames else rejects,
                         rows_read=decoded.rows_read, ignored_columns=decoded.ignored_columns,
                         column_index=decoded.column_index)


def finish(spec: SourceSpec, parts: list[ValidatedPart],
           texts_of: Callable[[np.ndarray], dict[int, str]]) -> ValidatedFile:
    """The file's parts put together, then the key rule over the whole file: keys are compared among rows with no
    other fault, the first (by line) keeps the key. `texts_of` gives the raw text of the records starting on some
    lines: called only when there are duplicates (the chunks' text is not kept)."""
    table = pa.concat_tables([p.table for p in parts], promote_options="permissive") if len(parts) > 1 \
        else parts[0].table
    rejects = [p.rejects for p in parts if len(p.rejects)]
    dup_rejects, dup = _duplicates(spec, table, texts_of, parts[0].column_index)
    if dup_rejects is not None:
        rejects.append(dup_rejects)
        table = table.filter(pa.array(~dup))
    all_rejects = (pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects()).sort_values(
        "ligne", kind="stable")
    all_rejects = all_rejects.reset_index(drop=True).astype(
        {"ligne": "int64", "colonne": "object", "motif": "object", "message": "object", "contenu": "object",
         "cle": "object"})
    return ValidatedFile(kept=_kept_frame(spec, table), rejects=all_rejects,
                         rows_read=sum(p.rows_read for p in parts), ignored_columns=parts[0].ignored_columns,
                         table=table)


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "ligne" else "object") for c in REJECT_COLUMNS})


def _fmt_cents(cents: int | None) -> str:
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100},{cents % 100:02d}"


def _key_cell(spec: SourceSpec, name: str, value: str | None) -> str:
    """A key cell as the warehouse stores it: trimmed, identifiers without their inner spaces."""
    value = (value or "").strip()
    return value.replace(" ", "") if spec.column(name).kind in (Kind.SIREN, Kind.SIRET) else value


def _keys(spec: SourceSpec, decoded: DecodedFile, idx: np.ndarray) -> list[str | None]:
    """Key of each rejected well-formed row (cells joined by '/'): a rejected line stays known by its key, so a
    line tracked at an earlier snapshot and rejected now gives no movement (section 9)."""
    take = pa.array(idx, pa.int64())
    cells = [pc.take(decoded.columns[k], take).to_pylist() for k in spec.key]
    return [None if all(c is None for c in row) else "/".join(_key_cell(spec, k, c) for k, c in
                                                             zip(spec.key, row, strict=True))
            for row in zip(*cells, strict=True)] if len(idx) else []


def _keys_of_texts(spec: SourceSpec, texts: list[str], column_index: dict[str, int]) -> list[str | None]:
    """Key of each record given by its text, when its key cells are there (few rows: csv module)."""
    out: list[str | None] = []
    positions = [column_index[k] for k in spec.key]
    for text in texts:
        cells = next(csv.reader([text], delimiter=spec.separator), [])
        if max(positions) < len(cells) and any(cells[i].strip() for i in positions):
            out.append("/".join(_key_cell(spec, k, cells[i]) for k, i in zip(spec.key, positions, strict=True)))
        else:
            out.append(None)
    return out


def _format_date(value: date | None) -> str:
    return "" if value is None else value.strftime("%d/%m/%Y")


def _apply_rule(spec: SourceSpec, rule, parsed: dict[str, pa.Array], decoded: DecodedFile, mark,
                as_of: date | None = None) -> None:
    if isinstance(rule, NotAfterExtraction):
        if as_of is None:
            return
        value = parsed[rule.column]
        after = pc.fill_null(pc.greater(value, pa.scalar(as_of, pa.date32())), False).to_numpy(
            zero_copy_only=False)
        raw = decoded.columns[rule.column]

        def future_msg(sel: np.ndarray) -> list[str]:
            vals = pc.take(raw, pa.array(sel)).to_pylist()
            return [f"{rule.column} : '{v}' est postérieure à la date d'extraction du fichier "
                    f"({_format_date(as_of)}) : une dette ne peut être en recouvrement avant d'exister"
                    for v in vals]

        mark(after, rule.column, "FUTURE_DATE", future_msg)
    elif isinstance(rule, NotAbove):
        value = parsed[rule.column]
        limit = parsed[rule.limits[0]]
        for other in rule.limits[1:]:
            limit = pc.add(limit, parsed[other])
        over = pc.fill_null(pc.greater(value, limit), False).to_numpy(zero_copy_only=False)

        def messages(sel: np.ndarray) -> list[str]:
            vals = pc.take(value, pa.array(sel)).to_pylist()
            lims = pc.take(limit, pa.array(sel)).to_pylist()
            what = " + ".join(rule.limits)
            return [f"{rule.column} : {rule.message} ({_fmt_cents(v)} € > {what} = {_fmt_cents(lim)} €)"
                    for v, lim in zip(vals, lims, strict=True)]

        mark(over, rule.column, "INCOHERENCE", messages)
    elif isinstance(rule, NotBefore):
        _apply_not_before(rule, parsed, decoded, mark)
    elif isinstance(rule, FilledOnlyWhen):
        code = parsed[rule.code_column]
        filled = pc.is_valid(parsed[rule.column]).to_numpy(zero_copy_only=False)
        required = pc.fill_null(pc.is_in(code, value_set=pa.array(rule.required, pa.large_string())), False).to_numpy(
            zero_copy_only=False)
        allowed = pc.fill_null(pc.is_in(code, value_set=pa.array(rule.allowed, pa.large_string())), False).to_numpy(
            zero_copy_only=False)
        raw = decoded.columns[rule.column]

        def missing_msg(sel: np.ndarray) -> list[str]:
            codes = pc.take(code, pa.array(sel)).to_pylist()
            return [f"{rule.column} : obligatoire quand {rule.code_column} vaut '{c}'" for c in codes]

        def forbidden_msg(sel: np.ndarray) -> list[str]:
            codes = pc.take(code, pa.array(sel)).to_pylist()
            vals = pc.take(raw, pa.array(sel)).to_pylist()
            return [
                f"{rule.column} : '{v}' ne doit être renseigné que si {rule.code_column} vaut "
                f"{' ou '.join(rule.allowed)} (ici : '{c or ''}')"
                for v, c in zip(vals, codes, strict=True)
            ]

        mark(required & ~filled, rule.column, "INCOHERENCE", missing_msg)
        mark(filled & ~allowed, rule.column, "INCOHERENCE", forbidden_msg)


def _apply_not_before(rule: NotBefore, parsed: dict[str, pa.Array], decoded: DecodedFile, mark) -> None:
    value, reference = parsed[rule.column], parsed[rule.reference]
    before = pc.fill_null(pc.less(value, reference), False).to_numpy(zero_copy_only=False)
    raw, raw_ref = decoded.columns[rule.column], decoded.columns[rule.reference]

    def messages(sel: np.ndarray) -> list[str]:
        vals = pc.take(raw, pa.array(sel)).to_pylist()
        refs = pc.take(raw_ref, pa.array(sel)).to_pylist()
        return [f"{rule.column} : '{v}' est antérieure à {rule.reference} ('{r}') : {rule.message}"
                for v, r in zip(vals, refs, strict=True)]

    mark(before, rule.column, "INCOHERENCE", messages)


def _group_codes(arrays: list[pa.Array]) -> np.ndarray:
    """One integer per row, equal for equal keys (null equal to null), numbered in order of first appearance."""
    codes = None
    for arr in arrays:
        encoded = pc.dictionary_encode(arr, null_encoding="encode")
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        idx = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        codes = idx if codes is None else codes * (len(encoded.dictionary) + 1) + idx
        codes, _ = pd.factorize(codes, sort=False)
    return codes


def _duplicates(spec: SourceSpec, table: pa.Table, texts_of: Callable[[np.ndarray], dict[int, str]],
                column_index: dict[str, int]) -> tuple[pd.DataFrame | None, np.ndarray]:
    """The `DOUBLON` rejects of the kept rows of `table` (in line order) and the mask of those rows."""
    no_dup = np.zeros(table.num_rows, dtype=bool)
    if table.num_rows < 2:
        return None, no_dup
    keys = [table[spec.column(k).db_name].combine_chunks() for k in spec.key]
    codes = _group_codes(keys)
    # codes follow the order of first appearance: a row is a first occurrence when it brings a new code
    seen_before = np.maximum.accumulate(np.concatenate([[-1], codes[:-1]]))
    dup = codes <= seen_before
    if not dup.any():
        return None, no_dup
    lines = table["ligne"].to_numpy()
    first_row = np.empty(int(codes.max()) + 1, dtype=np.int64)
    first_row[codes[~dup]] = np.flatnonzero(~dup)
    rows = np.flatnonzero(dup)
    label = "+".join(spec.key)
    values = [pc.take(k, pa.array(rows)).to_pylist() for k in keys]
    messages = [f"{label} : clé '{'/'.join(str(v) for v in key)}' en double (déjà présente ligne "
                f"{lines[first_row[codes[r]]]})" for r, key in zip(rows, zip(*values, strict=True), strict=True)]
    wanted = lines[rows]
    found = texts_of(wanted)  # the raw text of the duplicated lines, read again
    contenu = [found[int(line)] for line in wanted]
    rejects = pd.DataFrame({
        "ligne": wanted.astype(np.int64),
        "colonne": spec.key[-1],
        "motif": "DOUBLON",
        "message": messages,
        "contenu": contenu,
        "cle": _keys_of_texts(spec, contenu, column_index),
    })
    return rejects, dup


def _kept_table(spec: SourceSpec, parsed: dict[str, pa.Array], decoded: DecodedFile,
                idx: np.ndarray) -> pa.Table:
    """Kept rows with warehouse names: text, dates (date32), integer cents, SIREN, line.

    Each decoded column is released as soon as its kept rows are taken, so a large file
    is never held twice.
    """
    take = pa.array(idx, pa.int64())
    everything = len(idx) == len(decoded.lines)
    data: dict[str, pa.Array] = {}
    siren = _debtor_siren(spec, parsed)
    for col in spec.columns:
        value = parsed.pop(col.name)
        decoded.columns.pop(col.name, None)
        data[col.db_name] = value if everything else pc.take(value, take)
        del value
    data["siren"] = siren if everything else pc.take(siren, take)
    data["ligne"] = pa.array(decoded.lines[idx].astype(np.int32))
    return pa.table(data)


def _kept_frame(spec: SourceSpec, table: pa.Table) -> pd.DataFrame:
    """The kept rows as pandas: text as Arrow-backed strings (same buffers), dates as datetime64[ms] (years up to
    9999: a nanosecond timestamp would stop in 2262), nullable Int64."""
    mapping = {pa.large_string(): pd.StringDtype("pyarrow"), pa.string(): pd.StringDtype("pyarrow"),
               pa.int64(): pd.Int64Dtype()}
    frame = table.to_pandas(types_mapper=mapping.get, date_as_object=False, coerce_temporal_nanoseconds=False)
    for col in spec.columns:
        if col.kind is Kind.DATE:
            frame[col.db_name] = frame[col.db_name].astype("datetime64[ms]")
    return frame


def _debtor_siren(spec: SourceSpec, parsed: dict[str, pa.Array]) -> pa.Array:
    """The SIREN a row belongs to; for a fine, only a SIREN that is valid once spaces are removed."""
    if spec.debtor_column is None:
        return parsed[spec.key[0]]
    col = spec.column(spec.debtor_column)
    values = parsed[col.name]
    if col.kind is Kind.SIREN:
        return values
    if col.kind is Kind.SIRET:
        return pc.utf8_slice_codeunits(values, 0, 9)
    if col.kind is Kind.DEBTOR_ID:
        return ids.siren_of_debtor_id(values)[1]
    compacted = ids.compact(values)
    ok = ids.valid_siren(pc.fill_null(compacted, ""))
    return pc.if_else(pa.array(ok), compacted, pa.scalar(None, compacted.type))
