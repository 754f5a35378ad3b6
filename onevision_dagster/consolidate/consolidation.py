"""Consolidation: from ``raw.*`` to ``core.*`` and ``marts.*`` (SOURCES.md sections 5, 6, 8).

Pure functions over a DuckDB connection, no Dagster import, so the CLI, the
assets and the tests share one implementation. All row-level work is DuckDB
SQL (a department can hold ~500k lines, the register 2.5M companies); the only
Python-side step is name normalisation, done by Arrow kernels on distinct
names (:mod:`onevision_dagster.consolidate.matching`).

Money stays ``DECIMAL(18,2)`` from the raw tables to the marts: sums are cast
back to ``DECIMAL(18,2)``, no ``DOUBLE`` is ever involved in an amount.

Each per-department build is idempotent: inside one transaction it deletes
the department's rows then inserts them again (``DELETE ... WHERE departement
= ?`` then ``INSERT ... SELECT``), so a failure leaves the previous state in
place. The national tables are rebuilt in full, also in one transaction.

Common-debtor panel priority score (``marts.panel_debiteurs_communs*``), on a
0–100 scale, rounded to 2 decimals::

    score = 100 × ( 0.5 × montant + 0.3 × age + 0.2 × etape )
    montant = min(1, ln(1 + total_dettes) / ln(1 + 1 000 000))   # log scale, 1 M€ saturates
    age     = min(1, anciennete_jours / 1095)                      # 3 years saturate
    etape   = rank of the most advanced stage of an open debt / 5
              AMIABLE 1, RELANCE 2, MISE_EN_DEMEURE 3, SATD 4, SAISIE 4,
              PASSIF_PROCEDURE 5; CONTESTATION 0 (the debtor contests: not a
              recovery step); no stage (fines, rnf) 0

``rang`` orders by score descending, then ``total_dettes`` descending, then
``siren`` (so ties are deterministic).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

from onevision_dagster.consolidate.matching import normalise_names

MONEY = "DECIMAL(18,2)"

DEBT_SOURCES = ("amendes", "spl", "impots_pro", "rnf")
CREDIT_SOURCES = ("credits_tva", "excedents", "creances_is")
PARTITIONED_SOURCES = DEBT_SOURCES + CREDIT_SOURCES

# legal categories whose first digit puts a company in scope (section 3)
IN_SCOPE_FIRST_DIGITS = ("5", "6", "8", "9")

STAGE_RANKS: dict[str, int] = {
    "CONTESTATION": 0,
    "AMIABLE": 1,
    "RELANCE": 2,
    "MISE_EN_DEMEURE": 3,
    "SATD": 4,
    "SAISIE": 4,
    "PASSIF_PROCEDURE": 5,
}
MAX_STAGE_RANK = 5
SCORE_WEIGHTS = {"montant": 0.5, "age": 0.3, "etape": 0.2}
SCORE_AMOUNT_CAP = 1_000_000  # euros
SCORE_AGE_CAP_DAYS = 1095

POSITION_COLUMNS: tuple[str, ...] = (
    "siren",
    "denomination",
    "departement",
    "date_situation",
    "dettes_amendes",
    "dettes_spl",
    "dettes_impots_pro",
    "dettes_rnf",
    "total_dettes",
    "creances_tva",
    "creances_excedents",
    "creances_is",
    "total_creances",
    "creances_potentielles",
    "solde",
    "dettes_compensables",
    "montant_compensable",
    "nb_sources_dettes",
    "anciennete_jours",
    "procedure_collective",
)
NATIONAL_POSITION_COLUMNS: tuple[str, ...] = tuple(
    "departements" if c == "departement" else c for c in POSITION_COLUMNS
)
POSITION_MONEY_COLUMNS: tuple[str, ...] = (
    "dettes_amendes",
    "dettes_spl",
    "dettes_impots_pro",
    "dettes_rnf",
    "total_dettes",
    "creances_tva",
    "creances_excedents",
    "creances_is",
    "total_creances",
    "creances_potentielles",
    "solde",
    "dettes_compensables",
    "montant_compensable",
)

_POSITION_BODY = f"""
    siren VARCHAR NOT NULL,
    denomination VARCHAR,
    {{dept}},
    date_situation DATE,
    dettes_amendes {MONEY} NOT NULL,
    dettes_spl {MONEY} NOT NULL,
    dettes_impots_pro {MONEY} NOT NULL,
    dettes_rnf {MONEY} NOT NULL,
    total_dettes {MONEY} NOT NULL,
    creances_tva {MONEY} NOT NULL,
    creances_excedents {MONEY} NOT NULL,
    creances_is {MONEY} NOT NULL,
    total_creances {MONEY} NOT NULL,
    creances_potentielles {MONEY} NOT NULL,
    solde {MONEY} NOT NULL,
    dettes_compensables {MONEY} NOT NULL,
    montant_compensable {MONEY} NOT NULL,
    nb_sources_dettes INTEGER NOT NULL,
    anciennete_jours INTEGER,
    procedure_collective VARCHAR
