"""Each rule contract version 3 adds, on real files, with the figures computed by hand.

Department 17 and 91, extracts dated 2026-11-27 (a Friday). The companies:
- PROC: a sauvegarde judged 15/06/2026, published in the BODACC on 31/08/2026, head office in 17: a CFE of 2026 due
  after the judgment, a VAT of June 2026 (the judgment's month), an IS of 2026 (its year closes after the judgment),
  a local title issued on the judgment day, a written-off fine for an offence before it;
- OVERSEAS: head office in 971, redressement judged 02/11/2026, published 05/11/2026, a fine in 17;
- ACROSS: an overpayment of 1 000,00 in 17, a due CFE of 600,00 in 91 (nothing to offset in 17 itself);
- ACROSS_FILED: the same, but 91 also holds a tax claim filed in a procedure the register does not show.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from onevision_dagster import warehouse
from onevision_dagster.consolidate.build import build_all
from onevision_dagster.contract.deadlines import add_months, declaration_deadline, public_holidays, relief_deadline
from onevision_dagster.ingest.load import ingest_landing

from .landing_files import company, write_extract

AS_OF = "20261127"
PROC, OVERSEAS, ACROSS, ACROSS_FILED = "398259796", "190748335", "788762326", "860129048"
PROC_SIRET = "39825979600017"


def _tax(siren: str, ref: str, code: str, period: str, due: str, cents: int, phase: str = "AMIABLE") -> dict:
    return dict(SIREN=siren, REF_ARTICLE=ref, CODE_IMPOT=code, PERIODE=period, DATE_EXIGIBILITE=due,
                MT_DROITS_CTS=str(cents), MT_PENALITES_CTS="0", MT_PAYE_CTS="0", PHASE=phase, SURSIS="N")


def _fine(key: str, siren: str, offence: str, surcharged: str, amount: str, status: str) -> dict:
    return dict(NUM_AMENDE=key, DATE_INFRACTION=offence, DATE_MAJORATION=surcharged, RAISON_SOCIALE="X",
                SIREN=siren, CODE_POSTAL="17000", MONTANT_MAJORE=amount, MONTANT_PAYE="0,00", STATUT=status)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    root = tmp_path_factory.mktemp("v3") / "landing"
    overseas = {**company(OVERSEAS, "DISTILLERIE DES ILES", procedure="REDRESSEMENT", jugement="2026-11-02",
                          publication="2026-11-05"), "departement": "971", "code_postal": "97100"}
    write_extract(root, "entreprises", "20261120", [
        company(PROC, "CHAUDRONNERIE EN SAUVEGARDE", procedure="SAUVEGARDE", jugement="2026-06-15",
                publication="2026-08-31"),
        overseas, company(ACROSS, "NEGOCE DEUX DEPARTEMENTS"), company(ACROSS_FILED, "PASSIF AILLEURS")])
    write_extract(root, "impots_pro", AS_OF, [
        _tax(PROC, "CFE26", "CFE", "2026", "20261215", 210000),  # arose 01/01/2026, due after the as-of date
        _tax(PROC, "TVA0626", "TVA", "202606", "20260724", 50000),  # arose 01/06/2026 < judgment 15/06
        _tax(PROC, "IS26", "IS", "2026", "20270515", 80000),  # arises 31/12/2026 >= judgment: to qualify
    ])
    write_extract(root, "impots_pro", AS_OF, [
        _tax(ACROSS, "C91", "CFE", "2025", "20251215", 60000),
        _tax(ACROSS_FILED, "F91", "CFE", "2025", "20251215", 60000),
        _tax(ACROSS_FILED, "P91", "IS", "2025", "20250515", 10000, phase="PASSIF_PROCEDURE"),
    ], departement="91")
    write_extract(root, "spl", AS_OF, [dict(
        code_collectivite="17300", libelle_collectivite="COMMUNE", exercice="2026", num_titre="7",
        date_emission="15/06/2026", siret_debiteur=PROC_SIRET, montant_titre="900,00", reste_a_recouvrer="900,00",
        etape="AMIABLE")])
    write_extract(root, "amendes", AS_OF, [
        _fine("W1", PROC, "01/03/2026", "10/05/2026", "450,00", "ADMISE_NON_VALEUR"),
        _fine("O1", OVERSEAS, "01/09/2026", "10/10/2026", "135,00", "EN_RECOUVREMENT"),
    ])
    write_extract(root, "excedents", AS_OF, [
        dict(SIREN=ACROSS, REF_EXCEDENT="E17", IMPOT="IS", EXERCICE="2025", MONTANT="1000,00",
             DATE_CONSTAT="01/10/2026", STATUT="A_RESTITUER"),
        dict(SIREN=ACROSS_FILED, REF_EXCEDENT="G17", IMPOT="IS", EXERCICE="2025", MONTANT="1000,00",
             DATE_CONSTAT="01/10/2026", STATUT="A_RESTITUER")])
    db = duckdb.connect()
    warehouse.create_raw_and_quality(db)
    ingest_landing(db, root)
    assert build_all(db) == ["17", "91"]
    return db


def _declarations(con: duckdb.DuckDBPyConnection, siren: str) -> dict[str, tuple]:
    rows = con.execute("SELECT cle, nature, montant, date_limite_declaration, date_limite_releve, etat "
                       "FROM marts.declarations WHERE siren = ?", [siren]).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_claims_of_a_company_in_procedure_by_origin_date(con: duckdb.DuckDBPyConnection) -> None:
    # publication 31/08/2026 + 2 months = 31/10/2026, a Saturday; 01/11 a Sunday and a holiday -> Monday 02/11;
    # + 6 months = 28/02/2027 (no 29th in 2027), a Sunday -> Monday 01/03/2027. On 27/11/2026 relief is possible.
    late = (dt.date(2026, 11, 2), dt.date(2027, 3, 1), "RELEVE_POSSIBLE")
    assert _declarations(con, PROC) == {
        "CFE26": ("A_ECHOIR", Decimal("2100.00"), *late),  # CFE of the judgment's year: arose on 1 January
        "TVA0626": ("ECHUE", Decimal("500.00"), *late),  # VAT of the judgment's month: its earlier part
        "IS26": ("A_ECHOIR", Decimal("800.00"), None, None, "A_QUALIFIER"),  # the year closes after the judgment
        "17300/2026/7": ("ECHUE", Decimal("900.00"), None, None, "A_QUALIFIER"),  # issued on the judgment day
        "W1": ("NON_VALEUR", Decimal("450.00"), *late),  # written off, not extinguished: declared like any claim
    }
    services = dict(con.execute("SELECT cle, service_declarant FROM marts.declarations WHERE siren = ?",
                                [PROC]).fetchall())
    assert services["17300/2026/7"] == "COMPTABLE_COLLECTIVITE" and services["TVA0626"] == "SIE"


def test_past_due_lines_of_a_company_in_procedure_are_suspended(con: duckdb.DuckDBPyConnection) -> None:
    lines = dict(((r[0]), r[1:]) for r in con.execute(
        "SELECT reference, nature, suspendue, motif_suspension, anterieure_jugement, date_origine "
        "FROM core.lignes_dettes WHERE siren = ?", [PROC]).fetchall())
    assert lines["TVA0626"] == ("ECHUE", True, "ANTERIEURE_JUGEMENT", True, dt.date(2026, 6, 1))
    assert lines["17300/2026/7"] == ("ECHUE", True, "POSTERIEURE_JUGEMENT", False, dt.date(2026, 6, 15))
    assert lines["CFE26"] == ("A_ECHOIR", False, None, True, dt.date(2026, 1, 1))
    assert lines["IS26"] == ("A_ECHOIR", False, None, False, dt.date(2026, 12, 31))
    assert lines["W1"] == ("NON_VALEUR", False, None, True, dt.date(2026, 3, 1))  # origin: the offence
    position = con.execute("SELECT total_dettes, dettes_suspendues, dettes_poursuivables, dettes_compensables, "
                           "dettes_a_echoir, dettes_non_valeur FROM marts.positions WHERE siren = ?",
                           [PROC]).fetchone()
    # 500 (VAT) + 900 (title) past due, all suspended; 2 100 + 800 not yet due; 450 written off
    assert position == (Decimal("1400.00"), Decimal("1400.00"), Decimal("0.00"), Decimal("0.00"),
                        Decimal("2900.00"), Decimal("450.00"))


def test_a_company_of_971_with_a_line_in_17_has_two_more_months(con: duckdb.DuckDBPyConnection) -> None:
    # creditor in metropolitan France (17), court overseas (971): 05/11/2026 + 4 months = 05/03/2027, a Friday;
    # relief + 6 months = 05/05/2027, a Wednesday
    assert _declarations(con, OVERSEAS) == {
        "O1": ("ECHUE", Decimal("135.00"), dt.date(2027, 3, 5), dt.date(2027, 5, 5), "A_DECLARER")}


def test_a_credit_in_one_department_pays_a_tax_in_another(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("SELECT siren, departement, creances_departement, dettes_compensables_departement, "
                       "dettes_compensables_autres, montant_compensable, departements_dettes "
                       "FROM marts.compensations ORDER BY siren").fetchall()
    # ACROSS: 1 000 held in 17, nothing to offset in 17, 600 due in 91 -> 600 offsettable, debts in 91.
    # ACROSS_FILED: the same, but 91 holds a claim filed in a procedure (passif_declare 100): blocked, no row.
    assert rows == [(ACROSS, "17", Decimal("1000.00"), Decimal("0.00"), Decimal("600.00"), Decimal("600.00"), "91")]
    # each department's own position knows nothing of the other: 0 offsettable in 17 and in 91
    own = con.execute("SELECT departement, montant_compensable FROM marts.positions WHERE siren = ? ORDER BY 1",
                      [ACROSS]).fetchall()
    assert own == [("17", Decimal("0.00")), ("91", Decimal("0.00"))]
    filed = con.execute("SELECT departement, dettes_suspendues, dettes_poursuivables FROM marts.positions "
                        "WHERE siren = ? ORDER BY 1", [ACROSS_FILED]).fetchall()
    # in 91 every past-due line is suspended ("procédure non référencée au registre"): 600 + 100
    assert filed == [("17", Decimal("0.00"), Decimal("0.00")), ("91", Decimal("700.00"), Decimal("0.00"))]


@pytest.mark.parametrize(("publication", "months", "expected"), [
    ("2026-08-31", 6, "2027-02-28"),  # no 29 February in 2027: the month's last day (art. 641 CPC)
    ("2027-08-31", 6, "2028-02-29"),  # a leap year
    ("2026-01-31", 1, "2026-02-28"),
    ("2026-06-26", 2, "2026-08-26"),
])
def test_months_are_added_as_article_641_does(publication: str, months: int, expected: str) -> None:
    assert add_months(dt.date.fromisoformat(publication), months) == dt.date.fromisoformat(expected)


def test_deadlines_move_to_the_next_working_day() -> None:
    # 17/01/2027 is a Sunday (FERRONNERIE of the samples) -> Monday 18/01/2027
    assert declaration_deadline(dt.date(2026, 11, 17), False) == dt.date(2027, 1, 18)
    # + 6 months = 17/05/2027, Whit Monday (Easter 2027 is 28 March; + 50 days) -> Tuesday 18/05/2027
    assert dt.date(2027, 5, 17) in public_holidays(2027)
    assert relief_deadline(dt.date(2026, 11, 17)) == dt.date(2027, 5, 18)
    # + 6 months = 26/12/2026, a Saturday -> Monday 28/12/2026 (ÉCURIES of the samples)
    assert relief_deadline(dt.date(2026, 6, 26)) == dt.date(2026, 12, 28)
    # eleven holidays a year, Ascension Day on a Thursday
    holidays = public_holidays(2026)
    assert len(holidays) == 11 and dt.date(2026, 5, 14) in holidays and dt.date(2026, 5, 14).weekday() == 3
