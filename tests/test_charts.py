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
from collections.abc import Sequence
from decimal import Decimal

import duckdb
import pytest

from onevision_dagster.consolidate.tables import NATIONAL_POSITION_COLUMNS, POSITION_COLUMNS, create_tables
from onevision_dagster.reports.charts import build_figures
from onevision_dagster.reports.dashboard_data import ANCIENNETE_TRANCHES, load_dashboard_data
from onevision_dagster.reports.formatting import NBSP, format_date, format_euros, format_nombre, format_pourcentage
from onevision_dagster.reports.key_figures import key_figures, summary_markdown
from onevision_dagster.reports.labels import label_entreprise
from onevision_dagster.warehouse import create_raw_and_quality

from .conftest import EXPECTED

XSS = "<script>alert(1)</script>"
XSS_SIREN = "123456782"
FONDERIE = "910000017"  # department 91, in liquidation since 01/09/2026: offsetting blocked
IMPRIMERIE = "910000025"  # department 91, judgment on 01/12/2026, after the as-of date: not blocked
D = Decimal

# department 91, made up for the escaping tests and the procedure cases (positions in POSITION_COLUMNS order)
POSITIONS_91 = f'''\
123456782,{XSS},91,2026-11-18,0.00,500.00,3000.00,0.00,3500.00,0.00,3500.00,0.00,0.00,0.00,1234.56,0.00,1234.56,0.00,0.00,3000.00,1234.56,0.00,2,100,
552100554,"Dupont & Fils ""<b>SA</b>""",91,2026-11-18,250.00,0.00,0.00,0.00,250.00,0.00,250.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,1,40,
910000017,FONDERIE DE L'ESSONNE,91,2026-11-18,0.00,0.00,8000.00,0.00,8000.00,8000.00,0.00,0.00,0.00,5000.00,0.00,0.00,5000.00,0.00,0.00,0.00,0.00,0.00,1,187,LIQUIDATION
910000025,IMPRIMERIE DU HUREPOIX,91,2026-11-18,0.00,0.00,1000.00,0.00,1000.00,0.00,1000.00,0.00,0.00,0.00,700.00,0.00,700.00,0.00,0.00,1000.00,700.00,0.00,1,34,REDRESSEMENT
'''

LINE_COLUMNS = ("departement", "siren", "source", "reference", "date_ligne", "montant", "statut", "etape", "ouverte",
                "nature", "compensable", "sursis", "conteste", "passif", "fichier", "ligne")
# contract v3: why each suspended past-due line is suspended (section 6); the others are pursuable
SUSPENDED = {"17306/2026/301": "TITRE_CONTESTE", "2026TVA0100": "SURSIS", "2025IS00055": "PASSIF_PROCEDURE",
             "17415/2026/12": "ANTERIEURE_JUGEMENT", "2026CFE0010": "PROCEDURE_NON_REFERENCEE",
             "2024IS00010": "PASSIF_PROCEDURE", "2026-RNF-000102": "PROCEDURE_NON_REFERENCEE"}
