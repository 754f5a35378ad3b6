"""The experiment's dashboard and the company sheet's history, on a warehouse built by the real pipeline.

Landing zone: the shared samples (department 17, a pilot: 2026-11-20 and 2026-11-27, whose history is
`samples/expected/*.csv`) plus department 44 (not a pilot), written here for the same two dates:

| SIREN | 20/11 | 27/11 |
|---|---|---|
| 123456782 (hostile name) | tax 2 000 due, VAT credit 3 000 granted: offsettable 2 000 | 500 paid, credit refunded |
| 812345676 | tax 800 due, VAT credit 1 000 granted: offsettable 800 | credit applied, tax paid |

Impact of 44 by hand (contract v3: a company's credits in 44 can pay its taxes in every department): recouvre
500 + 800 = 1 300; compense 1 000; 812345676's offsettable at t0 is min(1 000, 800 in 44 + 450 of its CFE in 95)
= 1 000, so flagged min(1 000, 1 000) = 1 000; rembourse 3 000, at risk min(3 000, 2 000) = 2 000; compensable
at t0 2 000 + 1 000 = 3 000; offset rate 1 000 / 3 000 = 33,3 %; stocks at 27/11: debts 1 500, credits 0,
offsettable 0. The pilots are 17 and 95 (both with a pair in the samples; 95's impact is all zero).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import sqlalchemy as sa

from onevision_dagster import warehouse
from onevision_dagster.app import audit, outcomes
from onevision_dagster.app.store import open_store
from onevision_dagster.consolidate.build import build_all
from onevision_dagster.history.rebuild import rebuild_history
from onevision_dagster.ingest.load import ingest_landing
from onevision_dagster.reports.experiment_data import load_experiment_data
from onevision_dagster.reports.experiment_followup import load_followup, store_url
from onevision_dagster.reports.experiment_page import render_experiment, write_experiment_dashboard
from onevision_dagster.reports.fiche import write_fiche
from onevision_dagster.reports.formatting import NBSP
from onevision_dagster.reports.html_page import EXPERIMENT_FILENAME
from onevision_dagster.reports.refunds_at_risk import (
    AT_RISK_CSV,
    export_refunds_at_risk,
    refunds_at_risk,
    refunds_at_risk_totals,
)

from .conftest import EXPECTED
from .landing_files import write_extract
from .test_fiche import Sections
from .test_history import _tax, _vat

PILOTES = ("17", "91", "95")
HOSTILE = "123456782"
HOSTILE_NAME = "=1+1 <script>alert('x')</script> & Fils"
BAKERY, SOLAIRE, TRANSPORTS = "812345676", "612345009", "443210984"
D = Decimal


def eur(text: str) -> str:
    return text.replace(" ", NBSP) + NBSP + "€"


def _add_department_44(landing: Path) -> None:
    for register in (landing / "entreprises").glob("entreprises_*.csv"):
        with register.open("a", encoding="utf-8", newline="") as fh:
            fh.write(f"{HOSTILE};{HOSTILE_NAME};;5499;1 QUAI DE LA FOSSE;44000;NANTES;44;2015-01-01;A;;;\r\n")
    for day, paid_h, paid_b, credit_h, credit_b in (("20261120", 0, 0, "ACCORDEE", "ACCORDEE"),
                                                    ("20261127", 50_000, 80_000, "REMBOURSEE", "IMPUTEE")):
        write_extract(landing, "impots_pro", day, [_tax("2026TS44001", HOSTILE, 200_000, 0, paid_h),
                                                   _tax("2026TS44002", BAKERY, 80_000, 0, paid_b)], "44")
        write_extract(landing, "credits_tva", day, [_vat("3544-2026-0001", HOSTILE, "3000,00", "3000,00", credit_h),
                                                    _vat("3544-2026-0002", BAKERY, "1000,00", "1000,00", credit_b)],
                      "44")


def build_history_warehouse(landing: Path, path: Path, pilotes: tuple[str, ...] = PILOTES) -> None:
    """Current tables, every snapshot, movements, impact and the national view, as `onevision run` computes them."""
    with duckdb.connect(str(path)) as con:
        warehouse.create_raw_and_quality(con)
        ingest_landing(con, landing)
        rebuild_history(con, build_all(con), pilotes)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sample_landing: Path) -> Path:
    root = tmp_path_factory.mktemp("experiment")
    landing = root / "landing"
    shutil.copytree(sample_landing, landing)
    _add_department_44(landing)
    build_history_warehouse(landing, root / "w.duckdb")
    return root / "w.duckdb"


@pytest.fixture()
def con(built: Path):
    with duckdb.connect(str(built), read_only=True) as connection:
        yield connection


def _week(con: duckdb.DuckDBPyConnection, groupe: str) -> dict:
    data = load_experiment_data(con, PILOTES)
    rows = data.semaines[data.semaines["groupe"] == groupe].to_dict("records")
    assert len(rows) == 1
    return rows[0]


def test_samples_history_is_the_expected_one_with_department_44_beside(con: duckdb.DuckDBPyConnection) -> None:
    with (EXPECTED / "impact.csv").open(encoding="utf-8", newline="") as fh:
        (expected,) = [r for r in csv.DictReader(fh) if r["departement"] == "17"]
    row = con.execute("SELECT compense_signale, compensable_debut, rembourse_a_risque, recouvre FROM history.impact "
                      "WHERE departement = '17'").fetchone()
    assert row == tuple(D(expected[c]) for c in ("compense_signale", "compensable_debut", "rembourse_a_risque",
                                                  "recouvre"))


def test_pilot_week_figures_of_department_17(con: duckdb.DuckDBPyConnection) -> None:
    week = _week(con, "pilotes")
    # 27/11/2026 is in ISO week 48; 17 and 95 are the pilots with a pair (95's impact is all zero)
    assert (week["semaine"], week["nb_departements"]) == ("2026-W48", 2)
    # offset rate (expected/impact.csv): 12 500 flagged and made (TRANSPORTS CHARENTAIS) over 19 375 offsettable
    # at t0 across departments = 64,52 %
    assert week["taux_compensation"] == D("0.6452")
    assert (week["compense"], week["compense_signale"], week["compensable_debut"]) == (D("12500.00"),) * 2 + (
        D("19375.00"),)
    # recovered: the PAIEMENT movements of mouvements.csv
    assert week["recouvre"] == D("17375.00")
    # refunded 37 900; at risk only SOLAIRE ATLANTIQUE: min(20 000, 1 375 in 17 + 3 000 in 95)
    assert (week["rembourse"], week["rembourse_a_risque"]) == (D("37900.00"), D("4375.00"))
    # stocks at 27/11 (positions_historique.csv of 17 and 95): past-due debts 113 527,57 + 3 450, certain credits
    # 7 200, ATLANTIC SHIPPING's 2 500 offsettable
    assert (week["stock_dettes"], week["stock_creances"], week["stock_compensable"]) == (
        D("116977.57"), D("7200.00"), D("2500.00"))


def test_non_pilot_department_44_is_the_other_group(con: duckdb.DuckDBPyConnection) -> None:
    week = _week(con, "autres")
    assert (week["semaine"], week["nb_departements"]) == ("2026-W48", 1)
    assert week["taux_compensation"] == D("0.3333")  # 1 000 / 3 000
    assert (week["recouvre"], week["compense"], week["compense_signale"], week["compensable_debut"]) == (
        D("1300.00"), D("1000.00"), D("1000.00"), D("3000.00"))
    assert (week["rembourse"], week["rembourse_a_risque"]) == (D("3000.00"), D("2000.00"))
    assert (week["stock_dettes"], week["stock_creances"], week["stock_compensable"]) == (
        D("1500.00"), D("0.00"), D("0.00"))


def test_trend_of_each_pilot_department(con: duckdb.DuckDBPyConnection) -> None:
    data = load_experiment_data(con, PILOTES)
    assert set(data.evolution["departement"]) == {"17", "95"}  # 44 is not a pilot; 91 has no snapshot
    first, second = data.evolution[data.evolution["departement"] == "17"].to_dict("records")
    # 20/11: the first snapshot, no pair; stocks of positions_historique.csv summed by hand
    assert (first["date_situation"], first["date_debut"], first["nb_entreprises"]) == (dt.date(2026, 11, 20),
                                                                                      None, 12)
    assert (first["stock_dettes"], first["stock_creances"], first["stock_compensable"]) == (
        D("144097.57"), D("55100.00"), D("16375.00"))
    assert first["recouvre"] is None and first["taux_compensation"] is None
    assert (second["date_debut"], second["nb_entreprises"], second["recouvre"], second["rembourse_a_risque"],
            second["taux_compensation"]) == (dt.date(2026, 11, 20), 11, D("17375.00"), D("4375.00"), D("0.6452"))


def test_refunds_at_risk_are_the_companies_behind_the_impact_figure(con: duckdb.DuckDBPyConnection,
                                                                   tmp_path: Path) -> None:
    listed = refunds_at_risk(con)
    rows = [tuple(r) for r in listed[["departement", "siren", "denomination", "rembourse", "compensable_debut",
                                      "a_risque"]].itertuples(index=False)]
    # 17: GARAGE MARTIN (5 000), ÉCURIES (9 000) and OSTREICULTURE (1 700) were refunded with nothing
    # offsettable at t0: not at risk; SOLAIRE ATLANTIQUE was refunded 20 000 while it owed 1 375 offsettable in 17
    # and 3 000 in 95 (contract v3, section 9: its credits in 17 could pay both, as expected/impact.csv counts)
    assert rows == [("17", SOLAIRE, "SOLAIRE ATLANTIQUE", D("20000.00"), D("4375.00"), D("4375.00")),
                    ("44", HOSTILE, HOSTILE_NAME, D("3000.00"), D("2000.00"), D("2000.00"))]
    totals = refunds_at_risk_totals(con)
    impact = dict(con.execute("SELECT departement, rembourse_a_risque FROM history.impact").fetchall())
    for t in totals.itertuples(index=False):
        assert t.a_risque == t.rembourse_a_risque == impact[t.departement]
    assert list(totals["nb_entreprises"]) == [1, 1, 0]  # 17, 44, and 95 with nothing at risk
    assert len(refunds_at_risk(con, "17")) == 1
    # the CSV beside the page: agents' format, a formula in a name is neutralised
    assert export_refunds_at_risk(con, tmp_path / AT_RISK_CSV) == 2
    cells = list(csv.reader(io.StringIO((tmp_path / AT_RISK_CSV).read_text("utf-8-sig")), delimiter=";"))
    assert cells[1] == ["17", "20/11/2026", "27/11/2026", SOLAIRE, "SOLAIRE ATLANTIQUE", "20000,00", "4375,00",
                        "4375,00"]
    assert cells[2][4] == "'" + HOSTILE_NAME


def test_the_page_shows_both_groups_and_the_lists(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    export_refunds_at_risk(con, tmp_path / AT_RISK_CSV)
    data = load_experiment_data(con, PILOTES)
    followup = load_followup(store_url(tmp_path / "w.duckdb", {}), PILOTES)
    path = write_experiment_dashboard(data, followup, tmp_path)
    assert path == tmp_path / EXPERIMENT_FILENAME and (tmp_path / "plotly.min.js").is_file()
    text = path.read_text(encoding="utf-8")
    page = Sections(text)
    cards = page.visible("chiffres-cles")
    for expected in ("Taux de compensation — départements pilotes 64,5\u00a0%",
                     "Taux de compensation — autres départements 33,3\u00a0%",
                     f"Remboursé à risque — départements pilotes {eur('4 375,00')}",
                     f"Remboursé à risque — autres départements {eur('2 000,00')}",
                     f"Recouvré (tous moyens) — départements pilotes {eur('17 375,00')}",
                     f"dont par compensation : {eur('12 500,00')}"):
        assert expected in cards, cards
    weeks = page.rows["stocks"]
    assert ["S48 2026", "Départements pilotes", "2", eur("17 375,00"), eur("12 500,00"), eur("12 500,00"),
            eur("19 375,00"), "64,5\u00a0%", eur("37 900,00"), eur("4 375,00"), eur("116 977,57"), eur("7 200,00"),
            eur("2 500,00")] in weeks
    assert ["S48 2026", "Autres départements", "1", eur("1 300,00"), eur("1 000,00"), eur("1 000,00"),
            eur("3 000,00"), "33,3\u00a0%", eur("3 000,00"), eur("2 000,00"), eur("1 500,00"), eur("0,00"),
            eur("0,00")] in weeks
    assert ["20/11/2026", "premier instantané", "12"] in [r[:3] for r in page.rows["pilotes"]]
    # the as-of date of each department's history, flagged against the configured limit (issue 17, point 8)
    assert data.fraicheur == {d: dt.date(2026, 11, 27) for d in ("17", "44", "95")}  # pilots and the others
    line = re.search(r'id="fraicheur">Données au : ([^<]*)', text)
    assert line is not None and all(f"département {d} : 27/11/2026" in line.group(1) for d in ("17", "44", "95"))
    generous = write_experiment_dashboard(data, followup, tmp_path / "limite", freshness_days=100_000)
    assert 'class="fraicheur"' in generous.read_text(encoding="utf-8")  # same dates, within a long limit: no flag
    at_risk = page.rows["a-risque"]
    assert [SOLAIRE, "SOLAIRE ATLANTIQUE", "17", eur("20 000,00"), eur("4 375,00"), eur("4 375,00")] in at_risk
    assert [HOSTILE, HOSTILE_NAME, "44", eur("3 000,00"), eur("2 000,00"), eur("2 000,00")] in at_risk
    assert "Aucun instantané de ce département dans l'historique." in page.visible("pilotes")  # 91 and 95
    assert f'href="{AT_RISK_CSV}"' in text
    # the hostile name is text, never markup (in the table, and in no chart: companies are not plotted)
    assert "<script>alert" not in text and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Fils" in text
    assert text.count('<script src="./plotly.min.js"') == 1 and "cdn" not in text.lower()
    assert "Aucune donnée de suivi : la base de l'application n'existe pas encore" in page.visible("suivi")
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert f'<a href="{EXPERIMENT_FILENAME}">' in index and "Expérimentation" in index


def test_a_warehouse_without_history_still_renders(tmp_path: Path) -> None:
    with duckdb.connect() as con:
        data = load_experiment_data(con, PILOTES)
    assert "history.impact" in data.tables_absentes
    page = Sections(render_experiment(data, load_followup("sqlite:///" + str(tmp_path / "none.sqlite"), PILOTES),
                                      tmp_path))
    assert "L'historique n'a pas encore été calculé dans cet entrepôt" in " ".join(page.text[""])
    assert not (tmp_path / "none.sqlite").exists()  # the store is read, never created


def test_unusable_stores_give_a_note_never_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "vide.sqlite"
    sa.create_engine(f"sqlite:///{empty}").connect().close()  # a file without the application's tables
    for url, note in ((f"sqlite:///{tmp_path / 'absente.sqlite'}", "n'existe pas encore"),
                      (f"sqlite:///{empty}", "ne contient pas encore ses tables"),
                      ("pas une adresse", "n'est pas valide"),
                      ("postgresql+psycopg2://u:p@127.0.0.1:1/x", "injoignable"),
                      ("postgresql+psycopg://u:p@127.0.0.1:1/x", "pilote")):  # psycopg 3 is not installed
        followup = load_followup(url, PILOTES)
        assert not followup.available and note in followup.note, (url, followup.note)
    store = f"sqlite:///{tmp_path / 'neuve.sqlite'}"
    open_store(store)
    assert "aucune suite donnée ni consultation" in load_followup(store, PILOTES).note


def test_outcomes_and_usage_from_the_application_store(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    url = store_url(tmp_path / "w.duckdb", {})  # the application's default: SQLite beside the warehouse
    engine = open_store(url)

    def outcome(user: str, dept: str, liste: str, siren: str, resultat: str, motif: str = "", montant: str = ""):
        outcomes.record(engine, user=user, departement=dept, liste=liste, siren=siren,
                        outcome=outcomes.parse_outcome(resultat, motif, montant))

    outcome("a", "17", "compensations", BAKERY, "NON_PERTINENT", "DEJA_TRAITE")
    outcome("a", "17", "compensations", BAKERY, "FAIT", montant="1 250,40")  # changed: the latest counts
    outcome("a", "17", "compensations", TRANSPORTS, "NON_PERTINENT", "DONNEES_ERRONEES")
    outcome("b", "91", "remboursements", SOLAIRE, "FAIT", montant="500")
    outcome("c", "44", "compensations", HOSTILE, "FAIT", montant="100,00")
    outcome("c", "44", "remboursements", HOSTILE, "NON_PERTINENT", "AUTRE")
    for user, depts, siren, status in (("a", "17", BAKERY, 200), ("a", "17", TRANSPORTS, 200),
                                       ("a", "17", SOLAIRE, 403), ("d", "17,91", BAKERY, 200),
                                       ("n", "national", HOSTILE, 200), ("n", "national", BAKERY, 200),
                                       ("c", "44", HOSTILE, 200)):
        audit.record(engine, user=user, departements=depts, action="CONSULTATION_ENTREPRISE", objet=siren,
                     status=status)
    audit.record(engine, user="a", departements="17", action="RECHERCHE", objet="port", status=200)
    month = audit.read(engine)["horodatage"].map(
        lambda v: v.replace(tzinfo=dt.UTC).astimezone(audit.PARIS).strftime("%Y-%m")).iloc[0]
    engine.dispose()

    followup = load_followup(url, PILOTES)
    assert followup.available
    by_group = {(r["liste"], r["groupe"]): r for r in followup.resultats_groupes.to_dict("records")}
    # pilots' offsets: BAKERY done (1 250,40), TRANSPORTS not relevant → 1 done of 2 recorded
    assert (by_group[("compensations", "pilotes")]["decides"], by_group[("compensations", "pilotes")]["faits"],
            by_group[("compensations", "pilotes")]["taux_acceptation"],
            by_group[("compensations", "pilotes")]["montant_obtenu"]) == (2, 1, D("0.5"), D("1250.40"))
    assert (by_group[("compensations", "autres")]["taux_acceptation"],
            by_group[("compensations", "autres")]["montant_obtenu"]) == (D(1), D("100.00"))
    assert (by_group[("remboursements", "pilotes")]["faits"],
            by_group[("remboursements", "pilotes")]["montant_obtenu"]) == (1, D("500.00"))  # 91 is a pilot
    assert (by_group[("remboursements", "autres")]["non_pertinents"],
            by_group[("remboursements", "autres")]["taux_acceptation"]) == (1, D(0))
    usage = {(r["departement"], r["groupe"]): (r["utilisateurs"], r["consultations"])
             for r in followup.usage.to_dict("records")}
    # 17: a (2 views; the refusal does not count) and d; d also counts in 91; national agents apart
    assert usage == {("17", "pilotes"): (2, 3), ("91", "pilotes"): (1, 1), ("44", "autres"): (1, 1),
                     ("national", "national"): (1, 2)}
    assert set(followup.usage["mois"]) == {month}

    page = Sections(render_experiment(load_experiment_data(con, PILOTES), followup, tmp_path))
    rows = page.rows["suivi"]
    assert ["Compensations à examiner", "Départements pilotes", "2", "1", "1", "50,0\u00a0%", eur("1 250,40")] in rows
    assert ["Remboursements à risque", "Autres départements", "1", "0", "1", "0,0\u00a0%", eur("0,00")] in rows
    assert ["17", "Compensations à examiner", "2", "1", "1", "50,0\u00a0%", eur("1 250,40")] in rows
    year, _, number = month.partition("-")
    label = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")[int(number) - 1] + f" {year}"
    assert [label, "17", "Départements pilotes", "2", "3"] in rows
    assert [label, "toute la France", "Agents nationaux", "1", "2"] in rows
    assert "Aucune donnée de suivi" not in page.visible("suivi")


def test_the_asset_writes_the_page_and_reads_the_store_beside_the_warehouse(built: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from onevision_dagster.definitions import all_assets
    from onevision_dagster.resources import LandingZone, ReportsFolder, Settings, Warehouse

    monkeypatch.delenv("ONEVISION_APP_DATABASE_URL", raising=False)
    path = tmp_path / "w.duckdb"
    shutil.copy(built, path)
    reports = tmp_path / "rapports"
    resources = {"landing": LandingZone(path=str(tmp_path)), "warehouse": Warehouse(path=str(path)),
                 "reports": ReportsFolder(path=str(reports)),
                 "settings": Settings(pilotes="17,91,95", static_images=False)}
    key = dg.AssetKey(["rapports", "tableau_de_bord_experimentation"])
    result = dg.materialize(all_assets, selection=dg.AssetSelection.assets(key), resources=resources)
    assert result.success
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["semaine"].value == "2026-W48" and meta["entreprises_a_risque"].value == 2
    assert meta["taux_compensation_pilotes"].value == pytest.approx(0.6452)
    assert meta["rembourse_a_risque_autres"].value == pytest.approx(2000.0)
    assert meta["suivi_des_agents"].value.startswith("non :")
    assert (reports / EXPERIMENT_FILENAME).is_file() and (reports / AT_RISK_CSV).is_file()
    assert EXPERIMENT_FILENAME in (reports / "index.html").read_text(encoding="utf-8")
    # once an agent used the application (its SQLite file beside the warehouse), the page counts the outcomes
    engine = open_store(store_url(path, {}))
    outcomes.record(engine, user="a", departement="17", liste="compensations", siren=BAKERY,
                    outcome=outcomes.parse_outcome("FAIT", "", "10"))
    engine.dispose()
    assert dg.materialize(all_assets, selection=dg.AssetSelection.assets(key), resources=resources).success
    text = Sections((reports / EXPERIMENT_FILENAME).read_text(encoding="utf-8")).visible("suivi")
    assert "Aucune donnée de suivi" not in text and eur("10,00") in text
    graph = all_assets  # the asset follows the history and the national view of the impact
    spec = next(a for a in graph if key in a.keys)
    assert {dg.AssetKey(["history", "impact_national"]), dg.AssetKey(["history", "mouvements"])} <= set(
        spec.asset_deps[key])


def test_company_sheet_shows_its_history(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    sheet = Sections(write_fiche(con, TRANSPORTS, "17", tmp_path).read_text(encoding="utf-8"))
    rows = sheet.rows["historique"]
    # positions_historique.csv: 19 035,30 past due (none suspended), 12 500 certain credits, 12 500 offsettable;
    # then 8 510,30 and nothing
    assert rows[:2] == [
        ["20/11/2026", "17", eur("19 035,30"), eur("0,00"), eur("0,00"), eur("0,00"), eur("12 500,00"),
         eur("12 500,00"), eur("0,00")],
        ["27/11/2026", "17", eur("8 510,30"), eur("0,00"), eur("0,00"), eur("0,00"), eur("0,00"), eur("0,00"),
         eur("0,00")],
    ]
    period = "du 20/11/2026 au 27/11/2026"
    # its six movements of mouvements.csv
    assert sorted(rows[2:]) == sorted([
        [period, "17", "Amendes", "1700000000007", "Nouvelle dette", eur("375,00")],
        [period, "17", "Amendes", "1700000000021", "Nouvelle dette", eur("750,00")],
        [period, "17", "Crédits de TVA", "3519-2026-0001", "Imputation sur des dettes (compensation faite)",
         eur("12 500,00")],
        [period, "17", "Impôts professionnels", "2025CFE0001", "Paiement", eur("4 535,30")],
        [period, "17", "Impôts professionnels", "2026TVA0007", "Hausse (pénalités)", eur("1 850,00")],
        [period, "17", "Impôts professionnels", "2026TVA0007", "Paiement", eur("7 964,70")],
    ])
    # the national sheet of a company in two departments lists both
    national = Sections(write_fiche(con, BAKERY, None, tmp_path).read_text(encoding="utf-8")).rows["historique"]
    assert {r[1] for r in national if r[0] == "20/11/2026"} == {"17", "44", "95"}  # and its CFE in 95 (v3)


def test_a_sheet_without_history_tables_still_renders(tmp_path: Path, sample_landing: Path) -> None:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        warehouse.create_raw_and_quality(con)
        ingest_landing(con, sample_landing)
        build_all(con)
        sheet = Sections(write_fiche(con, TRANSPORTS, "17", tmp_path).read_text(encoding="utf-8"))
    assert "L'historique des instantanés n'a pas été calculé dans cet entrepôt." in sheet.visible("historique")
    assert sheet.rows.get("dettes")  # the rest of the sheet is there
