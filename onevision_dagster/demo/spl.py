"""spl (Hélios): titles of the local public sector (water, rent, canteen...) owed by companies.

Stock titles are numbered from 1 within (collectivity, year); titles issued after the first snapshot take
numbers from 100 000 on (a department-wide sequence), so a key that left the extract never comes back.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from onevision_dagster.contract.sources import SPL
from onevision_dagster.demo import cases, shares
from onevision_dagster.demo import vocabulary as v
from onevision_dagster.demo.bad_rows import Fill, paid_more
from onevision_dagster.demo.cells import amount, cents_lognormal, dates, pad, pick, s, strs, where, years
from onevision_dagster.demo.department import Department, debtors
from onevision_dagster.demo.frames import Frame, take
from onevision_dagster.demo.hashing import choice, rng_for
from onevision_dagster.demo.identifiers import LA_POSTE, LA_POSTE_HEAD_OFFICE, sirets
from onevision_dagster.demo.lines import SourceModel, Window

ETAPES = SPL.column("etape").codes  # AMIABLE RELANCE MISE_EN_DEMEURE CONTESTATION SAISIE
AMIABLE, RELANCE, MISE_EN_DEMEURE, CONTESTATION, SAISIE = (ETAPES.index(c) for c in shares.SPL_ETAPES)
NEW_TITLE_BASE = 100_000


def collectivities(seed: int, ctx: Department) -> tuple[np.ndarray, np.ndarray]:
    """(codes, labels) of the department's collectivities, fixed for every snapshot."""
    rng = rng_for(seed, ctx.pos, 300)
    n_all = len(ctx.cps) * len(v.COLLECTIVITES)
    n_coll = min(n_all, max(3, len(ctx.cps) // 2 + 3))
    ids = np.sort(rng.choice(n_all, n_coll, replace=False))
    codes = np.array([f"{ctx.code}{i:04d}" for i in ids], dtype=object)
    labels = np.array(
        [f"{v.COLLECTIVITES[i % len(v.COLLECTIVITES)]} {ctx.communes[i // len(v.COLLECTIVITES)]}" for i in ids],
        dtype=object,
    )
    return codes, labels


def _rank_within(key: np.ndarray) -> np.ndarray:
    """1-based rank of each element among those with the same key, in order of appearance."""
    k = len(key)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    starts = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
    rank = np.arange(k) - np.repeat(starts, np.diff(np.r_[starts, k]))
    out = np.empty(k, dtype=np.int64)
    out[order] = rank + 1
    return out


def make_build(seed: int):
    def build(ctx: Department, rng: np.random.Generator, k: int, w: Window) -> Frame:
        idx, _ = debtors(ctx, rng, k, la_poste=2 if w.stock else 0, snapshot=w.snapshot)
        case, cos = cases.titles_after_judgment(ctx, rng, k, w, shares.TITLE_AFTER_JUDGMENT["spl"])
        idx[case] = cos
        d = take(ctx.pool, idx)
        codes, labels = collectivities(seed, ctx)
        coll = rng.integers(0, len(codes), k)
        emission = w.born(rng, k, 1500)
        emission[case] = cases.after_judgment(rng, ctx.pool["jugement"][cos], w.t)
        exercice = years(emission)
        if w.stock:
            num = _rank_within(coll.astype(np.int64) * 10_000 + exercice)
        else:
            num = NEW_TITLE_BASE + w.seq0 + np.arange(k)
        nic4 = np.where(rng.random(k) < 0.6, d["nic4"], 4 + rng.integers(0, 60, k))
        lp = d["siren"] == LA_POSTE
        nic4 = np.where(lp, rng.integers(0, 10_000, k), nic4)
        siret = sirets(d["siren"], nic4)
        if lp.any() and w.stock:
            siret[np.flatnonzero(lp)[0]] = LA_POSTE_HEAD_OFFICE
        helios = pc.replace_substring(d["name_plain"], "'", " ")
        nom = where(rng.random(k) < 0.5, helios, d["denomination"])
        montant = cents_lognormal(rng, 800, 1.2, k)
        if w.stock:
            st = rng.random(k)
            reste = np.where(
                st < 0.25, 0, np.where(st < 0.45, (montant * rng.uniform(0.05, 0.95, k)).astype(np.int64), montant)
            )
            etape = choice(rng, list(shares.SPL_ETAPES.values()), k)
        else:
            reste = montant.copy()
            etape = np.full(k, AMIABLE)
        reste[case], etape[case] = montant[case], AMIABLE  # unpaid: a claim arising after the judgment
        return {
            "code_collectivite": strs(codes[coll]),
            "libelle_collectivite": strs(labels[coll]),
            "exercice": s(exercice),
            "num_titre": s(num),
            "date_emission": dates(emission, "DD/MM/YYYY"),
            "siret_debiteur": pad(siret, 14),
            "nom_debiteur": nom,
            "nature_produit": pick(v.NATURES_SPL, rng.integers(0, len(v.NATURES_SPL), k)),
            "deb": idx,
            "siren": d["siren"],
            "montant": montant.astype(np.int64),
            "reste": reste.astype(np.int64),
            "etape": etape.astype(np.int64),
            "emission": emission.astype(np.int64),
        }

    return build


def cells(lines: Frame, t: int) -> dict:
    out = {c: lines[c] for c in SPL.column_names if c in lines}
    out["montant_titre"] = amount(lines["montant"], ",")
    out["reste_a_recouvrer"] = amount(lines["reste"], ",")
    out["etape"] = pick(ETAPES, lines["etape"])
    return out


def fresh_key(ctx: Department, t: int) -> Fill:
    def fill(row: dict[str, str], i: int) -> None:
        row["num_titre"] = str(1_000_000 + i)

    return fill


def model(seed: int) -> SourceModel:
    return SourceModel(SPL, make_build(seed), cells, fresh_key, paid_more(SPL, ("montant_titre",), "reste_a_recouvrer"))
