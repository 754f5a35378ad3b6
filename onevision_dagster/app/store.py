"""The application's own small database: the audit and the outcomes agents record, through SQLAlchemy.

SQLite by default (a file beside the warehouse), PostgreSQL when `ONEVISION_APP_DATABASE_URL` names one:
the same tables and the same code for both. Both tables are append-only: the application only ever
INSERTs (an outcome changed later is a new row; the latest one counts). When it creates them it also makes
the database refuse any UPDATE or DELETE of them — SQLite: triggers that abort; PostgreSQL: the privileges
revoked and a trigger that raises — so a bug or a hand-typed statement cannot rewrite the record.

It never recreates a protection that is gone (issue 20): a missing or disabled trigger is reported by
`integrity` (checked at every start of the application and by `onevision audit --verifier`) and put back only
by an operator (`onevision audit --retablir`). Each audit row is chained to the previous one by a keyed hash
(`audit.verify`). In production the tables belong to an administration role and the application's role may only
INSERT and SELECT (docs/securite/postgresql.md, deploy/postgres/roles.sql): it cannot drop a trigger at all.
"""

from __future__ import annotations

import sqlalchemy as sa

from onevision_dagster.errors import OneVisionError

metadata = sa.MetaData()

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("horodatage", sa.DateTime(), nullable=False),
    sa.Column("utilisateur", sa.String(200)),
    sa.Column("departements", sa.String(400)),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("objet", sa.String(400)),
    sa.Column("statut_http", sa.Integer, nullable=False),
    sa.Column("precedente", sa.String(64)),  # the previous row's `empreinte` (the chain, issue 20)
    sa.Column("empreinte", sa.String(64)),  # HMAC-SHA256(key, precedente + this row), see audit.verify
)
sa.Index("audit_horodatage", audit.c.horodatage)

resultats = sa.Table(
    "resultats", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("horodatage", sa.DateTime(), nullable=False),
    sa.Column("utilisateur", sa.String(200), nullable=False),
    sa.Column("departement", sa.String(3), nullable=False),
    sa.Column("liste", sa.String(40), nullable=False),
    sa.Column("siren", sa.String(9), nullable=False),
    sa.Column("resultat", sa.String(20), nullable=False),
    sa.Column("motif", sa.String(40)),
    sa.Column("montant_obtenu_centimes", sa.BigInteger),  # integer cents: exact in SQLite as in PostgreSQL
    sa.Column("commentaire", sa.String(500)),
    sa.Column("document", sa.BigInteger),  # the audit row (action DOCUMENT) of the notification sent, if any
)
sa.Index("resultats_cle", resultats.c.departement, resultats.c.liste, resultats.c.siren)

APPEND_ONLY = ("audit", "resultats")
REFUSAL = "One Vision : table en ajout seul, modification et suppression interdites"


def _sqlite_protection(conn: sa.Connection, table: str) -> None:
    for op in ("UPDATE", "DELETE"):
        conn.exec_driver_sql(
            f"CREATE TRIGGER IF NOT EXISTS {table}_sans_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")


def _postgresql_protection(conn: sa.Connection, table: str) -> None:
    owner = conn.exec_driver_sql(
        "SELECT tableowner = current_user FROM pg_tables WHERE schemaname = current_schema() AND tablename = %s",
        (table,)).scalar()
    if not owner:
        return  # tables created by another role: its owner set the protection up (docs/app.md)
    conn.exec_driver_sql(
        f"""CREATE OR REPLACE FUNCTION onevision_ajout_seul() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION USING MESSAGE = '{REFUSAL} : ' || TG_TABLE_NAME; END $$""")
    for op, level in (("UPDATE OR DELETE", "ROW"), ("TRUNCATE", "STATEMENT")):
        name = f"{table}_ajout_seul_{'ligne' if level == 'ROW' else 'table'}"
        exists = conn.exec_driver_sql("SELECT count(*) FROM pg_trigger WHERE tgname = %s", (name,)).scalar()
        if not exists:
            conn.exec_driver_sql(f"CREATE TRIGGER {name} BEFORE {op} ON {table} FOR EACH {level} "
                                 "EXECUTE FUNCTION onevision_ajout_seul()")
        else:
            conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}")
    conn.exec_driver_sql(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")
    conn.exec_driver_sql(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM CURRENT_USER")


def _add_missing_columns(conn: sa.Connection) -> None:
    """Columns added since a store was created (ALTER TABLE ADD COLUMN: existing rows keep NULL)."""
    inspector = sa.inspect(conn)
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")


PROTECTIONS = {
    "sqlite": tuple(f"{t}_sans_{op}" for t in APPEND_ONLY for op in ("update", "delete")),
    "postgresql": tuple(f"{t}_ajout_seul_{level}" for t in APPEND_ONLY for level in ("ligne", "table")),
}
"""The triggers that make the tables append-only, by database."""


def missing_protections(conn: sa.Connection) -> list[str]:
    """The protecting triggers that are absent or disabled."""
    names = PROTECTIONS[conn.dialect.name]
    if conn.dialect.name == "sqlite":
        present = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())
    else:
        present = set(conn.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"
                                           ).scalars())
    return [n for n in names if n not in present]


def protect(conn: sa.Connection) -> None:
    """Creates the protections (new tables, or an operator's `onevision audit --retablir`)."""
    for table in APPEND_ONLY:
        (_sqlite_protection if conn.dialect.name == "sqlite" else _postgresql_protection)(conn, table)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI objects
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (the audit export) never block the application
    cur.execute("PRAGMA synchronous=FULL")  # an audited action is on disk when the page is answered
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def open_store(url: str) -> sa.Engine:
    """An engine on the database, tables and protections created if missing (idempotent)."""
    try:
        engine = sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError) as e:
        raise OneVisionError(f"Base de l'application invalide ({e}) : vérifiez ONEVISION_APP_DATABASE_URL.") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        database = engine.url.database
        if database and database != ":memory:":
            from pathlib import Path

            from onevision_dagster import filemodes

            Path(database).parent.mkdir(mode=filemodes.DIR_MODE, parents=True, exist_ok=True)
            Path(database).touch(mode=filemodes.FILE_MODE)  # the audit names agents: never world-readable
            filemodes.private_file(Path(database))
    elif engine.dialect.name != "postgresql":
        raise OneVisionError(f"Base non prise en charge : {engine.dialect.name} (SQLite ou PostgreSQL).")
    try:
        with engine.begin() as conn:
            new = [t for t in APPEND_ONLY if not sa.inspect(conn).has_table(t)]
            if new:
                metadata.create_all(conn)
            _add_missing_columns(conn)
            if new:  # never recreated silently afterwards: a protection that is gone is reported (integrity)
                protect(conn)
    except sa.exc.OperationalError as e:
        raise OneVisionError(f"Base de l'application injoignable : {e.orig}") from None
    except sa.exc.ProgrammingError as e:
        raise OneVisionError(f"Base de l'application : mise à jour refusée ({e.orig}) ; le rôle qui possède les "
                             "tables doit appliquer deploy/postgres/roles.sql (docs/securite/postgresql.md).") from None
    return engine
