"""Exports for recovery agents (SOURCES.md section 6, "Exports for agents"): CSV, or Excel workbooks.

Every export is also offered as ``.xlsx`` (`onevision_dagster.reports.xlsx`:
typed cells, the format to open in Excel); the format is asked for or read from
the output file's suffix (`export_format`). The CSV files are opened by agents
in a spreadsheet (Excel, LibreOffice), hence:

- UTF-8 with a BOM (Excel otherwise reads UTF-8 as cp1252), ``;`` separator,
  CRLF line endings (RFC 4180, what Excel writes itself), a header row;
- amounts with a decimal comma and exactly two decimals (``-2500,00``), no
  thousands separator, never quoted or prefixed: a spreadsheet reads them as
  numbers, a negative balance included;
- dates as ``DD/MM/YYYY``; integers as plain digits; a missing value is an
  empty cell;
- a *text* cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return gets a leading ``'`` so the spreadsheet never evaluates it as a
  formula (CSV injection); numbers and dates are never touched;
- cells holding ``;``, ``"`` or a line break are quoted, ``"`` doubled
  (RFC 4180 minimal quoting).

Amounts are formatted from ``Decimal`` values (DuckDB ``DECIMAL(18,2)``):
a float never decides the cent shown. In a pandas frame, an integer in a money
column is integer **cents** (the warehouse's pandas convention).

Row order is deterministic: positions by ``siren`` (several departments:
``departement`` then ``siren``); rejects register first, then by source name,
file, line; unpositioned lines by source name, file, line.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from decimal import Decimal
from numbers import Integral
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from onevision_dagster.consolidate.snapshot import current_files_sql
from onevision_dagster.consolidate.tables import (
    COMPENSATION_COLUMNS,
    DECLARATION_COLUMNS,
    NATIONAL_POSITION_COLUMNS,
    POSITION_COLUMNS,
    POSITION_MONEY_COLUMNS,
)
from onevision_dagster.contract.departements import is_departement
from onevision_dagster.contract.sources import ALL_SOURCES
from onevision_dagster.history.tables import IMPACT_COLUMNS, IMPACT_MONEY_COLUMNS, MOUVEMENT_COLUMNS
from onevision_dagster.reports.formatting import to_decimal_euros
from onevision_dagster.reports.xlsx import write_query_xlsx

SEPARATOR = ";"
LINE_TERMINATOR = "\r\n"
ENCODING = "utf-8-sig"  # UTF-8 with BOM
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

REJETS_COLUMNS: tuple[str, ...] = ("source", "fichier", "ligne", "colonne", "motif", "message", "contenu")
NON_POSITIONNEES_COLUMNS: tuple[str, ...] = ("source", "fichier", "ligne", "motif", "siren")

_CENT = Decimal("0.01")

FORMATS = ("csv", "xlsx")


def export_format(out: str | Path, requested: str | None = None) -> str:
    """``csv`` or ``xlsx``: the one asked for, else the output file's suffix (``.xlsx``), else ``csv``.

    A format that contradicts the suffix is the user's mistake, said in French
    (an ``.xlsx`` file holding CSV would not open).
    """
    suffix = Path(out).suffix.lower()
    inferred = "xlsx" if suffix == ".xlsx" else "csv"
    if requested is None:
        return inferred
    if requested not in FORMATS:
        raise ValueError(f"Format d'export inconnu : {requested!r} (attendu : csv ou xlsx)")
    if suffix in (".csv", ".xlsx") and requested != inferred:
        raise ValueError(f"Format {requested} demandé mais le fichier {Path(out).name} se termine par {suffix} : "
                         "changez l'un ou l'autre")
    return requested


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    return False


def format_money(value: object) -> str:
    """``Decimal('-2500')`` → ``-2500,00``; an integer is cents, a float goes through its repr."""
    if _missing(value):
        return ""
    euros = to_decimal_euros(value)  # the formatting module's conversion: integers are cents
    if euros == 0:
        euros = abs(euros)  # no "-0,00"
    return f"{euros:f}".replace(".", ",")


def format_date(value: object) -> str:
    """Any date-like value (date, datetime, Timestamp, ISO string) → ``DD/MM/YYYY``."""
    if _missing(value):
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value.strip()[:10])
    if isinstance(value, (dt.date, pd.Timestamp, np.datetime64)):
        value = pd.Timestamp(value) if isinstance(value, np.datetime64) else value
        return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
    raise TypeError(f"not a date: {value!r}")


def neutralise_text(text: str) -> str:
    """Prefix with ``'`` a text a spreadsheet would run as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def format_cell(value: object) -> str:
    """A cell that is neither an amount nor a date: numbers as numbers, text neutralised."""
    if _missing(value):
        return ""
    if isinstance(value, str):
        return neutralise_text(value)
    if isinstance(value, (bool, np.bool_)):
        return "oui" if value else "non"
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return str(int(f)) if f.is_integer() else repr(f).replace(".", ",")
    if isinstance(value, Decimal):
        return f"{value:f}".replace(".", ",")
    if isinstance(value, (dt.date, pd.Timestamp)):
        return format_date(value)
    return neutralise_text(str(value))


