"""The DuckDB warehouse file; connections are opened per unit of work and closed at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from onevision_dagster import warehouse


class Warehouse(dg.ConfigurableResource):
    """`ONEVISION_WAREHOUSE`, default `data/onevision.duckdb` (created on first write)."""

    path: str = "data/onevision.duckdb"
    lock_timeout_s: float = 120.0

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        timeout = warehouse.lock_timeout(self.lock_timeout_s)
        with warehouse.connect(Path(self.path), read_only=read_only, lock_timeout_s=timeout) as con:
            yield con
