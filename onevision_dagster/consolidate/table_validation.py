"""Validates a derived table (or one department of it) with its Pandera model, as stored.

The Pandera models of `schemas_marts` are the single statement of what a
core/marts table must satisfy, checked on what was written (read back from
DuckDB), not on the frame that was inserted.

Reading a department back into pandas and running Pandera costs seconds for a
large department and about a minute over a national refresh, so the model is
first checked where the rows are: every check of the model has a DuckDB SQL
twin that is *at least as strict* (built-in checks are translated from the
model; custom checks have their twin in `CUSTOM_CHECKS`), all evaluated in one
scan plus one query per uniqueness or ranking rule. When the SQL finds nothing,
Pandera would find nothing either, and the row count is returned. When the SQL
finds anything — or cannot judge (a check without a twin, an unexpected column
type, a query error) — the rows are read back and validated by Pandera exactly
as before, so a failure is always Pandera's own `SchemaErrors`, and the verdict
is always Pandera's.

Why the twins are at least as strict: money is `DECIMAL(18,2)` in DuckDB and
`float64` in the frame (DuckDB's `CAST(... AS DOUBLE)` gives the very same
floats); equalities Pandera checks within half a cent on floats are checked
exactly on decimals, which implies the float check for amounts below 10^12 €
(above that, the SQL says "cannot judge"); `str_matches` (Python `re.match`)
becomes an RE2 full match of the pattern followed by anything, and RE2's `\\d`
and `$` accept no more than Python's.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pandera.errors
import pandera.pandas as pa

from onevision_dagster.consolidate.schemas import TABLE_MODELS
from onevision_dagster.consolidate.tables import CREDIT_COLUMNS, DEBT_COLUMNS
from onevision_dagster.errors import OneVisionError

MAX_EXACT = "1e12"  # above this amount, float rounding could exceed Pandera's tolerance: let Pandera judge
MAX_CENTS = "1e13"  # above this, float64 cannot tell whole cents: let Pandera judge
WHOLE_CENTS_MARGIN = "5e-7"  # Pandera's `au_centime` fails at 1e-6: flag from half of it

_DEBTS = DEBT_COLUMNS
_CREDITS = CREDIT_COLUMNS


def _small(*cols: str) -> str:
    return " AND ".join(f"abs({c}) < {MAX_EXACT}" for c in cols)


def _sum(cols: tuple[str, ...]) -> str:
    return " + ".join(cols)


def _ranks(partition: str) -> Callable[[str, str], str]:
    """Ranks 1..n in `rang` order with a non-increasing score (per `partition` when given)."""
    over = f"(PARTITION BY {partition} ORDER BY rang)" if partition else "(ORDER BY rang)"

    def query(table: str, where: str) -> str:
        return f"""SELECT count(*) FROM (
                       SELECT rang, score, row_number() OVER {over} AS rn, lag(score) OVER {over} AS previous
                       FROM {table} WHERE {where})
                   WHERE rang IS DISTINCT FROM rn OR score IS NULL OR (previous IS NOT NULL AND score > previous)"""

    return query


# SQL twins of the custom checks of `schemas_marts`, by the qualified name of the check method:
# a row-level condition that holds when the row passes (NULL counts as a failure), a function
# (table, where) -> query counting the failures, or for column checks a function of the column.
CUSTOM_CHECKS: dict[str, str | Callable[[str, str], str]] = {
    "RattachementAmendes._attached_xor_reason":
        "(siren IS NOT NULL) = (methode IS NOT NULL) AND (siren IS NOT NULL) = (motif IS NULL)",
    "RattachementAmendes._candidates": (
        "(NOT coalesce(methode IN ('NOM_CODE_POSTAL', 'SIGLE_CODE_POSTAL'), false)"
        " OR coalesce(nb_candidats = 1, false))"
        " AND (motif IS DISTINCT FROM 'AMBIGUE' OR coalesce(nb_candidats > 1, false))"
        " AND (motif IS DISTINCT FROM 'AUCUN_CANDIDAT' OR coalesce(nb_candidats = 0, false))"
    ),
    "_Lignes._amount_iff_nature": "(nature <> 'AUCUNE') = (montant > 0)",
    "LignesDettes._open": "ouverte = (nature IN ('EXIGIBLE', 'A_ECHOIR'))",
    "LignesDettes._offsettable": "NOT compensable OR (nature = 'EXIGIBLE' AND source = 'impots_pro' AND NOT sursis)",
    "LignesDettes._not_yet_due": "nature <> 'A_ECHOIR' OR source = 'impots_pro'",
    "LignesDettes._written_off": "nature <> 'NON_VALEUR' OR source = 'amendes'",
    "LignesDettes._declared": "NOT passif OR (ouverte AND source = 'impots_pro')",
    "LignesDettes._null_siren_only_fines": "siren IS NOT NULL OR source = 'amendes'",
    "LignesDettes._remaining": (
        "nature = 'AUCUNE' OR (montant = montant_du - montant_paye AND abs(montant_du) < 1e12"
        " AND abs(montant_paye) < 1e12)"
    ),
    "LignesCreances._open": "ouverte = (nature <> 'AUCUNE')",
    "LignesCreances._certain": "compensable = coalesce(nature = 'CERTAINE', false)",
    "LignesCreances._refundable_later": "nature <> 'A_ECHOIR' OR source = 'creances_is'",
    "LignesCreances._no_debt_flags": "NOT sursis AND NOT conteste AND NOT passif",
    "NonPositionnees._siren": "coalesce(motif = 'NON_RATTACHEE', false) = (siren IS NULL)",
    "_PositionBase._totals": (
        f"total_dettes = {_sum(_DEBTS)} AND total_creances = {_sum(_CREDITS)}"
        " AND solde = total_creances - total_dettes"
        f" AND {_small(*_DEBTS, *_CREDITS, 'total_dettes', 'total_creances', 'solde')}"
    ),
    "_PositionBase._offsetting": (
        "(montant_compensable = least(total_creances, dettes_compensables) OR montant_compensable = 0)"
        " AND (passif_declare = 0 OR montant_compensable = 0)"
        " AND dettes_compensables <= dettes_impots_pro"
    ),
    "_PositionBase._declared": "passif_declare <= dettes_impots_pro + dettes_a_echoir",
    "_PositionBase._nb_sources": "nb_sources_dettes = " + " + ".join(f"({c} > 0)::INTEGER" for c in _DEBTS),
    "_PositionBase._age": "(anciennete_jours IS NOT NULL) = (total_dettes > 0)",
    "_PositionBase._not_empty": (
        "total_dettes > 0 OR dettes_a_echoir > 0 OR dettes_non_valeur > 0 OR total_creances > 0"
        " OR creances_a_echoir > 0 OR creances_potentielles > 0"
    ),
    "_PanelBase._total": f"total_dettes = {_sum(_DEBTS)} AND {_small(*_DEBTS, 'total_dettes')}",
    "PanelDebiteursCommuns._ranks": _ranks("departement"),
    "PanelDebiteursCommunsNational._ranks": _ranks(""),
}
COLUMN_CUSTOM_CHECKS: dict[str, Callable[[str], str]] = {
    # `_whole_cents`: |float(x) * 100 - round(float(x) * 100)| < 1e-6, replayed on the same doubles
    "_Lignes._cents": lambda c: _whole_cents(c),
    "_PositionBase._cents": lambda c: _whole_cents(c),
    "PositionsNationales._sorted": lambda c: (
        f"{c} IS NULL OR array_to_string(list_sort(list_distinct(string_split({c}, ','))), ',') = {c}"
    ),
}


def _whole_cents(c: str) -> str:
    return (f"{c} IS NULL OR (abs({c}) < {MAX_CENTS} AND "
            f"abs(CAST({c} AS DOUBLE) * 100 - round(CAST({c} AS DOUBLE) * 100)) < {WHOLE_CENTS_MARGIN})")


# DuckDB types that `.df()` turns into a frame the model's coercion accepts without error
_TYPE_FAMILIES: dict[str, Callable[[str], bool]] = {
    "str": lambda t: t == "VARCHAR",
    "float64": lambda t: t.startswith("DECIMAL("),
    "Int64": lambda t: t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT"),
    "bool": lambda t: t == "BOOLEAN",
    "datetime64[ns]": lambda t: t == "DATE",
}
_DATE_RANGE = "BETWEEN DATE '1677-09-22' AND DATE '2262-04-11'"  # what datetime64[ns] can hold


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


class _NoTwin(Exception):
    """A check the SQL cannot stand in for: the table goes to Pandera."""


@dataclass
class _Plan:
    columns: dict[str, str]  # column -> pandera dtype
    row_checks: list[tuple[str, str]] = field(default_factory=list)  # (label, condition that must hold)
    queries: list[tuple[str, Callable[[str, str], str]]] = field(default_factory=list)  # (label, count query)


def _custom(check: pa.Check) -> str | None:
    """Qualified name of the model method behind a custom check (None when it cannot be told).

    Pandera's check names are no help (an inherited check loses its `name=` in all but the first
    subclass that builds a schema): the method is found in the closure of the check function.
    """
    for cell in getattr(getattr(check, "_check_fn", None), "__closure__", None) or ():
        fn = getattr(cell.cell_contents, "check_fn", None)
        if fn is not None:
            return getattr(fn, "__qualname__", None)
    return None


def _column_check(name: str, check: pa.Check) -> str:
    stats = check.statistics or {}
    q = f'"{name}"'
    if check.name == "str_matches":
        pattern = "(?:" + stats["pattern"] + ")(?s:.*)"  # re.match: a prefix matches
        return f"{q} IS NULL OR regexp_full_match({q}, {_literal(pattern)})"
    if check.name == "isin":
        values = ", ".join(_literal(v) for v in stats["allowed_values"])
        return f"{q} IS NULL OR {q} IN ({values})"
    bounds = {"greater_than_or_equal_to": (">=", "min_value"), "less_than_or_equal_to": ("<=", "max_value"),
              "greater_than": (">", "min_value"), "less_than": ("<", "max_value")}
    if check.name in bounds:
        op, key = bounds[check.name]
        return f"{q} IS NULL OR CAST({q} AS DOUBLE) {op} {float(stats[key])!r}"
    custom = _custom(check)
    if custom in COLUMN_CUSTOM_CHECKS:
        return COLUMN_CUSTOM_CHECKS[custom](q)
    raise _NoTwin(f"{name}: {check.name}")


def _plan(table: str) -> _Plan | None:
    return _plan_of(TABLE_MODELS[table])


@functools.cache
def _plan_of(model: type[pa.DataFrameModel]) -> _Plan | None:
    schema = model.to_schema()
    if not schema.strict or schema.ordered:
        return None
    try:
        plan = _Plan(columns={name: str(col.dtype) for name, col in schema.columns.items()})
        for name, col in schema.columns.items():
            if col.regex or not col.required or str(col.dtype) not in _TYPE_FAMILIES:
                raise _NoTwin(name)
            if not col.nullable:
                plan.row_checks.append((f"{name} non nul", f'"{name}" IS NOT NULL'))
            if str(col.dtype) == "datetime64[ns]":
                plan.row_checks.append((f"{name} datable", f'"{name}" IS NULL OR "{name}" {_DATE_RANGE}'))
            for check in col.checks:
                plan.row_checks.append((f"{name} {check.name}", _column_check(name, check)))
            if col.unique:
                plan.queries.append((f"{name} unique", _duplicates([name])))
        if schema.unique:
            plan.queries.append((f"unique {schema.unique}", _duplicates(list(schema.unique))))
        for check in schema.checks:
            twin = CUSTOM_CHECKS.get(_custom(check))
            if twin is None:
                raise _NoTwin(check.name)
            if isinstance(twin, str):
                plan.row_checks.append((check.name, twin))
            else:
                plan.queries.append((check.name, twin))
        return plan
    except _NoTwin:
        return None


def _duplicates(cols: list[str]) -> Callable[[str, str], str]:
    keys = ", ".join(f'"{c}"' for c in cols)
    return lambda table, where: (f"SELECT count(*) FROM (SELECT {keys} FROM {table} WHERE {where} "
                                 f"GROUP BY {keys} HAVING count(*) > 1)")


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


def sql_failures(con: duckdb.DuckDBPyConnection, table: str, departement: str | None,
                 date_situation: dt.date | None = None,
                 model: type[pa.DataFrameModel] | None = None) -> tuple[int, list[str]] | None:
    """(rows, labels of the checks the SQL twins flag) for the stored rows, or None when the SQL cannot judge."""
    plan = _plan_of(model or TABLE_MODELS[table])
    if plan is None:
        return None
    schema_name, name = table.split(".")
    stored = dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?", [schema_name, name]).fetchall())
    if set(stored) != set(plan.columns) or not all(
            _TYPE_FAMILIES[dtype](stored[col]) for col, dtype in plan.columns.items()):
        return None  # strict column set and coercible types: Pandera will say what is wrong
    where, params = _scope(departement, date_situation)
    counts = ", ".join(f"count(*) FILTER (WHERE NOT coalesce({cond}, false))" for _, cond in plan.row_checks)
    try:
        row = con.execute(f"SELECT count(*){', ' + counts if counts else ''} FROM {table} WHERE {where}",
                          params).fetchone()
        failed = [label for (label, _), n in zip(plan.row_checks, row[1:], strict=True) if n]
        for label, query in plan.queries:
            if con.execute(query(table, where), params).fetchone()[0]:
                failed.append(label)
    except duckdb.Error:
        return None
    return int(row[0]), failed


def validate_table(con: duckdb.DuckDBPyConnection, table: str, departement: str | None,
                   date_situation: dt.date | None = None, model: type[pa.DataFrameModel] | None = None) -> int:
    """Validates the stored rows of `table` (one department, or all; for the history, one snapshot date) with
    its Pandera model (`model`, default the one of `TABLE_MODELS`); returns the row count. Raises Pandera's
    `SchemaErrors` when they do not conform."""
    model = model or TABLE_MODELS[table]
    checked = sql_failures(con, table, departement, date_situation, model)
    if checked is not None and not checked[1]:
        return checked[0]
    where, params = _scope(departement, date_situation)
    frame = con.execute(f"SELECT * FROM {table} WHERE {where}", params).df()
    try:
        model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        raise TableCheckFailed(table, departement, date_situation, errors, frame, model) from None
    return len(frame)


IDENTIFIER_COLUMNS = ("siren", "reference", "num_amende", "cle", "ligne")


def check_names(model: type[pa.DataFrameModel]) -> dict[str, str]:
    """Method name → the check's French `name=`, for every custom check of the model and its bases (Pandera
    reports an inherited check under its method name)."""
    names = {}
    for klass in reversed(model.__mro__):
        for attr, value in vars(klass).items():
            info = getattr(value, "__dataframe_check_config__", None) or getattr(value, "__check_config__", None)
            name = (getattr(info, "check_kwargs", None) or {}).get("name")
            if name:
                names[attr] = name
    return names


class TableCheckFailed(OneVisionError):
    """Pandera rejected stored rows: the message names the checks and the rows by their identifiers only (never a
    name, an address or a raw line: it goes to the run's log); Pandera's own report stays in `errors`."""

    def __init__(self, table: str, departement: str | None, date_situation: dt.date | None,
                 errors: pandera.errors.SchemaErrors, frame, model: type[pa.DataFrameModel]) -> None:
        self.errors = errors
        cases = errors.failure_cases
        names = check_names(model)
        checks = sorted({names.get(str(c), str(c)) for c in cases["check"].dropna()})
        rows = [int(i) for i in cases["index"].dropna().unique()][:10] if "index" in cases else []
        ids = [c for c in IDENTIFIER_COLUMNS if c in frame.columns][:2]
        named = [" ".join(f"{c} {frame.iloc[r][c]}" for c in ids) for r in rows if 0 <= r < len(frame)]
        scope = "".join([f" (département {departement}" if departement else " (national",
                         f", instantané du {date_situation:%d/%m/%Y})" if date_situation else ")"])
        super().__init__(
            f"Contrôle de {table}{scope} échoué, rien n'est publié : {', '.join(checks) or 'schéma'}"
            + (f" — lignes en cause : {'; '.join(named)}" if named else ""))
