"""What happens to debt lines in a week: payments, cancellations and reliefs, write-offs, penalties, steps.

Each function moves the lines of one debt source from the previous snapshot to the next one (SOURCES.md
section 9 names the movements this produces: PAIEMENT, ANNULATION, NON_VALEUR, HAUSSE). Every draw is a
vector over the lines; amounts stay in integer cents and never break a rule between cells (paid <= due,
remaining <= title). Lines leave the extract and new ones arrive in `history`.
"""

from __future__ import annotations

import numpy as np

from onevision_dagster.demo import fines, rnf, shares, spl, taxes
from onevision_dagster.demo.frames import Frame


def _share(rng: np.random.Generator, reste: np.ndarray, lo: float = 0.1, hi: float = 0.6) -> np.ndarray:
    """A partial payment: a fraction of what remains, never all of it."""
    return np.minimum((reste * rng.uniform(lo, hi, len(reste))).astype(np.int64), np.maximum(reste - 1, 0))


def _bands(u: np.ndarray, *probs: float) -> list[np.ndarray]:
    """Disjoint events from one uniform draw: [0, p1), [p1, p1 + p2), ..."""
    edges = np.cumsum((0.0, *probs))
    return [(u >= a) & (u < b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def fines_week(lines: Frame, rng: np.random.Generator, t: int) -> None:
    st, due, paid = lines["statut"], lines["due"], lines["paid"]
    n = len(st)
    open_ = st == fines.OPEN
    u = rng.random(n)
    full, part, cancel, woff = _bands(u, shares.PAID_IN_FULL, shares.PAID_IN_PART, shares.CANCELLED,
                                      shares.WRITTEN_OFF)
    full, part, cancel = full & open_, part & open_, cancel & open_
    woff = woff & open_ & (t - lines["majoration"] >= 365)  # written off after a year of vain pursuit
    back = (st == fines.WRITTEN_OFF) & (u < shares.WRITTEN_OFF_PAID)  # better fortune: paid after all
    paid += np.where(part, _share(rng, due - paid), 0)
    paid[full | back] = due[full | back]
    st[full | back] = fines.PAID
    st[cancel] = fines.CANCELLED
    st[woff] = fines.WRITTEN_OFF


def fines_open(lines: Frame) -> np.ndarray:
    return (lines["statut"] == fines.OPEN) | (lines["statut"] == fines.WRITTEN_OFF)


def spl_week(lines: Frame, rng: np.random.Generator, t: int) -> None:
    reste, montant, etape = lines["reste"], lines["montant"], lines["etape"]
    n = len(reste)
    open_ = reste > 0
    seized = etape == spl.SAISIE
    u = rng.random(n)
    part_p = np.where(seized, shares.PAID_IN_PART_SEIZURE, shares.PAID_IN_PART)
    full = open_ & (u < shares.PAID_IN_FULL)
    part = open_ & (u >= shares.PAID_IN_FULL) & (u < shares.PAID_IN_FULL + part_p)
    reduce = open_ & ~full & ~part & (rng.random(n) < shares.CANCELLED)
    cut = np.where(reduce, np.maximum((reste * rng.uniform(0.1, 1.0, n)).astype(np.int64), 1), 0)
    reste -= np.where(part, _share(rng, reste), 0)
    reste[full] = 0
    montant -= cut  # a reduction lowers the title and what remains of it alike
    reste -= cut
    # the next step of the recovery for titles unpaid a month after they were issued (contested ones wait)
    nxt = open_ & (reste > 0) & (etape != spl.CONTESTATION) & (etape != spl.SAISIE) & (t - lines["emission"] > 30)
    step = nxt & (rng.random(n) < shares.SEIZED)
    etape[step] = np.select(
        [etape[step] == spl.AMIABLE, etape[step] == spl.RELANCE], [spl.RELANCE, spl.MISE_EN_DEMEURE], spl.SAISIE
    )


def spl_open(lines: Frame) -> np.ndarray:
    return lines["reste"] > 0


def taxes_open(lines: Frame) -> np.ndarray:
    return lines["droits"] + lines["pen"] - lines["paid"] > 0


def taxes_week(lines: Frame, rng: np.random.Generator, t_prev: int, t: int) -> None:
    droits, pen, paid, esc, due = lines["droits"], lines["pen"], lines["paid"], lines["esc"], lines["due"]
    n = len(droits)
    # stayed (sursis) or filed in a procedure: neither pursued nor paid
    active = taxes_open(lines) & ~lines["sursis"] & ~taxes.filed(lines, t)
    age = t - due
    # a formal notice (and its surcharge) a month after the due date, a garnishment (SATD) after three
    u = rng.random(n)
    notice = active & (esc == taxes.AMIABLE) & (age > 30) & (u < shares.ESCALATED)
    pen += np.where(notice, np.round(droits * taxes.SURCHARGE).astype(np.int64), 0)
    esc[notice] = taxes.MISE_EN_DEMEURE
    seize = active & ~notice & (esc == taxes.MISE_EN_DEMEURE) & (age > 90) & (u < shares.SEIZED)
    esc[seize] = taxes.SATD
    total = droits + pen
    v = rng.random(n)
    fell_due = active & (due > t_prev) & (age >= 0)
    on_time = fell_due & (v < shares.PAID_WHEN_DUE)
    due_now = active & ~fell_due & (age >= 0)
    part_p = np.where(esc == taxes.SATD, shares.PAID_IN_PART_SEIZURE, shares.PAID_IN_PART)
    full = on_time | (due_now & (v < shares.PAID_IN_FULL)) | (active & (age < 0) & (v < 0.01))
    part = due_now & (v >= shares.PAID_IN_FULL) & (v < shares.PAID_IN_FULL + part_p)
    paid += np.where(part, _share(rng, total - paid), 0)
    paid[full] = total[full]
    # a tax relief (dégrèvement) on a due tax: the duties go down by part or all of what remains
    relief = active & ~full & (age >= 0) & (rng.random(n) < shares.CANCELLED)
    room = np.minimum(total - paid, droits)  # never below what was paid
    cut = np.where(relief, np.maximum((room * rng.uniform(0.1, 1.0, n)).astype(np.int64), 1), 0)
    droits -= np.minimum(cut, room)


def rnf_open(lines: Frame) -> np.ndarray:
    return (lines["statut"] <= rnf.IN_RECOVERY) & (lines["montant"] > lines["recouvre"])


def rnf_week(lines: Frame, rng: np.random.Generator, t: int) -> None:
    st, montant, recouvre = lines["statut"], lines["montant"], lines["recouvre"]
    n = len(st)
    open_ = rnf_open(lines)
    u = rng.random(n)
    full, part, cancel = _bands(u, shares.PAID_IN_FULL, shares.PAID_IN_PART, shares.CANCELLED)
    full, part, cancel = full & open_, part & open_, cancel & open_
    recouvre += np.where(part, _share(rng, montant - recouvre), 0)
    recouvre[full] = montant[full]
    st[full] = rnf.SETTLED
    st[cancel] = rnf.CANCELLED
    taken = open_ & ~full & ~cancel & (st == rnf.TAKEN_UP) & (rng.random(n) < shares.RNF_TAKEN_UP)
    st[taken] = rnf.IN_RECOVERY
