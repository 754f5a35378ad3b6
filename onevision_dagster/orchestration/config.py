"""Resource defaults, each overridable by an environment variable (shown as such in the UI)."""

from __future__ import annotations

import os

import dagster as dg

from onevision_dagster.resources import LandingZone, ReportsFolder, Settings, Warehouse

ENV_DEFAULTS = {
    "ONEVISION_LANDING": "data/landing",
    "ONEVISION_WAREHOUSE": "data/onevision.duckdb",
    "ONEVISION_REPORTS": "data/rapports",
    "ONEVISION_DEPARTEMENTS": "17,91,95",
    "ONEVISION_FRESHNESS_DAYS": "7",
    "ONEVISION_TOP_FICHES": "20",
    "ONEVISION_IMAGES": "1",
    "ONEVISION_PILOTES": "17,91,95",
    "ONEVISION_DEBUT_PILOTE": "",
}


def _env(name: str) -> str | dg.EnvVar:
    """An `EnvVar` when the operator set it, the default otherwise, so a fresh clone just works."""
    return dg.EnvVar(name) if os.environ.get(name) else ENV_DEFAULTS[name]


def _env_int(name: str) -> int | dg.EnvVar:
    return dg.EnvVar.int(name) if os.environ.get(name) else int(ENV_DEFAULTS[name])


def default_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "landing": LandingZone(path=_env("ONEVISION_LANDING"),
                               follow_links=os.environ.get("ONEVISION_LANDING_LIENS", "0") in ("1", "true", "oui")),
        "warehouse": Warehouse(path=_env("ONEVISION_WAREHOUSE")),
        "reports": ReportsFolder(path=_env("ONEVISION_REPORTS")),
        "settings": Settings(departements=_env("ONEVISION_DEPARTEMENTS"),
                             freshness_days=_env_int("ONEVISION_FRESHNESS_DAYS"),
                             top_fiches=_env_int("ONEVISION_TOP_FICHES"),
                             pilotes=_env("ONEVISION_PILOTES"),
                             debut_pilote=_env("ONEVISION_DEBUT_PILOTE"),
                             static_images=os.environ.get("ONEVISION_IMAGES", "1") not in ("0", "false", "non")),
    }
