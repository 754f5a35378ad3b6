"""The history section of a company sheet: its position at each snapshot and its movements between snapshots
(SOURCES.md section 9), as tables (the sheet has no script)."""

from __future__ import annotations

from typing import Any

from onevision_dagster.reports.formatting import format_date, format_euros
from onevision_dagster.reports.html_page import esc, table_html
from onevision_dagster.reports.labels import MOUVEMENT_LABELS, source_label

_POSITION_HEADERS = [("Date de l'instantané", False), ("Département", False), ("Dettes échues", True),
                     ("dont suspendues", True), ("À échoir", True), ("Admises en non-valeur", True),
                     ("Créances certaines et dues", True), ("Montant compensable", True), ("Passif déclaré", True)]
_MOVEMENT_HEADERS = [("Période", False), ("Département", False), ("Source", False), ("Référence", False),
                     ("Mouvement", False), ("Montant", True)]


def _positions(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>Aucune position de l'entreprise dans les instantanés de ce périmètre.</p>"
    money = ("total_dettes", "dettes_suspendues", "dettes_a_echoir", "dettes_non_valeur", "total_creances",
             "montant_compensable", "passif_declare")
    cells = [[esc(format_date(r["date_situation"])), esc(r["departement"]), *(esc(format_euros(r[c])) for c in money)]
             for r in rows]
    return table_html(_POSITION_HEADERS, cells, caption="Position à chaque instantané")


def _movements(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>Aucun mouvement entre les instantanés de ce périmètre.</p>"
    cells = [[esc(f"du {format_date(r['date_debut'])} au {format_date(r['date_fin'])}"), esc(r["departement"]),
              esc(source_label(r["source"])), esc(r["cle"]), esc(MOUVEMENT_LABELS.get(r["type"], r["type"])),
              esc(format_euros(r["montant"]))] for r in rows]
    return table_html(_MOVEMENT_HEADERS, cells, caption="Mouvements entre deux instantanés consécutifs")


def history_html(history: dict[str, Any] | None) -> str:
    if history is None:
        return "<p>L'historique des instantanés n'a pas été calculé dans cet entrepôt.</p>"
    return (_positions(history["positions"])
            + '<p class="aide">Les mouvements comparent chaque ligne d\'un instantané au suivant : paiements, '
            "annulations, admissions en non-valeur, hausses, nouvelles dettes et créances, imputations (compensations "
            "faites) et remboursements par l'État.</p>"
            + _movements(history["mouvements"]))
