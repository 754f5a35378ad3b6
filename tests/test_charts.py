# ruff: noqa: E501  (fixture tables: one source line per warehouse row reads best)
"""Charts and key figures read back from a hand-built warehouse.

The fixture (`build_warehouse`) follows docs/warehouse.md: department 17 is the
shared sample (positions of ``samples/expected/positions_17.csv`` and the lines
of the sample extracts, computed by hand), department 91 holds a company whose
name is an HTML injection. test_dashboard.py and test_fiche.py reuse it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import duckdb
import pytest

from onevision_dagster.reports.charts import build_figures
from onevision_dagster.reports.dashboard_data import ANCIENNETE_TRANCHES, SOLDE_TRANCHES, load_dashboard_data
from onevision_dagster.reports.formatting import NBSP, format_date, format_euros, format_nombre, format_pourcentage
from onevision_dagster.reports.key_figures import key_figures, summary_markdown
from onevision_dagster.reports.labels import label_entreprise
from onevision_dagster.warehouse import create_raw_and_quality

XSS = "<script>alert(1)</script>"
XSS_SIREN = "123456782"
D = Decimal

POSITION_COLUMNS = (
    "siren,denomination,departement,date_situation,dettes_amendes,dettes_spl,dettes_impots_pro,dettes_rnf,"
    "total_dettes,creances_tva,creances_excedents,creances_is,total_creances,creances_potentielles,solde,"
    "dettes_compensables,montant_compensable,nb_sources_dettes,anciennete_jours,procedure_collective"
)
# samples/expected/positions_17.csv, then department 91 (made up for the escaping tests)
POSITIONS_CSV = (
    POSITION_COLUMNS
    + "\n"
    + """\
