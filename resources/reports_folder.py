"""Where dashboards, company sheets and exports are written."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class ReportsFolder(dg.ConfigurableResource):
    """`ONEVISION_REPORTS`, default `data/rapports`."""

    path: str = "data/rapports"

    @property
    def root(self) -> Path:
        root = Path(self.path)
        root.mkdir(parents=True, exist_ok=True)
        return root
