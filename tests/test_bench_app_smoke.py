"""bench/app.py runs end to end on a small warehouse and reports every figure (the national run is the lead's)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import app as bench_app

from . import app_fixtures as fx


def test_app_benchmark_smoke(tmp_path: Path, capsys) -> None:
    warehouse = fx.build_warehouse(tmp_path / "w.duckdb")
    assert bench_app.main(["--warehouse", str(warehouse), "--requetes", "20", "--json", str(tmp_path / "r.json")]) == 0
    results = json.loads((tmp_path / "r.json").read_text())
    for key in ("recherche (national)", "entreprise (national)", "recherche (departement 17)",
                "entreprise (departement 17)"):
        figures = results[key]
        assert figures["n"] == 20 and figures["non_200"] == 0, key
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"], key
    assert "cible 200 ms" in capsys.readouterr().out
