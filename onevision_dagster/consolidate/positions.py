"""Positions: one row per SIREN and department, then per SIREN nationally (SOURCES.md sections 6 and 8).

Only past-due debts are in `total_dettes`, split into `dettes_suspendues` (the lines whose recovery the law
suspends: sursis, contested local title, every line of a company in a procedure, open or declared — contract v3,
section 8) and `dettes_poursuivables`; taxes not yet due (`dettes_a_echoir`) and written-off fines
(`dettes_non_valeur`) are shown apart. Only certain and due credits are in `total_creances`; an IS receivable
refundable later is `creances_a_echoir`. `montant_compensable` = min(total_creances, dettes_compensables), where
only the pursuable past-due `impots_pro` lines are offsettable (art. L. 257 B LPF), and 0 when a collective
procedure is open (register, judgment <= as-of date) or declared (`passif_declare` > 0): art. L. 622-7 Code de
commerce forbids paying pre-judgment claims, offsetting included.
"""

from __future__ import annotations

import duckdb

from onevision_dagster.consolidate.snapshot import Snapshot, register_version_at, register_versions
from onevision_dagster.consolidate.tables import ADDITIVE_COLUMNS, DEBT_COLUMNS, MONEY, execute
from onevision_dagster.contract.sources import in_scope_sql


def _sum(cond: str) -> str:
    return f"CAST(coalesce(sum(montant) FILTER (WHERE {cond}), 0) AS {MONEY})"


def _blocked(procedure: str, judgment: str, as_of: str, passif: str) -> str:
    """SQL boolean: offsetting is blocked by a collective procedure, open or declared (section 8)."""
    return (f"(({procedure} IS NOT NULL AND ({judgment} IS NULL OR {judgment} <= {as_of})) "
            f"OR {passif} > 0)")


def _finish(t: str) -> str:
    """The columns computed from the sums, in the contract's order after the identity columns (section 6, v3):
    no balance — a State refund and a commune's receivable are not owed between the same persons (section 8)."""
    m = MONEY
    total = f"{t}.dettes_amendes + {t}.dettes_spl + {t}.dettes_impots_pro + {t}.dettes_rnf"
    return f"""
        {t}.dettes_amendes, {t}.dettes_spl, {t}.dettes_impots_pro, {t}.dettes_rnf,
        CAST({total} AS {m}) AS total_dettes,
        {t}.dettes_suspendues,
        CAST({total} - {t}.dettes_suspendues AS {m}) AS dettes_poursuivables,
        {t}.dettes_a_echoir, {t}.dettes_non_valeur,
        {t}.creances_tva, {t}.creances_excedents, {t}.creances_is,
        CAST({t}.creances_tva + {t}.creances_excedents + {t}.creances_is AS {m}) AS total_creances,
        {t}.creances_a_echoir, {t}.creances_potentielles,
        {t}.dettes_compensables"""


def _nb_sources(t: str) -> str:
    return "CAST(" + " + ".join(f"({t}.{c} > 0)::INTEGER" for c in DEBT_COLUMNS) + " AS INTEGER)"


