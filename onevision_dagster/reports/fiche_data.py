"""What a company sheet reads: one SIREN's position, register identity, every line and its history, and the top
list.

Raises `PositionIntrouvable` (a `ValueError`, French message) when there is
nothing to show, so the command line can say so in one sentence.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any

import duckdb

from onevision_dagster.consolidate import snapshot
from onevision_dagster.ingest.origin import synthetic_data
from onevision_dagster.reports.frames import history_tables_missing
from onevision_dagster.reports.html_page import check_departement
from onevision_dagster.reports.legal import BLOCAGE_PASSIF, BLOCAGE_PROCEDURE

_SIREN = re.compile(r"\d{9}")


TOP_COMPANIES_DEFINITION = (
    "montant en jeu = total des dettes restant dues + total des créances certaines "
    "(ordre décroissant, puis SIREN croissant à égalité)"
)


class PositionIntrouvable(ValueError):
    """The SIREN has no position in the asked scope: nothing to put on a sheet."""

    def __init__(self, siren: str, departement: str | None):
        self.siren = siren
        self.departement = departement
        where = f"dans le département {departement}" if departement else "au niveau national"
        super().__init__(
            f"Aucune position pour le SIREN {siren} {where} : l'entreprise n'a ni dette ouverte ni créance "
            "dans ce périmètre, est hors périmètre, ou les données n'ont pas encore été consolidées."
        )


def _check_siren(siren: str) -> str:
    clean = str(siren).replace(" ", "")
    if not _SIREN.fullmatch(clean):
        raise ValueError(f"SIREN invalide : {siren!r} (9 chiffres attendus)")
    return clean


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@dataclass(frozen=True)
class SheetTables:
    """Where a sheet reads its rows: the warehouse's tables, or the same rows of the few companies whose sheets a
    refresh writes, copied once by `prefetch_companies` (each sheet otherwise scans every table of the nation)."""

    positions: str = "marts.positions"
    positions_nationales: str = "marts.positions_nationales"
    register: str = f"raw.{snapshot.REGISTER}"
    lignes_dettes: str = "core.lignes_dettes"
    lignes_creances: str = "core.lignes_creances"
    rattachement: str = "core.rattachement_amendes"
    declarations: str = "marts.declarations"
    compensations: str = "marts.compensations"
    positions_historique: str = "history.positions_historique"
    mouvements: str = "history.mouvements"
    # what every sheet of a batch would ask the catalog again (None: ask it)
    present: frozenset[str] | None = None
    register_dates: tuple[dt.date, ...] | None = None
    synthetic: bool | None = None

    def exists(self, con: duckdb.DuckDBPyConnection, table: str) -> bool:
        return table in self.present if self.present is not None else _table_exists(con, table)


WAREHOUSE_TABLES = SheetTables()
_TABLE_FIELDS = ("positions", "positions_nationales", "register", "lignes_dettes", "lignes_creances", "rattachement",
                 "declarations", "compensations", "positions_historique", "mouvements")

_PREFETCH_PREFIX = "_ov_fiche_"


def prefetch_companies(con: duckdb.DuckDBPyConnection, sirens: list[str], departement: str | None) -> SheetTables:
    """Copies the rows of `sirens` that their sheets in `departement` (None: national sheets) read into temporary
    tables, once, and says where they are: each sheet then reads the same rows without scanning the nation's."""
    check_departement(departement)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_PREFETCH_PREFIX}sirens AS SELECT unnest(?::VARCHAR[]) AS siren",
                [[_check_siren(s) for s in sirens]])
    copied: dict[str, Any] = {}
    for name in _TABLE_FIELDS:
        table = getattr(WAREHOUSE_TABLES, name)
        if name == "rattachement" or not _table_exists(con, table):
            continue  # an absent table stays absent: the sheet says so as it does on the warehouse
        if name == "positions_nationales" and departement is not None:
            continue  # a department's sheet never reads it
        # positions: every department's (the sheet's freshness); the register and offsets: not by department
        scoped = departement is not None and name not in ("positions", "register", "compensations")
        where = f"WHERE t.departement = '{snapshot.checked_code(departement)}'" if scoped else ""
        copied[name] = f"temp.{_PREFETCH_PREFIX}{name}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_PREFETCH_PREFIX}{name} AS SELECT t.* FROM {table} t "
                    f"SEMI JOIN temp.{_PREFETCH_PREFIX}sirens s ON s.siren = t.siren {where}")
    if "lignes_dettes" in copied and _table_exists(con, WAREHOUSE_TABLES.rattachement):
        copied["rattachement"] = f"temp.{_PREFETCH_PREFIX}rattachement"
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {_PREFETCH_PREFIX}rattachement AS
                        SELECT r.* FROM {WAREHOUSE_TABLES.rattachement} r SEMI JOIN {copied["lignes_dettes"]} l
                          ON l.source = 'amendes' AND r.departement = l.departement AND r.num_amende = l.reference""")
    copied["present"] = frozenset(
        t for t in (*(getattr(WAREHOUSE_TABLES, n) for n in _TABLE_FIELDS), "history.lignes") if _table_exists(con, t))
    copied["register_dates"] = tuple(snapshot.register_versions(con))
    copied["synthetic"] = synthetic_data(con)
    return replace(WAREHOUSE_TABLES, **copied)


def top_companies(con: duckdb.DuckDBPyConnection, departement: str | None, n: int) -> list[str]:
    """SIRENs with the most at stake, for which sheets are produced in advance.

    Amount at stake = ``total_dettes + total_creances`` (certain credits): what
    the company owes plus what the State owes it, the two sides an agent may
    have to act on. Ties are broken by SIREN so the list is stable.
    """
    check_departement(departement)
    if n <= 0:
        return []
    if departement is None:
        sql = """SELECT siren FROM marts.positions_nationales
                 ORDER BY total_dettes + total_creances DESC, siren LIMIT ?"""
        params: list[Any] = [int(n)]
    else:
        sql = """SELECT siren FROM marts.positions WHERE departement = ?
                 ORDER BY total_dettes + total_creances DESC, siren LIMIT ?"""
        params = [departement, int(n)]
    return [row[0] for row in con.execute(sql, params).fetchall()]


def load_fiche(con: duckdb.DuckDBPyConnection, siren: str, departement: str | None,
               rejected: str | None = None, tables: SheetTables = WAREHOUSE_TABLES) -> dict[str, Any]:
    """Identity, position and lines of one company (raises `PositionIntrouvable`)."""
    siren = _check_siren(siren)
    check_departement(departement)
    if departement is None:
        positions = _rows(con, f"SELECT * FROM {tables.positions_nationales} WHERE siren = ?", [siren])
    else:
        positions = _rows(
            con, f"SELECT * FROM {tables.positions} WHERE siren = ? AND departement = ?", [siren, departement]
        )
    if not positions:
        raise PositionIntrouvable(siren, departement)
    position = positions[0]
    # the register version the position was built on (section 9), not whichever row comes first
    version = None
    if position.get("date_situation") is not None:
        versions = (list(tables.register_dates) if tables.register_dates is not None
                    else snapshot.register_versions(con))
        version = snapshot.register_version_at(versions, position["date_situation"])
    identity = _rows(
        con,
        f"""SELECT siren, denomination, sigle, categorie_juridique, adresse, code_postal, commune, departement,
                  date_creation, etat_administratif, procedure_collective, date_jugement, fichier, ligne
           FROM {snapshot.register_version_rows(version, "e", tables.register)} WHERE siren = ?""",
        [siren],
    )
    dept_filter = "" if departement is None else "AND l.departement = ?"
    params = [siren] if departement is None else [siren, departement]
    dettes = _rows(
        con,
        f"""SELECT l.*, r.methode AS rattachement
            FROM {tables.lignes_dettes} l
            LEFT JOIN {tables.rattachement} r
              ON l.source = 'amendes' AND r.departement = l.departement AND r.num_amende = l.reference
            WHERE l.siren = ? {dept_filter}
            ORDER BY {_NATURE_ORDER.format(natures="'ECHUE', 'A_ECHOIR', 'NON_VALEUR'")},
                     l.source, l.date_ligne, l.reference""",
        params,
    )
    creances = _rows(
        con,
        f"""SELECT l.* FROM {tables.lignes_creances} l WHERE l.siren = ? {dept_filter}
            ORDER BY {_NATURE_ORDER.format(natures="'CERTAINE', 'A_ECHOIR', 'POTENTIELLE'")},
                     l.source, l.date_ligne, l.reference""",
        params,
    )
    ident = identity[0] if identity else None
    return {
        "siren": siren,
        "departement": departement,
        "position": position,
        "identite": ident,
        "blocage": blocage(ident, position),
        "dettes": dettes,
        "creances": creances,
        "historique": load_history(con, siren, departement, tables),
        **load_v3_extras(con, siren, departement, rejected, tables),
        "fraicheur": _rows(con, f"SELECT departement, max(date_situation) AS date_situation FROM {tables.positions} "
                                "WHERE siren = ? GROUP BY ALL ORDER BY departement", [siren]),
        "synthetique": synthetic_data(con) if tables.synthetic is None else tables.synthetic,
    }


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, name]).fetchone()[0] > 0


def rejected_rows_sql(con: duckdb.DuckDBPyConnection, siren: str | None = None,
                      departement: str | None = None) -> str | None:
    """The rows rejected in the files of the latest snapshots, each with the company it belongs to (column
    `siren`), as a SQL relation (`siren`: that company's only); None when the warehouse has no rejects table.

    A rejected row's company is the one its key (`cle`) named in the latest earlier snapshot that kept it
    (`history.lignes`), or, for a register row, its SIREN: a debt whose row is rejected never vanishes silently
    from its company's page and sheet (issue 17, point 7). A row never seen before cannot be tied to a company
    and stays in the rejects export only. Only the keys of the current rejects are looked up in the history (or,
    for one company, only its lines), never the whole history grouped.
    """
    if not _table_exists(con, "quality.rejets"):
        return None
    # a department's sheet reads its own latest files (and their register) only: one snapshot looked up, not 101
    files = snapshot.current_files_sql(con, None if departement is None else [departement])
    current = f"""(SELECT r.* FROM quality.rejets r SEMI JOIN {files} f
                   ON f.source = r.source AND f.departement IS NOT DISTINCT FROM r.departement
                  AND f.date_extraction = r.date_extraction)"""
    known = ("(SELECT NULL::VARCHAR AS departement, NULL::VARCHAR AS source, NULL::VARCHAR AS cle, "
             "NULL::VARCHAR AS siren WHERE false)")
    if _table_exists(con, "history.lignes"):
        lines = ("history.lignes" if siren is None
                 else f"(SELECT * FROM history.lignes WHERE siren = '{_check_siren(siren)}')")
        known = f"""(SELECT l.departement, l.source, l.cle, arg_max(l.siren, l.date_situation) AS siren
                    FROM {lines} l SEMI JOIN {current} c
                      ON c.departement = l.departement AND c.source = l.source AND c.cle = l.cle
                    WHERE l.siren IS NOT NULL GROUP BY ALL)"""
    return f"""(SELECT r.source, r.departement, r.fichier, r.date_extraction, r.ligne, r.colonne, r.motif, r.message,
                   r.contenu, r.cle,
                   coalesce(k.siren, CASE WHEN r.source = '{snapshot.REGISTER}' THEN r.cle END) AS siren
            FROM {current} r
            LEFT JOIN {known} k ON k.departement = r.departement AND k.source = r.source AND k.cle = r.cle)"""


def load_v3_extras(con: duckdb.DuckDBPyConnection, siren: str, departement: str | None,
                   rejected: str | None = None, tables: SheetTables = WAREHOUSE_TABLES) -> dict[str, Any]:
    """What contract version 3 adds to a sheet: the claims to declare, the offsets a credit can make here or
    elsewhere, the company's rows rejected in the latest files (each list empty when its table is absent)."""
    scope, params = ("", [siren]) if departement is None else (" AND departement = ?", [siren, departement])
    out: dict[str, Any] = {"declarations": [], "compensations": [], "rejets": []}
    if tables.exists(con, WAREHOUSE_TABLES.declarations):
        out["declarations"] = _rows(con, f"""SELECT * FROM {tables.declarations} WHERE siren = ?{scope}
                                             ORDER BY departement, date_limite_declaration NULLS LAST, source,
                                                      fichier, ligne""", params)
    if tables.exists(con, WAREHOUSE_TABLES.compensations):
        # every row naming the company: the department holding the debt sees the credit held elsewhere
        out["compensations"] = _rows(con, f"SELECT * FROM {tables.compensations} WHERE siren = ? "
                                          "ORDER BY departement", [siren])
        if departement is not None:
            out["compensations"] = [c for c in out["compensations"] if c["departement"] == departement
                                    or departement in c["departements_dettes"].split(",")]
    if rejected is None:  # one sheet: its own rows only; many sheets pass the scope's rows computed once
        rejected = rejected_rows_sql(con, siren, departement)
    if rejected is not None:
        where = "siren = ?" + ("" if departement is None else " AND (departement = ? OR departement IS NULL)")
        out["rejets"] = _rows(con, f"SELECT * FROM {rejected} WHERE {where} ORDER BY departement, source, fichier, "
                                   "ligne", params)
    return out


HISTORY_POSITION_COLUMNS = ("date_situation", "departement", "total_dettes", "dettes_suspendues", "dettes_a_echoir",
                            "dettes_non_valeur", "total_creances", "montant_compensable", "passif_declare")
HISTORY_MOVEMENT_COLUMNS = ("departement", "date_debut", "date_fin", "source", "cle", "type", "montant")


def load_history(con: duckdb.DuckDBPyConnection, siren: str, departement: str | None,
                 tables: SheetTables = WAREHOUSE_TABLES) -> dict[str, Any] | None:
    """The company's position at each snapshot and its movements (SOURCES.md section 9), in the sheet's scope;
    None when the warehouse holds no history (the sheet then says so and shows the rest)."""
    wanted = (WAREHOUSE_TABLES.positions_historique, WAREHOUSE_TABLES.mouvements)
    if (not all(t in tables.present for t in wanted) if tables.present is not None
            else history_tables_missing(con, wanted)):
        return None
    where, params = ("siren = ?", [siren]) if departement is None else ("siren = ? AND departement = ?",
                                                                        [siren, departement])
    positions = _rows(con, f"SELECT {', '.join(HISTORY_POSITION_COLUMNS)} FROM {tables.positions_historique} "
                           f"WHERE {where} ORDER BY date_situation, departement", params)
    movements = _rows(con, f"SELECT {', '.join(HISTORY_MOVEMENT_COLUMNS)} FROM {tables.mouvements} WHERE {where} "
                           "ORDER BY date_fin, departement, source, cle, type", params)
    return {"positions": positions, "mouvements": movements}


_NATURE_ORDER = "coalesce(list_position([{natures}], l.nature), 99)"
"""Lines in the order an agent reads them: what counts first, what is owed apart next, settled lines last."""


def procedure_ouverte(identite: dict[str, Any] | None, date_situation: dt.date | None) -> bool:
    """Collective procedure opened on or before the as-of date (SOURCES.md section 6)."""
    if not identite or not identite.get("procedure_collective") or identite.get("date_jugement") is None:
        return False
    return date_situation is None or identite["date_jugement"] <= date_situation


def blocage(identite: dict[str, Any] | None, position: dict[str, Any]) -> str | None:
    """Why offsetting is blocked: ``PROCEDURE``, ``PASSIF`` or None (same rule as `legal.blocage_sql`)."""
    if procedure_ouverte(identite, position.get("date_situation")):
        return BLOCAGE_PROCEDURE
    if (position.get("passif_declare") or 0) > 0:
        return BLOCAGE_PASSIF
    return None
