"""Validates a derived table (or one department of it) with its Pandera model, as stored."""

from __future__ import annotations

import duckdb

from .schemas_marts import TABLE_MODELS


def validate_table(con: duckdb.DuckDBPyConnection, table: str, departement: str | None) -> int:
    """Reads the rows back from DuckDB and validates them; returns the row count.

    Reading back what was written (rather than the frame that was inserted)
    also catches a cast or a default applied by the warehouse.
    """
    where, params = ("departement = ?", [departement]) if departement is not None else ("TRUE", [])
    frame = con.execute(f"SELECT * FROM {table} WHERE {where}", params).df()
    TABLE_MODELS[table].validate(frame, lazy=True)
    return len(frame)
