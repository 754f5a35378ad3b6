"""impots_pro (RSP / MEDOC): professional taxes in integer cents, with due dates, penalties and phases.

The tax code fits the debtor's legal category (`categories.PROFILES`). Due dates follow each tax's
calendar (CFE on 15 December, VAT on the 24th, the others on the 15th); some are after the file's date
(not yet due). Penalties and phase follow the age of the debt; the taxes a company owed before its
collective procedure opened are filed as claims (PASSIF_PROCEDURE) within two months of the judgment,
whether or not the register shows the procedure yet. Version 3: a company in a procedure may owe the CFE of its
judgment's year, due after the judgment though it arose before (not filed: a claim to declare), and a company
present in two departments owes due taxes in one of them (`cases`).
"""

from __future__ import annotations

import numpy as np

from onevision_dagster.contract.sources import IMPOTS_PRO
from onevision_dagster.demo import cases, shares
from onevision_dagster.demo.bad_rows import Fill, paid_more
from onevision_dagster.demo.categories import TAX_WEIGHTS
from onevision_dagster.demo.cells import NO_DATE, cents_lognormal, dates, join, pad, pick, s, where, year_start, years
from onevision_dagster.demo.department import Department, debtors
from onevision_dagster.demo.frames import Frame
from onevision_dagster.demo.hashing import choice, weighted_rows
from onevision_dagster.demo.lines import SourceModel, Window

CODES = IMPOTS_PRO.column("CODE_IMPOT").codes  # CFE TVA IS CVAE TS IFER TASCOM
CFE, TVA = CODES.index("CFE"), CODES.index("TVA")
PHASES = IMPOTS_PRO.column("PHASE").codes  # AMIABLE MISE_EN_DEMEURE SATD PASSIF_PROCEDURE
AMIABLE, MISE_EN_DEMEURE, SATD, PASSIF = range(4)
SURCHARGE = 0.10  # majoration of a tax unpaid after a formal notice


def _calendar(raw: np.ndarray, code: np.ndarray) -> tuple[np.ndarray, object]:
    """(due date, PERIODE cell) of taxes assessed around `raw`."""
    month = raw.astype("datetime64[D]").astype("datetime64[M]")
    year = month.astype("datetime64[Y]")
    first = month.astype("datetime64[D]").astype(np.int64)
    december = (year.astype("datetime64[M]") + 11).astype("datetime64[D]").astype(np.int64)
    due = np.select([code == CFE, code == TVA], [december + 14, first + 23], first + 14)
    y = year.astype(np.int64) + 1970
    prev_month = month - 1
    pm_y = prev_month.astype("datetime64[Y]").astype(np.int64) + 1970
    pm_m = (prev_month.astype(np.int64) % 12) + 1
    periode = where(code == TVA, join(s(pm_y), pad(pm_m, 2)), s(np.where(code == CFE, y, y - 1)))
    return due, periode


def _cases(ctx: Department, rng: np.random.Generator, k: int, w: Window) -> tuple[np.ndarray, ...]:
    """Version 3 cases of the first snapshot's stock: (positions, companies) of the CFE of a judgment's year,
    then of the due taxes of multi-department companies owing here."""
    none = np.zeros(0, dtype=np.int64)
    if not w.stock:
        return none, none, none, none
    pool = ctx.pool
    cand = cases.judged(pool, ctx.lay.n, ctx.latest + 1)
    jug = pool["jugement"][cand]
    dec15 = year_start(years(jug), 12, 15)
    cfe_ok = TAX_WEIGHTS[pool["profile"][cand], CFE] > 0  # never a company without premises (3220)
    cand = cand[(dec15 > jug) & (years(jug) <= years(np.array([w.t]))[0]) & cfe_ok]
    taken = np.zeros(k, dtype=bool)
    cfe_pos, cfe_cos = cases.place(rng, taken, cases.chosen(rng, cand, shares.CFE_OF_JUDGMENT_YEAR))
    cross_pos, cross_cos = cases.place(rng, taken, ctx.cross_idx[~ctx.cross_credit])
    return cfe_pos, cfe_cos, cross_pos, cross_cos