# The lines of the 2026-11-27 sample files, by hand (README of the samples): what each adds to its position.
F17 = "{}_17_20261127.csv"
AM, SP, IP, RN = F17.format("amendes"), F17.format("spl"), F17.format("impots_pro"), F17.format("rnf")
DETTES = [
    ("17", "812345676", "amendes", "1700000000001", "2026-03-15", "0.00", "PAYEE", None, False, "AUCUNE", False, False, False, False, AM, 2),
    ("17", "812345676", "amendes", "1700000000002", "2026-04-20", "80.00", "EN_RECOUVREMENT", None, True, "ECHUE", False, False, False, False, AM, 3),
    ("17", "812345676", "amendes", "1700000000003", "2026-07-30", "0.00", "ANNULEE", None, False, "AUCUNE", False, False, False, False, AM, 4),
    ("17", None, "amendes", "1700000000004", "2026-08-10", "750.00", "EN_RECOUVREMENT", None, True, "ECHUE", False, False, False, False, AM, 5),
    ("17", "443210984", "amendes", "1700000000006", "2026-08-12", "0.00", "PAYEE", None, False, "AUCUNE", False, False, False, False, AM, 7),
    ("17", "443210984", "amendes", "1700000000007", "2026-08-13", "375.00", "EN_RECOUVREMENT", None, True, "ECHUE", False, False, False, False, AM, 8),
    ("17", "520987611", "amendes", "1700000000011", "2026-08-16", "450.00", "ADMISE_NON_VALEUR", None, False, "NON_VALEUR", False, False, False, False, AM, 12),
    ("17", None, "amendes", "1700000000013", "2026-08-18", "135.00", "EN_RECOUVREMENT", None, True, "ECHUE", False, False, False, False, AM, 14),
    ("17", "424242428", "amendes", "1700000000015", "2026-08-20", "135.00", "EN_RECOUVREMENT", None, True, "ECHUE", False, False, False, False, AM, 15),
    ("17", "790112239", "amendes", "1700000000017", "2026-07-10", "0.00", "PAYEE", None, False, "AUCUNE", False, False, False, False, AM, 17),
    ("17", "735173510", "amendes", "1700000000019", "2026-07-11", "450.00", "EN_RECOUVREMENT", None, True, "ECHUE", False, False, False, False, AM, 19),
    ("17", "301122339", "amendes", "1700000000020", "2026-07-12", "1125.00", "EN_RECOUVREMENT", None, True, "ECHUE", False, False, False, False, AM, 20),
    ("17", "444555668", "amendes", "1700000000022", "2026-07-13", "135.00", "EN_RECOUVREMENT", None, True, "ECHUE", False, False, False, False, AM, 21),
    ("17", "443210984", "amendes", "1700000000021", "2026-11-25", "750.00", "EN_RECOUVREMENT", None, True, "ECHUE", False, False, False, False, AM, 22),
    ("17", "812345676", "spl", "17300/2025/1542", "2025-03-14", "700.00", "OUVERT", "SAISIE", True, "ECHUE", False, False, False, False, SP, 2),
    ("17", "812345676", "spl", "17300/2026/88", "2026-02-02", "640.50", "OUVERT", "AMIABLE", True, "ECHUE", False, False, False, False, SP, 3),
    ("17", "790112239", "spl", "17306/2026/301", "2026-05-15", "1800.00", "OUVERT", "CONTESTATION", True, "ECHUE", False, False, True, False, SP, 4),
    ("17", "520987611", "spl", "17415/2026/12", "2026-01-20", "980.00", "OUVERT", "MISE_EN_DEMEURE", True, "ECHUE", False, False, False, False, SP, 5),
    ("17", "356000000", "spl", "17300/2026/400", "2026-03-01", "0.00", "SOLDE", "AMIABLE", False, "AUCUNE", False, False, False, False, SP, 6),
    ("17", "443210984", "spl", "17300/2024/77", "2024-10-10", "0.00", "SOLDE", "SAISIE", False, "AUCUNE", False, False, False, False, SP, 9),
    ("17", "908070600", "spl", "17415/2026/5", "2026-05-05", "210.00", "OUVERT", "RELANCE", True, "ECHUE", False, False, False, False, SP, 10),
    ("17", "443210984", "impots_pro", "2025CFE0001", "2025-12-15", "0.00", "SOLDE", "SATD", False, "AUCUNE", False, False, False, False, IP, 2),
    ("17", "443210984", "impots_pro", "2026TVA0007", "2026-08-24", "7385.30", "OUVERT", "MISE_EN_DEMEURE", True, "ECHUE", True, False, False, False, IP, 3),
    ("17", "790112239", "impots_pro", "2026TVA0100", "2026-06-24", "5730.00", "OUVERT", "MISE_EN_DEMEURE", True, "ECHUE", False, True, True, False, IP, 4),
    ("17", "520987611", "impots_pro", "2025IS00055", "2025-05-15", "24200.00", "OUVERT", "PASSIF_PROCEDURE", True, "ECHUE", True, False, False, True, IP, 5),
    ("17", "812345676", "impots_pro", "2026CFE0002", "2026-12-15", "987.00", "OUVERT", "AMIABLE", True, "A_ECHOIR", False, False, False, False, IP, 6),
    ("17", "812345676", "impots_pro", "2025CFE0002", "2025-12-15", "0.00", "SOLDE", "AMIABLE", False, "AUCUNE", False, False, False, False, IP, 7),
    ("17", "999999998", "impots_pro", "2026CFE0999", "2026-12-15", "500.00", "OUVERT", "AMIABLE", True, "A_ECHOIR", False, False, False, False, IP, 10),
    ("17", "612345009", "impots_pro", "2026TS00001", "2026-04-15", "1375.00", "OUVERT", "MISE_EN_DEMEURE", True, "ECHUE", True, False, False, False, IP, 11),
    ("17", "800000010", "impots_pro", "2026CFE0010", "2026-06-15", "1650.00", "OUVERT", "SATD", True, "ECHUE", True, False, False, False, IP, 12),
    ("17", "800000010", "impots_pro", "2024IS00010", "2024-05-15", "3000.00", "OUVERT", "PASSIF_PROCEDURE", True, "ECHUE", True, False, False, True, IP, 13),
    ("17", "301122339", "impots_pro", "2026IS00077", "2026-04-15", "8000.00", "OUVERT", "MISE_EN_DEMEURE", True, "ECHUE", True, False, False, False, IP, 14),
    ("17", "812345676", "rnf", "2026-RNF-000101", "2026-04-02", "0.00", "SOLDE", None, False, "AUCUNE", False, False, False, False, RN, 2),
    ("17", "800000010", "rnf", "2026-RNF-000102", "2026-05-11", "2000.00", "PRIS_EN_CHARGE", None, True, "ECHUE", False, False, False, False, RN, 3),
    ("17", "443210984", "rnf", "2026-RNF-000103", "2026-01-20", "0.00", "SOLDE", None, False, "AUCUNE", False, False, False, False, RN, 4),
    ("17", "612345009", "rnf", "2026-RNF-000105", "2026-03-30", "0.00", "ANNULE", None, False, "AUCUNE", False, False, False, False, RN, 6),
    ("91", XSS_SIREN, "impots_pro", "2026TS91001", "2026-08-10", "3000.00", "OUVERT", "SATD", True, "ECHUE", True, False, False, False, "impots_pro_91_20261118.csv", 2),
    ("91", XSS_SIREN, "spl", "91228/2026/7", "2026-09-01", "500.00", "OUVERT", "AMIABLE", True, "ECHUE", False, False, False, False, "spl_91_20261118.csv", 2),
    ("91", "552100554", "amendes", "9100000000001", "2026-10-09", "250.00", "EN_RECOUVREMENT", None, True, "ECHUE", False, False, False, False, "amendes_91_20261118.csv", 2),
    ("91", FONDERIE, "impots_pro", "2026CFE91002", "2026-05-15", "8000.00", "OUVERT", "MISE_EN_DEMEURE", True, "ECHUE", True, False, False, False, "impots_pro_91_20261118.csv", 3),
    ("91", IMPRIMERIE, "impots_pro", "2026TVA91003", "2026-10-15", "1000.00", "OUVERT", "AMIABLE", True, "ECHUE", True, False, False, False, "impots_pro_91_20261118.csv", 4),
]  # fmt: skip
CT, EX, CI = F17.format("credits_tva"), F17.format("excedents"), F17.format("creances_is")
CREANCES = [
    ("17", "443210984", "credits_tva", "3519-2026-0001", "2026-07-15", "0.00", "IMPUTEE", None, False, "AUCUNE", False, False, False, False, CT, 2),
    ("17", "812345676", "credits_tva", "3519-2026-0002", "2026-10-01", "800.00", "ACCORDEE", None, True, "CERTAINE", True, False, False, False, CT, 3),
    ("17", "520987611", "credits_tva", "3519-2026-0003", "2026-05-20", "0.00", "REMBOURSEE", None, False, "AUCUNE", False, False, False, False, CT, 4),
    ("17", "800000010", "credits_tva", "3519-2026-0004", "2026-03-10", "0.00", "REMBOURSEE", None, False, "AUCUNE", False, False, False, False, CT, 5),
    ("17", "800000010", "credits_tva", "3519-2026-0006", "2026-09-11", "0.00", "REMBOURSEE", None, False, "AUCUNE", False, False, False, False, CT, 7),
    ("17", "812345676", "credits_tva", "3519-2026-0007", "2026-04-01", "0.00", "IMPUTEE", None, False, "AUCUNE", False, False, False, False, CT, 8),
    ("17", "800000010", "excedents", "EXC-2026-0001", "2026-05-30", "3200.00", "A_RESTITUER", None, True, "CERTAINE", True, False, False, False, EX, 2),
    ("17", "812345676", "excedents", "EXC-2026-0002", "2026-01-15", "0.00", "RESTITUE", None, False, "AUCUNE", False, False, False, False, EX, 3),
    ("17", "612345009", "excedents", "EXC-2026-0003", "2026-06-15", "0.00", "RESTITUE", None, False, "AUCUNE", False, False, False, False, EX, 4),
    ("17", "790112239", "creances_is", "CIS-2026-0001", "2026-09-01", "0.00", "REMBOURSEE", None, False, "AUCUNE", False, False, False, False, CI, 2),
    ("17", "443210984", "creances_is", "CIS-2026-0002", "2030-06-01", "7000.00", "EN_COURS", None, True, "POTENTIELLE", False, False, False, False, CI, 3),
    ("17", "908070600", "creances_is", "CIS-2026-0003", "2027-01-01", "0.00", "REMBOURSEE", None, False, "AUCUNE", False, False, False, False, CI, 4),
    ("17", "443210984", "creances_is", "CIS-2026-0004", "2028-06-01", "4000.00", "REMBOURSABLE", None, True, "A_ECHOIR", False, False, False, False, CI, 5),
    ("17", "301122339", "creances_is", "CIS-2026-0005", None, "2500.00", "REMBOURSABLE", None, True, "CERTAINE", True, False, False, False, CI, 6),
    ("91", XSS_SIREN, "excedents", "EXC-91-0001", "2026-07-01", "1234.56", "A_RESTITUER", None, True, "CERTAINE", True, False, False, False, "excedents_91_20261118.csv", 2),
    ("91", FONDERIE, "credits_tva", "3591-2026-0001", "2026-09-15", "5000.00", "ACCORDEE", None, True, "CERTAINE", True, False, False, False, "credits_tva_91_20261118.csv", 2),
    ("91", IMPRIMERIE, "excedents", "EXC-91-0002", "2026-09-30", "700.00", "A_RESTITUER", None, True, "CERTAINE", True, False, False, False, "excedents_91_20261118.csv", 3),
]  # fmt: skip

