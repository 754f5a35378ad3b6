"""Every rule of the derived-table and history models catches a broken row, and the one-scan path agrees with
Pandera.

Each case corrupts the stored rows of the samples (two snapshots of department 17, their history) for one rule
of a model, then requires that `validate_table` raises `TableCheckFailed` carrying Pandera's own `SchemaErrors`
that names that rule, and that the scan compiled from the model flags exactly when `pandera.ibis`, run on the
same rows, rejects them: the scan is how the model is checked quickly, Pandera is what judges.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import ibis
import pandera.errors
import pytest

from onevision_dagster import warehouse
from onevision_dagster.consolidate import table_validation
from onevision_dagster.consolidate.build import build_all
from onevision_dagster.consolidate.schemas import TABLE_MODELS
from onevision_dagster.consolidate.table_validation import TableCheckFailed
from onevision_dagster.history.impact import build_impact, build_impact_national
from onevision_dagster.history.movements import build_movements
from onevision_dagster.history.schemas import HISTORY_MODELS
from onevision_dagster.history.snapshots import build_snapshot
from onevision_dagster.ingest.load import ingest_landing

from .conftest import SAMPLE_LANDING

T0, T1 = dt.date(2026, 11, 20), dt.date(2026, 11, 27)
MODELS = {**TABLE_MODELS, **HISTORY_MODELS}
LIMIT = "99999999999999.99"  # the contract's largest amount (14 digits before the comma)


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tv") / "samples.duckdb"
    with warehouse.connect(path) as con:
        ingest_landing(con, SAMPLE_LANDING)
        build_all(con)
        for day in (T0, T1):
            build_snapshot(con, "17", day)
        for day in (T0, T1):
            build_movements(con, "17", day)
            build_impact(con, "17", day)
        build_impact_national(con, ["17"])
    return path


def _scope(table: str) -> tuple[str | None, dt.date | None]:
    """What a builder validates at once: a department (history snapshots: and a date), or the whole table."""
    if "national" in table or table == "marts.compensations":
        return None, None
    if table in ("history.positions_historique", "history.lignes"):
        return "17", T1
    return "17", None


EMPTY = ("UPDATE t SET dettes_amendes = 0, dettes_spl = 0, dettes_impots_pro = 0, dettes_rnf = 0, total_dettes = 0, "
         "dettes_a_echoir = 0, dettes_non_valeur = 0, creances_tva = 0, creances_excedents = 0, creances_is = 0, "
         "total_creances = 0, creances_a_echoir = 0, creances_potentielles = 0, dettes_suspendues = 0, "
         "dettes_poursuivables = 0, dettes_compensables = 0, "
         "montant_compensable = 0, passif_declare = 0, nb_sources_dettes = 0, anciennete_jours = NULL WHERE rowid = 0")

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
    ("core.lignes_dettes", "at the limit", [f"UPDATE t SET montant = {LIMIT}, montant_du = {LIMIT}, montant_paye = 0 "
                                            "WHERE nature = 'ECHUE'"], None),
    ("core.lignes_dettes", "a cent off at the limit", [f"UPDATE t SET montant = {LIMIT}, montant_du = {LIMIT}, "
                                                       "montant_paye = 0.01 WHERE nature = 'ECHUE'"],
     "reste_du_moins_paye"),
    ("core.lignes_dettes", "open", ["UPDATE t SET ouverte = NOT ouverte WHERE rowid = 0"],
     "ouverte_si_exigible_ou_a_echoir"),
    ("core.lignes_dettes", "offsettable", ["UPDATE t SET compensable = true WHERE source = 'amendes'"],
     "compensable_impots_pro_poursuivable"),
    ("core.lignes_dettes", "offsettable not due", ["UPDATE t SET compensable = true WHERE nature = 'A_ECHOIR'"],
     "compensable_impots_pro_poursuivable"),
    ("core.lignes_dettes", "offsettable under sursis", ["UPDATE t SET compensable = true WHERE sursis"],
     "compensable_impots_pro_poursuivable"),
    ("core.lignes_dettes", "pursuable tax not offsettable", [
        "UPDATE t SET compensable = false WHERE compensable"], "compensable_impots_pro_poursuivable"),
    ("core.lignes_dettes", "suspended without reason", [
        "UPDATE t SET motif_suspension = NULL WHERE suspendue"], "suspendue_si_motif"),
    ("core.lignes_dettes", "sursis not suspended", [
        "UPDATE t SET suspendue = false, motif_suspension = NULL, compensable = source = 'impots_pro' "
        "WHERE sursis AND nature = 'ECHUE'"], "suspendue_si_motif"),
    ("core.lignes_dettes", "unknown reason", [
        "UPDATE t SET motif_suspension = 'PRESCRITE' WHERE suspendue"], "isin("),
    ("core.lignes_dettes", "siren", ["UPDATE t SET siren = NULL WHERE source = 'spl'"],
     "rattachement_seulement_amendes"),
    ("core.lignes_dettes", "nature", ["UPDATE t SET nature = 'CERTAINE' WHERE rowid = 0"], "isin("),
    ("core.lignes_dettes", "nature null", ["UPDATE t SET nature = NULL WHERE rowid = 0"], "not_nullable"),
    ("core.lignes_dettes", "amount without nature", ["UPDATE t SET nature = 'AUCUNE', ouverte = false "
                                                     "WHERE montant > 0"], "montant_si_nature"),
    ("core.lignes_dettes", "nature without amount", ["UPDATE t SET nature = 'ECHUE', ouverte = true "
                                                     "WHERE nature = 'AUCUNE'"], "montant_si_nature"),
    ("core.lignes_dettes", "not yet due elsewhere", ["UPDATE t SET nature = 'A_ECHOIR' WHERE source = 'spl' "
                                                     "AND nature = 'ECHUE'"], "a_echoir_impots_pro"),
    ("core.lignes_dettes", "written off elsewhere", ["UPDATE t SET nature = 'NON_VALEUR', ouverte = false "
                                                     "WHERE source = 'spl' AND nature = 'ECHUE'"],
     "non_valeur_amendes"),
    ("core.lignes_dettes", "declared elsewhere", ["UPDATE t SET passif = true WHERE source = 'amendes'"],
     "passif_impots_pro_ouvert"),
    ("core.lignes_dettes", "declared closed", ["UPDATE t SET passif = true WHERE nature = 'AUCUNE' "
                                               "AND source = 'impots_pro'"], "passif_impots_pro_ouvert"),
    ("core.lignes_dettes", "remaining", ["UPDATE t SET montant_paye = montant_paye + 1 WHERE nature = 'ECHUE'"],
     "reste_du_moins_paye"),
    ("core.lignes_dettes", "remaining unknown", ["UPDATE t SET montant_du = NULL WHERE nature = 'NON_VALEUR'"],
     "reste_du_moins_paye"),
    ("core.lignes_dettes", "closed line, anything paid", ["UPDATE t SET montant_paye = 12345.67 "
                                                          "WHERE nature = 'AUCUNE'"], None),
    ("core.lignes_dettes", "paid negative", ["UPDATE t SET montant_paye = -1 WHERE nature = 'AUCUNE'"],
     "greater_than_or_equal_to(0)"),
    ("core.lignes_dettes", "due cents", ["ALTER TABLE t ALTER montant_du TYPE DECIMAL(18,3)"],
     "dtype('decimal(18, 2)')"),
    ("core.lignes_dettes", "passif null", ["UPDATE t SET passif = NULL WHERE rowid = 0"], "not_nullable"),
    ("core.lignes_dettes", "dates of any year", ["UPDATE t SET date_ligne = DATE '1500-01-01' WHERE rowid = 0",
                                                 "UPDATE t SET date_extraction = DATE '3026-12-31' WHERE rowid = 1"],
     None),
    ("core.lignes_dettes", "date as timestamp", ["ALTER TABLE t ALTER date_ligne TYPE TIMESTAMP"], "dtype('date')"),
    ("core.lignes_dettes", "unique", ["INSERT INTO t SELECT * FROM t WHERE rowid = 0"],
     "multiple_fields_uniqueness"),
    ("core.lignes_dettes", "stage", ["UPDATE t SET etape = 'RELANCEE' WHERE rowid = 0"], "isin("),
    ("core.lignes_dettes", "null bool", ["UPDATE t SET ouverte = NULL WHERE rowid = 0"], "not_nullable"),
    ("core.lignes_creances", "clean", [], None),
    ("core.lignes_creances", "siren", ["UPDATE t SET siren = NULL WHERE rowid = 0"], "not_nullable"),
    ("core.lignes_creances", "none", ["UPDATE t SET montant = 5, ouverte = true WHERE nature = 'AUCUNE'"],
     "montant_si_nature"),
    ("core.lignes_creances", "certain", ["UPDATE t SET compensable = NOT compensable WHERE rowid = 0"],
     "compensable_si_certaine"),
    ("core.lignes_creances", "open", ["UPDATE t SET ouverte = NOT ouverte WHERE rowid = 0"], "ouverte_si_montant"),
    ("core.lignes_creances", "debt nature", ["UPDATE t SET nature = 'ECHUE' WHERE rowid = 0"], "isin("),
    ("core.lignes_creances", "later elsewhere", ["UPDATE t SET nature = 'A_ECHOIR', compensable = false "
                                                 "WHERE source = 'excedents' AND nature = 'CERTAINE'"],
     "a_echoir_creances_is"),
    ("core.lignes_creances", "declared", ["UPDATE t SET passif = true WHERE rowid = 0"], "sans_sursis_ni_passif"),
    ("core.lignes_creances", "sursis", ["UPDATE t SET sursis = true WHERE rowid = 0"], "sans_sursis_ni_passif"),
    ("core.lignes_creances", "contested", ["UPDATE t SET conteste = true WHERE rowid = 0"], "sans_sursis_ni_passif"),
    ("core.lignes_creances", "refundable in a thousand years", [
        "UPDATE t SET date_ligne = DATE '3026-12-31' WHERE nature = 'A_ECHOIR'"], None),
    ("core.non_positionnees", "clean", [], None),
    ("core.non_positionnees", "siren", ["UPDATE t SET siren = '812345676' WHERE motif = 'NON_RATTACHEE'"],
     "siren_vide_si_non_rattachee"),
    ("core.non_positionnees", "unique", ["INSERT INTO t SELECT * FROM t WHERE rowid = 0"],
     "multiple_fields_uniqueness"),
    ("core.non_positionnees", "motif", ["UPDATE t SET motif = 'AUTRE' WHERE motif = 'REGISTRE_REJETE'"], "isin("),
    ("marts.positions", "clean", [], None),
    ("marts.positions", "totals", ["UPDATE t SET total_dettes = total_dettes + 0.01 WHERE rowid = 0"], "totaux"),
    ("marts.positions", "pursuable", ["UPDATE t SET dettes_poursuivables = dettes_poursuivables + 1 "
                                      "WHERE rowid = 0"], "totaux"),
    ("marts.positions", "offsettable beyond pursuable", [
        "UPDATE t SET dettes_suspendues = total_dettes, dettes_poursuivables = 0 WHERE dettes_compensables > 0"],
     "compensation"),
    ("marts.positions", "offsetting", ["UPDATE t SET montant_compensable = montant_compensable + 1"],
     "compensation"),
    ("marts.positions", "offsettable debts", ["UPDATE t SET dettes_compensables = dettes_impots_pro + 1"],
     "compensation"),
    ("marts.positions", "sources", ["UPDATE t SET nb_sources_dettes = 5 - nb_sources_dettes WHERE rowid = 0"],
     "nb_sources_selon_montants"),
    ("marts.positions", "age", ["UPDATE t SET anciennete_jours = NULL WHERE total_dettes > 0"],
     "anciennete_si_dette"),
    ("marts.positions", "empty", [EMPTY], "position_non_vide"),
    ("marts.positions", "only not yet due", [EMPTY, "UPDATE t SET dettes_a_echoir = 5 WHERE rowid = 0"], None),
    ("marts.positions", "only written off", [EMPTY, "UPDATE t SET dettes_non_valeur = 5 WHERE rowid = 0"], None),
    ("marts.positions", "only refundable later", [EMPTY, "UPDATE t SET creances_a_echoir = 5 WHERE rowid = 0"], None),
    ("marts.positions", "declared claim offset", ["UPDATE t SET montant_compensable = 1 WHERE passif_declare > 0"],
     "compensation"),
    ("marts.positions", "declared claim's taxes offsettable", [
        "UPDATE t SET dettes_compensables = dettes_impots_pro WHERE passif_declare > 0"], "compensation"),
    ("marts.positions", "declared beyond taxes", ["UPDATE t SET passif_declare = dettes_impots_pro + dettes_a_echoir "
                                                  "+ 1, montant_compensable = 0 WHERE rowid = 0"],
     "passif_dans_les_impots"),
    ("marts.positions", "not yet due negative", ["UPDATE t SET dettes_a_echoir = -1 WHERE rowid = 0"],
     "greater_than_or_equal_to(0)"),
    ("marts.positions", "written off negative", ["UPDATE t SET dettes_non_valeur = -5 WHERE rowid = 0"],
     "greater_than_or_equal_to(0)"),
    ("marts.positions", "credit later negative", ["UPDATE t SET creances_a_echoir = -5 WHERE rowid = 0"],
     "greater_than_or_equal_to(0)"),
    ("marts.positions", "declared negative", ["UPDATE t SET passif_declare = -5 WHERE rowid = 0"],
     "greater_than_or_equal_to(0)"),
    ("marts.positions", "new column cents", ["ALTER TABLE t ALTER creances_a_echoir TYPE DECIMAL(18,3)"],
     "dtype('decimal(18, 2)')"),
    ("marts.positions", "sums at the limit", [f"UPDATE t SET dettes_amendes = {LIMIT}, dettes_spl = {LIMIT}, "
                                              f"dettes_rnf = {LIMIT}, dettes_impots_pro = 0, dettes_compensables = 0, "
                                              "montant_compensable = 0, passif_declare = 0, "
                                              f"total_dettes = 3 * {LIMIT}, dettes_suspendues = 0, "
                                              f"dettes_poursuivables = 3 * {LIMIT}, "
                                              "nb_sources_dettes = 3 WHERE rowid = 0"], None),
    ("marts.positions", "a cent off at the limit", [f"UPDATE t SET dettes_amendes = {LIMIT}, dettes_spl = {LIMIT}, "
                                                    f"dettes_rnf = {LIMIT}, total_dettes = 3 * {LIMIT} - 0.01 "
                                                    "WHERE rowid = 0"], "totaux"),
    ("marts.positions", "procedure", ["UPDATE t SET procedure_collective = 'FAILLITE' WHERE rowid = 0"], "isin("),
    ("marts.positions", "huge", ["UPDATE t SET dettes_rnf = dettes_rnf + 5e12, total_dettes = total_dettes + 5e12, "
                                 "dettes_poursuivables = dettes_poursuivables + 5e12 "
                                 "WHERE dettes_rnf > 0 AND dettes_suspendues = 0"],
     None),
    ("marts.compensations", "clean", [], None),
    ("marts.compensations", "beyond both sides", ["UPDATE t SET montant_compensable = montant_compensable + 1"],
     "borne_par_les_deux_cotes"),
    ("marts.compensations", "own department without debt", [
        "UPDATE t SET departements_dettes = '17,95' WHERE siren = '812345676'"], "departement_dans_la_liste_si_dette"),
    ("marts.compensations", "nothing to offset", ["UPDATE t SET montant_compensable = 0, creances_departement = 0"],
     "greater_than(0)"),
    ("marts.declarations", "clean", [], None),
    ("marts.declarations", "foreclosed said to declare", ["UPDATE t SET etat = 'A_DECLARER' WHERE etat = 'FORCLOS'"],
     "delais_selon_etat"),
    ("marts.declarations", "to qualify with a deadline", [
        "UPDATE t SET date_limite_declaration = DATE '2027-01-18', date_limite_releve = DATE '2027-05-18' "
        "WHERE etat = 'A_QUALIFIER'"], "delais_selon_etat"),
    ("marts.declarations", "unknown publication with deadlines", [
        "UPDATE t SET etat = 'BODACC_INCONNU' WHERE etat = 'A_DECLARER'"], "delais_selon_etat"),
    ("marts.declarations", "declaring service", ["UPDATE t SET service_declarant = 'MAIRIE'"], "isin("),
    ("marts.declarations", "judged after the as-of date", [
        "UPDATE t SET date_jugement = date_situation + 1 WHERE rowid = 0"], "procedure_ouverte"),
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
    ("marts.positions_nationales", "declared claim offset", ["UPDATE t SET dettes_compensables = 1, "
                                                             "montant_compensable = 1 WHERE passif_declare > 0"],
     "compensation"),
    ("marts.positions_nationales", "sources", ["UPDATE t SET nb_sources_dettes = 5 - nb_sources_dettes "
                                               "WHERE rowid = 0"], "nb_sources_selon_montants"),
    ("marts.positions_nationales", "age", ["UPDATE t SET anciennete_jours = NULL"], "anciennete_si_dette"),
    ("marts.positions_nationales", "declared beyond taxes", [
        "UPDATE t SET passif_declare = dettes_impots_pro + dettes_a_echoir + 1, montant_compensable = 0"],
     "passif_dans_les_impots"),
    ("marts.positions_nationales", "empty", [EMPTY], "position_non_vide"),
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
    # history: a snapshot is validated for one department and date, the rest per department or whole
    ("history.positions_historique", "clean", [], None),
    ("history.positions_historique", "unique", [f"INSERT INTO t SELECT * FROM t WHERE date_situation = '{T1}' "
                                                "LIMIT 1"], "multiple_fields_uniqueness"),
    ("history.positions_historique", "totals", [f"UPDATE t SET total_dettes = total_dettes + 1 "
                                                f"WHERE date_situation = '{T1}'"], "totaux"),
    ("history.positions_historique", "declared claim offset", [
        "UPDATE t SET dettes_compensables = 1, montant_compensable = 1 WHERE passif_declare > 0"],
     "compensation"),
    ("history.positions_historique", "sources", [f"UPDATE t SET nb_sources_dettes = 4 WHERE date_situation = '{T1}'"],
     "nb_sources_selon_montants"),
    ("history.positions_historique", "age", [f"UPDATE t SET anciennete_jours = NULL WHERE date_situation = '{T1}'"],
     "anciennete_si_dette"),
    ("history.positions_historique", "declared beyond taxes", [
        "UPDATE t SET passif_declare = dettes_impots_pro + dettes_a_echoir + 1, montant_compensable = 0"],
     "passif_dans_les_impots"),
    ("history.positions_historique", "empty", [EMPTY.replace("rowid = 0", f"date_situation = '{T1}'")],
     "position_non_vide"),
    ("history.positions_historique", "another snapshot broken", [f"UPDATE t SET total_dettes = total_dettes + 1 "
                                                                 f"WHERE date_situation = '{T0}'"], None),
    ("history.lignes", "clean", [], None),
    ("history.lignes", "sens", [f"UPDATE t SET sens = 'X' WHERE date_situation = '{T1}'"], "isin("),
    ("history.lignes", "nature", [f"UPDATE t SET nature = 'PAIEMENT' WHERE date_situation = '{T1}'"], "isin("),
    ("history.lignes", "negative", [f"UPDATE t SET montant = -1 WHERE date_situation = '{T1}'"],
     "greater_than_or_equal_to(0)"),
    ("history.lignes", "key null", [f"UPDATE t SET cle = NULL WHERE date_situation = '{T1}'"], "not_nullable"),
    ("history.lignes", "siren", [f"UPDATE t SET siren = '12345678' WHERE date_situation = '{T1}'"], "str_matches("),
    ("history.lignes", "unique", [f"INSERT INTO t SELECT * FROM t WHERE date_situation = '{T1}' LIMIT 1"],
     "multiple_fields_uniqueness"),
    ("history.lignes", "float money", ["ALTER TABLE t ALTER montant_du TYPE DOUBLE"], "dtype('decimal(18, 2)')"),
    ("history.lignes", "flag null", [f"UPDATE t SET suivie = NULL WHERE date_situation = '{T1}'"], "not_nullable"),
    ("history.mouvements", "clean", [], None),
    ("history.mouvements", "zero", ["UPDATE t SET montant = 0 WHERE rowid = 0"], "greater_than(0)"),
    ("history.mouvements", "type", ["UPDATE t SET type = 'VIREMENT' WHERE rowid = 0"], "isin("),
    ("history.mouvements", "debt type on a credit", ["UPDATE t SET type = 'PAIEMENT' WHERE source = 'credits_tva'"],
     "type_selon_la_source"),
    ("history.mouvements", "credit type on a debt", ["UPDATE t SET type = 'IMPUTATION' WHERE source = 'spl'"],
     "type_selon_la_source"),
    ("history.mouvements", "pair", ["UPDATE t SET date_debut = date_fin"], "paire_ordonnee"),
    ("history.mouvements", "unique", ["INSERT INTO t SELECT * FROM t WHERE rowid = 0"],
     "multiple_fields_uniqueness"),
    ("history.mouvements", "siren null", ["UPDATE t SET siren = NULL WHERE rowid = 0"], "not_nullable"),
    ("history.impact", "clean", [], None),
    ("history.impact", "flagged beyond offsets", ["UPDATE t SET compense_signale = compense + 0.01"],
     "signale_borne"),
    ("history.impact", "at risk beyond refunds", ["UPDATE t SET rembourse_a_risque = rembourse + 0.01"],
     "signale_borne"),
    ("history.impact", "flagged beyond offsettable", ["UPDATE t SET compense_signale = compensable_debut + 1, "
                                                      "compense = compensable_debut + 1"], "signale_borne"),
    ("history.impact", "pair", ["UPDATE t SET date_fin = date_debut"], "signale_borne"),
    ("history.impact", "negative", ["UPDATE t SET recouvre = -1"], "greater_than_or_equal_to(0)"),
    ("history.impact", "unique", ["INSERT INTO t SELECT * FROM t"], "multiple_fields_uniqueness"),
    ("history.impact_national", "clean", [], None),
    ("history.impact_national", "rate above 1", ["UPDATE t SET taux_compensation = 1.5"],
     "less_than_or_equal_to(1)"),
    ("history.impact_national", "rate unknown", ["UPDATE t SET taux_compensation = NULL"], None),
    ("history.impact_national", "week", ["UPDATE t SET semaine = '2026-48'"], "str_matches("),
    ("history.impact_national", "group", ["UPDATE t SET groupe = 'tous'"], "isin("),
    ("history.impact_national", "departments", ["UPDATE t SET nb_departements = 0"], "greater_than_or_equal_to(1)"),
    ("history.impact_national", "stock", ["UPDATE t SET stock_dettes = -0.01"], "greater_than_or_equal_to(0)"),
    ("history.impact_national", "unique", ["INSERT INTO t SELECT * FROM t"], "multiple_fields_uniqueness"),
]


def _copy(samples_db: Path, table: str, statements: list[str]) -> duckdb.DuckDBPyConnection:
    with duckdb.connect(str(samples_db), read_only=True) as src:
        rows = src.sql(f"SELECT * FROM {table}").to_arrow_table()
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core; CREATE SCHEMA marts; CREATE SCHEMA history")
    con.register("rows_", rows)
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM rows_")  # no NOT NULL: corruptions may add nulls
    con.unregister("rows_")
    for statement in statements:
        con.execute(re.sub(r"\bt\b", table, statement))
    return con


def _validate(con: duckdb.DuckDBPyConnection, table: str) -> int:
    departement, when = _scope(table)
    return table_validation.validate_table(con, table, departement, when, MODELS[table])


def test_every_model_compiles_into_one_scan(samples_db: Path) -> None:
    with duckdb.connect(str(samples_db), read_only=True) as con:
        for table, model in MODELS.items():
            checked = table_validation.scan_failures(con, table, *_scope(table), model)
            assert checked is not None, table
            assert checked[0] > 0 and checked[1] == [], table


def test_inherited_checks_keep_their_names() -> None:
    for model in MODELS.values():
        schema = model.to_schema()
        names = [c.name for c in schema.checks] + [c.name for col in schema.columns.values() for c in col.checks]
        assert not [n for n in names if n.startswith("_")], model.__name__


def test_every_custom_check_has_a_broken_row() -> None:
    custom = {(table, str(c.name)) for table, model in MODELS.items() for c in model.to_schema().checks}
    tested = {(table, check) for table, _rule, _s, check in MUTATIONS if check}
    assert sorted(custom - tested) == []


@pytest.mark.parametrize(("table", "rule", "statements", "check"), MUTATIONS,
                         ids=[f"{t}-{r}" for t, r, _, _ in MUTATIONS])
def test_each_rule_catches_a_broken_row(samples_db: Path, table: str, rule: str, statements: list[str],
                                        check: str | None) -> None:
    con = _copy(samples_db, table, statements)
    departement, when = _scope(table)
    where, params = table_validation._scope(departement, when)
    count = con.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchall()[0][0]
    if check is None:
        assert _validate(con, table) == count
    else:
        with pytest.raises(TableCheckFailed) as caught:
            _validate(con, table)
        assert isinstance(caught.value.errors, pandera.errors.SchemaErrors)  # Pandera's verdict, its report kept
        named = [str(c) for c in caught.value.errors.failure_cases["check"]]
        assert any(check in c for c in named), f"{table} {rule}: {named}"
        message = str(caught.value)
        assert message.startswith(f"Contrôle de {table} (") and "échoué, rien n'est publié" in message
        assert "denomination" not in message and "{" not in message  # never a row as Pandera prints it
    # the scan flags exactly when Pandera itself, on the same rows, rejects them
    schema_name, name = table.split(".")
    rows = ibis.duckdb.from_connection(con).table(name, database=schema_name)
    if departement is not None:
        rows = rows.filter(rows.departement == departement)
    if when is not None:
        rows = rows.filter(rows.date_situation == when)
    try:
        MODELS[table].validate(rows, lazy=True)
        pandera_passes = True
    except pandera.errors.SchemaErrors:
        pandera_passes = False
    scanned = table_validation.scan_failures(con, table, departement, when, MODELS[table])
    assert pandera_passes == (check is None)
    if scanned is not None:
        assert (scanned[1] == []) == pandera_passes, f"{table} {rule}: scan {scanned[1]}"


@pytest.mark.parametrize(("table", "statement", "expected"), [
    ("marts.positions", "UPDATE t SET dettes_poursuivables = dettes_poursuivables + 1 "
                        "WHERE siren IN ('301122339', '612345009')",
     "Contrôle de marts.positions (département 17) échoué, rien n'est publié : totaux — lignes en cause : "
     "siren 301122339; siren 612345009"),
    ("core.lignes_dettes", "UPDATE t SET montant = -1 WHERE reference = '1700000000002'",
     "Contrôle de core.lignes_dettes (département 17) échoué, rien n'est publié : montant ≥ 0, reste_du_moins_paye, "
     "montant_si_nature — lignes en cause : siren 812345676 reference 1700000000002"),
    ("core.rattachement_amendes", "INSERT INTO t SELECT * FROM t WHERE num_amende = '1700000000004'",
     "Contrôle de core.rattachement_amendes (département 17) échoué, rien n'est publié : unicité de (departement, "
     "num_amende) — lignes en cause : num_amende 1700000000004"),
    ("history.lignes", f"UPDATE t SET sens = 'X' WHERE cle = '2026TVA0007' AND date_situation = '{T1}'",
     "Contrôle de history.lignes (département 17, instantané du 27/11/2026) échoué, rien n'est publié : sens parmi "
     "les valeurs permises — lignes en cause : siren 443210984 cle 2026TVA0007"),
    ("core.non_positionnees", "ALTER TABLE t DROP COLUMN reference",
     "Contrôle de core.non_positionnees (département 17) échoué, rien n'est publié : colonne reference absente, "
     "siren_vide_si_non_rattachee"),
    ("marts.panel_debiteurs_communs", "UPDATE t SET rang = 1",
     "Contrôle de marts.panel_debiteurs_communs (département 17) échoué, rien n'est publié : "
     "rangs_contigus_par_score"),
])
def test_the_message_names_checks_and_rows_by_identifiers_only(samples_db: Path, table: str, statement: str,
                                                               expected: str) -> None:
    con = _copy(samples_db, table, [statement])
    with pytest.raises(TableCheckFailed) as caught:
        _validate(con, table)
    assert str(caught.value) == expected


def test_inside_a_builders_transaction_on_a_session_cursor(samples_db: Path, tmp_path: Path) -> None:
    # the builders validate on their own cursor of the pipeline's session, before COMMIT, and go on afterwards
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"ATTACH '{samples_db}' AS s (READ_ONLY); CREATE SCHEMA marts; "
                    "CREATE TABLE marts.positions AS SELECT * FROM s.marts.positions; DETACH s")
    with warehouse.session(path), warehouse.connect(path) as cur:
        cur.execute("SET TimeZone = 'Europe/Paris'")
        cur.execute("BEGIN TRANSACTION")
        assert table_validation.validate_table(cur, "marts.positions", "17") == 11
        cur.execute("UPDATE marts.positions SET dettes_poursuivables = dettes_poursuivables + 1 "
                    "WHERE siren = '301122339'")
        with pytest.raises(TableCheckFailed, match="siren 301122339"):  # pandera.ibis judged, in the transaction
            table_validation.validate_table(cur, "marts.positions", "17")
        cur.execute("ROLLBACK")
        assert cur.execute("SELECT current_setting('TimeZone'), current_setting('python_enable_replacements')"
                           ).fetchall() == [("Europe/Paris", True)]
        assert table_validation.validate_table(cur, "marts.positions", "17") == 11


def test_pandera_leaves_the_connection_settings_as_they_were(samples_db: Path) -> None:
    # Ibis sets TimeZone and python_enable_replacements on a connection it wraps; the pipeline's session goes on
    con = _copy(samples_db, "marts.positions", ["UPDATE t SET dettes_poursuivables = dettes_poursuivables + 1"])
    con.execute("SET TimeZone = 'Europe/Paris'")
    with pytest.raises(TableCheckFailed):
        table_validation.validate_table(con, "marts.positions", "17")  # the scan flags: pandera.ibis judges
    assert con.execute("SELECT current_setting('TimeZone'), current_setting('python_enable_replacements')"
                       ).fetchall() == [("Europe/Paris", True)]
