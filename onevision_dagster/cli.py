"""`onevision` command line (SOURCES.md section 7).

`run` materializes the same Dagster assets as the UI, in-process, on the
embedded DuckDB file: one run for the register, one per department, one per
snapshot to compute, one for the national views. Every command exits non-zero
with one French sentence when it did not do what was asked; `--verbose` adds
the technical detail (Dagster's log, the traceback) after it.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from datetime import date
from pathlib import Path

from onevision_dagster import cli_french, filemodes
from onevision_dagster.errors import OneVisionError
from onevision_dagster.orchestration.config import ENV_DEFAULTS

EXIT_FAILURE = 1
EXPORTS = ("positions", "rejets", "non_positionnees", "compensations", "declarations", "mouvements", "impact",
           "evaluation")


def _setting(name: str) -> str:
    """The configured value (environment variable, else the project's default): the README's promise."""
    return os.environ.get(name) or ENV_DEFAULTS[name]


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date invalide {value!r} (attendu AAAA-MM-JJ)") from None


def _departement(value: str) -> str:
    from onevision_dagster.contract.departements import departement_code

    try:
        return departement_code(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _common(top: bool = False) -> argparse.ArgumentParser:
    """`--verbose` before or after the command; after it, it must not reset what was given before it."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("-v", "--verbose", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="affiche aussi le détail technique (journal Dagster, trace) après le message")
    return parent


def _add_warehouse(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warehouse", type=Path, default=Path(_setting("ONEVISION_WAREHOUSE")),
                   help="fichier DuckDB de l'entrepôt (défaut : ONEVISION_WAREHOUSE, sinon %(default)s)")


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"entier ≥ 1 attendu, reçu {value!r}")
    return int(value)


def _effect(value: str) -> float:
    from onevision_dagster.demo.shares import MAX_PILOT_EFFECT

    try:
        x = float(value.replace(",", "."))
    except ValueError:
        x = -1.0
    if not 0 <= x <= MAX_PILOT_EFFECT:
        top = f"{MAX_PILOT_EFFECT:g}".replace(".", ",")
        raise argparse.ArgumentTypeError(f"probabilité entre 0 et {top} attendue, reçu {value!r}")
    return x


