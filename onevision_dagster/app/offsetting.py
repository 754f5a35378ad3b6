"""The offsetting status of a position and of each line, with its legal basis (contract section 8), in French.

The figure itself is the warehouse's (`montant_compensable`); this module says *why* it is what it is, so the
agent never has to guess: blocked by an open collective procedure, blocked by a claim filed in a procedure
the register does not show, nothing to offset on one side or the other. Debts other than professional taxes
are "hors L. 257 B": other routes (ordinary offsetting, a garnishment) are the agent's to judge.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from onevision_dagster.reports.formatting import format_date, format_euros

PROCEDURES = {"SAUVEGARDE": "sauvegarde", "REDRESSEMENT": "redressement judiciaire",
              "LIQUIDATION": "liquidation judiciaire"}

BLOQUEE_PROCEDURE = "BLOQUEE_PROCEDURE"
BLOQUEE_PASSIF = "BLOQUEE_PASSIF"
POSSIBLE = "POSSIBLE"
SANS_CREANCE = "SANS_CREANCE"
SANS_DETTE_COMPENSABLE = "SANS_DETTE_COMPENSABLE"

LEGAL_BASIS = (
    "Le comptable public peut imputer un remboursement ou une restitution dû à une entreprise sur ses impôts, "
    "droits, pénalités et intérêts exigibles (art. L. 257 B du LPF), et l'en informe (art. R. 257 B-1 du LPF). "
    "Seules les dettes d'impôts professionnels exigibles et sans sursis de paiement (art. L. 277 du LPF) sont "
    "compensables à ce titre ; seules les créances certaines et exigibles comptent. Amendes, recettes non "
    "fiscales et produits locaux sont hors L. 257 B : d'autres voies existent (compensation de droit commun, "
    "art. 1347 du Code civil ; saisie administrative à tiers détenteur), à l'appréciation de l'agent. Une "
    "procédure collective ouverte interdit de payer les dettes antérieures au jugement, compensation comprise, "
    "sauf créances connexes (art. L. 622-7 du Code de commerce). Le montant compensable est une opportunité à "
    "examiner, jamais une action du logiciel."
)


@dataclass(frozen=True)
class OffsettingStatus:
    code: str
    title: str
    detail: str
    blocked: bool


def _procedure_open(position: dict[str, Any], date_jugement: dt.date | None) -> bool:
    if not position.get("procedure_collective"):
        return False
    # the register's judgment date is at or before the as-of date; unknown: treated as open (conservative)
    return date_jugement is None or date_jugement <= position["date_situation"]


def status(position: dict[str, Any], date_jugement: dt.date | None = None) -> OffsettingStatus:
    """Why `montant_compensable` of this position (departmental or national) is what it is."""
    passif = position["passif_declare"] or Decimal(0)
    hors = (position["total_dettes"] or Decimal(0)) - (position["dettes_impots_pro"] or Decimal(0))
    hors_text = (f" Les {format_euros(hors)} d'amendes, de produits locaux et de recettes non fiscales sont hors "
                 "L. 257 B." if hors > 0 else "")
    if _procedure_open(position, date_jugement):
        nature = PROCEDURES.get(position["procedure_collective"], position["procedure_collective"].lower())
        since = f" depuis le {format_date(date_jugement)}" if date_jugement else ""
        extra = f" Créances fiscales déclarées au passif : {format_euros(passif)}." if passif > 0 else ""
        return OffsettingStatus(
            BLOQUEE_PROCEDURE, "Compensation bloquée : procédure collective ouverte",
            f"Procédure de {nature}{since} (registre). Payer une dette antérieure au jugement, y compris par "
            "compensation, est interdit sauf créances connexes (art. L. 622-7 du Code de commerce) : le montant "
            f"compensable est ramené à 0 et l'agent apprécie au cas par cas.{extra}", True)
    if passif > 0:
        return OffsettingStatus(
            BLOQUEE_PASSIF,
            "Compensation bloquée : créance déclarée au passif d'une procédure que le registre ne montre pas",
            f"{format_euros(passif)} d'impôts professionnels sont déclarés au passif d'une procédure collective "
            "(phase PASSIF_PROCEDURE) : une procédure existe même si le registre ne l'a pas encore enregistrée. "
            "La compensation est bloquée comme pour une procédure ouverte (art. L. 622-7 du Code de commerce).",
            True)
    montant = position["montant_compensable"] or Decimal(0)
    if montant > 0:
        return OffsettingStatus(
            POSSIBLE, f"Compensation possible : {format_euros(montant)}",
            f"Le plus petit de : créances certaines et exigibles {format_euros(position['total_creances'])}, "
            f"dettes d'impôts professionnels exigibles sans sursis {format_euros(position['dettes_compensables'])}"
            " (art. L. 257 B du LPF ; informer l'entreprise, art. R. 257 B-1)." + hors_text, False)
    if (position["total_creances"] or 0) <= 0:
        later = position.get("creances_a_echoir") or Decimal(0)
        later_text = (f" {format_euros(later)} de créances d'IS ne sont remboursables qu'à une date ultérieure : "
                      "elles ne sont pas exigibles et ne peuvent pas être compensées avant." if later > 0 else "")
        return OffsettingStatus(SANS_CREANCE, "Rien à compenser : aucune créance certaine et exigible",
                                "L'État ne doit rien d'exigible à l'entreprise." + later_text + hors_text, False)
    return OffsettingStatus(
        SANS_DETTE_COMPENSABLE, "Rien à compenser au titre de l'art. L. 257 B",
        "L'entreprise n'a pas de dette d'impôts professionnels exigible sans sursis de paiement "
        "(une dette sous sursis reste due mais son recouvrement, compensation comprise, est suspendu : "
        "art. L. 277 du LPF)." + hors_text, False)


def debt_line_label(line: dict[str, Any]) -> str:
    """How one debt line stands with respect to offsetting."""
    nature = line["nature"]
    if nature == "AUCUNE":
        return "Soldée : rien n'est dû"
    if nature == "NON_VALEUR":
        return "Admise en non-valeur : hors des dettes poursuivies, non éteinte"
    if line["source"] != "impots_pro":
        return "Hors L. 257 B"
    if line["passif"]:
        return "Déclarée au passif d'une procédure (art. L. 622-7 C. com.)"
    if line["sursis"]:
        return "Sursis de paiement : non compensable (art. L. 277 LPF)"
    if nature == "A_ECHOIR":
        return "À échoir : pas encore exigible"
    if line["compensable"]:
        return "Compensable (art. L. 257 B LPF)"
    return "Non compensable"


def credit_line_label(line: dict[str, Any]) -> str:
    return {
        "CERTAINE": "Certaine et exigible : compensable",
        "A_ECHOIR": "Certaine, remboursable à une date ultérieure : pas encore compensable",
        "POTENTIELLE": "Potentielle (demande en instruction) : non compensable",
        "AUCUNE": "Rien n'est dû",
    }.get(line["nature"], line["nature"])