# siren, denomination, sigle, categorie_juridique, adresse, code_postal, commune, departement,
# date_creation, etat_administratif, procedure_collective, date_jugement: the register rows kept in both versions
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
    ("301122339", "ATLANTIC SHIPPING LIMITED", None, "3120", "QUAI DES PECHEURS", "17000", "LA ROCHELLE", "17", "2016-04-04", "A", None, None),
    ("444555668", "OFFICE DU TOURISME DE MALTE", None, "3110", "4 RUE DU PALAIS", "17000", "LA ROCHELLE", "17", "2011-03-03", "A", None, None),
    (XSS_SIREN, XSS, "<b>X</b>", "5499", '<img src=x onerror="alert(2)">', "91000", "EVRY", "91", "2020-01-01", "C", None, None),
    ("552100554", 'Dupont & Fils "<b>SA</b>"', None, "5499", "1 RUE DE LA PAIX", "91000", "EVRY", "91", "2019-01-01", "A", None, None),
    (FONDERIE, "FONDERIE DE L'ESSONNE", None, "5710", "ZI DES RADARS", "91080", "EVRY-COURCOURONNES", "91", "1988-05-02", "A", "LIQUIDATION", "2026-09-01"),
    (IMPRIMERIE, "IMPRIMERIE DU HUREPOIX", None, "5499", "3 RUE VERTE", "91290", "ARPAJON", "91", "2001-10-10", "A", "REDRESSEMENT", "2026-12-01"),
]  # fmt: skip
OLD_ADDRESS = {"443210984": "ANCIENNE ADRESSE DU 20/11"}
"""The 2026-11-20 register version differs here: a sheet of the 27/11 snapshot must show the 27/11 version."""

# panel ranks and scores as the consolidation gives them (by score)
PANEL = {
    "17": [
        ("800000010", "PASSIF_PROCEDURE", "77.23"),
        ("520987611", "PASSIF_PROCEDURE", "72.05"),
        ("812345676", "SAISIE", "59.34"),
        ("301122339", "MISE_EN_DEMEURE", "51.19"),
        ("790112239", "MISE_EN_DEMEURE", "49.68"),
        ("443210984", "MISE_EN_DEMEURE", "47.65"),
    ],
    "91": [(XSS_SIREN, "SATD", "42.00")],
}

