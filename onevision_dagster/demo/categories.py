"""Legal categories the register draws, and which taxes and credits fit each kind of legal person.

An agent reading the demo should not see an association paying the retail-surface tax, a foreign State's
agency owing network-operator tax, or a sole trader holding a corporate-tax receivable. Each category
belongs to a profile; the profile gives the weights of the seven tax codes of `impots_pro` (CFE, TVA, IS,
CVAE, TS, IFER, TASCOM, the contract's order) and the chance that a VAT-refund claim or an IS receivable is
about a company of that profile. docs/demo.md shows the same tables.
"""

from __future__ import annotations

import numpy as np

# in scope (SOURCES.md section 3, version 2): first digit 5, 6, 8, 9, and the foreign companies 3120 / 3220
CATEGORIES: tuple[tuple[str, float], ...] = (
    ("5499", 0.30), ("5710", 0.27), ("5720", 0.10), ("5498", 0.07), ("5599", 0.03), ("5202", 0.02),
    ("5785", 0.02), ("6540", 0.08), ("6220", 0.01), ("6316", 0.01), ("8210", 0.01), ("9220", 0.06),
    ("9260", 0.02), ("3120", 0.006), ("3220", 0.003),
)  # fmt: skip
# out-of-scope register rows: sole traders, groupings, foreign States' bodies, public bodies
OOS_CATEGORIES: tuple[tuple[str, float], ...] = (
    ("1000", 0.50), ("7210", 0.15), ("7220", 0.05), ("2110", 0.07), ("3110", 0.05), ("3210", 0.03),
    ("4110", 0.08),
)  # fmt: skip
FORCED_OOS = ("1000", "7210", "3110")  # the first out-of-scope rows of every department: each kind is present
FOREIGN_IN_SCOPE = ("3120", "3220")

TAX_CODES = ("CFE", "TVA", "IS", "CVAE", "TS", "IFER", "TASCOM")
# profile: (weights of TAX_CODES, chance of a VAT refund claim, chance of an IS receivable)
PROFILES: dict[str, tuple[tuple[float, ...], float, float]] = {
    "commerciale": ((0.32, 0.30, 0.12, 0.08, 0.08, 0.03, 0.07), 1.0, 1.0),
    "sci": ((0.45, 0.35, 0.20, 0, 0, 0, 0), 0.6, 0.2),
    "groupement_prive": ((0.35, 0.40, 0, 0.10, 0.15, 0, 0), 0.8, 0.0),  # GIE, coopératives: no IS of their own
    "mutuelle": ((0.25, 0.05, 0.20, 0.10, 0.40, 0, 0), 0.1, 0.3),
    "association": ((0.04, 0.04, 0.10, 0, 0.82, 0, 0), 0.05, 0.02),  # mostly the tax on salaries
    "etrangere_rcs": ((0.30, 0.35, 0.20, 0.05, 0.10, 0, 0), 1.0, 1.0),  # 3120: a branch in France
    "etrangere": ((0, 0.70, 0.20, 0, 0.10, 0, 0), 1.0, 0.8),  # 3220: no establishment, no CFE
    "etat_etranger": ((0.30, 0.70, 0, 0, 0, 0, 0), 0.3, 0.0),
    "public": ((0.10, 0.80, 0.05, 0, 0.05, 0, 0), 0.3, 0.1),
    "personne_physique": ((0.45, 0.45, 0, 0.10, 0, 0, 0), 1.0, 0.0),
    "indivision": ((0.40, 0.60, 0, 0, 0, 0, 0), 0.3, 0.0),
}
PROFILE_NAMES = tuple(PROFILES)
TAX_WEIGHTS = np.array([PROFILES[p][0] for p in PROFILE_NAMES], dtype=np.float64)
VAT_CLAIM_CHANCE = np.array([PROFILES[p][1] for p in PROFILE_NAMES])
IS_RECEIVABLE_CHANCE = np.array([PROFILES[p][2] for p in PROFILE_NAMES])
COMMERCIALE = PROFILE_NAMES.index("commerciale")


def profile_of_code(code: str) -> str:
    if code == "3120":
        return "etrangere_rcs"
    if code == "3220":
        return "etrangere"
    first = code[:1]
    if code == "6540":
        return "sci"
    return {
        "5": "commerciale", "6": "groupement_prive", "8": "mutuelle", "9": "association", "3": "etat_etranger",
        "4": "public", "7": "public", "1": "personne_physique", "2": "indivision",
    }.get(first, "commerciale")  # fmt: skip


def profiles(categories: np.ndarray) -> np.ndarray:
    """Profile index per company, through the distinct categories (a handful)."""
    uniq, inv = np.unique(np.asarray(categories, dtype=object).astype(str), return_inverse=True)
    return np.array([PROFILE_NAMES.index(profile_of_code(c)) for c in uniq], dtype=np.int64)[inv]


def in_scope(categories: np.ndarray) -> np.ndarray:
    cat = np.asarray(categories, dtype=object).astype(str)
    return np.isin(np.char.ljust(cat, 1).astype("U1"), list("5689")) | np.isin(cat, FOREIGN_IN_SCOPE)
