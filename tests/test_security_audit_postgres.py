"""Issue 20, finding 1, the production setting: PostgreSQL, tables owned by an administration role, the
application's role allowed only SELECT and INSERT (deploy/postgres/roles.sql, docs/securite/postgresql.md).

The review's attack again, as the application's role: it can neither rewrite nor delete a row, nor drop or disable
a trigger; and the owner's tampering (who holds no key) is caught by the chain.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy as sa

from onevision_dagster.app import audit, outcomes
from onevision_dagster.app.store import open_store

from .test_postgres_instance import postgres_server  # noqa: F401 - the session fixture

pytestmark = pytest.mark.postgres
ROLES = Path(__file__).resolve().parents[1] / "deploy" / "postgres" / "roles.sql"
KEY = b"cle-de-test-du-chainage-postgresql-0123456789"


def _roles_sql() -> list[str]:
    lines = [line for line in ROLES.read_text(encoding="utf-8").splitlines() if not line.startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def test_insert_only_role_cannot_touch_the_audit(postgres_server) -> None:  # noqa: F811
    admin_pw, app_pw = secrets.token_hex(12), secrets.token_hex(12)
    su = postgres_server.connect("postgres", postgres_server.superuser_password, "postgres")
    su.autocommit = True
    with su.cursor() as cur:
        cur.execute(f"CREATE ROLE onevision_admin LOGIN PASSWORD '{admin_pw}'")
        cur.execute(f"CREATE ROLE onevision_app LOGIN PASSWORD '{app_pw}'")
        cur.execute("CREATE DATABASE onevision OWNER onevision_admin")
    su.close()
    base = f"127.0.0.1:{postgres_server.port}/onevision"
    audit.use_key(KEY)
    try:
        owner = open_store(f"postgresql+psycopg2://onevision_admin:{admin_pw}@{base}")  # tables and triggers
        with owner.begin() as conn:
            for statement in _roles_sql():
                conn.exec_driver_sql(statement)
        app = open_store(f"postgresql+psycopg2://onevision_app:{app_pw}@{base}")
        for i in range(3):
            audit.record(app, user="alice", departements="17", action="RECHERCHE", objet=f"q{i}", status=200)
        outcomes.record(app, user="alice", departement="17", liste="compensations", siren="812345676",
                        outcome=outcomes.Outcome("FAIT", None, None))
        assert audit.integrity(app) == []
        for statement in ("DROP TRIGGER audit_ajout_seul_ligne ON audit",
                          "ALTER TABLE audit DISABLE TRIGGER audit_ajout_seul_ligne",
                          "UPDATE audit SET utilisateur = 'bob'", "DELETE FROM audit", "TRUNCATE audit",
                          "DELETE FROM resultats",
                          "CREATE TABLE audit_copie (x int)"):
            with pytest.raises(sa.exc.DBAPIError) as refused:
                with app.begin() as conn:
                    conn.exec_driver_sql(statement)
            assert isinstance(refused.value.orig, psycopg2.errors.InsufficientPrivilege), statement
        with app.connect() as conn:
            assert tuple(conn.exec_driver_sql(
                "SELECT has_table_privilege('audit', 'UPDATE'), has_table_privilege('audit', 'DELETE'), "
                "has_table_privilege('audit', 'TRUNCATE'), has_table_privilege('audit', 'INSERT')").one()) == (
                False, False, False, True)
        assert audit.integrity(app) == [] and audit.verify(app).chained == 3
        # the owner (an operator) can grant itself back UPDATE, disable a trigger and rewrite a row, but holds no
        # key: caught at the next start
        with owner.begin() as conn:
            conn.exec_driver_sql("GRANT UPDATE ON audit TO onevision_admin")
            conn.exec_driver_sql("ALTER TABLE audit DISABLE TRIGGER audit_ajout_seul_ligne")
            conn.exec_driver_sql("UPDATE audit SET objet = 'autre chose' WHERE id = 2")
        assert audit.integrity(app) == [
            "Protection de l'audit retirée : déclencheur(s) absent(s) ou désactivé(s) : audit_ajout_seul_ligne.",
            "Chaîne de l'audit rompue : premier maillon rompu à l'enregistrement n° 2 (contenu modifié, ou clé "
            "différente de celle qui l'a écrit)."]
        assert "rétablies : audit_ajout_seul_ligne" in audit.restore_protections(owner)
    finally:
        audit.use_key(None)
