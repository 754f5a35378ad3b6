"""Valid identifiers for generated companies: SIREN (a permutation of the company index), SIRET, VAT number."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pyarrow as pa

from onevision_dagster.demo.cells import join, pad
from onevision_dagster.demo.hashing import hash64

SIREN_SPACE = 99_999_999  # 8-digit SIREN bodies, La Poste's 35600000 left out
LA_POSTE = 356000000
LA_POSTE_HEAD_OFFICE = 35600000000048  # the one La Poste SIRET that follows Luhn


def luhn_digit(body: np.ndarray, ndigits: int) -> np.ndarray:
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
    h = int(hash64(seed, 991, np.array([0]))[0])
    a = 10_000_019 + (h % 5_000_000) * 2
    while math.gcd(a, SIREN_SPACE) != 1:
        a += 2
    return a, (h >> 24) % SIREN_SPACE


def sirens(seed: int, gidx: np.ndarray) -> np.ndarray:
    """Unique valid SIRENs: an affine permutation of the global index over the 8-digit bodies."""
    a, b = _perm_params(seed)
    body = (np.asarray(gidx, dtype=np.int64) * a + b) % SIREN_SPACE
    body = body + (body >= LA_POSTE // 10)
    return body * 10 + luhn_digit(body, 8)


def sirets(siren: np.ndarray, nic4: np.ndarray) -> np.ndarray:
    body = siren.astype(np.int64) * 10_000 + nic4
    out = body * 10 + luhn_digit(body, 13)
    # La Poste: NIC chosen so that the digit sum is a multiple of 5 (head office 00048 follows Luhn)
    lp = siren == LA_POSTE
    if lp.any():
        first = nic4[lp]
        s = sum((first // 10**i) % 10 for i in range(4))
        last = (-(14 + s)) % 5 + 5 * (first % 2)
        out[lp] = LA_POSTE * 100_000 + first * 10 + last
    return out


def vat_numbers(siren: np.ndarray) -> pa.Array:
    key = (12 + 3 * (siren % 97)) % 97
    return join("FR", pad(key, 2), pad(siren, 9))
