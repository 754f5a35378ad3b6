"""The companies: every attribute a pure function of (seed, global company index), stable across snapshots.

A department owns a block of `stride` consecutive global indices: its in-scope companies first, then its
out-of-scope register rows, companies registered in departments that are not generated, SIRENs unknown to
the register, and the SIRENs of faulty register rows. Dates are anchored on the latest snapshot, so the
same company has the same creation date, procedure and judgment date in every snapshot; what the register
shows at a given date is `register.register_view`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from onevision_dagster.contract.departements import ALL_DEPARTEMENTS
from onevision_dagster.demo import shares
from onevision_dagster.demo import vocabulary as v
from onevision_dagster.demo.categories import (
    CATEGORIES,
    FORCED_OOS,
    FOREIGN_IN_SCOPE,
    OOS_CATEGORIES,
    PROFILE_NAMES,
    profiles,
)
from onevision_dagster.demo.cells import NO_DATE, day, join, nulls, pick, s, strs, where
from onevision_dagster.demo.frames import Frame
from onevision_dagster.demo.hashing import below, rng_for, unif, weighted
from onevision_dagster.demo.identifiers import LA_POSTE, sirens

DEPT_POS = {d: i for i, d in enumerate(ALL_DEPARTEMENTS)}
FOREIGN_FIRST = {"3120": 7, "3220": 11}  # these ranks of every department are foreign companies, so both show up
PROCEDURES = np.array(list(shares.PROCEDURE_KINDS), dtype=object)
_PUBLIC_PROFILES = ("public", "etat_etranger")

# hash fields
(_F_HOM, _F_PAT, _F_ACT, _F_NOM, _F_LIEU, _F_REG, _F_SUF, _F_ACC, _F_SIG, _F_CAT, _F_CP, _F_NUM, _F_VOIE,
 _F_VNOM, _F_ADDR, _F_CRE, _F_CREN, _F_ETAT, _F_PROC, _F_PROCK, _F_JUG, _F_JUGF, _F_NIC, _F_OOS, _F_PRE,
 _F_OUT, _F_OUTCP, _F_ARR, _F_LAG, _F_ETR, _F_FORME, _F_PAYS, _F_BOD, _F_BODAGE, _F_BODDEL,
 _F_REGLAG) = range(1, 37)  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """Index ranges of one department's block in the global company index."""

    n: int
    n_outside: int
    stride: int

    @staticmethod
    def stride_for(n: int) -> int:
        return 2 * n + 1000

    @property
    def n_oos(self) -> int:
        return 0 if self.n == 0 else max(3, round(shares.OUT_OF_SCOPE_SHARE * self.n))

    @property
    def max_outside(self) -> int:
        return 0 if self.n == 0 else max(2, round(shares.OUTSIDE_SHARE * self.n))

    @property
    def n_unknown(self) -> int:
        return max(5, round(shares.UNKNOWN_POOL_SHARE * self.n))

    @property
    def oos_start(self) -> int:
        return self.n

    @property
    def outside_start(self) -> int:
        return self.n + self.n_oos

    @property
    def n_register(self) -> int:
        return self.n + self.n_oos + self.n_outside

    @property
    def unknown_start(self) -> int:
        return self.n + self.n_oos + self.max_outside

    @property
    def bad_start(self) -> int:
        return self.unknown_start + self.n_unknown


def _postal_spec(dept: str) -> tuple[str, int, int, int]:
    """(prefix, suffix width, first suffix, suffix count): 2A → 200xx–201xx, 2B → 202xx–206xx, 97x → 97xxx."""
    if dept == "2A":
        return "20", 3, 0, 200
    if dept == "2B":
        return "20", 3, 200, 500
    if len(dept) == 3:
        return dept, 2, 0, 100
    return dept, 3, 0, 1000


