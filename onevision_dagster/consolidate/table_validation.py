"""Validates a derived table (one department, or all; for the history one snapshot date) with its Pandera model,
in DuckDB, before the builder commits.

The Ibis models of `schemas` (and `history.schemas`) are the one statement of each rule. Run as Pandera's Ibis
backend runs them — one query per check, each compiled by Ibis, 41 for a department of `marts.positions` — they
cost 105 s of CPU over a national refresh, nine times this scan, a refresh 35 % longer (docs/decisions.md,
"Validation of the derived tables"). So the checks of a model are turned, once per model and stored layout, into
one aggregate query over the stored rows (`count(*) FILTER (WHERE NOT check)` per row-level check), plus one query
per uniqueness rule and per table-level check:

- built-in checks through Pandera's own Ibis implementation (the boolean expression it builds for the column),
  with its `ignore_na`;
- custom checks by calling the model's own check function on the table: a row-level check is one more count, a
  check returning one boolean (ranks) a query of its own;
- nullability, the strict column set and the dtypes in Python from the stored schema, compared as Pandera
  compares them.

Nothing is written twice: the SQL is Ibis's compilation of the model. It is compiled against an unbound table
`__rows__` and run as `WITH __rows__ AS (SELECT * FROM <table> WHERE departement = ? ...) ...`. When the scan
flags anything, or cannot judge (a check it cannot compile, a column set or type that differs, a query error),
Pandera validates the rows itself (`pandera.ibis`, in DuckDB): the verdict is always Pandera's, and its
`SchemaErrors` is kept in `TableCheckFailed.errors`. The scan is at least as strict: a NULL check result counts as
a failure, where Pandera's `all()` would skip it.

The failure's message goes to the run's log: it names the checks Pandera reports (in French for the built-in
ones) and the rows by identifiers only, read by the compiled query of each check — never Pandera's text, whose
failure cases carry whole rows, company names included.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import ibis
import ibis.expr.types as ir
import pandera.backends.ibis.builtin_checks  # noqa: F401 - registers Pandera's Ibis built-in checks
import pandera.errors
import pandera.ibis as pa
from ibis import _
from ibis.backends.sql.datatypes import DuckDBType
from pandera.api.checks import Check
from pandera.api.ibis.types import IbisData
from pandera.engines.ibis_engine import Engine

from onevision_dagster.consolidate.schemas import TABLE_MODELS
from onevision_dagster.errors import OneVisionError

_ROWS = "__rows__"
IDENTIFIER_COLUMNS = ("siren", "reference", "num_amende", "cle", "ligne")  # what a message may show of a row
MAX_ROWS_NAMED = 10


class _CannotCompile(Exception):
    """A check the scan cannot stand in for: the table goes to Pandera."""


@dataclass(frozen=True)
class _Rule:
    check: str  # Pandera's name of the check (`totaux`, `greater_than_or_equal_to`, `not_nullable`...)
    label: str  # how a failure message names it (French)
    # identifiers of the rows breaking it (None: a rule on the whole table); an Ibis expression compares as one
    culprits_expr: ir.Table | None = field(compare=False)
    ids: tuple[str, ...] = ()  # the identifier columns `culprits` selects

    @property
    def culprits(self) -> str | None:
        """The SQL of `culprits_expr`, compiled only when a failure is explained: compiling it for every rule
        took two thirds of a model's compilation (about 3 s per process, issue 21)."""
        return None if self.culprits_expr is None else _sql(self.culprits_expr)


@dataclass
class _Scan:
    rows: list[_Rule]  # row-level rules, in the order of the scan's counts
    scan_sql: str
    queries: list[tuple[_Rule, str]] = field(default_factory=list)  # (rule, SQL giving a failure count / 1)


def _stored_schema(con: duckdb.DuckDBPyConnection, table: str) -> ibis.Schema:
    """The table's Ibis schema, as `Backend.table(...).schema()` gives it, read without an Ibis backend."""
    schema_name, name = table.split(".")
    rows = con.execute(
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema_name, name]).fetchall()
    return ibis.schema({col: DuckDBType.from_string(dtype, nullable=nullable) for col, dtype, nullable in rows})


def _scope(departement: str | None, date_situation: dt.date | None) -> tuple[str, list]:
    """The rows a validation covers: a department (or all), and for the history one snapshot date."""
    where, params = ["TRUE"], []
    if departement is not None:
        where.append("departement = ?")
        params.append(departement)
    if date_situation is not None:
        where.append("date_situation = ?")
        params.append(date_situation)
    return " AND ".join(where), params


