"""Headline figures of a dashboard: cards of the page, Dagster metadata, the markdown summary.

Aggregates only, never a company name: metadata ends up in logs and run history.
"""

from __future__ import annotations

from typing import Any

from onevision_dagster.reports.dashboard_data import DashboardData
from onevision_dagster.reports.formatting import (
    MISSING,
    format_date,
    format_euros,
    format_nombre,
    format_pourcentage,
)
from onevision_dagster.reports.legal import BLOCAGE_LABELS, BLOCAGE_PASSIF, BLOCAGE_PROCEDURE, CREANCE_A_ECHOIR


def _amendes_rattachees(data: DashboardData) -> tuple[int, int]:
    r = data.rattachement.set_index("resultat")["nb"]
    total = int(r.sum())
    return int(r.get("SIREN", 0)) + int(r.get("NOM", 0)), total


def _lignes(data: DashboardData) -> tuple[int, int, int]:
    c = data.chargements
    if c.empty:
        return 0, 0, 0
    return int(c["lignes_lues"].sum()), int(c["lignes_gardees"].sum()), int(c["lignes_rejetees"].sum())


def key_figures(data: DashboardData) -> dict[str, Any]:
    """Plain numbers for Dagster metadata: euros as float (display only), counts as int.

    No company name: metadata ends up in logs and run history.
    """
    t = data.totaux
    attached, fines = _amendes_rattachees(data)
    lues, gardees, rejetees = _lignes(data)
    euros = (
        "total_dettes",
        "dettes_suspendues",
        "dettes_poursuivables",
        "dettes_a_echoir",
        "dettes_non_valeur",
        "total_creances",
        "creances_a_echoir",
        "creances_potentielles",
        "dettes_compensables",
        "montant_compensable",
        "passif_declare",
        "montant_compensation_bloquee",
    )
    figures: dict[str, Any] = {
        "perimetre": data.libelle,
        "date_situation": data.date_situation.isoformat() if data.date_situation else None,
        "nb_entreprises": t["nb_entreprises"],
    }
    figures.update({f"{k}_euros": float(t[k]) for k in euros})
    figures.update(
        {
            "nb_entreprises_compensables": t["nb_compensables"],
            "nb_compensation_bloquee": t["nb_compensation_bloquee"],
            "nb_compensation_bloquee_procedure": t["nb_bloquee_procedure"],
            "nb_compensation_bloquee_passif_declare": t["nb_bloquee_passif"],
            "nb_passif_declare": t["nb_passif_declare"],
            "nb_debiteurs_communs": t["nb_debiteurs_communs"],
            "nb_procedure_collective": t["nb_procedure_collective"],
            "lignes_lues": lues,
            "lignes_gardees": gardees,
            "lignes_rejetees": rejetees,
            "amendes_rattachees": attached,
            "amendes_total": fines,
            "taux_rattachement_amendes_pct": round(100 * attached / fines, 1) if fines else None,
            "lignes_non_positionnees": int(data.non_positionnees["nb"].sum()) if not data.non_positionnees.empty else 0,
        }
    )
    return figures


def key_figures_fr(data: DashboardData) -> list[tuple[str, str, str]]:
    """(label, formatted value, explanation) for the headline cards of a page (SOURCES.md section 8 wording)."""
    t = data.totaux
    attached, fines = _amendes_rattachees(data)
    lues, _, rejetees = _lignes(data)
    return [
        ("Entreprises suivies", format_nombre(t["nb_entreprises"]), "avec au moins une dette ou une créance"),
        (
            "Dettes échues",
            format_euros(t["total_dettes"]),
            f"{format_nombre(t['nb_debitrices'])} entreprises débitrices ; restes à recouvrer échus, poursuivables "
            "ou suspendus",
        ),
        (
            "dont poursuivables",
            format_euros(t["dettes_poursuivables"]),
            "non suspendues d'après les données",
        ),
        (
            "dont suspendues",
            format_euros(t["dettes_suspendues"]),
            f"sursis, titre contesté, procédure collective ({format_nombre(t['nb_dettes_suspendues'])} "
            "entreprise(s)) : ni poursuivies ni compensées",
        ),
        (
            "Impôts à échoir",
            format_euros(t["dettes_a_echoir"]),
            f"hors total : pas encore échus, non compensables avant leur date "
            f"({format_nombre(t['nb_dettes_a_echoir'])} entreprise(s))",
        ),
        (
            "Amendes admises en non-valeur",
            format_euros(t["dettes_non_valeur"]),
            f"hors total : non éteintes, à reconsidérer ({format_nombre(t['nb_dettes_non_valeur'])} entreprise(s))",
        ),
        (
            "Créances certaines et dues",
            format_euros(t["total_creances"]),
            f"dues par l'État à {format_nombre(t['nb_avec_creances'])} entreprises",
        ),
        (
            "Créances à échoir",
            format_euros(t["creances_a_echoir"]),
            f"{CREANCE_A_ECHOIR}, hors total ({format_nombre(t['nb_creances_a_echoir'])} entreprise(s))",
        ),
        (
            "Créances potentielles",
            format_euros(t["creances_potentielles"]),
            "demandes en instruction, non compensables",
        ),
        (
            "Montant compensable",
            format_euros(t["montant_compensable"]),
            f"{format_nombre(t['nb_compensables'])} entreprises à examiner, art. L. 257 B LPF",
        ),
        (
            "Compensations bloquées",
            format_nombre(t["nb_compensation_bloquee"]),
            f"{format_nombre(t['nb_bloquee_procedure'])} : {BLOCAGE_LABELS[BLOCAGE_PROCEDURE]} ; "
            f"{format_nombre(t['nb_bloquee_passif'])} : {BLOCAGE_LABELS[BLOCAGE_PASSIF]} ; "
            f"{format_euros(t['montant_compensation_bloquee'])} en jeu",
        ),
        (
            "Passif déclaré",
            format_euros(t["passif_declare"]),
            f"impôts déclarés au passif d'une procédure collective ({format_nombre(t['nb_passif_declare'])} "
            "entreprise(s))",
        ),
        ("Débiteurs communs", format_nombre(t["nb_debiteurs_communs"]), "dettes échues dans au moins 2 sources"),
        (
            "Lignes rejetées",
            format_nombre(rejetees),
            f"sur {format_nombre(lues)} lignes lues, soit {format_pourcentage(rejetees, lues)}",
        ),
        (
            "Amendes rattachées",
            format_pourcentage(attached, fines),
            f"{format_nombre(attached)} sur {format_nombre(fines)} amendes",
        ),
    ]


def summary_markdown(data: DashboardData) -> str:
    """French summary for the Dagster UI (aggregates only, no company name)."""
    date = format_date(data.date_situation) if data.date_situation else MISSING
    lines = [f"### One Vision — {data.libelle} — situation au {date}", ""]
    lines += [f"- **{label}** : {value} ({detail})" for label, value, detail in key_figures_fr(data)]
    if data.tables_absentes:
        lines += ["", f"Tables absentes (sections vides) : {', '.join(data.tables_absentes)}"]
    return "\n".join(lines) + "\n"
