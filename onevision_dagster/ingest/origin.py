"""Where the figures come from: a synthetic landing zone (`onevision generate`) is said on every screen.

The register's refresh records it in the warehouse (`raw.origine_donnees`, one row), the publication copies it
for the application, and every page built from the warehouse (dashboards, sheets, the application) shows
`SYNTHETIC_NOTICE` while it is true (issue 17, point 9: demo data must say they are synthetic).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from onevision_dagster.ingest.landing import is_synthetic

ORIGIN_TABLE = "origine_donnees"
SYNTHETIC_NOTICE = ("Données synthétiques de démonstration (écrites par « onevision generate ») : aucune entreprise, "
                    "aucun montant n'est réel.")


def record_origin(con: duckdb.DuckDBPyConnection, landing: Path) -> bool:
    """Rewritten at each register refresh: the warehouse says what the landing zone says today."""
    synthetic = is_synthetic(landing)
    con.execute(f"CREATE OR REPLACE TABLE raw.{ORIGIN_TABLE} AS SELECT ?::BOOLEAN AS synthetique", [synthetic])
    return synthetic


def synthetic_data(con: duckdb.DuckDBPyConnection, schema: str = "raw") -> bool:
    """True when the warehouse (schema `raw`) or the application's copy (its `main`) was built from a synthetic
    landing zone; a warehouse older than the marker reads as not synthetic."""
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                        [schema, ORIGIN_TABLE]).fetchone()[0]
    if not found:
        return False
    row = con.execute(f"SELECT bool_or(synthetique) FROM {schema}.{ORIGIN_TABLE}").fetchone()
    return bool(row and row[0])
