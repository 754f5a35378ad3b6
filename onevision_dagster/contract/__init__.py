"""The contract: the eight sources described once, department codes, identifiers (no Dagster)."""
