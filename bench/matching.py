"""Times the name normalisation of the fines' matching (`consolidate.matching.normalise_names`) at a register's
scale: 300 000 names, many repeated. The unit test checks what it gives; its speed is measured here (issue 23: no
wall-clock threshold in a unit test, a loaded 2-core machine would fail it for nothing).

    .venv/bin/python -m bench.matching [--names 300000]

Prints one JSON object: wall and CPU seconds, names per second, load average.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import pandas as pd

from onevision_dagster.consolidate.matching import normalise_names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=300_000)
    args = parser.parse_args()
    names = pd.Series([f"Société {i % 50_000} Établissements-Ré SARL" for i in range(args.names)])
    wall, cpu = time.perf_counter(), time.process_time()
    out = normalise_names(names)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert out.iloc[1] == "1 ETABLISSEMENTS RE"
    print(json.dumps({"noms": args.names, "secondes": round(wall, 3), "cpu_secondes": round(cpu, 3),
                      "noms_par_seconde": round(args.names / wall), "charge": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
