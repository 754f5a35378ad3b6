"""What happens to credits in a week, and the offsets that pay taxes with them.

A certain, due credit (an accepted VAT refund, an overpayment to give back, an IS receivable refundable
now) is settled within a few weeks: either refunded to the company, or — when the company owes due taxes
that can be offset (art. L. 257 B LPF: not stayed, not filed in a procedure, no judgment opened) — applied
to those taxes, which are then paid by the same amount, oldest first (IMPUTEE / IMPUTE; the movement
IMPUTATION of section 9). The credits the tool flags (certain, due, their company owing such taxes) are applied
with a small weekly chance everywhere, all of one company's together; after the experiment's start, pilot
departments, whose agents see the flags, apply them with `effect` more (`generate --effet`): that difference is
what the experiment measures. A credit is
applied whole (one status per line): when it exceeds the taxes, they are paid in full and the rest goes back to
the company unseen, which is why section 9 caps `compense_signale` at the offsettable amount. Credits under
review move on meanwhile.
"""

from __future__ import annotations

import numpy as np

from onevision_dagster.demo import credits as cr
from onevision_dagster.demo import shares, taxes
from onevision_dagster.demo.cells import NO_DATE
from onevision_dagster.demo.department import Department
from onevision_dagster.demo.frames import Frame
from onevision_dagster.demo.movements import taxes_open

CREDIT_SOURCES = ("credits_tva", "excedents", "creances_is")