def build_parser() -> argparse.ArgumentParser:
    cli_french.install()
    common = _common()
    parser = argparse.ArgumentParser(prog="onevision", parents=[_common(top=True)],
                                     description="One Vision : position consolidée des débiteurs professionnels.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="commande",
                                title="commandes")

    g = sub.add_parser("generate", parents=[common], help="écrit une zone de dépôt de démonstration",
                       description="Écrit des extraits de démonstration plausibles (SOURCES.md, docs/demo.md).")
    g.add_argument("--out", required=True, type=Path, help="dossier de la zone de dépôt à écrire")
    g.add_argument("--departement", nargs="+", default=["17", "91", "95"], help="départements (défaut : 17 91 95)")
    g.add_argument("--entreprises", type=int, default=2000, help="entreprises par département (défaut : 2000)")
    g.add_argument("--date", type=_iso_date, default=date.today(),
                   help="date d'extraction AAAA-MM-JJ (défaut : aujourd'hui)")
    g.add_argument("--seed", type=int, default=1, help="graine du tirage aléatoire (défaut : 1)")
    g.add_argument("--instantanes", type=_positive_int, default=1,
                   help="nombre d'extractions hebdomadaires : --date, --date − 7 jours, ... (défaut : 1)")
    g.add_argument("--pilotes", default=_setting("ONEVISION_PILOTES"),
                   help="départements pilotes, qui compensent plus souvent (défaut : ONEVISION_PILOTES, sinon "
                   "%(default)s)")
    g.add_argument("--debut-pilote", type=_iso_date, metavar="AAAA-MM-JJ",
                   help="début de l'expérimentation : les semaines finissant ce jour-là ou avant se déroulent de la "
                   "même façon dans tous les départements (défaut : dès la première semaine)")
    g.add_argument("--effet", type=_effect, metavar="X",
                   help="après le début, un agent pilote applique les créances signalées d'une entreprise avec X de "
                   "probabilité en plus par semaine, un tirage par entreprise (défaut : 0,175 ; 0 : aucun effet ; "
                   "docs/demo.md)")

    r = sub.add_parser("run", parents=[common], help="matérialise tous les assets (départements, historique, "
                       "vues nationales)", description="Charge la zone de dépôt et recalcule tout, en local.")
    r.add_argument("--landing", type=Path, default=Path(_setting("ONEVISION_LANDING")),
                   help="zone de dépôt (défaut : ONEVISION_LANDING, sinon %(default)s)")
    _add_warehouse(r)
    r.add_argument("--departement", nargs="+", type=_departement,
                   help="départements à traiter (défaut : tous ceux qui ont des extraits dans la zone)")
    r.add_argument("--rapports", type=Path, default=Path(_setting("ONEVISION_REPORTS")),
                   help="dossier des tableaux de bord (défaut : ONEVISION_REPORTS, sinon %(default)s)")
    r.add_argument("--sans-historique", action="store_true",
                   help="ne calcule pas les instantanés manquants (positions courantes seulement)")
    r.add_argument("--parallele", type=_positive_int, default=None, metavar="N",
                   help="départements traités N à la fois dans ce processus (défaut : ONEVISION_PARALLELISME, sinon "
                   "1) ; sans effet quand DAGSTER_HOME enregistre les exécutions")

    h = sub.add_parser("historique", parents=[common], help="calcule ou recalcule des instantanés (rattrapage)",
                       description="Rattrapage de l'historique (section 9) à partir des fichiers déjà chargés : "
                       "par défaut les instantanés manquants ou périmés ; --tout : tous ceux des départements ; "
                       "--date : ces dates pour chaque département.")
    h.add_argument("--departement", nargs="+", type=_departement,
                   help="départements (défaut : tous ceux de l'entrepôt)")
    h.add_argument("--date", nargs="+", type=_iso_date, help="dates d'extraction AAAA-MM-JJ à recalculer")
    h.add_argument("--tout", action="store_true", help="recalcule tous les instantanés des départements")
    _add_warehouse(h)
    h.add_argument("--landing", type=Path, default=Path(_setting("ONEVISION_LANDING")),
                   help="zone de dépôt (défaut : ONEVISION_LANDING, sinon %(default)s)")

    e = sub.add_parser("export", parents=[common], help="exports CSV ou Excel (.xlsx) pour les agents",
                       description="Exports au format des agents (section 6) : CSV « ; », UTF-8 avec BOM, "
                       "virgule décimale, dates JJ/MM/AAAA ; ou classeur Excel .xlsx aux cellules typées.")
    e.add_argument("what", choices=EXPORTS, metavar="quoi", help="|".join(EXPORTS))
    e.add_argument("--out", required=True, type=Path, help="fichier à écrire (.csv ou .xlsx)")
    e.add_argument("--format", choices=["csv", "xlsx"], default=None,
                   help="csv ou xlsx (cellules typées, à ouvrir dans Excel) ; défaut : d'après l'extension de --out")
    scope = e.add_mutually_exclusive_group()
    scope.add_argument("--departement", type=_departement, help="un département (ex. 17, 2A)")
    scope.add_argument("--national", action="store_true", help="positions nationales (export positions)")
    e.add_argument("--date", type=_iso_date, help="positions d'un instantané passé AAAA-MM-JJ (export positions)")
    _add_warehouse(e)

    f = sub.add_parser("fiche", parents=[common], help="fiche HTML d'une entreprise",
                       description="Fiche d'une entreprise : positions, lignes et leur origine.")
    f.add_argument("siren", help="SIREN (9 chiffres, espaces admis)")
    f.add_argument("--departement", type=_departement, help="un département (défaut : fiche nationale)")
    f.add_argument("--out", required=True, type=Path, help="fichier .html ou dossier à écrire")
    _add_warehouse(f)

    sub.add_parser("rapports", parents=[common], help="n'existe plus : les tableaux de bord sont dans l'application",
                       description=REPORTS_MOVED)

    a = sub.add_parser("app", parents=[common],
                       help="application web des agents (recherche, fiches, listes de travail)",
                       description="Sert l'application des agents derrière le proxy d'authentification ; "
                       "configuration par variables d'environnement ONEVISION_APP_* (docs/app.md).")
    a.add_argument("--host", default=None, help="adresse d'écoute (défaut : ONEVISION_APP_HOST ou 127.0.0.1 ; "
                   "hors boucle locale, ONEVISION_PROXY_SECRET est obligatoire)")
    a.add_argument("--port", type=int, default=None, help="port d'écoute (défaut : ONEVISION_APP_PORT ou 8766)")
    a.add_argument("--dev", action="store_true", help="poste de développeur : démarre sans ONEVISION_PROXY_SECRET "
                   "sur la boucle locale (en-têtes d'identité crus sans preuve ; jamais en production)")

    d = sub.add_parser("document", parents=[common], help="document à envoyer (notification, déclaration, SATD)",
                       description="Rédige, d'après l'entrepôt, un document pour une entreprise et un département "
                       "(docs/documents.md) : notification d'affectation (art. L. 257 B LPF), déclaration de "
                       "créances (art. L. 622-24 C. com.) ou projet de SATD commune (art. L. 262 LPF).")
    d.add_argument("kind", choices=("notification", "declaration", "satd"), metavar="document",
                   help="notification|declaration|satd")
    d.add_argument("siren", help="SIREN (9 chiffres, espaces admis)")
    d.add_argument("--departement", required=True, type=_departement, help="département de la position (ex. 17)")
    d.add_argument("--format", choices=("odt", "pdf"), default=None,
                   help="odt (modifiable dans LibreOffice) ou pdf ; défaut : d'après l'extension de --out, sinon odt")
    d.add_argument("--out", required=True, type=Path, help="fichier à écrire (.odt ou .pdf)")
    d.add_argument("--base", default=None, help="base de l'application où le document est audité (défaut : "
                   "ONEVISION_APP_DATABASE_URL ou le fichier SQLite à côté de l'entrepôt)")
    _add_warehouse(d)

    au = sub.add_parser("audit", parents=[common], help="exporte le journal d'audit de l'application en CSV",
                        description="Exporte le journal d'audit (recherches, consultations, listes, exports, "
                        "suites données, refus) au format CSV des agents, heure de Paris.")
    au.add_argument("--out", type=Path, default=None, help="fichier CSV à écrire")
    au.add_argument("--verifier", action="store_true", help="vérifie le chaînage et les protections de l'audit et "
                    "nomme le premier maillon rompu (code de sortie 1 si l'audit est altéré)")
    au.add_argument("--retablir", action="store_true", help="recrée les protections (déclencheurs) disparues, après "
                    "constat ; l'opération est elle-même enregistrée dans l'audit")
    au.add_argument("--depuis", type=_iso_date, default=None,
                    help="premier jour exporté, AAAA-MM-JJ (défaut : tout le journal)")
    pu = sub.add_parser("purge", parents=[common], help="supprime ce qui dépasse les durées de conservation",
                        description="Retire de l'entrepôt et de la zone de dépôt les extraits plus anciens que "
                        "ONEVISION_CONSERVATION_MOIS (l'historique : positions, mouvements, impact, et les fichiers "
                        "que lit le dernier instantané restent) et supprime l'audit plus ancien que "
                        "ONEVISION_AUDIT_CONSERVATION_MOIS (12 mois par défaut). Dit ce qu'elle supprime ; "
                        "l'opération est enregistrée dans l'audit.")
    pu.add_argument("--simulation", action="store_true", help="dit ce qui serait supprimé, sans rien supprimer")
    pu.add_argument("--landing", type=Path, default=Path(_setting("ONEVISION_LANDING")),
                    help="zone de dépôt (défaut : ONEVISION_LANDING, sinon %(default)s)")
    pu.add_argument("--base", default=None, help="URL SQLAlchemy de la base de l'application, avec le rôle qui "
                    "possède ses tables (défaut : ONEVISION_APP_DATABASE_URL ou le fichier SQLite à côté de "
                    "l'entrepôt)")
    _add_warehouse(pu)
    au.add_argument("--base", default=None, help="URL SQLAlchemy de la base de l'application (défaut : "
                    "ONEVISION_APP_DATABASE_URL ou le fichier SQLite à côté de l'entrepôt)")
    return parser


