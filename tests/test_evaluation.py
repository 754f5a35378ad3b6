"""The experiment's verdict (issue 19): the estimator, its randomization inference and interval, the placebo, the
indicators read from the history, the CSV export and the French sentence, on small data computed by hand."""

from __future__ import annotations

import csv
import datetime as dt
import math
from fractions import Fraction
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from onevision_dagster import cli
from onevision_dagster.consolidate.tables import create_tables
from onevision_dagster.experiment.evaluation import (
    EXPORT_COLUMNS,
    evaluate,
    placebo_start,
    placebo_verdict,
    read_evaluation,
    run_evaluation,
    verdict,
)
from onevision_dagster.experiment.indicators import INDICATORS, load_panel
from onevision_dagster.experiment.inference import assignments, cells, did_many, infer, p_value, twfe
from onevision_dagster.history.tables import HISTORY_DDL

NBSP = "\u00a0"
W1, W2, W3, W4, W5 = (dt.date(2026, 1, 7) + dt.timedelta(weeks=i) for i in range(5))


def panel(rows: list[tuple[str, dt.date, float, float]]) -> pd.DataFrame:
    """(departement, date_fin, numerateur, denominateur) → a panel of one indicator."""
    frame = pd.DataFrame(rows, columns=["departement", "date_fin", "numerateur", "denominateur"])
    return frame.assign(indicateur="taux_compensation", date_debut=frame["date_fin"] - dt.timedelta(weeks=1))


def before(p: pd.DataFrame, start: dt.date) -> pd.Series:
    return p["date_fin"] <= start


# ---- 2 × 2: one pilot, one other, one pair before and one after ---------------------------------------------

TWO_BY_TWO = panel([("17", W1, 20, 100), ("17", W2, 60, 150),   # pilot: 20 % → 40 %
                    ("44", W1, 30, 200), ("44", W2, 25, 100)])  # other: 15 % → 25 %


def test_two_by_two_difference_in_differences() -> None:
    result = infer(TWO_BY_TWO, before(TWO_BY_TWO, W1), ["17"])
    # (40 % − 20 %) − (25 % − 15 %) = 10 points
    assert result.estimation == pytest.approx(0.10)
    # two ways of choosing one pilot among two: 17 (+10) or 44 (−10); both as far from 0: p = 2 / 2
    assert result.tirages == 2
    assert result.p_valeur == pytest.approx(1.0)
    # one assignment in two can never be rejected at 5 %: the interval is not bounded
    assert (result.ic_bas, result.ic_haut) == (-math.inf, math.inf)
    assert (result.pilotes, result.temoins) == (("17",), ("44",))
    # the regression form (department and week dummies, pilot × after) is saturated here: the same 10 points
    assert twfe(TWO_BY_TWO, before(TWO_BY_TWO, W1), ["17"]) == pytest.approx(0.10)


# ---- 4 departments, 2 pilots: the 6 assignments listed ------------------------------------------------------

FOUR = panel([
    ("01", W1, 10, 100), ("01", W2, 40, 100),   # pilot
    ("02", W1, 60, 200), ("02", W2, 100, 200),  # pilot, twice the denominator: twice the weight when pooled
    ("03", W1, 20, 100), ("03", W2, 25, 100),
    ("04", W1, 40, 100), ("04", W2, 30, 100),
])
# pooled rates (Σ numerators / Σ denominators), before → after, for each pair of "pilots" and the two others:
# {01,02}: 70/300 → 140/300, others 60/200 → 55/200: 7/30 + 1/40 = 31/120
# {01,03}: 30/200 → 65/200, others 100/300 → 130/300: 35/200 − 1/10 = 3/40
# {01,04}: 50/200 → 70/200, others 80/300 → 125/300: 1/10 − 15/100 = −1/20
# {02,03}, {02,04}, {03,04}: the complements, the opposite estimates
FOUR_BY_HAND = [Fraction(31, 120), Fraction(3, 40), Fraction(-1, 20), Fraction(1, 20), Fraction(-3, 40),
                Fraction(-31, 120)]


