"""Which audited action a request is, from its method and path alone.

The same classification serves the handlers and the proxy-secret check, which refuses a request before any
route runs: a refusal is recorded as the action that was attempted, with its object (query, SIREN, list).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_ENTREPRISE = re.compile(r"/entreprises/([^/]*)(?:/fiche)?")
_DOCUMENTS = re.compile(r"/entreprises/([^/]*)/documents")
_LISTE = re.compile(r"/departements/([^/]+)/listes/([^/]+)(/export\.csv|/lignes\.csv|/resultats)?")
_DEPARTEMENT = re.compile(r"/departements/([^/]+)")
_RAPPORT = re.compile(r"/rapports/((?:fiches/)?[^/]+)")


def classify(method: str, path: str, query: Mapping[str, str]) -> tuple[str, str]:
    """(action, object) of a request; static files and the home page are `ACCES` with their path."""
    if path == "/recherche":
        return "RECHERCHE", query.get("q", "")
    if m := _ENTREPRISE.fullmatch(path):
        return "CONSULTATION_ENTREPRISE", m.group(1)
    if m := _DOCUMENTS.fullmatch(path):
        return "DOCUMENT", m.group(1)
    if m := _LISTE.fullmatch(path):
        obj = f"{m.group(1)}/{m.group(2)}"
        if m.group(3) == "/export.csv":
            return "EXPORT_LISTE", obj
        if m.group(3) == "/lignes.csv":
            return "EXPORT_LISTE", f"{obj}/lignes"
        if m.group(3) == "/resultats" or method == "POST":
            return "RESULTAT", obj
        return "CONSULTATION_LISTE", obj
    if (m := _RAPPORT.fullmatch(path)) and m.group(1) != "plotly.min.js":
        return "CONSULTATION_TABLEAU_DE_BORD", m.group(1)
    if m := _DEPARTEMENT.fullmatch(path):
        return "CONSULTATION_LISTE", m.group(1)
    return "ACCES", path