def _generate(args: argparse.Namespace) -> int:
    from onevision_dagster.contract.departements import parse_departements
    from onevision_dagster.demo.generator import generate_landing
    from onevision_dagster.demo.shares import DEFAULT_PILOT_EFFECT

    depts = parse_departements(" ".join(args.departement))
    pilotes = parse_departements(args.pilotes)
    effect = DEFAULT_PILOT_EFFECT if args.effet is None else args.effet
    summary = generate_landing(args.out, list(depts), args.entreprises, args.date, args.seed,
                               instantanes=args.instantanes, pilotes=pilotes, debut_pilote=args.debut_pilote,
                               effet=effect)
    rows = sum(summary.rows.values())
    dates = (f"date d'extraction {args.date:%d/%m/%Y}" if args.instantanes == 1 else
             f"{args.instantanes} extractions hebdomadaires du {summary.dates[0]:%d/%m/%Y} au {args.date:%d/%m/%Y}")
    start = f" après le {args.debut_pilote:%d/%m/%Y}" if args.debut_pilote else ""
    piloted = ", ".join(d for d in depts if d in pilotes) or "aucun"
    effect_fr = f"{effect:g}".replace(".", ",")
    print(f"Zone de dépôt écrite dans {args.out} : {len(summary.paths)} fichiers, {rows} lignes "
          f"(dont {sum(summary.bad_rows.values())} volontairement invalides), départements {', '.join(depts)}, "
          f"{dates} ; pilotes {piloted} : effet +{effect_fr}{start}")
    return 0


