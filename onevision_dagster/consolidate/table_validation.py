"""Validates a derived table (or one department of it) with its Pandera model, in DuckDB.

The models of `schemas` are the one statement of each rule. Run as Pandera's Ibis backend runs
them — one query per check, each compiled by Ibis, 41 for a department of `marts.positions` —
they cost 105 s of CPU over a national refresh, nine times this scan, a refresh 35 % longer
(docs/decisions.md, "Validation of the derived tables"). So the checks of a model are turned, once per table,
into one aggregate query over the stored rows (`count(*) FILTER (WHERE NOT check)` per row-level
check), plus one query per uniqueness rule and per table-level check:

- built-in checks through Pandera's own Ibis implementation (the boolean expression it builds for
  the column), with its `ignore_na`;
- custom checks by calling the model's own check function on the table: a row-level check is one
  more count, a check returning one boolean (ranks) a query of its own;
- nullability, the strict column set and the dtypes in Python from the stored schema, compared as
  Pandera compares them.

Nothing is written twice: the SQL is Ibis's compilation of the model. It is compiled against an
unbound table `__rows__` and run for each department as `WITH __rows__ AS (SELECT * FROM <table>
WHERE departement = ?) ...`. When the scan flags anything, or cannot judge (a check it cannot
compile, a column set or type that differs, a query error), Pandera validates the rows itself
(`pandera.ibis`, in DuckDB), so a failure is always Pandera's own `SchemaErrors` with its
messages, and the verdict is always Pandera's. The scan is at least as strict: a NULL check result
counts as a failure, where Pandera's `all()` would skip it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import ibis
import ibis.expr.types as ir
import pandera.backends.ibis.builtin_checks  # noqa: F401 - registers Pandera's Ibis built-in checks
from ibis import _
from ibis.backends.sql.datatypes import DuckDBType
from pandera.api.checks import Check
from pandera.api.ibis.types import IbisData
from pandera.engines.ibis_engine import Engine

from onevision_dagster.consolidate.schemas import TABLE_MODELS

_ROWS = "__rows__"


class _CannotCompile(Exception):
    """A check the scan cannot stand in for: the table goes to Pandera."""


@dataclass
class _Scan:
    labels: list[str]  # row-level checks, in the order of the scan's counts
    scan_sql: str
    queries: list[tuple[str, str]] = field(default_factory=list)  # (label, SQL giving a failure count / False)


def _stored_schema(con: duckdb.DuckDBPyConnection, table: str) -> ibis.Schema:
    """The table's Ibis schema, as `Backend.table(...).schema()` gives it, read without an Ibis backend."""
    schema_name, name = table.split(".")
    rows = con.execute(
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema_name, name]).fetchall()
    return ibis.schema({col: DuckDBType.from_string(dtype, nullable=nullable) for col, dtype, nullable in rows})


@contextmanager
def _ibis_table(con: duckdb.DuckDBPyConnection, table: str, departement: str | None) -> Iterator[ir.Table]:
    """The stored rows as an Ibis table on `con`, the connection's settings left as they were.

    Wrapping a connection, Ibis sets its `TimeZone` to UTC and turns `python_enable_replacements` off: in the
    pipeline's shared session that would, for instance, change what `now()` records in `quality.chargements`.
    """
    saved = con.execute("SELECT current_setting('TimeZone'), current_setting('python_enable_replacements')"
                        ).fetchall()[0]
    try:
        schema_name, name = table.split(".")
        t = ibis.duckdb.from_connection(con).table(name, database=schema_name)
        yield t if departement is None else t.filter(t.departement == departement)
    finally:
        con.execute(f"SET TimeZone = '{saved[0].replace(chr(39), chr(39) * 2)}'")
        con.execute(f"SET python_enable_replacements = {'true' if saved[1] else 'false'}")


