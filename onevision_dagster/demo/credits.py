"""The three credit sources: VAT refund claims, overpayments, corporate-tax (IS) receivables.

Who holds a credit fits its legal category (an association rarely claims a VAT refund, a GIE or a sole
trader holds no IS receivable: `categories.PROFILES`). Dates fit statuses: a filed claim is recent, a
research tax credit of a large company is refundable only from 1 January of the fourth year after its
exercise (certain but not yet due), a refunded receivable was refundable when it was paid.
"""

from __future__ import annotations

import numpy as np

from onevision_dagster.contract.sources import CREANCES_IS, CREDITS_TVA, EXCEDENTS
from onevision_dagster.demo import cases, shares
from onevision_dagster.demo.bad_rows import Fill, py_amount, py_cents
from onevision_dagster.demo.categories import IS_RECEIVABLE_CHANCE, TAX_CODES, TAX_WEIGHTS, VAT_CLAIM_CHANCE
from onevision_dagster.demo.cells import (
    NO_DATE,
    amount,
    cents_lognormal,
    dates,
    join,
    nulls,
    pad,
    pick,
    s,
    where,
    year_start,
    years,
)
from onevision_dagster.demo.department import Department, debtors
from onevision_dagster.demo.frames import Frame
from onevision_dagster.demo.hashing import choice, weighted_rows
from onevision_dagster.demo.lines import SourceModel, Window

# ----- credits_tva ---------------------------------------------------------------------------------------
# contract version 2's statuses (IMPUTEE: the refund was applied to the company's debts)
VAT_STATUTS = tuple(shares.VAT_STATUTS)
FILED, REVIEWED, GRANTED, REJECTED, REFUNDED, APPLIED = range(len(VAT_STATUTS))
VAT_WITH_AMOUNT = (GRANTED, REFUNDED, APPLIED)  # MONTANT_ACCORDE filled (required for the three in version 3)
_VAT_MAX_AGE = np.array([30, 120, 90, 900, 900, 900])  # days since filing, per status, in the first snapshot


def vat_build(ctx: Department, rng: np.random.Generator, k: int, w: Window) -> Frame:
    idx, _ = debtors(ctx, rng, k, la_poste=0, snapshot=w.snapshot, chance=VAT_CLAIM_CHANCE)
    statut = choice(rng, list(shares.VAT_STATUTS.values()), k) if w.stock else np.full(k, FILED)
    depot = w.t - (rng.random(k) * _VAT_MAX_AGE[statut]).astype(np.int64) if w.stock else w.born(rng, k, 1)
    prev = depot.astype("datetime64[D]").astype("datetime64[M]") - 1
    periode = join(s(prev.astype("datetime64[Y]").astype(np.int64) + 1970), pad(prev.astype(np.int64) % 12 + 1, 2))
    demande = cents_lognormal(rng, 8000, 1.2, k)
    accorde = np.where(rng.random(k) < 0.7, demande, (demande * rng.uniform(0.5, 0.99, k)).astype(np.int64))
    siren = ctx.pool["siren"][idx]
    return {
        "SIREN": pad(siren, 9),
        "NUM_DEMANDE": join("3519-", s(years(depot)), "-", ctx.code, "-", pad(w.seq0 + np.arange(k), 7)),
        "DATE_DEPOT": dates(depot, "DD/MM/YYYY"),
        "PERIODE": periode,
        "MONTANT_DEMANDE": amount(demande, ","),
        "deb": idx,
        "siren": siren,
        "demande": demande.astype(np.int64),
        "accorde": accorde.astype(np.int64),
        "statut": statut.astype(np.int64),
    }


def vat_cells(lines: Frame, t: int) -> dict:
    out = {c: lines[c] for c in CREDITS_TVA.column_names if c in lines}
    granted = np.isin(lines["statut"], VAT_WITH_AMOUNT)
    out["MONTANT_ACCORDE"] = where(granted, amount(lines["accorde"], ","), nulls(len(granted)))
    out["STATUT"] = pick(VAT_STATUTS, lines["statut"])
    return out


def vat_fresh_key(ctx: Department, t: int) -> Fill:
    year = str(years(np.array([t]))[0])

    def fill(row: dict[str, str], i: int) -> None:
        row["NUM_DEMANDE"] = f"3519-{year}-{ctx.code}-{9_000_000 + i:07d}"

    return fill


