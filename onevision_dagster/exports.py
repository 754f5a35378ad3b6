"""CSV exports for recovery agents (SOURCES.md section 6, "Exports for agents").

The files are opened by agents in a spreadsheet (Excel, LibreOffice), hence:

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
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from numbers import Integral
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from onevision_dagster.consolidation import (
    NATIONAL_POSITION_COLUMNS,
    POSITION_COLUMNS,
    POSITION_MONEY_COLUMNS,
)

SEPARATOR = ";"
LINE_TERMINATOR = "\r\n"
ENCODING = "utf-8-sig"  # UTF-8 with BOM
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

REJETS_COLUMNS: tuple[str, ...] = ("source", "fichier", "ligne", "colonne", "motif", "message", "contenu")
NON_POSITIONNEES_COLUMNS: tuple[str, ...] = ("source", "fichier", "ligne", "motif", "siren")

_CENT = Decimal("0.01")


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
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, Decimal):
        euros = value
    elif isinstance(value, Integral):
        euros = Decimal(int(value)).scaleb(-2)
    elif isinstance(value, (float, np.floating)):
        euros = Decimal(repr(float(value)))
    elif isinstance(value, str):
        euros = Decimal(value.strip().replace(",", "."))
    else:
        raise TypeError(f"not an amount: {value!r}")
    euros = euros.quantize(_CENT, rounding=ROUND_HALF_UP)
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


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
    """Query result as an object frame: Decimals, dates, ints and None kept as they are."""
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return pd.DataFrame(rows, columns=names, dtype=object)


def export_positions(
    con: duckdb.DuckDBPyConnection,
    out: str | Path,
    departement: str | None = None,
    national: bool = False,
) -> int:
    """``marts.positions`` of one department (or all), or ``marts.positions_nationales``."""
    if national:
        if departement is not None:
            raise ValueError("choose either a department or the national view, not both")
        cols = NATIONAL_POSITION_COLUMNS
        df = _fetch(con, f"SELECT {', '.join(cols)} FROM marts.positions_nationales ORDER BY siren")
    else:
        cols = POSITION_COLUMNS
        where, params = ("WHERE departement = ?", [departement]) if departement is not None else ("", [])
        df = _fetch(
            con,
            f"SELECT {', '.join(cols)} FROM marts.positions {where} ORDER BY departement, siren",
            params,
        )
    return write_agent_csv(
        df, out, date_columns=("date_situation",), money_columns=POSITION_MONEY_COLUMNS, columns=cols
    )


def export_rejets(con: duckdb.DuckDBPyConnection, out: str | Path, departement: str | None = None) -> int:
    """Every rejected row from ``quality.rejets``.

    With a department, only that department's files (the national register's
    rejects are in the export without a department).
    """
    where, params = ("WHERE departement = ?", [departement]) if departement is not None else ("", [])
    df = _fetch(
        con,
        f"""SELECT {", ".join(REJETS_COLUMNS)} FROM quality.rejets {where}
            ORDER BY (source <> 'entreprises'), source, fichier, ligne, colonne NULLS FIRST""",
        params,
    )
    return write_agent_csv(df, out, columns=REJETS_COLUMNS)


def export_non_positionnees(
    con: duckdb.DuckDBPyConnection, out: str | Path, departement: str | None = None
) -> int:
    """Every kept line with no position (``core.non_positionnees``)."""
    where, params = ("WHERE departement = ?", [departement]) if departement is not None else ("", [])
    df = _fetch(
        con,
        f"""SELECT {", ".join(NON_POSITIONNEES_COLUMNS)} FROM core.non_positionnees {where}
            ORDER BY source, fichier, ligne""",
        params,
    )
    return write_agent_csv(df, out, columns=NON_POSITIONNEES_COLUMNS)
