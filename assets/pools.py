"""Concurrency pools.

DuckDB accepts one writing process per file, and a writer locks readers of
other processes out: every asset that opens the warehouse belongs to this pool
(its limit is 1 in `dagster.yaml`).
"""

DUCKDB_POOL = "duckdb_warehouse"
