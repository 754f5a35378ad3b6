"""Business settings an operator may change without touching code."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from onevision_dagster.contract.departements import parse_departements
from onevision_dagster.errors import OneVisionError


class Settings(dg.ConfigurableResource):
    """`ONEVISION_FRESHNESS_DAYS`,
    `ONEVISION_TOP_FICHES` (company sheets per department), `ONEVISION_IMAGES` (0 to skip PNG charts),
    `ONEVISION_PILOTES` (the experiment's pilot departments, compared with the others),
    `ONEVISION_DEBUT_PILOTE` (the experiment's start, AAAA-MM-JJ; empty: the first snapshot date)."""

    departements: str = "17,91,95"  # ignored since the partitions follow the landing zone (issue 22); kept so that
    # an instance's stored run config that still sets it loads
    pilotes: str = "17,91,95"
    debut_pilote: str = ""
    freshness_days: int = 7
    top_fiches: int = 20
    static_images: bool = True  # PNG of the main chart in the UI (needs a local Chromium)

    def pilot_codes(self) -> tuple[str, ...]:
        return parse_departements(self.pilotes)

    def pilot_start(self) -> dt.date | None:
        """The experiment's start (None: the first snapshot date, read from the history)."""
        text = (self.debut_pilote or "").strip()
        if not text:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise OneVisionError(f"ONEVISION_DEBUT_PILOTE invalide : {text!r} (attendu AAAA-MM-JJ)") from None
