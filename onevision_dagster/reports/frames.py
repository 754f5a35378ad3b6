"""Small query results as pandas frames that keep DuckDB's DECIMAL as `Decimal` (``.df()`` gives floats)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pandas as pd


def query_frame(con: duckdb.DuckDBPyConnection, sql: str,
                params: Sequence[Any] | Mapping[str, Any] | None = None) -> pd.DataFrame:
    """For aggregates and short lists only: rows go through Python objects."""
    cur = con.execute(sql, params if params is not None else [])
    columns = [d[0] for d in cur.description]
    return pd.DataFrame(cur.fetchall(), columns=columns)


def history_tables_missing(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> list[str]:
    """Which of `tables` ("history.impact"...) the warehouse does not hold (history never computed)."""
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    return [t for t in tables if t not in present]