def insert_positions(con: duckdb.DuckDBPyConnection, snap: Snapshot, dettes: str, creances: str, target: str) -> None:
    """Inserts the snapshot's positions into `target` from its unified lines (relations `dettes`, `creances`)."""
    ds = f"DATE '{snap.date_situation.isoformat()}'"
    m = MONEY
    execute(
        con,
        f"""
        INSERT INTO {target}
        WITH l AS (
            SELECT siren, source, montant, nature, compensable, passif, suspendue, date_ligne, 'D' AS sens
            FROM {dettes} WHERE siren IS NOT NULL
            UNION ALL
            SELECT siren, source, montant, nature, compensable, passif, suspendue, date_ligne, 'C' AS sens
            FROM {creances} WHERE siren IS NOT NULL
        ), agg AS (
            SELECT siren,
                {_sum("sens = 'D' AND nature = 'ECHUE' AND source = 'amendes'")} AS dettes_amendes,
                {_sum("sens = 'D' AND nature = 'ECHUE' AND source = 'spl'")} AS dettes_spl,
                {_sum("sens = 'D' AND nature = 'ECHUE' AND source = 'impots_pro'")} AS dettes_impots_pro,
                {_sum("sens = 'D' AND nature = 'ECHUE' AND source = 'rnf'")} AS dettes_rnf,
                {_sum("sens = 'D' AND nature = 'ECHUE' AND suspendue")} AS dettes_suspendues,
                {_sum("sens = 'D' AND nature = 'A_ECHOIR'")} AS dettes_a_echoir,
                {_sum("sens = 'D' AND nature = 'NON_VALEUR'")} AS dettes_non_valeur,
                {_sum("sens = 'C' AND nature = 'CERTAINE' AND source = 'credits_tva'")} AS creances_tva,
                {_sum("sens = 'C' AND nature = 'CERTAINE' AND source = 'excedents'")} AS creances_excedents,
                {_sum("sens = 'C' AND nature = 'CERTAINE' AND source = 'creances_is'")} AS creances_is,
                {_sum("sens = 'C' AND nature = 'A_ECHOIR'")} AS creances_a_echoir,
                {_sum("sens = 'C' AND nature = 'POTENTIELLE'")} AS creances_potentielles,
                {_sum("sens = 'D' AND compensable")} AS dettes_compensables,
                {_sum("sens = 'D' AND passif")} AS passif_declare,
                min(date_ligne) FILTER (WHERE sens = 'D' AND nature = 'ECHUE') AS plus_ancienne,
                bool_or(montant > 0 AND nature <> 'AUCUNE') AS presente
            FROM l GROUP BY siren
        )
        SELECT t.siren, e.denomination, '{snap.departement}', {ds},
            {_finish("t")},
            CAST(CASE WHEN {_blocked("e.procedure_collective", "e.date_jugement", ds, "t.passif_declare")} THEN 0
                      ELSE least(t.creances_tva + t.creances_excedents + t.creances_is, t.dettes_compensables)
                 END AS {m}),
            t.passif_declare,
            {_nb_sources("t")},
            CAST(CASE WHEN t.plus_ancienne IS NULL THEN NULL ELSE greatest(0, {ds} - t.plus_ancienne) END AS INTEGER),
            e.procedure_collective
        FROM agg t JOIN {snap.register("e")} ON e.siren = t.siren
        WHERE t.presente AND {in_scope_sql("e")}
        """,
    )


def national_register_sql(con: duckdb.DuckDBPyConnection, dates_sql: str) -> str:
    """SQL relation (`date_situation`, `registre`): the register version of each national as-of date (the latest
    register dated <= it, the oldest when none is). `dates_sql` selects the distinct `date_situation` values."""
    versions = register_versions(con)
    dates = [r[0] for r in con.execute(dates_sql).fetchall()]
    pairs = [(d, register_version_at(versions, d)) for d in dates if d is not None]
    if not pairs:
        return "(SELECT NULL::DATE AS date_situation, NULL::DATE AS registre WHERE false)"
    values = ", ".join(f"(DATE '{d.isoformat()}', DATE '{v.isoformat()}')" for d, v in pairs if v is not None)
    if not values:
        return "(SELECT NULL::DATE AS date_situation, NULL::DATE AS registre WHERE false)"
    return f"(SELECT * FROM (VALUES {values}) AS v(date_situation, registre))"


def insert_positions_nationales(con: duckdb.DuckDBPyConnection, source: str, target: str) -> None:
    """Inserts into `target` the positions of `source` summed per SIREN (section 6): departments sorted and
    joined, the latest as-of date, the largest age; `montant_compensable` and `nb_sources_dettes` recomputed,
    the procedure judged against the latest as-of date with the register dated <= it, a declared claim in
    any department blocking offsetting nationally."""
    m = MONEY
    sums = ",\n".join(f"CAST(sum({c}) AS {m}) AS {c}" for c in ADDITIVE_COLUMNS)
    registres = national_register_sql(con, f"SELECT DISTINCT max(date_situation) FROM {source} GROUP BY siren")
    execute(
        con,
        f"""
        INSERT INTO {target}
        WITH s AS (
            SELECT siren, min(denomination) AS denomination,
                   string_agg(departement, ',' ORDER BY departement) AS departements,
                   max(date_situation) AS date_situation,
                   {sums},
                   max(anciennete_jours) AS anciennete_jours
            FROM {source} GROUP BY siren
        ), v AS (
            SELECT s.*, r.registre FROM s LEFT JOIN {registres} r USING (date_situation)
        ), e AS (
            SELECT siren, denomination, procedure_collective, date_jugement, date_extraction
            FROM raw.entreprises WHERE date_extraction IN (SELECT registre FROM {registres})
        )
        SELECT t.siren, coalesce(e.denomination, t.denomination), t.departements, t.date_situation,
            {_finish("t")},
            CAST(CASE WHEN {_blocked("e.procedure_collective", "e.date_jugement", "t.date_situation",
                                     "t.passif_declare")} THEN 0
                      ELSE least(t.creances_tva + t.creances_excedents + t.creances_is, t.dettes_compensables)
                 END AS {m}),
            t.passif_declare,
            {_nb_sources("t")},
            t.anciennete_jours,
            e.procedure_collective
        FROM v t LEFT JOIN e ON e.siren = t.siren AND e.date_extraction = t.registre
        """,
    )