def vat_rule(row: dict[str, str], rng: np.random.Generator) -> None:
    r = rng.random()
    asked = py_cents(row["MONTANT_DEMANDE"])
    # version 3: a refunded or applied claim needs its amount as much as a granted one
    with_amount = ("ACCORDEE", "REMBOURSEE", "IMPUTEE")[int(rng.integers(3))]
    if r < 1 / 3:  # granted, paid or applied more than claimed
        row["STATUT"] = with_amount
        more = asked + 1 + int(rng.integers(max(asked, 100)))
        row["MONTANT_ACCORDE"] = py_amount(more, CREDITS_TVA, "MONTANT_ACCORDE")
    elif r < 2 / 3:  # granted, paid or applied without an amount
        row["STATUT"] = with_amount
        row["MONTANT_ACCORDE"] = ""
    else:  # an amount for a claim not granted
        row["STATUT"] = ("DEPOSEE", "EN_INSTRUCTION", "REJETEE")[int(rng.integers(3))]
        row["MONTANT_ACCORDE"] = row["MONTANT_DEMANDE"]


VAT = SourceModel(CREDITS_TVA, vat_build, vat_cells, vat_fresh_key, vat_rule)

# ----- excedents -----------------------------------------------------------------------------------------
EXC_STATUTS = EXCEDENTS.column("STATUT").codes  # A_RESTITUER RESTITUE IMPUTE
TO_RETURN, RETURNED, EXC_APPLIED = (EXC_STATUTS.index(c) for c in shares.EXCEDENT_STATUTS)
_IMPOTS = EXCEDENTS.column("IMPOT").codes  # CVAE IS CFE TS TVA
_IMPOT_WEIGHTS = TAX_WEIGHTS[:, [TAX_CODES.index(c) for c in _IMPOTS]]


def exc_build(ctx: Department, rng: np.random.Generator, k: int, w: Window) -> Frame:
    idx, _ = debtors(ctx, rng, k, la_poste=0, snapshot=w.snapshot)
    # version 3: multi-department companies hold an overpayment to give back here (and owe taxes elsewhere):
    # one in the first snapshot's stock, then a new one now and then
    cross = ctx.cross_idx[ctx.cross_credit]
    if not w.stock:
        cross = cases.chosen(rng, cross, shares.CROSS_NEW_CREDIT_PER_WEEK)
    case, cos = cases.place(rng, np.zeros(k, dtype=bool), cross)
    idx[case] = cos
    impot = weighted_rows(rng.random(k), _IMPOT_WEIGHTS, ctx.pool["profile"][idx])
    statut = choice(rng, list(shares.EXCEDENT_STATUTS.values()), k) if w.stock else np.full(k, TO_RETURN)
    statut[case] = TO_RETURN
    constat = w.t - rng.integers(0, np.where(statut == TO_RETURN, 120, 700)) if w.stock else w.born(rng, k, 1)
    year = years(np.array([w.t]))[0]
    exercice = year - 1 - (rng.integers(0, 4, k) if w.stock else 0)
    montant = cents_lognormal(rng, 2000, 1.3, k)
    siren = ctx.pool["siren"][idx]
    return {
        "SIREN": pad(siren, 9),
        "REF_EXCEDENT": join("EXC-", s(years(constat)), "-", ctx.code, "-", pad(w.seq0 + np.arange(k), 7)),
        "IMPOT": pick(_IMPOTS, impot),
        "EXERCICE": s(np.broadcast_to(exercice, (k,))),
        "MONTANT": amount(montant, ","),
        "DATE_CONSTAT": dates(constat, "DD/MM/YYYY"),
        "deb": idx,
        "siren": siren,
        "montant": montant.astype(np.int64),
        "statut": statut.astype(np.int64),
    }


def exc_cells(lines: Frame, t: int) -> dict:
    out = {c: lines[c] for c in EXCEDENTS.column_names if c in lines}
    out["STATUT"] = pick(EXC_STATUTS, lines["statut"])
    return out


def exc_fresh_key(ctx: Department, t: int) -> Fill:
    year = str(years(np.array([t]))[0])

    def fill(row: dict[str, str], i: int) -> None:
        row["REF_EXCEDENT"] = f"EXC-{year}-{ctx.code}-{9_000_000 + i:07d}"

    return fill


OVERPAYMENTS = SourceModel(EXCEDENTS, exc_build, exc_cells, exc_fresh_key)