def group_sum(ids: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact integer sums per group id (cents)."""
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, ids, values.astype(np.int64))
    return out


def _cumsum_within(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of `values` within each id, in the order given (ids need not be sorted)."""
    order = np.argsort(ids, kind="stable")
    v = values[order].astype(np.int64)
    cum = np.cumsum(v)
    sid = ids[order]
    starts = np.r_[0, np.flatnonzero(sid[1:] != sid[:-1]) + 1]
    base = np.repeat(cum[starts] - v[starts], np.diff(np.r_[starts, len(sid)]))
    out = np.empty(len(ids), dtype=np.int64)
    out[order] = cum - base
    return out


def certain(lines: dict[str, Frame], t: int) -> dict[str, np.ndarray]:
    """Certain amount (cents) of each credit line that is certain and due at date t, else 0."""
    vat, exc, is_ = lines["credits_tva"], lines["excedents"], lines["creances_is"]
    return {
        "credits_tva": np.where(vat["statut"] == cr.GRANTED, vat["accorde"], 0),
        "excedents": np.where(exc["statut"] == cr.TO_RETURN, exc["montant"], 0),
        "creances_is": np.where((is_["statut"] == cr.REFUNDABLE) & cr.is_due(is_, t), is_["montant"], 0),
    }


def offsettable_taxes(tx: Frame, t: int, staying: np.ndarray) -> np.ndarray:
    """Remaining due (cents) of the tax lines a credit may be applied to at date t, else 0."""
    ok = taxes_open(tx) & ~tx["sursis"] & (tx["due"] <= t) & ~taxes.filed(tx, t) & staying
    return np.where(ok, tx["droits"] + tx["pen"] - tx["paid"], 0)


def settle_chances(effect: float) -> tuple[float, float]:
    """(applied, refunded) weekly probabilities of a flagged credit, `effect` more applied than the base: taken
    from the refunds first, then from the credits that would have stayed."""
    if not 0 <= effect <= shares.MAX_PILOT_EFFECT:
        raise ValueError(f"effect must be within [0, {shares.MAX_PILOT_EFFECT:g}]")
    return shares.FLAGGED_APPLIED + effect, max(shares.FLAGGED_REFUNDED - effect, 0.0)


def settle(ctx: Department, lines: dict[str, Frame], staying: dict[str, np.ndarray], rng: np.random.Generator,
           t_prev: int, effect: float = 0.0) -> None:
    """Refunds and offsets of the credits that were certain and due at the previous snapshot; `effect` is the
    pilots' extra probability of applying a flagged credit (0 elsewhere, and before the experiment's start)."""
    amounts = certain(lines, t_prev)
    tx = lines["impots_pro"]
    owed = offsettable_taxes(tx, t_prev, staying["impots_pro"])
    sirens = np.concatenate([tx["siren"], *(lines[s]["siren"] for s in CREDIT_SOURCES)])
    uniq, inv = np.unique(sirens, return_inverse=True)
    tax_cid = inv[: len(tx["siren"])]
    offs = np.cumsum([len(tx["siren"]), *(len(lines[s]["siren"]) for s in CREDIT_SOURCES)])
    cid = {s: inv[offs[i] : offs[i + 1]] for i, s in enumerate(CREDIT_SOURCES)}
    owed_by = group_sum(tax_cid, owed, len(uniq))

    p_applied, p_refunded = settle_chances(effect)
    c_all = np.concatenate([amounts[s] for s in CREDIT_SOURCES])
    id_all = np.concatenate([cid[s] for s in CREDIT_SOURCES])
    jug = np.concatenate([ctx.pool["jugement"][lines[s]["deb"]] for s in CREDIT_SOURCES])
    stay = np.concatenate([staying[s] for s in CREDIT_SOURCES])
    blocked = (jug != NO_DATE) & (jug <= t_prev)  # a procedure is open: no offset (art. L. 622-7 C. com.)
    n = len(c_all)
    certain_due = (c_all > 0) & stay
    flagged = certain_due & ~blocked & (owed_by[id_all] > 0)  # what the tool shows as offsettable
    # an agent acts on a company, not on a credit line: the flagged credits of one company are applied together
    # (one draw per company), so `effect` more probability moves the offset rate of section 9 — the share of the
    # offsettable amount that was offset — by `effect`, whatever the number of credits per company
    u = np.where(flagged, rng.random(len(uniq))[id_all], rng.random(n))
    applied = flagged & (u < p_applied)
    refunded = certain_due & ~applied & (u < np.where(flagged, p_applied + p_refunded, shares.CREDIT_SETTLED))

    start = 0
    for s in CREDIT_SOURCES:
        end = start + len(amounts[s])
        st = lines[s]["statut"]
        st[applied[start:end]] = {"credits_tva": cr.APPLIED, "excedents": cr.EXC_APPLIED,
                                  "creances_is": cr.IS_APPLIED}[s]
        st[refunded[start:end]] = {"credits_tva": cr.REFUNDED, "excedents": cr.RETURNED,
                                   "creances_is": cr.IS_REFUNDED}[s]
        start = end

    # the taxes paid by the offsets, oldest due date first, up to the credits applied (a credit larger than
    # the taxes pays them all; its remainder is paid back outside these extracts)
    credit_by = group_sum(id_all[applied], c_all[applied], len(uniq))
    lines_owed = owed > 0
    if credit_by.any() and lines_owed.any():
        rows = np.flatnonzero(lines_owed & (credit_by[tax_cid] > 0))
        order = rows[np.lexsort((tx["due"][rows], tax_cid[rows]))]
        before = _cumsum_within(tax_cid[order], owed[order]) - owed[order]
        pay = np.clip(credit_by[tax_cid[order]] - before, 0, owed[order])
        tx["paid"][order] += pay


def progress(lines: dict[str, Frame], rng: np.random.Generator) -> None:
    """Claims reviewed, accepted or rejected; IS receivables accepted; a few claims refunded at once."""
    vat = lines["credits_tva"]
    st = vat["statut"]
    n = len(st)
    u = rng.random(n)
    fast = (st == cr.FILED) & (u < shares.VAT_FAST_REFUND)
    review = (st == cr.FILED) & ~fast & (u < shares.VAT_FAST_REFUND + shares.VAT_REVIEWED)
    decide = (st == cr.REVIEWED) & (u < shares.VAT_DECIDED)
    reject = decide & (rng.random(n) < shares.VAT_REJECTED_SHARE)
    st[fast] = cr.REFUNDED
    st[review] = cr.REVIEWED
    st[decide & ~reject] = cr.GRANTED
    st[reject] = cr.REJECTED
    is_ = lines["creances_is"]
    accept = (is_["statut"] == cr.IN_REVIEW) & (rng.random(len(is_["statut"])) < shares.IS_ACCEPTED)
    is_["statut"][accept] = cr.REFUNDABLE
