"""Search over the nation: by SIREN, SIRET, VAT number, name or town, filtered by the user's rights in SQL.

What the agent types is read as, in order: a SIREN (9 digits, spaces allowed), a SIRET (14 digits: its
SIREN), an intra-EU VAT number (`FR` + key + SIREN: its SIREN) — each checked with the contract's rules, a
number with a wrong key is said to be invalid, never "corrected" — or else words. Words go through the same
normalisation as fine attachment (contract section 5: case, accents, punctuation and legal-form words
ignored) and every word must begin a word of the company's name, acronym, town or postal code.

The rights filter runs inside the query, before counting and paging: the total and the pages only ever
count companies the user may open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from onevision_dagster.app.identity import User
from onevision_dagster.app.rights import visible_filter
from onevision_dagster.consolidate.matching import normalise_names
from onevision_dagster.contract.identifiers import valid_siren, valid_siret, valid_vat

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8
RESULT_COLUMNS = ("siren", "denomination", "sigle", "code_postal", "commune", "departements", "total_dettes",
                  "montant_compensable", "procedure_collective")


@dataclass(frozen=True)
class Query:
    text: str
    kind: str  # "vide", "siren", "mots", "invalide"
    siren: str | None = None
    words: tuple[str, ...] = ()
    message: str = ""
    normalised: str = ""


@dataclass(frozen=True)
class SearchResult:
    query: Query
    total: int
    page: int
    pages: int
    rows: list[dict[str, Any]]


def _one(check, value: str) -> bool:
    return bool(check(pa.array([value], pa.string()))[0])


def parse_query(text: str) -> Query:
    text = (text or "").strip()[:MAX_QUERY_LENGTH]
    if not text:
        return Query(text, "vide")
    compact = re.sub(r"[\s.\-]", "", text).upper()
    if re.fullmatch(r"\d{9}", compact):
        if _one(valid_siren, compact):
            return Query(text, "siren", siren=compact)
        return Query(text, "invalide", message=f"« {text} » n'est pas un SIREN valide (clé de contrôle fausse).")
    if re.fullmatch(r"\d{14}", compact):
        if _one(valid_siret, compact):
            return Query(text, "siren", siren=compact[:9])
        return Query(text, "invalide", message=f"« {text} » n'est pas un SIRET valide (clé de contrôle fausse).")
    if re.fullmatch(r"FR[0-9A-Z]{2}\d{9}", compact):
        if _one(valid_vat, compact):
            return Query(text, "siren", siren=compact[4:])
        return Query(text, "invalide", message=f"« {text} » n'est pas un numéro de TVA intracommunautaire valide.")
    normalised = normalise_names(pa.array([text], pa.string()))[0].as_py() or ""
    words = tuple(dict.fromkeys(normalised.split()))[:MAX_WORDS]
    if not words:
        return Query(text, "invalide", message="Saisissez un SIREN, un SIRET, un numéro de TVA, un nom ou une "
                     "commune (les formes juridiques seules, comme « SARL », ne suffisent pas).")
    return Query(text, "mots", words=words, normalised=" ".join(words))


def search(con: duckdb.DuckDBPyConnection, user: User, text: str, page: int = 1, page_size: int = 25
           ) -> SearchResult:
    query = parse_query(text)
    page = max(1, page)
    if query.kind in ("vide", "invalide"):
        return SearchResult(query, 0, 1, 0, [])
    rights, params = visible_filter(user, "liste_departements")
    if query.kind == "siren":
        where, where_params, order, order_params = "siren = ?", [query.siren], "siren", []
    else:
        where = " AND ".join("contains(' ' || cle, ?)" for _ in query.words)
        where_params = [" " + w for w in query.words]
        order = """CASE WHEN nom_normalise = ? THEN 0 WHEN sigle_normalise = ? THEN 1
                        WHEN starts_with(nom_normalise, ?) THEN 2 WHEN commune_normalise = ? THEN 3 ELSE 4 END,
                   denomination, siren"""
        order_params = [query.normalised] * 4
    base = f"FROM recherche WHERE {rights} AND {where}"
    total = con.execute(f"SELECT count(*) {base}", [*params, *where_params]).fetchone()[0]
    pages = max(1, -(-total // page_size))
    page = min(page, pages)
    cur = con.execute(
        f"SELECT {', '.join(RESULT_COLUMNS)} {base} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, *where_params, *order_params, page_size, (page - 1) * page_size])
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return SearchResult(query, int(total), page, pages, rows)