def build(ctx: Department, rng: np.random.Generator, k: int, w: Window) -> Frame:
    idx, _ = debtors(ctx, rng, k, la_poste=1 if w.stock else 0, snapshot=w.snapshot)
    pool = ctx.pool
    cfe_pos, cfe_cos, cross_pos, cross_cos = _cases(ctx, rng, k, w)
    idx[cfe_pos], idx[cross_pos] = cfe_cos, cross_cos
    code = weighted_rows(rng.random(k), TAX_WEIGHTS, pool["profile"][idx])
    code[cfe_pos] = CFE
    if w.stock:
        future = rng.random(k) < shares.TAX_NOT_YET_DUE_SHARE
        future[cross_pos] = False  # a multi-department company's taxes here are due
        raw = np.where(future, w.t + 1 + rng.integers(0, 120, k), w.t - rng.integers(0, 1500, k))
    else:  # assessed this week: half already due (a VAT return filed unpaid), half due within three months
        future = rng.random(k) < 0.5
        raw = np.where(future, w.t + 1 + rng.integers(0, 90, k), w.born(rng, k, 1))
    due, periode = _calendar(raw, code)
    # the calendar may move a date across the file's date (a CFE of this year is due on 15 December):
    # one period earlier or later puts it back on the intended side
    wrong = (due > w.t) != future
    if wrong.any():
        step = np.where(code == CFE, 365, 31) * np.where(future, 1, -1)
        due2, periode2 = _calendar(np.where(wrong, raw + step, raw), code)
        due, periode = np.where(wrong, due2, due), where(wrong, periode2, periode)
    # the CFE of the judgment's year: arose on 1 January, due on 15 December, after the judgment
    if len(cfe_pos):
        cfe_year = years(pool["jugement"][cfe_cos])
        due[cfe_pos] = year_start(cfe_year, 12, 15)
        year_cells = np.zeros(k, dtype=np.int64)
        year_cells[cfe_pos] = cfe_year
        periode = where(np.isin(np.arange(k), cfe_pos), s(year_cells), periode)
    droits = cents_lognormal(rng, 2500, 1.3, k)
    age = w.t - due
    u = rng.random(k)
    if w.stock:
        esc = np.select([age <= 30, age <= 120], [AMIABLE, np.where(u < 0.6, MISE_EN_DEMEURE, AMIABLE)],
                        np.where(u < 0.35, SATD, np.where(u < 0.8, MISE_EN_DEMEURE, AMIABLE)))
    else:
        esc = np.full(k, AMIABLE)
    late = (esc == AMIABLE) & (age > 0) & (rng.random(k) < 0.2)  # a 5 % surcharge for a late return
    pen = np.round(droits * np.select([esc != AMIABLE, late], [SURCHARGE, 0.05], 0.0)).astype(np.int64)
    total = droits + pen
    st = rng.random(k)
    in_full, in_part = np.where(age >= 0, 0.25, 0.03), np.where(age >= 0, 0.40, 0.06)
    partial = (total * rng.uniform(0.05, 0.95, k)).astype(np.int64)
    paid = np.where(st < in_full, total, np.where(st < in_part, partial, 0))
    if not w.stock:
        paid = np.zeros(k, dtype=np.int64)
    # claims filed in the debtor's collective procedure: its taxes born before the judgment
    jug = pool["jugement"][idx]
    before = (jug != NO_DATE) & (due <= jug + 30) & (rng.random(k) < shares.CLAIM_FILED_SHARE)
    lo, hi = shares.CLAIM_FILED_DAYS
    claim = np.where(before, jug + rng.integers(lo, hi + 1, k), NO_DATE)
    filed = (claim != NO_DATE) & (claim <= w.t)
    paid = np.where(filed & (paid == total), 0, paid)  # a claim is filed for what is still owed
    sursis = choice(rng, (shares.TAX_SURSIS_SHARE, 1 - shares.TAX_SURSIS_SHARE), k) == 0
    # the cases stay owed and pursuable as far as the file shows: not paid, not stayed, not filed yet
    case = np.concatenate([cfe_pos, cross_pos])
    paid[case], sursis[case], claim[case] = 0, False, NO_DATE
    seq = w.seq0 + np.arange(k)
    return {
        "SIREN": pad(pool["siren"][idx], 9),
        "REF_ARTICLE": join(s(years(due)), pick(CODES, code), ctx.code, pad(seq, 8)),
        "CODE_IMPOT": pick(CODES, code),
        "PERIODE": periode,
        "DATE_EXIGIBILITE": dates(due, "YYYYMMDD"),
        "deb": idx,
        "siren": pool["siren"][idx],
        "code": code,
        "due": due.astype(np.int64),
        "droits": droits.astype(np.int64),
        "pen": pen,
        "paid": paid.astype(np.int64),
        "esc": esc.astype(np.int64),
        "claim": claim.astype(np.int64),
        "sursis": sursis,
    }


def filed(lines: Frame, t: int) -> np.ndarray:
    """Lines filed as claims in a collective procedure at date t (PHASE = PASSIF_PROCEDURE)."""
    return (lines["claim"] != NO_DATE) & (lines["claim"] <= t)


def cells(lines: Frame, t: int) -> dict:
    out = {c: lines[c] for c in IMPOTS_PRO.column_names if c in lines}
    out["MT_DROITS_CTS"] = s(lines["droits"])
    out["MT_PENALITES_CTS"] = s(lines["pen"])
    out["MT_PAYE_CTS"] = s(lines["paid"])
    # a claim is filed for what is still owed: a tax paid before its filing date stays at its phase
    owed = lines["droits"] + lines["pen"] - lines["paid"] > 0
    out["PHASE"] = pick(PHASES, np.where(filed(lines, t) & owed, PASSIF, lines["esc"]))
    out["SURSIS"] = pick(("N", "O"), lines["sursis"].astype(np.int64))
    return out


def fresh_key(ctx: Department, t: int) -> Fill:
    year = str(years(np.array([t]))[0])

    def fill(row: dict[str, str], i: int) -> None:
        row["REF_ARTICLE"] = f"{year}{row['CODE_IMPOT']}{ctx.code}{90_000_000 + i:08d}"

    return fill


MODEL = SourceModel(
    IMPOTS_PRO, build, cells, fresh_key, paid_more(IMPOTS_PRO, ("MT_DROITS_CTS", "MT_PENALITES_CTS"), "MT_PAYE_CTS")
)