def write_agent_csv(
    df: pd.DataFrame,
    path: str | Path,
    date_columns: Sequence[str] = (),
    money_columns: Sequence[str] = (),
    *,
    columns: Sequence[str] | None = None,
    line_terminator: str = LINE_TERMINATOR,
) -> int:
    """Write ``df`` as an agent CSV (see module docstring); returns the number of data rows.

    ``columns`` selects and orders the columns (default: the frame's order).
    """
    cols = list(columns) if columns is not None else [str(c) for c in df.columns]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"columns missing from the frame: {missing}")
    dates, money = set(date_columns), set(money_columns)
    formatted: list[list[str]] = []
    for c in cols:
        fmt: Callable[[object], str]
        fmt = format_money if c in money else format_date if c in dates else format_cell
        formatted.append([fmt(v) for v in df[c].astype(object).tolist()])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=ENCODING, newline="") as fh:
        writer = csv.writer(
            fh, delimiter=SEPARATOR, quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator=line_terminator
        )
        writer.writerow([neutralise_text(c) for c in cols])
        writer.writerows(zip(*formatted, strict=True))
    return len(df)


_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT")


def _sql_literal(text: str) -> str:
    return "chr(" + str(ord(text)) + ")" if len(text) == 1 and not text.isprintable() else "'" + text.replace(
        "'", "''") + "'"


def _format_sql(column: str, sql_type: str, money: bool, date: bool) -> str:
    """The cell as text, formatted by DuckDB with the rules of `format_money`, `format_date`, `format_cell`."""
    col = f'"{column}"'
    if money:
        # DECIMAL to text is exact ("-2500.00") and a DECIMAL never renders "-0.00"
        return f"replace(CAST(CAST({col} AS DECIMAL(38,2)) AS VARCHAR), '.', ',')"
    if date:
        return f"strftime(CAST({col} AS DATE), '%d/%m/%Y')"
    if sql_type.upper() in _INTEGER_TYPES:
        return f"CAST({col} AS VARCHAR)"
    prefixes = ", ".join(_sql_literal(p) for p in FORMULA_PREFIXES)
    text = f"CAST({col} AS VARCHAR)"
    return f"CASE WHEN left({text}, 1) IN ({prefixes}) THEN chr(39) || {text} ELSE {text} END"


