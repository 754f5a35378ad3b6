"""Shared by the security tests (issue 20): the app fixtures' warehouse, published.

`app_fixtures` still writes the contract-version-2 tables; until it follows version 3, the columns version 3
added are added here (zero, false or NULL: none of the security tests reads them) so the publication runs.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from onevision_dagster.app import model
from onevision_dagster.app.publication import publish

from . import app_fixtures as fx

_TYPES = {"suspendue": "BOOLEAN DEFAULT false", "anterieure_jugement": "BOOLEAN DEFAULT false",
          "motif_suspension": "VARCHAR", "date_origine": "DATE"}


def _add_missing(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> None:
    schema, name = table.split(".")
    present = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                                         "AND table_name = ?", [schema, name]).fetchall()}
    for column in columns:
        if column not in present:
            kind = "DECIMAL(18,2) DEFAULT 0" if column in model.POSITION_MONEY else _TYPES[column]
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def published(root: Path) -> Path:
    warehouse = fx.build_warehouse(root / "w.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        _add_missing(con, "marts.positions", model.POSITIONS)
        _add_missing(con, "marts.positions_nationales", model.POSITIONS_NATIONALES)
        _add_missing(con, "core.lignes_dettes", model.LIGNES)
        _add_missing(con, "core.lignes_creances", model.LIGNES)
        publish(con, root / "publication")
    return root / "publication"
