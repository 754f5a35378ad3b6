"""`onevision` command line (SOURCES.md section 7).

`run` materializes the same Dagster assets as the UI, in-process, on the
embedded DuckDB file: one run for the register, one per department, one for
the national views. Every command exits non-zero with a clear message on failure.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from onevision_dagster.errors import OneVisionError
from onevision_dagster.orchestration.config import ENV_DEFAULTS

EXIT_FAILURE = 1


def _add_warehouse(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warehouse", default=os.environ.get("ONEVISION_WAREHOUSE", ENV_DEFAULTS["ONEVISION_WAREHOUSE"]),
                   help="fichier DuckDB (défaut : %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onevision", description="One Vision : position consolidée des "
                                     "débiteurs professionnels.")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="écrit une zone de dépôt de démonstration")
    g.add_argument("--out", required=True, type=Path)
    g.add_argument("--departement", nargs="+", default=["17", "91", "95"])
    g.add_argument("--entreprises", type=int, default=2000, help="entreprises par département")
    g.add_argument("--date", type=date.fromisoformat, default=date.today(), help="date d'extraction AAAA-MM-JJ")
    g.add_argument("--seed", type=int, default=1)

    r = sub.add_parser("run", help="matérialise tous les assets pour les départements donnés")
    r.add_argument("--landing", required=True, type=Path)
    _add_warehouse(r)
    r.add_argument("--departement", nargs="+", help="défaut : tous les départements présents dans la zone")
    r.add_argument("--rapports", type=Path, default=Path(os.environ.get("ONEVISION_REPORTS",
                                                                        ENV_DEFAULTS["ONEVISION_REPORTS"])))

    e = sub.add_parser("export", help="exports CSV ou Excel (.xlsx) pour les agents")
    e.add_argument("what", choices=["positions", "rejets", "non_positionnees"])
    e.add_argument("--out", required=True, type=Path)
    e.add_argument("--format", choices=["csv", "xlsx"], default=None,
                   help="csv ou xlsx (cellules typées, à ouvrir dans Excel) ; défaut : d'après l'extension de --out")
    scope = e.add_mutually_exclusive_group()
    scope.add_argument("--departement")
    scope.add_argument("--national", action="store_true")
    _add_warehouse(e)

    f = sub.add_parser("fiche", help="fiche HTML d'une entreprise")
    f.add_argument("siren")
    f.add_argument("--departement")
    f.add_argument("--out", required=True, type=Path)
    _add_warehouse(f)

    s = sub.add_parser("rapports", help="sert le dossier des rapports sur 127.0.0.1")
    s.add_argument("--dossier", type=Path, default=Path(os.environ.get("ONEVISION_REPORTS",
                                                                       ENV_DEFAULTS["ONEVISION_REPORTS"])))
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    return parser


def _generate(args: argparse.Namespace) -> int:
    from onevision_dagster.contract.departements import parse_departements
    from onevision_dagster.demo.generator import generate_landing

    depts = parse_departements(" ".join(args.departement))
    summary = generate_landing(args.out, list(depts), args.entreprises, args.date, args.seed)
    rows = sum(summary.rows.values())
    print(f"Zone de dépôt écrite dans {args.out} : {len(summary.paths)} fichiers, {rows} lignes "
          f"(dont {sum(summary.bad_rows.values())} volontairement invalides), départements {', '.join(depts)}, "
          f"date d'extraction {args.date:%d/%m/%Y}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from onevision_dagster.contract.departements import parse_departements
    from onevision_dagster.ingest.landing import scan_landing

    if not args.landing.is_dir():
        raise OneVisionError(f"Zone de dépôt introuvable : {args.landing}")
    scan = scan_landing(args.landing)
    for bad in scan.badly_named:
        print(f"Fichier ignoré : {bad.path} ({bad.reason})", file=sys.stderr)
    depts = list(parse_departements(" ".join(args.departement))) if args.departement else scan.departements()
    if not depts:
        raise OneVisionError(f"Aucun extrait départemental dans {args.landing}")
    # Partitions are defined at import time from this variable: set it before loading the definitions.
    os.environ["ONEVISION_DEPARTEMENTS"] = ",".join(depts)
    os.environ["ONEVISION_LANDING"] = str(args.landing)
    os.environ["ONEVISION_WAREHOUSE"] = str(args.warehouse)
    os.environ["ONEVISION_REPORTS"] = str(args.rapports)
    from onevision_dagster.orchestration.runner import run_pipeline

    result = run_pipeline(depts)
    for line in result.lines():
        print(line)
    print(f"Entrepôt : {args.warehouse} — rapports : {args.rapports}")
    return 0 if result.ok else EXIT_FAILURE


def _export(args: argparse.Namespace) -> int:
    from onevision_dagster.reports import exports
    from onevision_dagster.warehouse import connect

    if not Path(args.warehouse).exists():
        raise OneVisionError(f"Entrepôt introuvable : {args.warehouse} (lancez d'abord `onevision run`)")
    with connect(args.warehouse, read_only=True) as con:
        if args.what == "positions":
            if not args.departement and not args.national:
                raise OneVisionError("export positions : précisez --departement D ou --national")
            n = exports.export_positions(con, args.out, departement=args.departement, national=args.national,
                                         fmt=args.format)
        elif args.what == "rejets":
            n = exports.export_rejets(con, args.out, departement=args.departement, fmt=args.format)
        else:
            n = exports.export_non_positionnees(con, args.out, departement=args.departement, fmt=args.format)
    print(f"{args.out} : {n} ligne(s)")
    return 0


def _fiche(args: argparse.Namespace) -> int:
    from onevision_dagster.reports.fiche import write_fiche
    from onevision_dagster.warehouse import connect

    with connect(args.warehouse, read_only=True) as con:
        path = write_fiche(con, args.siren.replace(" ", ""), args.departement, args.out)
    print(f"Fiche écrite : {path}")
    return 0


def _rapports(args: argparse.Namespace) -> int:
    from onevision_dagster.reports.server import serve_reports

    serve_reports(args.dossier, host=args.host, port=args.port)
    return 0


COMMANDS = {"generate": _generate, "run": _run, "export": _export, "fiche": _fiche, "rapports": _rapports}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (OneVisionError, ValueError, FileNotFoundError) as e:
        print(f"Erreur : {e}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
