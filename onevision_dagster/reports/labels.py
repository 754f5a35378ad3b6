"""French labels of the codes agents read (sources, stages, statuses, reasons) and company labels for charts.

One place for the vocabulary so a dashboard, a sheet and an export never name
the same thing two ways.
"""

from __future__ import annotations

import html

from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.history.tables import OTHERS, PILOT

ETAPE_LABELS = {
    "AMIABLE": "Amiable",
    "RELANCE": "Relance",
    "MISE_EN_DEMEURE": "Mise en demeure",
    "SATD": "Saisie administrative à tiers détenteur",
    "SAISIE": "Saisie",
    "CONTESTATION": "Contestation par le débiteur",
    "PASSIF_PROCEDURE": "Déclarée au passif (procédure collective)",
}
"""Recovery stages in the order a file moves through them."""


MOTIF_LABELS = {
    "NB_CELLULES": "Nombre de cellules incorrect",
    "VALEUR_MANQUANTE": "Valeur obligatoire manquante",
    "DATE_INVALIDE": "Date invalide",
    "MONTANT_INVALIDE": "Montant illisible",
    "MONTANT_NEGATIF": "Montant négatif",
    "CODE_INCONNU": "Code inconnu",
    "FORMAT_INVALIDE": "Format invalide",
    "IDENTIFIANT_INVALIDE": "Identifiant invalide",
    "INCOHERENCE": "Montants incohérents",
    "DOUBLON": "Doublon",
    "FUTURE_DATE": "Date postérieure à l'extraction",
}


NON_POSITIONNEE_LABELS = {
    "NON_RATTACHEE": "Amende non rattachée",
    "HORS_PERIMETRE": "Entreprise hors périmètre",
    "REGISTRE_REJETE": "Ligne du registre rejetée (voir les rejets du registre)",
    "SIREN_INCONNU": "SIREN inconnu du registre",
}


RATTACHEMENT_LABELS = {
    "SIREN": "SIREN fourni",
    "NOM": "Rattachée par nom ou sigle + code postal",
    "AMBIGUE": "Non rattachée : plusieurs entreprises possibles",
    "AUCUN_CANDIDAT": "Non rattachée : aucune entreprise trouvée",
}


CATEGORIES_JURIDIQUES = {
    "1": "Entrepreneur individuel",
    "2": "Groupement de droit privé non doté de la personnalité morale",
    "3": "Personne morale de droit étranger",
    "4": "Personne morale de droit public soumise au droit commercial",
    "5": "Société commerciale",
    "6": "Autre personne morale immatriculée au RCS",
    "7": "Personne morale et organisme soumis au droit administratif",
    "8": "Organisme privé spécialisé",
    "9": "Groupement de droit privé",
}
"""INSEE legal categories, level 1 (first digit)."""


PROCEDURES = {
    "SAUVEGARDE": "Sauvegarde",
    "REDRESSEMENT": "Redressement judiciaire",
    "LIQUIDATION": "Liquidation judiciaire",
}


STATUTS = {
    "EN_RECOUVREMENT": "En recouvrement",
    "PAYEE": "Payée",
    "ANNULEE": "Annulée",
    "ADMISE_NON_VALEUR": "Admise en non-valeur",
    "OUVERT": "Ouvert",
    "SOLDE": "Payé intégralement",
    "PRIS_EN_CHARGE": "Pris en charge",
    "ANNULE": "Annulé",
    "DEPOSEE": "Déposée",
    "EN_INSTRUCTION": "En instruction",
    "ACCORDEE": "Accordée",
    "REJETEE": "Rejetée",
    "REMBOURSEE": "Remboursée",
    "A_RESTITUER": "À restituer",
    "RESTITUE": "Restitué",
    "IMPUTE": "Imputé",
    "EN_COURS": "En cours",
    "REMBOURSABLE": "Remboursable",
    "IMPUTEE": "Imputée",
}


NATURES_DETTES = {
    "ECHUE": "Échue",
    "A_ECHOIR": "À échoir (pas encore échue)",
    "NON_VALEUR": "Admise en non-valeur (hors dettes poursuivies)",
    "AUCUNE": "Rien n'est dû",
}
"""``core.lignes_dettes.nature``."""

NATURES_CREANCES = {
    "CERTAINE": "Certaine et due",
    "A_ECHOIR": "À échoir (non compensable avant sa date)",
    "POTENTIELLE": "Potentielle (en instruction)",
    "AUCUNE": "Rien n'est dû",
}
"""``core.lignes_creances.nature``."""


RATTACHEMENTS = {
    "SIREN": "par SIREN",
    "SIREN_SANS_ESPACES": "par SIREN (espaces retirés)",
    "NOM_CODE_POSTAL": "par nom et code postal",
    "SIGLE_CODE_POSTAL": "par sigle et code postal",
}


def source_label(source: str) -> str:
    spec = SOURCES_BY_NAME.get(source)
    if spec is not None:
        return spec.label
    return {"potentielles": "Créances potentielles (en instruction)"}.get(source, source)


def label_entreprise(denomination: str | None, siren: str, max_len: int = 40) -> str:
    """Short, unique, HTML-escaped label for a chart axis or hover."""
    name = (denomination or "").strip() or "(sans dénomination)"
    if len(name) > max_len:
        name = name[: max_len - 1].rstrip() + "…"
    return html.escape(f"{name} ({siren})", quote=False)


MOUVEMENT_LABELS = {
    "PAIEMENT": "Paiement",
    "ANNULATION": "Annulation ou dégrèvement",
    "NON_VALEUR": "Admission en non-valeur",
    "SORTIE": "Sortie du fichier",
    "HAUSSE": "Hausse (pénalités)",
    "NOUVELLE": "Nouvelle dette",
    "IMPUTATION": "Imputation sur des dettes (compensation faite)",
    "REMBOURSEMENT": "Remboursement par l'État",
    "NOUVELLE_CREANCE": "Nouvelle créance",
}
"""`history.mouvements.type` (SOURCES.md section 9)."""


GROUPE_LABELS = {PILOT: "Départements pilotes", OTHERS: "Autres départements"}
"""`history.impact_national.groupe`: the experiment's two groups."""
