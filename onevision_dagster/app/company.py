"""Everything the company page shows, read from the published copy by SIREN (its tables are sorted by SIREN).

The national position and every department's, every debt and credit line with its source file and physical
line, the register's procedure and judgment date, and the earlier snapshots when the history is published.
Rights are checked before this is called (`rights.may_open`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from onevision_dagster.app import model, offsetting

FIGURES: tuple[tuple[str, str], ...] = (
    ("dettes_amendes", "Amendes"),
    ("dettes_spl", "Produits locaux"),
    ("dettes_impots_pro", "Impôts professionnels"),
    ("dettes_rnf", "Recettes non fiscales"),
    ("total_dettes", "Total des dettes exigibles"),
    ("dettes_a_echoir", "Impôts à échoir (pas encore exigibles)"),
    ("dettes_non_valeur", "Amendes admises en non-valeur"),
    ("creances_tva", "Crédits de TVA accordés"),
    ("creances_excedents", "Excédents à restituer"),
    ("creances_is", "Créances d'IS remboursables"),
    ("total_creances", "Total des créances certaines et exigibles"),
    ("creances_a_echoir", "Créances d'IS remboursables plus tard"),
    ("creances_potentielles", "Créances potentielles (en instruction)"),
    ("solde", "Solde (créances − dettes)"),
    ("dettes_compensables", "Dettes compensables (impôts exigibles sans sursis)"),
    ("montant_compensable", "Montant compensable"),
    ("passif_declare", "Passif déclaré (procédure collective)"),
)
"""Money figures of a position, in the order and words of the page."""


@dataclass
class CompanyPage:
    siren: str
    identite: dict[str, Any]
    nationale: dict[str, Any] | None
    departements: list[dict[str, Any]]
    dettes: list[dict[str, Any]]
    creances: list[dict[str, Any]]
    historique: list[dict[str, Any]] | None
    statut_national: offsetting.OffsettingStatus | None = None
    statuts_departements: dict[str, offsetting.OffsettingStatus] = field(default_factory=dict)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                       "AND table_name = ?", [table]).fetchone()[0] > 0


def load(con: duckdb.DuckDBPyConnection, siren: str) -> CompanyPage | None:
    identity = _rows(con, """SELECT siren, denomination, sigle, code_postal, commune, departements,
                                    procedure_collective, date_jugement FROM recherche WHERE siren = ?""", [siren])
    if not identity:
        return None
    national = _rows(con, f"SELECT {model.column_list(model.POSITIONS_NATIONALES)} FROM positions_nationales "
                          "WHERE siren = ?", [siren])
    departements = _rows(con, f"SELECT {model.column_list(model.POSITIONS)} FROM positions WHERE siren = ? "
                              "ORDER BY departement", [siren])
    lines = model.column_list(model.LIGNES)
    dettes = _rows(con, f"SELECT {lines} FROM lignes_dettes WHERE siren = ? "
                        "ORDER BY departement, source, date_ligne, fichier, ligne", [siren])
    creances = _rows(con, f"SELECT {lines} FROM lignes_creances WHERE siren = ? "
                          "ORDER BY departement, source, date_ligne, fichier, ligne", [siren])
    history = None
    if has_table(con, "positions_historique"):
        history = _rows(con, """SELECT departement, date_situation, total_dettes, total_creances,
                                       montant_compensable, passif_declare, procedure_collective
                                FROM positions_historique WHERE siren = ?
                                ORDER BY date_situation DESC, departement""", [siren])
    page = CompanyPage(siren, identity[0], national[0] if national else None, departements, dettes, creances,
                       history)
    judgment = page.identite["date_jugement"]
    if page.nationale is not None:
        page.statut_national = offsetting.status(page.nationale, judgment)
    page.statuts_departements = {p["departement"]: offsetting.status(p, judgment) for p in departements}
    for line in dettes:
        line["compensation"] = offsetting.debt_line_label(line)
    for line in creances:
        line["compensation"] = offsetting.credit_line_label(line)
    return page