356000000,LA POSTE,17,2026-11-20,0.00,2500.00,0.00,0.00,2500.00,0.00,0.00,0.00,0.00,0.00,-2500.00,0.00,0.00,1,264,
443210984,TRANSPORTS CHARENTAIS,17,2026-11-20,1000.00,0.00,18035.30,0.00,19035.30,12500.00,0.00,0.00,12500.00,7000.00,-6535.30,18035.30,12500.00,2,340,
520987611,ÉCURIES DE L'ÎLE DE RÉ,17,2026-11-20,450.00,980.00,24200.00,0.00,25630.00,9000.00,0.00,0.00,9000.00,0.00,-16630.00,24200.00,0.00,3,554,REDRESSEMENT
612345009,SOLAIRE ATLANTIQUE,17,2026-11-20,0.00,0.00,1375.00,12000.00,13375.00,0.00,20000.00,0.00,20000.00,0.00,6625.00,1375.00,1375.00,2,235,
790112239,GARAGE MARTIN,17,2026-11-20,0.00,2310.00,8030.00,0.00,10340.00,0.00,0.00,5000.00,5000.00,0.00,-5340.00,0.00,0.00,2,189,
800000010,OSTREICULTURE MARENNES OLERON,17,2026-11-20,375.00,0.00,0.00,2000.00,2375.00,0.00,3200.00,0.00,3200.00,1700.00,825.00,0.00,0.00,2,193,
812345676,BOULANGERIE DU PORT,17,2026-11-20,645.00,1840.50,987.00,845.00,4317.50,0.00,0.00,0.00,0.00,800.00,-4317.50,0.00,0.00,4,616,
908070600,ASSOCIATION LES GOELANDS,17,2026-11-20,0.00,210.00,0.00,0.00,210.00,0.00,0.00,0.00,0.00,0.00,-210.00,0.00,0.00,1,199,
123456782,<script>alert(1)</script>,91,2026-11-18,0.00,500.00,3000.00,0.00,3500.00,0.00,1234.56,0.00,1234.56,0.00,-2265.44,3000.00,1234.56,2,100,
552100554,"Dupont & Fils \"\"<b>SA</b>\"\"",91,2026-11-18,250.00,0.00,0.00,0.00,250.00,0.00,0.00,0.00,0.00,0.00,-250.00,0.00,0.00,1,40,
"""
)

# (departement, siren, source, reference, date_ligne, montant, statut, etape, ouverte, nature,
#  compensable, sursis, conteste, fichier, ligne)
F17 = "{}_17_20261120.csv"
DETTES = [
    ("17", "812345676", "amendes", "1700000000001", "2026-03-15", "375.00", "EN_RECOUVREMENT", None, True, None, False, False, False, F17.format("amendes"), 2),
    ("17", "812345676", "amendes", "1700000000002", "2026-04-20", "135.00", "EN_RECOUVREMENT", None, True, None, False, False, False, F17.format("amendes"), 3),
    ("17", "812345676", "amendes", "1700000000003", "2026-07-30", "135.00", "EN_RECOUVREMENT", None, True, None, False, False, False, F17.format("amendes"), 4),
    ("17", None, "amendes", "1700000000004", "2026-08-10", "750.00", "EN_RECOUVREMENT", None, True, None, False, False, False, F17.format("amendes"), 5),
    ("17", "443210984", "amendes", "1700000000005", "2026-08-11", "1000.00", "EN_RECOUVREMENT", None, True, None, False, False, False, F17.format("amendes"), 6),
    ("17", "443210984", "amendes", "1700000000006", "2026-08-12", "0.00", "PAYEE", None, False, None, False, False, False, F17.format("amendes"), 7),
    ("17", "520987611", "amendes", "1700000000011", "2026-08-16", "450.00", "EN_RECOUVREMENT", None, True, None, False, False, False, F17.format("amendes"), 12),
    ("17", None, "amendes", "1700000000013", "2026-08-18", "135.00", "EN_RECOUVREMENT", None, True, None, False, False, False, F17.format("amendes"), 14),
    ("17", "800000010", "amendes", "1700000000014", "2026-08-19", "375.00", "EN_RECOUVREMENT", None, True, None, False, False, False, F17.format("amendes"), 15),
    ("17", "424242428", "amendes", "1700000000015", "2026-08-20", "135.00", "EN_RECOUVREMENT", None, True, None, False, False, False, F17.format("amendes"), 16),
    ("17", "812345676", "spl", "17300/2025/1542", "2025-03-14", "1200.00", "OUVERT", "RELANCE", True, None, False, False, False, F17.format("spl"), 2),
    ("17", "812345676", "spl", "17300/2026/88", "2026-02-02", "640.50", "OUVERT", "AMIABLE", True, None, False, False, False, F17.format("spl"), 3),
    ("17", "790112239", "spl", "17306/2026/301", "2026-05-15", "2310.00", "OUVERT", "CONTESTATION", True, None, False, False, True, F17.format("spl"), 4),
    ("17", "520987611", "spl", "17415/2026/12", "2026-01-20", "980.00", "OUVERT", "MISE_EN_DEMEURE", True, None, False, False, False, F17.format("spl"), 5),
    ("17", "356000000", "spl", "17300/2026/400", "2026-03-01", "2500.00", "OUVERT", "AMIABLE", True, None, False, False, False, F17.format("spl"), 6),
    ("17", "443210984", "spl", "17300/2024/77", "2024-10-10", "0.00", "SOLDE", "SAISIE", False, None, False, False, False, F17.format("spl"), 9),
    ("17", "908070600", "spl", "17415/2026/5", "2026-05-05", "210.00", "OUVERT", "RELANCE", True, None, False, False, False, F17.format("spl"), 10),
    ("17", "443210984", "impots_pro", "2025CFE0001", "2025-12-15", "4535.30", "OUVERT", "SATD", True, None, True, False, False, F17.format("impots_pro"), 2),
    ("17", "443210984", "impots_pro", "2026TVA0007", "2026-08-24", "13500.00", "OUVERT", "MISE_EN_DEMEURE", True, None, True, False, False, F17.format("impots_pro"), 3),
    ("17", "790112239", "impots_pro", "2026TVA0100", "2026-06-24", "8030.00", "OUVERT", "MISE_EN_DEMEURE", True, None, False, True, True, F17.format("impots_pro"), 4),
    ("17", "520987611", "impots_pro", "2025IS00055", "2025-05-15", "24200.00", "OUVERT", "PASSIF_PROCEDURE", True, None, True, False, False, F17.format("impots_pro"), 5),
    ("17", "812345676", "impots_pro", "2026CFE0002", "2026-12-15", "987.00", "OUVERT", "AMIABLE", True, None, False, False, False, F17.format("impots_pro"), 6),
    ("17", "812345676", "impots_pro", "2025CFE0002", "2025-12-15", "0.00", "SOLDE", "AMIABLE", False, None, False, False, False, F17.format("impots_pro"), 7),
    ("17", "999999998", "impots_pro", "2026CFE0999", "2026-12-15", "500.00", "OUVERT", "AMIABLE", True, None, False, False, False, F17.format("impots_pro"), 10),
    ("17", "612345009", "impots_pro", "2026TS00001", "2026-04-15", "1375.00", "OUVERT", "MISE_EN_DEMEURE", True, None, True, False, False, F17.format("impots_pro"), 11),
    ("17", "812345676", "rnf", "2026-RNF-000101", "2026-04-02", "845.00", "EN_RECOUVREMENT", None, True, None, False, False, False, F17.format("rnf"), 2),
    ("17", "800000010", "rnf", "2026-RNF-000102", "2026-05-11", "2000.00", "PRIS_EN_CHARGE", None, True, None, False, False, False, F17.format("rnf"), 3),
    ("17", "443210984", "rnf", "2026-RNF-000103", "2026-01-20", "0.00", "SOLDE", None, False, None, False, False, False, F17.format("rnf"), 4),
    ("17", "612345009", "rnf", "2026-RNF-000105", "2026-03-30", "12000.00", "EN_RECOUVREMENT", None, True, None, False, False, False, F17.format("rnf"), 6),
    ("91", XSS_SIREN, "impots_pro", "2026TS91001", "2026-08-10", "3000.00", "OUVERT", "SATD", True, None, True, False, False, "impots_pro_91_20261118.csv", 2),
    ("91", XSS_SIREN, "spl", "91228/2026/7", "2026-09-01", "500.00", "OUVERT", "AMIABLE", True, None, False, False, False, "spl_91_20261118.csv", 2),
    ("91", "552100554", "amendes", "9100000000001", "2026-10-09", "250.00", "EN_RECOUVREMENT", None, True, None, False, False, False, "amendes_91_20261118.csv", 2),
]  # fmt: skip
CREANCES = [
    ("17", "443210984", "credits_tva", "3519-2026-0001", "2026-07-15", "12500.00", "ACCORDEE", None, True, "CERTAINE", True, False, False, F17.format("credits_tva"), 2),
    ("17", "812345676", "credits_tva", "3519-2026-0002", "2026-10-01", "800.00", "EN_INSTRUCTION", None, True, "POTENTIELLE", False, False, False, F17.format("credits_tva"), 3),
    ("17", "520987611", "credits_tva", "3519-2026-0003", "2026-05-20", "9000.00", "ACCORDEE", None, True, "CERTAINE", True, False, False, F17.format("credits_tva"), 4),
    ("17", "800000010", "credits_tva", "3519-2026-0004", "2026-03-10", "0.00", "REMBOURSEE", None, False, "AUCUNE", False, False, False, F17.format("credits_tva"), 5),
    ("17", "800000010", "credits_tva", "3519-2026-0006", "2026-09-11", "1700.00", "DEPOSEE", None, True, "POTENTIELLE", False, False, False, F17.format("credits_tva"), 7),
    ("17", "800000010", "excedents", "EXC-2026-0001", "2026-05-30", "3200.00", "A_RESTITUER", None, True, "CERTAINE", True, False, False, F17.format("excedents"), 2),
    ("17", "812345676", "excedents", "EXC-2026-0002", "2026-01-15", "0.00", "RESTITUE", None, False, "AUCUNE", False, False, False, F17.format("excedents"), 3),
    ("17", "612345009", "excedents", "EXC-2026-0003", "2026-06-15", "20000.00", "A_RESTITUER", None, True, "CERTAINE", True, False, False, F17.format("excedents"), 4),
    ("17", "790112239", "creances_is", "CIS-2026-0001", "2026-09-01", "5000.00", "REMBOURSABLE", None, True, "CERTAINE", True, False, False, F17.format("creances_is"), 2),
    ("17", "443210984", "creances_is", "CIS-2026-0002", "2030-06-01", "7000.00", "EN_COURS", None, True, "POTENTIELLE", False, False, False, F17.format("creances_is"), 3),
    ("17", "908070600", "creances_is", "CIS-2026-0003", "2027-01-01", "0.00", "REMBOURSEE", None, False, "AUCUNE", False, False, False, F17.format("creances_is"), 4),
    ("91", XSS_SIREN, "excedents", "EXC-91-0001", "2026-07-01", "1234.56", "A_RESTITUER", None, True, "CERTAINE", True, False, False, "excedents_91_20261118.csv", 2),
]  # fmt: skip

# siren, denomination, sigle, categorie_juridique, adresse, code_postal, commune, departement,
# date_creation, etat_administratif, procedure_collective, date_jugement
ENTREPRISES = [
    ("812345676", "BOULANGERIE DU PORT", None, "5499", "12 QUAI DUPERRE", "17000", "LA ROCHELLE", "17", "2015-03-02", "A", None, None),
    ("443210984", "TRANSPORTS CHARENTAIS", "TC", "5710", "ZI DE PERIGNY", "17180", "PERIGNY", "17", "2001-06-15", "A", None, None),
    ("520987611", "ÉCURIES DE L'ÎLE DE RÉ", None, "5499", "2 RUE DES SALINES", "17410", "SAINT-MARTIN-DE-RE", "17", "2010-04-01", "A", "REDRESSEMENT", "2026-06-12"),
    ("790112239", "GARAGE MARTIN", None, "5499", "5 AVENUE DE ROCHEFORT", "17300", "ROCHEFORT", "17", "2013-01-10", "A", None, None),
    ("314159260", "GARAGE MARTIN", None, "5710", "40 RUE DE LA REPUBLIQUE", "17300", "ROCHEFORT", "17", "1999-09-09", "C", None, None),
    ("908070600", "ASSOCIATION LES GOELANDS", None, "9220", "1 PLACE DE VERDUN", "17000", "LA ROCHELLE", "17", "2005-05-05", "A", None, None),
    ("500123450", "COMMUNE DE SAINTES", None, "7210", "SQUARE ANDRE MAUDET", "17100", "SAINTES", "17", "1983-01-01", "A", None, None),
    ("424242428", "DUPONT JEAN", None, "1000", "3 RUE BASSE", "17200", "ROYAN", "17", "2018-02-02", "A", None, None),
    ("800000010", "OSTREICULTURE MARENNES OLERON", "OMO", "5710", "PORT DE LA CAYENNE", "17320", "MARENNES-HIERS-BROUAGE", "17", "2014-07-07", "A", None, None),
    ("612345009", "SOLAIRE ATLANTIQUE", None, "5599", "8 RUE DE LA MUSE", "95000", "CERGY", "95", "2012-12-12", "A", None, None),
    ("356000000", "LA POSTE", None, "5510", "9 RUE DU COLONEL PIERRE AVIA", "75015", "PARIS", "75", "1991-01-01", "A", None, None),
    (XSS_SIREN, XSS, "<b>X</b>", "5499", '<img src=x onerror="alert(2)">', "91000", "EVRY", "91", "2020-01-01", "C", None, None),
    ("552100554", 'Dupont & Fils "<b>SA</b>"', None, "5499", "1 RUE DE LA PAIX", "91000", "EVRY", "91", "2019-01-01", "A", None, None),
]  # fmt: skip

# panel ranks as the consolidation would give them (by score)
PANEL = {
    "17": [
        ("520987611", "PASSIF_PROCEDURE", "61.90"),
        ("443210984", "SATD", "58.84"),
        ("812345676", "RELANCE", "49.76"),
        ("790112239", "MISE_EN_DEMEURE", "43.47"),
        ("612345009", "MISE_EN_DEMEURE", "40.24"),
        ("800000010", None, "31.37"),
    ],
    "91": [(XSS_SIREN, "SATD", "42.00")],
}

# source, departement, fichier, lues, gardees, rejetees
CHARGEMENTS = [
    ("entreprises", None, "entreprises_20261120.csv", 12, 11, 1),
    ("amendes", "17", F17.format("amendes"), 16, 10, 6),
    ("spl", "17", F17.format("spl"), 9, 7, 2),
    ("impots_pro", "17", F17.format("impots_pro"), 10, 8, 2),
    ("rnf", "17", F17.format("rnf"), 6, 4, 2),
    ("credits_tva", "17", F17.format("credits_tva"), 6, 5, 1),
    ("excedents", "17", F17.format("excedents"), 3, 3, 0),
    ("creances_is", "17", F17.format("creances_is"), 3, 3, 0),
    ("amendes", "91", "amendes_91_20261118.csv", 3, 1, 2),
    ("rnf", "91", None, 0, 0, 0),
]
# samples/expected/rejets.csv with their reasons, plus two rejects in 91
REJETS = [
    ("entreprises", None, "entreprises_20261120.csv", 13, "siren", "DOUBLON"),
    ("amendes", "17", F17.format("amendes"), 8, "DATE_MAJORATION", "DATE_INVALIDE"),
    ("amendes", "17", F17.format("amendes"), 9, "MONTANT_MAJORE", "MONTANT_INVALIDE"),
    ("amendes", "17", F17.format("amendes"), 10, "MONTANT_PAYE", "INCOHERENCE"),
    ("amendes", "17", F17.format("amendes"), 11, "NUM_AMENDE", "DOUBLON"),
    ("amendes", "17", F17.format("amendes"), 13, "STATUT", "CODE_INCONNU"),
    ("amendes", "17", F17.format("amendes"), 17, None, "NB_CELLULES"),
    ("credits_tva", "17", F17.format("credits_tva"), 6, "MONTANT_ACCORDE", "INCOHERENCE"),
    ("impots_pro", "17", F17.format("impots_pro"), 8, "CODE_IMPOT", "CODE_INCONNU"),
    ("impots_pro", "17", F17.format("impots_pro"), 9, "DATE_EXIGIBILITE", "DATE_INVALIDE"),
    ("rnf", "17", F17.format("rnf"), 5, "identifiant_debiteur", "IDENTIFIANT_INVALIDE"),
    ("rnf", "17", F17.format("rnf"), 7, "montant", "MONTANT_NEGATIF"),
    ("spl", "17", F17.format("spl"), 7, "siret_debiteur", "IDENTIFIANT_INVALIDE"),
    ("spl", "17", F17.format("spl"), 8, "reste_a_recouvrer", "INCOHERENCE"),
    ("amendes", "91", "amendes_91_20261118.csv", 3, "DATE_MAJORATION", "DATE_INVALIDE"),
    ("amendes", "91", "amendes_91_20261118.csv", 4, "RAISON_SOCIALE", "VALEUR_MANQUANTE"),
]
# departement, num_amende, ligne, methode, siren, motif
RATTACHEMENT = [
    ("17", "1700000000001", 2, "SIREN", "812345676", None),
    ("17", "1700000000002", 3, "SIREN_SANS_ESPACES", "812345676", None),
    ("17", "1700000000003", 4, "NOM_CODE_POSTAL", "812345676", None),
    ("17", "1700000000004", 5, None, None, "AMBIGUE"),
    ("17", "1700000000005", 6, "NOM_CODE_POSTAL", "443210984", None),
    ("17", "1700000000006", 7, "SIREN", "443210984", None),
    ("17", "1700000000011", 12, "NOM_CODE_POSTAL", "520987611", None),
    ("17", "1700000000013", 14, None, None, "AUCUN_CANDIDAT"),
    ("17", "1700000000014", 15, "SIGLE_CODE_POSTAL", "800000010", None),
    ("17", "1700000000015", 16, "SIREN", "424242428", None),
    ("91", "9100000000001", 2, "SIREN", "552100554", None),
]
NON_POSITIONNEES = [
    ("17", "amendes", F17.format("amendes"), 5, "1700000000004", "NON_RATTACHEE", None),
    ("17", "amendes", F17.format("amendes"), 14, "1700000000013", "NON_RATTACHEE", None),
    ("17", "amendes", F17.format("amendes"), 16, "1700000000015", "HORS_PERIMETRE", "424242428"),
    ("17", "impots_pro", F17.format("impots_pro"), 10, "2026CFE0999", "SIREN_INCONNU", "999999998"),
]

_MONEY = "DECIMAL(18,2)"
_POSITION_BODY = f"""siren VARCHAR NOT NULL, denomination VARCHAR, {{dept}} VARCHAR NOT NULL, date_situation DATE,
    dettes_amendes {_MONEY}, dettes_spl {_MONEY}, dettes_impots_pro {_MONEY}, dettes_rnf {_MONEY},
    total_dettes {_MONEY}, creances_tva {_MONEY}, creances_excedents {_MONEY}, creances_is {_MONEY},
    total_creances {_MONEY}, creances_potentielles {_MONEY}, solde {_MONEY}, dettes_compensables {_MONEY},
    montant_compensable {_MONEY}, nb_sources_dettes INTEGER, anciennete_jours INTEGER,
    procedure_collective VARCHAR"""
_LIGNES_BODY = f"""departement VARCHAR NOT NULL, siren VARCHAR, source VARCHAR NOT NULL, reference VARCHAR NOT NULL,
    date_ligne DATE, montant {_MONEY} NOT NULL, statut VARCHAR, etape VARCHAR, ouverte BOOLEAN NOT NULL,
    nature VARCHAR, compensable BOOLEAN NOT NULL, sursis BOOLEAN NOT NULL, conteste BOOLEAN NOT NULL,
    fichier VARCHAR, ligne INTEGER, date_extraction DATE"""
_PANEL_BODY = f"""rang INTEGER NOT NULL, siren VARCHAR NOT NULL, denomination VARCHAR, {{dept}} VARCHAR NOT NULL,
    nb_sources_dettes INTEGER NOT NULL, total_dettes {_MONEY} NOT NULL, dettes_amendes {_MONEY} NOT NULL,
    dettes_spl {_MONEY} NOT NULL, dettes_impots_pro {_MONEY} NOT NULL, dettes_rnf {_MONEY} NOT NULL,
    anciennete_jours INTEGER, etape_la_plus_avancee VARCHAR, score DECIMAL(5,2) NOT NULL"""
CORE_MARTS_DDL = (
    "CREATE SCHEMA IF NOT EXISTS core",
    "CREATE SCHEMA IF NOT EXISTS marts",
    """CREATE TABLE core.rattachement_amendes (departement VARCHAR, num_amende VARCHAR, fichier VARCHAR,
        ligne INTEGER, raison_sociale VARCHAR, code_postal VARCHAR, siren_source VARCHAR, nom_normalise VARCHAR,
        methode VARCHAR, siren VARCHAR, motif VARCHAR, nb_candidats INTEGER)""",
    f"CREATE TABLE core.lignes_dettes ({_LIGNES_BODY})",
    f"CREATE TABLE core.lignes_creances ({_LIGNES_BODY})",
    """CREATE TABLE core.non_positionnees (departement VARCHAR, source VARCHAR, fichier VARCHAR, ligne INTEGER,
        reference VARCHAR, motif VARCHAR, siren VARCHAR)""",
    f"CREATE TABLE marts.positions ({_POSITION_BODY.format(dept='departement')})",
    f"CREATE TABLE marts.positions_nationales ({_POSITION_BODY.format(dept='departements')})",
    f"CREATE TABLE marts.panel_debiteurs_communs ({_PANEL_BODY.format(dept='departement')})",
    f"CREATE TABLE marts.panel_debiteurs_communs_national ({_PANEL_BODY.format(dept='departements')})",
)


def build_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Fills every table the reports read (docs/warehouse.md) with the fixture above."""
    create_raw_and_quality(con)
    for stmt in CORE_MARTS_DDL:
        con.execute(stmt)
    rows = list(csv.DictReader(io.StringIO(POSITIONS_CSV)))
    cols = POSITION_COLUMNS.split(",")
    con.executemany(
        f"INSERT INTO marts.positions ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [[r[c] if r[c] != "" else None for c in cols] for r in rows],
    )
    # each SIREN of the fixture is in one department only: the national row is its row
    con.execute("INSERT INTO marts.positions_nationales SELECT * FROM marts.positions")
    for dept, entries in PANEL.items():
        for rang, (siren, etape, score) in enumerate(entries, start=1):
            con.execute(
                """INSERT INTO marts.panel_debiteurs_communs
                   SELECT ?, siren, denomination, departement, nb_sources_dettes, total_dettes, dettes_amendes,
                          dettes_spl, dettes_impots_pro, dettes_rnf, anciennete_jours, ?, ?
                   FROM marts.positions WHERE siren = ? AND departement = ?""",
                [rang, etape, score, siren, dept],
            )
    con.execute(
        """INSERT INTO marts.panel_debiteurs_communs_national
           SELECT row_number() OVER (ORDER BY score DESC, siren), siren, denomination, departement,
                  nb_sources_dettes, total_dettes, dettes_amendes, dettes_spl, dettes_impots_pro, dettes_rnf,
                  anciennete_jours, etape_la_plus_avancee, score
           FROM marts.panel_debiteurs_communs"""
    )
    for table, lines in (("core.lignes_dettes", DETTES), ("core.lignes_creances", CREANCES)):
        con.executemany(
            f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[*line, "2026-11-20" if line[0] == "17" else "2026-11-18"] for line in lines],
        )
    con.executemany(
        "INSERT INTO raw.entreprises (siren, denomination, sigle, categorie_juridique, adresse, code_postal, "
        "commune, departement, date_creation, etat_administratif, procedure_collective, date_jugement, "
        "fichier, ligne, date_extraction) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-11-20')",
        [[*e, "entreprises_20261120.csv", i] for i, e in enumerate(ENTREPRISES, start=2)],
    )
    con.executemany(
        "INSERT INTO quality.chargements VALUES (?, ?, ?, DATE '2026-11-20', ?, ?, ?, NULL, now())",
        CHARGEMENTS,
    )
    con.executemany(
        "INSERT INTO quality.rejets VALUES (?, ?, ?, DATE '2026-11-20', ?, ?, ?, 'message', 'contenu')",
        REJETS,
    )
    con.executemany(
        "INSERT INTO core.rattachement_amendes (departement, num_amende, ligne, methode, siren, motif) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        RATTACHEMENT,
    )
    con.executemany("INSERT INTO core.non_positionnees VALUES (?, ?, ?, ?, ?, ?, ?)", NON_POSITIONNEES)


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    build_warehouse(connection)
    yield connection
    connection.close()


