"""Times the validation of the derived tables of a benchmark warehouse, as the assets run it.

    .venv/bin/python -m bench.validation --warehouse bench/out/onevision.duckdb --mode scan
    .venv/bin/python -m bench.validation --warehouse bench/out/onevision.duckdb --mode pandera

Scope of one pass, as in a national refresh: the four core tables, `marts.positions` and
`marts.panel_debiteurs_communs` once per department (`WHERE departement = ?`), then the two
national tables once. Modes:

- `scan`: what the assets run, `table_validation.validate_table` (the Pandera models compiled into
  one scan per table, `pandera.ibis` judging only when the scan flags something);
- `pandera`: `pandera.ibis` itself on every table (one query per check), the connection wrapped
  by `ibis.duckdb.from_connection` at every call, as an asset step would.

The figures of docs/decisions.md ("Validation of the derived tables") also compare the SQL twins
and the pandas models this replaced: see this file at commit 6550226 (modes `sql`, `ibis`,
`compiled`, `pandas`). Run each mode in its own process (one per invocation) so that its peak
RSS is its own. Prints one JSON object: wall and CPU seconds per table and in total, RSS before and
peak after, load average (other processes on the machine inflate the wall time, much less the CPU
time).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

PARTITIONED = ("core.rattachement_amendes", "core.lignes_dettes", "core.lignes_creances", "core.non_positionnees",
               "marts.positions", "marts.panel_debiteurs_communs")
NATIONAL = ("marts.positions_nationales", "marts.panel_debiteurs_communs_national")
MIB = 1024**2


def _rss() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _validator(mode: str) -> Callable[[duckdb.DuckDBPyConnection, str, str | None], int]:
    import ibis

    from onevision_dagster.consolidate.schemas import TABLE_MODELS
    from onevision_dagster.consolidate.table_validation import validate_table

    if mode == "scan":
        return validate_table

    def by_pandera(con: duckdb.DuckDBPyConnection, table: str, departement: str | None) -> int:
        schema, name = table.split(".")
        t = ibis.duckdb.from_connection(con).table(name, database=schema)
        if departement is not None:
            t = t.filter(t.departement == departement)
        TABLE_MODELS[table].validate(t, lazy=True)
        return -1  # the row count would cost one more query (the assets need it)

    return by_pandera


def run(warehouse: Path, mode: str, limit: int | None) -> dict:
    start_import = time.perf_counter()
    validate = _validator(mode)
    imported = time.perf_counter() - start_import
    con = duckdb.connect(str(warehouse), read_only=True)
    departements = [r[0] for r in con.execute(
        "SELECT DISTINCT departement FROM marts.positions ORDER BY 1").fetchall()][:limit]
    rss_before = _rss()
    seconds = dict.fromkeys(PARTITIONED + NATIONAL, 0.0)
    cpu = dict.fromkeys(PARTITIONED + NATIONAL, 0.0)  # this process's CPU (every DuckDB thread): less
    calls = 0                                          # sensitive than wall time to other processes
    t0, c0 = time.perf_counter(), time.process_time()
    for dept in departements:
        for table in PARTITIONED:
            t, c = time.perf_counter(), time.process_time()
            validate(con, table, dept)
            seconds[table] += time.perf_counter() - t
            cpu[table] += time.process_time() - c
            calls += 1
    for table in NATIONAL:
        t, c = time.perf_counter(), time.process_time()
        validate(con, table, None)
        seconds[table] += time.perf_counter() - t
        cpu[table] += time.process_time() - c
        calls += 1
    total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    con.close()
    return {"mode": mode, "departements": len(departements), "calls": calls, "import_seconds": imported,
            "seconds": seconds, "total_seconds": total, "cpu_seconds": cpu, "total_cpu_seconds": total_cpu,
            "partitioned_seconds": sum(seconds[t] for t in PARTITIONED),
            "national_seconds": sum(seconds[t] for t in NATIONAL),
            "rss_before_mib": rss_before / MIB,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "loadavg": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.validation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, default=Path("bench/out/onevision.duckdb"))
    parser.add_argument("--mode", choices=("scan", "pandera"), required=True)
    parser.add_argument("--limit", type=int, help="only the first N departments (quick runs)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.warehouse, args.mode, args.limit)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