def _export_query(
    con: duckdb.DuckDBPyConnection,
    source: str,
    order_by: str,
    out: str | Path,
    columns: Sequence[str],
    date_columns: Sequence[str] = (),
    money_columns: Sequence[str] = (),
    fmt: str = "csv",
    sheet_title: str = "export",
) -> int:
    """Writes a query as an agent CSV with DuckDB's own CSV writer (cells formatted in SQL), or as a workbook.

    National positions hold millions of rows: one Python call per cell would
    take minutes, DuckDB's `COPY` takes seconds. It quotes like the `csv`
    module (minimal RFC 4180 quoting) but for cells starting with `#`, which it
    also quotes; the values read back are the same. `source` is trusted SQL
    (table and a WHERE built from a validated department code).
    """
    quoted = ", ".join(f'"{c}"' for c in columns)
    if fmt == "xlsx":
        return write_query_xlsx(con, f"SELECT {quoted} FROM {source} ORDER BY {order_by}", out, columns,
                                sheet_title=sheet_title, neutralise=neutralise_text)
    probe = con.sql(f"SELECT {quoted} FROM {source} LIMIT 0")
    types = dict(zip(probe.columns, (str(t) for t in probe.types), strict=True))
    # output aliases differ from the column names so that ORDER BY sorts on the typed columns, not the text
    exprs = [f"NULLIF({_format_sql(c, types[c], c in money_columns, c in date_columns)}, '') AS _cell{i}"
             for i, c in enumerate(columns)]
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, body = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        count = con.execute(
            f"COPY (SELECT {', '.join(exprs)} FROM {source} ORDER BY {order_by}) TO '{_sql_path(body)}' "
            f"(FORMAT csv, DELIMITER '{SEPARATOR}', QUOTE '\"', ESCAPE '\"', HEADER false, "
            f"NEW_LINE '{LINE_TERMINATOR.encode('unicode_escape').decode()}')"
        ).fetchone()[0]
        with path.open("w", encoding=ENCODING, newline="") as fh:
            csv.writer(fh, delimiter=SEPARATOR, lineterminator=LINE_TERMINATOR).writerow(
                [neutralise_text(c) for c in columns])
            fh.flush()
            with open(body, "rb") as src:
                shutil.copyfileobj(src, fh.buffer, length=1 << 20)
    finally:
        Path(body).unlink(missing_ok=True)
    return int(count)


def _sql_path(path: str) -> str:
    return path.replace("'", "''")


def _department_filter(departement: str | None) -> str:
    """A WHERE clause for a department code, validated first (it is inlined into `COPY`)."""
    if departement is None:
        return ""
    if not is_departement(departement):
        raise ValueError(f"Code département inconnu : {departement!r}")
    return f"WHERE departement = '{departement}'"


def export_positions(
    con: duckdb.DuckDBPyConnection,
    out: str | Path,
    departement: str | None = None,
    national: bool = False,
    date: dt.date | None = None,
    fmt: str | None = None,
) -> int:
    """``marts.positions`` of one department (or all), or ``marts.positions_nationales``; with `date`, the
    positions of that snapshot (``history.positions_historique``, section 9)."""
    if national:
        if departement is not None or date is not None:
            raise ValueError("choose either a department (and a date) or the national view")
        cols = NATIONAL_POSITION_COLUMNS
        source, order = "marts.positions_nationales", "siren"
    elif date is not None:
        where = _department_filter(departement) or "WHERE TRUE"
        cols = POSITION_COLUMNS
        source = f"history.positions_historique {where} AND date_situation = DATE '{date.isoformat()}'"
        order = "departement, siren"
    else:
        cols = POSITION_COLUMNS
        source, order = f"marts.positions {_department_filter(departement)}", "departement, siren"
    return _export_query(con, source, order, out, cols, date_columns=("date_situation",),
                         money_columns=POSITION_MONEY_COLUMNS, fmt=export_format(out, fmt), sheet_title="positions")


def export_rejets(
    con: duckdb.DuckDBPyConnection, out: str | Path, departement: str | None = None, fmt: str | None = None
) -> int:
    """Every rejected row of the files that make the latest snapshots (section 6; older files' rejects stay
    in the warehouse).

    With a department, only that department's files (the national register's
    rejects are in the export without a department).
    """
    ranks = " ".join(f"WHEN '{s.name}' THEN {i}" for i, s in enumerate(ALL_SOURCES))
    order = f"CASE source {ranks} END, fichier, ligne, colonne NULLS FIRST"  # the contract's order of sources
    current = ("(SELECT r.* FROM quality.rejets r SEMI JOIN " + current_files_sql(con) + " f "
               "ON f.source = r.source AND f.departement IS NOT DISTINCT FROM r.departement "
               "AND f.date_extraction = r.date_extraction) AS rejets")
    return _export_query(con, f"{current} {_department_filter(departement)}", order, out, REJETS_COLUMNS,
                         fmt=export_format(out, fmt), sheet_title="rejets")


