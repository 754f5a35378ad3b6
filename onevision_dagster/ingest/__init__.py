"""Landing zone, decoding, row validation, Pandera models of the sources, loading (no Dagster)."""