"""

_LIGNES_BODY = f"""
    departement VARCHAR NOT NULL,
    siren VARCHAR,
    source VARCHAR NOT NULL,
    reference VARCHAR NOT NULL,
    date_ligne DATE,
    montant {MONEY} NOT NULL,
    statut VARCHAR,
    etape VARCHAR,
    ouverte BOOLEAN NOT NULL,
    nature VARCHAR,
    compensable BOOLEAN NOT NULL,
    sursis BOOLEAN NOT NULL,
    conteste BOOLEAN NOT NULL,
    fichier VARCHAR,
    ligne INTEGER,
    date_extraction DATE
"""

_PANEL_BODY = f"""
    rang INTEGER NOT NULL,
    siren VARCHAR NOT NULL,
    denomination VARCHAR,
    {{dept}},
    nb_sources_dettes INTEGER NOT NULL,
    total_dettes {MONEY} NOT NULL,
    dettes_amendes {MONEY} NOT NULL,
    dettes_spl {MONEY} NOT NULL,
    dettes_impots_pro {MONEY} NOT NULL,
    dettes_rnf {MONEY} NOT NULL,
    anciennete_jours INTEGER,
    etape_la_plus_avancee VARCHAR,
    score DECIMAL(5,2) NOT NULL
"""

DDL: tuple[str, ...] = (
    "CREATE SCHEMA IF NOT EXISTS core",
    "CREATE SCHEMA IF NOT EXISTS marts",
    """CREATE TABLE IF NOT EXISTS core.rattachement_amendes (
        departement VARCHAR NOT NULL,
        num_amende VARCHAR NOT NULL,
        fichier VARCHAR,
        ligne INTEGER,
        raison_sociale VARCHAR,
        code_postal VARCHAR,
        siren_source VARCHAR,
        nom_normalise VARCHAR,
        methode VARCHAR,
        siren VARCHAR,
        motif VARCHAR,
        nb_candidats INTEGER
    )""",
    f"CREATE TABLE IF NOT EXISTS core.lignes_dettes ({_LIGNES_BODY})",
    f"CREATE TABLE IF NOT EXISTS core.lignes_creances ({_LIGNES_BODY})",
    """CREATE TABLE IF NOT EXISTS core.non_positionnees (
        departement VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        fichier VARCHAR,
        ligne INTEGER,
        reference VARCHAR,
        motif VARCHAR NOT NULL,
        siren VARCHAR
    )""",
    "CREATE TABLE IF NOT EXISTS marts.positions ("
    + _POSITION_BODY.format(dept="departement VARCHAR NOT NULL")
    + ")",
    "CREATE TABLE IF NOT EXISTS marts.positions_nationales ("
    + _POSITION_BODY.format(dept="departements VARCHAR NOT NULL")
    + ")",
    "CREATE TABLE IF NOT EXISTS marts.panel_debiteurs_communs ("
    + _PANEL_BODY.format(dept="departement VARCHAR NOT NULL")
    + ")",
    "CREATE TABLE IF NOT EXISTS marts.panel_debiteurs_communs_national ("
    + _PANEL_BODY.format(dept="departements VARCHAR NOT NULL")
    + ")",
)

DEPARTEMENT_TABLES: tuple[str, ...] = (
    "core.rattachement_amendes",
    "core.lignes_dettes",
    "core.lignes_creances",
    "core.non_positionnees",
    "marts.positions",
    "marts.panel_debiteurs_communs",
)
NATIONAL_TABLES: tuple[str, ...] = ("marts.positions_nationales", "marts.panel_debiteurs_communs_national")


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the core/marts schemas and tables if missing (safe to call at every build)."""
    for stmt in DDL:
        _exec(con, stmt)


