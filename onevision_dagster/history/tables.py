"""Layout of the history tables (SOURCES.md section 9): every snapshot's positions and lines, the movements
between consecutive snapshots, the impact per department and pair, and the pilots-versus-others view."""

from __future__ import annotations

from onevision_dagster.consolidate.tables import MONEY, TABLE_DDL

PILOT, OTHERS = "pilotes", "autres"  # the experiment's two groups of departments
MOVEMENT_TYPES = ("SORTIE", "ANNULATION", "NON_VALEUR", "PAIEMENT", "HAUSSE", "IMPUTATION", "REMBOURSEMENT",
                  "NOUVELLE", "NOUVELLE_CREANCE")
MOUVEMENT_COLUMNS = ("departement", "date_debut", "date_fin", "siren", "source", "cle", "type", "montant")
IMPACT_MONEY_COLUMNS = ("recouvre", "annule", "non_valeur", "sorties", "nouvelles_dettes", "compense",
                        "compense_signale", "rembourse", "rembourse_a_risque", "compensable_debut")
IMPACT_COLUMNS = ("departement", "date_debut", "date_fin", *IMPACT_MONEY_COLUMNS)
# what the experiment compares per ISO week: the impact sums, the offset rate and the stocks at the week's end
IMPACT_NATIONAL_COLUMNS = ("semaine", "groupe", "nb_departements", *IMPACT_MONEY_COLUMNS, "taux_compensation",
                           "stock_dettes", "stock_creances", "stock_compensable")

HISTORY_DDL: dict[str, str] = {
    "history.positions_historique": TABLE_DDL["marts.positions"],
    # the lines of every snapshot, as section 9 compares them (key, position, amounts D, P, C, status)
    "history.lignes": f"""(
        departement VARCHAR NOT NULL,
        date_situation DATE NOT NULL,
        sens VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        cle VARCHAR NOT NULL,
        siren VARCHAR,
        nature VARCHAR NOT NULL,
        statut VARCHAR,
        montant {MONEY} NOT NULL,
        montant_du {MONEY},
        montant_paye {MONEY},
        suivie BOOLEAN NOT NULL,
        positionnable BOOLEAN NOT NULL
    )""",
    # which files each stored snapshot read: a snapshot is recomputed only when they change
    "history.instantanes": """(
        departement VARCHAR NOT NULL,
        date_situation DATE NOT NULL,
        fichiers VARCHAR NOT NULL,
        registre DATE,
        calcule_le TIMESTAMP NOT NULL
    )""",
    "history.mouvements": f"""(
        departement VARCHAR NOT NULL,
        date_debut DATE NOT NULL,
        date_fin DATE NOT NULL,
        siren VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        cle VARCHAR NOT NULL,
        type VARCHAR NOT NULL,
        montant {MONEY} NOT NULL
    )""",
    "history.impact": "(\n        departement VARCHAR NOT NULL,\n        date_debut DATE NOT NULL,\n"
                      "        date_fin DATE NOT NULL,\n"
                      + ",\n".join(f"        {c} {MONEY} NOT NULL" for c in IMPACT_MONEY_COLUMNS) + "\n    )",
    # when each impact row was computed: a snapshot of another department computed later makes it stale (v3)
    "history.impact_calcule": """(
        departement VARCHAR NOT NULL,
        date_fin DATE NOT NULL,
        calcule_le TIMESTAMP NOT NULL
    )""",
    "history.impact_national": "(\n        semaine VARCHAR NOT NULL,\n        groupe VARCHAR NOT NULL,\n"
                               "        nb_departements INTEGER NOT NULL,\n"
                               + ",\n".join(f"        {c} {MONEY} NOT NULL" for c in IMPACT_MONEY_COLUMNS)
                               + f",\n        taux_compensation DECIMAL(7,4),\n        stock_dettes {MONEY} NOT NULL,"
                               f"\n        stock_creances {MONEY} NOT NULL,\n        stock_compensable {MONEY} NOT NULL"
                               "\n    )",
}
