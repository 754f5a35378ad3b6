"""Fine attachment, unified lines, positions, panels, their models and checks (no Dagster)."""