def test_four_departments_every_assignment_listed() -> None:
    c = cells(FOUR, before(FOUR, W1))
    assert c.departements == ("01", "02", "03", "04")
    real = np.array([1, 1, 0, 0], dtype=np.int8)
    z = assignments(4, real)
    assert [tuple(np.flatnonzero(row)) for row in z] == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert did_many(c, z) == pytest.approx([float(f) for f in FOUR_BY_HAND])
    # |31/120| is reached by {01,02} and {03,04} only: p = 2/6
    assert p_value(c, z, real) == pytest.approx(2 / 6)
    result = infer(FOUR, before(FOUR, W1), ["01", "02"])
    assert result.estimation == pytest.approx(31 / 120)
    assert (result.tirages, result.p_valeur) == (6, pytest.approx(1 / 3))
    assert (result.ic_bas, result.ic_haut) == (-math.inf, math.inf)  # 1/6 > 5 %: nothing can be rejected
    # the pooled rate weighs 02 twice: the mean of the pilots' own changes would give (30 + 20) / 2 = 25 points
    assert result.estimation != pytest.approx(0.25 + 0.025)


def test_many_assignments_are_drawn_with_a_fixed_seed_the_real_one_first() -> None:
    real = np.array([1] * 5 + [0] * 15, dtype=np.int8)  # C(20, 5) = 15 504 > 10 000
    z = assignments(20, real)
    assert z.shape == (10_000, 20)
    assert (z.sum(axis=1) == 5).all() and (z[0] == real).all()
    assert (assignments(20, real) == z).all()  # same seed, same draws


# ---- the interval by inverting the test, where the answer is known --------------------------------------------

def test_interval_by_test_inversion_known_case() -> None:
    """21 departments, one pilot, equal denominators, the same rate (50 %) before everywhere; after, the pilot
    gains 30 points and the others −10 … −1 and +1 … +10 points.

    Choosing department i as the pilot gives (21·x_i − Σx) / 20. Taking τ off the pilot (u = 30 − τ, Σx = u):
    it is the one most extreme assignment, alone (p = 1/21 ≤ 5 %, rejected), when
    |u − u/21| > 10 + |u|/21, i.e. |u| > 210/19; at |u| = 210/19 it ties with a ±10 department (p = 2/21, kept).
    So the interval is 30 ± 210/19 points = [18,947 ; 41,053] and the p-value of "no effect" (u = 30) is 1/21.
    """
    changes = [30, *range(-10, 0), *range(1, 11)]
    rows = []
    for i, x in enumerate(changes, start=1):
        rows += [(f"{i:02d}", W1, 50, 100), (f"{i:02d}", W2, 50 + x, 100)]
    p = panel(rows)
    result = infer(p, before(p, W1), ["01"])
    assert result.estimation == pytest.approx(0.30)
    assert (result.tirages, result.p_valeur) == (21, pytest.approx(1 / 21))
    assert result.ic_bas == pytest.approx(0.30 - 2.10 / 19, abs=1e-5)
    assert result.ic_haut == pytest.approx(0.30 + 2.10 / 19, abs=1e-5)


# ---- the placebo ----------------------------------------------------------------------------------------------

def _eight_departments(effect: float) -> pd.DataFrame:
    """8 departments (01 and 02 pilots), each at its own steady rate for 3 weeks before the start (W3); after,
    the pilots gain `effect` and the others do not move."""
    rows = []
    for i in range(1, 9):
        level = 10 * i
        for week in (W1, W2, W3):
            rows.append((f"{i:02d}", week, level, 100))
        for week in (W4, W5):
            rows.append((f"{i:02d}", week, level + (100 * effect if i <= 2 else 0), 100))
    return panel(rows)


