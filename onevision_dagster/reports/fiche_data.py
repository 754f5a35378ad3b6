"""What a company sheet reads: one SIREN's position, register identity, every line and its history, and the top
list.

Raises `PositionIntrouvable` (a `ValueError`, French message) when there is
nothing to show, so the command line can say so in one sentence.
"""

from __future__ import annotations

import datetime as dt
import re
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
               rejected: str | None = None) -> dict[str, Any]:
    """Identity, position and lines of one company (raises `PositionIntrouvable`)."""
    siren = _check_siren(siren)
    check_departement(departement)
    if departement is None:
        positions = _rows(con, "SELECT * FROM marts.positions_nationales WHERE siren = ?", [siren])
    else:
        positions = _rows(
            con, "SELECT * FROM marts.positions WHERE siren = ? AND departement = ?", [siren, departement]
        )
    if not positions:
        raise PositionIntrouvable(siren, departement)
    position = positions[0]
    # the register version the position was built on (section 9), not whichever row comes first
    version = None
    if position.get("date_situation") is not None:
        version = snapshot.register_version_at(snapshot.register_versions(con), position["date_situation"])
    identity = _rows(
        con,
        f"""SELECT siren, denomination, sigle, categorie_juridique, adresse, code_postal, commune, departement,
                  date_creation, etat_administratif, procedure_collective, date_jugement, fichier, ligne
           FROM {snapshot.register_version_rows(version, "e")} WHERE siren = ?""",
        [siren],
    )
    dept_filter = "" if departement is None else "AND l.departement = ?"
    params = [siren] if departement is None else [siren, departement]
    dettes = _rows(
        con,
        f"""SELECT l.*, r.methode AS rattachement
            FROM core.lignes_dettes l
            LEFT JOIN core.rattachement_amendes r
              ON l.source = 'amendes' AND r.departement = l.departement AND r.num_amende = l.reference
            WHERE l.siren = ? {dept_filter}
            ORDER BY {_NATURE_ORDER.format(natures="'ECHUE', 'A_ECHOIR', 'NON_VALEUR'")},
                     l.source, l.date_ligne, l.reference""",
        params,
    )
    creances = _rows(
        con,
        f"""SELECT l.* FROM core.lignes_creances l WHERE l.siren = ? {dept_filter}
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
        "historique": load_history(con, siren, departement),
        **load_v3_extras(con, siren, departement, rejected),
        "fraicheur": _rows(con, "SELECT departement, max(date_situation) AS date_situation FROM marts.positions "
                                "WHERE siren = ? GROUP BY ALL ORDER BY departement", [siren]),
        "synthetique": synthetic_data(con),
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
                   rejected: str | None = None) -> dict[str, Any]:
    """What contract version 3 adds to a sheet: the claims to declare, the offsets a credit can make here or
    elsewhere, the company's rows rejected in the latest files (each list empty when its table is absent)."""
    scope, params = ("", [siren]) if departement is None else (" AND departement = ?", [siren, departement])
    out: dict[str, Any] = {"declarations": [], "compensations": [], "rejets": []}
    if _table_exists(con, "marts.declarations"):
        out["declarations"] = _rows(con, f"""SELECT * FROM marts.declarations WHERE siren = ?{scope}
                                             ORDER BY departement, date_limite_declaration NULLS LAST, source,
                                                      fichier, ligne""", params)
    if _table_exists(con, "marts.compensations"):
        # every row naming the company: the department holding the debt sees the credit held elsewhere
        out["compensations"] = _rows(con, "SELECT * FROM marts.compensations WHERE siren = ? ORDER BY departement",
                                     [siren])
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


def load_history(con: duckdb.DuckDBPyConnection, siren: str, departement: str | None) -> dict[str, Any] | None:
    """The company's position at each snapshot and its movements (SOURCES.md section 9), in the sheet's scope;
    None when the warehouse holds no history (the sheet then says so and shows the rest)."""
    if history_tables_missing(con, ("history.positions_historique", "history.mouvements")):
        return None
    where, params = ("siren = ?", [siren]) if departement is None else ("siren = ? AND departement = ?",
                                                                        [siren, departement])
    positions = _rows(con, f"SELECT {', '.join(HISTORY_POSITION_COLUMNS)} FROM history.positions_historique "
                           f"WHERE {where} ORDER BY date_situation, departement", params)
    movements = _rows(con, f"SELECT {', '.join(HISTORY_MOVEMENT_COLUMNS)} FROM history.mouvements WHERE {where} "
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
