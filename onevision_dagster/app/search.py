"""Search over the nation: by SIREN, SIRET, VAT number, name or town, filtered by the user's rights in SQL.

What the agent types is read as, in order: a SIREN (9 digits, spaces allowed), a SIRET (14 digits: its
SIREN), an intra-EU VAT number (`FR` + key + SIREN: its SIREN) — each checked with the contract's rules, a
number with a wrong key is said to be invalid, never "corrected" — or else words. Words go through the same
normalisation as fine attachment (contract section 5: case, accents, punctuation and legal-form words
ignored) and every word must begin a word of the company's name, acronym, town or postal code (words of
one or two letters must be whole words).

The rights filter runs inside the query, before counting and paging: the total and the pages only ever
count companies the user may open. Words are looked up in the publication's word index (`mots`, sorted by
word), rarest word first; see `publication._search_index`.
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


WORD_END = "\U0010ffff"  # sorts after every character (UTF-8 byte order): [w, w + WORD_END) = words starting with w
EXACT_MAX_LENGTH = 2
"""Query words of one or two letters (`DU`, `L`, `SA`...) must be whole words: as prefixes they would match
a large part of the country and say nothing. Digits stay prefixes (`17` finds the postal codes 17xxx)."""


def _word_filter(word: str) -> tuple[str, list[object]]:
    if len(word) <= EXACT_MAX_LENGTH and not word.isdigit():
        return "mot = ?", [word]
    return "mot >= ? AND mot < ?", [word, word + WORD_END]


def _matching(con: duckdb.DuckDBPyConnection, user: User, words: tuple[str, ...]) -> tuple[str, list[object]]:
    """SQL of the visible companies (siren, ordre) having every word, starting from the rarest word."""
    counts = [con.execute(f"SELECT count(*) FROM mots WHERE {_word_filter(w)[0]}", _word_filter(w)[1]).fetchone()[0]
              for w in words]
    order = sorted(range(len(words)), key=counts.__getitem__)
    rights, params = visible_filter(user, "liste_departements")
    first, first_params = _word_filter(words[order[0]])
    sql = f"SELECT siren, ordre FROM mots WHERE {first} AND {rights}"
    params = [*first_params, *params]
    for i in order[1:]:
        condition, more = _word_filter(words[i])
        sql = f"SELECT * FROM ({sql}) SEMI JOIN (SELECT siren FROM mots WHERE {condition}) USING (siren)"
        params += more
    return sql, params


def _result_rows(con: duckdb.DuckDBPyConnection, sirens: list[str]) -> list[dict[str, Any]]:
    if not sirens:
        return []
    cur = con.execute(f"SELECT {', '.join(RESULT_COLUMNS)} FROM recherche WHERE siren IN (SELECT unnest(?))",
                      [sirens])
    names = [d[0] for d in cur.description]
    found = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    return [found[s] for s in sirens if s in found]


def search(con: duckdb.DuckDBPyConnection, user: User, text: str, page: int = 1, page_size: int = 25
           ) -> SearchResult:
    query = parse_query(text)
    page = max(1, page)
    if query.kind in ("vide", "invalide") or not user.has_rights:
        return SearchResult(query, 0, 1, 0, [])
    if query.kind == "siren":
        rights, params = visible_filter(user, "liste_departements")
        rows = _result_rows(con, [r[0] for r in con.execute(
            f"SELECT siren FROM recherche WHERE siren = ? AND {rights}", [query.siren, *params]).fetchall()])
        return SearchResult(query, len(rows), 1, 1, rows)
    matching, params = _matching(con, user, query.words)
    # exact name or acronym first, then name order
    ranked = f"""SELECT siren, count(*) OVER () AS total FROM ({matching})
                 ORDER BY siren IN (SELECT siren FROM noms WHERE nom = ?) DESC, ordre LIMIT ? OFFSET ?"""
    found = con.execute(ranked, [*params, query.normalised, page_size, (page - 1) * page_size]).fetchall()
    if not found and page > 1:  # beyond the last page: show the last one
        total = con.execute(f"SELECT count(*) FROM ({matching})", params).fetchone()[0]
        return search(con, user, text, max(1, -(-total // page_size)), page_size) if total else \
            SearchResult(query, 0, 1, 1, [])
    total = found[0][1] if found else 0
    return SearchResult(query, int(total), page, max(1, -(-total // page_size)),
                        _result_rows(con, [r[0] for r in found]))