def test_placebo_on_the_weeks_before_finds_nothing() -> None:
    p = _eight_departments(0.2)
    assert placebo_start(p[p["date_fin"] <= W3], W3) == W2  # the middle of W1, W2, W3
    frame = evaluate(p, ["01", "02"], W3)
    main = frame[frame["indicateur"] == "taux_compensation"].iloc[0]
    # pilots +20 points, others flat; C(8, 2) = 28 assignments, only the real one reaches 20 points
    assert main["estimation"] == pytest.approx(0.20)
    assert (main["tirages"], main["p_valeur"]) == (28, pytest.approx(1 / 28))
    assert (main["semaines_avant"], main["semaines_apres"], main["pilotes"], main["temoins"]) == (3, 2, 2, 6)
    assert main["ic_bas"] > 0
    placebo = frame[frame["indicateur"] == "placebo_taux_compensation"].iloc[0]
    # W1, W2 against W3, all before the start: every rate is flat, nothing to find
    assert placebo["debut"] == W2
    assert (placebo["semaines_avant"], placebo["semaines_apres"]) == (2, 1)
    assert placebo["estimation"] == pytest.approx(0.0)
    assert placebo["p_valeur"] == pytest.approx(1.0)
    assert placebo["ic_bas"] <= 0 <= placebo["ic_haut"]
    assert placebo_verdict(placebo.to_dict()).startswith("Placebo (faux début au 14/01/2026, périodes d'avant "
                                                         "seulement) : rien de trouvé, comme attendu")


def test_placebo_needs_two_weeks_before() -> None:
    frame = evaluate(TWO_BY_TWO, ["17"], W1)
    placebo = frame[frame["indicateur"] == "placebo_taux_compensation"].iloc[0]
    assert placebo["tirages"] == 0 and pd.isna(placebo["estimation"])
    assert placebo_verdict(placebo.to_dict()) == ("Placebo impossible : il faut au moins deux périodes avant le "
                                                  "début de l'expérimentation.")


# ---- the verdict in French ------------------------------------------------------------------------------------

def _row(estimation: float | None, low: float | None, high: float | None, p: float | None, draws: int,
         indicateur: str = "taux_compensation") -> dict:
    return {"indicateur": indicateur, "estimation": estimation, "ic_bas": low, "ic_haut": high, "p_valeur": p,
            "tirages": draws, "pilotes": 3, "temoins": 9, "semaines_avant": 3, "semaines_apres": 4, "debut": W3}


def test_verdict_sentence() -> None:
    assert verdict(_row(0.2834, 0.1212, 0.4071, 2 / 220, 220)) == (
        f"Les pilotes compensent 28 points de plus de ce que l'outil signale (IC 95{NBSP}% : 12 à 41 ; "
        "p = 0,009 sur 220 tirages).")
    assert verdict(_row(0.031, -0.082, 0.138, 0.41, 220)) == (
        f"Non concluant : les pilotes compensent 3 points de plus de ce que l'outil signale, mais l'intervalle "
        f"contient 0 (IC 95{NBSP}% : -8 à 14 ; p = 0,41 sur 220 tirages).")
    assert verdict(_row(-0.004, -0.01, 0.002, 0.7, 220)) == (
        f"Non concluant : les pilotes compensent 0,4 point de moins de ce que l'outil signale, mais l'intervalle "
        f"contient 0 (IC 95{NBSP}% : -1,0 à 0,2 ; p = 0,7 sur 220 tirages).")
    assert verdict(_row(0.10, -math.inf, math.inf, 1.0, 2)) == (
        f"Non concluant : les pilotes compensent 10 points de plus de ce que l'outil signale, mais l'intervalle "
        f"contient 0 (IC 95{NBSP}% : non borné, trop peu de tirages pour exclure un effet ; p = 1 sur 2 tirages).")
    assert verdict(_row(-0.12, -0.2, -0.05, 0.0001, 10_000, "part_rembourse_a_risque")) == (
        f"Les pilotes laissent rembourser 12 points de moins de ce qui était compensable (IC 95{NBSP}% : -20 à -5 ; "
        "p < 0,001 sur 10000 tirages).")
    no_pilot = {**_row(None, None, None, None, 0), "pilotes": 0}
    assert verdict(no_pilot) == ("Pas d'estimation : aucun département pilote n'a de période à la fois avant et "
                                 "après le début.")


# ---- the indicators read from the history, stored and exported ------------------------------------------------