# --------------------------------------------------------------------------- helpers


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One all-or-nothing transaction: readers never see a half-rebuilt department."""
    _exec(con, "BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        _exec(con, "ROLLBACK")
        raise
    _exec(con, "COMMIT")


def _exec(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> None:
    """Run a statement and consume its result (DuckDB 2 refuses new work while a result is pending)."""
    con.execute(sql, params).fetchall()


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every `schema.table` of the warehouse, in one query (for functions that test several)."""
    return {f"{s}.{n}" for s, n in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}


def _table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def _require_register(con: duckdb.DuckDBPyConnection) -> None:
    if not _table_exists(con, "raw.entreprises"):
        raise RuntimeError("raw.entreprises is missing: load the company register before consolidating")


def _in_scope_sql(alias: str) -> str:
    digits = ", ".join(f"'{d}'" for d in IN_SCOPE_FIRST_DIGITS)
    return f"(substr({alias}.categorie_juridique, 1, 1) IN ({digits}))"


def _luhn_siren_sql(expr: str) -> str:
    """SQL boolean: ``expr`` is 9 digits with a valid Luhn key (section 2)."""
    digit = f"CAST(substr({expr}, i + 1, 1) AS INTEGER)"
    term = (
        f"CASE WHEN i % 2 = 1 THEN (CASE WHEN {digit} * 2 > 9 THEN {digit} * 2 - 9 ELSE {digit} * 2 END)"
        f" ELSE {digit} END"
    )
    return (
        f"(CASE WHEN regexp_full_match(coalesce({expr}, ''), '[0-9]{{9}}') "
        f"THEN list_sum(list_transform(range(9), lambda i: {term})) % 10 = 0 ELSE false END)"
    )


def date_situation(con: duckdb.DuckDBPyConnection, departement: str) -> dt.date | None:
    """As-of date of a department: the latest extraction date among its seven source files.

    Taken from ``quality.chargements`` (which also knows header-only files) and,
    as a fallback, from the raw tables; the register's date does not count.
    """
    parts: list[str] = []
    tables = _tables(con)
    if "quality.chargements" in tables:
        parts.append(
            "SELECT max(date_extraction) AS d FROM quality.chargements "
            "WHERE departement = $dept AND source <> 'entreprises'"
        )
    for src in PARTITIONED_SOURCES:
        if f"raw.{src}" in tables:
            parts.append(f"SELECT max(date_extraction) AS d FROM raw.{src} WHERE departement = $dept")
    if not parts:
        return None
    row = con.execute(
        "SELECT CAST(max(d) AS DATE) FROM (" + " UNION ALL ".join(parts) + ")", {"dept": departement}
    ).fetchone()
    return row[0] if row else None


