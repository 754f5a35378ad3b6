"""Worklists (issue 12, point 4), their CSV export, the outcome statistics and the audit (point 6)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import requests
import sqlalchemy as sa

from onevision_dagster.app import audit, freshness, outcomes, worklists
from onevision_dagster.app.publication import current_file, publish
from onevision_dagster.app.store import open_store
from onevision_dagster.reports.labels import source_label

from . import app_fixtures as fx

AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}


def _published(root: Path, history: bool = False) -> Path:
    warehouse = fx.build_warehouse(root / "w.duckdb")
    if history:
        fx.add_history(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        publish(con, root / "publication")
    return root / "publication"


@pytest.fixture(scope="module")
def publication(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _published(tmp_path_factory.mktemp("listes"))


@pytest.fixture(scope="module")
def con(publication: Path):
    with duckdb.connect(str(current_file(publication)), read_only=True) as c:
        yield c


def _rows(con, key: str, dept: str = "17", sort: str | None = None, descending: bool | None = None) -> list[tuple]:
    wl = worklists.LISTS[key]
    page = worklists.page(con, wl, dept, sort, descending)
    return [tuple(str(r[c.name]) if r[c.name] is not None else None for c in wl.columns) for r in page.rows]


def test_offsets_to_review(con) -> None:
    # 17 holds the credits: the bakery's 800 can pay its taxes in 17 (2 000) and in 95 (450), one row per
    # department holding credits (contract section 6, `compensations`)
    assert _rows(con, "compensations") == [
        (fx.TRANSPORTS, "TRANSPORTS CHARENTAIS", "PERIGNY", "3000.00", "7385.30", "0.00", "3000.00", "17"),
        (fx.BAKERY, "BOULANGERIE DU PORT", "LA ROCHELLE", "800.00", "2000.00", "450.00", "800.00", "17,95"),
    ]
    by_name = [r[0] for r in _rows(con, "compensations", sort="denomination", descending=False)]
    assert by_name == [fx.BAKERY, fx.TRANSPORTS]
    assert [r[0] for r in _rows(con, "compensations", sort="siren; DROP TABLE positions")] == [fx.TRANSPORTS,
                                                                                             fx.BAKERY]
    assert _rows(con, "compensations", "91") == []  # nothing to offset in 91
    assert _rows(con, "compensations", "95") == [  # the bakery's tax in 95 is on 17's list, not 95's
        (fx.SHIPPING, "ATLANTIC SHIPPING LIMITED", "LA ROCHELLE", "2500.00", "8000.00", "0.00", "2500.00", "95")]


def test_claims_to_declare_most_urgent_first_and_those_to_qualify_apart(con) -> None:
    rows = _rows(con, "declarations")
    # ÉCURIES (BODACC 25/06/2026): deadline 25/08/2026 passed, relief possible until 28/12/2026 (25/12 is a
    # holiday, 26-27 a week-end): that is the next deadline; the spl title is declared by the local body's
    # accountant, not the SIE
    assert sorted(r[3:6] for r in rows) == [("Amendes", "amendes_17_20261127.csv : 12 (AMD-E-1)", "450.00"),
                                            (source_label("spl"), "spl_17_20261127.csv : 5 (17300/2026/12)", "980.00")]
    spl = next(r for r in rows if r[5] == "980.00")
    assert spl[2] == "Redressement judiciaire (12/06/2026)"
    assert spl[6] == "2026-12-28" and spl[8] == "2026-08-25" and spl[9] == "2026-12-28"
    assert int(spl[7]) == (dt.date(2026, 12, 28) - freshness.today_paris()).days  # days left, from today
    assert spl[10] == "Délai dépassé : relevé de forclusion à demander (art. L. 622-26 C. com.)"
    assert spl[11] == "comptable de la collectivité (SGC), pas le SIE"
    qualify = _rows(con, "a_qualifier")
    assert qualify == [(fx.ECURIES, "ÉCURIES DE L'ÎLE DE RÉ", "Redressement judiciaire (12/06/2026)",
                        "Recettes non fiscales", "rnf_17_20261127.csv : 4 (RNF-E-1)", "300.00", "2026-09-01",
                        "comptable des recettes non fiscales", "à qualifier (art. L. 622-17)")]
    assert all(r[0] == fx.ECURIES for r in rows)


def test_collective_procedures(con) -> None:
    # ECURIES: register procedure; declared 24 200 (its tax), left to declare 980 + 450 (the written-off fine
    # is not extinguished), 300 born after the judgment to qualify, one seizure running, a 1 200 credit;
    # OYSTERS: no register procedure but 3 000 declared; one SATD (the declared tax is not one). ÉCURIES' deadline to
    # declare is past: its next deadline is the relief's, 28/12/2026 (26/12 is a Saturday), not none (issue 17)
    assert _rows(con, "procedures") == [
        (fx.ECURIES, "ÉCURIES DE L'ÎLE DE RÉ", "Redressement judiciaire", "2026-06-12", "24200.00", "1430.00",
         "2026-12-28",
         "300.00", "1", "1200.00"),
        (fx.OYSTERS, "OSTREICULTURE MARENNES OLERON", "non référencée au registre", None, "3000.00", "0.00", None,
         "0.00", "1", "3200.00"),
    ]


def test_suspended_debts_outside_a_procedure(con) -> None:
    # GARAGE MARTIN: its tax under sursis (5 730) and its contested title (1 800) are suspended, nothing pursuable
    assert _rows(con, "suspendues") == [
        (fx.GARAGE, "GARAGE MARTIN", "7530.00",
         "sursis de paiement (art. L. 277 LPF) ; titre contesté en justice (art. L. 1617-5 CGCT)", "0.00", "7530.00")
    ]


def test_written_off_fines_of_companies_with_credits(con) -> None:
    # GARAGE's fine was written off in 17 and the State owes it 600 in 91; ECURIES's too, and it is owed 1 200
    assert _rows(con, "non_valeurs") == [
        (fx.ECURIES, "ÉCURIES DE L'ÎLE DE RÉ", "450.00", "1200.00", "1200.00", "25480.00"),
        (fx.GARAGE, "GARAGE MARTIN", "375.00", "0.00", "600.00", "7530.00")]


def test_refunds_at_risk_wait_for_the_history(con, tmp_path: Path) -> None:
    page = worklists.page(con, worklists.LISTS["remboursements"], "17")
    assert (page.available, page.total) == (False, 0)
    assert worklists.counts(con, "17") == {"compensations": 2, "declarations": 2, "a_qualifier": 1, "procedures": 2,
                                          "suspendues": 1, "non_valeurs": 2, "remboursements": None,
                                          "debiteurs_communs": None}  # no panel in this small warehouse
    with duckdb.connect(str(current_file(_published(tmp_path, history=True))), read_only=True) as hist:
        rows = _rows(hist, "remboursements")
    # bakery: refunded 900 while 1 500 could be offset at the start: 900 at risk; transports: nothing offsettable
    assert rows == [(fx.BAKERY, "BOULANGERIE DU PORT", "2026-11-20", "2026-11-27", "900.00", "1500.00", "900.00")]


def test_placeholder_page_and_export_in_the_agents_format(tmp_path: Path, publication: Path) -> None:
    settings = fx.app_settings(tmp_path, publication)
    with fx.running_app(settings) as base:
        page = requests.get(f"{base}/departements/17/listes/remboursements", headers=AGENT_17)
        assert page.status_code == 200 and 'id="indisponible"' in page.text and "Pas encore disponible" in page.text
        engine = open_store(settings.database_url)
        outcomes.record(engine, user="alice", departement="17", liste="compensations", siren=fx.BAKERY,
                        outcome=outcomes.Outcome("FAIT", None, Decimal("800.00")))
        r = requests.get(f"{base}/departements/17/listes/compensations/export.csv", headers=AGENT_17)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert 'filename="compensations_17.csv"' in r.headers["content-disposition"]
        assert r.content.startswith("\ufeff".encode()) and b"\r\n" in r.content
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
        assert rows[0] == ["SIREN", "Dénomination", "Commune", "Créances certaines et dues (département)",
                           "Impôts compensables du département", "Impôts compensables ailleurs", "Montant compensable",
                           "Départements des dettes", "Suite donnée", "Motif", "Montant obtenu", "Commentaire",
                           "Enregistrée par", "Enregistrée le (heure de Paris)", "Notification envoyée (document n°)"]
        assert rows[1] == [fx.TRANSPORTS, "TRANSPORTS CHARENTAIS", "PERIGNY", "3000,00", "7385,30", "0,00", "3000,00",
                           "17", "", "", "", "", "", "", ""]
        assert rows[2][:12] == [fx.BAKERY, "BOULANGERIE DU PORT", "LA ROCHELLE", "800,00", "2000,00", "450,00",
                                "800,00", "17,95", "Fait", "", "800,00", ""]
        assert rows[2][12] == "alice" and re.fullmatch(r"\d\d/\d\d/20\d\d à \d\d:\d\d", rows[2][13])
        procedures = requests.get(f"{base}/departements/17/listes/procedures/export.csv", headers=AGENT_17)
        lines = procedures.content.decode("utf-8-sig").splitlines()
        assert lines[1].startswith(f"{fx.ECURIES};ÉCURIES DE L'ÎLE DE RÉ;Redressement judiciaire;12/06/2026;24200,00;"
                                   "1430,00;28/12/2026;300,00;1;1200,00")
        with engine.connect() as conn:
            actions = conn.execute(sa.text("SELECT action, objet, statut_http FROM audit ORDER BY id")).all()
        assert [tuple(a) for a in actions] == [("CONSULTATION_LISTE", "17/remboursements", 200),
                                               ("EXPORT_LISTE", "17/compensations", 200),
                                               ("EXPORT_LISTE", "17/procedures", 200)]


def test_outcome_summary_counts_the_latest_outcome(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'a.sqlite'}")
    record = outcomes.record
    record(engine, user="a", departement="17", liste="compensations", siren=fx.BAKERY,
           outcome=outcomes.Outcome("NON_PERTINENT", "DEJA_TRAITE", None))
    record(engine, user="a", departement="17", liste="compensations", siren=fx.BAKERY,  # changed later
           outcome=outcomes.Outcome("FAIT", None, Decimal("800.00")))
    record(engine, user="b", departement="17", liste="compensations", siren=fx.TRANSPORTS,
           outcome=outcomes.Outcome("FAIT", None, Decimal("2999.99")))
    record(engine, user="b", departement="17", liste="procedures", siren=fx.OYSTERS,
           outcome=outcomes.Outcome("NON_PERTINENT", "PROCEDURE_EN_COURS", None))
    summary = outcomes.summary(engine).to_dict("records")
    assert summary == [
        {"departement": "17", "liste": "compensations", "decides": 2, "faits": 2, "non_pertinents": 0,
         "taux_acceptation": Decimal(1), "montant_obtenu": Decimal("3799.99")},
        {"departement": "17", "liste": "procedures", "decides": 1, "faits": 0, "non_pertinents": 1,
         "taux_acceptation": Decimal(0), "montant_obtenu": Decimal("0")},
    ]


def test_amounts_are_parsed_exactly() -> None:
    assert outcomes.parse_amount("1 234,56") == Decimal("1234.56")
    assert outcomes.parse_amount("1\u00a0234,5 €") == Decimal("1234.50")
    assert outcomes.parse_amount("") is None
    for bad in ("1,234.56", "abc", "1e3", "NaN", "-1", "0,001"):
        with pytest.raises(outcomes.InvalidOutcome):
            outcomes.parse_amount(bad)


def test_audit_is_append_only_in_sqlite(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'a.sqlite'}")
    audit.record(engine, user="alice", departements="17", action="RECHERCHE", objet="port", status=200)
    outcomes.record(engine, user="a", departement="17", liste="compensations", siren=fx.BAKERY,
                    outcome=outcomes.Outcome("FAIT", None, None))
    for statement in ("UPDATE audit SET utilisateur = 'mallory'", "DELETE FROM audit",
                      "UPDATE resultats SET resultat = 'NON_PERTINENT'", "DELETE FROM resultats"):
        with pytest.raises(sa.exc.DatabaseError, match="ajout seul"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
    open_store(f"sqlite:///{tmp_path / 'a.sqlite'}")  # a second start keeps the rows and the protection
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT utilisateur FROM audit")).scalars().all() == ["alice"]


def test_audit_export_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    engine = open_store(url)
    with engine.begin() as conn:  # two rows: one long ago (UTC), one now
        conn.execute(sa.text("INSERT INTO audit (horodatage, utilisateur, departements, action, objet, statut_http) "
                             "VALUES ('2026-01-31 23:30:00', 'alice', '17', 'RECHERCHE', '=HYPERLINK(1)', 200)"))
    audit.record(engine, user="bob", departements="91", action="CONSULTATION_ENTREPRISE", objet=fx.BAKERY,
                 status=403)
    onevision = str(Path(sys.executable).parent / "onevision")
    out = subprocess.run([onevision, "audit", "--out", str(tmp_path / "a.csv"), "--base", url],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO((tmp_path / "a.csv").read_text("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["horodatage", "utilisateur", "departements", "action", "objet", "statut_http"]
    # 23:30 UTC on 31 January is 00:30 on 1 February in Paris; a formula is neutralised
    assert rows[1] == ["01/02/2026 00:30:00", "alice", "17", "RECHERCHE", "'=HYPERLINK(1)", "200"]
    assert rows[2][1:] == ["bob", "91", "CONSULTATION_ENTREPRISE", fx.BAKERY, "403"]
    today = dt.date.today().isoformat()
    out = subprocess.run([onevision, "audit", "--out", str(tmp_path / "b.csv"), "--base", url, "--depuis", today],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "1 ligne(s)" in out.stdout
    assert len((tmp_path / "b.csv").read_text("utf-8-sig").splitlines()) == 2


def test_usage_by_month_and_department(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'a.sqlite'}")
    with engine.begin() as conn:
        for when, user, depts, status in (("2026-10-31 23:30:00", "alice", "17", 200),  # November in Paris
                                          ("2026-11-02 10:00:00", "alice", "17", 200),
                                          ("2026-11-03 10:00:00", "bob", "17,91", 200),
                                          ("2026-11-03 11:00:00", "carl", "17", 403)):  # refused: not a view
            conn.execute(sa.text(
                "INSERT INTO audit (horodatage, utilisateur, departements, action, objet, statut_http) VALUES "
                "(:w, :u, :d, 'CONSULTATION_ENTREPRISE', '812345676', :s)"), {"w": when, "u": user, "d": depts,
                                                                              "s": status})
    assert audit.usage_by_month(engine).to_dict("records") == [
        {"mois": "2026-11", "departement": "17", "utilisateurs": 2, "consultations": 3},
        {"mois": "2026-11", "departement": "91", "utilisateurs": 1, "consultations": 1},
    ]