def export_non_positionnees(
    con: duckdb.DuckDBPyConnection, out: str | Path, departement: str | None = None, fmt: str | None = None
) -> int:
    """Every kept line with no position (``core.non_positionnees``)."""
    return _export_query(con, f"core.non_positionnees {_department_filter(departement)}", "source, fichier, ligne",
                         out, NON_POSITIONNEES_COLUMNS, fmt=export_format(out, fmt), sheet_title="non_positionnees")


def export_mouvements(
    con: duckdb.DuckDBPyConnection, out: str | Path, departement: str | None = None, fmt: str | None = None
) -> int:
    """Every movement between consecutive snapshots (section 9), in the contract's column order."""
    return _export_query(con, f"history.mouvements {_department_filter(departement)}",
                         "departement, date_fin, source, cle, type", out, MOUVEMENT_COLUMNS,
                         date_columns=("date_debut", "date_fin"), money_columns=("montant",),
                         fmt=export_format(out, fmt), sheet_title="mouvements")


def export_compensations(
    con: duckdb.DuckDBPyConnection, out: str | Path, departement: str | None = None, fmt: str | None = None
) -> int:
    """What each department's credits can offset, in it and elsewhere (contract v3, section 6); with a
    department, the rows of the department holding the credits."""
    return _export_query(con, f"marts.compensations {_department_filter(departement)}", "departement, siren", out,
                         COMPENSATION_COLUMNS, date_columns=("date_situation",),
                         money_columns=("creances_departement", "dettes_compensables_departement",
                                        "dettes_compensables_autres", "montant_compensable"),
                         fmt=export_format(out, fmt), sheet_title="compensations")


def export_declarations(
    con: duckdb.DuckDBPyConnection, out: str | Path, departement: str | None = None, fmt: str | None = None
) -> int:
    """The claims to declare in collective procedures with their deadlines (contract v3, section 6), the most
    urgent first."""
    return _export_query(con, f"marts.declarations {_department_filter(departement)}",
                         "departement, date_limite_declaration NULLS LAST, siren, source, cle", out,
                         DECLARATION_COLUMNS,
                         date_columns=("date_situation", "date_jugement", "date_publication_bodacc",
                                       "date_limite_declaration", "date_limite_releve"),
                         money_columns=("montant",), fmt=export_format(out, fmt), sheet_title="declarations")


def export_impact(
    con: duckdb.DuckDBPyConnection, out: str | Path, departement: str | None = None, fmt: str | None = None
) -> int:
    """The impact rows per department and consecutive pair (section 9), in the contract's column order."""
    return _export_query(con, f"history.impact {_department_filter(departement)}", "departement, date_fin", out,
                         IMPACT_COLUMNS, date_columns=("date_debut", "date_fin"), money_columns=IMPACT_MONEY_COLUMNS,
                         fmt=export_format(out, fmt), sheet_title="impact")


EVALUATION_DECIMALS = Decimal("0.0001")


def _statistic(value: object) -> Decimal | None:
    """A rate or p-value to four decimals; missing or not bounded (±inf): an empty cell."""
    if _missing(value) or not math.isfinite(float(value)):
        return None
    return Decimal(float(value)).quantize(EVALUATION_DECIMALS)


def export_evaluation(con: duckdb.DuckDBPyConnection, out: str | Path, fmt: str | None = None) -> int:
    """The experiment's verdict (`experiment.evaluation`, issue 19): one row per indicator then per placebo;
    rates and bounds as fractions (0,2834 = 28,34 points) to four decimals, an empty bound when not bounded."""
    from onevision_dagster.experiment.evaluation import EXPORT_COLUMNS, read_evaluation

    if export_format(out, fmt) != "csv":
        raise ValueError("L'export evaluation n'existe qu'en CSV (.csv).")
    frame = read_evaluation(con)
    if frame is None:
        raise ValueError("L'évaluation de l'expérimentation n'a pas encore été calculée dans cet entrepôt : "
                         "lancez `onevision run` ou matérialisez l'asset experiment/evaluation.")
    frame = frame[list(EXPORT_COLUMNS)].copy()
    for column in ("estimation", "ic_bas", "ic_haut", "p_valeur"):
        frame[column] = [_statistic(v) for v in frame[column]]
    return write_agent_csv(frame, out, columns=EXPORT_COLUMNS)