def _history(con: duckdb.DuckDBPyConnection) -> None:
    """Two departments, snapshots W1, W2, W3; only the columns the indicators read are in the positions."""
    create_tables(con, {k: HISTORY_DDL[k] for k in ("history.impact", "history.mouvements")})
    con.execute("CREATE TABLE history.positions_historique (departement VARCHAR, date_situation DATE, siren VARCHAR, "
                "dettes_amendes DECIMAL(18,2), dettes_spl DECIMAL(18,2), dettes_impots_pro DECIMAL(18,2), "
                "dettes_rnf DECIMAL(18,2))")
    con.execute("CREATE TABLE history.instantanes (departement VARCHAR, date_situation DATE)")
    for dept, signale, compensable in (("17", (300, 600), (1000, 1000)), ("44", (100, 150), (1000, 1000))):
        for (t0, t1), s, c in zip(((W1, W2), (W2, W3)), signale, compensable, strict=True):
            con.execute("INSERT INTO history.impact (departement, date_debut, date_fin, recouvre, annule, non_valeur, "
                        "sorties, nouvelles_dettes, compense, compense_signale, rembourse, rembourse_a_risque, "
                        "compensable_debut) VALUES (?, ?, ?, 0, 0, 0, 0, 0, ?, ?, 0, 0, ?)", [dept, t0, t1, s, s, c])
        for day in (W1, W2, W3):
            con.execute("INSERT INTO history.instantanes VALUES (?, ?)", [dept, day])
            # two companies: amendes 400 + 600 = 1 000 past due, impôts pro 2 000
            con.execute("INSERT INTO history.positions_historique VALUES (?, ?, '111', 400, 0, 2000, 0), "
                        "(?, ?, '222', 600, 0, 0, 0)", [dept, day, dept, day])
    # paid fines: 17: 100 then 250 (100 + 150 on two companies), 44: 50 then 60; a tax payment, a refund
    con.execute(f"""INSERT INTO history.mouvements VALUES
        ('17', '{W1}', '{W2}', '111', 'amendes', 'A1', 'PAIEMENT', 100),
        ('17', '{W2}', '{W3}', '111', 'amendes', 'A1', 'PAIEMENT', 100),
        ('17', '{W2}', '{W3}', '222', 'amendes', 'A2', 'PAIEMENT', 150),
        ('17', '{W2}', '{W3}', '111', 'impots_pro', 'T1', 'PAIEMENT', 500),
        ('44', '{W1}', '{W2}', '111', 'amendes', 'A1', 'PAIEMENT', 50),
        ('44', '{W2}', '{W3}', '111', 'amendes', 'A1', 'PAIEMENT', 60),
        ('44', '{W2}', '{W3}', '111', 'impots_pro', 'T1', 'REMBOURSEMENT', 80)""")


def test_indicators_from_the_history() -> None:
    with duckdb.connect() as con:
        _history(con)
        p = load_panel(con)
    assert set(p["indicateur"]) == set(INDICATORS)
    fines = p[(p["indicateur"] == "taux_recouvrement_amendes") & (p["departement"] == "17")]
    # paid fines over the past-due fines at t0 (1 000)
    assert [(r.date_fin, r.numerateur, r.denominateur) for r in fines.itertuples()] == [
        (W2, 100, 1000), (W3, 250, 1000)]
    taxes = p[(p["indicateur"] == "taux_recouvrement_impots_pro") & (p["departement"] == "44")]
    assert list(taxes["numerateur"]) == [0, 0]  # a refund is not a payment
    offsets = p[(p["indicateur"] == "taux_compensation") & (p["departement"] == "17")]
    assert list(offsets["numerateur"]) == [300, 600] and list(offsets["denominateur"]) == [1000, 1000]


def _read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    return list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))


