"""Search (issue 12, point 2): identifiers, names as in contract section 5, towns; filtered by rights in SQL."""

from __future__ import annotations

import duckdb
import pytest

from onevision_dagster.app.identity import user_from_headers
from onevision_dagster.app.publication import current_file, publish
from onevision_dagster.app.search import parse_query, search
from onevision_dagster.contract.identifiers import first_siret

from . import app_fixtures as fx


def vat_of(siren: str) -> str:
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def _user(*groups: str):
    return user_from_headers({"u": "agent", "g": ",".join(groups)}, "u", "g")


AGENT_17 = _user("onevision-departement-17")
AGENT_91 = _user("onevision-departement-91")
NATIONAL = _user("onevision-national")
NOBODY = _user("onevision-operateurs")


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("recherche")
    warehouse = fx.build_warehouse(root / "w.duckdb")
    with duckdb.connect(str(warehouse)) as w:
        publish(w, root / "publication")
    with duckdb.connect(str(current_file(root / "publication")), read_only=True) as c:
        yield c


def _sirens(con, user, text: str, page: int = 1, size: int = 25) -> list[str]:
    return [r["siren"] for r in search(con, user, text, page, size).rows]


def test_identifiers_are_read_as_their_siren() -> None:
    assert parse_query("812 345 676").siren == fx.BAKERY
    assert parse_query("812.345.676").siren == fx.BAKERY
    siret = first_siret(fx.BAKERY)
    assert parse_query(siret).siren == fx.BAKERY
    assert parse_query(f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}").siren == fx.BAKERY
    assert parse_query(vat_of(fx.BAKERY)).siren == fx.BAKERY
    assert parse_query(vat_of(fx.BAKERY).lower()).siren == fx.BAKERY
    # a wrong key is said, never "corrected"
    assert parse_query("812345677").kind == "invalide"
    assert parse_query(siret[:-1] + str((int(siret[-1]) + 1) % 10)).kind == "invalide"
    bad_vat = vat_of(fx.BAKERY)
    assert parse_query(bad_vat[:2] + f"{(int(bad_vat[2:4]) + 1) % 97:02d}" + bad_vat[4:]).kind == "invalide"


def test_names_are_normalised_as_in_section_5() -> None:
    q = parse_query("  Sarl écuries de l'Île-de-Ré ")
    assert q.kind == "mots"
    assert q.words == ("ECURIES", "DE", "L", "ILE", "RE")
    assert q.normalised == "ECURIES DE L ILE RE"  # repeated words once; SARL dropped; accents, case, punctuation
    assert parse_query("SARL").kind == "invalide"  # only a legal-form word: nothing to look for
    assert parse_query("").kind == "vide"


@pytest.mark.parametrize("text, expected", [
    ("812 345 676", [fx.BAKERY]),
    ("boulangerie du PORT", [fx.BAKERY]),
    ("SARL Boulangerie-du-port", [fx.BAKERY]),
    ("ecuries de l'ile de re", [fx.ECURIES]),
    ("omo", [fx.OYSTERS]),
    ("marennes", [fx.OYSTERS]),
    ("la rochelle", [fx.BAKERY]),  # the shipping company of La Rochelle is positioned in 95 only
    ("17300", [fx.GARAGE]),
    ("transp charent", [fx.TRANSPORTS]),  # words are prefixes of the name's words
    ("atlantique", []),
    ("ecuries de", [fx.ECURIES]),  # a two-letter word is a whole word...
    ("bo", []),  # ...never a prefix (it would match half the country)
    ("173", [fx.GARAGE, fx.OYSTERS]),  # digits are prefixes: postal codes 17300, 17320
])
def test_agent_of_17_finds_only_companies_of_17(con, text: str, expected: list[str]) -> None:
    assert _sirens(con, AGENT_17, text) == expected


def test_identifier_search_goes_through_the_same_rights(con) -> None:
    for text in (fx.SOLAIRE, first_siret(fx.SOLAIRE), vat_of(fx.SOLAIRE)):
        assert _sirens(con, AGENT_17, text) == []
        assert _sirens(con, AGENT_91, text) == [fx.SOLAIRE]
        assert _sirens(con, NATIONAL, text) == [fx.SOLAIRE]
    assert _sirens(con, AGENT_17, first_siret(fx.BAKERY)) == [fx.BAKERY]
    assert _sirens(con, AGENT_17, vat_of(fx.BAKERY)) == [fx.BAKERY]


def test_national_sees_everything_and_results_carry_national_figures(con) -> None:
    result = search(con, NATIONAL, "la rochelle")
    assert [r["siren"] for r in result.rows] == [fx.SHIPPING, fx.BAKERY]  # then by name
    transports = search(con, AGENT_91, "transports").rows[0]
    # an agent of 91 sees the company through its position in 91, with the national figures (17 + 91)
    assert transports["departements"] == "17,91"
    assert str(transports["total_dettes"]) == "9010.30"
    assert str(transports["montant_compensable"]) == "3000.00"


def test_counts_and_pages_only_count_visible_companies(con) -> None:
    # "17" begins the postal codes 17000, 17180, 17300, 17320, 17410: six companies in the nation
    national = search(con, NATIONAL, "17", 1, 2)
    assert (national.total, national.pages) == (6, 3)
    pages = [r["siren"] for p in (1, 2, 3) for r in search(con, NATIONAL, "17", p, 2).rows]
    assert sorted(pages) == sorted([fx.BAKERY, fx.TRANSPORTS, fx.ECURIES, fx.OYSTERS, fx.GARAGE, fx.SHIPPING])
    agent91 = search(con, AGENT_91, "17", 1, 2)
    assert (agent91.total, agent91.pages) == (2, 1)  # transports and garage: positioned in 91 too
    assert {r["siren"] for r in agent91.rows} == {fx.TRANSPORTS, fx.GARAGE}
    assert search(con, NOBODY, "17").total == 0


def test_exact_name_or_acronym_comes_first_then_name_order(con) -> None:
    # "TC" is the transports company's acronym: first, although "TC" begins no name
    # name order (normalised): ATLANTIC, BOULANGERIE, ECURIES, GARAGE, OSTREICULTURE, TRANSPORTS
    assert _sirens(con, NATIONAL, "17") == [fx.SHIPPING, fx.BAKERY, fx.ECURIES, fx.GARAGE, fx.OYSTERS,
                                            fx.TRANSPORTS]
    assert _sirens(con, NATIONAL, "tc") == [fx.TRANSPORTS]
    assert _sirens(con, NATIONAL, "omo") == [fx.OYSTERS]
    result = search(con, NATIONAL, "17", 2, 2)
    assert [r["siren"] for r in result.rows] == [fx.ECURIES, fx.GARAGE]  # page 2
    beyond = search(con, NATIONAL, "17", 9, 2)  # beyond the last page: the last page
    assert (beyond.page, [r["siren"] for r in beyond.rows]) == (3, [fx.OYSTERS, fx.TRANSPORTS])


def test_sql_injection_is_just_words(con) -> None:
    assert search(con, NATIONAL, "x' OR 1=1 --").total == 0
    percent = search(con, NATIONAL, "%")
    assert (percent.query.kind, percent.total) == ("invalide", 0)
