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
from onevision_dagster.reports.legal import debt_line_situation

FIGURES: tuple[tuple[str, str], ...] = (
    ("dettes_amendes", "Amendes échues"),
    ("dettes_spl", "Produits locaux échus"),
    ("dettes_impots_pro", "Impôts professionnels échus"),
    ("dettes_rnf", "Recettes non fiscales échues"),
    ("total_dettes", "Total des dettes échues"),
    ("dettes_suspendues", "dont suspendues (motif sur chaque ligne)"),
    ("dettes_poursuivables", "dont poursuivables (non suspendues d'après les données)"),
    ("dettes_a_echoir", "Impôts à échoir (pas encore échus, hors total)"),
    ("dettes_non_valeur", "Amendes admises en non-valeur (hors total, non éteintes)"),
    ("creances_tva", "Crédits de TVA accordés"),
    ("creances_excedents", "Excédents à restituer"),
    ("creances_is", "Créances d'IS remboursables"),
    ("total_creances", "Total des créances certaines et dues"),
    ("creances_a_echoir", "Créances d'IS remboursables plus tard (hors total)"),
    ("creances_potentielles", "Créances potentielles (en instruction, hors total)"),
    ("dettes_compensables", "Impôts compensables (échus et poursuivables, art. L. 257 B LPF)"),
    ("montant_compensable", "Montant compensable"),
    ("passif_declare", "Passif déclaré (procédure collective)"),
)
"""Money figures of a position, in the order and words of the page (contract section 8: no balance)."""
TOTALS = ("total_dettes", "total_creances", "montant_compensable")


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
    compensations: list[dict[str, Any]] = field(default_factory=list)
    declarations: list[dict[str, Any]] = field(default_factory=list)
    rejets: list[dict[str, Any]] = field(default_factory=list)
    compensation_anterieure: bool = False


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                       "AND table_name = ?", [table]).fetchone()[0] > 0


def load(con: duckdb.DuckDBPyConnection, siren: str) -> CompanyPage | None:
    identity = _rows(con, """SELECT siren, denomination, sigle, adresse, code_postal, commune, categorie_juridique,
                                    etat_administratif, departements, procedure_collective, date_jugement
                             FROM recherche WHERE siren = ?""", [siren])
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
    if has_table(con, "compensations"):
        # every row naming this company: its credits in one department against its taxes here or elsewhere
        page.compensations = _rows(con, f"SELECT {model.column_list(model.COMPENSATIONS)} FROM compensations "
                                        "WHERE siren = ? ORDER BY departement", [siren])
    if has_table(con, "declarations"):
        page.declarations = _rows(con, f"SELECT {model.column_list(model.DECLARATIONS)} FROM declarations "
                                       "WHERE siren = ? ORDER BY departement, date_limite_declaration NULLS LAST, "
                                       "source, fichier, ligne", [siren])
    if has_table(con, "rejets_entreprises"):
        page.rejets = _rows(con, """SELECT source, departement, fichier, ligne, colonne, motif, message, contenu
                                    FROM rejets_entreprises WHERE siren = ? ORDER BY departement, source, fichier,
                                    ligne""", [siren])
    judgment = page.identite["date_jugement"]
    if page.nationale is not None:
        page.statut_national = offsetting.status(page.nationale, judgment)
    page.statuts_departements = {p["departement"]: offsetting.status(p, judgment) for p in departements}
    for c in page.compensations:  # this department's credits can pay the company's taxes in another department
        here = page.statuts_departements.get(c["departement"])
        if here is not None and not here.blocked and here.code != offsetting.POSSIBLE and c["montant_compensable"] > 0:
            page.statuts_departements[c["departement"]] = offsetting.elsewhere_status(c)
    # departments whose taxes a credit of the company can pay (its own position, or credits held elsewhere)
    offsettable = {p["departement"] for p in departements if (p["montant_compensable"] or 0) > 0}
    offsettable |= {d for c in page.compensations for d in c["departements_dettes"].split(",")}
    for line in dettes:
        blocked = page.statuts_departements.get(line["departement"])
        line["compensation"] = offsetting.debt_line_label(
            line, line["departement"] in offsettable, blocked.title if blocked and blocked.code in (
                offsetting.BLOQUEE_PROCEDURE, offsetting.BLOQUEE_PASSIF) else None)
        line["situation"] = debt_line_situation(line)
    for line in creances:
        line["compensation"] = offsetting.credit_line_label(line)
    as_of = page.nationale["date_situation"] if page.nationale else None
    page.compensation_anterieure = offsetting.offset_before_judgment(dettes, creances, judgment,
                                                                     page.identite["procedure_collective"], as_of)
    return page