# source, departement, fichier, date_extraction, lues, gardees, rejetees: both sample snapshots of 17 (each
# 2026-11-20 file read the same as its 2026-11-27 successor), both register versions, one file of 91
CHARGEMENTS = [
    row
    for date in ("20261120", "20261127")
    for row in (
        ("entreprises", None, f"entreprises_{date}.csv", date, 15, 13, 2),
        ("amendes", "17", f"amendes_17_{date}.csv", date, 21, 14, 7),
        ("spl", "17", f"spl_17_{date}.csv", date, 10, 7, 3),
        ("impots_pro", "17", f"impots_pro_17_{date}.csv", date, 13, 11, 2),
        ("rnf", "17", f"rnf_17_{date}.csv", date, 7, 4, 3),
        ("credits_tva", "17", f"credits_tva_17_{date}.csv", date, 7, 6, 1),
        ("excedents", "17", f"excedents_17_{date}.csv", date, 3, 3, 0),
        ("creances_is", "17", f"creances_is_17_{date}.csv", date, 5, 5, 0),
    )
] + [("amendes", "91", "amendes_91_20261118.csv", "20261118", 3, 1, 2)]
# source, departement, fichier, date_extraction, ligne, colonne, motif: samples/expected/rejets.csv with their
# reasons, two rejects of the older 17 files (not in the current figures), and 91's
REJETS = [
    ("entreprises", None, "entreprises_20261127.csv", "20261127", 13, "siren", "DOUBLON"),
    ("entreprises", None, "entreprises_20261127.csv", "20261127", 16, "date_creation", "DATE_INVALIDE"),
    ("amendes", "17", AM, "20261127", 6, "MONTANT_MAJORE", "MONTANT_INVALIDE"),
    ("amendes", "17", AM, "20261127", 9, "MONTANT_MAJORE", "MONTANT_INVALIDE"),
    ("amendes", "17", AM, "20261127", 10, "MONTANT_PAYE", "INCOHERENCE"),
    ("amendes", "17", AM, "20261127", 11, "NUM_AMENDE", "DOUBLON"),
    ("amendes", "17", AM, "20261127", 13, "STATUT", "CODE_INCONNU"),
    ("amendes", "17", AM, "20261127", 16, None, "NB_CELLULES"),
    ("amendes", "17", AM, "20261127", 18, "DATE_MAJORATION", "FUTURE_DATE"),
    ("spl", "17", SP, "20261127", 7, "siret_debiteur", "IDENTIFIANT_INVALIDE"),
    ("spl", "17", SP, "20261127", 8, "reste_a_recouvrer", "INCOHERENCE"),
    ("spl", "17", SP, "20261127", 11, "date_emission", "FUTURE_DATE"),
    ("impots_pro", "17", IP, "20261127", 8, "CODE_IMPOT", "CODE_INCONNU"),
    ("impots_pro", "17", IP, "20261127", 9, "DATE_EXIGIBILITE", "DATE_INVALIDE"),
    ("rnf", "17", RN, "20261127", 5, "identifiant_debiteur", "IDENTIFIANT_INVALIDE"),
    ("rnf", "17", RN, "20261127", 7, "montant", "MONTANT_NEGATIF"),
    ("rnf", "17", RN, "20261127", 8, "date_emission", "FUTURE_DATE"),
    ("credits_tva", "17", CT, "20261127", 6, "MONTANT_ACCORDE", "INCOHERENCE"),
    ("entreprises", None, "entreprises_20261120.csv", "20261120", 13, "siren", "DOUBLON"),
    ("entreprises", None, "entreprises_20261120.csv", "20261120", 16, "date_creation", "DATE_INVALIDE"),
    ("amendes", "17", "amendes_17_20261120.csv", "20261120", 8, "DATE_MAJORATION", "DATE_INVALIDE"),
    ("amendes", "91", "amendes_91_20261118.csv", "20261118", 3, "DATE_MAJORATION", "DATE_INVALIDE"),
    ("amendes", "91", "amendes_91_20261118.csv", "20261118", 4, "RAISON_SOCIALE", "VALEUR_MANQUANTE"),
]
# departement, num_amende, ligne, methode, siren, motif
RATTACHEMENT = [
    ("17", "1700000000001", 2, "SIREN", "812345676", None),
    ("17", "1700000000002", 3, "SIREN_SANS_ESPACES", "812345676", None),
    ("17", "1700000000003", 4, "NOM_CODE_POSTAL", "812345676", None),
    ("17", "1700000000004", 5, None, None, "AMBIGUE"),
    ("17", "1700000000006", 7, "SIREN", "443210984", None),
    ("17", "1700000000007", 8, "SIREN", "443210984", None),
    ("17", "1700000000011", 12, "NOM_CODE_POSTAL", "520987611", None),
    ("17", "1700000000013", 14, None, None, "AUCUN_CANDIDAT"),
    ("17", "1700000000015", 15, "SIREN", "424242428", None),
    ("17", "1700000000017", 17, "SIREN", "790112239", None),
    ("17", "1700000000019", 19, "SIREN", "735173510", None),
    ("17", "1700000000020", 20, "SIREN", "301122339", None),
    ("17", "1700000000022", 21, "SIREN", "444555668", None),
    ("17", "1700000000021", 22, "SIREN", "443210984", None),
    ("91", "9100000000001", 2, "SIREN", "552100554", None),
]
# samples/expected/non_positionnees.csv, with the references
NON_POSITIONNEES = [
    ("17", "amendes", AM, 5, "1700000000004", "NON_RATTACHEE", None),
    ("17", "amendes", AM, 14, "1700000000013", "NON_RATTACHEE", None),
    ("17", "amendes", AM, 15, "1700000000015", "HORS_PERIMETRE", "424242428"),
    ("17", "amendes", AM, 19, "1700000000019", "REGISTRE_REJETE", "735173510"),
    ("17", "amendes", AM, 21, "1700000000022", "HORS_PERIMETRE", "444555668"),
    ("17", "impots_pro", IP, 10, "2026CFE0999", "SIREN_INCONNU", "999999998"),
]


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    con.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [list(r) for r in rows],
    )


def _positions_csv(name: str) -> list[list[str | None]]:
    """The expected positions of the companies whose lines are written by hand above (the samples of contract
    version 3 add companies these tests do not need), then department 91."""
    known = {e[0] for e in ENTREPRISES}
    rows = [r for r in list(csv.reader(io.StringIO((EXPECTED / name).read_text(encoding="utf-8"))))[1:]
            if r[0] in known]
    rows += list(csv.reader(io.StringIO(POSITIONS_91)))
    return [[cell if cell != "" else None for cell in row] for row in rows]