# ------------------------------------------------------------------ formatting


def test_format_euros_is_french_and_exact() -> None:
    assert format_euros(D("12345.67")) == f"12{NBSP}345,67{NBSP}€"
    assert format_euros(1234567) == f"12{NBSP}345,67{NBSP}€"  # integer = cents
    assert format_euros(D("-1234567.5")) == f"-1{NBSP}234{NBSP}567,50{NBSP}€"
    assert format_euros(0.1 + 0.2) == f"0,30{NBSP}€"  # no float drift
    assert format_euros(D("2.675")) == f"2,68{NBSP}€"  # half up, exact
    assert format_euros(D("-0.001")) == f"0,00{NBSP}€"  # never "-0,00"
    assert format_euros(D("999.5"), decimales=False) == f"1{NBSP}000{NBSP}€"
    assert format_euros(None) == "—"
    assert format_nombre(2_500_000) == f"2{NBSP}500{NBSP}000"
    assert format_nombre(D("61.9"), 2) == "61,90"
    assert format_pourcentage(8, 10) == f"80,0{NBSP}%"
    assert format_pourcentage(1, 0) == "—"
    assert format_date(dt.date(2026, 3, 1)) == "01/03/2026"
    assert format_date("2026-11-20") == "20/11/2026"


# ------------------------------------------------------------------ data


