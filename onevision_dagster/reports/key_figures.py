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
        "total_creances",
        "creances_potentielles",
        "solde",
        "dettes_compensables",
        "montant_compensable",
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
    """(label, formatted value, explanation) for the headline cards of a page."""
    t = data.totaux
    attached, fines = _amendes_rattachees(data)
    lues, _, rejetees = _lignes(data)
    return [
        ("Entreprises suivies", format_nombre(t["nb_entreprises"]), "avec au moins une dette ou une créance"),
        (
            "Dettes restant dues",
            format_euros(t["total_dettes"]),
            f"{format_nombre(t['nb_debitrices'])} entreprises débitrices",
        ),
        (
            "Créances certaines dues par l'État",
            format_euros(t["total_creances"]),
            f"{format_nombre(t['nb_avec_creances'])} entreprises créancières",
        ),
        (
            "Créances potentielles",
            format_euros(t["creances_potentielles"]),
            "demandes en instruction, non compensables",
        ),
        (
            "Solde net",
            format_euros(t["solde"]),
            "créances certaines − dettes ; négatif : les entreprises doivent",
        ),
        (
            "Montant compensable",
            format_euros(t["montant_compensable"]),
            f"{format_nombre(t['nb_compensables'])} entreprises à examiner, art. L. 257 B LPF",
        ),
        (
            "Compensations bloquées",
            format_nombre(t["nb_compensation_bloquee"]),
            f"procédure collective ouverte, {format_euros(t['montant_compensation_bloquee'])} en jeu",
        ),
        ("Débiteurs communs", format_nombre(t["nb_debiteurs_communs"]), "dettes dans au moins 2 sources"),
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
