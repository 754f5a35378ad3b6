"""History benchmark: a year of weekly snapshots, one week at a time (issue #10 point 6).

    .venv/bin/python -m bench.history --scale 1.0 --instantanes 4 --out bench/out_history

Generates a national landing zone with `--instantanes` weekly snapshots (`bench.landing`, sizes from
`bench/departements.csv`), then lands them one date after the other into a staging landing zone (hard links)
and runs the whole pipeline after each (`onevision_dagster.orchestration.runner.run_pipeline`, in a fresh
process: register, every department, the new snapshots of the history, the national views). The first run is
today's national refresh; each later one is "adding one new weekly snapshot". Printed per run: wall time, peak
RSS, and the warehouse's size; then the ratio of the weekly addition to the first refresh (target ≤ 1.5) and the
size of a year of weekly snapshots extrapolated from the growth per week.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from bench.national import GIB, MIB, TARGET_PEAK_BYTES, RssSampler, _machine, process_peak_rss

TARGET_WEEKLY_RATIO = 1.5
WEEKS_PER_YEAR = 52


def _phase_run(args: argparse.Namespace) -> dict:
    """One pipeline run, in a process whose environment names the staging landing zone and the warehouse."""
    sampler = RssSampler()
    sampler.start()
    start = time.time()
    from onevision_dagster.orchestration.runner import run_pipeline

    result = run_pipeline(args.departements)
    seconds = time.time() - start
    sampler.stop()
    return {"seconds": seconds, "ok": result.ok, "errors": [e for s in result.stages for e in s.errors][:5],
            "stages": {s.name: s.seconds for s in result.stages}, "peak_rss": process_peak_rss()}


def _stage(staging: Path, landing: Path, day: date) -> None:
    """Lands the files of `day` (hard links: no copy, same bytes)."""
    stamp = day.strftime("%Y%m%d")
    for path in landing.glob(f"*/*_{stamp}.csv"):
        target = staging / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.link(path, target)


def _size(path: Path) -> int:
    wal = path.with_name(path.name + ".wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the nation (Paris 200 000 companies)")
    parser.add_argument("--instantanes", type=int, default=4, help="weekly snapshots (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("bench/out_history"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 20), help="the last snapshot")
    parser.add_argument("--departements", nargs="+", metavar="CODE", help="a subset of departments (smoke runs)")
    parser.add_argument("--phase", choices=["run"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from bench.landing import department_sizes, generate

    sizes = department_sizes(args.scale)
    if args.departements:
        sizes = {d: n for d, n in sizes.items() if d in set(args.departements)}
    args.departements = sorted(sizes)
    if args.phase == "run":
        (args.out / "run.json").write_text(json.dumps(_phase_run(args)))
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    landing, staging, warehouse = args.out / "landing", args.out / "staging", args.out / "onevision.duckdb"
    marker = {"scale": args.scale, "seed": args.seed, "date": args.date.isoformat(), "instantanes": args.instantanes,
              "departements": args.departements}
    if not (landing / "bench.json").exists() or json.loads((landing / "bench.json").read_text()) != marker:
        shutil.rmtree(landing, ignore_errors=True)
        started = time.time()
        generate(landing, sizes, args.date, args.seed, instantanes=args.instantanes)
        (landing / "bench.json").write_text(json.dumps(marker))
        print(f"landing zone generated in {time.time() - started:.1f} s")
    shutil.rmtree(staging, ignore_errors=True)
    warehouse.unlink(missing_ok=True)
    warehouse.with_name(warehouse.name + ".wal").unlink(missing_ok=True)
    env = {**os.environ, "ONEVISION_LANDING": str(staging), "ONEVISION_WAREHOUSE": str(warehouse),
           "ONEVISION_REPORTS": str(args.out / "rapports"), "ONEVISION_DEPARTEMENTS": ",".join(args.departements),
           "ONEVISION_IMAGES": "0"}
    days = [args.date - timedelta(weeks=args.instantanes - 1 - k) for k in range(args.instantanes)]
    print(_machine())
    print(f"{len(args.departements)} departments, {args.instantanes} weekly snapshots "
          f"({days[0]:%Y-%m-%d} → {days[-1]:%Y-%m-%d}), scale {args.scale}")
    print(f"  {'run':<36} {'wall (s)':>9} {'peak RSS (MiB)':>15} {'warehouse (MiB)':>16}")
    runs = []
    for k, day in enumerate(days):
        _stage(staging, landing, day)
        cmd = [sys.executable, "-m", "bench.history", "--phase", "run", "--scale", str(args.scale), "--out",
               str(args.out), "--seed", str(args.seed), "--date", args.date.isoformat(),
               "--instantanes", str(args.instantanes)] + (["--departements", *args.departements]
                                                           if args.departements else [])
        spawned = time.time()
        proc = subprocess.run(cmd, env=env, cwd=Path(__file__).resolve().parent.parent)
        if proc.returncode != 0:
            raise SystemExit(f"run {k + 1} failed (exit code {proc.returncode})")
        result = json.loads((args.out / "run.json").read_text())
        result["wall"] = time.time() - spawned  # process start included
        result["size"] = _size(warehouse)
        if not result["ok"]:
            raise SystemExit(f"run {k + 1} failed: {result['errors']}")
        runs.append(result)
        label = "first snapshot (national refresh)" if k == 0 else f"+ snapshot {day:%Y-%m-%d}"
        print(f"  {label:<36} {result['wall']:9.1f} {result['peak_rss'] / MIB:15,.0f} {result['size'] / MIB:16,.0f}")
    weekly = runs[1:]
    if weekly:
        worst = max(r["wall"] for r in weekly)
        ratio = worst / runs[0]["wall"]
        growth = (runs[-1]["size"] - runs[0]["size"]) / len(weekly)
        year = runs[0]["size"] + growth * (WEEKS_PER_YEAR - 1)
        peak = max(r["peak_rss"] for r in runs)
        print(f"weekly addition: worst {worst:.1f} s / first refresh {runs[0]['wall']:.1f} s = {ratio:.2f}x "
              f"(target ≤ {TARGET_WEEKLY_RATIO}x: {'met' if ratio <= TARGET_WEEKLY_RATIO else 'NOT met'})")
        print(f"warehouse: {runs[0]['size'] / GIB:.2f} GiB after one snapshot, +{growth / GIB:.2f} GiB per week, "
              f"a year of weekly snapshots ≈ {year / GIB:.1f} GiB")
        print(f"peak RSS: {peak / MIB:,.0f} MiB (target < {TARGET_PEAK_BYTES / MIB:,.0f} MiB: "
              f"{'met' if peak < TARGET_PEAK_BYTES else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