@contextmanager
def _ibis_table(con: duckdb.DuckDBPyConnection, table: str, departement: str | None,
                date_situation: dt.date | None) -> Iterator[ir.Table]:
    """The rows in scope as an Ibis table on `con` (a builder's open transaction included), the connection's
    settings left as they were.

    Wrapping a connection, Ibis sets its `TimeZone` to UTC and turns `python_enable_replacements` off: in the
    pipeline's shared session that would, for instance, change what `now()` records in `quality.chargements`.
    DuckDB settings are not transactional, so they are put back whatever happens — except in a transaction an
    error has aborted, where nothing can run until the builder rolls back (its error is then the one raised).
    """
    saved = con.execute("SELECT current_setting('TimeZone'), current_setting('python_enable_replacements')"
                        ).fetchall()[0]
    failed = False
    try:
        schema_name, name = table.split(".")
        t = ibis.duckdb.from_connection(con).table(name, database=schema_name)
        if departement is not None:
            t = t.filter(t.departement == departement)
        if date_situation is not None:
            t = t.filter(t.date_situation == date_situation)
        yield t
    except BaseException:
        failed = True
        raise
    finally:
        try:
            con.execute(f"SET TimeZone = '{saved[0].replace(chr(39), chr(39) * 2)}'")
            con.execute(f"SET python_enable_replacements = {'true' if saved[1] else 'false'}")
        except duckdb.TransactionException:
            if not failed:
                raise


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


_BUILTIN_LABELS = {  # Pandera's built-in checks, as the French failure message names them
    "greater_than_or_equal_to": "{col} ≥ {min_value}",
    "greater_than": "{col} > {min_value}",
    "less_than_or_equal_to": "{col} ≤ {max_value}",
    "less_than": "{col} < {max_value}",
    "isin": "{col} parmi les valeurs permises",
    "str_matches": "format de {col}",
}


def _label(check: Check, column: str | None) -> str:
    template = _BUILTIN_LABELS.get(str(check.name))
    if template is None or column is None:
        return str(check.name)  # custom checks are named in French by their method
    return template.format(col=column, **(check.statistics or {}))


def _sql(expr: ir.Expr) -> str:
    return str(ibis.to_sql(expr, dialect="duckdb"))


@functools.cache
def _compile(model: type[pa.DataFrameModel], stored: ibis.Schema) -> _Scan | None:
    schema = model.to_schema()
    if set(stored.names) != set(schema.columns):
        return None  # strict column set: Pandera says which column is missing or extra
    t = ibis.table(stored, name=_ROWS)
    ids = [c for c in IDENTIFIER_COLUMNS if c in stored.names][:2]

    def culprits(rows: ir.Table) -> ir.Table | None:
        return rows.select(*ids).distinct().order_by(ids).limit(MAX_ROWS_NAMED) if ids else None

    rows: list[tuple[_Rule, ir.BooleanValue]] = []
    scalars: list[tuple[_Rule, ir.BooleanScalar]] = []

    def add(check: str, label: str, cond: ir.BooleanValue | ir.BooleanScalar) -> None:
        if isinstance(cond, ir.BooleanScalar):
            scalars.append((_Rule(check, label, None), cond))
        else:
            rows.append((_Rule(check, label, culprits(t.filter(~cond.fill_null(False))), tuple(ids)), cond))

    try:
        for name, col in schema.columns.items():
            if col.dtype is not None and not col.dtype.check(Engine.dtype(stored[name])):
                return None
            if not col.nullable:
                add("not_nullable", f"{name} obligatoire", t[name].notnull())
            for check in col.checks:
                add(str(check.name), _label(check, name), _row_condition(check, t, name))
        for check in schema.checks:
            add(str(check.name), _label(check, None), _row_condition(check, t, None))
    except _CannotCompile:
        return None
    counts = {f"f{i}": t.count(where=~cond.fill_null(False)) for i, (_rule, cond) in enumerate(rows)}
    plan = _Scan(rows=[rule for rule, _c in rows], scan_sql=_sql(t.aggregate(n=t.count(), **counts)))
    unique = schema.unique or []
    for cols in [unique] if unique and isinstance(unique[0], str) else unique:
        cols = list(cols)
        dupes = t.group_by(cols).aggregate(k=_.count()).filter(_.k > 1).count()
        sized = t.mutate(_n=t[cols[0]].isnull().count().over(ibis.window(group_by=cols)))
        rule = _Rule("multiple_fields_uniqueness", f"unicité de ({', '.join(cols)})",
                     culprits(sized.filter(sized._n > 1)), tuple(ids))
        plan.queries.append((rule, _sql(dupes)))
    for rule, cond in scalars:
        plan.queries.append((rule, _sql(ibis.ifelse(cond.fill_null(False), 0, 1))))
    return plan


def _plan(con: duckdb.DuckDBPyConnection, table: str, model: type[pa.DataFrameModel] | None) -> _Scan | None:
    return _compile(model or TABLE_MODELS[table], _stored_schema(con, table))


def _run(con: duckdb.DuckDBPyConnection, table: str, sql: str, departement: str | None,
         date_situation: dt.date | None) -> list[tuple]:
    where, params = _scope(departement, date_situation)
    return con.execute(f'WITH "{_ROWS}" AS (SELECT * FROM {table} WHERE {where}) {sql}', params).fetchall()


