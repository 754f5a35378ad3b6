"""Memory and time of the input limits on the review's hostile files (issue 20, finding 3), each in a fresh process.

    .venv/bin/python -m bench.input_limits [--giga 1] [--colonnes 1000000]

- a file of one line of `--giga` GiB (sparse: no disk written), default limits: refused after the first chunk;
- the same file with the line limit raised above its size and the file limit above it too: the streaming check
  still reads it chunk by chunk (the figure shows the check's own cost, then the decode's refusal);
- a header of `--colonnes` columns: refused at once with the default limits, and matched in linear time when the
  column limit allows it.

Prints peak RSS (ru_maxrss of the child) and wall time per case. The review measured 4.5 GB of memory for the
1 GB one-line file before the limits.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.errors import FileRejected
from onevision_dagster.ingest.load import read_source_file
start = time.perf_counter()
try:
    read_source_file(SOURCES_BY_NAME["excedents"], Path(sys.argv[1]))
    outcome = "lu"
except FileRejected as e:
    outcome = e.probleme
print(json.dumps({"s": round(time.perf_counter() - start, 2), "rss_mio":
                  round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "resultat": outcome}))
"""


def _run(path: Path, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                         env={**os.environ, **env}, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--giga", type=float, default=1.0)
    parser.add_argument("--colonnes", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    from onevision_dagster.contract.sources import SOURCES_BY_NAME

    header = ";".join(SOURCES_BY_NAME["excedents"].column_names)
    with tempfile.TemporaryDirectory(prefix="onevision-bench-") as tmp:
        one_line = Path(tmp) / "excedents_17_20261127.csv"
        one_line.write_bytes(f"{header}\n".encode())
        with one_line.open("r+b") as f:
            f.truncate(int(args.giga * (1 << 30)))
        wide = Path(tmp) / "excedents_17_20261128.csv"
        extra = ";".join(f"c{i}" for i in range(args.colonnes))
        wide.write_bytes(f"{extra};{header}\n".encode())
        big = str(int(args.giga * (1 << 30)) + 1)
        cases = [("ligne unique, limites par défaut", one_line, {}),
                 ("ligne unique, limites relevées", one_line,
                  {"ONEVISION_MAX_OCTETS_LIGNE": big, "ONEVISION_MAX_OCTETS_FICHIER": big}),
                 (f"en-tête de {args.colonnes} colonnes, limites par défaut", wide, {}),
                 (f"en-tête de {args.colonnes} colonnes, colonnes permises", wide,
                  {"ONEVISION_MAX_COLONNES": str(args.colonnes + 100), "ONEVISION_MAX_OCTETS_LIGNE": str(1 << 26)})]
        for label, path, env in cases:
            start = time.perf_counter()
            result = _run(path, env)
            print(f"{label}: {result['s']} s dans le processus ({time.perf_counter() - start:.1f} s en tout), "
                  f"pic {result['rss_mio']} Mio — {result['resultat'][:100]}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
