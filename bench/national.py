"""National benchmark: one command, landing zone → bare DuckDB baseline → whole pipeline.

    .venv/bin/python -m bench.national --scale 1.0 --out bench/out
    .venv/bin/python -m bench.national --scale 1.0 --out bench/out --departement 75 --only-department

Each phase runs in a fresh Python process, so that the pipeline's figures
include its own process start and its peak memory is not the generator's:

1. generation of the landing zone (`bench.landing`; sizes from
   `bench/departements.csv`; reused when `--out` already holds one made with
   the same scale, seed and date — not timed as part of anything);
2. the bare baseline: DuckDB `read_csv` of every extract (cp1252 files
   transcoded to UTF-8 first) into a fresh DuckDB file, then the `GROUP BY
   siren` giving total debts and credits per SIREN; done for the whole nation
   and again for the focus department alone (its seven files + the register);
3. the pipeline: `onevision_dagster.orchestration.runner.run_pipeline` on a fresh
   warehouse — the register run, one run per department, the national run —
   with every asset `onevision_dagster.definitions` holds (reports included).

Printed per stage: wall time, rows per second (lines of the source files the
stage reads), peak RSS (sampled every 20 ms in a background thread; the
process peak is `getrusage`'s). The ratios compare the pipeline with the
baseline: for the nation (process start + every run) and for the focus
department (process start + register run + that department's run, against
reading its files + the register + the group by).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

GIB = 1024**3
MIB = 1024**2
TARGET_RATIO = 10.0
TARGET_NATIONAL_S = 600.0
TARGET_PEAK_BYTES = 2 * GIB
_PAGE = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- memory


class RssSampler(threading.Thread):
    """Samples the resident set size of this process (bytes) every `interval` seconds."""

    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._done = threading.Event()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE

    def run(self) -> None:
        while not self._done.is_set():
            self.samples.append((time.time(), self.rss()))
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()
        self.samples.append((time.time(), self.rss()))

    def peak(self, start: float = 0.0, end: float = float("inf")) -> int:
        return max((r for t, r in self.samples if start <= t <= end), default=0)


def process_peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


# --------------------------------------------------------------------------- phases (child processes)


def _phase_generate(args: argparse.Namespace) -> dict:
    from bench.landing import generate

    sizes = args.sizes
    start = time.perf_counter()
    summary = generate(args.landing, sizes, args.date, args.seed,
                       sources_for=[args.departement] if args.only_department else None)
    return {
        "seconds": time.perf_counter() - start,
        "sizes": sizes,
        "register_rows": summary.register_rows,
        "rows": {f"{s}/{d or ''}": n for (s, d), n in summary.rows.items()},
    }


_CP1252 = {"amendes", "impots_pro", "credits_tva", "excedents", "creances_is"}
_SEPARATOR = {"rnf": ","}
_SOURCES = ("amendes", "spl", "impots_pro", "rnf", "credits_tva", "excedents", "creances_is")

_GROUP_BY = """
CREATE OR REPLACE TABLE totaux AS
WITH dettes AS (
    SELECT replace(SIREN, ' ', '') AS siren,
           CASE WHEN STATUT = 'EN_RECOUVREMENT'
                THEN TRY_CAST(replace(MONTANT_MAJORE, ',', '.') AS DECIMAL(18,2))
                     - TRY_CAST(replace(MONTANT_PAYE, ',', '.') AS DECIMAL(18,2)) ELSE 0 END AS m
    FROM amendes
    UNION ALL
    SELECT left(siret_debiteur, 9), TRY_CAST(replace(reste_a_recouvrer, ',', '.') AS DECIMAL(18,2)) FROM spl
    UNION ALL
    SELECT SIREN, (TRY_CAST(MT_DROITS_CTS AS BIGINT) + TRY_CAST(MT_PENALITES_CTS AS BIGINT)
                   - TRY_CAST(MT_PAYE_CTS AS BIGINT)) / 100 FROM impots_pro
    UNION ALL
    SELECT CASE WHEN identifiant_debiteur LIKE 'FR%' THEN substr(identifiant_debiteur, 5, 9)
                ELSE left(identifiant_debiteur, 9) END,
           CASE WHEN statut IN ('PRIS_EN_CHARGE', 'EN_RECOUVREMENT')
                THEN TRY_CAST(montant AS DECIMAL(18,2)) - TRY_CAST(montant_recouvre AS DECIMAL(18,2)) ELSE 0 END
    FROM rnf
), creances AS (
    SELECT SIREN AS siren,
           CASE WHEN STATUT = 'ACCORDEE' THEN TRY_CAST(replace(MONTANT_ACCORDE, ',', '.') AS DECIMAL(18,2))
                WHEN STATUT IN ('DEPOSEE', 'EN_INSTRUCTION')
                THEN TRY_CAST(replace(MONTANT_DEMANDE, ',', '.') AS DECIMAL(18,2)) ELSE 0 END AS m
    FROM credits_tva
    UNION ALL
    SELECT SIREN, CASE WHEN STATUT = 'A_RESTITUER' THEN TRY_CAST(replace(MONTANT, ',', '.') AS DECIMAL(18,2))
                       ELSE 0 END FROM excedents
    UNION ALL
    SELECT SIREN, CASE WHEN STATUT IN ('REMBOURSABLE', 'EN_COURS')
                       THEN TRY_CAST(replace(MONTANT, ',', '.') AS DECIMAL(18,2)) ELSE 0 END FROM creances_is
)
SELECT siren, sum(d) AS total_dettes, sum(c) AS total_creances
FROM (SELECT siren, m AS d, 0 AS c FROM dettes UNION ALL SELECT siren, 0, m FROM creances)
GROUP BY siren
"""


def _baseline_once(landing: Path, departements: list[str], workdir: Path) -> dict:
    """Bare DuckDB: read every extract (cp1252 transcoded), then the group by. Times each part."""
    import duckdb

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    db = workdir / "baseline.duckdb"
    timings: dict[str, float] = {}
    rows: dict[str, int] = {}
    start = time.perf_counter()
    con = duckdb.connect(str(db))
    wanted = set(departements)

    def read(table: str, files: list[Path], sep: str) -> None:
        t = time.perf_counter()
        if table in _CP1252:
            utf8 = []
            for f in files:
                target = workdir / f.name
                target.write_bytes(f.read_bytes().decode("cp1252").encode("utf-8"))
                utf8.append(target)
            files = utf8
        con.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, delim = '{sep}', header = true, "
            "all_varchar = true, ignore_errors = true)", [[str(f) for f in files]]).fetchall()
        rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        timings[f"read {table}"] = time.perf_counter() - t

    read("entreprises", sorted((landing / "entreprises").glob("entreprises_*.csv"))[-1:], ";")
    for source in _SOURCES:
        files = sorted(f for f in (landing / source).glob(f"{source}_*.csv")
                       if f.name.split("_")[-2] in wanted)
        read(source, files, _SEPARATOR.get(source, ";"))
    t = time.perf_counter()
    con.execute(_GROUP_BY).fetchall()
    timings["group by siren"] = time.perf_counter() - t
    sirens = con.execute("SELECT count(*) FROM totaux").fetchone()[0]
    con.close()
    total = time.perf_counter() - start
    shutil.rmtree(workdir, ignore_errors=True)
    return {"seconds": total, "timings": timings, "rows": rows, "sirens": sirens}


def _phase_baseline(args: argparse.Namespace) -> dict:
    sampler = RssSampler()
    sampler.start()
    out: dict = {}
    if not args.only_department:
        t = time.time()
        out["national"] = _baseline_once(args.landing, args.departements, args.out / "baseline_national")
        out["national"]["peak_rss"] = sampler.peak(t)
    t = time.time()
    out["departement"] = _baseline_once(args.landing, [args.departement], args.out / "baseline_departement")
    out["departement"]["peak_rss"] = sampler.peak(t)
    sampler.stop()
    out["process_peak_rss"] = process_peak_rss()
    return out


def _phase_pipeline(args: argparse.Namespace) -> dict:
    """Runs in a process whose environment already names the landing zone, warehouse and departments."""
    sampler = RssSampler()
    sampler.start()
    t = time.time()
    import duckdb

    from onevision_dagster import definitions  # noqa: F401 - the import is part of what is measured
    from onevision_dagster.orchestration.runner import run_pipeline

    imported = time.time()
    result = run_pipeline(args.departements, include_national=not args.only_department)
    end = time.time()
    sampler.stop()
    stages = []
    for s in result.stages:
        stages.append({"name": s.name, "ok": s.ok, "seconds": s.seconds, "started": s.started,
                       "steps": s.steps, "errors": s.errors,
                       "peak_rss": sampler.peak(s.started, s.started + s.seconds)})
    rows: dict[str, int] = {}
    positions = 0
    with duckdb.connect(os.environ["ONEVISION_WAREHOUSE"], read_only=True) as con:
        for dept, n in con.execute("SELECT coalesce(departement, ''), sum(lignes_lues) FROM quality.chargements "
                                   "GROUP BY 1").fetchall():
            rows[dept] = int(n)
        if not args.only_department:
            positions = con.execute("SELECT count(*) FROM marts.positions").fetchone()[0]
    return {
        "import_seconds": imported - t,
        "imported_at": imported,
        "ended_at": end,
        "stages": stages,
        "rows_read": rows,
        "positions": positions,
        "import_peak_rss": sampler.peak(t, imported),
        "process_peak_rss": process_peak_rss(),
        "rss_samples": len(sampler.samples),
    }


PHASES = {"generate": _phase_generate, "baseline": _phase_baseline, "pipeline": _phase_pipeline}


# --------------------------------------------------------------------------- orchestration (parent process)


def _child(phase: str, args: argparse.Namespace, env: dict[str, str] | None = None) -> tuple[dict, float]:
    """Runs one phase in a fresh interpreter; returns its JSON result and the epoch time it was spawned."""
    result_file = args.out / f"phase_{phase}.json"
    result_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.national", "--phase", phase, "--scale", str(args.scale),
           "--out", str(args.out), "--seed", str(args.seed), "--date", args.date.isoformat(),
           "--departement", args.departement, "--landing", str(args.landing)]
    if args.only_department:
        cmd.append("--only-department")
    if args.subset:
        cmd += ["--departements", *args.subset]
    spawned = time.time()
    proc = subprocess.run(cmd, env=env, cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode != 0 or not result_file.exists():
        raise SystemExit(f"bench phase {phase!r} failed (exit code {proc.returncode})")
    return json.loads(result_file.read_text()), spawned


def _landing_marker(args: argparse.Namespace) -> dict:
    return {"scale": args.scale, "seed": args.seed, "date": args.date.isoformat(), "register": sorted(args.sizes),
            "sources": args.departement if args.only_department else "all", "version": 2}


def _ensure_landing(args: argparse.Namespace) -> tuple[dict, bool]:
    marker_file = args.landing / "bench.json"
    wanted = _landing_marker(args)
    if marker_file.exists() and not args.regenerate:
        marker = json.loads(marker_file.read_text())
        same = {k: v for k, v in marker.items() if k not in ("sources", "generation")} == {
            k: v for k, v in wanted.items() if k != "sources"}
        if same and (marker["sources"] == "all" or marker["sources"] == wanted["sources"]):
            return marker["generation"], True
    shutil.rmtree(args.landing, ignore_errors=True)
    generation, _ = _child("generate", args)
    args.landing.mkdir(parents=True, exist_ok=True)
    marker_file.write_text(json.dumps({**wanted, "generation": generation}))
    return generation, False


def _fmt_rows(n: float) -> str:
    return f"{n:,.0f}".replace(",", " ")


def _line(name: str, seconds: float, rows: float | None, peak: int | None) -> str:
    rate = _fmt_rows(rows / seconds) if rows and seconds > 0 else "—"
    return (f"  {name:<44} {seconds:9.1f} {(_fmt_rows(rows) if rows else '—'):>12} {rate:>11} "
            f"{(f'{peak / MIB:,.0f}' if peak else '—'):>9}")


def _header(title: str) -> str:
    return f"{title}\n  {'stage':<44} {'wall (s)':>9} {'rows':>12} {'rows/s':>11} {'RSS (MiB)':>9}"


def _machine() -> str:
    import dagster
    import duckdb

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.1f} GiB RAM, Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}, Dagster {dagster.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.national", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies every department's size (1.0: Paris 200 000 companies, ~2.5 M register "
                        "rows, ~5.3 M source lines)")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="working folder (default: %(default)s)")
    parser.add_argument("--departement", default=None,
                        help="focus department for the per-department ratio (default: the largest, 75)")
    parser.add_argument("--only-department", action="store_true",
                        help="generate and run only the focus department (plus the national register)")
    parser.add_argument("--departements", nargs="+", metavar="CODE", dest="subset",
                        help="only these departments (default: all 101 of bench/departements.csv); for quick runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 20),
                        help="extraction date of the generated files (default: %(default)s)")
    parser.add_argument("--regenerate", action="store_true", help="rewrite the landing zone even if it exists")
    parser.add_argument("--refresh", action="store_true",
                        help="keep the warehouse of the previous run: measures a refresh (every partition replaced) "
                        "instead of a first load into an empty warehouse")
    parser.add_argument("--steps", action="store_true", help="also print the time of every Dagster step")
    parser.add_argument("--no-images", action="store_true",
                        help="ONEVISION_IMAGES=0: no PNG of the main chart (they need a local Chromium)")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--landing", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from bench.landing import department_sizes

    sizes = department_sizes(args.scale)
    if args.subset:
        unknown = sorted(set(args.subset) - set(sizes))
        if unknown:
            parser.error(f"unknown department(s): {' '.join(unknown)}")
        sizes = {d: n for d, n in sizes.items() if d in args.subset}
    args.departement = args.departement or max(sizes, key=sizes.get)
    if args.departement not in sizes:
        parser.error(f"unknown department {args.departement!r}")
    args.sizes = sizes
    args.departements = [args.departement] if args.only_department else list(sizes)
    args.out = args.out.resolve()
    args.landing = (args.landing or args.out / "landing").resolve()
    args.out.mkdir(parents=True, exist_ok=True)

    if args.phase:  # child process
        result = PHASES[args.phase](args)
        (args.out / f"phase_{args.phase}.json").write_text(json.dumps(result))
        return 0

    mode = f"department {args.departement} only" if args.only_department else "national"
    print(f"One Vision benchmark — {mode}, scale {args.scale:g}, seed {args.seed}, extraction date {args.date}, "
          f"PNG charts {'off' if args.no_images else 'on (if a Chromium is found)'}")
    print(f"Machine: {_machine()}; load average {os.getloadavg()[0]:.2f} at start "
          "(other processes on the machine make every figure larger)")
    generation, reused = _ensure_landing(args)
    n_sources = sum(n for k, n in generation["rows"].items() if not k.startswith("entreprises/"))
    print(f"Landing zone {args.landing}: {len(args.departements)} department(s) with extracts, "
          f"{_fmt_rows(generation['register_rows'])} register rows, {_fmt_rows(n_sources)} source lines "
          f"(department {args.departement}: {_fmt_rows(sizes[args.departement])} companies); "
          + ("reused" if reused else f"generated in {generation['seconds']:.1f} s (not part of any figure)"))

    baseline, _ = _child("baseline", args)

    warehouse = args.out / "onevision.duckdb"
    refresh = args.refresh and warehouse.exists()
    if not refresh:
        for path in (warehouse, warehouse.with_suffix(".duckdb.wal")):
            path.unlink(missing_ok=True)
        shutil.rmtree(args.out / "rapports", ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}  # ephemeral instance: nothing recorded
    env.update({"ONEVISION_DEPARTEMENTS": ",".join(args.departements), "ONEVISION_LANDING": str(args.landing),
                "ONEVISION_WAREHOUSE": str(warehouse), "ONEVISION_REPORTS": str(args.out / "rapports")})
    if args.no_images:
        env["ONEVISION_IMAGES"] = "0"
    pipe, spawned = _child("pipeline", args, env)
    process_start = pipe["imported_at"] - spawned

    print()
    print(_header("Bare baseline (DuckDB read_csv of every extract + GROUP BY siren, fresh DuckDB file)"))
    for key, label in (("national", "nation"), ("departement", f"department {args.departement}")):
        if key not in baseline:
            continue
        b = baseline[key]
        for part, seconds in b["timings"].items():
            table = part.split(" ", 1)[1]
            print(_line(f"{label}: {part}", seconds, b["rows"].get(table), None))
        print(_line(f"{label}: total", b["seconds"], sum(b["rows"].values()), b["peak_rss"]))

    stages = pipe["stages"]
    register = next(s for s in stages if s["name"] == "registre")
    depts = [s for s in stages if s["name"].startswith("département ")]
    focus = next((s for s in depts if s["name"] == f"département {args.departement}"), None)
    national = next((s for s in stages if s["name"] == "vue nationale"), None)
    rows = pipe["rows_read"]
    dept_rows = sum(n for d, n in rows.items() if d)
    print()
    at_a_time = os.environ.get("ONEVISION_PARALLELISME") or "1"  # read by run_pipeline in the child process
    print(_header("Pipeline (run_pipeline: register run, one run per department "
                  f"({at_a_time} at a time, ONEVISION_PARALLELISME), national run; in-process; "
                  + ("refresh of the existing warehouse)" if refresh else "empty warehouse)")))
    print(_line("process start (python + import definitions)", process_start, None, pipe["import_peak_rss"]))
    print(_line("register (raw/entreprises)", register["seconds"], rows.get(""), register["peak_rss"]))
    if depts:
        # from the first department's start to the last one's end: with ONEVISION_PARALLELISME > 1 the runs overlap
        # and their sum would count the same seconds twice
        span = max(s["started"] + s["seconds"] for s in depts) - min(s["started"] for s in depts)
        print(_line(f"departments ({len(depts)} runs, wall)", span, dept_rows, max(s["peak_rss"] for s in depts)))
    if focus:
        print(_line(f"  of which department {args.departement}", focus["seconds"], rows.get(args.departement),
                    focus["peak_rss"]))
        if len(depts) > 1:
            others = [s for s in depts if s is not focus]
            print(_line(f"  mean of the other {len(others)} departments",
                        sum(s["seconds"] for s in others) / len(others),
                        sum(rows.get(s["name"].split()[-1], 0) for s in others) / len(others), None))
    history = [s for s in stages if s["name"].startswith("historique ")]
    if history:
        print(_line(f"snapshots ({len(history)} department(s) of history runs)", sum(s["seconds"] for s in history),
                    None, max(s["peak_rss"] for s in history)))
    if national:
        print(_line("national views", national["seconds"], pipe["positions"], national["peak_rss"]))
    total = pipe["ended_at"] - spawned
    print(_line("total (process start → last run)", total, sum(rows.values()), pipe["process_peak_rss"]))

    step_totals: dict[str, float] = {}
    for s in stages:
        for step, seconds in s["steps"].items():
            step_totals[step] = step_totals.get(step, 0.0) + seconds
    in_steps = sum(step_totals.values())
    in_runs = sum(s["seconds"] for s in stages)
    print(f"\n  Dagster: {sum(len(s['steps']) for s in stages)} steps in {len(stages)} runs; "
          f"{in_steps:.1f} s inside steps, {in_runs - in_steps:.1f} s of run/step overhead outside them")
    if args.steps:
        for step, seconds in sorted(step_totals.items(), key=lambda kv: -kv[1]):
            print(f"    {step:<46} {seconds:9.1f}")

    failed = [s for s in stages if not s["ok"]]
    for s in failed:
        print(f"\n  FAILED {s['name']}:", *s["errors"], sep="\n    ")

    print("\nRatios and targets")
    ok = True
    if focus:
        dept_pipeline = process_start + register["seconds"] + focus["seconds"]
        ratio = dept_pipeline / baseline["departement"]["seconds"]
        met = ratio <= TARGET_RATIO
        ok &= met
        print(f"  department {args.departement}: pipeline {dept_pipeline:.1f} s (process start + register + "
              f"department) / baseline {baseline['departement']['seconds']:.1f} s = {ratio:.1f}x "
              f"(target <= {TARGET_RATIO:g}x: {'met' if met else 'NOT MET'})")
    if "national" in baseline:
        ratio = total / baseline["national"]["seconds"]
        print(f"  nation: pipeline {total:.1f} s / baseline {baseline['national']['seconds']:.1f} s = {ratio:.1f}x")
        met = total <= TARGET_NATIONAL_S
        ok &= met
        print(f"  full national refresh: {total:.1f} s (target <= {TARGET_NATIONAL_S:g} s: "
              f"{'met' if met else 'NOT MET'})")
    peak = pipe["process_peak_rss"]
    met = peak < TARGET_PEAK_BYTES
    ok &= met
    print(f"  pipeline process peak RSS: {peak / MIB:,.0f} MiB (target < 2048 MiB: {'met' if met else 'NOT MET'}); "
          f"baseline process peak {baseline['process_peak_rss'] / MIB:,.0f} MiB")
    print("  all targets met" if ok and not failed else "  some targets not met" if not failed
          else "  PIPELINE FAILED")
    print(f"  load average at the end: {os.getloadavg()[1]:.2f} over the last 5 minutes")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