def _row_condition(check: Check, t: ir.Table, key: str | None) -> ir.BooleanValue | ir.BooleanScalar:
    out = check._check_fn(IbisData(t, key), **check._check_kwargs)
    if isinstance(out, ibis.Table):  # built-in checks: a projection of `t` holding one boolean column
        values = out.op().values
        if len(values) != 1:
            raise _CannotCompile(check.name)
        out = next(iter(values.values())).to_expr()
    if isinstance(out, ir.BooleanScalar):
        return out
    if not isinstance(out, ir.BooleanColumn):
        raise _CannotCompile(check.name)
    if check.ignore_na and key is not None:
        out = out | t[key].isnull()
    return out


@functools.cache
def _compile(table: str, stored: ibis.Schema) -> _Scan | None:
    model = TABLE_MODELS[table]
    schema = model.to_schema()
    if set(stored.names) != set(schema.columns):
        return None  # strict column set: Pandera says which column is missing or extra
    t = ibis.table(stored, name=_ROWS)
    rows: list[tuple[str, ir.BooleanValue]] = []
    scalars: list[tuple[str, ir.BooleanScalar]] = []
    try:
        for name, col in schema.columns.items():
            if col.dtype is not None and not col.dtype.check(Engine.dtype(stored[name])):
                return None
            if not col.nullable:
                rows.append((f"{name} non nul", t[name].notnull()))
            for check in col.checks:
                cond = _row_condition(check, t, name)
                (scalars if isinstance(cond, ir.BooleanScalar) else rows).append((f"{name} {check.name}", cond))
        for check in schema.checks:
            cond = _row_condition(check, t, None)
            (scalars if isinstance(cond, ir.BooleanScalar) else rows).append((str(check.name), cond))
    except _CannotCompile:
        return None
    counts = {f"f{i}": t.count(where=~cond.fill_null(False)) for i, (_label, cond) in enumerate(rows)}
    scan = ibis.to_sql(t.aggregate(n=t.count(), **counts), dialect="duckdb")
    plan = _Scan(labels=[label for label, _c in rows], scan_sql=str(scan))
    unique = schema.unique or []
    for cols in [unique] if unique and isinstance(unique[0], str) else unique:
        dupes = t.group_by(list(cols)).aggregate(k=_.count()).filter(_.k > 1).count()
        plan.queries.append((f"unique {list(cols)}", str(ibis.to_sql(dupes, dialect="duckdb"))))
    for label, cond in scalars:
        failed = ibis.ifelse(cond.fill_null(False), 0, 1)
        plan.queries.append((label, str(ibis.to_sql(failed, dialect="duckdb"))))
    return plan


def scan_failures(con: duckdb.DuckDBPyConnection, table: str, departement: str | None) -> tuple[int, list[str]] | None:
    """(rows, labels of the flagged checks), or None when the scan cannot judge."""
    plan = _compile(table, _stored_schema(con, table))
    if plan is None:
        return None
    where, params = ("departement = ?", [departement]) if departement is not None else ("TRUE", [])
    with_rows = f'WITH "{_ROWS}" AS (SELECT * FROM {table} WHERE {where}) '
    try:
        row = con.execute(with_rows + plan.scan_sql, params).fetchall()[0]
        failed = [label for label, n in zip(plan.labels, row[1:], strict=True) if n]
        for label, sql in plan.queries:
            if con.execute(with_rows + sql, params).fetchall()[0][0]:
                failed.append(label)
    except duckdb.Error:
        return None
    return int(row[0]), failed


def validate_table(con: duckdb.DuckDBPyConnection, table: str, departement: str | None) -> int:
    """Row count of the stored rows when they conform; Pandera's `SchemaErrors` (pandera.ibis) when not."""
    checked = scan_failures(con, table, departement)
    if checked is not None and not checked[1]:
        return checked[0]
    with _ibis_table(con, table, departement) as rows:
        TABLE_MODELS[table].validate(rows, lazy=True)
        return int(rows.count().execute())
