"""Synthetic landing zone (SOURCES.md sections 1–4) for demos, load tests and pipeline tests.

Every company attribute is a pure function of (seed, global company index), computed with a counter-based
hash: a department can therefore reference companies of other departments (multi-site debtors) without
generating them, and the whole zone is reproducible byte for byte. Line-level data comes from one numpy
generator per (seed, department, source). Bulk columns are numpy / Arrow arrays and each file is written
with one join; only the few intentionally bad rows are built row by row.

Every bad row is an *extra* row (a faulty copy of a good one), so each one is rejected exactly once and no
good row is ever rejected: `GenerationSummary.bad_rows` is the expected number of rejects per source.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from onevision_dagster.contract.sources import (
    AMENDES,
    CREANCES_IS,
    CREDITS_TVA,
    ENTREPRISES,
    EXCEDENTS,
    IMPOTS_PRO,
    RNF,
    SPL,
    Kind,
    SourceSpec,
)

# --------------------------------------------------------------------------------------------------
# Tunable volumes and shares
# --------------------------------------------------------------------------------------------------

ROWS_PER_COMPANY: dict[str, float] = {
    "amendes": 0.5,
    "spl": 0.4,
    "impots_pro": 0.8,
    "rnf": 0.2,
    "credits_tva": 0.1,
    "excedents": 0.05,
    "creances_is": 0.05,
}
MIN_ROWS = 12  # per source file of a non-empty department, so that every code value can appear
OUT_OF_SCOPE_SHARE = 0.03  # extra register rows (sole traders, public bodies...) per department
OUTSIDE_SHARE = 0.01  # in-scope companies with head office in a department not generated
FOREIGN_POOL_SHARE = 0.01  # companies of other departments that have lines in this one
UNKNOWN_POOL_SHARE = 0.01  # valid SIRENs absent from the register
HOMONYM_SHARE = 0.01  # same denomination and postal code as the previous company
CEASED_SHARE = 0.08
PROCEDURE_SHARE = 0.04
SIGLE_SHARE = 0.15
# who the debtor / creditor of a source line is
DEBTOR_MIX = {"local": 0.937, "out_of_scope": 0.02, "foreign": 0.03, "unknown": 0.01, "la_poste": 0.003}
# how a fine carries its SIREN
FINE_SIREN_FORMS = {"valid": 0.45, "spaced": 0.10, "missing": 0.38, "invalid": 0.07}
MAX_BAD_ROW_RATE = 0.5

ALL_DEPARTEMENTS: tuple[str, ...] = (
    tuple(f"{i:02d}" for i in range(1, 20))
    + ("2A", "2B")
    + tuple(f"{i:02d}" for i in range(21, 96))
    + ("971", "972", "973", "974", "976")
)
_DEPT_POS = {d: i for i, d in enumerate(ALL_DEPARTEMENTS)}
_SIREN_SPACE = 99_999_999  # 8-digit SIREN bodies, La Poste's 35600000 left out
_LA_POSTE = 356000000
_NO_DATE = np.iinfo(np.int32).min
_EPOCH = date(1970, 1, 1)
_EPOCH_ORD = _EPOCH.toordinal()
_STRFTIME = {"DD/MM/YYYY": "%d/%m/%Y", "YYYY-MM-DD": "%Y-%m-%d", "YYYYMMDD": "%Y%m%d"}
_LOCAL, _OOS, _FOREIGN, _UNKNOWN, _LAPOSTE = range(5)

# --------------------------------------------------------------------------------------------------
# Vocabularies (accented; the plain form is derived). Everything must be encodable in cp1252.
# --------------------------------------------------------------------------------------------------

_ACTIVITES = (
    "BOULANGERIE", "PÂTISSERIE", "BOUCHERIE", "CHARCUTERIE", "ÉPICERIE", "FROMAGERIE", "GARAGE",
    "CARROSSERIE", "TRANSPORTS", "TAXIS", "AMBULANCES", "MENUISERIE", "CHARPENTE", "MAÇONNERIE",
    "PLOMBERIE", "ÉLECTRICITÉ", "PEINTURE", "COUVERTURE", "TERRASSEMENT", "BÂTIMENT", "RESTAURANT",
    "BRASSERIE", "CAFÉ", "HÔTEL", "CRÊPERIE", "PIZZERIA", "PHARMACIE", "OPTIQUE", "COIFFURE", "PRESSING",
    "LIBRAIRIE", "IMPRIMERIE", "INFORMATIQUE", "CABINET", "AGENCE", "IMMOBILIÈRE", "NÉGOCE",
    "DISTRIBUTION", "ATELIER", "ÉCURIES", "PÉPINIÈRES", "PAYSAGES", "NETTOYAGE", "SÉCURITÉ", "LOGISTIQUE",
    "MÉCANIQUE", "CHAUDRONNERIE", "OSTRÉICULTURE", "VITICULTURE", "DÉMÉNAGEMENTS", "FERRONNERIE",
    "AUTO-ÉCOLE", "FLEURS", "BIJOUTERIE", "ÉBÉNISTERIE", "SERRURERIE",
)  # fmt: skip
_NOMS = (
    "MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY", "MOREAU",
    "SIMON", "LAURENT", "LEFÈVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX", "VINCENT", "FOURNIER",
    "MOREL", "GIRARD", "ANDRÉ", "MERCIER", "DUPONT", "LAMBERT", "BONNET", "FRANÇOIS", "MARTINEZ", "LEGRAND",
    "GARNIER", "FAURE", "ROUSSEAU", "BLANC", "GUÉRIN", "MULLER", "HENRY", "ROUSSEL", "NICOLAS", "PERRIN",
    "MORIN", "MATHIEU", "CLÉMENT", "GAUTHIER", "DUMONT", "LOPEZ", "FONTAINE", "CHEVALIER", "ROBIN",
    "MASSON", "SANCHEZ", "GÉRARD", "NGUYEN", "BOYER", "DENIS", "LEMAIRE", "DUVAL", "JOLY", "ROGER", "ROCHE",
    "ROY", "NOËL", "MEYER", "LUCAS", "MEUNIER", "PEREZ", "MARCHAND", "DUFOUR", "BLANCHARD", "BARBIER",
    "BRUN", "DUMAS", "BRUNET", "SCHMITT", "LEROUX", "COLIN", "FERNANDEZ", "RENARD", "ARNAUD", "ROLLAND",
    "CARON", "AUBERT", "GIRAUD", "LECLERC", "VIDAL", "BOURGEOIS", "RENAUD", "LEMOINE", "PICARD",
    "GAILLARD", "LACROIX", "FABRE", "DUPUIS", "OLIVIER", "HUBERT", "GUILLOT", "RIVIÈRE", "LE GALL",
    "LE BRIS", "D'ALMEIDA", "DA SILVA", "DE OLIVEIRA", "PELLETIER", "LEBRUN", "BENOÎT", "HÉBERT", "CÔTÉ",
    "BÉRANGER", "LAGARDE", "TESSIER", "POIRIER", "CHARRIER", "BESNARD", "MAILLARD", "COLLET", "PRÉVOST",
    "JOUBERT", "ÉTIENNE", "LEFEBVRE", "LEFRANÇOIS", "N'DIAYE", "O'NEILL", "LABBÉ", "DESCHAMPS",
)  # fmt: skip
_PRENOMS = (
    "JEAN", "MARIE", "PIERRE", "NATHALIE", "MICHEL", "ISABELLE", "ANDRÉ", "SYLVIE", "PHILIPPE", "CÉLINE",
    "FRANÇOIS", "HÉLÈNE", "JÉRÔME", "CHLOÉ", "GAËL", "LÉA", "ANNE-SOPHIE", "JEAN-LUC",
)  # fmt: skip
_LIEUX = (
    "DU PORT", "DE LA GARE", "DU MARCHÉ", "DU CENTRE", "DE L'OUEST", "DE L'EST", "DU NORD", "DU SUD",
    "DES DEUX MERS", "DE L'ÎLE", "DU LITTORAL", "DES ÉTANGS", "DU VAL", "DE LA VALLÉE", "DU CHÂTEAU",
    "DES LILAS", "DU MOULIN", "DE LA PLAGE", "DU LAC", "DES SALINES", "DE LA FORÊT", "DES VIGNES", "DU BOURG",
    "DE LA CÔTE", "DES HALLES", "DE L'ABBAYE", "DU PONT", "DE LA BAIE", "DES ROCHES", "DU PLATEAU",
    "DE LA SOURCE", "D'ARMOR", "D'AUNIS", "DU BOCAGE", "DES CÈDRES", "DE L'ÉTOILE",
)  # fmt: skip
_REGIONS = (
    "ATLANTIQUE", "OCÉANE", "CHARENTAIS", "NORMANDE", "BRETONNE", "PROVENÇALE", "ALPINE", "LORRAINE",
    "PICARDE", "GASCONNE", "SAVOYARDE", "AUVERGNATE", "CORSE", "ANTILLAISE", "RÉUNIONNAISE", "FRANCILIENNE",
    "LIGÉRIENNE", "MÉDITERRANÉE", "DU GRAND OUEST", "DES PYRÉNÉES",
)  # fmt: skip
_SUFFIXES = (
    "ET FILS", "FRÈRES", "SERVICES", "ASSOCIÉS", "ET CIE", "CONSEIL", "ÉNERGIE", "HABITAT", "PLUS",
    "EXPRESS", "DÉVELOPPEMENT", "INVEST", "GROUPE", "& CO", "PÈRE ET FILLE",
)  # fmt: skip
_VOIES = ("RUE", "AVENUE", "BOULEVARD", "CHEMIN", "PLACE", "IMPASSE", "ROUTE", "QUAI", "ALLÉE", "COURS")
_VOIE_NOMS = (
    "DE LA RÉPUBLIQUE", "DU GÉNÉRAL DE GAULLE", "DES SALINES", "JEAN JAURÈS", "VICTOR HUGO",
    "DE L’ÉGLISE", "DU MOULIN", "DE LA GARE", "PASTEUR", "DES LILAS", "D’ESTIENNE D’ORVES", "DE LA MAIRIE",
    "DU 8 MAI 1945", "GAMBETTA", "DES ÉCOLES", "DE L’ÉTANG", "DU PORT", "ÉMILE ZOLA", "DES FRÈRES LUMIÈRE",
    "DE LA LIBÉRATION", "SAINT-EXUPÉRY", "DU CHÂTEAU D’EAU", "DES PÊCHEURS", "NOTRE-DAME",
)  # fmt: skip
_COMMUNE_PREF = ("SAINT-", "SAINTE-", "LE ", "LA ", "LES ", "", "", "", "", "", "", "")
_COMMUNE_CORE = (
    "MARTIN", "GEORGES", "PIERRE", "JEAN", "ÉTIENNE", "ANDRÉ", "AUBIN", "BOIS", "CHÂTEAU", "PONT",
    "FONTAINE", "VILLENEUVE", "BEAUMONT", "MONTIGNY", "ROCHEFORT", "VERNEUIL", "CHAMPAGNE", "BELLEVUE",
    "FONTENAY", "MONTREUIL", "NEUVILLE", "VILLIERS", "CHÂTILLON", "COURCELLES", "ÉPINAY", "ORMESSON",
    "ÉCOUEN", "MÉRIGNAC", "PÉRIGNY", "AIGREFEUILLE", "SAUJON", "MARENNES", "SAINTES", "JONZAC", "BRÉHAT",
)  # fmt: skip
_COMMUNE_SUFF = (
    "", "", "", "", "-SUR-MER", "-SUR-SEINE", "-LÈS-BAINS", "-EN-VAL", "-LE-VIEUX", "-DE-RÉ",
    "-SUR-LOIRE", "-D'OLÉRON", "-LA-FORÊT",
)  # fmt: skip
_COLLECTIVITES = (
    "COMMUNE DE", "CCAS DE", "SYNDICAT DES EAUX DE", "COMMUNAUTÉ DE COMMUNES DE", "RÉGIE DES TRANSPORTS DE",
    "OFFICE DE TOURISME DE", "CAISSE DES ÉCOLES DE",
)  # fmt: skip
_NATURES_SPL = (
    "LOYER", "EAU", "EAU ET ASSAINISSEMENT", "CANTINE", "OCCUPATION DOMAINE PUBLIC", "DÉCHETS",
    "TAXE DE SÉJOUR", "PÉRISCOLAIRE", "FOURRIÈRE", "DROITS DE PLACE",
)  # fmt: skip
_NATURES_RNF = (
    "REDEVANCE", "AMENDE ADMINISTRATIVE, PECHE", "REMBOURSEMENT INDU", "LOYER DOMANIAL",
    "FRAIS DE FOURRIÈRE", 'REDEVANCE "OCCUPATION DU DOMAINE PUBLIC"', "AMENDE ADMINISTRATIVE, TRAVAIL",
    "TROP-PERÇU", "ASTREINTE ADMINISTRATIVE",
)  # fmt: skip
_ORDONNATEURS = (
    "PRÉFECTURE {d}, SERVICE DES TITRES", "DDTM {d}", "DDPP {d}", "DREAL, UNITÉ {d}", "DDFIP {d}",
    "RECTORAT, ACADÉMIE {d}", 'DIRECTION "SUD-OUEST", DIRECCTE {d}',
)  # fmt: skip
# in-scope legal categories (first digit 5, 6, 8, 9) and their weights
_CATEGORIES = (
    ("5499", 0.30), ("5710", 0.27), ("5720", 0.10), ("5498", 0.07), ("5599", 0.03), ("5202", 0.02),
    ("5785", 0.02), ("6540", 0.08), ("6220", 0.01), ("6316", 0.01), ("8210", 0.01), ("9220", 0.06),
    ("9260", 0.02),
)  # fmt: skip
# out-of-scope register rows: sole traders, groupings, foreign-law companies, public bodies
_OOS_CATEGORIES = (
    ("1000", 0.55),
    ("7210", 0.15),
    ("7220", 0.05),
    ("2110", 0.07),
    ("3120", 0.10),
    ("4110", 0.08),
)
_LEGAL_PREFIXES = ("STE", "SOCIETE", "Société", "ETS", "Sté", "Ets")
_LEGAL_SUFFIXES = ("SARL", "SAS", "SASU", "EURL", "SA", "sarl", "Sas")


def _plain(s: str) -> str:
    """Accents removed, typographic apostrophe made straight: the look of most source systems."""
    s = unicodedata.normalize("NFD", s.replace("’", "'"))
    return "".join(ch for ch in s if not unicodedata.combining(ch))


def _initials(s: str) -> str:
    small = {"DE", "DU", "DES", "LA", "LE", "LES", "L", "D", "ET", "&", "N", "O"}
    words = re.split(r"[\s'’-]+", _plain(s))
    return "".join(w[0] for w in words if w and w not in small)


def _vocab(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    acc = np.array(values, dtype=object)
    return (
        acc,
        np.array([_plain(v) for v in values], dtype=object),
        np.array([_initials(v) for v in values], dtype=object),
    )


_V_ACT, _V_NOM, _V_LIEU, _V_REG, _V_SUF = map(_vocab, (_ACTIVITES, _NOMS, _LIEUX, _REGIONS, _SUFFIXES))

# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


@dataclass
class GenerationSummary:
    """What was written; `bad_rows` is the number of rows each source must reject (each exactly once)."""

    out: Path
    as_of: date
    departements: tuple[str, ...]
    files: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    bad_rows: dict[str, int] = field(default_factory=dict)
    bad_rows_by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def _add(self, source: str, path: Path, rows: int, bad: dict[str, int]) -> None:
        self.files[source] = self.files.get(source, 0) + 1
        self.rows[source] = self.rows.get(source, 0) + rows
        self.bad_rows[source] = self.bad_rows.get(source, 0) + sum(bad.values())
        per_kind = self.bad_rows_by_kind.setdefault(source, {})
        for k, v in bad.items():
            per_kind[k] = per_kind.get(k, 0) + v
        if path not in self.paths:
            self.paths.append(path)


def generate_landing(
    out: Path,
    departements: Sequence[str],
    n_entreprises: int,
    as_of: date,
    seed: int,
    bad_row_rate: float = 0.01,
) -> GenerationSummary:
    """Write a full landing zone: the national register and the seven extracts of each department.

    `n_entreprises` companies have their head office in each department (plus a few out-of-scope register
    rows). Same arguments, same bytes.
    """
    out = Path(out)
    depts = tuple(departements)
    for d in depts:
        if d not in _DEPT_POS:
            raise ValueError(f"unknown department code {d!r} (expected 01…95 without 20, 2A, 2B, 971…974, 976)")
    if len(set(depts)) != len(depts):
        raise ValueError("departments must not repeat")
    if n_entreprises < 0:
        raise ValueError("n_entreprises must be >= 0")
    if not 0 <= bad_row_rate <= MAX_BAD_ROW_RATE:
        raise ValueError(f"bad_row_rate must be within [0, {MAX_BAD_ROW_RATE}]")
    lay_stride = _Layout.stride_for(n_entreprises)
    if lay_stride * len(ALL_DEPARTEMENTS) > _SIREN_SPACE:
        raise ValueError("n_entreprises too large for unique SIRENs across all departments")

    stamp = as_of.strftime("%Y%m%d")
    summary = GenerationSummary(out=out, as_of=as_of, departements=depts)
    outside = tuple(d for d in ALL_DEPARTEMENTS if d not in depts)
    reg_path = out / "entreprises" / f"entreprises_{stamp}.csv"
    reg_path.parent.mkdir(parents=True, exist_ok=True)
    gen = _Gen(seed=seed, n=n_entreprises, as_of=as_of, bad_rate=bad_row_rate, depts=depts, outside=outside)
    reg_rows, reg_bad = 0, {}
    with reg_path.open("wb") as reg:
        reg.write(_header(ENTREPRISES))
        for d in depts:
            ctx = gen.dept(d)
            body, rows, bad = gen.register_chunk(ctx)
            reg.write(body)
            reg_rows += rows
            for kind, v in bad.items():
                reg_bad[kind] = reg_bad.get(kind, 0) + v
            for spec, build in gen.builders():
                path = out / spec.name / f"{spec.name}_{d}_{stamp}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                k = _row_count(n_entreprises, ROWS_PER_COMPANY[spec.name])
                rng = _rng(seed, _DEPT_POS[d], 10 + _SOURCE_IDS[spec.name])
                built = build(ctx, rng, k)
                body, rows, bad = gen.finish(spec, ctx, rng, built)
                path.write_bytes(_header(spec) + _encode(spec, body))
                summary._add(spec.name, path, rows, bad)
        reg.write(_encode(ENTREPRISES, _lines(ENTREPRISES, _la_poste_register_cells())))
    summary._add("entreprises", reg_path, reg_rows + 1, reg_bad)
    return summary


# --------------------------------------------------------------------------------------------------
# Hashing, identifiers, small array helpers
# --------------------------------------------------------------------------------------------------

_U64 = (1 << 64) - 1


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (wrapping uint64 arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hash(seed: int, fld: int, idx: np.ndarray) -> np.ndarray:
    key = _mix(np.array([(seed * 0x2545F4914F6CDD1D + fld * 0x9E3779B97F4A7C15) & _U64], dtype=np.uint64))
    return _mix(np.asarray(idx, dtype=np.int64).astype(np.uint64) ^ key)


def _unif(seed: int, fld: int, idx: np.ndarray) -> np.ndarray:
    return (_hash(seed, fld, idx) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _below(seed: int, fld: int, idx: np.ndarray, k: int) -> np.ndarray:
    return np.minimum((_unif(seed, fld, idx) * k).astype(np.int64), k - 1)


def _weighted(u: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), len(cum) - 1)


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed & _U64, *keys])


def _luhn_digit(body: np.ndarray, ndigits: int) -> np.ndarray:
    """Check digit making `body` + digit pass Luhn (the body's last digit is the first doubled)."""
    x = body.astype(np.int64).copy()
    total = np.zeros_like(x)
    for k in range(ndigits):
        d = x % 10
        x //= 10
        if k % 2 == 0:
            d = d * 2
            d = d - 9 * (d > 9)
        total += d
    return (10 - total % 10) % 10


@lru_cache(maxsize=64)
def _perm_params(seed: int) -> tuple[int, int]:
    h = int(_hash(seed, 991, np.array([0]))[0])
    a = 10_000_019 + (h % 5_000_000) * 2
    while math.gcd(a, _SIREN_SPACE) != 1:
        a += 2
    return a, (h >> 24) % _SIREN_SPACE


def _sirens(seed: int, gidx: np.ndarray) -> np.ndarray:
    """Unique valid SIRENs: an affine permutation of the global index over the 8-digit bodies."""
    a, b = _perm_params(seed)
    body = (np.asarray(gidx, dtype=np.int64) * a + b) % _SIREN_SPACE
    body = body + (body >= _LA_POSTE // 10)
    return body * 10 + _luhn_digit(body, 8)


def _sirets(siren: np.ndarray, nic4: np.ndarray) -> np.ndarray:
    body = siren.astype(np.int64) * 10_000 + nic4
    sirets = body * 10 + _luhn_digit(body, 13)
    # La Poste: NIC chosen so that the digit sum is a multiple of 5 (head office 00048 follows Luhn)
    lp = siren == _LA_POSTE
    if lp.any():
        first = nic4[lp]
        s = sum((first // 10**i) % 10 for i in range(4))
        last = (-(14 + s)) % 5 + 5 * (first % 2)
        sirets[lp] = _LA_POSTE * 100_000 + first * 10 + last
    return sirets


def _vat(siren: np.ndarray) -> pa.Array:
    key = (12 + 3 * (siren % 97)) % 97
    return _join("FR", _pad(key, 2), _pad(siren, 9))


def _s(x: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(x, dtype=np.int64)), pa.string())


def _pad(x: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(_s(x), width=width, padding="0")


def _join(*parts: object, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep, null_handling="replace", null_replacement="")


def _strs(x: np.ndarray | Sequence[str | None]) -> pa.Array:
    return pa.array(x, type=pa.string())


def _pick(values: Sequence[str], idx: np.ndarray) -> pa.Array:
    return pa.array(list(values), type=pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))


def _where(mask: np.ndarray, a: object, b: object) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), a, b)


def _amount(cents: np.ndarray, dec: str) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    return _join(_s(cents // 100), dec, _pad(cents % 100, 2))


def _dates(days: np.ndarray, fmt: str) -> pa.Array:
    """Format through the distinct days only (a few thousand), much faster than a per-row strftime."""
    days = np.asarray(days, dtype=np.int64)
    mask = days == _NO_DATE
    uniq, inv = np.unique(np.where(mask, 0, days), return_inverse=True)
    f = _STRFTIME[fmt]
    labels = [date.fromordinal(_EPOCH_ORD + int(d)).strftime(f) for d in uniq]
    return _strs(labels).take(pa.array(inv.astype(np.int64), mask=mask))


def _day(d: date) -> int:
    return (d - _EPOCH).days


def _cents_lognormal(rng: np.random.Generator, euros: float, sigma: float, k: int) -> np.ndarray:
    """Positive amounts with cents; about a third are whole euros, as in real extracts."""
    v = np.exp(rng.normal(math.log(euros), sigma, k)) * 100
    cents = np.maximum(np.round(v), 100).astype(np.int64)
    whole = rng.random(k) < 0.35
    return np.where(whole, np.maximum(cents // 100, 1) * 100, cents)


def _choice(rng: np.random.Generator, probs: Sequence[float], k: int) -> np.ndarray:
    """Indices drawn with `probs`; every index appears at least once when k allows it."""
    p = np.asarray(probs, dtype=np.float64)
    idx = rng.choice(len(p), size=k, p=p / p.sum())
    if k >= len(p):
        idx[rng.choice(k, size=len(p), replace=False)] = np.arange(len(p))
    return idx


def _row_count(n: int, ratio: float) -> int:
    return 0 if n <= 0 else max(MIN_ROWS, round(ratio * n))


# --------------------------------------------------------------------------------------------------
# Companies
# --------------------------------------------------------------------------------------------------

Frame = dict[str, "np.ndarray | pa.Array"]


def _take(frame: Frame, idx: np.ndarray) -> Frame:
    ids = pa.array(np.asarray(idx, dtype=np.int64))
    return {k: (v.take(ids) if isinstance(v, pa.Array) else v[idx]) for k, v in frame.items()}


def _concat(frames: Sequence[Frame]) -> Frame:
    keys = frames[0].keys()
    return {
        k: (
            pa.concat_arrays([f[k] for f in frames])
            if isinstance(frames[0][k], pa.Array)
            else np.concatenate([f[k] for f in frames])
        )
        for k in keys
    }


@dataclass(frozen=True)
class _Layout:
    """Index ranges of one department's block in the global company index."""

    n: int
    n_outside: int

    @staticmethod
    def stride_for(n: int) -> int:
        return 2 * n + 1000

    @property
    def stride(self) -> int:
        return self.stride_for(self.n)

    @property
    def n_oos(self) -> int:
        return 0 if self.n == 0 else max(2, round(OUT_OF_SCOPE_SHARE * self.n))

    @property
    def max_outside(self) -> int:
        return 0 if self.n == 0 else max(2, round(OUTSIDE_SHARE * self.n))

    @property
    def n_unknown(self) -> int:
        return max(5, round(UNKNOWN_POOL_SHARE * self.n))

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
def _postal_table(seed: int, dept: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The department's postal codes and their communes (accented and plain)."""
    prefix, width, first, count = _postal_spec(dept)
    n_cp = min(count, max(3, n // 300 + 3))
    rng = _rng(seed, 7, _DEPT_POS[dept])
    suffix = np.sort(rng.choice(count, size=n_cp, replace=False)) + first
    suffix[0] = first  # the main town: 17000, 20000, 97100...
    suffix = np.unique(suffix)
    cps = np.array([f"{prefix}{s:0{width}d}" for s in suffix], dtype=object)
    names = [
        _COMMUNE_PREF[a] + _COMMUNE_CORE[b] + _COMMUNE_SUFF[c]
        for a, b, c in zip(
            rng.integers(0, len(_COMMUNE_PREF), len(cps)),
            rng.integers(0, len(_COMMUNE_CORE), len(cps)),
            rng.integers(0, len(_COMMUNE_SUFF), len(cps)),
            strict=True,
        )
    ]
    acc = np.array(names, dtype=object)
    return cps, acc, np.array([_plain(x) for x in names], dtype=object)


# hash fields
(_F_HOM, _F_PAT, _F_ACT, _F_NOM, _F_LIEU, _F_REG, _F_SUF, _F_ACC, _F_SIG, _F_CAT, _F_CP, _F_NUM, _F_VOIE,
 _F_VNOM, _F_ADDR, _F_CRE, _F_CREN, _F_ETAT, _F_PROC, _F_PROCK, _F_JUG, _F_JUGF, _F_NIC, _F_OOS, _F_PRE,
 _F_OUT, _F_OUTCP) = range(1, 28)  # fmt: skip


@dataclass
class _Dept:
    code: str
    pos: int
    lay: _Layout
    cps: np.ndarray
    communes: np.ndarray
    frame: Frame  # register rows of the department (head office here, plus outside head offices)
    pool: Frame  # frame + foreign companies + unknown SIRENs + La Poste
    foreign_idx: np.ndarray  # indices in pool of companies whose head office is elsewhere
    unknown_idx: np.ndarray
    la_poste_idx: int


def _names(seed: int, src: np.ndarray, cat: np.ndarray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Denomination (accented, plain) and sigle candidates built from the vocabularies."""
    pat = _weighted(_unif(seed, _F_PAT, src), (0.40, 0.25, 0.15, 0.10, 0.10))
    a = _below(seed, _F_ACT, src, len(_ACTIVITES))
    f = _below(seed, _F_NOM, src, len(_NOMS))
    li = _below(seed, _F_LIEU, src, len(_LIEUX))
    r = _below(seed, _F_REG, src, len(_REGIONS))
    s = _below(seed, _F_SUF, src, len(_SUFFIXES))
    sci = cat == "6540"
    asso = (cat == "9220") | (cat == "9260")
    alt = (src % 2) == 0

    def build(col: int) -> tuple[pa.Array, ...]:
        act, nom, lieu, reg, suf = (v[col] for v in (_V_ACT, _V_NOM, _V_LIEU, _V_REG, _V_SUF))
        p1 = np.where(pat == 4, nom[f], act[a])
        p2 = np.select([pat == 0, pat == 1, pat == 2, pat == 3], [nom[f], lieu[li], nom[f], reg[r]], suf[s])
        p3 = np.where(pat == 2, suf[s], None)
        special = sci | asso
        p1 = np.where(sci, "SCI" if col != 2 else "S", np.where(asso, "ASSOCIATION" if col != 2 else "A", p1))
        p2 = np.where(special, np.where(alt, lieu[li], nom[f]), p2)
        p3 = np.where(special, None, p3)
        return _strs(p1), _strs(p2), _strs(p3)

    acc = pc.binary_join_element_wise(*build(0), " ", null_handling="skip")
    plain = pc.binary_join_element_wise(*build(1), " ", null_handling="skip")
    sig = pc.binary_join_element_wise(*build(2), "", null_handling="skip")
    return acc, plain, sig


def _frame(seed: int, ctx_code: str, lay: _Layout, gidx: np.ndarray, as_of: date, outside: tuple[str, ...]) -> Frame:
    """Every attribute of the companies `gidx` (a pure function of seed and index).

    Postal codes and addresses come from department `ctx_code`'s table: for its own companies that is the
    head office, for others the local establishment.
    """
    gidx = np.asarray(gidx, dtype=np.int64)
    k = len(gidx)
    j = gidx % lay.stride
    home_local = (gidx // lay.stride) == _DEPT_POS[ctx_code]
    flag = _unif(seed, _F_HOM, gidx) < HOMONYM_SHARE
    prev_flag = _unif(seed, _F_HOM, gidx - 1) < HOMONYM_SHARE
    hom = flag & ~prev_flag & (j >= 1) & (j < lay.n)
    src = np.where(hom, gidx - 1, gidx)

    cat_names = np.array([c for c, _ in _CATEGORIES], dtype=object)
    cat_w = [w for _, w in _CATEGORIES]
    cat = cat_names[_weighted(_unif(seed, _F_CAT, gidx), cat_w)]
    src_cat = cat_names[_weighted(_unif(seed, _F_CAT, src), cat_w)]
    name_acc, name_plain, sig = _names(seed, src, src_cat)
    reg_acc = _unif(seed, _F_ACC, src) < 0.5
    has_sig = (_unif(seed, _F_SIG, gidx) < SIGLE_SHARE) & (pc.utf8_length(sig).to_numpy(zero_copy_only=False) >= 2)

    cps, com_acc, com = _postal_table(seed, ctx_code, lay.n)
    cpi = _below(seed, _F_CP, src, len(cps))
    num = 1 + _below(seed, _F_NUM, gidx, 180)
    voie = _below(seed, _F_VOIE, gidx, len(_VOIES))
    vnom = _below(seed, _F_VNOM, gidx, len(_VOIE_NOMS))
    addr_acc = _join(_s(num), _pick(_VOIES, voie), _pick(_VOIE_NOMS, vnom), sep=" ")
    plain_voies = [_plain(v) for v in _VOIES]
    plain_vnoms = [_plain(v) for v in _VOIE_NOMS]
    addr_plain = _join(_s(num), _pick(plain_voies, voie), _pick(plain_vnoms, vnom), sep=" ")
    no_addr = _unif(seed, _F_ADDR, gidx) < 0.01

    as_of_d = _day(as_of)
    creation = as_of_d - 3 * 365 - _below(seed, _F_CRE, gidx, 57 * 365)
    creation = np.where(_unif(seed, _F_CREN, gidx) < 0.02, _NO_DATE, creation)
    proc_u = _unif(seed, _F_PROC, gidx)
    proc_k = _weighted(_unif(seed, _F_PROCK, gidx), (0.2, 0.35, 0.45))
    procs = np.array(["SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION"], dtype=object)
    has_proc = proc_u < PROCEDURE_SHARE
    procedure = np.where(has_proc, procs[proc_k], None)
    jug = as_of_d - _below(seed, _F_JUG, gidx, 3 * 365)
    # a few judgments dated after the extract (the offsetting block starts on the judgment date)
    jug = np.where(_unif(seed, _F_JUGF, gidx) < 0.03, as_of_d + 1 + _below(seed, _F_JUG, gidx, 60), jug)
    jugement = np.where(has_proc, jug, _NO_DATE)
    ceased = (_unif(seed, _F_ETAT, gidx) < CEASED_SHARE) | (has_proc & (proc_k == 2) & (proc_u < 0.7 * PROCEDURE_SHARE))
    etat = np.where(ceased, "C", "A").astype(object)
    nic4 = 1 + _below(seed, _F_NIC, gidx, 3)

    denomination = _where(reg_acc, name_acc, name_plain)
    fr: Frame = {
        "gidx": gidx,
        "siren": _sirens(seed, gidx),
        "nic4": nic4,
        "categorie": cat,
        "denomination": denomination,
        "name_acc": name_acc,
        "name_plain": name_plain,
        "reg_acc": reg_acc,
        "sigle": _where(has_sig, sig, pa.nulls(k, pa.string())),
        "adresse": _where(no_addr, pa.nulls(k, pa.string()), addr_plain),
        "adresse_acc": addr_acc,
        "code_postal": cps[cpi],
        "commune": com[cpi],
        "commune_acc": com_acc[cpi],
        "departement": np.full(k, ctx_code, dtype=object),
        "date_creation": creation,
        "etat": etat,
        "procedure": procedure,
        "date_jugement": jugement,
    }

    # out-of-scope rows of the department's own block
    oos = home_local & (j >= lay.oos_start) & (j < lay.outside_start)
    if oos.any():
        _out_of_scope(seed, fr, oos, j - lay.oos_start, ctx_code)
    out_rows = home_local & (j >= lay.outside_start) & (j < lay.outside_start + lay.n_outside)
    if out_rows.any() and outside:
        _outside(seed, fr, out_rows, outside, lay.n)
    return fr


def _out_of_scope(seed: int, fr: Frame, mask: np.ndarray, rank: np.ndarray, dept: str) -> None:
    """Sole traders, public bodies and other categories a position is never computed for."""
    rows = np.flatnonzero(mask)
    g, rk = fr["gidx"][rows], rank[rows]
    cats = np.array([c for c, _ in _OOS_CATEGORIES], dtype=object)
    cat = cats[_weighted(_unif(seed, _F_OOS, g), [w for _, w in _OOS_CATEGORIES])]
    cat = np.where(rk == 0, "1000", np.where(rk == 1, "7210", cat))  # both always present
    nom = _V_NOM[0][_below(seed, _F_NOM, g, len(_NOMS))]
    pre = np.array(_PRENOMS, dtype=object)[_below(seed, _F_PRE, g, len(_PRENOMS))]
    com = fr["commune_acc"][rows]
    name = np.select(
        [cat == "1000", cat == "7210", cat == "7220", cat == "2110", cat == "3120"],
        [
            nom + " " + pre,
            "COMMUNE DE " + com,
            np.full(len(g), f"DÉPARTEMENT {dept}", dtype=object),
            "INDIVISION " + nom,
            nom + " TRADING LTD",
        ],
        "OFFICE PUBLIC DE L'HABITAT DE " + com,
    )
    m = pa.array(mask)
    fr["name_acc"] = pc.replace_with_mask(fr["name_acc"], m, _strs(name))
    fr["name_plain"] = pc.replace_with_mask(fr["name_plain"], m, _strs([_plain(x) for x in name]))
    fr["denomination"] = _where(fr["reg_acc"], fr["name_acc"], fr["name_plain"])
    fr["sigle"] = _where(mask, pa.nulls(len(mask), pa.string()), fr["sigle"])
    fr["categorie"] = fr["categorie"].copy()
    fr["categorie"][rows] = cat
    public = rows[np.isin(cat, ["7210", "7220", "4110"])]
    for col, value in (("procedure", None), ("date_jugement", _NO_DATE), ("etat", "A")):
        fr[col] = fr[col].copy()
        fr[col][public] = value


def _outside(seed: int, fr: Frame, mask: np.ndarray, outside: tuple[str, ...], n: int) -> None:
    """In-scope companies registered with a head office in a department that is not generated."""
    rows = np.flatnonzero(mask)
    g = fr["gidx"][rows]
    dept = np.array(outside, dtype=object)[_below(seed, _F_OUT, g, len(outside))]
    for col in ("code_postal", "commune", "departement"):
        fr[col] = fr[col].copy()
    fr["departement"][rows] = dept
    for d in np.unique(dept):
        sel = dept == d
        cps, _, communes = _postal_table(seed, str(d), n)
        i = _below(seed, _F_OUTCP, g[sel], len(cps))
        fr["code_postal"][rows[sel]] = cps[i]
        fr["commune"][rows[sel]] = communes[i]


def _la_poste_frame(cp: str, commune: str) -> Frame:
    def s(v: str | None) -> pa.Array:
        return _strs([v])

    return {
        "gidx": np.array([-1]),
        "siren": np.array([_LA_POSTE]),
        "nic4": np.array([4]),
        "categorie": np.array(["5510"], dtype=object),
        "denomination": s("LA POSTE"),
        "name_acc": s("LA POSTE"),
        "name_plain": s("LA POSTE"),
        "reg_acc": np.array([False]),
        "sigle": s(None),
        "adresse": s("9 RUE DU COLONEL PIERRE AVIA"),
        "adresse_acc": s("9 RUE DU COLONEL PIERRE AVIA"),
        "code_postal": np.array([cp], dtype=object),
        "commune": np.array([commune], dtype=object),
        "commune_acc": np.array([commune], dtype=object),
        "departement": np.array(["75"], dtype=object),
        "date_creation": np.array([_day(date(1991, 1, 1))]),
        "etat": np.array(["A"], dtype=object),
        "procedure": np.array([None], dtype=object),
        "date_jugement": np.array([_NO_DATE]),
    }


def _la_poste_register_cells() -> dict[str, pa.Array]:
    fr = _la_poste_frame("75015", "PARIS")
    return _register_cells(fr)


def _register_cells(fr: Frame) -> dict[str, pa.Array]:
    return {
        "siren": _pad(fr["siren"], 9),
        "denomination": fr["denomination"],
        "sigle": fr["sigle"],
        "categorie_juridique": _strs(fr["categorie"]),
        "adresse": fr["adresse"],
        "code_postal": _strs(fr["code_postal"]),
        "commune": _strs(fr["commune"]),
        "departement": _strs(fr["departement"]),
        "date_creation": _dates(fr["date_creation"], "YYYY-MM-DD"),
        "etat_administratif": _strs(fr["etat"]),
        "procedure_collective": _strs(fr["procedure"]),
        "date_jugement": _dates(fr["date_jugement"], "YYYY-MM-DD"),
    }


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def _header(spec: SourceSpec) -> bytes:
    text = spec.separator.join(spec.column_names) + "\r\n"
    return text.encode("utf-8-sig" if spec.encoding == "utf-8-sig" else spec.encoding)


def _rfc4180(arr: pa.Array) -> pa.Array:
    arr = pc.fill_null(arr, "")
    needs = pc.match_substring_regex(arr, r'[",\r\n]')
    quoted = _join('"', pc.replace_substring(arr, '"', '""'), '"')
    return pc.if_else(needs, quoted, arr)


def _lines(spec: SourceSpec, cells: dict[str, pa.Array]) -> pa.Array:
    cols = [cells[c] for c in spec.column_names]
    if spec.separator == ",":
        cols = [_rfc4180(c) for c in cols]
    return _join(*cols, sep=spec.separator)


def _py_line(spec: SourceSpec, values: list[str], raw: int = -1) -> str:
    if spec.separator == ",":
        values = [
            v if i == raw or not any(ch in v for ch in ',"\r\n') else '"' + v.replace('"', '""') + '"'
            for i, v in enumerate(values)
        ]
    return spec.separator.join(values)


def _encode(spec: SourceSpec, lines: pa.Array) -> bytes:
    """CRLF-terminated lines in the source's encoding (the BOM goes with the header)."""
    if len(lines) == 0:
        return b""
    arr = _join(lines, "\r\n")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
    if spec.encoding == "cp1252":
        return data.decode("utf-8").encode("cp1252")
    return data


# --------------------------------------------------------------------------------------------------
# Bad rows (section 4): one faulty extra row per bad row, built from a good row
# --------------------------------------------------------------------------------------------------

_BAD_CODES: dict[str, tuple[str, ...]] = {
    "STATUT": ("RECOUVREE", "PAYÉE", "EN_COURS_X"),
    "statut": ("RECOUVRE", "CLOS"),
    "etape": ("HUISSIER", "RELANCE_2"),
    "CODE_IMPOT": ("XYZ", "TFPB"),
    "PHASE": ("CONTENTIEUX",),
    "SURSIS": ("OUI", "X"),
    "IMPOT": ("TFPB",),
    "TYPE_CREANCE": ("CICE",),
    "etat_administratif": ("F", "X"),
    "procedure_collective": ("FAILLITE", "CONCILIATION"),
    "categorie_juridique": ("54A9", "549"),
    "departement": ("99", "975", "2C"),
    "PERIODE": ("2026T3", "202613"),
}


@dataclass
class _Built:
    cells: dict[str, pa.Array]
    fresh_key: Callable[[dict[str, str], int], None]  # give a bad row a key of its own
    rule: Callable[[dict[str, str], np.random.Generator], None] | None = None  # break a rule between cells
    bad_ids: Callable[[int], list[str]] | None = None  # fresh identifiers (register)


def _bad_kinds(spec: SourceSpec, has_rule: bool) -> list[str]:
    kinds = ["cells"]
    cols = spec.columns
    if any(c.mandatory for c in cols):
        kinds.append("missing")
    if any(c.kind is Kind.DATE for c in cols):
        kinds.append("date")
    if any(c.kind in (Kind.AMOUNT, Kind.CENTS) for c in cols):
        kinds += ["amount", "negative"]
    if any(c.kind in (Kind.CODE, Kind.PATTERN) for c in cols):
        kinds.append("code")
    if any(c.kind in (Kind.SIREN, Kind.SIRET, Kind.DEBTOR_ID) for c in cols):
        kinds.append("identifier")
    if has_rule:
        kinds.append("rule")
    if spec.key:
        kinds.append("duplicate")
    return kinds


def _py_amount(cents: int, spec: SourceSpec, col: str) -> str:
    if spec.column(col).kind is Kind.CENTS:
        return str(cents)
    return f"{cents // 100}{spec.decimal}{cents % 100:02d}"


def _py_cents(value: str) -> int:
    return int(value.replace(",", "").replace(".", "")) if value else 0


def _bad_date(fmt: str, year: int, r: int) -> str:
    y = year
    choices = {
        "DD/MM/YYYY": (f"31/02/{y}", f"1/3/{y}", f"30/02/{y - 1}", f"{y}-03-01", f"31/04/{y}", f"15/13/{y}"),
        "YYYYMMDD": (f"{y}1340", f"{y}0230", f"{y}131", f"{y}-03-01", f"{y}0000", f"15/03/{y}"),
        "YYYY-MM-DD": (f"{y}-02-30", f"{y}-2-3", f"01/03/{y}", f"{y}-13-01", f"{y}0301"),
    }[fmt]
    return choices[r % len(choices)]


def _bad_amount(spec: SourceSpec, col: str, r: int) -> str:
    if spec.column(col).kind is Kind.CENTS:
        return ("12,50", "12.5", "douze", "1 000")[r % 4]
    if spec.decimal == ",":
        return ("trois cents", "12,345", "1 250,00", "12.50", "1250,4O", "12,5,0")[r % 6]
    return ("trois cents", "1,250.00", "12,50", "12.345")[r % 4]


def _break_id(v: str, rng: np.random.Generator) -> str:
    if v.startswith("FR"):
        key = int(v[2:4])
        return f"FR{(key + 1 + int(rng.integers(96))) % 97:02d}{v[4:]}"
    digits = v.replace(" ", "")
    r = rng.random()
    if r < 0.6 and not digits.startswith("356000000"):
        return digits[:-1] + str((int(digits[-1]) + 1 + int(rng.integers(9))) % 10)
    if r < 0.85:
        return digits[:-1]
    return digits[:3] + "O" + digits[4:]


def _make_bad_rows(
    spec: SourceSpec, built: _Built, rng: np.random.Generator, n_bad: int, year: int
) -> tuple[list[str], np.ndarray, dict[str, int]]:
    """Faulty copies of good rows, each with one fault of section 4; returns lines and anchor rows."""
    n_good = len(next(iter(built.cells.values())))
    if n_bad == 0 or n_good == 0:
        return [], np.zeros(0, dtype=np.int64), {}
    kinds = _bad_kinds(spec, built.rule is not None)
    order = rng.permutation(len(kinds))  # every kind once before any repeats, in a random order
    assign = [kinds[order[i % len(kinds)]] for i in rng.permutation(n_bad)]
    src = rng.integers(0, n_good, n_bad)
    other = rng.integers(0, n_good, n_bad)
    ids = pa.array(src)
    names = spec.column_names
    cols = {c: built.cells[c].take(ids).to_pylist() for c in names}
    other_keys = {c: built.cells[c].take(pa.array(other)).to_pylist() for c in spec.key}
    cols_by = {c: spec.column(c) for c in names}
    mandatory = [c for c in names if cols_by[c].mandatory]
    dates = [c for c in names if cols_by[c].kind is Kind.DATE]
    amounts = [c for c in names if cols_by[c].kind in (Kind.AMOUNT, Kind.CENTS)]
    codes = [c for c in names if cols_by[c].kind in (Kind.CODE, Kind.PATTERN)]
    idents = [c for c in names if cols_by[c].kind in (Kind.SIREN, Kind.SIRET, Kind.DEBTOR_ID)]
    texts = [c for c in names if cols_by[c].kind is Kind.TEXT and c not in spec.key]
    lines: list[str] = []
    anchors = src.copy()
    counts: dict[str, int] = {}
    for i, kind in enumerate(assign):
        row = {c: (cols[c][i] or "") for c in names}
        counts[kind] = counts.get(kind, 0) + 1
        r = int(rng.integers(1 << 30))
        raw = -1
        if kind == "duplicate":
            if r % 2:  # same key, other content (the first row keeps the key)
                anchors[i] = other[i]
                for c in spec.key:
                    row[c] = other_keys[c][i] or ""
                if spec is ENTREPRISES:
                    row["denomination"] = (row["denomination"] + " BIS").strip()
        else:
            built.fresh_key(row, i)
        if kind == "cells":
            values = [row[c] for c in names]
            if r % 5 < 3:
                values = values[: len(values) - 1 - r % 3]
            elif texts:
                c = texts[r % len(texts)]
                raw = names.index(c)
                # an unquoted separator inside a cell (no quote or line break, so the line stays one line)
                row[c] = re.sub(r'["\r\n]', " ", row[c] or "DUPONT") + spec.separator + " FILS"
                values = [row[c] for c in names]
            else:
                values.append("EN TROP")
            lines.append(_py_line(spec, values, raw))
            continue
        if kind == "missing":
            row[mandatory[r % len(mandatory)]] = ""
        elif kind == "date":
            filled = [c for c in dates if row[c]] or dates
            c = filled[r % len(filled)]
            row[c] = _bad_date(spec.date_format, year, r)
        elif kind == "amount":
            filled = [c for c in amounts if row[c]]
            row[filled[r % len(filled)]] = _bad_amount(spec, filled[r % len(filled)], r)
        elif kind == "negative":
            filled = [c for c in amounts if row[c] and cols_by[c].mandatory]
            c = filled[r % len(filled)]
            cents = _py_cents(row[c]) or 100 + r % 10_000
            row[c] = "-" + _py_amount(cents, spec, c)
        elif kind == "code":
            c = codes[r % len(codes)]
            bad = _BAD_CODES.get(c, ("INCONNU",))
            row[c] = bad[r % len(bad)]
        elif kind == "identifier":
            c = idents[r % len(idents)]
            row[c] = _break_id(row[c], rng)
        elif kind == "rule":
            assert built.rule is not None
            built.rule(row, rng)
        lines.append(_py_line(spec, [row[c] for c in names]))
    return lines, anchors, counts


# --------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------

_SOURCE_IDS = {
    "amendes": 1,
    "spl": 2,
    "impots_pro": 3,
    "rnf": 4,
    "credits_tva": 5,
    "excedents": 6,
    "creances_is": 7,
}


@dataclass
class _Gen:
    seed: int
    n: int
    as_of: date
    bad_rate: float
    depts: tuple[str, ...]
    outside: tuple[str, ...]

    def __post_init__(self) -> None:
        self.lay = _Layout(self.n, 0)
        if self.outside:  # head offices elsewhere only where a department is not generated
            self.lay = _Layout(self.n, self.lay.max_outside)
        self.year = self.as_of.year
        self.today = _day(self.as_of)

    # ----- department context ---------------------------------------------------------------------

    def dept(self, code: str) -> _Dept:
        lay, seed, pos = self.lay, self.seed, _DEPT_POS[code]
        base = pos * lay.stride
        frame = _frame(seed, code, lay, base + np.arange(lay.n_register), self.as_of, self.outside)
        rng = _rng(seed, pos, 200)
        others = [d for d in self.depts if d != code]
        parts = [frame]
        foreign = list(range(lay.outside_start, lay.n_register))
        if others and lay.n > 0:
            p = max(4, round(FOREIGN_POOL_SHARE * lay.n))
            od = np.array([_DEPT_POS[d] for d in others])[rng.integers(0, len(others), p)]
            oj = np.floor(lay.n * rng.random(p) ** 1.7).astype(np.int64)
            fp = _frame(seed, code, lay, od * lay.stride + oj, self.as_of, self.outside)
            start = sum(len(f["gidx"]) for f in parts)
            parts.append(fp)
            foreign += list(range(start, start + p))
        start = sum(len(f["gidx"]) for f in parts)
        unk = _frame(seed, code, lay, base + lay.unknown_start + np.arange(lay.n_unknown), self.as_of, ())
        parts.append(unk)
        unknown_idx = np.arange(start, start + lay.n_unknown)
        cps, _, communes = _postal_table(seed, code, lay.n)
        parts.append(_la_poste_frame(str(cps[0]), str(communes[0])))
        pool = _concat(parts)
        return _Dept(
            code=code,
            pos=pos,
            lay=lay,
            cps=cps,
            communes=communes,
            frame=frame,
            pool=pool,
            foreign_idx=np.array(foreign, dtype=np.int64),
            unknown_idx=unknown_idx,
            la_poste_idx=len(pool["gidx"]) - 1,
        )

    def debtors(self, ctx: _Dept, rng: np.random.Generator, k: int, la_poste: int) -> tuple[Frame, np.ndarray]:
        """Who each line is about; the same few companies recur across sources (debts and credits)."""
        lay = ctx.lay
        kind = rng.choice(5, size=k, p=np.array(list(DEBTOR_MIX.values())) / sum(DEBTOR_MIX.values()))
        if not la_poste:  # La Poste lines: none, or at least `la_poste` of them
            kind[kind == _LAPOSTE] = _LOCAL
        elif k >= 10 and (kind == _LAPOSTE).sum() < la_poste:
            kind[rng.choice(k, size=la_poste, replace=False)] = _LAPOSTE
        if k >= 10:  # make sure each kind of debtor shows up
            for kd in (_OOS, _FOREIGN, _UNKNOWN):
                if not (kind == kd).any():
                    kind[rng.choice(np.flatnonzero(kind == _LOCAL))] = kd
        if lay.n_oos == 0:
            kind[kind == _OOS] = _LOCAL
        if len(ctx.foreign_idx) == 0:
            kind[kind == _FOREIGN] = _LOCAL
        idx = np.floor(lay.n * rng.random(k) ** 1.7).astype(np.int64)
        idx = np.where(kind == _OOS, lay.oos_start + rng.integers(0, max(lay.n_oos, 1), k), idx)
        if len(ctx.foreign_idx):
            idx = np.where(kind == _FOREIGN, ctx.foreign_idx[rng.integers(0, len(ctx.foreign_idx), k)], idx)
        idx = np.where(kind == _UNKNOWN, ctx.unknown_idx[rng.integers(0, len(ctx.unknown_idx), k)], idx)
        idx = np.where(kind == _LAPOSTE, ctx.la_poste_idx, idx)
        return _take(ctx.pool, idx), kind

    def n_bad(self, n_good: int) -> int:
        if self.bad_rate <= 0 or n_good == 0:
            return 0
        return max(1, round(self.bad_rate * n_good))

    def finish(
        self, spec: SourceSpec, ctx: _Dept, rng: np.random.Generator, built: _Built
    ) -> tuple[pa.Array, int, dict[str, int]]:
        """Good lines plus bad rows, each bad row placed somewhere after the row it was copied from."""
        good = _lines(spec, built.cells)
        n_good = len(good)
        bad_lines, anchors, counts = _make_bad_rows(spec, built, rng, self.n_bad(n_good), self.year)
        if not bad_lines:
            return good, n_good, counts
        keys = np.concatenate(
            [
                np.arange(n_good, dtype=np.float64),
                anchors + 0.5 + rng.random(len(anchors)) * (n_good - 1 - anchors),
            ]
        )
        order = np.argsort(keys, kind="stable")
        lines = pa.concat_arrays([good, _strs(bad_lines)]).take(pa.array(order))
        return lines, len(lines), counts

    def register_chunk(self, ctx: _Dept) -> tuple[bytes, int, dict[str, int]]:
        fr = ctx.frame
        cells = _register_cells(fr)
        base = ctx.pos * ctx.lay.stride + ctx.lay.bad_start
        bad_sirens = _sirens(self.seed, base + np.arange(ctx.lay.stride - ctx.lay.bad_start))
        jug_iso = date.fromordinal(self.as_of.toordinal() - 200).isoformat()

        def fresh(row: dict[str, str], i: int) -> None:
            row["siren"] = f"{bad_sirens[i]:09d}"

        def rule(row: dict[str, str], rng: np.random.Generator) -> None:
            if rng.random() < 0.5:
                row["procedure_collective"] = ("SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION")[int(rng.integers(3))]
                row["date_jugement"] = ""
            else:
                row["procedure_collective"] = ""
                row["date_jugement"] = jug_iso

        rng = _rng(self.seed, ctx.pos, 100)
        lines, rows, bad = self.finish(ENTREPRISES, ctx, rng, _Built(cells, fresh, rule))
        return _encode(ENTREPRISES, lines), rows, bad

    def builders(self) -> list[tuple[SourceSpec, Callable[[_Dept, np.random.Generator, int], _Built]]]:
        return [
            (AMENDES, self.amendes),
            (SPL, self.spl),
            (IMPOTS_PRO, self.impots_pro),
            (RNF, self.rnf),
            (CREDITS_TVA, self.credits_tva),
            (EXCEDENTS, self.excedents),
            (CREANCES_IS, self.creances_is),
        ]

    # ----- helpers shared by the sources ----------------------------------------------------------

    @staticmethod
    def _paid_more(
        spec: SourceSpec, due_cols: Sequence[str], paid_col: str
    ) -> Callable[[dict[str, str], np.random.Generator], None]:
        """Rule fault: more paid (or remaining) than due."""

        def rule(row: dict[str, str], rng: np.random.Generator) -> None:
            due = sum(_py_cents(row[c]) for c in due_cols)
            row[paid_col] = _py_amount(due + 1 + int(rng.integers(max(due, 100))), spec, paid_col)

        return rule

    # ----- amendes --------------------------------------------------------------------------------

    def amendes(self, ctx: _Dept, rng: np.random.Generator, k: int) -> _Built:
        d, kind = self.debtors(ctx, rng, k, la_poste=1)
        siren9 = _pad(d["siren"], 9)
        form = _choice(rng, list(FINE_SIREN_FORMS.values()), k)
        located = (kind == _LOCAL) | (kind == _OOS)
        form = np.where(located, form, np.where(form == 1, 1, 0))  # foreign / unknown: always the SIREN
        wrong = (d["siren"] // 10) * 10 + (d["siren"] % 10 + 1 + rng.integers(0, 9, k)) % 10
        short = rng.random(k) < 0.2
        invalid = _where(short, _pad(d["siren"] // 10, 8), _pad(wrong, 9))
        spaced = _join(
            pc.utf8_slice_codeunits(siren9, 0, 3),
            pc.utf8_slice_codeunits(siren9, 3, 6),
            pc.utf8_slice_codeunits(siren9, 6, 9),
            sep=" ",
        )
        siren = _where(
            form == 0, siren9, _where(form == 1, spaced, _where(form == 3, invalid, pa.nulls(k, pa.string())))
        )

        # the name as the fine's system spells it
        denom, acc, plain = d["denomination"], d["name_acc"], d["name_plain"]
        v = _choice(rng, (0.32, 0.10, 0.05, 0.15, 0.08, 0.10, 0.05, 0.06, 0.06, 0.03), k)
        variants = [
            denom,
            pc.utf8_title(acc),
            pc.utf8_lower(plain),
            _where(d["reg_acc"], plain, acc),
            _join(_pick(_LEGAL_PREFIXES, rng.integers(0, len(_LEGAL_PREFIXES), k)), denom, sep=" "),
            _join(denom, _pick(_LEGAL_SUFFIXES, rng.integers(0, len(_LEGAL_SUFFIXES), k)), sep=" "),
            pc.replace_substring(plain, " ", "-"),
            pc.replace_substring(pc.utf8_title(acc), "'", "’"),
            pc.coalesce(d["sigle"], denom),
            _join("  ", denom, " "),
        ]
        name = variants[0]
        for i in range(1, len(variants)):
            name = _where(v == i, variants[i], name)
        # fines with no SIREN for a company the register does not know: no candidate
        missing = form == 2
        stranger = missing & (rng.random(k) < 0.05)
        u = _take(ctx.pool, ctx.unknown_idx[rng.integers(0, len(ctx.unknown_idx), k)])
        name = _where(stranger, u["name_acc"], name)

        # address: the company's own for local debtors, the place of the offence for the others
        local = _take(ctx.frame, np.floor(ctx.lay.n * rng.random(k)).astype(np.int64)) if ctx.lay.n else d
        cp = np.where(located, d["code_postal"], local["code_postal"])
        other_cp = missing & (rng.random(k) < 0.02)
        cp = np.where(other_cp, ctx.cps[rng.integers(0, len(ctx.cps), k)], cp)
        addr = _where(located, d["adresse_acc"], local["adresse_acc"])
        addr_v = rng.random(k)
        addr = _where(
            addr_v < 0.4,
            pc.utf8_title(addr),
            _where(addr_v < 0.8, addr, pc.replace_substring(addr, "’", "'")),
        )
        commune = np.where(located, d["commune_acc"], local["commune_acc"])
        commune = _where(rng.random(k) < 0.5, pc.utf8_title(_strs(commune)), _strs(commune))

        infraction = self.today - 20 - rng.integers(0, 1800, k)
        majoration = infraction + 45 + rng.integers(0, 75, k)
        infraction = np.where(rng.random(k) < 0.03, _NO_DATE, infraction)
        base = np.array([35, 68, 90, 135, 180, 375, 450, 750, 1125, 1500, 3750]) * 100
        due = base[rng.integers(0, len(base), k)]
        due = np.where(rng.random(k) < 0.15, due + rng.integers(1, 100, k), due)
        statut = _choice(rng, (0.6, 0.22, 0.08, 0.10), k)  # EN_RECOUVREMENT, PAYEE, ANNULEE, ADMISE_NON_VALEUR
        partial = (due * rng.uniform(0.1, 0.9, k)).astype(np.int64)
        paid = np.select(
            [statut == 1, (statut == 0) & (rng.random(k) < 0.25), (statut == 3) & (rng.random(k) < 0.2)],
            [due, partial, partial],
            0,
        )
        codes = AMENDES.column("STATUT").codes
        seq = np.arange(1, k + 1)
        cells = {
            "NUM_AMENDE": _join(ctx.code, _pad(seq, 13 - len(ctx.code))),
            "DATE_INFRACTION": _dates(infraction, "DD/MM/YYYY"),
            "DATE_MAJORATION": _dates(majoration, "DD/MM/YYYY"),
            "RAISON_SOCIALE": name,
            "SIREN": siren,
            "ADRESSE": addr,
            "CODE_POSTAL": _strs(cp),
            "COMMUNE": commune,
            "MONTANT_MAJORE": _amount(due, ","),
            "MONTANT_PAYE": _amount(paid, ","),
            "STATUT": _pick(codes, statut),
        }
        width = 13 - len(ctx.code)

        def fresh(row: dict[str, str], i: int) -> None:
            row["NUM_AMENDE"] = f"{ctx.code}{k + 1 + i:0{width}d}"

        return _Built(cells, fresh, self._paid_more(AMENDES, ["MONTANT_MAJORE"], "MONTANT_PAYE"))

    # ----- spl ------------------------------------------------------------------------------------

    def spl(self, ctx: _Dept, rng: np.random.Generator, k: int) -> _Built:
        d, _ = self.debtors(ctx, rng, k, la_poste=2)
        n_coll = min(len(ctx.cps) * len(_COLLECTIVITES), max(3, len(ctx.cps) // 2 + 3))
        coll_ids = np.sort(rng.choice(len(ctx.cps) * len(_COLLECTIVITES), n_coll, replace=False))
        coll_code = np.array([f"{ctx.code}{i:04d}" for i in coll_ids], dtype=object)
        coll_label = np.array(
            [f"{_COLLECTIVITES[i % len(_COLLECTIVITES)]} {ctx.communes[i // len(_COLLECTIVITES)]}" for i in coll_ids],
            dtype=object,
        )
        coll = rng.integers(0, n_coll, k)
        emission = self.today - rng.integers(0, 1500, k)
        exercice = _years(emission)
        # num_titre numbered from 1 within (collectivity, year)
        key = coll.astype(np.int64) * 10_000 + exercice
        order = np.argsort(key, kind="stable")
        sk = key[order]
        starts = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
        rank = np.arange(k) - np.repeat(starts, np.diff(np.r_[starts, k]))
        num = np.empty(k, dtype=np.int64)
        num[order] = rank + 1

        nic4 = np.where(rng.random(k) < 0.6, d["nic4"], 4 + rng.integers(0, 60, k))
        lp = d["siren"] == _LA_POSTE
        nic4 = np.where(lp, rng.integers(0, 10_000, k), nic4)
        sirets = _sirets(d["siren"], nic4)
        if lp.any():  # La Poste's head office, the one La Poste SIRET that follows Luhn
            sirets[np.flatnonzero(lp)[0]] = 35600000000048
        helios = pc.replace_substring(d["name_plain"], "'", " ")
        nom = _where(rng.random(k) < 0.5, helios, d["denomination"])

        montant = _cents_lognormal(rng, 800, 1.2, k)
        st = rng.random(k)
        reste = np.where(
            st < 0.25,
            0,
            np.where(st < 0.45, (montant * rng.uniform(0.05, 0.95, k)).astype(np.int64), montant),
        )
        etape = _choice(rng, (0.35, 0.25, 0.15, 0.07, 0.18), k)
        cells = {
            "code_collectivite": _strs(coll_code[coll]),
            "libelle_collectivite": _strs(coll_label[coll]),
            "exercice": _s(exercice),
            "num_titre": _s(num),
            "date_emission": _dates(emission, "DD/MM/YYYY"),
            "siret_debiteur": _pad(sirets, 14),
            "nom_debiteur": nom,
            "nature_produit": _pick(_NATURES_SPL, rng.integers(0, len(_NATURES_SPL), k)),
            "montant_titre": _amount(montant, ","),
            "reste_a_recouvrer": _amount(reste, ","),
            "etape": _pick(SPL.column("etape").codes, etape),
        }

        def fresh(row: dict[str, str], i: int) -> None:
            row["num_titre"] = str(1_000_000 + i)

        return _Built(cells, fresh, self._paid_more(SPL, ["montant_titre"], "reste_a_recouvrer"))

    # ----- impots_pro -----------------------------------------------------------------------------

    def impots_pro(self, ctx: _Dept, rng: np.random.Generator, k: int) -> _Built:
        d, _ = self.debtors(ctx, rng, k, la_poste=1)
        codes = IMPOTS_PRO.column("CODE_IMPOT").codes  # CFE TVA IS CVAE TS IFER TASCOM
        code = _choice(rng, (0.32, 0.30, 0.12, 0.08, 0.08, 0.03, 0.07), k)
        # due dates: mostly past, some after the as-of date (taxes not yet due); TVA on the 24th,
        # CFE on 15 December, the others on the 15th
        future = rng.random(k) < 0.08
        raw = np.where(future, self.today + 1 + rng.integers(0, 120, k), self.today - rng.integers(0, 1500, k))
        month = raw.astype("datetime64[D]").astype("datetime64[M]")
        year = month.astype("datetime64[Y]")
        first = month.astype("datetime64[D]").astype(np.int64)
        december = (year.astype("datetime64[M]") + 11).astype("datetime64[D]").astype(np.int64)
        due_days = np.select([code == 0, code == 1], [december + 14, first + 23], first + 14)
        y = year.astype(np.int64) + 1970
        prev_month = month - 1
        pm_y = prev_month.astype("datetime64[Y]").astype(np.int64) + 1970
        pm_m = (prev_month.astype(np.int64) % 12) + 1
        periode = _where(
            code == 1,
            _join(_s(pm_y), _pad(pm_m, 2)),
            _s(np.where(code == 0, y, y - 1)),
        )
        droits = _cents_lognormal(rng, 2500, 1.3, k)
        in_proc = pc.is_valid(_strs(d["procedure"])).to_numpy(zero_copy_only=False)
        phase = _choice(rng, (0.5, 0.3, 0.17, 0.03), k)
        phase = np.where(in_proc & (rng.random(k) < 0.7), 3, phase)
        pen_rate = np.select([phase == 0, phase == 1], [np.where(rng.random(k) < 0.2, 0.05, 0.0), 0.1], 0.4)
        pen = np.round(droits * pen_rate).astype(np.int64)
        total = droits + pen
        st = rng.random(k)
        paid = np.where(st < 0.25, total, np.where(st < 0.4, (total * rng.uniform(0.05, 0.95, k)).astype(np.int64), 0))
        sursis = _choice(rng, (0.05, 0.95), k)
        seq = np.arange(1, k + 1)
        cells = {
            "SIREN": _pad(d["siren"], 9),
            "REF_ARTICLE": _join(_s(_years(due_days)), _pick(codes, code), ctx.code, _pad(seq, 8)),
            "CODE_IMPOT": _pick(codes, code),
            "PERIODE": periode,
            "DATE_EXIGIBILITE": _dates(due_days, "YYYYMMDD"),
            "MT_DROITS_CTS": _s(droits),
            "MT_PENALITES_CTS": _s(pen),
            "MT_PAYE_CTS": _s(paid),
            "PHASE": _pick(IMPOTS_PRO.column("PHASE").codes, phase),
            "SURSIS": _pick(("O", "N"), sursis),
        }

        def fresh(row: dict[str, str], i: int) -> None:
            row["REF_ARTICLE"] = f"{self.year}{row['CODE_IMPOT']}{ctx.code}{k + 1 + i:08d}"

        return _Built(cells, fresh, self._paid_more(IMPOTS_PRO, ["MT_DROITS_CTS", "MT_PENALITES_CTS"], "MT_PAYE_CTS"))

    # ----- rnf ------------------------------------------------------------------------------------

    def rnf(self, ctx: _Dept, rng: np.random.Generator, k: int) -> _Built:
        d, _ = self.debtors(ctx, rng, k, la_poste=1)
        form = _choice(rng, (0.5, 0.3, 0.2), k)  # SIREN, SIRET, VAT number
        nic4 = np.where(rng.random(k) < 0.7, d["nic4"], 4 + rng.integers(0, 60, k))
        nic4 = np.where(d["siren"] == _LA_POSTE, rng.integers(0, 10_000, k), nic4)
        ident = _where(
            form == 0,
            _pad(d["siren"], 9),
            _where(form == 1, _pad(_sirets(d["siren"], nic4), 14), _vat(d["siren"])),
        )
        ordo = _pick([o.format(d=ctx.code) for o in _ORDONNATEURS], rng.integers(0, len(_ORDONNATEURS), k))
        nature = _pick(_NATURES_RNF, rng.integers(0, len(_NATURES_RNF), k))
        if k >= 20:  # a quoted cell spanning two physical lines
            multi = np.zeros(k, dtype=bool)
            multi[rng.integers(k)] = True
            nature = _where(multi, "REDEVANCE\nCOMPLÉMENT DE TITRE", nature)
        emission = self.today - rng.integers(0, 1200, k)
        montant = _cents_lognormal(rng, 1500, 1.3, k)
        statut = _choice(rng, (0.25, 0.40, 0.25, 0.10), k)  # PRIS_EN_CHARGE, EN_RECOUVREMENT, SOLDE, ANNULE
        partial = (montant * rng.uniform(0.05, 0.95, k)).astype(np.int64)
        recouvre = np.select([statut == 2, (statut < 2) & (rng.random(k) < 0.3)], [montant, partial], 0)
        years = _years(emission)
        seq = np.arange(1, k + 1)
        cells = {
            "numero_titre": _join(_s(years), "-RNF-", ctx.code, "-", _pad(seq, 7)),
            "ordonnateur": ordo,
            "nature_recette": nature,
            "identifiant_debiteur": ident,
            "date_emission": _dates(emission, "YYYY-MM-DD"),
            "montant": _amount(montant, "."),
            "montant_recouvre": _amount(recouvre, "."),
            "statut": _pick(RNF.column("statut").codes, statut),
        }

        def fresh(row: dict[str, str], i: int) -> None:
            row["numero_titre"] = f"{self.year}-RNF-{ctx.code}-{k + 1 + i:07d}"

        return _Built(cells, fresh, self._paid_more(RNF, ["montant"], "montant_recouvre"))

    # ----- credits --------------------------------------------------------------------------------

    def credits_tva(self, ctx: _Dept, rng: np.random.Generator, k: int) -> _Built:
        d, _ = self.debtors(ctx, rng, k, la_poste=0)
        depot = self.today - rng.integers(0, 900, k)
        prev = depot.astype("datetime64[D]").astype("datetime64[M]") - 1
        periode = _join(
            _s(prev.astype("datetime64[Y]").astype(np.int64) + 1970), _pad(prev.astype(np.int64) % 12 + 1, 2)
        )
        demande = _cents_lognormal(rng, 8000, 1.2, k)
        statut = _choice(rng, (0.12, 0.20, 0.25, 0.10, 0.33), k)  # DEPOSEE EN_INSTRUCTION ACCORDEE REJETEE REMBOURSEE
        granted = (statut == 2) | (statut == 4)
        accorde = np.where(rng.random(k) < 0.7, demande, (demande * rng.uniform(0.5, 0.99, k)).astype(np.int64))
        seq = np.arange(1, k + 1)
        cells = {
            "SIREN": _pad(d["siren"], 9),
            "NUM_DEMANDE": _join("3519-", _s(_years(depot)), "-", ctx.code, "-", _pad(seq, 7)),
            "DATE_DEPOT": _dates(depot, "DD/MM/YYYY"),
            "PERIODE": periode,
            "MONTANT_DEMANDE": _amount(demande, ","),
            "MONTANT_ACCORDE": _where(granted, _amount(accorde, ","), pa.nulls(k, pa.string())),
            "STATUT": _pick(CREDITS_TVA.column("STATUT").codes, statut),
        }

        def fresh(row: dict[str, str], i: int) -> None:
            row["NUM_DEMANDE"] = f"3519-{self.year}-{ctx.code}-{k + 1 + i:07d}"

        def rule(row: dict[str, str], rng: np.random.Generator) -> None:
            r = rng.random()
            asked = _py_cents(row["MONTANT_DEMANDE"])
            if r < 1 / 3:  # granted more than claimed
                row["STATUT"] = "ACCORDEE"
                row["MONTANT_ACCORDE"] = _py_amount(
                    asked + 1 + int(rng.integers(max(asked, 100))), CREDITS_TVA, "MONTANT_ACCORDE"
                )
            elif r < 2 / 3:  # granted without an amount
                row["STATUT"] = "ACCORDEE"
                row["MONTANT_ACCORDE"] = ""
            else:  # an amount for a claim not granted
                row["STATUT"] = ("DEPOSEE", "EN_INSTRUCTION", "REJETEE")[int(rng.integers(3))]
                row["MONTANT_ACCORDE"] = row["MONTANT_DEMANDE"]

        return _Built(cells, fresh, rule)

    def excedents(self, ctx: _Dept, rng: np.random.Generator, k: int) -> _Built:
        d, _ = self.debtors(ctx, rng, k, la_poste=0)
        impots = EXCEDENTS.column("IMPOT").codes
        constat = self.today - rng.integers(0, 700, k)
        seq = np.arange(1, k + 1)
        cells = {
            "SIREN": _pad(d["siren"], 9),
            "REF_EXCEDENT": _join("EXC-", _s(_years(constat)), "-", ctx.code, "-", _pad(seq, 7)),
            "IMPOT": _pick(impots, _choice(rng, (0.15, 0.35, 0.2, 0.1, 0.2), k)),
            "EXERCICE": _s(self.year - 1 - rng.integers(0, 4, k)),
            "MONTANT": _amount(_cents_lognormal(rng, 2000, 1.3, k), ","),
            "DATE_CONSTAT": _dates(constat, "DD/MM/YYYY"),
            "STATUT": _pick(EXCEDENTS.column("STATUT").codes, _choice(rng, (0.4, 0.35, 0.25), k)),
        }

        def fresh(row: dict[str, str], i: int) -> None:
            row["REF_EXCEDENT"] = f"EXC-{self.year}-{ctx.code}-{k + 1 + i:07d}"

        return _Built(cells, fresh)

    def creances_is(self, ctx: _Dept, rng: np.random.Generator, k: int) -> _Built:
        d, _ = self.debtors(ctx, rng, k, la_poste=0)
        exercice = self.year - 1 - rng.integers(0, 5, k)
        remb = self.today + rng.integers(-900, 1500, k)
        seq = np.arange(1, k + 1)
        cells = {
            "SIREN": _pad(d["siren"], 9),
            "REF_CREANCE": _join("CIS-", _s(exercice), "-", ctx.code, "-", _pad(seq, 7)),
            "TYPE_CREANCE": _pick(
                CREANCES_IS.column("TYPE_CREANCE").codes, _choice(rng, (0.35, 0.1, 0.15, 0.3, 0.1), k)
            ),
            "EXERCICE": _s(exercice),
            "MONTANT": _amount(_cents_lognormal(rng, 15000, 1.2, k), ","),
            "DATE_REMBOURSABLE": _dates(remb, "DD/MM/YYYY"),
            "STATUT": _pick(CREANCES_IS.column("STATUT").codes, _choice(rng, (0.3, 0.3, 0.25, 0.15), k)),
        }

        def fresh(row: dict[str, str], i: int) -> None:
            row["REF_CREANCE"] = f"CIS-{self.year}-{ctx.code}-{k + 1 + i:07d}"

        return _Built(cells, fresh)


def _years(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