def _configure(args: argparse.Namespace, departements: list[str]) -> None:
    """The resources read these variables when the definitions load: set them first. The department partitions
    are not among them: they follow what is loaded (`add_departements`, issue 22)."""
    os.environ["ONEVISION_LANDING"] = str(args.landing)
    os.environ["ONEVISION_WAREHOUSE"] = str(args.warehouse)
    if getattr(args, "rapports", None) is not None:
        os.environ["ONEVISION_REPORTS"] = str(args.rapports)


def _print_result(result, verbose: bool) -> None:
    for line in result.lines():
        print(line)


def _run(args: argparse.Namespace) -> int:
    from onevision_dagster.contract.departements import parse_departements
    from onevision_dagster.ingest.landing import scan_landing

    if not args.landing.is_dir():
        raise OneVisionError(f"Zone de dépôt introuvable : {args.landing}")
    scan = scan_landing(args.landing, os.environ.get("ONEVISION_LANDING_LIENS", "0") in ("1", "true", "oui"))
    for bad in scan.badly_named:
        print(f"Fichier non lu : {bad.path} ({bad.reason})", file=sys.stderr)
    # a file not read is never an « OK » run (issue 17): said again in the summary, and the exit code is 1
    unread = [f"{bad.path} ({bad.reason})" for bad in scan.badly_named]
    present = scan.departements()
    depts = list(parse_departements(" ".join(args.departement))) if args.departement else present
    if not depts:
        raise OneVisionError(f"Aucun extrait départemental dans {args.landing}")
    not_refreshed = []
    if scan.latest("entreprises") is None:
        not_refreshed.append("registre : aucun fichier entreprises_<AAAAMMJJ>.csv dans la zone de dépôt, le "
                             "dernier registre chargé est conservé")
    not_refreshed += [f"département {d} : aucun extrait dans la zone de dépôt, son dernier instantané est conservé"
                      for d in depts if d not in present]
    _configure(args, depts)
    from onevision_dagster.orchestration.runner import run_pipeline

    result = run_pipeline(depts, include_history=not args.sans_historique,
                          log_level="INFO" if args.verbose else "CRITICAL", workers=args.parallele)
    _print_result(result, args.verbose)
    print(f"Entrepôt : {args.warehouse} — rapports : {args.rapports}")
    for line in not_refreshed:
        print(f"Non rafraîchi — {line}.", file=sys.stderr)
    for line in unread:
        print(f"Non lu — {line}")
    return 0 if result.ok and not not_refreshed and not unread else EXIT_FAILURE


