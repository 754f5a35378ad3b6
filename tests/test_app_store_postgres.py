"""The application's database on PostgreSQL: same code path as SQLite, audit and outcomes append-only.

Uses the throwaway server of test_postgres_instance.py (skipped without the PostgreSQL binaries, except
under CI where it fails).
"""

from __future__ import annotations

import secrets
from decimal import Decimal

import psycopg2
import pytest
import sqlalchemy as sa

from onevision_dagster.app import audit, outcomes
from onevision_dagster.app.store import open_store

from .test_postgres_instance import postgres_server  # noqa: F401 - the session fixture

pytestmark = pytest.mark.postgres


def test_audit_and_outcomes_on_postgresql_are_append_only(postgres_server) -> None:  # noqa: F811
    password = secrets.token_hex(12)
    admin = postgres_server.connect("postgres", postgres_server.superuser_password, "postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE ROLE onevision_app LOGIN PASSWORD '{password}'")
        cur.execute("CREATE DATABASE onevision_app OWNER onevision_app")
    admin.close()
    url = f"postgresql+psycopg2://onevision_app:{password}@127.0.0.1:{postgres_server.port}/onevision_app"
    engine = open_store(url)
    open_store(url)  # a second start: idempotent
    audit.record(engine, user="alice", departements="17", action="CONSULTATION_ENTREPRISE", objet="812345676",
                 status=200)
    outcomes.record(engine, user="alice", departement="17", liste="compensations", siren="812345676",
                    outcome=outcomes.Outcome("FAIT", None, Decimal("800.10")))
    assert outcomes.latest_for(engine, "17", "compensations")["812345676"]["montant_obtenu"] == Decimal("800.10")
    assert audit.read(engine)["utilisateur"].tolist() == ["alice"]
    for statement in ("UPDATE audit SET utilisateur = 'mallory'", "DELETE FROM audit", "TRUNCATE audit",
                      "UPDATE resultats SET resultat = 'NON_PERTINENT'", "DELETE FROM resultats"):
        with pytest.raises(sa.exc.DBAPIError) as refused:
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
        # the owner's own privileges are revoked, and the trigger stands behind them
        assert isinstance(refused.value.orig, (psycopg2.errors.InsufficientPrivilege, psycopg2.errors.RaiseException))
    with engine.connect() as conn:
        privileges = conn.execute(sa.text(
            "SELECT has_table_privilege('audit', 'UPDATE'), has_table_privilege('audit', 'DELETE'), "
            "has_table_privilege('audit', 'INSERT')")).one()
        assert tuple(privileges) == (False, False, True)
        triggers = conn.execute(sa.text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1")).scalars()
        assert list(triggers) == ["audit_ajout_seul_ligne", "audit_ajout_seul_table", "resultats_ajout_seul_ligne",
                                  "resultats_ajout_seul_table"]
    assert audit.read(engine)["utilisateur"].tolist() == ["alice"]
