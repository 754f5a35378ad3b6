"""Latency of the agents' application: search and company page, 95th percentile over N requests each.

    .venv/bin/python -m bench.app --warehouse bench/out/onevision.duckdb
    .venv/bin/python -m bench.app --warehouse bench/out/onevision.duckdb \
        --rafraichir-landing bench/out/landing --departement 75

1. The warehouse is published (the `publication/app` asset's function) into a scratch folder, read through a
   read-only attachment: the warehouse itself is never written and may stay in use.
2. `onevision app` is started in its own process on the loopback; this process is the client (one request
   at a time, as one agent), so server and client do not share an interpreter.
3. Requests are drawn with a fixed seed among the published companies: searches by SIREN, SIRET, name
   (its first two normalised words) and town, a quarter each; company pages of random SIRENs. Each kind is
   measured for a national agent and for an agent of the department holding the most positions (the
   rights filter then runs in every query). Ten warm-up requests are not counted.
4. With `--rafraichir-landing`, `onevision run` refreshes `--departement` into a COPY of the warehouse
   during the measurement (the pipeline writing, the machine loaded) and publishes into the folder the
   application serves, which swaps to it mid-measurement; the figures say whether the refresh was still
   running at the end, and its exit code.

Targets (issue 12): search < 200 ms, company page < 300 ms at the 95th percentile.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import duckdb

from onevision_dagster.app.publication import publish
from onevision_dagster.contract.identifiers import first_siret

TARGETS_MS = {"recherche": 200.0, "entreprise": 300.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def publish_copy(warehouse: Path, folder: Path) -> tuple[Path, float]:
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{str(warehouse).replace(chr(39), chr(39) * 2)}' AS entrepot (READ_ONLY)")
        con.execute("USE entrepot")
        result = publish(con, folder)
    finally:
        con.close()
    return result.path, result.seconds


def draw_requests(published: Path, n: int, seed: int) -> tuple[str, list[str], list[str]]:
    """(largest department, search texts, SIRENs) drawn with `seed`."""
    with duckdb.connect(str(published), read_only=True) as con:
        largest = con.execute("SELECT departement FROM positions GROUP BY departement ORDER BY count(*) DESC, "
                              "departement LIMIT 1").fetchone()[0]
        rows = con.execute("SELECT siren, nom_normalise, commune, liste_departements FROM recherche "
                           f"USING SAMPLE reservoir(5000 ROWS) REPEATABLE ({int(seed)})").fetchall()
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        siren, name, town, _ = rng.choice(rows)
        kind = i % 4
        if kind == 0:
            texts.append(f"{siren[:3]} {siren[3:6]} {siren[6:]}")
        elif kind == 1:
            texts.append(first_siret(siren))
        elif kind == 2 and name:
            texts.append(" ".join(name.split()[:2]).lower())
        else:
            texts.append((town or name or siren).lower())
    in_largest = [r[0] for r in rows if largest in r[3]] or [r[0] for r in rows]
    return largest, texts, [rng.choice(in_largest) for _ in range(n)]


def _get(url: str, headers: dict[str, str]) -> tuple[int, float]:
    start = time.perf_counter()
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        e.read()
        status = e.code
    return status, (time.perf_counter() - start) * 1000


def _wait_started(base: str, app: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if _get(base + "/", {})[0] == 401:  # answering (no identity given)
                return
        except OSError:
            pass
        if time.monotonic() > deadline or app.poll() is not None:
            raise RuntimeError("l'application n'a pas démarré")
        time.sleep(0.2)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def measure(base: str, headers: dict[str, str], paths: list[str]) -> dict[str, float]:
    for path in paths[:10]:
        _get(base + path, headers)
    times, statuses = [], []
    for path in paths:
        status, ms = _get(base + path, headers)
        statuses.append(status)
        times.append(ms)
    bad = [s for s in statuses if s != 200]
    return {"n": len(times), "p50_ms": round(_percentile(times, 50), 1), "p95_ms": round(_percentile(times, 95), 1),
            "max_ms": round(max(times), 1), "non_200": len(bad)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Latence de l'application des agents (recherche, fiche).")
    parser.add_argument("--warehouse", required=True, type=Path, help="entrepôt DuckDB à publier puis servir")
    parser.add_argument("--requetes", type=int, default=200, help="requêtes par type et par profil (défaut 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rafraichir-landing", type=Path, default=None,
                        help="zone de dépôt : rafraîchit --departement pendant la mesure (sur une copie)")
    parser.add_argument("--departement", default="75", help="département rafraîchi (défaut 75)")
    parser.add_argument("--json", type=Path, default=None, help="écrit aussi les résultats en JSON")
    args = parser.parse_args(argv)
    if not args.warehouse.exists():
        print(f"Entrepôt introuvable : {args.warehouse}", file=sys.stderr)
        return 1
    scratch = Path(tempfile.mkdtemp(prefix="onevision-bench-app-"))
    results: dict[str, object] = {"warehouse": str(args.warehouse), "requetes": args.requetes}
    app = refresh = None
    try:
        published, seconds = publish_copy(args.warehouse, scratch / "publication")
        results["publication_s"] = round(seconds, 1)
        results["publication_mo"] = round(published.stat().st_size / 2**20, 1)
        largest, texts, sirens = draw_requests(published, args.requetes, args.seed)
        port = _free_port()
        env = {**os.environ, "ONEVISION_WAREHOUSE": str(scratch / "w.duckdb"),
               "ONEVISION_PUBLICATION": str(scratch / "publication"), "ONEVISION_APP_PORT": str(port),
               "ONEVISION_APP_DATABASE_URL": f"sqlite:///{scratch / 'app.sqlite'}"}
        env.pop("ONEVISION_PROXY_SECRET", None)
        app = subprocess.Popen([str(Path(sys.executable).parent / "onevision"), "app", "--dev"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        _wait_started(base, app)
        if args.rafraichir_landing:
            copy = scratch / "rafraichi.duckdb"
            shutil.copyfile(args.warehouse, copy)
            refresh = subprocess.Popen(
                [str(Path(sys.executable).parent / "onevision"), "run", "--landing", str(args.rafraichir_landing),
                 "--warehouse", str(copy), "--departement", args.departement, "--rapports", str(scratch / "r")],
                # publishes into the folder the application serves: the swap happens during the measurement
                env={**os.environ, "ONEVISION_IMAGES": "0", "ONEVISION_PUBLICATION": str(scratch / "publication")},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(2)
        profiles = {"national": {"X-Remote-User": "bench", "X-Remote-Groups": "onevision-national"},
                    f"departement {largest}": {"X-Remote-User": "bench",
                                               "X-Remote-Groups": f"onevision-departement-{largest}"}}
        for profile, headers in profiles.items():
            results[f"recherche ({profile})"] = measure(
                base, headers, [f"/recherche?{urllib.parse.urlencode({'q': t})}" for t in texts])
            results[f"entreprise ({profile})"] = measure(base, headers, [f"/entreprises/{s}" for s in sirens])
        if refresh is not None:
            results["rafraichissement_en_cours_a_la_fin"] = refresh.poll() is None
            results["rafraichissement_code_retour"] = refresh.wait(timeout=3600)
    finally:
        for proc in (app, refresh):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=120)
        shutil.rmtree(scratch, ignore_errors=True)
    for key, value in results.items():
        if isinstance(value, dict):
            kind = key.split(" ")[0]
            met = "atteinte" if value["p95_ms"] < TARGETS_MS[kind] else "MANQUÉE"
            print(f"{key:<32} p50 {value['p50_ms']:7.1f} ms  p95 {value['p95_ms']:7.1f} ms  max "
                  f"{value['max_ms']:7.1f} ms  (n={value['n']}, non-200 : {value['non_200']}) — cible "
                  f"{TARGETS_MS[kind]:.0f} ms : {met}")
        else:
            print(f"{key:<32} {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
