"""Declarative automation: derived assets follow their sources.

Derived assets use `eager()` (`FOLLOW_UPSTREAM`). The national views depend on every
department partition, and `eager()` waits while any upstream partition is
missing — a department without extracts, or one not yet loaded, would hold the
nation back for ever. They therefore use `eager()` without its
`any_deps_missing` clause: they refresh from whatever departments are
materialized, and never while a department is being refreshed.
"""

from __future__ import annotations

import dagster as dg

FOLLOW_UPSTREAM = dg.AutomationCondition.eager()

NATIONAL_CONDITION = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing()).with_label(
    "eager, sans attendre les départements absents"
)
