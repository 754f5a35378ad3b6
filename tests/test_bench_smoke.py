"""The benchmark command at a tiny scale, and the fast paths it relies on agreeing with their references.

`table_validation` checks a stored table with SQL twins of its Pandera model and only reads it back into
pandas when the SQL finds something: the twins must never pass what Pandera rejects. Each case below
corrupts the stored rows of the samples for one rule of a model and requires that whenever Pandera rejects
the rows, the SQL does too (the SQL may be stricter: the rows then go to Pandera, whose verdict stands).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandera.errors
import pytest

from onevision_dagster import warehouse
from onevision_dagster.consolidate import table_validation
from onevision_dagster.consolidate.build import build_all
from onevision_dagster.consolidate.schemas import TABLE_MODELS
from onevision_dagster.ingest.load import ingest_landing

from .conftest import SAMPLE_LANDING

REPO = Path(__file__).resolve().parent.parent


def test_bench_command_prints_every_stage_and_the_ratios(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.national", "--scale", "0.002", "--out", str(tmp_path / "bench"),
         "--departements", "17", "75", "--no-images", "--steps"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    for stage in ("nation: read entreprises", "nation: group by siren", "department 75: total",
                  "process start", "register (raw/entreprises)", "departments (2 runs)",
                  "of which department 75", "national views", "total (process start"):
        assert stage in text, stage
    assert re.search(r"department 75: pipeline [\d.]+ s .* = [\d.]+x", text)
    assert re.search(r"nation: pipeline [\d.]+ s / baseline [\d.]+ s = [\d.]+x", text)
    assert re.search(r"peak RSS: [\d,]+ MiB", text)
    assert "lignes_unifiees" in text  # --steps: time of every Dagster step


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tv") / "samples.duckdb"
    with warehouse.connect(path) as con:
        ingest_landing(con, SAMPLE_LANDING)
        build_all(con)
    return path


# (table, rule, statements on `t`); every Pandera rule of every core/marts model has at least one case
MUTATIONS: list[tuple[str, str, list[str]]] = [
    ("core.rattachement_amendes", "clean", []),
    ("core.rattachement_amendes", "not null", ["UPDATE t SET num_amende = NULL WHERE rowid = 0"]),
    ("core.rattachement_amendes", "ge", ["UPDATE t SET ligne = 1 WHERE rowid = 0"]),
    ("core.rattachement_amendes", "isin", ["UPDATE t SET methode = 'X' WHERE methode IS NOT NULL"]),
    ("core.rattachement_amendes", "str_matches", ["UPDATE t SET siren = '12345678' WHERE siren IS NOT NULL"]),
    ("core.rattachement_amendes", "str_matches newline", ["UPDATE t SET siren = siren || chr(10)"]),
    ("core.rattachement_amendes", "unique", ["INSERT INTO t SELECT * FROM t WHERE rowid = 0"]),
    ("core.rattachement_amendes", "xor", ["UPDATE t SET siren = NULL WHERE methode IS NOT NULL"]),
    ("core.rattachement_amendes", "candidates", ["UPDATE t SET nb_candidats = 1 WHERE motif = 'AMBIGUE'"]),
    ("core.rattachement_amendes", "candidates null", ["UPDATE t SET nb_candidats = NULL WHERE motif IS NOT NULL"]),
    ("core.rattachement_amendes", "extra column", ["ALTER TABLE t ADD COLUMN extra VARCHAR"]),
    ("core.rattachement_amendes", "missing column", ["ALTER TABLE t DROP COLUMN code_postal"]),
    ("core.rattachement_amendes", "type", ["ALTER TABLE t ALTER ligne TYPE DOUBLE", "UPDATE t SET ligne = 2.5"]),
    ("core.lignes_dettes", "clean", []),
    ("core.lignes_dettes", "negative", ["UPDATE t SET montant = -1, ouverte = false WHERE rowid = 0"]),
    ("core.lignes_dettes", "cents", ["ALTER TABLE t ALTER montant TYPE DECIMAL(18,3)",
                                     "UPDATE t SET montant = 1.005, ouverte = true WHERE rowid = 0"]),
    ("core.lignes_dettes", "huge", ["UPDATE t SET montant = 123456789012345.67, ouverte = true WHERE rowid = 0"]),
    ("core.lignes_dettes", "open", ["UPDATE t SET ouverte = NOT ouverte WHERE rowid = 0"]),
    ("core.lignes_dettes", "offsettable", ["UPDATE t SET compensable = true WHERE source = 'amendes'"]),
    ("core.lignes_dettes", "siren", ["UPDATE t SET siren = NULL WHERE source = 'spl'"]),
    ("core.lignes_dettes", "nature", ["UPDATE t SET nature = 'CERTAINE' WHERE rowid = 0"]),
    ("core.lignes_dettes", "unique", ["INSERT INTO t SELECT * FROM t WHERE rowid = 0"]),
    ("core.lignes_dettes", "date range", ["UPDATE t SET date_ligne = DATE '1500-01-01' WHERE rowid = 0"]),
    ("core.lignes_dettes", "null bool", ["UPDATE t SET ouverte = NULL WHERE rowid = 0"]),
    ("core.lignes_dettes", "nature null", ["UPDATE t SET nature = NULL WHERE rowid = 0"]),
    ("core.lignes_dettes", "amount without nature", ["UPDATE t SET nature = 'AUCUNE', ouverte = false "
                                                     "WHERE montant > 0"]),
    ("core.lignes_dettes", "not yet due elsewhere", ["UPDATE t SET nature = 'A_ECHOIR' WHERE source = 'spl' "
                                                     "AND nature = 'EXIGIBLE'"]),
    ("core.lignes_dettes", "written off elsewhere", ["UPDATE t SET nature = 'NON_VALEUR', ouverte = false "
                                                     "WHERE source = 'spl' AND nature = 'EXIGIBLE'"]),
    ("core.lignes_dettes", "offsettable not due", ["UPDATE t SET compensable = true WHERE nature = 'A_ECHOIR'"]),
    ("core.lignes_dettes", "declared elsewhere", ["UPDATE t SET passif = true WHERE source = 'amendes'"]),
    ("core.lignes_dettes", "declared closed", ["UPDATE t SET passif = true WHERE nature = 'AUCUNE'"]),
    ("core.lignes_dettes", "remaining", ["UPDATE t SET montant_paye = montant_paye + 1 WHERE nature = 'EXIGIBLE'"]),
    ("core.lignes_dettes", "paid negative", ["UPDATE t SET montant_paye = -1 WHERE nature = 'AUCUNE'"]),
    ("core.lignes_dettes", "due cents", ["ALTER TABLE t ALTER montant_du TYPE DECIMAL(18,3)",
                                         "UPDATE t SET montant_du = montant_du + 0.001 WHERE nature = 'AUCUNE'"]),
    ("core.lignes_creances", "clean", []),
    ("core.lignes_creances", "siren", ["UPDATE t SET siren = NULL WHERE rowid = 0"]),
    ("core.lignes_creances", "none", ["UPDATE t SET montant = 5, ouverte = true WHERE nature = 'AUCUNE'"]),
    ("core.lignes_creances", "certain", ["UPDATE t SET compensable = NOT compensable WHERE rowid = 0"]),
    ("core.lignes_creances", "debt nature", ["UPDATE t SET nature = 'EXIGIBLE' WHERE rowid = 0"]),
    ("core.lignes_creances", "later elsewhere", ["UPDATE t SET nature = 'A_ECHOIR', compensable = false "
                                                 "WHERE source = 'excedents' AND nature = 'CERTAINE'"]),
    ("core.lignes_creances", "debt flags", ["UPDATE t SET passif = true WHERE rowid = 0"]),
    ("core.lignes_creances", "open", ["UPDATE t SET ouverte = NOT ouverte WHERE rowid = 0"]),
    ("core.non_positionnees", "clean", []),
    ("core.non_positionnees", "siren", ["UPDATE t SET siren = '812345676' WHERE motif = 'NON_RATTACHEE'"]),
    ("core.non_positionnees", "unique", ["INSERT INTO t SELECT * FROM t WHERE rowid = 0"]),
    ("core.non_positionnees", "motif", ["UPDATE t SET motif = 'AUTRE' WHERE motif = 'REGISTRE_REJETE'"]),
    ("marts.positions", "clean", []),
    ("marts.positions", "totals", ["UPDATE t SET total_dettes = total_dettes + 0.01 WHERE rowid = 0"]),
    ("marts.positions", "totals within tolerance", ["ALTER TABLE t ALTER total_dettes TYPE DECIMAL(18,3)",
                                                    "UPDATE t SET total_dettes = total_dettes + 0.001"]),
    ("marts.positions", "balance", ["UPDATE t SET solde = solde + 1 WHERE rowid = 0"]),
    ("marts.positions", "offsetting", ["UPDATE t SET montant_compensable = montant_compensable + 1"]),
    ("marts.positions", "offsettable debts", ["UPDATE t SET dettes_compensables = dettes_impots_pro + 1"]),
    ("marts.positions", "sources", ["UPDATE t SET nb_sources_dettes = 4 - nb_sources_dettes WHERE rowid = 0"]),
    ("marts.positions", "age", ["UPDATE t SET anciennete_jours = NULL WHERE total_dettes > 0"]),
    ("marts.positions", "empty", ["UPDATE t SET dettes_amendes = 0, dettes_spl = 0, dettes_impots_pro = 0, "
                                  "dettes_rnf = 0, total_dettes = 0, dettes_a_echoir = 0, dettes_non_valeur = 0, "
                                  "creances_tva = 0, creances_excedents = 0, creances_is = 0, total_creances = 0, "
                                  "creances_a_echoir = 0, creances_potentielles = 0, solde = 0, "
                                  "dettes_compensables = 0, montant_compensable = 0, passif_declare = 0, "
                                  "nb_sources_dettes = 0, anciennete_jours = NULL WHERE rowid = 0"]),
    ("marts.positions", "declared claim offset", ["UPDATE t SET montant_compensable = least(total_creances, "
                                                  "dettes_compensables) WHERE passif_declare > 0"]),
    ("marts.positions", "declared beyond taxes", ["UPDATE t SET passif_declare = dettes_impots_pro + dettes_a_echoir "
                                                  "+ 1, montant_compensable = 0 WHERE rowid = 0"]),
    ("marts.positions", "not yet due negative", ["UPDATE t SET dettes_a_echoir = -1 WHERE rowid = 0"]),
    ("marts.positions", "written off negative", ["UPDATE t SET dettes_non_valeur = -5 WHERE rowid = 0"]),
    ("marts.positions", "credit later negative", ["UPDATE t SET creances_a_echoir = -5 WHERE rowid = 0"]),
    ("marts.positions", "new column cents", ["ALTER TABLE t ALTER creances_a_echoir TYPE DECIMAL(18,3)",
                                             "UPDATE t SET creances_a_echoir = 0.005 WHERE rowid = 0"]),
    ("marts.positions", "huge", ["UPDATE t SET dettes_rnf = dettes_rnf + 5e12, total_dettes = total_dettes + 5e12, "
                                 "solde = solde - 5e12 WHERE rowid = 0"]),
    ("marts.positions_nationales", "clean", []),
    ("marts.positions_nationales", "sorted", ["UPDATE t SET departements = '91,17' WHERE rowid = 0"]),
    ("marts.positions_nationales", "distinct", ["UPDATE t SET departements = '17,17' WHERE rowid = 0"]),
    ("marts.positions_nationales", "format", ["UPDATE t SET departements = '17,' WHERE rowid = 0"]),
    ("marts.positions_nationales", "totals", ["UPDATE t SET total_creances = total_creances + 1 WHERE rowid = 0"]),
    ("marts.positions_nationales", "declared claim offset", ["UPDATE t SET montant_compensable = "
                                                             "least(total_creances, dettes_compensables) "
                                                             "WHERE passif_declare > 0"]),
    ("marts.panel_debiteurs_communs", "clean", []),
    ("marts.panel_debiteurs_communs", "ranks", ["UPDATE t SET rang = 1 WHERE rang = 2"]),
    ("marts.panel_debiteurs_communs", "gap", ["UPDATE t SET rang = rang + 1 WHERE rang = (SELECT max(rang) FROM t)"]),
    ("marts.panel_debiteurs_communs", "score order", ["UPDATE t SET score = 99.99 WHERE rang = 2"]),
    ("marts.panel_debiteurs_communs", "total", ["UPDATE t SET dettes_rnf = dettes_rnf + 1 WHERE rowid = 0"]),
    ("marts.panel_debiteurs_communs", "sources", ["UPDATE t SET nb_sources_dettes = 1 WHERE rowid = 0"]),
    ("marts.panel_debiteurs_communs_national", "clean", []),
    ("marts.panel_debiteurs_communs_national", "ranks", ["UPDATE t SET rang = 1 WHERE rang = 2"]),
    ("marts.panel_debiteurs_communs_national", "score order", ["UPDATE t SET score = 99.99 WHERE rang = 2"]),
]


def test_every_model_has_a_complete_sql_twin() -> None:
    for table in TABLE_MODELS:
        assert table_validation._plan(table) is not None, table


@pytest.mark.parametrize(("table", "rule", "statements"), MUTATIONS, ids=[f"{t}-{r}" for t, r, _ in MUTATIONS])
def test_sql_twins_never_pass_what_pandera_rejects(samples_db: Path, table: str, rule: str,
                                                   statements: list[str]) -> None:
    national = "national" in table
    with duckdb.connect(str(samples_db), read_only=True) as src:
        rows = src.sql(f"SELECT * FROM {table}").to_arrow_table()
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core; CREATE SCHEMA marts")
    con.register("rows_", rows)
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM rows_")  # no NOT NULL: corruptions may add nulls
    con.unregister("rows_")
    for statement in statements:
        con.execute(re.sub(r"\bt\b", table, statement))
    departement = None if national else "17"
    checked = table_validation.sql_failures(con, table, departement)
    sql_passes = checked is not None and not checked[1]
    frame = con.execute(f"SELECT * FROM {table}" + ("" if national else " WHERE departement = '17'")).df()
    try:
        TABLE_MODELS[table].validate(frame, lazy=True)
        pandera_passes = True
    except (pandera.errors.SchemaErrors, pandera.errors.SchemaError):
        pandera_passes = False
    if rule == "clean":
        assert sql_passes and pandera_passes  # valid rows never leave the fast path
    assert pandera_passes or not sql_passes, f"{table} {rule}: Pandera rejects, SQL twins pass"
    # and validate_table gives Pandera's verdict either way
    if pandera_passes:
        assert table_validation.validate_table(con, table, departement) == len(frame)
    else:
        # Pandera's verdict, its own report kept, and a message naming rows by identifiers only
        with pytest.raises(table_validation.TableCheckFailed) as failure:
            table_validation.validate_table(con, table, departement)
        assert isinstance(failure.value.errors, pandera.errors.SchemaErrors)
