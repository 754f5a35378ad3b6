-- One Vision: the application's database in production (docs/securite/postgresql.md).
--
-- Two roles: `onevision_admin` owns the database and its tables (used only by operators: creating the tables,
-- `onevision purge`, `onevision audit --retablir`), `onevision_app` is the application's: it may only SELECT and
-- INSERT, so it can neither UPDATE, DELETE nor TRUNCATE a row, nor drop or disable a trigger (only an owner can).
--
-- 1. As a superuser:
--      CREATE ROLE onevision_admin LOGIN PASSWORD '...';
--      CREATE ROLE onevision_app LOGIN PASSWORD '...';
--      CREATE DATABASE onevision OWNER onevision_admin;
-- 2. As onevision_admin, create the tables and their triggers once:
--      ONEVISION_AUDIT_CLE=... onevision audit --verifier --base postgresql+psycopg2://onevision_admin@host/onevision
-- 3. As onevision_admin, in that database, this file:
--      psql "postgresql://onevision_admin@host/onevision" -v ON_ERROR_STOP=1 -f deploy/postgres/roles.sql
-- 4. The application runs with ONEVISION_APP_DATABASE_URL=postgresql+psycopg2://onevision_app@host/onevision

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON TABLE audit, resultats FROM PUBLIC;
REVOKE ALL ON TABLE audit, resultats FROM onevision_app;
GRANT USAGE ON SCHEMA public TO onevision_app;
GRANT SELECT, INSERT ON TABLE audit, resultats TO onevision_app;
GRANT USAGE ON SEQUENCE resultats_id_seq TO onevision_app;
