"""Jobs the schedule, the sensor and operators launch."""

from __future__ import annotations

import dagster as dg

REGISTER = dg.AssetKey(["raw", "entreprises"])
DEPARTMENT_GROUPS = ("sources", "core", "marts", "rapports")
DEPARTMENT_SELECTION = dg.AssetSelection.groups(*DEPARTMENT_GROUPS) - dg.AssetSelection.assets(REGISTER)
REFRESH_TARGET = dg.AssetSelection.groups(*DEPARTMENT_GROUPS)

# Everything partitioned by department: sources, unified lines, positions, panels, reports.
departement_job = dg.define_asset_job(
    name="rafraichissement_departement",
    selection=DEPARTMENT_SELECTION,
    description="Recharge les extraits d'un département et recalcule ses lignes, positions, panels et rapports.",
)

register_job = dg.define_asset_job(
    name="chargement_registre",
    selection=dg.AssetSelection.assets(REGISTER),
    description="Recharge le registre national des entreprises.",
)

national_job = dg.define_asset_job(
    name="vue_nationale",
    selection=dg.AssetSelection.groups("national"),
    description="Recalcule les positions et panels nationaux et le tableau de bord national à partir des "
    "départements matérialisés.",
)

# The weekday schedule's runs: the register, then each department (a subset of this job per run).
refresh_job = dg.define_asset_job(
    name="rafraichissement_planifie",
    selection=REFRESH_TARGET,
    description="Rafraîchissement planifié (jours ouvrés) : une exécution pour le registre, puis une par "
    "département.",
)

HISTORY_GROUP = "historique"

historique_job = dg.define_asset_job(
    name="historique",
    selection=dg.AssetSelection.groups(HISTORY_GROUP),
    description="Calcule un instantané (date d'extraction × département) : positions à cette date, mouvements "
    "depuis l'instantané précédent du département et impact de la paire.",
)

FICHES = dg.AssetKey(["rapports", "fiches_entreprises"])
# assets written only when an operator asks: no refresh, schedule, sensor or automation selects this group
ON_REQUEST_GROUP = "fiches_sur_demande"

fiches_job = dg.define_asset_job(
    name="fiches_entreprises",
    selection=dg.AssetSelection.assets(FICHES),
    description="Sur demande : écrit sur disque les fiches HTML des entreprises aux plus forts enjeux d'un "
    "département. Le rafraîchissement ne les écrit pas : l'application rend la fiche de toute entreprise à la "
    "demande d'un agent, avec ses droits et l'audit.",
)
