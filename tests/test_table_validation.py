"""Every rule of the derived-table models catches a broken row, and the one-scan path agrees with Pandera.

Each case corrupts the stored rows of the samples for one rule of a model, then requires that
`validate_table` raises Pandera's own `SchemaErrors` naming that rule, and that the scan compiled
from the model flags exactly when `pandera.ibis`, run on the same rows, rejects them: the scan is
how the model is checked quickly, Pandera is what judges.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import ibis
import pandera.errors
import pytest

from onevision_dagster import warehouse
from onevision_dagster.consolidate import table_validation
from onevision_dagster.consolidate.consolidation import build_all
from onevision_dagster.consolidate.schemas import TABLE_MODELS
from onevision_dagster.ingest.load import ingest_landing

from .conftest import SAMPLE_LANDING


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tv") / "samples.duckdb"
    with warehouse.connect(path) as con:
        ingest_landing(con, SAMPLE_LANDING)
        build_all(con)
    return path


# (table, rule, statements on `t`, the check Pandera must name; None: the rows stay valid).
# Every custom check of every core/marts model, and every kind of built-in one, has at least one case.
MUTATIONS: list[tuple[str, str, list[str], str | None]] = [
    ("core.rattachement_amendes", "clean", [], None),
    ("core.rattachement_amendes", "not null", ["UPDATE t SET num_amende = NULL WHERE rowid = 0"], "not_nullable"),
    ("core.rattachement_amendes", "ge", ["UPDATE t SET ligne = 1 WHERE rowid = 0"],
     "greater_than_or_equal_to(2)"),
    ("core.rattachement_amendes", "isin", ["UPDATE t SET methode = 'X' WHERE methode IS NOT NULL"], "isin("),
    ("core.rattachement_amendes", "str_matches", ["UPDATE t SET siren = '12345678' WHERE siren IS NOT NULL"],
     "str_matches("),
    ("core.rattachement_amendes", "str_matches newline", ["UPDATE t SET siren = siren || chr(10)"], "str_matches("),
    ("core.rattachement_amendes", "unique", ["INSERT INTO t SELECT * FROM t WHERE rowid = 0"],
     "multiple_fields_uniqueness"),
    ("core.rattachement_amendes", "xor", ["UPDATE t SET siren = NULL WHERE methode IS NOT NULL"],
     "attachee_xor_motif"),
    ("core.rattachement_amendes", "candidates", ["UPDATE t SET nb_candidats = 1 WHERE motif = 'AMBIGUE'"],
     "candidats_coherents"),
    ("core.rattachement_amendes", "candidates null", ["UPDATE t SET nb_candidats = NULL WHERE motif IS NOT NULL"],
     "candidats_coherents"),
    ("core.rattachement_amendes", "extra column", ["ALTER TABLE t ADD COLUMN extra VARCHAR"], "column_in_schema"),
    ("core.rattachement_amendes", "missing column", ["ALTER TABLE t DROP COLUMN code_postal"],
     "column_in_dataframe"),
    ("core.rattachement_amendes", "type", ["ALTER TABLE t ALTER ligne TYPE DOUBLE", "UPDATE t SET ligne = 2.5"],
     "dtype('int32')"),
    ("core.lignes_dettes", "clean", [], None),
    ("core.lignes_dettes", "negative", ["UPDATE t SET montant = -1, ouverte = false WHERE rowid = 0"],
     "greater_than_or_equal_to(0)"),
    ("core.lignes_dettes", "cents", ["ALTER TABLE t ALTER montant TYPE DECIMAL(18,3)",
                                     "UPDATE t SET montant = 1.005, ouverte = true WHERE rowid = 0"],
     "dtype('decimal(18, 2)')"),
    ("core.lignes_dettes", "float money", ["ALTER TABLE t ALTER montant TYPE DOUBLE"], "dtype('decimal(18, 2)')"),
    ("core.lignes_dettes", "huge", ["UPDATE t SET montant = 123456789012345.67, ouverte = true WHERE rowid = 0"],
     None),
    ("core.lignes_dettes", "open", ["UPDATE t SET ouverte = NOT ouverte WHERE rowid = 0"], "ouverte_si_montant"),
    ("core.lignes_dettes", "offsettable", ["UPDATE t SET compensable = true WHERE source = 'amendes'"],
     "compensable_impots_pro_ouvert"),
    ("core.lignes_dettes", "siren", ["UPDATE t SET siren = NULL WHERE source = 'spl'"],
     "rattachement_seulement_amendes"),
    ("core.lignes_dettes", "nature", ["UPDATE t SET nature = 'CERTAINE' WHERE rowid = 0"], "pas_de_nature"),
    ("core.lignes_dettes", "unique", ["INSERT INTO t SELECT * FROM t WHERE rowid = 0"],
     "multiple_fields_uniqueness"),
    ("core.lignes_dettes", "stage", ["UPDATE t SET etape = 'RELANCEE' WHERE rowid = 0"], "isin("),
    ("core.lignes_dettes", "null bool", ["UPDATE t SET ouverte = NULL WHERE rowid = 0"], "not_nullable"),
    ("core.lignes_creances", "clean", [], None),
    ("core.lignes_creances", "siren", ["UPDATE t SET siren = NULL WHERE rowid = 0"], "not_nullable"),
    ("core.lignes_creances", "none", ["UPDATE t SET montant = 5, ouverte = true WHERE nature = 'AUCUNE'"],
     "aucune_sans_montant"),
    ("core.lignes_creances", "certain", ["UPDATE t SET compensable = NOT compensable WHERE rowid = 0"],
     "compensable_si_certaine"),
    ("core.lignes_creances", "open", ["UPDATE t SET ouverte = NOT ouverte WHERE rowid = 0"], "ouverte_si_montant"),
    ("core.non_positionnees", "clean", [], None),
    ("core.non_positionnees", "siren", ["UPDATE t SET siren = '812345676' WHERE motif = 'NON_RATTACHEE'"],
     "siren_vide_si_non_rattachee"),
    ("core.non_positionnees", "unique", ["INSERT INTO t SELECT * FROM t WHERE rowid = 0"],
     "multiple_fields_uniqueness"),
    ("marts.positions", "clean", [], None),
    ("marts.positions", "totals", ["UPDATE t SET total_dettes = total_dettes + 0.01 WHERE rowid = 0"], "totaux"),
    ("marts.positions", "balance", ["UPDATE t SET solde = solde + 1 WHERE rowid = 0"], "totaux"),
    ("marts.positions", "offsetting", ["UPDATE t SET montant_compensable = montant_compensable + 1"],
     "compensation"),
    ("marts.positions", "offsettable debts", ["UPDATE t SET dettes_compensables = dettes_impots_pro + 1"],
     "compensation"),
    ("marts.positions", "sources", ["UPDATE t SET nb_sources_dettes = 4 - nb_sources_dettes WHERE rowid = 0"],
     "nb_sources_selon_montants"),
    ("marts.positions", "age", ["UPDATE t SET anciennete_jours = NULL WHERE total_dettes > 0"],
     "anciennete_si_dette"),
    ("marts.positions", "empty", ["UPDATE t SET dettes_amendes = 0, dettes_spl = 0, dettes_impots_pro = 0, "
                                  "dettes_rnf = 0, total_dettes = 0, creances_tva = 0, creances_excedents = 0, "
                                  "creances_is = 0, total_creances = 0, creances_potentielles = 0, solde = 0, "
                                  "dettes_compensables = 0, montant_compensable = 0, nb_sources_dettes = 0, "
                                  "anciennete_jours = NULL WHERE rowid = 0"], "position_non_vide"),
    ("marts.positions", "procedure", ["UPDATE t SET procedure_collective = 'FAILLITE' WHERE rowid = 0"], "isin("),
    ("marts.positions", "huge", ["UPDATE t SET dettes_rnf = dettes_rnf + 5e12, total_dettes = total_dettes + 5e12, "
                                 "solde = solde - 5e12 WHERE rowid = 0"], None),
    ("marts.positions_nationales", "clean", [], None),
    ("marts.positions_nationales", "sorted", ["UPDATE t SET departements = '91,17' WHERE rowid = 0"],
     "departements_tries"),
    ("marts.positions_nationales", "distinct", ["UPDATE t SET departements = '17,17' WHERE rowid = 0"],
     "departements_tries"),
    ("marts.positions_nationales", "format", ["UPDATE t SET departements = '17,' WHERE rowid = 0"], "str_matches("),
    ("marts.positions_nationales", "totals", ["UPDATE t SET total_creances = total_creances + 1 WHERE rowid = 0"],
     "totaux"),
    ("marts.positions_nationales", "unique", ["INSERT INTO t SELECT * FROM t WHERE rowid = 0"],
     "multiple_fields_uniqueness"),
    ("marts.panel_debiteurs_communs", "clean", [], None),
    ("marts.panel_debiteurs_communs", "ranks", ["UPDATE t SET rang = 1 WHERE rang = 2"], "rangs_contigus_par_score"),
    ("marts.panel_debiteurs_communs", "gap", ["UPDATE t SET rang = rang + 1 WHERE rang = (SELECT max(rang) FROM t)"],
     "rangs_contigus_par_score"),
    ("marts.panel_debiteurs_communs", "score order", ["UPDATE t SET score = 99.99 WHERE rang = 2"],
     "rangs_contigus_par_score"),
    ("marts.panel_debiteurs_communs", "score bound", ["UPDATE t SET score = 100.01 WHERE rang = 1"],
     "less_than_or_equal_to(100)"),
    ("marts.panel_debiteurs_communs", "total", ["UPDATE t SET dettes_rnf = dettes_rnf + 1 WHERE rowid = 0"],
     "somme_des_dettes"),
    ("marts.panel_debiteurs_communs", "sources", ["UPDATE t SET nb_sources_dettes = 1 WHERE rowid = 0"],
     "greater_than_or_equal_to(2)"),
    ("marts.panel_debiteurs_communs", "no debt", ["UPDATE t SET total_dettes = 0, dettes_amendes = 0, dettes_spl = 0, "
                                                  "dettes_impots_pro = 0, dettes_rnf = 0 WHERE rowid = 0"],
     "greater_than(0)"),
    ("marts.panel_debiteurs_communs_national", "clean", [], None),
    ("marts.panel_debiteurs_communs_national", "ranks", ["UPDATE t SET rang = 1 WHERE rang = 2"],
     "rangs_contigus_par_score"),
    ("marts.panel_debiteurs_communs_national", "score order", ["UPDATE t SET score = 99.99 WHERE rang = 2"],
     "rangs_contigus_par_score"),
    ("marts.panel_debiteurs_communs_national", "total", ["UPDATE t SET total_dettes = total_dettes + 1 "
                                                         "WHERE rowid = 0"], "somme_des_dettes"),
]


def _copy(samples_db: Path, table: str, statements: list[str]) -> duckdb.DuckDBPyConnection:
    with duckdb.connect(str(samples_db), read_only=True) as src:
        rows = src.sql(f"SELECT * FROM {table}").to_arrow_table()
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core; CREATE SCHEMA marts")
    con.register("rows_", rows)
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM rows_")  # no NOT NULL: corruptions may add nulls
    con.unregister("rows_")
    for statement in statements:
        con.execute(re.sub(r"\bt\b", table, statement))
    return con


def test_every_model_compiles_into_one_scan(samples_db: Path) -> None:
    with duckdb.connect(str(samples_db), read_only=True) as con:
        for table in TABLE_MODELS:
            checked = table_validation.scan_failures(con, table, None if "national" in table else "17")
            assert checked is not None, table
            assert checked[0] > 0 and checked[1] == [], table


def test_inherited_checks_keep_their_names() -> None:
    for model in TABLE_MODELS.values():
        schema = model.to_schema()
        names = [c.name for c in schema.checks] + [c.name for col in schema.columns.values() for c in col.checks]
        assert not [n for n in names if n.startswith("_")], model.__name__


@pytest.mark.parametrize(("table", "rule", "statements", "check"), MUTATIONS,
                         ids=[f"{t}-{r}" for t, r, _, _ in MUTATIONS])
def test_each_rule_catches_a_broken_row(samples_db: Path, table: str, rule: str, statements: list[str],
                                        check: str | None) -> None:
    con = _copy(samples_db, table, statements)
    departement = None if "national" in table else "17"
    where = "" if departement is None else " WHERE departement = '17'"
    count = con.execute(f"SELECT count(*) FROM {table}{where}").fetchall()[0][0]
    if check is None:
        assert table_validation.validate_table(con, table, departement) == count
    else:
        with pytest.raises(pandera.errors.SchemaErrors) as caught:
            table_validation.validate_table(con, table, departement)
        named = [str(c) for c in caught.value.failure_cases["check"]]
        assert any(check in c for c in named), f"{table} {rule}: {named}"
    # the scan flags exactly when Pandera itself, on the same rows, rejects them
    schema_name, name = table.split(".")
    rows = ibis.duckdb.from_connection(con).table(name, database=schema_name)
    if departement is not None:
        rows = rows.filter(rows.departement == departement)
    try:
        TABLE_MODELS[table].validate(rows, lazy=True)
        pandera_passes = True
    except pandera.errors.SchemaErrors:
        pandera_passes = False
    scanned = table_validation.scan_failures(con, table, departement)
    assert pandera_passes == (check is None)
    if scanned is not None:
        assert (scanned[1] == []) == pandera_passes, f"{table} {rule}: scan {scanned[1]}"


def test_pandera_leaves_the_connection_settings_as_they_were(samples_db: Path) -> None:
    # Ibis sets TimeZone and python_enable_replacements on a connection it wraps; the pipeline's session goes on
    con = _copy(samples_db, "marts.positions", ["UPDATE t SET solde = solde + 1"])
    con.execute("SET TimeZone = 'Europe/Paris'")
    with pytest.raises(pandera.errors.SchemaErrors):
        table_validation.validate_table(con, "marts.positions", "17")  # the scan flags: pandera.ibis judges
    assert con.execute("SELECT current_setting('TimeZone'), current_setting('python_enable_replacements')"
                       ).fetchall() == [("Europe/Paris", True)]
