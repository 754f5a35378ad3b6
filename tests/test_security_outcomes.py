"""Issue 20, finding 2: an outcome is accepted only for a line of that list, for that department, at the published
snapshot, with an amount within what the line allows; a refusal is answered in the form and audited with its SIREN.

The attacks of the review, through the real server: an outcome posted for a company that is not on the list
(elsewhere in the country, or in the department but on no such list), on a list with no line, and with an amount
of 9 999 999 999 999 999,99 €.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import requests
import sqlalchemy as sa

from onevision_dagster.app import csrf, outcomes, worklists
from onevision_dagster.app.publication import current_file
from onevision_dagster.app.store import open_store

from . import app_fixtures as fx
from .security_fixtures import published

AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}
AGENT_91 = {"X-Remote-User": "bob", "X-Remote-Groups": "onevision-departement-91"}


@pytest.fixture(scope="module")
def publication(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published(tmp_path_factory.mktemp("suites"))


@pytest.fixture
def app(tmp_path: Path, publication: Path):
    settings = fx.app_settings(tmp_path, publication)
    with fx.running_app(settings) as base:
        yield base, open_store(settings.database_url)


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).replace("\u00a0", " ")


def _session(base: str, headers: dict, liste: str = "compensations", dept: str = "17"
             ) -> tuple[requests.Session, str, str]:
    s = requests.Session()
    s.headers.update(headers)
    url = f"{base}/departements/{dept}/listes/{liste}"
    page = s.get(url)
    assert page.status_code == 200
    # the form's token, as the page would carry it (an empty list shows no form): key of fx.app_settings
    token = csrf.token(b"k" * 32, s.cookies[csrf.COOKIE], headers["X-Remote-User"])
    assert not re.search(r'name="jeton"', page.text) or token in page.text
    return s, url, token


def _rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def test_outcomes_outside_the_list_or_above_the_line_are_refused_in_the_form(app) -> None:
    base, engine = app
    s, url, token = _session(base, AGENT_17)

    def post(siren: str, **fields: str) -> requests.Response:
        return s.post(url + "/resultats", data={"jeton": token, "siren": siren, "resultat": "FAIT", **fields},
                      allow_redirects=False)

    # a company of department 91 only; a company of 17 in recovery proceedings, on no offset list
    elsewhere = post(fx.SOLAIRE, montant="10")
    assert elsewhere.status_code == 403
    assert f"Suite refusée : l'entreprise {fx.SOLAIRE} n'est pas sur la liste « Compensations à examiner » du " \
           "département 17 publiée." in _text(elsewhere.text)
    assert "SOLAIRE" not in elsewhere.text  # the refusal tells nothing about the company
    not_listed = post(fx.ECURIES)
    assert not_listed.status_code == 403 and "n'est pas sur la liste" in _text(not_listed.text)
    # the bakery's line allows 800,00 € (montant_compensable): the review's amount, then one cent too many
    huge = post(fx.BAKERY, montant="9999999999999999,99", commentaire="essai")
    assert huge.status_code == 403
    text = _text(huge.text)
    assert (f"Montant obtenu refusé : 9 999 999 999 999 999,99 € dépasse ce que la ligne de l'entreprise {fx.BAKERY} "
            "permet sur cette liste (800,00 €).") in text
    # answered inline: the list is shown again, the form of that row keeps what was typed
    assert "BOULANGERIE DU PORT" in text and 'value="9999999999999999,99"' in huge.text
    assert ">essai</textarea>" in huge.text
    assert post(fx.BAKERY, montant="800,01").status_code == 403
    assert _rows(engine, "SELECT count(*) FROM resultats") == [(0,)]
    ok = post(fx.BAKERY, montant="800,00", commentaire="Compensation notifiée le 2 décembre")
    assert ok.status_code == 303
    assert _rows(engine, "SELECT siren, montant_obtenu_centimes, commentaire FROM resultats") == [
        (fx.BAKERY, 80000, "Compensation notifiée le 2 décembre")]
    # each refusal is audited with the SIREN it targeted
    assert _rows(engine, "SELECT objet, statut_http FROM audit WHERE action = 'RESULTAT' ORDER BY id") == [
        (f"17/compensations/{fx.SOLAIRE}", 403), (f"17/compensations/{fx.ECURIES}", 403),
        (f"17/compensations/{fx.BAKERY}", 403), (f"17/compensations/{fx.BAKERY}", 403),
        (f"17/compensations/{fx.BAKERY}", 303)]


def test_a_form_refused_for_its_token_is_audited_with_its_siren(app) -> None:
    base, engine = app
    s, url, _ = _session(base, AGENT_17)
    refused = s.post(url + "/resultats", data={"jeton": "0" * 64, "siren": fx.SOLAIRE, "resultat": "FAIT"},
                     allow_redirects=False)
    assert refused.status_code == 400
    assert _rows(engine, "SELECT objet, statut_http FROM audit WHERE action = 'RESULTAT'") == [
        (f"17/compensations/{fx.SOLAIRE}", 400)]


def test_an_outcome_on_an_empty_list_is_refused(app, publication: Path) -> None:
    base, engine = app
    with duckdb.connect(str(current_file(publication)), read_only=True) as con:
        assert worklists.page(con, worklists.LISTS["procedures"], "91").total == 0
    s, url, token = _session(base, AGENT_91, "procedures", "91")
    r = s.post(url + "/resultats", data={"jeton": token, "siren": fx.TRANSPORTS, "resultat": "FAIT", "montant": "1"},
               allow_redirects=False)
    assert r.status_code == 403 and "n'est pas sur la liste « Procédures collectives » du département 91" in _text(
        r.text)
    assert _rows(engine, "SELECT count(*) FROM resultats") == [(0,)]


def test_no_outcome_is_preselected_and_a_comment_can_be_written(app) -> None:
    base, _ = app
    s, url, _ = _session(base, AGENT_17)
    page = s.get(url).text
    selects = re.findall(r'<select name="resultat"[^>]*>(.*?)</select>', page)
    assert len(selects) == 2  # one form per line of the list
    for options in selects:
        assert options.startswith('<option value="">') and "selected" not in options
    assert page.count('<textarea name="commentaire" maxlength="500"') == 2


def test_line_ceilings_per_list(publication: Path) -> None:
    """What each list allows, read from the published copy (figures of app_fixtures)."""
    with duckdb.connect(str(current_file(publication)), read_only=True) as con:
        done = outcomes.Outcome("FAIT", None, Decimal("3000.00"))
        outcomes.check_target(con, worklists.LISTS["compensations"], "17", fx.TRANSPORTS, done)
        with pytest.raises(outcomes.OutcomeRefused, match=r"\(3\u00a0000,00\u00a0€\)"):
            outcomes.check_target(con, worklists.LISTS["compensations"], "17", fx.TRANSPORTS,
                                  outcomes.Outcome("FAIT", None, Decimal("3000.01")))
        with pytest.raises(outcomes.OutcomeRefused, match="pas encore publiée"):
            outcomes.check_target(con, worklists.LISTS["remboursements"], "17", fx.BAKERY, done)
    with pytest.raises(outcomes.InvalidOutcome, match="contrôle"):
        outcomes.parse_comment("ligne\x1b[31m")
    assert outcomes.parse_comment("  a\r\nb ") == "a\nb"
