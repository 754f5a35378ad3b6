"""Layout of the core and marts tables (docs/warehouse.md), and the transaction helper every builder uses.

Money is ``DECIMAL(18,2)`` from the raw tables to the marts: sums are cast back
to ``DECIMAL(18,2)``, no ``DOUBLE`` ever touches an amount.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

MONEY = "DECIMAL(18,2)"

DEBT_SOURCES = ("amendes", "spl", "impots_pro", "rnf")
CREDIT_SOURCES = ("credits_tva", "excedents", "creances_is")
PARTITIONED_SOURCES = DEBT_SOURCES + CREDIT_SOURCES

# debt lines: due and open / open but not yet due (impots_pro) / written-off fine / nothing owed
DEBT_NATURES = ("ECHUE", "A_ECHOIR", "NON_VALEUR", "AUCUNE")
# credit lines: certain and due / certain, refundable later / potential / nothing owed
CREDIT_NATURES = ("CERTAINE", "A_ECHOIR", "POTENTIELLE", "AUCUNE")

# why a past-due debt line is suspended (section 8, version 3), in the order a line takes the first that applies
SUSPENSION_REASONS = (
    "PASSIF_PROCEDURE",  # impots_pro claim filed in a collective procedure (déclarée au passif)
    "ANTERIEURE_JUGEMENT",  # company in an open procedure, claim arisen before the judgment (L. 622-21)
    "POSTERIEURE_JUGEMENT",  # company in an open procedure, claim arisen on or after it: to qualify (L. 622-17)
    "SURSIS",  # impots_pro under sursis de paiement (L. 277 LPF)
    "TITRE_CONTESTE",  # spl title contested in court (L. 1617-5 CGCT)
    "PROCEDURE_NON_REFERENCEE",  # passif_declare > 0, no procedure in the register
)

# the money columns of a position, in the contract's order (section 6, version 3)
POSITION_MONEY_COLUMNS: tuple[str, ...] = (
    "dettes_amendes",
    "dettes_spl",
    "dettes_impots_pro",
    "dettes_rnf",
    "total_dettes",
    "dettes_suspendues",
    "dettes_poursuivables",
    "dettes_a_echoir",
    "dettes_non_valeur",
    "creances_tva",
    "creances_excedents",
    "creances_is",
    "total_creances",
    "creances_a_echoir",
    "creances_potentielles",
    "dettes_compensables",
    "montant_compensable",
    "passif_declare",
)
POSITION_COLUMNS: tuple[str, ...] = (
    "siren",
    "denomination",
    "departement",
    "date_situation",
    *POSITION_MONEY_COLUMNS,
    "nb_sources_dettes",
    "anciennete_jours",
    "procedure_collective",
)
NATIONAL_POSITION_COLUMNS: tuple[str, ...] = tuple(
    "departements" if c == "departement" else c for c in POSITION_COLUMNS
)
DEBT_COLUMNS = ("dettes_amendes", "dettes_spl", "dettes_impots_pro", "dettes_rnf")
CREDIT_COLUMNS = ("creances_tva", "creances_excedents", "creances_is")
# summed over departments in the national view; the rest is recomputed from these sums (section 6)
ADDITIVE_COLUMNS = tuple(
    c for c in POSITION_MONEY_COLUMNS if c not in ("total_dettes", "total_creances", "montant_compensable")
)


def _position_body(dept_column: str) -> str:
    money = ",\n    ".join(f"{c} {MONEY} NOT NULL" for c in POSITION_MONEY_COLUMNS)
    return f"""
    siren VARCHAR NOT NULL,
    denomination VARCHAR,
    {dept_column} VARCHAR NOT NULL,
    date_situation DATE,
    {money},
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
    nature VARCHAR NOT NULL,
    compensable BOOLEAN NOT NULL,
    sursis BOOLEAN NOT NULL,
    conteste BOOLEAN NOT NULL,
    passif BOOLEAN NOT NULL,
    suspendue BOOLEAN NOT NULL,
    motif_suspension VARCHAR,
    date_origine DATE,
    anterieure_jugement BOOLEAN,
    montant_du {MONEY},
    montant_paye {MONEY},
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
    dettes_poursuivables {MONEY} NOT NULL,
    dettes_amendes {MONEY} NOT NULL,
    dettes_spl {MONEY} NOT NULL,
    dettes_impots_pro {MONEY} NOT NULL,
    dettes_rnf {MONEY} NOT NULL,
    anciennete_jours INTEGER,
    etape_la_plus_avancee VARCHAR,
    score DECIMAL(5,2) NOT NULL
"""

TABLE_DDL: dict[str, str] = {
    "core.rattachement_amendes": """(
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
    "core.lignes_dettes": f"({_LIGNES_BODY})",
    "core.lignes_creances": f"({_LIGNES_BODY})",
    "core.non_positionnees": """(
        departement VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        fichier VARCHAR,
        ligne INTEGER,
        reference VARCHAR,
        motif VARCHAR NOT NULL,
        siren VARCHAR
    )""",
    "marts.positions": f"({_position_body('departement')})",
    # which snapshot each current per-department table holds (the history copies it instead of recomputing)
    "core.instantanes_courants": """(
        departement VARCHAR NOT NULL,
        table_name VARCHAR NOT NULL,
        identite VARCHAR NOT NULL
    )""",
    "marts.positions_nationales": f"({_position_body('departements')})",
    "marts.panel_debiteurs_communs": "(" + _PANEL_BODY.format(dept="departement VARCHAR NOT NULL") + ")",
    "marts.panel_debiteurs_communs_national": "(" + _PANEL_BODY.format(dept="departements VARCHAR NOT NULL") + ")",
}