def test_evaluation_stored_and_exported(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        _history(con)
        frame, start = run_evaluation(con, ["17"], W2)
        assert start == W2
        stored = read_evaluation(con)
    assert len(stored) == 2 * len(INDICATORS)
    offsets = stored[stored["indicateur"] == "taux_compensation"].iloc[0]
    # 17: 30 % → 60 %, 44: 10 % → 15 %: 30 − 5 = 25 points
    assert offsets["estimation"] == pytest.approx(0.25)
    out = tmp_path / "e.csv"
    assert cli.main(["export", "evaluation", "--out", str(out), "--warehouse", str(path)]) == 0
    rows = _read_csv(out)
    assert rows[0] == list(EXPORT_COLUMNS) == ["indicateur", "estimation", "ic_bas", "ic_haut", "p_valeur",
                                               "tirages", "pilotes", "temoins", "semaines_avant", "semaines_apres"]
    by_name = {r[0]: r for r in rows[1:]}
    # 2 assignments only: an unbounded interval is two empty cells; p = 1
    assert by_name["taux_compensation"] == ["taux_compensation", "0,2500", "", "", "1,0000", "2", "1", "1", "1", "1"]
    # fines: 17 10 % → 25 %, 44 5 % → 6 %: 15 − 1 = 14 points
    assert by_name["taux_recouvrement_amendes"][1] == "0,1400"
    # no placebo with one week before: empty figures, no draw
    assert by_name["placebo_taux_compensation"][1:6] == ["", "", "", "", "0"]


def test_export_evaluation_refuses_a_department_and_a_missing_evaluation(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        _history(con)
    assert cli.main(["export", "evaluation", "--out", str(tmp_path / "e.csv"), "--warehouse", str(path)]) == 1
    assert "experiment.evaluation" in capsys.readouterr().err
    assert cli.main(["export", "evaluation", "--departement", "17", "--out", str(tmp_path / "e.csv"),
                     "--warehouse", str(path)]) == 1
    assert "sans --departement" in capsys.readouterr().err


# ---- outcomes checked against the data (issue 19 point 5) ----------------------------------------------------

SNAPSHOTS_17 = [W1 + dt.timedelta(weeks=i) for i in range(6)]  # W1 … W6


def _outcomes_case() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    day = dt.timedelta(days=1)
    faits = pd.DataFrame([
        ("17", "111111111", W1 + day),  # next snapshots W2 … W5; an imputation shows at W3: confirmed
        ("17", "222222222", W1 + day),  # nothing in W2 … W5 (only at W6, the fifth): not seen
        ("17", "333333333", W4 + day),  # only W5 and W6 after it so far: pending
        ("17", "444444444", W2),        # recorded on W2's day: W2 is not later; W3 … W6 show nothing: not seen
        ("44", "111111111", W1 + day),  # same SIREN in another department: 17's movements do not count
    ], columns=["departement", "siren", "jour"])
    snapshots = pd.DataFrame([("17", d) for d in SNAPSHOTS_17] + [("44", W1), ("44", W2)],
                             columns=["departement", "date_situation"])
    evidence = pd.DataFrame([("17", W3, "111111111"), ("17", SNAPSHOTS_17[5], "222222222"),
                             ("17", W2, "444444444")], columns=["departement", "date_fin", "siren"])
    return faits, snapshots, evidence


def test_outcomes_done_are_confirmed_or_not_seen_by_later_snapshots() -> None:
    from onevision_dagster.experiment.outcomes_check import classify_outcomes, count_by_department

    checked = classify_outcomes(*_outcomes_case())
    assert [(r.departement, r.siren, r.statut, r.constate_le, r.instantanes_apres)
            for r in checked.itertuples()] == [
        ("17", "111111111", "confirme", W3, 4),
        ("17", "222222222", "non_constate", None, 4),
        ("17", "333333333", "en_attente", None, 2),
        ("17", "444444444", "non_constate", None, 4),
        ("44", "111111111", "en_attente", None, 1),
    ]
    counts = count_by_department(checked)
    assert counts.to_dict("records") == [
        {"departement": "17", "faits": 4, "confirme": 1, "non_constate": 2, "en_attente": 1},
        {"departement": "44", "faits": 1, "confirme": 0, "non_constate": 0, "en_attente": 1},
    ]


def test_the_movements_that_show_an_offset() -> None:
    from onevision_dagster.experiment.outcomes_check import EVIDENCE_SQL

    with duckdb.connect() as con:
        create_tables(con, {"history.mouvements": HISTORY_DDL["history.mouvements"]})
        con.execute(f"""INSERT INTO history.mouvements VALUES
            ('17', '{W1}', '{W2}', '111111111', 'credits_tva', 'C1', 'IMPUTATION', 100),
            ('17', '{W1}', '{W2}', '222222222', 'impots_pro', 'T1', 'PAIEMENT', 100),
            ('17', '{W1}', '{W2}', '333333333', 'amendes', 'A1', 'PAIEMENT', 100),
            ('17', '{W1}', '{W2}', '444444444', 'credits_tva', 'C2', 'REMBOURSEMENT', 100),
            ('17', '{W1}', '{W2}', '555555555', 'credits_tva', 'C3', 'IMPUTATION', 100)""")
        rows = con.execute(EVIDENCE_SQL + " ORDER BY siren",
                           {"sirens": ["111111111", "222222222", "333333333", "444444444"]}).fetchall()
    # an imputation or a tax payment counts; a paid fine or a refund does not; 555… was not asked for
    assert rows == [("17", W2, "111111111"), ("17", W2, "222222222")]


def test_offsets_done_read_from_the_application_store(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from onevision_dagster.app.store import metadata, resultats
    from onevision_dagster.reports.experiment_followup import offsets_done

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.sqlite'}")
    metadata.create_all(engine)
    stamp = dt.datetime(2026, 1, 7, 23, 30)  # UTC: 8 January in Paris
    rows = [("17", "compensations", "111111111", "FAIT"),
            ("17", "compensations", "222222222", "FAIT"), ("17", "compensations", "222222222", "NON_PERTINENT"),
            ("17", "compensations", "333333333", "NON_PERTINENT"), ("17", "compensations", "333333333", "FAIT"),
            ("17", "procedures", "444444444", "FAIT")]
    with engine.begin() as conn:
        for i, (dept, liste, siren, resultat) in enumerate(rows):
            conn.execute(resultats.insert().values(horodatage=stamp + dt.timedelta(minutes=i), utilisateur="agent",
                                                   departement=dept, liste=liste, siren=siren, resultat=resultat,
                                                   motif="AUTRE" if resultat == "NON_PERTINENT" else None))
    done = offsets_done(engine)
    engine.dispose()
    # the latest outcome per item counts; another worklist does not
    assert sorted(map(tuple, done.to_numpy().tolist())) == [("17", "111111111", dt.date(2026, 1, 8)),
                                                            ("17", "333333333", dt.date(2026, 1, 8))]


# ---- the dashboard: verdict at the top, start marked on the weekly chart, the checked outcomes ---------------

def _page(tmp_path: Path, effect: float) -> str:
    from onevision_dagster.experiment.outcomes_check import classify_outcomes
    from onevision_dagster.history.tables import IMPACT_NATIONAL_COLUMNS
    from onevision_dagster.reports.experiment_data import TREND_COLUMNS, ExperimentData
    from onevision_dagster.reports.experiment_followup import OUTCOME_COLUMNS, USAGE_COLUMNS, FollowUp
    from onevision_dagster.reports.experiment_page import render_experiment
    from onevision_dagster.reports.refunds_at_risk import AT_RISK_COLUMNS, TOTAL_COLUMNS

    evaluation = evaluate(_eight_departments(effect), ["01", "02"], W3)
    data = ExperimentData(("01", "02"), pd.DataFrame(columns=list(IMPACT_NATIONAL_COLUMNS)),
                          pd.DataFrame(columns=list(TREND_COLUMNS)), pd.DataFrame(columns=list(AT_RISK_COLUMNS)),
                          pd.DataFrame(columns=list(TOTAL_COLUMNS)), evaluation=evaluation)
    faits, snapshots, evidence = _outcomes_case()
    followup = FollowUp(True, "", pd.DataFrame(), pd.DataFrame(columns=list(OUTCOME_COLUMNS)),
                        pd.DataFrame(columns=list(USAGE_COLUMNS)), faits, classify_outcomes(faits, snapshots, evidence))
    return render_experiment(data, followup, tmp_path)


def test_dashboard_verdict_at_the_top(tmp_path: Path) -> None:
    import html

    page = html.unescape(_page(tmp_path, 0.2))
    sentence = (f"Les pilotes compensent 20 points de plus de ce que l'outil signale (IC 95{NBSP}% : 20 à 20 ; "
                "p = 0,036 sur 28 tirages).")
    assert sentence in page
    assert page.index("Verdict de l'expérimentation") < page.index("Chiffres clés")
    assert "Placebo (faux début au 14/01/2026, périodes d'avant seulement) : rien de trouvé" in page
    assert "Début de l'expérimentation : 21/01/2026" in page
    # the checked outcomes: 17 has 4 declared done, 1 confirmed, 2 not seen, 1 pending; 44 one pending
    assert "Compensations déclarées faites, vérifiées dans les extraits" in page
    flat = page.replace("\n", "")
    assert "<td>17</td><td>Autres départements</td><td" in flat
    no_effect = html.unescape(_page(tmp_path, 0.0))
    assert "Non concluant : les pilotes compensent autant de ce que l'outil signale que les autres départements, " \
           "mais l'intervalle contient 0" in no_effect


def test_weekly_chart_marks_the_start() -> None:
    from onevision_dagster.reports.charts_experiment import chart_taux

    weeks = pd.DataFrame({"semaine": ["2026-W02", "2026-W03", "2026-W04", "2026-W05"], "groupe": "pilotes",
                          "taux_compensation": [0.1, 0.1, 0.3, 0.3], "compense_signale": [1, 1, 3, 3],
                          "compensable_debut": [10, 10, 10, 10]})
    fig = chart_taux(weeks, W3)  # 21/01/2026 is in week 4: weeks 2, 3 and 4 are before
    (line,) = [s for s in fig.layout.shapes if s.type == "line"]
    assert line.x0 == line.x1 == 2.5  # between the third and the fourth category
    assert any(a.text == "Début de l'expérimentation (21/01/2026)" for a in fig.layout.annotations)
    assert not [s for s in chart_taux(weeks).layout.shapes if s.type == "line"]


def test_the_asset_stores_the_evaluation_with_the_configured_start(tmp_path: Path) -> None:
    import dagster as dg

    from onevision_dagster.assets.experiment import evaluation
    from onevision_dagster.errors import OneVisionError
    from onevision_dagster.resources import Settings, Warehouse

    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        _history(con)
    result = dg.materialize([evaluation], resources={"warehouse": Warehouse(path=str(path)),
                                                     "settings": Settings(pilotes="17", debut_pilote="2026-01-14")})
    assert result.success
    meta = result.asset_materializations_for_node("experiment__evaluation")[0].metadata
    assert meta["debut"].value == "14/01/2026"
    assert meta["verdict"].value.startswith("Non concluant : les pilotes compensent 25 points de plus")
    with duckdb.connect(str(path), read_only=True) as con:
        assert read_evaluation(con)["debut"].iloc[0] == W2
    # without a start: the first snapshot, nothing before it, nothing estimated
    dg.materialize([evaluation], resources={"warehouse": Warehouse(path=str(path)), "settings": Settings(pilotes="17")})
    with duckdb.connect(str(path), read_only=True) as con:
        first = read_evaluation(con).iloc[0]
    assert first["debut"] == W1 and pd.isna(first["estimation"]) and first["semaines_avant"] == 0
    with pytest.raises(OneVisionError, match="ONEVISION_DEBUT_PILOTE invalide"):
        Settings(debut_pilote="14/01/2026").pilot_start()


def test_a_warehouse_without_history_gets_an_empty_evaluation() -> None:
    with duckdb.connect() as con:
        frame, start = run_evaluation(con, ["17"], None)
        assert frame.empty and start is None
        assert read_evaluation(con).empty  # stored empty: the dashboard says there is no verdict, no error


# ---- end to end: the demo generator draws an experiment, the evaluation finds it -----------------------------

DEMO_DEPARTEMENTS = ("01", "13", "17", "21", "33", "35", "44", "59", "67", "69", "91", "95")
DEMO_PILOTES = ("17", "91", "95")
DEMO_LAST = dt.date(2026, 11, 27)
DEMO_START = DEMO_LAST - dt.timedelta(weeks=4)  # 8 weekly snapshots, the start on the 4th
DEMO_COMPANIES = 600


def _demo_evaluation(root: Path, effect: float) -> pd.DataFrame:
    """`onevision generate --departement <12> --instantanes 8 --debut-pilote <4th> --effet X`, the history as
    `onevision run` computes it (plain functions: no Dagster run per snapshot), then the evaluation."""
    from onevision_dagster import warehouse
    from onevision_dagster.consolidate.build import build_all
    from onevision_dagster.consolidate.snapshot import snapshot_dates
    from onevision_dagster.demo.generator import generate_landing
    from onevision_dagster.history.impact import build_impact
    from onevision_dagster.history.movements import build_movements
    from onevision_dagster.history.snapshots import build_snapshot
    from onevision_dagster.ingest.load import ingest_landing

    landing = root / "landing"
    generate_landing(landing, list(DEMO_DEPARTEMENTS), DEMO_COMPANIES, DEMO_LAST, 1, instantanes=8,
                     pilotes=DEMO_PILOTES, debut_pilote=DEMO_START, effet=effect)
    with duckdb.connect() as con:
        warehouse.create_raw_and_quality(con)
        ingest_landing(con, landing)
        for dept in build_all(con):
            days = snapshot_dates(con, dept)
            assert len(days) == 8
            for day in days:
                build_snapshot(con, dept, day)
            for day in days:
                build_movements(con, dept, day)
                build_impact(con, dept, day)
        frame, _ = run_evaluation(con, DEMO_PILOTES, DEMO_START)
    return frame.set_index("indicateur")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[float, pd.DataFrame]:
    """The same draw (seed 1) with --effet 0.3 and --effet 0: a few minutes, two histories of 96 snapshots."""
    return {effect: _demo_evaluation(tmp_path_factory.mktemp(f"demo_{effect}"), effect) for effect in (0.3, 0.0)}


def test_demo_experiment_effect_is_found_and_no_effect_is_not(demo: dict[float, pd.DataFrame]) -> None:
    found, none = demo[0.3].loc["taux_compensation"], demo[0.0].loc["taux_compensation"]
    # 12 departments, 3 pilots: C(12, 3) = 220 assignments; 3 pairs before the start, 4 after
    for offsets in (found, none):
        assert (offsets["tirages"], offsets["pilotes"], offsets["temoins"]) == (220, 3, 9)
        assert (offsets["semaines_avant"], offsets["semaines_apres"]) == (3, 4)
    # --effet 0: nothing found
    assert none["ic_bas"] <= 0 <= none["ic_haut"]
    # --effet 0.3: found, the interval excludes 0 and holds the effect drawn (issue 19): agents act on a company,
    # so 0.3 more probability of applying its flagged credits moves the offset rate (the share of the offsettable
    # amount offset) by 0.3 (demo/offsets.py)
    assert found["ic_bas"] > 0 and found["p_valeur"] < 0.05
    assert found["ic_bas"] <= 0.3 <= found["ic_haut"]


def test_demo_experiment_placebo_finds_nothing(demo: dict[float, pd.DataFrame]) -> None:
    for frame in demo.values():
        placebo = frame.loc["placebo_taux_compensation"]
        assert (placebo["semaines_avant"], placebo["semaines_apres"]) == (2, 1)
        assert placebo["ic_bas"] <= 0 <= placebo["ic_haut"]
    # the weeks before the start are drawn alike whatever the effect: the same placebo
    assert demo[0.3].loc["placebo_taux_compensation", "estimation"] == pytest.approx(
        demo[0.0].loc["placebo_taux_compensation", "estimation"])


def test_followup_verified_against_the_warehouse() -> None:
    from onevision_dagster.reports.experiment_followup import (
        OUTCOME_COLUMNS,
        USAGE_COLUMNS,
        FollowUp,
        with_verification,
    )

    faits, _, _ = _outcomes_case()
    followup = FollowUp(True, "", pd.DataFrame(), pd.DataFrame(columns=list(OUTCOME_COLUMNS)),
                        pd.DataFrame(columns=list(USAGE_COLUMNS)), faits)
    with duckdb.connect() as con:
        assert with_verification(con, followup).verification is None  # no history yet: nothing checked
        create_tables(con, {"history.mouvements": HISTORY_DDL["history.mouvements"]})
        con.execute("CREATE TABLE history.instantanes (departement VARCHAR, date_situation DATE)")
        con.executemany("INSERT INTO history.instantanes VALUES (?, ?)", [["17", d] for d in SNAPSHOTS_17])
        con.execute(f"INSERT INTO history.mouvements VALUES ('17', '{W2}', '{W3}', '111111111', 'credits_tva', 'C1', "
                    "'IMPUTATION', 100)")
        checked = with_verification(con, followup).verification
    assert dict(zip(checked["siren"] + "@" + checked["departement"], checked["statut"], strict=True)) == {
        "111111111@17": "confirme", "222222222@17": "non_constate", "333333333@17": "en_attente",
        "444444444@17": "non_constate", "111111111@44": "en_attente"}
