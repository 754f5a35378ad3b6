"""rnf: titles of non-tax State revenue; the debtor given as a SIREN, a SIRET or an intra-EU VAT number.

The RFC 4180 dialect of this source is exercised: quoted cells with commas, doubled quotes, and one cell
holding a line break per file.
"""

from __future__ import annotations

import numpy as np

from onevision_dagster.contract.sources import RNF
from onevision_dagster.demo import cases, shares
from onevision_dagster.demo import vocabulary as v
from onevision_dagster.demo.bad_rows import Fill, paid_more
from onevision_dagster.demo.cells import amount, cents_lognormal, dates, join, pad, pick, s, where, years
from onevision_dagster.demo.department import Department, debtors
from onevision_dagster.demo.frames import Frame
from onevision_dagster.demo.hashing import choice
from onevision_dagster.demo.identifiers import LA_POSTE, sirets, vat_numbers
from onevision_dagster.demo.lines import SourceModel, Window

STATUTS = RNF.column("statut").codes  # PRIS_EN_CHARGE EN_RECOUVREMENT SOLDE ANNULE
TAKEN_UP, IN_RECOVERY, SETTLED, CANCELLED = (STATUTS.index(c) for c in shares.RNF_STATUTS)


def build(ctx: Department, rng: np.random.Generator, k: int, w: Window) -> Frame:
    idx, _ = debtors(ctx, rng, k, la_poste=1 if w.stock else 0, snapshot=w.snapshot)
    case, cos = cases.titles_after_judgment(ctx, rng, k, w, shares.TITLE_AFTER_JUDGMENT["rnf"])
    idx[case] = cos
    siren = ctx.pool["siren"][idx]
    form = choice(rng, (0.5, 0.3, 0.2), k)  # SIREN, SIRET, VAT number
    nic4 = np.where(rng.random(k) < 0.7, ctx.pool["nic4"][idx], 4 + rng.integers(0, 60, k))
    nic4 = np.where(siren == LA_POSTE, rng.integers(0, 10_000, k), nic4)
    ident = where(form == 0, pad(siren, 9), where(form == 1, pad(sirets(siren, nic4), 14), vat_numbers(siren)))
    ordo = pick([o.format(d=ctx.code) for o in v.ORDONNATEURS], rng.integers(0, len(v.ORDONNATEURS), k))
    nature = pick(v.NATURES_RNF, rng.integers(0, len(v.NATURES_RNF), k))
    if k >= 20 and w.stock:  # a quoted cell spanning two physical lines
        multi = np.zeros(k, dtype=bool)
        multi[rng.integers(k)] = True
        nature = where(multi, "REDEVANCE\nCOMPLÉMENT DE TITRE", nature)
    emission = w.born(rng, k, 1200)
    emission[case] = cases.after_judgment(rng, ctx.pool["jugement"][cos], w.t)
    montant = cents_lognormal(rng, 1500, 1.3, k)
    if w.stock:
        statut = choice(rng, list(shares.RNF_STATUTS.values()), k)
        partial = (montant * rng.uniform(0.05, 0.95, k)).astype(np.int64)
        recouvre = np.select([statut == SETTLED, (statut < SETTLED) & (rng.random(k) < 0.3)], [montant, partial], 0)
    else:
        statut = np.full(k, TAKEN_UP)
        recouvre = np.zeros(k, dtype=np.int64)
    statut[case], recouvre[case] = IN_RECOVERY, 0  # unpaid: a claim arising after the judgment
    seq = w.seq0 + np.arange(k)
    return {
        "numero_titre": join(s(years(emission)), "-RNF-", ctx.code, "-", pad(seq, 7)),
        "ordonnateur": ordo,
        "nature_recette": nature,
        "identifiant_debiteur": ident,
        "date_emission": dates(emission, "YYYY-MM-DD"),
        "deb": idx,
        "siren": siren,
        "montant": montant.astype(np.int64),
        "recouvre": recouvre.astype(np.int64),
        "statut": statut.astype(np.int64),
        "emission": emission.astype(np.int64),
    }


def cells(lines: Frame, t: int) -> dict:
    out = {c: lines[c] for c in RNF.column_names if c in lines}
    out["montant"] = amount(lines["montant"], ".")
    out["montant_recouvre"] = amount(lines["recouvre"], ".")
    out["statut"] = pick(STATUTS, lines["statut"])
    return out


def fresh_key(ctx: Department, t: int) -> Fill:
    year = str(years(np.array([t]))[0])

    def fill(row: dict[str, str], i: int) -> None:
        row["numero_titre"] = f"{year}-RNF-{ctx.code}-{9_000_000 + i:07d}"

    return fill


MODEL = SourceModel(RNF, build, cells, fresh_key, paid_more(RNF, ("montant",), "montant_recouvre"))