def test_totals_of_department_17_match_the_sample_by_hand(con: duckdb.DuckDBPyConnection) -> None:
    data = load_dashboard_data(con, "17")
    t = data.totaux
    assert data.date_situation == dt.date(2026, 11, 20)
    assert t["nb_entreprises"] == 8
    assert t["total_dettes"] == D("77782.80")
    assert (t["dettes_amendes"], t["dettes_spl"], t["dettes_impots_pro"], t["dettes_rnf"]) == (
        D("2470.00"),
        D("7840.50"),
        D("52627.30"),
        D("14845.00"),
    )
    assert t["total_creances"] == D("49700.00")
    assert t["creances_potentielles"] == D("9500.00")
    assert t["solde"] == D("-28082.80")
    assert t["montant_compensable"] == D("13875.00")  # 12 500 (TRANSPORTS) + 1 375 (SOLAIRE)
    assert t["nb_compensables"] == 2
    # ÉCURIES: 9 000 € of credits against 24 200 € of due taxes, blocked by its redressement
    assert (t["nb_compensation_bloquee"], t["montant_compensation_bloquee"]) == (1, D("9000.00"))
    assert t["nb_debiteurs_communs"] == 6
    assert list(data.top_compensation["siren"]) == ["443210984", "612345009"]


def test_national_scope_adds_the_other_departments(con: duckdb.DuckDBPyConnection) -> None:
    data = load_dashboard_data(con, None)
    assert data.libelle == "France entière"
    assert data.totaux["nb_entreprises"] == 10
    assert data.totaux["total_dettes"] == D("81532.80")  # 77 782,80 + 3 500 + 250
    assert data.totaux["montant_compensable"] == D("15109.56")
    assert data.date_situation == dt.date(2026, 11, 20)
    assert list(data.top_compensation["siren"]) == ["443210984", "612345009", XSS_SIREN]
    # the national quality view sums every department and the register once
    assert int(data.chargements["lignes_lues"].sum()) == 65 + 3


