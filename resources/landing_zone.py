"""Where the source systems drop their extracts."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from onevision_dagster.ingest.landing import LandingScan, scan_landing


class LandingZone(dg.ConfigurableResource):
    """The landing zone folder (`ONEVISION_LANDING`, default `data/landing`)."""

    path: str = "data/landing"
    follow_links: bool = False  # `ONEVISION_LANDING_LIENS`: follow links leading out of the landing zone

    @property
    def root(self) -> Path:
        return Path(self.path)

    def scan(self) -> LandingScan:
        return scan_landing(self.root, self.follow_links)