def _flagged(con: duckdb.DuckDBPyConnection, table: str, plan: _Scan, departement: str | None,
             date_situation: dt.date | None) -> tuple[int, list[_Rule]]:
    row = _run(con, table, plan.scan_sql, departement, date_situation)[0]
    failed = [rule for rule, n in zip(plan.rows, row[1:], strict=True) if n]
    for rule, sql in plan.queries:
        if _run(con, table, sql, departement, date_situation)[0][0]:
            failed.append(rule)
    return int(row[0]), failed


def scan_failures(con: duckdb.DuckDBPyConnection, table: str, departement: str | None,
                  date_situation: dt.date | None = None,
                  model: type[pa.DataFrameModel] | None = None) -> tuple[int, list[str]] | None:
    """(rows in scope, labels of the rules the compiled scan flags), or None when the scan cannot judge."""
    plan = _plan(con, table, model)
    if plan is None:
        return None
    try:
        count, failed = _flagged(con, table, plan, departement, date_situation)
    except duckdb.Error:
        return None
    return count, [rule.label for rule in failed]


def validate_table(con: duckdb.DuckDBPyConnection, table: str, departement: str | None,
                   date_situation: dt.date | None = None, model: type[pa.DataFrameModel] | None = None) -> int:
    """Validates the stored rows of `table` in scope with its Pandera model (`model`, default the one of
    `TABLE_MODELS`); returns their count. Raises `TableCheckFailed` (Pandera's `SchemaErrors` in `.errors`) when
    they do not conform. Runs on the caller's connection or cursor, inside its transaction."""
    model = model or TABLE_MODELS[table]
    plan = _plan(con, table, model)
    flagged = None
    if plan is not None:
        try:
            flagged = _flagged(con, table, plan, departement, date_situation)
        except duckdb.Error:
            flagged = None
        if flagged is not None and not flagged[1]:
            return flagged[0]
    with _ibis_table(con, table, departement, date_situation) as rows:
        try:
            model.validate(rows, lazy=True)
        except pandera.errors.SchemaErrors as errors:
            checks, culprits = _explain(con, table, flagged[1] if flagged else [], errors, departement,
                                        date_situation)
            raise TableCheckFailed(table, departement, date_situation, errors, checks, culprits) from None
        return int(rows.count().execute())


def _reported(errors: pandera.errors.SchemaErrors) -> list[str]:
    """Pandera's failed checks, each by name and, for the schema itself, the column (names, never values)."""
    cases = errors.failure_cases
    found: list[str] = []
    for check, column, case in zip(cases["check"], cases["column"], cases["failure_case"], strict=True):
        if check == "column_in_schema":
            found.append(f"colonne {case} inattendue")
        elif check == "column_in_dataframe":
            found.append(f"colonne {case} absente")
        elif str(check).startswith("dtype("):
            found.append(f"type de {column} ({check})")
        else:
            found.append(str(check))
    return list(dict.fromkeys(found))


def _explain(con: duckdb.DuckDBPyConnection, table: str, flagged: list[_Rule], errors: pandera.errors.SchemaErrors,
             departement: str | None, date_situation: dt.date | None) -> tuple[list[str], list[str]]:
    """The checks Pandera reports, named as the scan names them, and the rows breaking them by identifiers."""
    reported = _reported(errors)
    names = {r.split("(")[0] for r in reported}
    matched = [rule for rule in flagged if rule.check in names]
    explained = {rule.check for rule in matched}
    checks = [rule.label for rule in matched] + [r for r in reported if r.split("(")[0] not in explained]
    culprits: list[str] = []
    for rule in matched:
        if rule.culprits is None:
            continue
        try:
            found = _run(con, table, rule.culprits, departement, date_situation)
        except duckdb.Error:
            continue
        for row in found:
            named = " ".join(f"{c} {v}" for c, v in zip(rule.ids, row, strict=True) if v is not None)
            if named and named not in culprits:
                culprits.append(named)
    return list(dict.fromkeys(checks)), culprits[:MAX_ROWS_NAMED]


class TableCheckFailed(OneVisionError):
    """Pandera rejected stored rows: the message names the checks and the rows by their identifiers only (never a
    name, an address or a raw line: it goes to the run's log); Pandera's own report stays in `errors`."""

    def __init__(self, table: str, departement: str | None, date_situation: dt.date | None,
                 errors: pandera.errors.SchemaErrors, checks: list[str], rows: list[str]) -> None:
        self.errors = errors
        scope = "".join([f" (département {departement}" if departement else " (national",
                         f", instantané du {date_situation:%d/%m/%Y})" if date_situation else ")"])
        super().__init__(
            f"Contrôle de {table}{scope} échoué, rien n'est publié : {', '.join(checks) or 'schéma'}"
            + (f" — lignes en cause : {'; '.join(rows)}" if rows else ""))