def _historique(args: argparse.Namespace) -> int:
    from onevision_dagster.consolidate.snapshot import departements, snapshot_dates
    from onevision_dagster.warehouse import open_for_reading

    with open_for_reading(args.warehouse, ("quality.chargements",)) as con:
        known = departements(con)
        depts = args.departement or known
        unknown = [d for d in depts if d not in known]
        forced = None
        if args.tout:
            forced = sorted({day for d in depts for day in snapshot_dates(con, d)})
        elif args.date:
            forced = sorted(set(args.date))
            missing = [day for day in forced if not any(day in snapshot_dates(con, d) for d in depts)]
            if missing:
                raise OneVisionError("Aucun département demandé n'a d'extrait daté du "
                                     + ", ".join(f"{d:%d/%m/%Y}" for d in missing))
    if unknown:
        raise OneVisionError(f"Département(s) jamais chargé(s) dans {args.warehouse} : {', '.join(unknown)}")
    args.rapports = None
    _configure(args, depts)
    from onevision_dagster.orchestration.runner import run_pipeline

    result = run_pipeline(depts, include_current=False, history_dates=forced,
                          log_level="INFO" if args.verbose else "CRITICAL")
    _print_result(result, args.verbose)
    return 0 if result.ok else EXIT_FAILURE


_EXPORT_TABLES = {
    "positions": ("marts.positions",),
    "rejets": ("quality.rejets", "quality.chargements"),
    "non_positionnees": ("core.non_positionnees",),
    "compensations": ("marts.compensations",),
    "declarations": ("marts.declarations",),
    "mouvements": ("history.mouvements",),
    "impact": ("history.impact",),
    "evaluation": ("experiment.evaluation",),
}