# ----- creances_is ---------------------------------------------------------------------------------------
IS_STATUTS = CREANCES_IS.column("STATUT").codes  # EN_COURS REMBOURSABLE REMBOURSEE IMPUTEE
IN_REVIEW, REFUNDABLE, IS_REFUNDED, IS_APPLIED = (IS_STATUTS.index(c) for c in shares.IS_STATUTS)
IS_TYPES = CREANCES_IS.column("TYPE_CREANCE").codes  # CIR CII CARRY_BACK EXCEDENT_ACOMPTES AUTRE
CIR, CII, CARRY_BACK, EXCESS_INSTALMENTS, OTHER = (IS_TYPES.index(c) for c in shares.IS_TYPES)


def refundable_from(rng: np.random.Generator, kind: np.ndarray, exercice: np.ndarray) -> np.ndarray:
    """When a receivable can be paid: research / innovation credits of an SME and excess instalments after
    the return (15 May of the next year); other CIR / CII from 1 January of the fourth year; a carry-back
    after five years; half of the others have no date (refundable at once)."""
    k = len(kind)
    after_return = year_start(exercice + 1, 5, 15)
    sme = rng.random(k) < shares.CIR_SME_SHARE
    out = np.select(
        [np.isin(kind, (CIR, CII)) & ~sme, np.isin(kind, (CIR, CII)), kind == CARRY_BACK, kind == EXCESS_INSTALMENTS],
        [year_start(exercice + 4), after_return, year_start(exercice + 6), after_return],
        np.where(rng.random(k) < 0.5, NO_DATE, after_return),
    )
    return out.astype(np.int64)


def is_build(ctx: Department, rng: np.random.Generator, k: int, w: Window) -> Frame:
    idx, _ = debtors(ctx, rng, k, la_poste=0, snapshot=w.snapshot, chance=IS_RECEIVABLE_CHANCE)
    kind = choice(rng, list(shares.IS_TYPES.values()), k)
    year = years(np.array([w.t]))[0]
    statut = choice(rng, list(shares.IS_STATUTS.values()), k) if w.stock else np.full(k, IN_REVIEW)
    # a receivable under review is of a recent exercise; settled ones may be older
    back = np.where(statut == IN_REVIEW, rng.integers(0, 2, k), rng.integers(0, 5, k)) if w.stock else 0
    exercice = year - 1 - back + np.zeros(k, dtype=np.int64)
    remb = refundable_from(rng, kind, exercice)
    if w.stock:
        # paid or applied only once refundable: those not refundable yet are still certain, not yet due
        early = np.isin(statut, (IS_REFUNDED, IS_APPLIED)) & (remb != NO_DATE) & (remb > w.t)
        statut = np.where(early, REFUNDABLE, statut)
    montant = cents_lognormal(rng, 15000, 1.2, k)
    siren = ctx.pool["siren"][idx]
    return {
        "SIREN": pad(siren, 9),
        "REF_CREANCE": join("CIS-", s(exercice), "-", ctx.code, "-", pad(w.seq0 + np.arange(k), 7)),
        "TYPE_CREANCE": pick(IS_TYPES, kind),
        "EXERCICE": s(exercice),
        "MONTANT": amount(montant, ","),
        "DATE_REMBOURSABLE": dates(remb, "DD/MM/YYYY"),
        "deb": idx,
        "siren": siren,
        "montant": montant.astype(np.int64),
        "statut": statut.astype(np.int64),
        "remboursable": remb,
    }


def is_cells(lines: Frame, t: int) -> dict:
    out = {c: lines[c] for c in CREANCES_IS.column_names if c in lines}
    out["STATUT"] = pick(IS_STATUTS, lines["statut"])
    return out


def is_fresh_key(ctx: Department, t: int) -> Fill:
    year = str(years(np.array([t]))[0])

    def fill(row: dict[str, str], i: int) -> None:
        row["REF_CREANCE"] = f"CIS-{year}-{ctx.code}-{9_000_000 + i:07d}"

    return fill


IS_RECEIVABLES = SourceModel(CREANCES_IS, is_build, is_cells, is_fresh_key)


def is_due(lines: Frame, t: int) -> np.ndarray:
    """IS receivables refundable at date t (empty date: at once)."""
    return (lines["remboursable"] == NO_DATE) | (lines["remboursable"] <= t)
