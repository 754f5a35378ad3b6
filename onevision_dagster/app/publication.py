"""Publication: a read-only copy of what the application serves, swapped atomically.

DuckDB admits one writing process per file, and a writer locks the readers of other processes out. The
application therefore never opens the warehouse: the pipeline's last asset copies the tables the pages read
into a NEW DuckDB file of the publication folder, sorted by SIREN (DuckDB's zone maps then skip every other
row group in a point lookup), then replaces the pointer `current.json` with `os.replace` — atomic on POSIX.
The application notices the new pointer and opens the new file read-only; requests already running finish on
the old one. Files that are no longer current are deleted after a grace period counted from the moment they
stopped being current, so an application that read the old pointer just before the swap can still open it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from onevision_dagster.app import model
from onevision_dagster.consolidate.matching import normalise_names
from onevision_dagster.documents.data import _DETAIL_SOURCES as DETAIL_SOURCES
from onevision_dagster.documents.data import details_sql
from onevision_dagster.errors import OneVisionError
from onevision_dagster.ingest.origin import ORIGIN_TABLE
from onevision_dagster.reports.fiche_data import rejected_rows_sql
from onevision_dagster.reports.refunds_at_risk import AT_RISK_COLUMNS, refunds_at_risk

POINTER = "current.json"
PREFIX = "onevision-"
SUFFIX = ".duckdb"
DEFAULT_GRACE_S = 15 * 60


@dataclass(frozen=True)
class Publication:
    path: Path
    entreprises: int
    seconds: float
    removed: tuple[str, ...]


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table]).fetchone()[0] > 0


def _communes(con: duckdb.DuckDBPyConnection, version: str) -> pa.Table:
    """Each distinct town of the register with its section-5 normal form (the query goes through the same)."""
    towns = con.sql(f"SELECT DISTINCT commune FROM raw.entreprises WHERE {version} AND commune IS NOT NULL"
                    ).to_arrow_table()
    return pa.table({"commune": towns["commune"], "commune_normalise": normalise_names(towns["commune"])})


def _copy(con: duckdb.DuckDBPyConnection, target: str, select: str, order: str) -> None:
    con.execute(f"CREATE TABLE pub.{target} AS {select} ORDER BY {order}")


def _search_index(con: duckdb.DuckDBPyConnection) -> None:
    """The word index of the search: one row per (word, company), sorted by word.

    A query word then reads only the row groups of its words (a range on a sorted column: DuckDB's zone
    maps skip the others) instead of scanning every company's name; each row carries what the search
    needs next — the company's rank in name order and its departments (the rights filter) — so the
    result page is found without touching `recherche`. `noms` lists the exact names and acronyms, whose
    companies come first.
    """
    # each company's words made distinct within its own list: the same rows as a DISTINCT over the 11 M rows of
    # the nation, without hashing them (with their list of departments) again (issue 21: 30 s -> 11 s)
    _copy(con, "mots", """
        SELECT mot, siren, ordre, liste_departements
        FROM (SELECT unnest(list_distinct(string_split(concat_ws(' ', nom_normalise, sigle_normalise,
                                                                 commune_normalise, coalesce(code_postal, '')),
                                                       ' '))) AS mot,
                     siren, ordre, liste_departements
              FROM pub.recherche)
        WHERE mot <> ''""", "mot, siren")
    _copy(con, "noms", """
        SELECT nom_normalise AS nom, siren FROM pub.recherche WHERE nom_normalise <> ''
        UNION SELECT sigle_normalise, siren FROM pub.recherche WHERE sigle_normalise <> ''""", "nom, siren")


def _copy_tables(con: duckdb.DuckDBPyConnection) -> int:
    cols = model.column_list
    _copy(con, "positions", f"SELECT {cols(model.POSITIONS)} FROM marts.positions", "siren, departement")
    _copy(con, "positions_nationales", f"SELECT {cols(model.POSITIONS_NATIONALES)} FROM marts.positions_nationales",
          "siren")
    _copy(con, "lignes_dettes", f"SELECT {cols(model.LIGNES)} FROM core.lignes_dettes",
          "siren, departement, source, fichier, ligne")
    _copy(con, "lignes_creances", f"SELECT {cols(model.LIGNES)} FROM core.lignes_creances",
          "siren, departement, source, fichier, ligne")
    _copy(con, "non_positionnees", f"SELECT {cols(model.NON_POSITIONNEES)} FROM core.non_positionnees",
          "departement, source, fichier, ligne")
    version = "date_extraction = (SELECT max(date_extraction) FROM raw.entreprises)"
    con.register("communes_normalisees", _communes(con, version))
    try:
        # one row per company that has a national position (no other can ever be opened): what a result shows,
        # what a search matches on, and `ordre`, its rank in name order (results are listed in that order)
        _copy(con, "recherche", f"""
            WITH registre AS (SELECT {cols(model.REGISTRE)} FROM raw.entreprises WHERE {version})
            SELECT n.siren, coalesce(r.denomination, n.denomination) AS denomination, r.sigle,
                   coalesce(r.nom_normalise, '') AS nom_normalise, coalesce(r.sigle_normalise, '') AS sigle_normalise,
                   r.adresse, r.code_postal, r.commune, coalesce(c.commune_normalise, '') AS commune_normalise,
                   r.categorie_juridique, r.etat_administratif,
                   r.date_jugement, n.procedure_collective, n.departements,
                   string_split(n.departements, ',') AS liste_departements,
                   n.total_dettes, n.dettes_suspendues, n.dettes_poursuivables, n.total_creances,
                   n.montant_compensable, n.passif_declare,
                   row_number() OVER (ORDER BY coalesce(r.nom_normalise, ''), n.siren)::INTEGER AS ordre
            FROM marts.positions_nationales n
            LEFT JOIN registre r USING (siren)
            LEFT JOIN communes_normalisees c ON c.commune = r.commune""", "siren")
    finally:
        con.unregister("communes_normalisees")
    _search_index(con)
    # contract version 3: what credits can offset in every department, the claims to declare in a procedure
    if _table_exists(con, "marts", "compensations"):
        _copy(con, "compensations", f"SELECT {cols(model.COMPENSATIONS)} FROM marts.compensations",
              "siren, departement")
    if _table_exists(con, "marts", "declarations"):
        _copy(con, "declarations", f"SELECT {cols(model.DECLARATIONS)} FROM marts.declarations",
              "siren, departement, date_limite_declaration, source, fichier, ligne")
    if _table_exists(con, "marts", "panel_debiteurs_communs"):  # the common debtors' worklist (issue 18)
        _copy(con, "panel_debiteurs_communs", f"SELECT {cols(model.PANEL)} FROM marts.panel_debiteurs_communs",
              "departement, rang")
    if _table_exists(con, "raw", ORIGIN_TABLE):  # demo data say they are synthetic on every page (issue 17)
        _copy(con, ORIGIN_TABLE, f"SELECT synthetique FROM raw.{ORIGIN_TABLE}", "synthetique")
    _line_details(con)
    _rejected_rows(con)
    _copy(con, "fraicheur", "SELECT departement, max(date_situation) AS date_situation FROM marts.positions "
                            "GROUP BY departement", "departement")
    if _table_exists(con, "history", "mouvements"):
        _copy(con, "mouvements", f"SELECT {cols(model.MOUVEMENTS)} FROM history.mouvements",
              "siren, departement, date_fin")
    if all(_table_exists(con, "history", t) for t in ("impact", "mouvements", "positions_historique", "instantanes")):
        # the companies behind each department's `rembourse_a_risque`, as the impact computes it (section 9)
        frame = refunds_at_risk(con)
        con.register("remboursements_a_risque_frame", frame)
        try:
            _copy(con, "remboursements_a_risque", f"SELECT {', '.join(AT_RISK_COLUMNS)} FROM "
                  "remboursements_a_risque_frame", "departement, siren")
        finally:
            con.unregister("remboursements_a_risque_frame")
    if _table_exists(con, "history", "positions_historique"):
        _copy(con, "positions_historique", f"SELECT {cols(model.POSITIONS)} FROM history.positions_historique",
              "siren, departement, date_situation")
    _check_copy(con)
    con.execute("""CREATE TABLE pub.publication AS
                   SELECT timezone('UTC', now()) AS publie_le, (SELECT max(date_situation) FROM pub.positions)
                          AS date_situation, (SELECT count(*) FROM pub.recherche) AS entreprises""")
    return con.execute("SELECT entreprises FROM pub.publication").fetchone()[0]


def _line_details(con: duckdb.DuckDBPyConnection) -> None:
    """`details_lignes`: what each published line is in words (tax and period, local body and product, kind of
    receivable), from the raw rows behind the published lines only, so the documents drafted from the application
    name each line, not only its reference (docs/documents.md)."""
    if not all(_table_exists(con, "raw", t) for t in DETAIL_SOURCES):
        return
    _copy(con, "details_lignes", f"""
        SELECT d.* FROM ({details_sql()}) d
        SEMI JOIN (SELECT source, departement, fichier, ligne FROM pub.lignes_dettes
                   UNION SELECT source, departement, fichier, ligne FROM pub.lignes_creances) l
             USING (source, departement, fichier, ligne)""", "source, departement, fichier, ligne")


def _rejected_rows(con: duckdb.DuckDBPyConnection) -> None:
    """`rejets_entreprises`: the rows rejected in the latest files that belong to a company with a position, so
    its page says « non comptée » instead of letting a debt vanish (issue 17, point 7; `rejected_rows_sql`)."""
    rejected = rejected_rows_sql(con)
    if rejected is None:
        return
    _copy(con, "rejets_entreprises", f"SELECT * FROM {rejected} WHERE siren IN (SELECT siren FROM pub.recherche)",
          "siren, source, fichier, ligne")


COPIED = {"positions": "marts.positions", "positions_nationales": "marts.positions_nationales",
          "lignes_dettes": "core.lignes_dettes", "lignes_creances": "core.lignes_creances",
          "non_positionnees": "core.non_positionnees", "recherche": "marts.positions_nationales"}


def _check_copy(con: duckdb.DuckDBPyConnection) -> None:
    """Every copied table holds as many rows as its source, or nothing is published (the pointer stays)."""
    wrong = []
    for target, source in COPIED.items():
        copied, expected = con.execute(f"SELECT (SELECT count(*) FROM pub.{target}), (SELECT count(*) FROM {source})"
                                       ).fetchone()
        if copied != expected:
            wrong.append(f"{target} : {copied} lignes copiées pour {expected} dans {source}")
    if wrong:
        raise OneVisionError("Publication annulée, copie incomplète : " + " ; ".join(wrong))


def _write_pointer(folder: Path, name: str) -> None:
    tmp = folder / f".{POINTER}.{secrets.token_hex(4)}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump({"fichier": name, "publie_le": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / POINTER)
    try:  # the rename itself durable across a power cut
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def current_file(folder: Path) -> Path | None:
    """The file the pointer names, or None before the first publication."""
    try:
        name = json.loads((folder / POINTER).read_text(encoding="utf-8"))["fichier"]
    except (FileNotFoundError, KeyError, ValueError):
        return None
    if "/" in name or "\\" in name or not name.startswith(PREFIX) or not name.endswith(SUFFIX):
        return None  # the pointer never leads outside its folder
    return folder / name


def remove_old(folder: Path, grace_s: float = DEFAULT_GRACE_S, now: float | None = None) -> tuple[str, ...]:
    """Deletes the published files that stopped being current more than `grace_s` seconds ago."""
    now = time.time() if now is None else now
    current = current_file(folder)
    removed = []
    for path in sorted(folder.glob(f"{PREFIX}*{SUFFIX}")):
        if current is not None and path.name == current.name:
            continue
        if now - path.stat().st_mtime > grace_s:
            path.unlink(missing_ok=True)
            Path(str(path) + ".wal").unlink(missing_ok=True)
            removed.append(path.name)
    return tuple(removed)


def publish(con: duckdb.DuckDBPyConnection, folder: str | Path, grace_s: float = DEFAULT_GRACE_S) -> Publication:
    """Copies the served tables from the warehouse open on `con` into a new file, then switches the pointer."""
    start = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{PREFIX}{stamp}-{secrets.token_hex(3)}{SUFFIX}"
    previous = current_file(folder)
    quoted = str(path).replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS pub")
    try:
        entreprises = _copy_tables(con)
    except BaseException:
        con.execute("DETACH pub")
        path.unlink(missing_ok=True)
        raise
    con.execute("DETACH pub")
    _write_pointer(folder, path.name)
    if previous is not None and previous.exists():
        os.utime(previous)  # its grace period starts now, when it stops being current
    removed = remove_old(folder, grace_s)
    return Publication(path, int(entreprises), time.perf_counter() - start, removed)
