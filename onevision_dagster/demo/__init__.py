"""The demo-data generator (no Dagster)."""