# section 6, version 3: what a department's credits can pay in every department (national)
COMPENSATION_COLUMNS: tuple[str, ...] = (
    "siren", "denomination", "departement", "date_situation", "creances_departement",
    "dettes_compensables_departement", "dettes_compensables_autres", "montant_compensable", "departements_dettes",
)
# section 6, version 3: the claims to declare in a collective procedure (per department); the contract's
# columns first, then what the screens and documents need (kind of line, due date, the declaring service)
DECLARATION_COLUMNS: tuple[str, ...] = (
    "siren", "denomination", "departement", "date_situation", "procedure_collective", "date_jugement",
    "date_publication_bodacc", "source", "fichier", "ligne", "cle", "montant", "date_limite_declaration",
    "date_limite_releve", "etat",
)
DECLARATION_STATES = ("A_DECLARER", "RELEVE_POSSIBLE", "FORCLOS", "BODACC_INCONNU", "A_QUALIFIER")
# who declares a claim: the accountant in charge of its recovery (a local title: the local body's accountant)
DECLARING_SERVICES = {
    "impots_pro": "SIE",
    "spl": "COMPTABLE_COLLECTIVITE",
    "amendes": "COMPTABLE_AMENDES",
    "rnf": "COMPTABLE_RNF",
}

TABLE_DDL["marts.compensations"] = f"""(
    siren VARCHAR NOT NULL,
    denomination VARCHAR,
    departement VARCHAR NOT NULL,
    date_situation DATE NOT NULL,
    creances_departement {MONEY} NOT NULL,
    dettes_compensables_departement {MONEY} NOT NULL,
    dettes_compensables_autres {MONEY} NOT NULL,
    montant_compensable {MONEY} NOT NULL,
    departements_dettes VARCHAR NOT NULL
)"""
TABLE_DDL["marts.declarations"] = f"""(
    siren VARCHAR NOT NULL,
    denomination VARCHAR,
    departement VARCHAR NOT NULL,
    date_situation DATE NOT NULL,
    procedure_collective VARCHAR NOT NULL,
    date_jugement DATE NOT NULL,
    date_publication_bodacc DATE,
    source VARCHAR NOT NULL,
    fichier VARCHAR,
    ligne INTEGER,
    cle VARCHAR NOT NULL,
    montant {MONEY} NOT NULL,
    date_limite_declaration DATE,
    date_limite_releve DATE,
    etat VARCHAR NOT NULL,
    nature VARCHAR NOT NULL,
    date_ligne DATE,
    date_origine DATE,
    service_declarant VARCHAR NOT NULL
)"""

DEPARTEMENT_TABLES: tuple[str, ...] = (
    "core.rattachement_amendes",
    "core.lignes_dettes",
    "core.lignes_creances",
    "core.non_positionnees",
    "marts.positions",
    "marts.panel_debiteurs_communs",
    "marts.declarations",
)
NATIONAL_TABLES: tuple[str, ...] = ("marts.positions_nationales", "marts.panel_debiteurs_communs_national",
                                    "marts.compensations")


def execute(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> None:
    """Runs a statement and consumes its result (DuckDB 2 refuses new work while a result is pending)."""
    con.execute(sql, params).fetchall()


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every `schema.table` of the warehouse, in one query."""
    return {f"{s}.{n}" for s, n in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}


@functools.cache
def ddl_columns(body: str) -> tuple[str, ...]:
    """Column names of a `(name TYPE, ...)` table body, in order."""
    return tuple(re.findall(r"^\s*\(?\s*([a-z_]+)\s+(?:VARCHAR|DATE|DECIMAL|INTEGER|BOOLEAN|BIGINT|TIMESTAMP)",
                      body, flags=re.M))


def create_tables(con: duckdb.DuckDBPyConnection, ddl: dict[str, str] | None = None) -> None:
    """Creates the derived tables; one whose columns differ from its definition (a warehouse of an earlier
    version) is dropped and created again: derived tables are rebuilt from the raw layer, nothing is lost.
    Called before every build: one query when everything is in place."""
    ddl = TABLE_DDL if ddl is None else ddl
    present = {table: tuple(columns) for table, columns in con.execute(
        "SELECT schema_name || '.' || table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE database_name = current_database() GROUP BY 1").fetchall()}
    if all(present.get(table) == ddl_columns(body) for table, body in ddl.items()):
        return
    for schema in sorted({t.split(".")[0] for t in ddl}):
        execute(con, f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table, body in ddl.items():
        if table in present:
            if present[table] == ddl_columns(body):
                continue
            execute(con, f"DROP TABLE {table}")
        execute(con, f"CREATE TABLE IF NOT EXISTS {table} {body}")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One all-or-nothing transaction: readers never see a half-rebuilt department."""
    execute(con, "BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        execute(con, "ROLLBACK")
        raise
    execute(con, "COMMIT")
