"""The warehouse columns the application reads (contract version 3, docs/warehouse.md), named once.

The application reads every table by explicit column names, never `SELECT *`: a column added to the
warehouse changes nothing here, a column removed fails the publication loudly instead of a page silently.
"""

from __future__ import annotations

POSITION_MONEY: tuple[str, ...] = (
    "dettes_amendes", "dettes_spl", "dettes_impots_pro", "dettes_rnf", "total_dettes", "dettes_suspendues",
    "dettes_poursuivables", "dettes_a_echoir", "dettes_non_valeur", "creances_tva", "creances_excedents",
    "creances_is", "total_creances", "creances_a_echoir", "creances_potentielles", "dettes_compensables",
    "montant_compensable", "passif_declare",
)
POSITIONS: tuple[str, ...] = (
    "siren", "denomination", "departement", "date_situation", *POSITION_MONEY, "nb_sources_dettes",
    "anciennete_jours", "procedure_collective",
)
POSITIONS_NATIONALES: tuple[str, ...] = tuple("departements" if c == "departement" else c for c in POSITIONS)
LIGNES: tuple[str, ...] = (
    "departement", "siren", "source", "reference", "date_ligne", "montant", "statut", "etape", "ouverte", "nature",
    "compensable", "sursis", "conteste", "passif", "suspendue", "motif_suspension", "date_origine",
    "anterieure_jugement", "fichier", "ligne", "date_extraction",
)
NON_POSITIONNEES: tuple[str, ...] = ("departement", "source", "fichier", "ligne", "reference", "motif", "siren")
REGISTRE: tuple[str, ...] = (
    "siren", "denomination", "sigle", "nom_normalise", "sigle_normalise", "adresse", "code_postal", "commune",
    "categorie_juridique", "etat_administratif", "procedure_collective", "date_jugement",
)
"""Columns of the current register version (`raw.entreprises`, latest `date_extraction`) used for search."""
COMPENSATIONS: tuple[str, ...] = (
    "siren", "denomination", "departement", "date_situation", "creances_departement",
    "dettes_compensables_departement", "dettes_compensables_autres", "montant_compensable", "departements_dettes",
)
"""`marts.compensations` (contract section 6, version 3): what a department's credits can pay anywhere."""
DECLARATIONS: tuple[str, ...] = (
    "siren", "denomination", "departement", "date_situation", "procedure_collective", "date_jugement",
    "date_publication_bodacc", "source", "fichier", "ligne", "cle", "montant", "date_limite_declaration",
    "date_limite_releve", "etat", "nature", "date_ligne", "date_origine", "service_declarant",
)
"""`marts.declarations` (contract section 6, version 3): the claims to declare in a collective procedure."""
PANEL: tuple[str, ...] = (
    "rang", "siren", "denomination", "departement", "nb_sources_dettes", "total_dettes", "dettes_poursuivables",
    "dettes_amendes", "dettes_spl", "dettes_impots_pro", "dettes_rnf", "anciennete_jours", "etape_la_plus_avancee",
    "score",
)
"""`marts.panel_debiteurs_communs` (contract v3, consolidate/panels.py): common debtors with something pursuable."""
MOUVEMENTS: tuple[str, ...] = ("departement", "date_debut", "date_fin", "siren", "source", "cle", "type", "montant")
"""`history.mouvements` (contract section 9), read only when the history exists."""

DEBT_SOURCES: tuple[str, ...] = ("amendes", "spl", "impots_pro", "rnf")
CREDIT_SOURCES: tuple[str, ...] = ("credits_tva", "excedents", "creances_is")


def column_list(columns: tuple[str, ...], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{c}" for c in columns)