def build_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Fills every table the reports read (docs/warehouse.md, contract version 2) with the fixture above.

    Department 17 is the latest sample snapshot (2026-11-27): positions are samples/expected/positions_17.csv,
    lines are those of the 2026-11-27 files. Department 91 (2026-11-18) holds an HTML-injection name and two
    companies in a collective procedure, one opened before the as-of date, one after.
    """
    create_raw_and_quality(con)
    create_tables(con)
    _insert(con, "marts.positions", POSITION_COLUMNS, _positions_csv("positions_17.csv"))
    _insert(con, "marts.positions_nationales", NATIONAL_POSITION_COLUMNS, _positions_csv("positions_nationales.csv"))
    for dept, entries in PANEL.items():
        for rang, (siren, etape, score) in enumerate(entries, start=1):
            con.execute(
                """INSERT INTO marts.panel_debiteurs_communs BY NAME
                   SELECT ? AS rang, siren, denomination, departement, nb_sources_dettes, total_dettes,
                          dettes_poursuivables, dettes_amendes, dettes_spl, dettes_impots_pro, dettes_rnf, anciennete_jours,
                          ? AS etape_la_plus_avancee, ? AS score
                   FROM marts.positions WHERE siren = ? AND departement = ?""",
                [rang, etape, score, siren, dept],
            )
    con.execute(
        """INSERT INTO marts.panel_debiteurs_communs_national BY NAME
           SELECT row_number() OVER (ORDER BY score DESC, siren) AS rang, siren, denomination,
                  departement AS departements, nb_sources_dettes, total_dettes, dettes_poursuivables,
                  dettes_amendes, dettes_spl,
                  dettes_impots_pro, dettes_rnf, anciennete_jours, etape_la_plus_avancee, score
           FROM marts.panel_debiteurs_communs"""
    )
    for table, lines in (("core.lignes_dettes", DETTES), ("core.lignes_creances", CREANCES)):
        rows = []
        for line in lines:
            row = list(line)
            motif = SUSPENDED.get(row[3]) if row[9] == "ECHUE" else None
            row[10] = row[10] and motif is None  # v3: a suspended tax is never offsettable
            rows.append([*row, motif is not None, motif, "2026-11-27" if line[0] == "17" else "2026-11-18"])
        _insert(con, table, (*LINE_COLUMNS, "suspendue", "motif_suspension", "date_extraction"), rows)
    register_columns = ("siren", "denomination", "sigle", "categorie_juridique", "adresse", "code_postal", "commune",
                        "departement", "date_creation", "etat_administratif", "procedure_collective", "date_jugement",
                        "fichier", "ligne", "date_extraction")
    for date in ("2026-11-20", "2026-11-27"):
        name = f"entreprises_{date.replace('-', '')}.csv"
        rows = []
        for i, e in enumerate(ENTREPRISES, start=2):
            row = list(e)
            if date == "2026-11-20" and row[0] in OLD_ADDRESS:
                row[4] = OLD_ADDRESS[row[0]]
            rows.append([*row, name, i, date])
        _insert(con, "raw.entreprises", register_columns, rows)
    _insert(con, "quality.chargements",
            ("source", "departement", "fichier", "date_extraction", "lignes_lues", "lignes_gardees", "lignes_rejetees",
             "statut", "charge_le"),
            [[*r[:3], dt.datetime.strptime(r[3], "%Y%m%d").date(), *r[4:], "CHARGE", dt.datetime(2026, 11, 27)]
             for r in CHARGEMENTS])
    _insert(con, "quality.rejets",
            ("source", "departement", "fichier", "date_extraction", "ligne", "colonne", "motif", "message", "contenu"),
            [[*r[:3], dt.datetime.strptime(r[3], "%Y%m%d").date(), *r[4:], "message", "contenu"] for r in REJETS])
    _insert(con, "core.rattachement_amendes", ("departement", "num_amende", "ligne", "methode", "siren", "motif"),
            RATTACHEMENT)
    _insert(con, "core.non_positionnees", ("departement", "source", "fichier", "ligne", "reference", "motif", "siren"),
            NON_POSITIONNEES)


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
    assert data.date_situation == dt.date(2026, 11, 27)
    assert t["nb_entreprises"] == 8
    # due debts only: 1 125 + 1 125 + 80 fines; 980 + 1 800 + 1 340,50 + 210 local; 8 000 + 7 385,30 + 24 200
    # + 1 375 + 5 730 + 4 650 taxes; 2 000 rnf
    assert (t["dettes_amendes"], t["dettes_spl"], t["dettes_impots_pro"], t["dettes_rnf"]) == (
        D("2330.00"),
        D("4330.50"),
        D("51340.30"),
        D("2000.00"),
    )
    assert t["total_dettes"] == D("60000.80")
    assert t["dettes_a_echoir"] == D("987.00")  # BOULANGERIE's CFE due on 15/12/2026
    assert t["dettes_non_valeur"] == D("450.00")  # ÉCURIES' written-off fine
    assert (t["creances_tva"], t["creances_excedents"], t["creances_is"]) == (D("800.00"), D("3200.00"), D("2500.00"))
    assert t["total_creances"] == D("6500.00")
    assert t["creances_a_echoir"] == D("4000.00")  # TRANSPORTS' CIR refundable on 01/06/2028
    assert t["creances_potentielles"] == D("7000.00")
    assert "solde" not in t  # contract v3: credits and debts are never netted
    # suspended (v3): ÉCURIES 25 180 (procedure), GARAGE MARTIN 7 530 (sursis 5 730, contested title 1 800),
    # OSTREICULTURE 6 650 (claim filed, procedure not in the register)
    assert t["dettes_suspendues"] == D("39360.00") and t["nb_dettes_suspendues"] == 3
    assert t["dettes_poursuivables"] == D("20640.80")  # 60 000,80 − 39 360
    assert t["montant_compensable"] == D("2500.00")  # ATLANTIC SHIPPING: min(2 500, 8 000)
    assert t["nb_compensables"] == 1
    assert t["passif_declare"] == D("27200.00") and t["nb_passif_declare"] == 2  # 24 200 (ÉCURIES) + 3 000 (OMO)
    # OSTREICULTURE: 3 200 € of credits against 4 650 € of due taxes, blocked by its declared claim although the
    # register shows no procedure; ÉCURIES is in redressement but has no credit left: nothing at stake
    assert (t["nb_compensation_bloquee"], t["nb_bloquee_procedure"], t["nb_bloquee_passif"]) == (1, 0, 1)
    assert t["montant_compensation_bloquee"] == D("3200.00")
    assert t["nb_debiteurs_communs"] == 6
    assert t["nb_procedure_collective"] == 1
    assert list(data.top_compensation["siren"]) == ["301122339"]
    blocked = data.compensation_bloquee
    assert list(blocked["siren"]) == ["800000010"]
    assert list(blocked["motif"]) == ["créance déclarée au passif d'une procédure que le registre ne montre pas "
                                      "(art. L. 622-7 C. com.)"]
    assert list(blocked["montant_en_jeu"]) == [D("3200.00")]
    assert list(data.blocages["nb_entreprises"]) == [0, 1]


def test_department_91_reads_its_own_register_version(con: duckdb.DuckDBPyConnection) -> None:
    data = load_dashboard_data(con, "91")
    t = data.totaux
    assert data.date_situation == dt.date(2026, 11, 18)
    # FONDERIE: liquidation judged on 01/09/2026 <= 18/11/2026; IMPRIMERIE: judgment on 01/12/2026, not yet open
    assert (t["nb_compensation_bloquee"], t["nb_bloquee_procedure"], t["nb_bloquee_passif"]) == (1, 1, 0)
    assert t["montant_compensation_bloquee"] == D("5000.00")  # min(5 000, 8 000)
    assert list(data.compensation_bloquee["motif"]) == ["procédure collective ouverte (art. L. 622-7 C. com.)"]
    assert list(data.top_compensation["siren"]) == [XSS_SIREN, IMPRIMERIE]
    assert t["montant_compensable"] == D("1934.56")  # 1 234,56 + 700


def test_national_scope_adds_the_other_departments(con: duckdb.DuckDBPyConnection) -> None:
    data = load_dashboard_data(con, None)
    t = data.totaux
    assert data.libelle == "France entière"
    assert t["nb_entreprises"] == 12
    # 60 000,80 + 3 500 + 250 + 8 000 + 1 000, and department 95 of the v3 samples: SOLAIRE ATLANTIQUE's CFE
    # 2025 (3 000) and BOULANGERIE's (450)
    assert t["total_dettes"] == D("76200.80")
    # 2 500 + 1 234,56 + 700, and BOULANGERIE nationally: its 800 refund in 17 against its 450 tax in 95
    assert t["montant_compensable"] == D("4884.56")
    assert data.date_situation == dt.date(2026, 11, 27)
    assert list(data.top_compensation["siren"]) == ["301122339", XSS_SIREN, IMPRIMERIE, "812345676"]
    assert (t["nb_compensation_bloquee"], t["nb_bloquee_procedure"], t["nb_bloquee_passif"]) == (2, 1, 1)
    assert t["montant_compensation_bloquee"] == D("8200.00")  # 5 000 (FONDERIE) + 3 200 (OMO)
    assert list(data.compensation_bloquee["siren"]) == [FONDERIE, "800000010"]
    # quality of the files the current snapshots read: 17's 2026-11-27 files (66 rows), 91's file (3); the
    # 2026-11-20 files of 17 are not counted again; the two register versions (17's of 27/11 and 91's, the oldest:
    # 15 rows each, 2 rejected each) are said apart, never on the sources' axis (issue 17, point 9)
    assert int(data.chargements["lignes_lues"].sum()) == 66 + 3
    assert "entreprises" not in set(data.chargements["source"]) and "entreprises" not in set(data.rejets["source"])
    assert int(data.rejets["nb"].sum()) == 16 + 2
    assert data.registre_lignes == (30, 26, 4)
    assert load_dashboard_data(con, "17").registre_lignes is None  # a department's dashboard leaves it out


def test_key_figures_and_summary(con: duckdb.DuckDBPyConnection) -> None:
    data = load_dashboard_data(con, "17")
    k = key_figures(data)
    assert k["date_situation"] == "2026-11-27"
    assert k["total_dettes_euros"] == 60000.80
    assert (k["dettes_a_echoir_euros"], k["dettes_non_valeur_euros"]) == (987.0, 450.0)
    assert (k["creances_a_echoir_euros"], k["passif_declare_euros"]) == (4000.0, 27200.0)
    assert k["montant_compensable_euros"] == 2500.0
    assert k["nb_entreprises_compensables"] == 1
    assert (k["nb_compensation_bloquee_procedure"], k["nb_compensation_bloquee_passif_declare"]) == (0, 1)
    # the department's 2026-11-27 files, not the national register (issue 17, point 9):
    # 21 + 10 + 13 + 7 + 7 + 3 + 5 read, 7 + 3 + 2 + 3 + 1 rejected
    assert (k["lignes_lues"], k["lignes_gardees"], k["lignes_rejetees"]) == (66, 50, 16)
    assert (k["amendes_rattachees"], k["amendes_total"], k["taux_rattachement_amendes_pct"]) == (12, 14, 85.7)
    assert k["lignes_non_positionnees"] == 6
    md = summary_markdown(data)
    assert "situation au 27/11/2026" in md
    assert f"**Dettes échues** : 60{NBSP}000,80{NBSP}€" in md
    assert f"**dont suspendues** : 39{NBSP}360,00{NBSP}€" in md
    assert f"**dont poursuivables** : 20{NBSP}640,80{NBSP}€" in md
    assert "exigible" not in md.lower() and "solde" not in md.lower()
    assert f"**Impôts à échoir** : 987,00{NBSP}€" in md
    assert f"**Amendes admises en non-valeur** : 450,00{NBSP}€" in md
    assert f"**Créances à échoir** : 4{NBSP}000,00{NBSP}€" in md and "non compensable avant sa date" in md
    assert f"**Montant compensable** : 2{NBSP}500,00{NBSP}€" in md
    assert "1 : créance déclarée au passif d'une procédure que le registre ne montre pas (art. L. 622-7" in md
    assert "0 : procédure collective ouverte (art. L. 622-7 C. com.)" in md
    assert f"**Passif déclaré** : 27{NBSP}200,00{NBSP}€" in md
    assert "BOULANGERIE" not in md  # aggregates only, no company name in metadata
    assert "jamais" not in md


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
        "Impôts professionnels à échoir",
        "Amendes admises en non-valeur",
    ]
    assert list(dettes.data[0].y) == [2330.0, 4330.5, 51340.3, 2000.0, 987.0, 450.0]
    assert list(dettes.data[0].marker.pattern.shape) == ["", "", "", "", "/", "/"]  # outside the total: hatched
    assert dettes.layout.separators == f",{NBSP}"
    assert [c[0] for c in dettes.data[0].customdata][:4] == [
        f"2{NBSP}330,00{NBSP}€",
        f"4{NBSP}330,50{NBSP}€",
        f"51{NBSP}340,30{NBSP}€",
        f"2{NBSP}000,00{NBSP}€",
    ]
    assert [c[1] for c in dettes.data[0].customdata] == ["3", "4", "6", "1", "1", "1"]  # companies per column
    assert dettes.data[0].customdata[4][2] == "à échoir, hors total (non compensable avant sa date)"
    assert dettes.layout.yaxis.ticksuffix == f"{NBSP}€"
    title = dettes.layout.title.text
    assert f"total 60{NBSP}000,80{NBSP}€" in title
    assert f"à échoir 987,00{NBSP}€" in title and f"admises en non-valeur 450,00{NBSP}€" in title

    creances = figs["creances"][1]
    assert unwrap(creances.data[0].x)[3] == "Créances d'IS à échoir"
    # potential claims (7 000, the tallest) are not credits: no bar, their amount under the title
    assert list(creances.data[0].y) == [800.0, 3200.0, 2500.0, 4000.0]
    assert list(creances.data[0].marker.pattern.shape) == ["", "", "", "."]
    assert creances.data[0].customdata[3][2] == "à échoir (non compensable avant sa date)"
    assert f"certaines et dues : 6{NBSP}500,00{NBSP}€" in creances.layout.title.text
    assert f"créances potentielles (demandes en instruction, non compensables) 7{NBSP}000,00{NBSP}€" in \
        creances.layout.title.text


def test_debts_and_credits_side_by_side_never_netted(con: duckdb.DuckDBPyConnection) -> None:
    figs = build_figures(load_dashboard_data(con, "17"))
    bars = figs["bilan"][1].data
    assert [(b.name, b.x[0], b.y[0]) for b in bars] == [
        ("Dettes poursuivables", "Dettes échues", 20640.8),
        ("Dettes suspendues", "Dettes échues", 39360.0),
        ("Créances certaines et dues", "Créances certaines et dues", 6500.0),
    ]
    assert figs["bilan"][1].layout.barmode == "stack"  # the two debt parts stacked, the credits beside them
    assert all(b.y[0] >= 0 for b in bars)  # nothing subtracted
    assert "jamais soustraites" in figs["bilan"][1].layout.title.text
    suspended = figs["suspensions"][1].data[0]
    # 24 200 filed (ÉCURIES) + 3 000 filed (OMO); 4 650 + 2 000 procedure not in the register (OMO: 1 650 + 3 000
    # is 4 650 of taxes, one of which is filed); 980 before the judgment (ÉCURIES); 5 730 sursis; 1 800 contested
    by_reason = dict(zip(unwrap(suspended.x), suspended.y, strict=True))
    assert by_reason == {
        "déclarée au passif d'une procédure collective (art. L. 622-21 C. com.)": 27200.0,
        "sursis de paiement (art. L. 277 LPF)": 5730.0,
        "procédure non référencée au registre (créance déclarée au passif, art. L. 622-21 C. com.)": 3650.0,
        "titre contesté en justice (art. L. 1617-5 CGCT)": 1800.0,
        "antérieure au jugement d'ouverture (art. L. 622-21 C. com.)": 980.0,
    }
    assert sum(by_reason.values()) == 39360.0  # = dettes_suspendues
    for _, fig in figs.values():
        text = fig.to_json()
        assert "xigible" not in text and "Solde" not in text and "solde" not in text


def test_offsetting_opportunities(con: duckdb.DuckDBPyConnection) -> None:
    fig = build_figures(load_dashboard_data(con, "17"))["compensation"][1]
    bar = fig.data[0]
    assert list(bar.x) == [2500.0]
    assert list(bar.y) == ["ATLANTIC SHIPPING LIMITED (301122339)"]
    assert bar.customdata[0][1] == f"2{NBSP}500,00{NBSP}€"
    assert bar.customdata[0][3] == f"8{NBSP}000,00{NBSP}€"  # past-due pursuable taxes
    assert f"2{NBSP}500,00{NBSP}€ pour 1 entreprise(s)" in fig.layout.title.text


def test_offsetting_top_is_ten_and_escaped(con: duckdb.DuckDBPyConnection) -> None:
    money = {"dettes_impots_pro", "total_dettes", "dettes_poursuivables", "creances_excedents", "total_creances",
             "dettes_compensables", "montant_compensable"}
    exprs = {"siren": "lpad((100000000 + i)::VARCHAR, 9, '0')", "denomination": "'FILLER ' || i",
             "departement": "'91'", "date_situation": "DATE '2026-11-18'", "nb_sources_dettes": "1",
             "anciennete_jours": "10", "procedure_collective": "NULL"}
    select = ", ".join(exprs.get(c, "100 * i" if c in money else "0") for c in POSITION_COLUMNS)
    con.execute(f"INSERT INTO marts.positions SELECT {select} FROM range(1, 13) t(i)")
    fig = build_figures(load_dashboard_data(con, "91"))["compensation"][1]
    labels = list(fig.data[0].y)
    assert len(labels) == 10
    # 1 234,56 then 1 200 … 700 (FILLER 7, then IMPRIMERIE at 700, by SIREN), 600, 500
    assert list(fig.data[0].x) == [500.0, 600.0, 700.0, 700.0, 800.0, 900.0, 1000.0, 1100.0, 1200.0, 1234.56]
    assert labels[2] == f"IMPRIMERIE DU HUREPOIX ({IMPRIMERIE})"
    assert f"&lt;script&gt;alert(1)&lt;/script&gt; ({XSS_SIREN})" in labels
    assert all("<script>" not in str(v) for v in (*labels, *(c[0] for c in fig.data[0].customdata)))


def test_ageing_of_open_debts(con: duckdb.DuckDBPyConnection) -> None:
    data = load_dashboard_data(con, "17")
    fig = build_figures(data)["anciennete"][1]
    assert unwrap(fig.data[0].x) == list(ANCIENNETE_TRANCHES)
    by_source = {trace.name: dict(zip(unwrap(trace.x), trace.y, strict=True)) for trace in fig.data}
    # the 15/12/2026 CFE of BOULANGERIE is not due on 27/11/2026
    assert by_source["Impôts professionnels"]["À échoir (pas encore échue)"] == 987.0
    # 623 days (spl 14/03/2025) and 561 days (IS 15/05/2025 of ÉCURIES); 926 days (IS 15/05/2024 of OMO)
    assert by_source["Produits locaux (Hélios)"]["1 à 2 ans"] == 700.0
    assert by_source["Impôts professionnels"]["1 à 2 ans"] == 24200.0
    assert by_source["Impôts professionnels"]["Plus de 2 ans"] == 3000.0
    assert by_source["Amendes"]["Moins de 3 mois"] == 750.0  # fine of 25/11/2026
    # every open line of a positioned company lands in one bucket: due debts plus not-yet-due taxes
    assert sum(data.anciennete["montant"], D(0)) == data.totaux["total_dettes"] + data.totaux["dettes_a_echoir"]
    # unattached, out-of-scope, rejected-register and unknown-SIREN lines are not there; written-off fines neither
    assert int(data.anciennete["nb_lignes"].sum()) == 18


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
    assert spl_count["Amiable"] == 1 and spl_amount["Amiable"] == 640.5  # La Poste's title is paid
    assert spl_count["Saisie"] == 1 and spl_amount["Saisie"] == 700.0
    assert spl_amount["Contestation par le débiteur"] == 1800.0
    assert tax_amount["Mise en demeure"] == 22490.3  # 7 385,30 + 5 730 + 1 375 + 8 000
    assert tax_amount["Déclarée au passif (procédure collective)"] == 27200.0
    assert tax_amount["Amiable"] == 987.0  # the CFE not yet due is an open title


def test_common_debtor_panel(con: duckdb.DuckDBPyConnection) -> None:
    fig = build_figures(load_dashboard_data(con, "17"))["panel"][1]
    impots = next(t for t in fig.data if t.name == "Impôts professionnels")
    assert list(impots.y)[-1] == "1. OSTREICULTURE MARENNES OLERON (800000010)"  # rank 1 on top
    assert list(impots.y)[0] == "6. TRANSPORTS CHARENTAIS (443210984)"
    assert impots.x[-1] == 4650.0
    assert impots.customdata[-1][3] == f"6{NBSP}650,00{NBSP}€"
    assert impots.customdata[-1][5] == "Déclarée au passif (procédure collective)"
    assert impots.customdata[-1][6] == "77,23"
    assert sum(sum(t.x) for t in fig.data) == pytest.approx(6650 + 25180 + 1420.50 + 9125 + 7530 + 8510.30)


def test_data_quality(con: duckdb.DuckDBPyConnection) -> None:
    figs = build_figures(load_dashboard_data(con, "17"))
    kept, rejected = figs["qualite"][1].data
    # the department's own files: the national register is not on the department's scale (issue 17, point 9)
    assert unwrap(kept.x)[:1] == ["Amendes"] and "Registre des entreprises" not in unwrap(kept.x)
    # the 2026-11-27 files only (each 2026-11-20 file is in the warehouse too: not counted twice)
    assert list(kept.y) == [14, 7, 11, 4, 6, 3, 5]
    assert list(rejected.y) == [7, 3, 2, 3, 1, 0, 0]
    assert rejected.customdata[0][2] == f"33,3{NBSP}%"  # 7 of 21 fines rejected

    rejets = figs["rejets"][1]
    per_reason = {y: 0 for y in rejets.data[0].y}
    for trace in rejets.data:
        for y, x in zip(trace.y, trace.x, strict=True):
            per_reason[y] += x
    assert per_reason["Montants incohérents"] == 3
    assert per_reason["Doublon"] == 1  # amendes (the register's is not the department's)
    assert per_reason["Date postérieure à l'extraction"] == 3
    assert sum(per_reason.values()) == 16  # older files', department 91's and the register's rejects are not counted

    pie = figs["rattachement"][1].data[0]
    assert list(pie.values) == [10, 2, 1, 1]
    assert f"85,7{NBSP}% rattachées" in figs["rattachement"][1].layout.title.text


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
