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
PROCEDURE_SANS_COMPENSATION = "PROCEDURE_SANS_COMPENSATION"
POSSIBLE = "POSSIBLE"
SANS_CREANCE = "SANS_CREANCE"
SANS_DETTE_COMPENSABLE = "SANS_DETTE_COMPENSABLE"

LEGAL_BASIS = (
    "Dettes échues : tout ce qui est dû et échu à la date de situation. Suspendues : impôt sous sursis de paiement "
    "(art. L. 277 du LPF), titre d'une collectivité contesté en justice (art. L. 1617-5 du CGCT), toute dette "
    "d'une entreprise en procédure collective (art. L. 622-21 du Code de commerce ; née après le jugement : à "
    "qualifier, art. L. 622-17). Poursuivables : non suspendues d'après les données. Le comptable public peut "
    "imputer un remboursement ou une restitution dû à une entreprise sur ses impôts, droits, pénalités et "
    "intérêts lorsque les deux créances sont liquides et exigibles (art. L. 257 B du LPF), et l'en informe "
    "(art. R. 257 B-1 du LPF) : seuls les impôts professionnels échus et poursuivables sont compensables à ce "
    "titre, contre les seules créances certaines et dues, dans le département ou ailleurs. Amendes, recettes "
    "non fiscales et produits locaux sont hors L. 257 B : d'autres voies existent (compensation de droit commun, "
    "art. 1347 du Code civil ; saisie administrative à tiers détenteur), à l'appréciation de l'agent. Une "
    "procédure collective ouverte interdit de payer les dettes antérieures au jugement, compensation comprise, "
    "sauf créances connexes (art. L. 622-7 du Code de commerce). Créances et dettes ne sont jamais soustraites "
    "les unes des autres (art. 1347 du Code civil : réciprocité). Le montant compensable est une opportunité à "
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


def _money(position: dict[str, Any], column: str) -> Decimal:
    return position.get(column) or Decimal(0)


def status(position: dict[str, Any], date_jugement: dt.date | None = None) -> OffsettingStatus:
    """Why `montant_compensable` of this position (departmental or national) is what it is.

    « Compensation bloquée » only where there is something to offset (certain due credits and past-due
    professional taxes); « compensable » only where `montant_compensable` > 0 (contract section 8).
    """
    passif = _money(position, "passif_declare")
    hors = _money(position, "total_dettes") - _money(position, "dettes_impots_pro")
    hors_text = (f" Les {format_euros(hors)} d'amendes, de produits locaux et de recettes non fiscales sont hors "
                 "L. 257 B." if hors > 0 else "")
    something = _money(position, "total_creances") > 0 and _money(position, "dettes_impots_pro") > 0
    if _procedure_open(position, date_jugement):
        nature = PROCEDURES.get(position["procedure_collective"], position["procedure_collective"].lower())
        since = f" depuis le {format_date(date_jugement)}" if date_jugement else ""
        extra = f" Créances fiscales déclarées au passif : {format_euros(passif)}." if passif > 0 else ""
        rule = (f"Procédure de {nature}{since} (registre) : toutes les dettes échues sont suspendues (art. L. 622-21 "
                "du Code de commerce). Payer une dette antérieure au jugement, y compris par compensation, est "
                "interdit sauf créances connexes (art. L. 622-7 du Code de commerce) : le montant compensable est "
                f"ramené à 0 et l'agent apprécie au cas par cas.{extra}")
        if something:
            return OffsettingStatus(BLOQUEE_PROCEDURE, "Compensation bloquée : procédure collective ouverte "
                                    "(art. L. 622-7 C. com.)", rule, True)
        return OffsettingStatus(PROCEDURE_SANS_COMPENSATION, "Procédure collective ouverte : rien à compenser",
                                rule, True)
    if passif > 0:
        rule = (f"{format_euros(passif)} d'impôts professionnels sont déclarés au passif d'une procédure "
                "collective : une procédure existe même si le registre ne l'a pas encore enregistrée ; les dettes "
                "échues sont suspendues (art. L. 622-21 du Code de commerce) et la compensation est bloquée comme "
                "pour une procédure ouverte (art. L. 622-7 du Code de commerce). À vérifier au BODACC.")
        if something:
            return OffsettingStatus(
                BLOQUEE_PASSIF, "Compensation bloquée : créance déclarée au passif d'une procédure que le registre "
                "ne montre pas (art. L. 622-7 C. com.)", rule, True)
        return OffsettingStatus(PROCEDURE_SANS_COMPENSATION, "Procédure non référencée au registre : rien à "
                                "compenser", rule, True)
    montant = _money(position, "montant_compensable")
    if montant > 0:
        return OffsettingStatus(
            POSSIBLE, f"Compensable (art. L. 257 B LPF) : {format_euros(montant)}",
            f"Le plus petit de : créances certaines et dues {format_euros(position['total_creances'])}, "
            f"impôts professionnels échus et poursuivables {format_euros(position['dettes_compensables'])}"
            " (art. L. 257 B du LPF ; informer l'entreprise, art. R. 257 B-1)." + hors_text, False)
    if _money(position, "total_creances") <= 0:
        later = _money(position, "creances_a_echoir")
        later_text = (f" {format_euros(later)} de créances d'IS ne sont remboursables qu'à une date ultérieure : "
                      "elles ne peuvent pas être compensées avant." if later > 0 else "")
        return OffsettingStatus(SANS_CREANCE, "Rien à compenser : aucune créance certaine et due",
                                "L'État ne doit rien de certain et dû à l'entreprise." + later_text + hors_text,
                                False)
    suspended = _money(position, "dettes_suspendues")
    suspended_text = (f" {format_euros(suspended)} de dettes échues sont suspendues (motif sur chaque ligne) : "
                      "ni poursuivies ni compensées." if suspended > 0 else "")
    return OffsettingStatus(
        SANS_DETTE_COMPENSABLE, "Rien à compenser au titre de l'art. L. 257 B",
        "L'entreprise n'a pas d'impôt professionnel échu et poursuivable." + suspended_text + hors_text, False)


def elsewhere_status(row: dict[str, Any]) -> OffsettingStatus:
    """A department whose credits can pay the company's taxes in other departments (`compensations` row)."""
    return OffsettingStatus(
        POSSIBLE, f"Compensable (art. L. 257 B LPF) : {format_euros(row['montant_compensable'])}, impôts des "
        f"départements {row['departements_dettes'].replace(',', ', ')}",
        f"Les créances certaines et dues de ce département ({format_euros(row['creances_departement'])}) peuvent "
        "payer les impôts de l'entreprise dans d'autres départements (art. L. 257 B du LPF : le contribuable, pas "
        "le service) ; l'agent de ce département, qui sinon les rembourserait, est celui qui agit.", False)


def debt_line_label(line: dict[str, Any], offsettable_here: bool = True, blocked: str | None = None) -> str:
    """How one debt line stands with respect to offsetting under art. L. 257 B.

    `offsettable_here`: a credit of the company can pay this department's taxes (`montant_compensable` > 0 in
    the department, or a `compensations` row naming it): only then is a line « compensable ». `blocked`: the
    department's « compensation bloquée » title when its offsetting is blocked with something to offset (the
    company page then says the same as the company sheet).
    """
    nature = line["nature"]
    if nature in ("AUCUNE", "NON_VALEUR"):
        return "—"
    if line["source"] != "impots_pro":
        return "Hors L. 257 B"
    if nature == "A_ECHOIR":
        return "Non compensable avant son échéance"
    if blocked:
        return blocked
    if line.get("suspendue"):
        return "Non compensable : suspendue"
    if line["compensable"] and offsettable_here:
        return "Compensable (art. L. 257 B LPF)"
    if line["compensable"]:
        return "Rien à compenser : aucune créance certaine et due"
    return "Non compensable"


def credit_line_label(line: dict[str, Any]) -> str:
    return {
        "CERTAINE": "Certaine et due",
        "A_ECHOIR": "Certaine, remboursable à une date ultérieure : pas encore compensable",
        "POTENTIELLE": "Potentielle (demande en instruction) : non compensable",
        "AUCUNE": "Rien n'est dû",
    }.get(line["nature"], line["nature"])


def offset_before_judgment(debts: list[dict[str, Any]], credits: list[dict[str, Any]],
                           date_jugement: dt.date | None, procedure: str | None, as_of: dt.date | None) -> bool:
    """A company in a procedure that held a certain credit and a past-due tax both dated before its judgment:
    an offset may have taken effect then (art. 1347 C. civ.) or be allowed as connected (L. 622-7)."""
    if not procedure or date_jugement is None or as_of is None or date_jugement > as_of:
        return False  # the procedure must be open at the as-of date
    credit = any(c["nature"] == "CERTAINE" and c["date_ligne"] and c["date_ligne"] < date_jugement for c in credits)
    tax = any(d["source"] == "impots_pro" and d["nature"] == "ECHUE" and d["date_ligne"]
              and d["date_ligne"] < date_jugement for d in debts)
    return credit and tax
