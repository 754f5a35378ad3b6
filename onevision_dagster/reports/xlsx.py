"""Agents' exports as Excel workbooks: typed cells, so a spreadsheet never guesses.

A French Excel opening the CSV turns ``17,95`` (a ``departements`` cell) into a
number and drops the leading zero of a SIREN. In a workbook every cell carries
its type, taken from the DuckDB column type:

- ``VARCHAR`` (SIREN, department codes, the ``departements`` list, postal
  codes, references, names, messages): a text cell, the formula
  neutralisation of the CSV applied (a leading ``'``), characters XML cannot
  hold replaced by U+FFFD;
- ``DECIMAL`` (amounts): a number shown ``# ##0,00 €`` in a French Excel;
- ``DATE``: a date shown ``dd/mm/yyyy``;
- integers: numbers.

The header row is frozen and filterable. openpyxl writes in write-only mode
with inline strings: rows are streamed from DuckDB in batches and to the file,
so memory stays bounded whatever the row count (200 000 positions of a large
department). That loop over rows is openpyxl's only way in; it runs once per
export, not in the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from onevision_dagster.reports.atomic_files import written_beside

MONEY_FORMAT = '#,##0.00 "€"'
"""Shown ``12 345,67 €`` by a French Excel (its separators replace ``,`` and ``.``)."""
DATE_FORMAT = "dd/mm/yyyy"
INTEGER_FORMAT = "0"
TEXT_FORMAT = "@"
BATCH_ROWS = 10_000
SHEET_TITLE_MAX = 31  # Excel's limit

_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT")
_WIDTHS = {"text": 18, "money": 16, "date": 12, "integer": 10}
_WIDE_TEXT = {"denomination": 36, "message": 60, "contenu": 60, "fichier": 30, "departements": 16}


def _kind(sql_type: str) -> str:
    t = sql_type.upper()
    if t.startswith("DECIMAL"):
        return "money"
    if t == "DATE":
        return "date"
    if t in _INTEGER_TYPES:
        return "integer"
    return "text"


def _text(value: Any, neutralise: Callable[[str], str]) -> str:
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value)))


def write_query_xlsx(
    con: duckdb.DuckDBPyConnection,
    select_sql: str,
    out: str | Path,
    columns: Sequence[str],
    *,
    sheet_title: str,
    neutralise: Callable[[str], str],
) -> int:
    """Writes the rows of ``select_sql`` (which returns ``columns`` in order) as a workbook; returns the row count.

    The file is written beside ``out`` then renamed: a failed export never leaves half a workbook.
    """
    cursor = con.execute(select_sql)
    kinds = [_kind(str(t)) for t in (d[1] for d in cursor.description)]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet_title[:SHEET_TITLE_MAX])
    ws.freeze_panes = "A2"
    for i, (name, kind) in enumerate(zip(columns, kinds, strict=True), start=1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDE_TEXT.get(name, _WIDTHS[kind])
    bold = Font(bold=True)

    def header_cell(name: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws, value=_text(name, neutralise))
        cell.font = bold
        return cell

    ws.append([header_cell(c) for c in columns])
    formats = {"money": MONEY_FORMAT, "date": DATE_FORMAT, "integer": INTEGER_FORMAT, "text": TEXT_FORMAT}
    # one styled cell per column, refilled for every row: openpyxl writes a row as soon as it is appended, and
    # looking a style up once per column instead of once per cell makes the export several times faster
    templates = []
    for kind in kinds:
        cell = WriteOnlyCell(ws)
        cell.number_format = formats[kind]
        templates.append(cell)
    text_columns = [i for i, kind in enumerate(kinds) if kind == "text"]
    count = 0
    while batch := cursor.fetchmany(BATCH_ROWS):
        for row in batch:
            cells: list[WriteOnlyCell | None] = []
            for i, value in enumerate(row):
                if value is None:
                    cells.append(None)
                    continue
                cell = templates[i]
                if i in text_columns:
                    cell.value = _text(value, neutralise)
                    cell.data_type = "s"  # never a formula, whatever the text
                else:
                    cell.value = value
                cells.append(cell)
            ws.append(cells)
        count += len(batch)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
    with written_beside(Path(out)) as tmp:
        wb.save(tmp)
    return count
