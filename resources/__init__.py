"""Dagster resources: every path, connection and setting, configurable by environment variable."""

from .landing_zone import LandingZone
from .reports_folder import ReportsFolder
from .settings import Settings
from .warehouse import Warehouse

__all__ = ["LandingZone", "ReportsFolder", "Settings", "Warehouse"]