def _export(args: argparse.Namespace) -> int:
    from onevision_dagster.reports import exports
    from onevision_dagster.warehouse import open_for_reading

    if args.what == "positions" and not args.departement and not args.national:
        raise OneVisionError("export positions : précisez --departement D ou --national")
    if args.what == "evaluation" and (args.departement or args.national):
        raise OneVisionError("export evaluation : l'évaluation porte sur tous les départements (sans --departement)")
    if args.date and args.what != "positions":
        raise OneVisionError("--date ne s'applique qu'à l'export des positions")
    required = ("history.positions_historique",) if args.date else _EXPORT_TABLES[args.what]
    if args.national:
        required = ("marts.positions_nationales",)
    with open_for_reading(args.warehouse, required) as con:
        if args.departement:
            loaded = con.execute("SELECT count(*) FROM quality.chargements WHERE departement = ?",
                                 [args.departement]).fetchone()[0]
            if not loaded:
                raise OneVisionError(f"Le département {args.departement} n'a jamais été chargé dans "
                                     f"{args.warehouse} : rien à exporter.")
        if args.what == "positions":
            if args.date:
                taken = con.execute("SELECT count(*) FROM history.instantanes WHERE date_situation = ?"
                                    + (" AND departement = ?" if args.departement else ""),
                                    [args.date] + ([args.departement] if args.departement else [])).fetchone()[0]
                if not taken:
                    raise OneVisionError(f"Aucun instantané du {args.date:%d/%m/%Y}"
                                         + (f" pour le département {args.departement}" if args.departement else "")
                                         + " dans l'historique (voir `onevision historique`).")
            n = exports.export_positions(con, args.out, departement=args.departement, national=args.national,
                                         date=args.date, fmt=args.format)
        elif args.what == "rejets":
            n = exports.export_rejets(con, args.out, departement=args.departement, fmt=args.format)
        elif args.what == "non_positionnees":
            n = exports.export_non_positionnees(con, args.out, departement=args.departement, fmt=args.format)
        elif args.what == "compensations":
            n = exports.export_compensations(con, args.out, departement=args.departement, fmt=args.format)
        elif args.what == "declarations":
            n = exports.export_declarations(con, args.out, departement=args.departement, fmt=args.format)
        elif args.what == "mouvements":
            n = exports.export_mouvements(con, args.out, departement=args.departement, fmt=args.format)
        elif args.what == "evaluation":
            n = exports.export_evaluation(con, args.out, fmt=args.format)
        else:
            n = exports.export_impact(con, args.out, departement=args.departement, fmt=args.format)
    print(f"{args.out} : {n} ligne(s)")
    return 0


def _fiche(args: argparse.Namespace) -> int:
    import pyarrow as pa

    from onevision_dagster.contract.identifiers import valid_siren
    from onevision_dagster.reports.fiche import write_fiche
    from onevision_dagster.warehouse import open_for_reading

    siren = args.siren.replace(" ", "")
    if not (len(siren) == 9 and siren.isdigit() and bool(valid_siren(pa.array([siren]))[0])):
        raise OneVisionError(f"SIREN invalide : {args.siren!r} (9 chiffres dont une clé de contrôle de Luhn "
                             "attendus)")
    required = ("marts.positions",) if args.departement else ("marts.positions_nationales",)
    with open_for_reading(args.warehouse, required) as con:
        path = write_fiche(con, siren, args.departement, args.out)
    print(f"Fiche écrite : {path}")
    return 0


def _document(args: argparse.Namespace) -> int:
    from onevision_dagster.documents import draft
    from onevision_dagster.warehouse import open_for_reading

    fmt = args.format or ("pdf" if args.out.suffix.lower() == ".pdf" else "odt")
    required = {"notification": ("marts.positions", "core.lignes_creances", "core.lignes_dettes"),
                "declaration": ("marts.positions", "marts.declarations"),
                "satd": ("marts.positions", "core.lignes_dettes")}[args.kind]
    from onevision_dagster.app import audit, drafted
    from onevision_dagster.app.settings import default_database_url
    from onevision_dagster.app.store import open_store
    from onevision_dagster.documents import DocumentRefused

    url = args.base or os.environ.get("ONEVISION_APP_DATABASE_URL") or default_database_url(args.warehouse)
    engine = open_store(url)  # no audit, no document (issue 18)
    siren = args.siren.replace(" ", "")
    try:
        with open_for_reading(args.warehouse, required) as con:
            _, content, summary = draft(con, args.kind, siren, args.departement, fmt)
    except DocumentRefused as e:
        audit.record(engine, user=audit.operator(), departements=None, action=drafted.ACTION, status=409,
                     objet=drafted.objet(siren, args.departement, args.kind, fmt, refus=str(e)))
        raise
    audit.record(engine, user=audit.operator(), departements=None, action=drafted.ACTION, status=200,
                 objet=drafted.objet(siren, args.departement, args.kind, fmt, summary))
    args.out.write_bytes(content)
    from onevision_dagster.reports.formatting import format_euros

    amounts = ", ".join(f"{k.replace('_', ' ')} {format_euros(v)}" for k, v in summary.items()
                        if hasattr(v, "as_tuple"))
    print(f"Document écrit : {args.out} ({amounts})")
    return 0