@lru_cache(maxsize=256)
def postal_table(seed: int, dept: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The department's postal codes and their communes (accented and plain)."""
    prefix, width, first, count = _postal_spec(dept)
    n_cp = min(count, max(3, n // 300 + 3))
    rng = rng_for(seed, 7, DEPT_POS[dept])
    suffix = np.sort(rng.choice(count, size=n_cp, replace=False)) + first
    suffix[0] = first  # the main town: 17000, 20000, 97100...
    suffix = np.unique(suffix)
    cps = np.array([f"{prefix}{x:0{width}d}" for x in suffix], dtype=object)
    names = [
        v.COMMUNE_PREF[a] + v.COMMUNE_CORE[b] + v.COMMUNE_SUFF[c]
        for a, b, c in zip(
            rng.integers(0, len(v.COMMUNE_PREF), len(cps)),
            rng.integers(0, len(v.COMMUNE_CORE), len(cps)),
            rng.integers(0, len(v.COMMUNE_SUFF), len(cps)),
            strict=True,
        )
    ]
    acc = np.array(names, dtype=object)
    return cps, acc, np.array([v.plain(x) for x in names], dtype=object)


def _names(seed: int, src: np.ndarray, cat: np.ndarray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Denomination (accented, plain) and sigle candidates built from the vocabularies."""
    pat = weighted(unif(seed, _F_PAT, src), (0.40, 0.25, 0.15, 0.10, 0.10))
    a = below(seed, _F_ACT, src, len(v.ACTIVITES))
    f = below(seed, _F_NOM, src, len(v.NOMS))
    li = below(seed, _F_LIEU, src, len(v.LIEUX))
    r = below(seed, _F_REG, src, len(v.REGIONS))
    sf = below(seed, _F_SUF, src, len(v.SUFFIXES))
    fe = below(seed, _F_ETR, src, len(v.NOMS_ETRANGERS))
    fo = np.array(v.FORMES_ETRANGERES, dtype=object)[below(seed, _F_FORME, src, len(v.FORMES_ETRANGERES))]
    sci = cat == "6540"
    asso = (cat == "9220") | (cat == "9260")
    foreign = np.isin(cat, FOREIGN_IN_SCOPE)
    alt = (src % 2) == 0

    def build(col: int) -> tuple[pa.Array, ...]:
        act, nom, lieu, reg, suf, etr = (x[col] for x in (v.V_ACT, v.V_NOM, v.V_LIEU, v.V_REG, v.V_SUF, v.V_ETR))
        p1 = np.where(pat == 4, nom[f], act[a])
        p2 = np.select([pat == 0, pat == 1, pat == 2, pat == 3], [nom[f], lieu[li], nom[f], reg[r]], suf[sf])
        p3 = np.where(pat == 2, suf[sf], None)
        special = sci | asso
        p1 = np.where(sci, "SCI" if col != 2 else "S", np.where(asso, "ASSOCIATION" if col != 2 else "A", p1))
        p2 = np.where(special, np.where(alt, lieu[li], nom[f]), p2)
        p3 = np.where(special, None, p3)
        p1 = np.where(foreign, etr[fe], p1)
        p2 = np.where(foreign, act[a], p2)
        p3 = np.where(foreign, fo if col != 2 else None, p3)
        return strs(p1), strs(p2), strs(p3)

    acc = pc.binary_join_element_wise(*build(0), " ", null_handling="skip")
    plain = pc.binary_join_element_wise(*build(1), " ", null_handling="skip")
    sig = pc.binary_join_element_wise(*build(2), "", null_handling="skip")
    return acc, plain, sig


def arrival(seed: int, lay: Layout, gidx: np.ndarray, n_snapshots: int) -> np.ndarray:
    """Index of the first snapshot whose register holds the company (0 for all but a few new companies).

    Only odd in-scope ranks arrive late, so the rank before a new company always exists from the start.
    """
    gidx = np.asarray(gidx, dtype=np.int64)
    if n_snapshots <= 1:
        return np.zeros(len(gidx), dtype=np.int64)
    j = gidx % lay.stride
    rate = 2 * shares.NEW_COMPANIES_PER_WEEK  # odd ranks only
    u = unif(seed, _F_ARR, gidx)
    late = (j % 2 == 1) & (j < lay.n) & (u < rate * (n_snapshots - 1))
    return np.where(late, np.minimum(1 + (u / rate).astype(np.int64), n_snapshots - 1), 0)


BODACC_STATES = tuple(shares.BODACC_STATES)  # A_DECLARER RELEVE_POSSIBLE FORCLOS BODACC_INCONNU


def bodacc_state(seed: int, gidx: np.ndarray) -> np.ndarray:
    """Index in BODACC_STATES of the state a company's claims are drawn to be in at the latest snapshot."""
    return weighted(unif(seed, _F_BOD, np.asarray(gidx, dtype=np.int64)), list(shares.BODACC_STATES.values()))


def _procedure_dates(seed: int, gidx: np.ndarray, anchor_d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(judgment, BODACC publication, first day the register shows the procedure) of a would-be procedure.

    The publication is drawn first, its age at the latest snapshot (`anchor_d`) putting the claims to declare
    in the drawn state (`shares.BODACC_PUBLICATION_AGE_DAYS`, clear of the deadlines' boundaries even with the
    two extra months of R. 622-24); the judgment 7-30 days before it; the register shows the procedure from
    the publication (the register learns it from the BODACC) or up to two weeks later. A procedure of unknown
    publication keeps the version-2 drawing: judgment within three years, shown 7-90 days after it.
    """
    state = bodacc_state(seed, gidx)
    u = unif(seed, _F_BODAGE, gidx)
    lo = np.array([shares.BODACC_PUBLICATION_AGE_DAYS[s][0] for s in BODACC_STATES[:3]] + [0])[state]
    hi = np.array([shares.BODACC_PUBLICATION_AGE_DAYS[s][1] for s in BODACC_STATES[:3]] + [0])[state]
    # recent publications a little more frequent within each band
    age = lo + ((hi - lo) * u**1.3).astype(np.int64)
    publication = anchor_d - age
    d_lo, d_hi = shares.BODACC_DELAY_DAYS
    jug_known = publication - d_lo - below(seed, _F_BODDEL, gidx, d_hi - d_lo + 1)
    r_lo, r_hi = shares.REGISTER_AFTER_BODACC_DAYS
    visible_known = publication + r_lo + below(seed, _F_REGLAG, gidx, r_hi - r_lo + 1)
    # unknown publication: judgments within three years, recent ones a little more frequent
    jug_unknown = anchor_d - (3 * 365 * unif(seed, _F_JUG, gidx) ** 1.3).astype(np.int64)
    lag = shares.REGISTER_LAG_DAYS[0] + below(seed, _F_LAG, gidx, np.diff(shares.REGISTER_LAG_DAYS)[0] + 1)
    unknown = state == BODACC_STATES.index("BODACC_INCONNU")
    jug = np.where(unknown, jug_unknown, jug_known)
    publication = np.where(unknown, NO_DATE, publication)
    visible = np.where(unknown, jug_unknown + lag, visible_known)
    # a few judgments dated after the extract, already shown by the register (a hearing set): not published
    announced = unif(seed, _F_JUGF, gidx) < shares.ANNOUNCED_JUDGMENT_SHARE
    jug = np.where(announced, anchor_d + 1 + below(seed, _F_JUG, gidx, 60), jug)
    visible = np.where(announced, jug - 60, visible)
    publication = np.where(announced, NO_DATE, publication)
    return jug, publication, visible


def frame(seed: int, ctx_code: str, lay: Layout, gidx: np.ndarray, anchor: date, outside: tuple[str, ...],
          n_snapshots: int = 1) -> Frame:
    """Every attribute of the companies `gidx` (a pure function of seed and index).

    Postal codes and addresses come from department `ctx_code`'s table: for its own companies that is the
    head office, for others the local establishment.
    """
    gidx = np.asarray(gidx, dtype=np.int64)
    k = len(gidx)
    j = gidx % lay.stride
    home_local = (gidx // lay.stride) == DEPT_POS[ctx_code]
    flag = unif(seed, _F_HOM, gidx) < shares.HOMONYM_SHARE
    prev_flag = unif(seed, _F_HOM, gidx - 1) < shares.HOMONYM_SHARE
    hom = flag & ~prev_flag & (j >= 1) & (j < lay.n)
    src = np.where(hom, gidx - 1, gidx)

    cat_names = np.array([c for c, _ in CATEGORIES], dtype=object)
    cat_w = [w for _, w in CATEGORIES]

    def category(g: np.ndarray) -> np.ndarray:
        c = cat_names[weighted(unif(seed, _F_CAT, g), cat_w)]
        rank = g % lay.stride
        for code, forced in FOREIGN_FIRST.items():
            c = np.where(rank == forced, code, c)
        return c

    cat = category(gidx)
    name_acc, name_plain, sig = _names(seed, src, category(src))
    reg_acc = unif(seed, _F_ACC, src) < 0.5
    has_sig = (unif(seed, _F_SIG, gidx) < shares.SIGLE_SHARE) & (
        pc.utf8_length(sig).to_numpy(zero_copy_only=False) >= 2
    )

    cps, com_acc, com = postal_table(seed, ctx_code, lay.n)
    cpi = below(seed, _F_CP, src, len(cps))
    num = 1 + below(seed, _F_NUM, gidx, 180)
    voie = below(seed, _F_VOIE, gidx, len(v.VOIES))
    vnom = below(seed, _F_VNOM, gidx, len(v.VOIE_NOMS))
    addr_acc = join(s(num), pick(v.VOIES, voie), pick(v.VOIE_NOMS, vnom), sep=" ")
    plain_voies = [v.plain(x) for x in v.VOIES]
    plain_vnoms = [v.plain(x) for x in v.VOIE_NOMS]
    addr_plain = join(s(num), pick(plain_voies, voie), pick(plain_vnoms, vnom), sep=" ")
    no_addr = unif(seed, _F_ADDR, gidx) < 0.01

    anchor_d = day(anchor)
    creation = anchor_d - 5 * 365 - 30 - below(seed, _F_CRE, gidx, 55 * 365)
    creation = np.where(unif(seed, _F_CREN, gidx) < 0.02, NO_DATE, creation)
    has_proc = unif(seed, _F_PROC, gidx) < shares.PROCEDURE_SHARE
    proc_k = weighted(unif(seed, _F_PROCK, gidx), list(shares.PROCEDURE_KINDS.values()))
    jug, publication, visible = _procedure_dates(seed, gidx, anchor_d)
    nic4 = 1 + below(seed, _F_NIC, gidx, 3)
    nic4 = 1 + below(seed, _F_NIC, gidx, 3)

    fr: Frame = {
        "gidx": gidx,
        "siren": sirens(seed, gidx),
        "nic4": nic4,
        "categorie": cat,
        "denomination": where(reg_acc, name_acc, name_plain),
        "name_acc": name_acc,
        "name_plain": name_plain,
        "reg_acc": reg_acc,
        "sigle": where(has_sig, sig, nulls(k)),
        "adresse": where(no_addr, nulls(k), addr_plain),
        "adresse_acc": addr_acc,
        "code_postal": cps[cpi],
        "commune": com[cpi],
        "commune_acc": com_acc[cpi],
        "departement": np.full(k, ctx_code, dtype=object),
        "date_creation": creation,
        "ceased": unif(seed, _F_ETAT, gidx) < shares.CEASED_SHARE,
        "procedure": np.where(has_proc, PROCEDURES[proc_k], None),
        "jugement": np.where(has_proc, jug, NO_DATE),
        "publication": np.where(has_proc, publication, NO_DATE),
        "visible_from": np.where(has_proc, visible, NO_DATE),
        "arrival": arrival(seed, lay, gidx, n_snapshots),
    }

    # out-of-scope rows of the department's own block
    oos = home_local & (j >= lay.oos_start) & (j < lay.outside_start)
    if oos.any():
        _out_of_scope(seed, fr, oos, j - lay.oos_start, ctx_code)
    out_rows = home_local & (j >= lay.outside_start) & (j < lay.outside_start + lay.n_outside)
    if out_rows.any() and outside:
        _outside(seed, fr, out_rows, outside, lay.n)
    fr["profile"] = profiles(fr["categorie"])
    return fr


def _out_of_scope(seed: int, fr: Frame, mask: np.ndarray, rank: np.ndarray, dept: str) -> None:
    """Sole traders, public bodies, foreign States' bodies: a position is never computed for them."""
    rows = np.flatnonzero(mask)
    g, rk = fr["gidx"][rows], rank[rows]
    cats = np.array([c for c, _ in OOS_CATEGORIES], dtype=object)
    cat = cats[weighted(unif(seed, _F_OOS, g), [w for _, w in OOS_CATEGORIES])]
    for i, forced in enumerate(FORCED_OOS):
        cat = np.where(rk == i, forced, cat)
    nom = v.V_NOM[0][below(seed, _F_NOM, g, len(v.NOMS))]
    pre = np.array(v.PRENOMS, dtype=object)[below(seed, _F_PRE, g, len(v.PRENOMS))]
    pays = np.array(v.PAYS, dtype=object)[below(seed, _F_PAYS, g, len(v.PAYS))]
    com = fr["commune_acc"][rows]
    name = np.select(
        [cat == "1000", cat == "7210", cat == "7220", cat == "2110", cat == "3110", cat == "3210"],
        [
            nom + " " + pre,
            "COMMUNE DE " + com,
            np.full(len(g), f"DÉPARTEMENT {dept}", dtype=object),
            "INDIVISION " + nom,
            "REPRÉSENTATION COMMERCIALE " + pays,
            "SERVICE ÉCONOMIQUE DE L'AMBASSADE " + pays,
        ],
        "OFFICE PUBLIC DE L'HABITAT DE " + com,
    )
    m = pa.array(mask)
    fr["name_acc"] = pc.replace_with_mask(fr["name_acc"], m, strs(name))
    fr["name_plain"] = pc.replace_with_mask(fr["name_plain"], m, strs([v.plain(x) for x in name]))
    fr["denomination"] = where(fr["reg_acc"], fr["name_acc"], fr["name_plain"])
    fr["sigle"] = where(mask, nulls(len(mask)), fr["sigle"])
    fr["categorie"] = fr["categorie"].copy()
    fr["categorie"][rows] = cat
    public = rows[np.isin(profiles(cat), [PROFILE_NAMES.index(p) for p in _PUBLIC_PROFILES])]
    for col, value in (("procedure", None), ("jugement", NO_DATE), ("publication", NO_DATE), ("visible_from", NO_DATE),
                       ("ceased", False)):
        fr[col] = fr[col].copy()
        fr[col][public] = value


def _outside(seed: int, fr: Frame, mask: np.ndarray, outside: tuple[str, ...], n: int) -> None:
    """In-scope companies registered with a head office in a department that is not generated."""
    rows = np.flatnonzero(mask)
    g = fr["gidx"][rows]
    dept = np.array(outside, dtype=object)[below(seed, _F_OUT, g, len(outside))]
    for col in ("code_postal", "commune", "departement"):
        fr[col] = fr[col].copy()
    fr["departement"][rows] = dept
    for d in np.unique(dept):
        sel = dept == d
        cps, _, communes = postal_table(seed, str(d), n)
        i = below(seed, _F_OUTCP, g[sel], len(cps))
        fr["code_postal"][rows[sel]] = cps[i]
        fr["commune"][rows[sel]] = communes[i]


def la_poste(cp: str, commune: str) -> Frame:
    """La Poste (SIREN 356000000, head office in Paris): its SIRETs follow their own validity rule."""

    def one(x: str | None) -> pa.Array:
        return strs([x])

    return {
        "gidx": np.array([-1]),
        "siren": np.array([LA_POSTE]),
        "nic4": np.array([4]),
        "categorie": np.array(["5510"], dtype=object),
        "denomination": one("LA POSTE"),
        "name_acc": one("LA POSTE"),
        "name_plain": one("LA POSTE"),
        "reg_acc": np.array([False]),
        "sigle": one(None),
        "adresse": one("9 RUE DU COLONEL PIERRE AVIA"),
        "adresse_acc": one("9 RUE DU COLONEL PIERRE AVIA"),
        "code_postal": np.array([cp], dtype=object),
        "commune": np.array([commune], dtype=object),
        "commune_acc": np.array([commune], dtype=object),
        "departement": np.array(["75"], dtype=object),
        "date_creation": np.array([day(date(1991, 1, 1))]),
        "ceased": np.array([False]),
        "procedure": np.array([None], dtype=object),
        "jugement": np.array([NO_DATE]),
        "publication": np.array([NO_DATE]),
        "visible_from": np.array([NO_DATE]),
        "arrival": np.array([0]),
        "profile": profiles(np.array(["5510"], dtype=object)),
    }