def test_key_figures_and_summary(con: duckdb.DuckDBPyConnection) -> None:
    data = load_dashboard_data(con, "17")
    k = key_figures(data)
    assert k["date_situation"] == "2026-11-20"
    assert k["total_dettes_euros"] == 77782.80
    assert k["montant_compensable_euros"] == 13875.0
    assert k["nb_entreprises_compensables"] == 2
    # register (12 read, 1 rejected) counts in every department's quality figures
    assert (k["lignes_lues"], k["lignes_gardees"], k["lignes_rejetees"]) == (65, 51, 14)
    assert (k["amendes_rattachees"], k["amendes_total"], k["taux_rattachement_amendes_pct"]) == (8, 10, 80.0)
    assert k["lignes_non_positionnees"] == 4
    md = summary_markdown(data)
    assert "situation au 20/11/2026" in md
    assert f"77{NBSP}782,80{NBSP}€" in md
    assert f"13{NBSP}875,00{NBSP}€" in md
    assert "BOULANGERIE" not in md  # aggregates only, no company name in metadata


def test_missing_quality_tables_give_empty_sections(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE quality.rejets")
    data = load_dashboard_data(con, "17")
    assert data.rejets.empty
    assert data.tables_absentes == ["quality.rejets"]
    assert "Aucune ligne rejetée" in build_figures(data)["rejets"][1].layout.annotations[0].text


# ------------------------------------------------------------------ figures


def unwrap(labels) -> list[str]:
    """Axis labels are wrapped on several lines with <br>."""
    return [str(label).replace("<br>", " ") for label in labels]


def test_debts_and_credits_by_source(con: duckdb.DuckDBPyConnection) -> None:
    figs = build_figures(load_dashboard_data(con, "17"))
    dettes = figs["dettes"][1]
    assert dettes.data[0].x[1] == "Produits locaux<br>(Hélios)"
    assert unwrap(dettes.data[0].x) == [
        "Amendes",
        "Produits locaux (Hélios)",
        "Impôts professionnels",
        "Recettes non fiscales",
    ]
    assert list(dettes.data[0].y) == [2470.0, 7840.5, 52627.3, 14845.0]
    assert dettes.layout.separators == f",{NBSP}"
    assert [c[0] for c in dettes.data[0].customdata] == [
        f"2{NBSP}470,00{NBSP}€",
        f"7{NBSP}840,50{NBSP}€",
        f"52{NBSP}627,30{NBSP}€",
        f"14{NBSP}845,00{NBSP}€",
    ]
    assert [c[1] for c in dettes.data[0].customdata] == ["4", "5", "5", "3"]  # companies per source
    assert "€" in dettes.data[0].hovertemplate or "€" in dettes.layout.yaxis.ticksuffix
    assert dettes.layout.yaxis.ticksuffix == f"{NBSP}€"
    assert f"total 77{NBSP}782,80{NBSP}€" in dettes.layout.title.text

    creances = figs["creances"][1]
    assert list(creances.data[0].y) == [21500.0, 23200.0, 5000.0, 9500.0]
    assert list(creances.data[0].marker.pattern.shape) == ["", "", "", "/"]  # potential credits hatched
    assert f"certaines : 49{NBSP}700,00{NBSP}€" in creances.layout.title.text


def test_net_balance(con: duckdb.DuckDBPyConnection) -> None:
    figs = build_figures(load_dashboard_data(con, "17"))
    bilan = figs["bilan"][1].data[0]
    assert list(bilan.y) == [49700.0, -77782.8, -28082.8]
    assert list(bilan.customdata)[-1] == f"-28{NBSP}082,80{NBSP}€"
    solde = figs["solde"][1].data[0]
    assert unwrap(solde.x) == list(SOLDE_TRANCHES)
    # -16 630 | -2 500, -6 535,30, -5 340, -4 317,50 | -210 | 6 625, 825
    assert list(solde.y) == [0, 1, 4, 1, 0, 2, 0]
    assert solde.customdata[2][1] == f"-18{NBSP}692,80{NBSP}€"


def test_offsetting_opportunities(con: duckdb.DuckDBPyConnection) -> None:
    fig = build_figures(load_dashboard_data(con, "17"))["compensation"][1]
    bar = fig.data[0]
    assert list(bar.x) == [1375.0, 12500.0]  # largest on top of a horizontal chart
    assert list(bar.y) == ["SOLAIRE ATLANTIQUE (612345009)", "TRANSPORTS CHARENTAIS (443210984)"]
    assert bar.customdata[1][1] == f"12{NBSP}500,00{NBSP}€"
    assert bar.customdata[1][3] == f"18{NBSP}035,30{NBSP}€"  # due taxes that could be offset
    assert f"13{NBSP}875,00{NBSP}€ pour 2 entreprise(s)" in fig.layout.title.text


def test_offsetting_top_is_ten_and_escaped(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """INSERT INTO marts.positions SELECT lpad((100000000 + i)::VARCHAR, 9, '0'), 'FILLER ' || i, '91',
           DATE '2026-11-18', 0, 0, 100 * i, 0, 100 * i, 0, 100 * i, 0, 100 * i, 0, 0, 100 * i, 100 * i, 1, 10, NULL
           FROM range(1, 13) t(i)"""
    )
    fig = build_figures(load_dashboard_data(con, "91"))["compensation"][1]
    labels = list(fig.data[0].y)
    assert len(labels) == 10
    assert fig.data[0].x[-1] == 1234.56 and fig.data[0].x[0] == 400.0  # 1 234,56, then 1 200 … 400
    assert f"&lt;script&gt;alert(1)&lt;/script&gt; ({XSS_SIREN})" in labels
    assert all("<script>" not in str(v) for v in (*labels, *(c[0] for c in fig.data[0].customdata)))


def test_ageing_of_open_debts(con: duckdb.DuckDBPyConnection) -> None:
    data = load_dashboard_data(con, "17")
    fig = build_figures(data)["anciennete"][1]
    assert unwrap(fig.data[0].x) == list(ANCIENNETE_TRANCHES)
    by_source = {trace.name: dict(zip(unwrap(trace.x), trace.y, strict=True)) for trace in fig.data}
    # 2026-12-15 CFE of BOULANGERIE is not due yet on 20/11/2026
    assert by_source["Impôts professionnels"]["Pas encore exigible"] == 987.0
    # 616 days (spl 14/03/2025) and 554 days (IS 15/05/2025 of ÉCURIES)
    assert by_source["Produits locaux (Hélios)"]["1 à 2 ans"] == 1200.0
    assert by_source["Impôts professionnels"]["1 à 2 ans"] == 24200.0
    assert all(v == 0 for v in (s["Plus de 2 ans"] for s in by_source.values()))
    # every open line of a positioned company lands in one bucket: the buckets add up to total_dettes
    assert sum(data.anciennete["montant"], D(0)) == data.totaux["total_dettes"]
    # unattached, out-of-scope and unknown-SIREN lines are not there
    assert int(data.anciennete["nb_lignes"].sum()) == 21


def test_recovery_stages(con: duckdb.DuckDBPyConnection) -> None:
    fig = build_figures(load_dashboard_data(con, "17"))["etapes"][1]
    traces = {(t.name, t.xaxis): t for t in fig.data}
    spl_n = traces[("Produits locaux (Hélios)", "x")]
    spl_eur = traces[("Produits locaux (Hélios)", "x2")]
    tax_eur = traces[("Impôts professionnels", "x2")]
    assert list(spl_n.y)[:4] == [
        "Amiable",
        "Relance",
        "Mise en demeure",
        "Saisie administrative à tiers détenteur",
    ]
    spl_count = dict(zip(spl_n.y, spl_n.x, strict=True))
    spl_amount = dict(zip(spl_eur.y, spl_eur.x, strict=True))
    tax_amount = dict(zip(tax_eur.y, tax_eur.x, strict=True))
    assert spl_count["Amiable"] == 2 and spl_amount["Amiable"] == 3140.5  # 640,50 + 2 500 (La Poste)
    assert spl_count["Relance"] == 2 and spl_amount["Relance"] == 1410.0
    assert spl_amount["Contestation par le débiteur"] == 2310.0
    assert tax_amount["Mise en demeure"] == 22905.0  # 13 500 + 8 030 + 1 375
    assert tax_amount["Déclarée au passif (procédure collective)"] == 24200.0
    assert "Saisie" not in spl_amount or spl_amount["Saisie"] == 0  # settled title: not open


def test_common_debtor_panel(con: duckdb.DuckDBPyConnection) -> None:
    fig = build_figures(load_dashboard_data(con, "17"))["panel"][1]
    impots = next(t for t in fig.data if t.name == "Impôts professionnels")
    assert list(impots.y)[-1] == "1. ÉCURIES DE L'ÎLE DE RÉ (520987611)"  # rank 1 on top
    assert list(impots.y)[0] == "6. OSTREICULTURE MARENNES OLERON (800000010)"
    assert impots.x[-1] == 24200.0
    assert impots.customdata[-1][3] == f"25{NBSP}630,00{NBSP}€"
    assert impots.customdata[-1][5] == "Déclarée au passif (procédure collective)"
    assert impots.customdata[-1][6] == "61,90"
    assert sum(sum(t.x) for t in fig.data) == pytest.approx(25630 + 19035.30 + 4317.50 + 10340 + 13375 + 2375)


def test_data_quality(con: duckdb.DuckDBPyConnection) -> None:
    figs = build_figures(load_dashboard_data(con, "17"))
    kept, rejected = figs["qualite"][1].data
    assert unwrap(kept.x)[:2] == ["Registre des entreprises", "Amendes"]
    assert list(kept.y) == [11, 10, 7, 8, 4, 5, 3, 3]
    assert list(rejected.y) == [1, 6, 2, 2, 2, 1, 0, 0]
    assert rejected.customdata[1][2] == f"37,5{NBSP}%"  # 6 of 16 fines rejected

    rejets = figs["rejets"][1]
    per_reason = {y: 0 for y in rejets.data[0].y}
    for trace in rejets.data:
        for y, x in zip(trace.y, trace.x, strict=True):
            per_reason[y] += x
    assert per_reason["Montants incohérents"] == 3
    assert per_reason["Doublon"] == 2  # amendes + register
    assert sum(per_reason.values()) == 14  # department 91 rejects are not counted

    pie = figs["rattachement"][1].data[0]
    assert list(pie.values) == [4, 4, 1, 1]
    assert f"80,0{NBSP}% rattachées" in figs["rattachement"][1].layout.title.text


def test_empty_department_gives_readable_empty_charts(con: duckdb.DuckDBPyConnection) -> None:
    data = load_dashboard_data(con, "95")
    assert data.totaux["nb_entreprises"] == 0
    assert data.totaux["total_dettes"] == D("0.00")
    figs = build_figures(data)
    for _, fig in figs.values():
        fig.to_json()  # serialisable
    assert figs["dettes"][1].layout.annotations[0].text == "Aucune donnée pour ce périmètre"
    assert figs["compensation"][1].layout.annotations[0].text == "Aucune compensation possible"


def test_company_labels_are_escaped() -> None:
    assert label_entreprise(XSS, XSS_SIREN) == f"&lt;script&gt;alert(1)&lt;/script&gt; ({XSS_SIREN})"
    assert label_entreprise("A" * 60, "1").startswith("A" * 39 + "…")
    assert label_entreprise(None, "1") == "(sans dénomination) (1)"