REPORTS_MOVED = ("La commande « onevision rapports » n'existe plus : les tableaux de bord sont servis par "
                 "l'application (onevision app), sous /rapports/, avec ses droits et son audit.")


def _rapports(args: argparse.Namespace) -> int:
    print(REPORTS_MOVED, file=sys.stderr)
    return 2


def _app(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from onevision_dagster.app.server import serve
    from onevision_dagster.app.settings import load_settings

    settings = replace(load_settings().with_listen(args.host, args.port), dev=args.dev)
    settings.check_listen()
    serve(settings)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from onevision_dagster.app import audit
    from onevision_dagster.app.settings import load_settings
    from onevision_dagster.app.store import open_store

    url = args.base or load_settings().database_url
    engine = open_store(url)
    if args.retablir:
        print(audit.restore_protections(engine))
    if args.verifier:
        problems = audit.integrity(engine)
        print(audit.verify(engine).sentence() if not problems else "\n".join(problems))
        if problems:
            return EXIT_FAILURE
    if args.out is not None:
        n = audit.export(engine, args.out, args.depuis)
        print(f"{args.out} : {n} ligne(s) d'audit")
    elif not (args.verifier or args.retablir):
        raise OneVisionError("Indiquez --out FICHIER.csv (export), --verifier ou --retablir.")
    return 0


def _purge(args: argparse.Namespace) -> int:
    from onevision_dagster import warehouse
    from onevision_dagster.app import audit
    from onevision_dagster.app.settings import load_settings
    from onevision_dagster.app.store import open_store
    from onevision_dagster.retention import apply_extracts, plan_extracts, retention_from_env

    keep, keep_audit = retention_from_env()
    today = date.today()
    engine = open_store(args.base or load_settings(dict(os.environ, ONEVISION_WAREHOUSE=str(args.warehouse))
                                                   ).database_url)
    print("Simulation : rien n'est supprimé." if args.simulation else "Purge :")
    if keep is None:
        extracts = ["Extraits : ONEVISION_CONSERVATION_MOIS n'est pas défini, aucun extrait n'est purgé."]
    elif not args.warehouse.exists():
        extracts = [f"Extraits : pas d'entrepôt {args.warehouse}."]
    else:
        with warehouse.connect(args.warehouse) as con:
            plan = plan_extracts(con, keep, today, args.landing)
            if not args.simulation:
                apply_extracts(con, plan)
        extracts = plan.sentences()
    print("\n".join(extracts))
    print(audit.purge(engine, keep_audit, today, args.simulation))
    audit.record(engine, user=audit.operator(), departements=None, action="ADMINISTRATION",
                 objet=("simulation de purge : " if args.simulation else "purge des extraits : ") + extracts[0],
                 status=200)
    return 0


COMMANDS = {"generate": _generate, "run": _run, "historique": _historique, "export": _export, "fiche": _fiche,
            "rapports": _rapports, "app": _app, "audit": _audit, "purge": _purge, "document": _document}


def main(argv: list[str] | None = None) -> int:
    import duckdb

    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["rapports"]:  # gone, whatever its old options (issue 20): one sentence, the way to the app
        print(REPORTS_MOVED, file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    filemodes.restrict()  # every file written from here on is 0640 in 0750 folders
    try:
        return COMMANDS[args.command](args)
    except (OneVisionError, ValueError, FileNotFoundError, PermissionError, duckdb.Error) as e:
        message = str(e)
        if isinstance(e, duckdb.Error):
            from onevision_dagster.warehouse import explain

            message = explain(e, getattr(args, "warehouse", ""))
        print(f"Erreur : {message}", file=sys.stderr)
        if args.verbose:
            traceback.print_exc()
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
