"""amendes (AMD): fines, often without a usable SIREN, so their names and addresses vary as real ones do.

Written-off fines (ADMISE_NON_VALEUR) are more than a year old; no fine is surcharged after the file's date.
Version 3: a few fines of companies in a procedure were surcharged after the judgment for an offence before it.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from onevision_dagster.contract.sources import AMENDES
from onevision_dagster.demo import cases, shares
from onevision_dagster.demo import vocabulary as v
from onevision_dagster.demo.bad_rows import Fill, paid_more
from onevision_dagster.demo.cells import NO_DATE, amount, dates, join, nulls, pad, pick, strs, where
from onevision_dagster.demo.department import LOCAL, OUT_OF_SCOPE, Department, debtors
from onevision_dagster.demo.frames import Frame, take
from onevision_dagster.demo.hashing import choice
from onevision_dagster.demo.lines import SourceModel, Window

STATUTS = AMENDES.column("STATUT").codes  # EN_RECOUVREMENT PAYEE ANNULEE ADMISE_NON_VALEUR
OPEN, PAID, CANCELLED, WRITTEN_OFF = (STATUTS.index(c) for c in shares.FINE_STATUTS)
_BASE = np.array([35, 68, 90, 135, 180, 375, 450, 750, 1125, 1500, 3750]) * 100


def _key(code: str, seq: np.ndarray) -> object:
    return join(code, pad(seq, 13 - len(code)))


def build(ctx: Department, rng: np.random.Generator, k: int, w: Window) -> Frame:
    idx, kind = debtors(ctx, rng, k, la_poste=1 if w.stock else 0, snapshot=w.snapshot)
    # version 3: a fine surcharged after a company's judgment for an offence before it (first snapshot's stock)
    case = np.zeros(0, dtype=np.int64)
    if w.stock:
        cand = cases.judged(ctx.pool, ctx.lay.n, w.t)
        case, cos = cases.place(rng, np.zeros(k, dtype=bool), cases.chosen(rng, cand, shares.FINE_AFTER_JUDGMENT))
        idx[case], kind[case] = cos, LOCAL
    d = take(ctx.pool, idx)
    siren9 = pad(d["siren"], 9)
    form = choice(rng, list(shares.FINE_SIREN_FORMS.values()), k)
    located = (kind == LOCAL) | (kind == OUT_OF_SCOPE)
    form = np.where(located, form, np.where(form == 1, 1, 0))  # foreign / unknown: always the SIREN
    form[case] = 0  # the case's fine carries its SIREN
    wrong = (d["siren"] // 10) * 10 + (d["siren"] % 10 + 1 + rng.integers(0, 9, k)) % 10
    short = rng.random(k) < 0.2
    invalid = where(short, pad(d["siren"] // 10, 8), pad(wrong, 9))
    spaced = join(
        pc.utf8_slice_codeunits(siren9, 0, 3),
        pc.utf8_slice_codeunits(siren9, 3, 6),
        pc.utf8_slice_codeunits(siren9, 6, 9),
        sep=" ",
    )
    siren = where(form == 0, siren9, where(form == 1, spaced, where(form == 3, invalid, nulls(k))))

    # the name as the fine's system spells it
    denom, acc, plain = d["denomination"], d["name_acc"], d["name_plain"]
    vi = choice(rng, (0.32, 0.10, 0.05, 0.15, 0.08, 0.10, 0.05, 0.06, 0.06, 0.03), k)
    variants = [
        denom,
        pc.utf8_title(acc),
        pc.utf8_lower(plain),
        where(d["reg_acc"], plain, acc),
        join(pick(v.LEGAL_PREFIXES, rng.integers(0, len(v.LEGAL_PREFIXES), k)), denom, sep=" "),
        join(denom, pick(v.LEGAL_SUFFIXES, rng.integers(0, len(v.LEGAL_SUFFIXES), k)), sep=" "),
        pc.replace_substring(plain, " ", "-"),
        pc.replace_substring(pc.utf8_title(acc), "'", "’"),
        pc.coalesce(d["sigle"], denom),
        join("  ", denom, " "),
    ]
    name = variants[0]
    for i in range(1, len(variants)):
        name = where(vi == i, variants[i], name)
    # fines with no SIREN for a company the register does not know: no candidate
    missing = form == 2
    stranger = missing & (rng.random(k) < 0.05)
    u = take(ctx.pool, ctx.unknown_idx[rng.integers(0, len(ctx.unknown_idx), k)])
    name = where(stranger, u["name_acc"], name)

    # address: the company's own for local debtors, the place of the offence for the others
    local = take(ctx.frame, np.floor(ctx.lay.n * rng.random(k)).astype(np.int64)) if ctx.lay.n else d
    cp = np.where(located, d["code_postal"], local["code_postal"])
    other_cp = missing & (rng.random(k) < 0.02)
    cp = np.where(other_cp, ctx.cps[rng.integers(0, len(ctx.cps), k)], cp)
    addr = where(located, d["adresse_acc"], local["adresse_acc"])
    addr_v = rng.random(k)
    addr = where(addr_v < 0.4, pc.utf8_title(addr), where(addr_v < 0.8, addr, pc.replace_substring(addr, "’", "'")))
    commune = np.where(located, d["commune_acc"], local["commune_acc"])
    commune = where(rng.random(k) < 0.5, pc.utf8_title(strs(commune)), strs(commune))

    due = _BASE[rng.integers(0, len(_BASE), k)]
    due = np.where(rng.random(k) < 0.15, due + rng.integers(1, 100, k), due)
    if w.stock:
        statut = choice(rng, list(shares.FINE_STATUTS.values()), k)
    else:
        statut = np.full(k, OPEN)
    # surcharged (majorée) on or before the file's date; written-off fines are more than a year old
    majoration = w.born(rng, k, 1800)
    old = (statut == WRITTEN_OFF) & (w.t - majoration < 365)
    majoration = np.where(old, majoration - 365 - rng.integers(0, 700, k), majoration)
    infraction = majoration - 45 - rng.integers(0, 75, k)
    infraction = np.where(rng.random(k) < 0.03, NO_DATE, infraction)
    if len(case):
        jug = ctx.pool["jugement"][idx[case]]
        statut[case] = OPEN
        majoration[case] = cases.after_judgment(rng, jug, w.t)
        infraction[case] = jug - 1 - rng.integers(0, 60, len(case))
    partial = (due * rng.uniform(0.1, 0.9, k)).astype(np.int64)
    paid = np.select(
        [statut == PAID, (statut == OPEN) & (rng.random(k) < 0.25), (statut == WRITTEN_OFF) & (rng.random(k) < 0.2)],
        [due, partial, partial],
        0,
    )
    if not w.stock:
        paid = np.zeros(k, dtype=np.int64)
    paid[case] = 0
    return {
        "NUM_AMENDE": _key(ctx.code, w.seq0 + np.arange(k)),
        "DATE_INFRACTION": dates(infraction, "DD/MM/YYYY"),
        "DATE_MAJORATION": dates(majoration, "DD/MM/YYYY"),
        "RAISON_SOCIALE": name,
        "SIREN": siren,
        "ADRESSE": addr,
        "CODE_POSTAL": strs(cp),
        "COMMUNE": commune,
        "MONTANT_MAJORE": amount(due, ","),
        "deb": idx,
        "siren": d["siren"],
        "due": due.astype(np.int64),
        "paid": paid.astype(np.int64),
        "statut": statut.astype(np.int64),
        "majoration": majoration.astype(np.int64),
    }


def cells(lines: Frame, t: int) -> dict:
    out = {c: lines[c] for c in AMENDES.column_names if c in lines}
    out["MONTANT_PAYE"] = amount(lines["paid"], ",")
    out["STATUT"] = pick(STATUTS, lines["statut"])
    return out


def fresh_key(ctx: Department, t: int) -> Fill:
    width = 13 - len(ctx.code)

    def fill(row: dict[str, str], i: int) -> None:
        row["NUM_AMENDE"] = f"{ctx.code}{9 * 10 ** (width - 1) + i:0{width}d}"

    return fill


MODEL = SourceModel(AMENDES, build, cells, fresh_key, paid_more(AMENDES, ("MONTANT_MAJORE",), "MONTANT_PAYE"))