def departements(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Departments that have loaded data (raw rows or a load record), sorted."""
    parts = [
        f"SELECT DISTINCT departement FROM raw.{s}"
        for s in PARTITIONED_SOURCES
        if _table_exists(con, f"raw.{s}")
    ]
    if _table_exists(con, "quality.chargements"):
        parts.append("SELECT DISTINCT departement FROM quality.chargements WHERE source <> 'entreprises'")
    if not parts:
        return []
    rows = con.execute(
        "SELECT DISTINCT departement FROM (" + " UNION ALL ".join(parts) + ") "
        "WHERE departement IS NOT NULL ORDER BY departement"
    ).fetchall()
    return [r[0] for r in rows]


# --------------------------------------------------------------------------- fines


def _build_rattachement_amendes(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    _exec(con, "DELETE FROM core.rattachement_amendes WHERE departement = ?", [departement])
    if not _table_exists(con, "raw.amendes"):
        return
    # fetchnumpy, not the relation API: the caller's connection may hold a pending result
    fetched = con.execute(
        "SELECT DISTINCT CAST(raison_sociale AS VARCHAR) AS raison_sociale FROM raw.amendes "
        "WHERE departement = ? AND raison_sociale IS NOT NULL",
        [departement],
    ).fetchnumpy()["raison_sociale"]
    col = pa.array(fetched, type=pa.string(), from_pandas=True)
    noms = pa.table({"raison_sociale": col, "nom_normalise": normalise_names(col)})
    view = "_ov_noms_amendes"
    con.register(view, noms)
    try:
        _exec(
            con,
            f"""
            INSERT INTO core.rattachement_amendes
            WITH a AS (
                SELECT a.*, replace(a.siren_source, ' ', '') AS siren_compact
                FROM raw.amendes a WHERE a.departement = $dept
            ), v AS (
                SELECT a.*, n.nom_normalise,
                       CASE WHEN {_luhn_siren_sql("a.siren_compact")} THEN a.siren_compact END AS siren_valide
                FROM a LEFT JOIN {view} n ON n.raison_sociale = a.raison_sociale
            ), a_matcher AS (
                SELECT num_amende, code_postal, nom_normalise FROM v
                WHERE siren_valide IS NULL AND nom_normalise <> '' AND code_postal IS NOT NULL
            ), cand AS (
                SELECT m.num_amende, e.siren, true AS par_nom
                FROM a_matcher m JOIN raw.entreprises e
                  ON e.code_postal = m.code_postal AND e.nom_normalise = m.nom_normalise
                UNION ALL
                SELECT m.num_amende, e.siren, false AS par_nom
                FROM a_matcher m JOIN raw.entreprises e
                  ON e.code_postal = m.code_postal AND e.sigle_normalise = m.nom_normalise
            ), agg AS (
                SELECT num_amende, count(DISTINCT siren) AS nb, min(siren) AS siren,
                       bool_or(par_nom) AS par_nom
                FROM cand GROUP BY num_amende
            )
            SELECT v.departement, v.num_amende, v.fichier, v.ligne, v.raison_sociale, v.code_postal,
                   v.siren_source, v.nom_normalise,
                   CASE
                     WHEN v.siren_valide IS NOT NULL AND v.siren_source = v.siren_valide THEN 'SIREN'
                     WHEN v.siren_valide IS NOT NULL THEN 'SIREN_SANS_ESPACES'
                     WHEN g.nb = 1 AND g.par_nom THEN 'NOM_CODE_POSTAL'
                     WHEN g.nb = 1 THEN 'SIGLE_CODE_POSTAL'
                   END AS methode,
                   CASE WHEN v.siren_valide IS NOT NULL THEN v.siren_valide
                        WHEN g.nb = 1 THEN g.siren END AS siren,
                   CASE WHEN v.siren_valide IS NOT NULL OR g.nb = 1 THEN NULL
                        WHEN g.nb > 1 THEN 'AMBIGUE'
                        ELSE 'AUCUN_CANDIDAT' END AS motif,
                   CASE WHEN v.siren_valide IS NOT NULL THEN NULL ELSE coalesce(g.nb, 0) END AS nb_candidats
            FROM v LEFT JOIN agg g ON g.num_amende = v.num_amende
            """,
            {"dept": departement},
        )
    finally:
        con.unregister(view)


# --------------------------------------------------------------------------- lines


def _debt_selects(con: duckdb.DuckDBPyConnection) -> list[str]:
    """One SELECT per debtor source, projecting onto the core.lignes_dettes columns."""
    m = MONEY
    sel: dict[str, str] = {
        "amendes": f"""
            SELECT a.departement, r.siren, 'amendes' AS source, a.num_amende AS reference,
                   a.date_majoration AS date_ligne,
                   CAST(CASE WHEN a.statut = 'EN_RECOUVREMENT' AND a.montant_majore - a.montant_paye > 0
                        THEN a.montant_majore - a.montant_paye ELSE 0 END AS {m}) AS montant,
                   a.statut, NULL AS etape,
                   (a.statut = 'EN_RECOUVREMENT' AND a.montant_majore - a.montant_paye > 0) AS ouverte,
                   NULL AS nature, false AS compensable, false AS sursis, false AS conteste,
                   a.fichier, a.ligne, a.date_extraction
            FROM raw.amendes a
            LEFT JOIN core.rattachement_amendes r
              ON r.departement = a.departement AND r.num_amende = a.num_amende
            WHERE a.departement = $dept""",
        "spl": f"""
            SELECT departement, siren, 'spl', code_collectivite || '/' || exercice || '/' || num_titre,
                   date_emission,
                   CAST(CASE WHEN reste_a_recouvrer > 0 THEN reste_a_recouvrer ELSE 0 END AS {m}),
                   CASE WHEN reste_a_recouvrer > 0 THEN 'OUVERT' ELSE 'SOLDE' END, etape,
                   reste_a_recouvrer > 0, NULL, false, false, etape = 'CONTESTATION',
                   fichier, ligne, date_extraction
            FROM raw.spl WHERE departement = $dept""",
        "impots_pro": f"""
            SELECT departement, siren, 'impots_pro', ref_article, date_exigibilite,
                   CAST(CASE WHEN mt_droits + mt_penalites - mt_paye > 0
                        THEN mt_droits + mt_penalites - mt_paye ELSE 0 END AS {m}),
                   CASE WHEN mt_droits + mt_penalites - mt_paye > 0 THEN 'OUVERT' ELSE 'SOLDE' END, phase,
                   mt_droits + mt_penalites - mt_paye > 0, NULL,
                   coalesce(mt_droits + mt_penalites - mt_paye > 0 AND sursis = 'N'
                            AND date_exigibilite <= CAST($ds AS DATE), false),
                   sursis = 'O', sursis = 'O',
                   fichier, ligne, date_extraction
            FROM raw.impots_pro WHERE departement = $dept""",
        "rnf": f"""
            SELECT departement, siren, 'rnf', numero_titre, date_emission,
                   CAST(CASE WHEN statut IN ('PRIS_EN_CHARGE', 'EN_RECOUVREMENT')
                             AND montant - montant_recouvre > 0
                        THEN montant - montant_recouvre ELSE 0 END AS {m}),
                   statut, NULL,
                   statut IN ('PRIS_EN_CHARGE', 'EN_RECOUVREMENT') AND montant - montant_recouvre > 0,
                   NULL, false, false, false,
                   fichier, ligne, date_extraction
            FROM raw.rnf WHERE departement = $dept""",
    }
    tables = _tables(con)
    return [sql for src, sql in sel.items() if f"raw.{src}" in tables]


def _credit_selects(con: duckdb.DuckDBPyConnection) -> list[str]:
    """One SELECT per creditor source, projecting onto the core.lignes_creances columns."""
    m = MONEY
    parts: dict[str, tuple[str, str, str, str]] = {
        # source: (reference, date, nature expression, amount expression)
        "credits_tva": (
            "num_demande",
            "date_depot",
            "CASE WHEN statut = 'ACCORDEE' THEN 'CERTAINE' "
            "WHEN statut IN ('DEPOSEE', 'EN_INSTRUCTION') THEN 'POTENTIELLE' ELSE 'AUCUNE' END",
            "CASE WHEN statut = 'ACCORDEE' THEN coalesce(montant_accorde, 0) "
            "WHEN statut IN ('DEPOSEE', 'EN_INSTRUCTION') THEN montant_demande ELSE 0 END",
        ),
        "excedents": (
            "ref_excedent",
            "date_constat",
            "CASE WHEN statut = 'A_RESTITUER' THEN 'CERTAINE' ELSE 'AUCUNE' END",
            "CASE WHEN statut = 'A_RESTITUER' THEN montant ELSE 0 END",
        ),
        "creances_is": (
            "ref_creance",
            "date_remboursable",
            "CASE WHEN statut = 'REMBOURSABLE' THEN 'CERTAINE' "
            "WHEN statut = 'EN_COURS' THEN 'POTENTIELLE' ELSE 'AUCUNE' END",
            "CASE WHEN statut = 'REMBOURSABLE' THEN montant WHEN statut = 'EN_COURS' THEN montant ELSE 0 END",
        ),
    }
    out = []
    tables = _tables(con)
    for src, (ref, date_col, nature, amount) in parts.items():
        if f"raw.{src}" not in tables:
            continue
        out.append(
            f"""
            SELECT departement, siren, '{src}' AS source, {ref} AS reference, {date_col} AS date_ligne,
                   CAST(CASE WHEN ({amount}) > 0 THEN ({amount}) ELSE 0 END AS {m}) AS montant,
                   statut, NULL AS etape,
                   ({nature}) <> 'AUCUNE' AND ({amount}) > 0 AS ouverte,
                   {nature} AS nature,
                   ({nature}) = 'CERTAINE' AS compensable,
                   false AS sursis, false AS conteste,
                   fichier, ligne, date_extraction
            FROM raw.{src} WHERE departement = $dept"""
        )
    return out


def _build_lignes(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    ds = date_situation(con, departement)
    for table, selects in (
        ("core.lignes_dettes", _debt_selects(con)),
        ("core.lignes_creances", _credit_selects(con)),
    ):
        _exec(con, f"DELETE FROM {table} WHERE departement = ?", [departement])
        if not selects:
            continue
        params: dict[str, object] = {"dept": departement}
        body = " UNION ALL ".join(selects)
        if "$ds" in body:
            params["ds"] = ds
        _exec(con, f"INSERT INTO {table} {body}", params)


def _build_non_positionnees(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    _exec(con, "DELETE FROM core.non_positionnees WHERE departement = ?", [departement])
    _exec(
        con,
        f"""
        INSERT INTO core.non_positionnees
        WITH l AS (
            SELECT departement, source, fichier, ligne, reference, siren
            FROM core.lignes_dettes WHERE departement = $dept
            UNION ALL
            SELECT departement, source, fichier, ligne, reference, siren
            FROM core.lignes_creances WHERE departement = $dept
        )
        SELECT l.departement, l.source, l.fichier, l.ligne, l.reference,
               CASE WHEN l.siren IS NULL THEN 'NON_RATTACHEE'
                    WHEN e.siren IS NULL THEN 'SIREN_INCONNU'
                    ELSE 'HORS_PERIMETRE' END AS motif,
               l.siren
        FROM l LEFT JOIN raw.entreprises e ON e.siren = l.siren
        WHERE l.siren IS NULL OR e.siren IS NULL OR NOT coalesce({_in_scope_sql("e")}, false)
        """,
        {"dept": departement},
    )


# --------------------------------------------------------------------------- positions


def _sum(cond: str) -> str:
    return f"CAST(coalesce(sum(montant) FILTER (WHERE {cond}), 0) AS {MONEY})"


def _build_positions(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    ds = date_situation(con, departement)
    _exec(con, "DELETE FROM marts.positions WHERE departement = ?", [departement])
    m = MONEY
    _exec(
        con,
        f"""
        INSERT INTO marts.positions
        WITH l AS (
            SELECT siren, source, montant, ouverte, compensable, date_ligne, nature, 'D' AS sens
            FROM core.lignes_dettes WHERE departement = $dept AND siren IS NOT NULL
            UNION ALL
            SELECT siren, source, montant, ouverte, compensable, date_ligne, nature, 'C' AS sens
            FROM core.lignes_creances WHERE departement = $dept AND siren IS NOT NULL
        ), agg AS (
            SELECT siren,
                {_sum("sens = 'D' AND ouverte AND source = 'amendes'")} AS dettes_amendes,
                {_sum("sens = 'D' AND ouverte AND source = 'spl'")} AS dettes_spl,
                {_sum("sens = 'D' AND ouverte AND source = 'impots_pro'")} AS dettes_impots_pro,
                {_sum("sens = 'D' AND ouverte AND source = 'rnf'")} AS dettes_rnf,
                {_sum("sens = 'C' AND nature = 'CERTAINE' AND source = 'credits_tva'")} AS creances_tva,
                {_sum("sens = 'C' AND nature = 'CERTAINE' AND source = 'excedents'")} AS creances_excedents,
                {_sum("sens = 'C' AND nature = 'CERTAINE' AND source = 'creances_is'")} AS creances_is,
                {_sum("sens = 'C' AND nature = 'POTENTIELLE'")} AS creances_potentielles,
                {_sum("sens = 'D' AND ouverte AND compensable")} AS dettes_compensables,
                min(date_ligne) FILTER (WHERE sens = 'D' AND ouverte) AS plus_ancienne,
                bool_or(ouverte) AS presente
            FROM l GROUP BY siren
        ), t AS (
            SELECT agg.*,
                CAST(dettes_amendes + dettes_spl + dettes_impots_pro + dettes_rnf AS {m}) AS total_dettes,
                CAST(creances_tva + creances_excedents + creances_is AS {m}) AS total_creances
            FROM agg WHERE presente
        )
        SELECT t.siren, e.denomination, $dept, CAST($ds AS DATE),
            t.dettes_amendes, t.dettes_spl, t.dettes_impots_pro, t.dettes_rnf, t.total_dettes,
            t.creances_tva, t.creances_excedents, t.creances_is, t.total_creances,
            t.creances_potentielles,
            CAST(t.total_creances - t.total_dettes AS {m}),
            t.dettes_compensables,
            CAST(CASE WHEN e.procedure_collective IS NOT NULL
                       AND (e.date_jugement IS NULL OR e.date_jugement <= CAST($ds AS DATE)) THEN 0
                      ELSE least(t.total_creances, t.dettes_compensables) END AS {m}),
            CAST((t.dettes_amendes > 0)::INTEGER + (t.dettes_spl > 0)::INTEGER
                 + (t.dettes_impots_pro > 0)::INTEGER + (t.dettes_rnf > 0)::INTEGER AS INTEGER),
            CAST(CASE WHEN t.plus_ancienne IS NULL THEN NULL
                      ELSE greatest(0, CAST($ds AS DATE) - t.plus_ancienne) END AS INTEGER),
            e.procedure_collective
        FROM t JOIN raw.entreprises e ON e.siren = t.siren
        WHERE {_in_scope_sql("e")}
        """,
        {"dept": departement, "ds": ds},
    )


def _stage_rank_sql(col: str) -> str:
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in STAGE_RANKS.items())
    return f"(CASE {col} {whens} ELSE NULL END)"


def _score_sql() -> str:
    w = SCORE_WEIGHTS
    return f"""CAST(round(100 * (
            {w["montant"]} * least(1.0, ln(1 + CAST(p.total_dettes AS DOUBLE)) / ln(1 + {SCORE_AMOUNT_CAP}))
          + {w["age"]} * least(1.0, coalesce(p.anciennete_jours, 0) / {SCORE_AGE_CAP_DAYS}.0)
          + {w["etape"]} * coalesce(s.rang_etape, 0) / {MAX_STAGE_RANK}.0
        ), 2) AS DECIMAL(5,2))"""


def _panel_select(positions: str, dept_col: str, lignes_filter: str, positions_filter: str) -> str:
    """Companies with open debts in >= 2 debtor sources, ranked by the priority score."""
    return f"""
        WITH e AS (
            SELECT siren, etape, {_stage_rank_sql("etape")} AS r
            FROM core.lignes_dettes
            WHERE ouverte AND etape IS NOT NULL AND siren IS NOT NULL {lignes_filter}
        ), s AS (
            SELECT siren, max(r) AS rang_etape, first(etape ORDER BY r DESC, etape) AS etape
            FROM e GROUP BY siren
        ), p AS (
            SELECT * FROM {positions} WHERE nb_sources_dettes >= 2 {positions_filter}
        ), scored AS (
            SELECT p.siren, p.denomination, p.{dept_col}, p.nb_sources_dettes, p.total_dettes,
                   p.dettes_amendes, p.dettes_spl, p.dettes_impots_pro, p.dettes_rnf, p.anciennete_jours,
                   s.etape AS etape_la_plus_avancee, {_score_sql()} AS score
            FROM p LEFT JOIN s ON s.siren = p.siren
        )
        SELECT CAST(row_number() OVER (ORDER BY score DESC, total_dettes DESC, siren) AS INTEGER) AS rang,
               siren, denomination, {dept_col}, nb_sources_dettes, total_dettes,
               dettes_amendes, dettes_spl, dettes_impots_pro, dettes_rnf, anciennete_jours,
               etape_la_plus_avancee, score
        FROM scored
    """


def _build_panel(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    _exec(con, "DELETE FROM marts.panel_debiteurs_communs WHERE departement = ?", [departement])
    _exec(
        con,
        "INSERT INTO marts.panel_debiteurs_communs "
        + _panel_select(
            "marts.positions", "departement", "AND departement = $dept", "AND departement = $dept"
        ),
        {"dept": departement},
    )


def _build_positions_nationales(con: duckdb.DuckDBPyConnection) -> None:
    _exec(con, "DELETE FROM marts.positions_nationales")
    m = MONEY
    sums = ",\n".join(
        f"CAST(sum({c}) AS {m}) AS {c}"
        for c in POSITION_MONEY_COLUMNS
        if c not in ("total_dettes", "total_creances", "solde", "montant_compensable")
    )
    _exec(
        con,
        f"""
        INSERT INTO marts.positions_nationales
        WITH s AS (
            SELECT siren, min(denomination) AS denomination,
                   string_agg(departement, ',' ORDER BY departement) AS departements,
                   max(date_situation) AS date_situation,
                   {sums},
                   max(anciennete_jours) AS anciennete_jours
            FROM marts.positions GROUP BY siren
        ), t AS (
            SELECT s.*,
                CAST(dettes_amendes + dettes_spl + dettes_impots_pro + dettes_rnf AS {m}) AS total_dettes,
                CAST(creances_tva + creances_excedents + creances_is AS {m}) AS total_creances
            FROM s
        )
        SELECT t.siren, coalesce(e.denomination, t.denomination), t.departements, t.date_situation,
            t.dettes_amendes, t.dettes_spl, t.dettes_impots_pro, t.dettes_rnf, t.total_dettes,
            t.creances_tva, t.creances_excedents, t.creances_is, t.total_creances,
            t.creances_potentielles,
            CAST(t.total_creances - t.total_dettes AS {m}),
            t.dettes_compensables,
            CAST(CASE WHEN e.procedure_collective IS NOT NULL
                       AND (e.date_jugement IS NULL OR e.date_jugement <= t.date_situation) THEN 0
                      ELSE least(t.total_creances, t.dettes_compensables) END AS {m}),
            CAST((t.dettes_amendes > 0)::INTEGER + (t.dettes_spl > 0)::INTEGER
                 + (t.dettes_impots_pro > 0)::INTEGER + (t.dettes_rnf > 0)::INTEGER AS INTEGER),
            t.anciennete_jours,
            e.procedure_collective
        FROM t LEFT JOIN raw.entreprises e ON e.siren = t.siren
        """
    )


def _build_panel_national(con: duckdb.DuckDBPyConnection) -> None:
    _exec(con, "DELETE FROM marts.panel_debiteurs_communs_national")
    _exec(
        con,
        "INSERT INTO marts.panel_debiteurs_communs_national "
        + _panel_select("marts.positions_nationales", "departements", "", "")
    )


# --------------------------------------------------------------------------- public builders


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    tables = _tables(con)
    if "raw.entreprises" not in tables:
        _require_register(con)  # raises
    if not set(DEPARTEMENT_TABLES + NATIONAL_TABLES) <= tables:
        create_tables(con)


def build_rattachement_amendes(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    """(Re)build ``core.rattachement_amendes`` for one department (section 5)."""
    _prepare(con)
    with transaction(con):
        _build_rattachement_amendes(con, departement)


def build_lignes(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    """(Re)build ``core.lignes_dettes`` and ``core.lignes_creances`` for one department.

    Needs ``core.rattachement_amendes`` of the department (fines get their SIREN there).
    """
    _prepare(con)
    with transaction(con):
        _build_lignes(con, departement)


def build_non_positionnees(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    """(Re)build ``core.non_positionnees`` for one department from the core lines."""
    _prepare(con)
    with transaction(con):
        _build_non_positionnees(con, departement)


def build_positions(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    """(Re)build ``marts.positions`` for one department from the core lines (section 6)."""
    _prepare(con)
    with transaction(con):
        _build_positions(con, departement)


def build_panel_debiteurs_communs(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    """(Re)build ``marts.panel_debiteurs_communs`` for one department from its positions."""
    _prepare(con)
    with transaction(con):
        _build_panel(con, departement)


def build_departement(con: duckdb.DuckDBPyConnection, departement: str) -> None:
    """Every per-department table, in dependency order, in one transaction."""
    _prepare(con)
    with transaction(con):
        _build_rattachement_amendes(con, departement)
        _build_lignes(con, departement)
        _build_non_positionnees(con, departement)
        _build_positions(con, departement)
        _build_panel(con, departement)


def build_positions_nationales(con: duckdb.DuckDBPyConnection) -> None:
    """Full rebuild of ``marts.positions_nationales`` from every department's positions."""
    _prepare(con)
    with transaction(con):
        _build_positions_nationales(con)


def build_panel_debiteurs_communs_national(con: duckdb.DuckDBPyConnection) -> None:
    """Full rebuild of ``marts.panel_debiteurs_communs_national`` from the national positions."""
    _prepare(con)
    with transaction(con):
        _build_panel_national(con)


def build_national(con: duckdb.DuckDBPyConnection) -> None:
    """Both national tables in one transaction."""
    _prepare(con)
    with transaction(con):
        _build_positions_nationales(con)
        _build_panel_national(con)


def build_all(con: duckdb.DuckDBPyConnection, departements_: list[str] | None = None) -> list[str]:
    """Every department (default: all with loaded data), then the national tables; returns the departments."""
    depts = departements(con) if departements_ is None else list(departements_)
    for d in depts:
        build_departement(con, d)
    build_national(con)
    return depts
