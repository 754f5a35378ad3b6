"""Charts, dashboards, company sheets, exports, French formatting (no Dagster)."""
